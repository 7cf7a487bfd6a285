"""The registry: built-ins, entry-point plug-ins, lazy listing, availability messages."""
import json
import subprocess
import sys

import pytest

from bench import registry
from bench.errors import BenchError


def _bench(args, env):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_entry_point_plugin_shows_up_in_bench_list(plugin_env):
    res = _bench(["list", "--json"], plugin_env)
    assert res.returncode == 0, res.stderr
    rows = {r["adapter"]: r for r in json.loads(res.stdout)}
    assert {"rapidocr", "tesseract", "plugin-const", "plugin-missing"} <= set(rows)
    assert rows["plugin-const"]["status"] == "available"
    missing = rows["plugin-missing"]["status"]
    assert missing.startswith("unavailable: missing Python package(s) xsb_no_such_module")
    assert "pip install 'xscript-bench[nonexistent-extra]'" in missing


def test_listing_imports_no_model_library(plugin_env):
    code = ("import sys; from bench.cli import main; main(['list']); "
            "heavy = [m for m in ('torch', 'transformers', 'rapidocr', 'onnxruntime', 'tesserocr') if m in sys.modules]; "
            "print('HEAVY', heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=plugin_env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout


def test_unknown_adapter_suggests_close_names():
    with pytest.raises(BenchError, match="did you mean rapidocr"):
        registry.get("rapidoc")


def test_resolve_selectors(with_plugin):
    assert registry.resolve("rapidocr, tesseract") == ["rapidocr", "tesseract"]
    assert "plugin-const" in registry.resolve("family:ocr")
    assert set(registry.resolve("all")) >= {"rapidocr", "tesseract", "plugin-pixels"}
