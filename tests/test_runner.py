"""Runs end to end: resume, failures, unavailable adapters, a crash midway, bad images."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.results.store import RunStore


def _run(args, results):
    return main(["run", *args, "--results-dir", str(results), "--no-progress", "--quiet",
                 "--latency-samples", "2"])


def _jobs(results):
    out = {}
    for p in Path(results).glob("runs/*/jobs/*/*/*.json"):
        rec = json.loads(p.read_text())
        out[(rec["adapter"], rec["split"], rec["task"])] = rec
    return out


@pytest.mark.slow
def test_real_ocr_engines_read_clean_words(rendered_dataset, tmp_path):
    assert _run(["--adapters", "rapidocr,tesseract", "--dataset", str(rendered_dataset)], tmp_path) == 0
    jobs = _jobs(tmp_path)
    assert len(jobs) == 2 * (9 + 6)  # 3 within + 6 cross per engine, and 6 lexicon-bridged cross
    for (adapter, _, task), rec in jobs.items():
        assert rec["status"] == "done", rec
        m = rec["metrics"]
        if adapter.endswith("+lexicon"):
            # clean words are read right, so the bridge finds every concept in the other language
            assert m["acc@1"] >= 0.8, (adapter, task, m)
        elif task.startswith("within-"):
            # clean printed words: both engines read (nearly) all of them
            assert m["acc@1"] >= (0.8 if adapter == "tesseract" else 0.99), (adapter, task, m)
        else:
            assert rec["gallery_size"] == 6
    run = next(Path(tmp_path, "runs").iterdir())
    manifest = json.loads((run / "run.json").read_text())
    inv = manifest["invocations"][-1]
    assert {"versions", "git", "hardware", "threads", "seed", "start", "end"} <= set(inv)
    ad = json.loads((run / "adapters" / "rapidocr.json").read_text())
    assert ad["latency_ms"] > 0 and ad["params"] > 1e6
    preds = RunStore(run).read_predictions("rapidocr", "ood", "within-zh")
    assert {p["target"] for p in preds} == {"狗", "猫", "水", "房子", "树", "书"}
    assert all(len(p["topk"]) == 5 and p["rank"] >= 1 for p in preds)


def test_resume_skips_finished_jobs(rendered_dataset, tmp_path, with_plugin, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("XSB_TEST_CALLS_FILE", str(calls))
    args = ["--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--no-cache"]
    assert _run(args, tmp_path / "r") == 0
    first = calls.read_text().count("\n")
    before = {k: v["finished"] for k, v in _jobs(tmp_path / "r").items()}
    assert len(before) == 9 + 6 and first > 0
    assert _run(args, tmp_path / "r") == 0
    assert calls.read_text().count("\n") == first  # nothing recomputed, not even latency
    assert {k: v["finished"] for k, v in _jobs(tmp_path / "r").items()} == before
    # --redo reruns that adapter's finished jobs (a retrained model); a later plain run resumes again
    assert _run([*args, "--redo", "plugin-const"], tmp_path / "r") == 0
    redone = calls.read_text().count("\n")
    assert redone > first
    after = {k: v["finished"] for k, v in _jobs(tmp_path / "r").items()}
    assert set(after) == set(before) and all(after[k] >= before[k] for k in before)
    assert _run(args, tmp_path / "r") == 0
    assert calls.read_text().count("\n") == redone
    assert _run([*args, "--redo", "no-such-adapter"], tmp_path / "r") == 2


def test_failing_and_unavailable_adapters_are_recorded_and_run_goes_on(rendered_dataset, tmp_path, with_plugin):
    args = ["--adapters", "plugin-broken,plugin-missing,plugin-const", "--dataset", str(rendered_dataset),
            "--split", "ood", "--no-cross"]
    assert _run(args, tmp_path) == 1  # the run goes on, and its exit status says a job failed
    jobs = _jobs(tmp_path)
    assert jobs[("plugin-broken", "ood", "within-en")]["status"] == "failed"
    assert "engine exploded" in jobs[("plugin-broken", "ood", "within-en")]["reason"]
    assert jobs[("plugin-missing", "ood", "within-zh")]["status"] == "unavailable"
    assert "xsb_no_such_module" in jobs[("plugin-missing", "ood", "within-zh")]["reason"]
    assert jobs[("plugin-const", "ood", "within-en")]["status"] == "done"
    # "dog" is one of six English words: Acc@1 is exactly 1/6 there
    assert jobs[("plugin-const", "ood", "within-en")]["metrics"]["acc@1"] == pytest.approx(1 / 6)


def test_embedding_adapter_scores_by_cosine_and_caches_outputs(rendered_dataset, tmp_path, with_plugin, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("XSB_TEST_CALLS_FILE", str(calls))
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache"))  # other tests cache these images too
    args = ["--adapters", "plugin-pixels", "--dataset", str(rendered_dataset)]

    def batch_calls():  # batch-1 calls are latency probes, measured anew in every run
        return [n for n in calls.read_text().split() if n != "1"]

    assert _run(args + ["--run-id", "a"], tmp_path) == 0
    n = len(batch_calls())
    assert n > 0
    assert _run(args + ["--run-id", "b"], tmp_path) == 0  # a new run reuses the cached embeddings
    assert len(batch_calls()) == n
    jobs = _jobs(tmp_path)
    assert jobs[("plugin-pixels", "ood", "cross-en-zh")]["scoring"] == "cosine"


def test_unreadable_image_is_recorded_and_skipped(tmp_path, with_plugin):
    from tests.helpers import make_dataset

    ds = make_dataset(tmp_path / "ds", n_words=3)
    bad = next((ds / "images/ood/en").glob("*.png"))
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert _run(["--adapters", "plugin-const", "--dataset", str(ds), "--no-cross"], tmp_path / "r") == 0
    rec = _jobs(tmp_path / "r")[("plugin-const", "ood", "within-en")]
    assert rec["status"] == "done" and rec["metrics"]["n"] == 2 and rec["n_skipped"] == 1
    assert rec["skipped"][0]["id"].endswith(bad.name)


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing(rendered_dataset, tmp_path, plugin_env):
    env = dict(plugin_env, XSB_TEST_DELAY="0.05", XSB_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "bench", "run", "--adapters", "plugin-const,plugin-pixels", "--dataset",
           str(rendered_dataset), "--results-dir", str(tmp_path / "r"), "--no-progress", "--quiet",
           "--latency-samples", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(_jobs(tmp_path / "r")) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {k: v["finished"] for k, v in _jobs(tmp_path / "r").items() if v["status"] == "done"}
    total = (9 + 6) + (9 + 1)  # const: tasks + bridged cross; pixels: tasks + geometry
    assert 0 < len(done) < total
    assert not list(Path(tmp_path / "r").glob("runs/*/jobs/**/*.json.tmp"))
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    after = _jobs(tmp_path / "r")
    assert len(after) == total and all(v["status"] == "done" for v in after.values())
    for k, finished in done.items():
        assert after[k]["finished"] == finished  # finished jobs were not recomputed
