"""Every baseline's cache key names what its outputs run on: the packages of its forward pass and the
snapshot it loads, so an upgrade or a new download never reuses outputs computed before it."""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from bench import registry
from bench.registry.adapter import AdapterOptions
from bench.results.cache_identity import package_versions

FIRST_PARTY = {"bench", "adapters", "ours", "tests", "__future__"}
# Imported by adapter code but deciding no output: file lookup in the hub cache, version parsing,
# RapidOCR's parameter count read from its ONNX file (onnxruntime, which runs it, is keyed).
NOT_COMPUTING = {"huggingface_hub", "packaging", "platformdirs", "onnx"}
HF_COMPUTING = {"torch", "transformers", "tokenizers"}


def _adapter_sources(cls) -> list[Path]:
    """The adapter's modules outside the core and the ``adapters`` helpers they import."""
    seen: dict[str, Path] = {}
    queue = [k.__module__ for k in cls.__mro__ if k.__module__.startswith(("adapters", "ours"))]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        seen[name] = Path(spec.origin)
        tree = ast.parse(seen[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), name.rpartition(".")[0])
                queue.append(base)
    return list(seen.values())


def _third_party_imports(cls) -> set[str]:
    found: set[str] = set()
    for path in _adapter_sources(cls):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in FIRST_PARTY | NOT_COMPUTING}


@pytest.mark.parametrize("name", sorted(registry.all_adapters()))
def test_every_package_the_adapter_imports_is_in_its_cache_key(name):
    cls = registry.get(name)
    keyed = set(package_versions(cls))
    missing = _third_party_imports(cls) - keyed
    assert not missing, f"{name}: imports {sorted(missing)} but its cache key leaves them out"


@pytest.mark.parametrize("name", sorted(n for n, c in registry.all_adapters().items()
                                        if c.__module__.startswith("adapters")
                                        and "transformers" in _third_party_imports(c)))
def test_transformers_adapters_key_torch_transformers_and_tokenizers(name):
    """transformers 5 changed SigLIP 2's tokenizer normalizer and Qwen2-VL's resize: a new
    transformers (or tokenizers, which runs the fast tokenizers) is a new key."""
    keyed = set(package_versions(registry.get(name)))
    assert HF_COMPUTING <= keyed, f"{name}: {sorted(HF_COMPUTING - keyed)} missing from its key"


def test_a_transformers_upgrade_changes_an_embedders_key(monkeypatch):
    import bench.results.cache_identity as ci

    cls = registry.get("siglip2-base")
    before = cls(AdapterOptions()).cache_key()
    real = ci._version_of
    monkeypatch.setattr(ci, "_version_of", lambda m: "transformers==99.0" if m == "transformers" else real(m))
    assert cls(AdapterOptions()).cache_key() != before
