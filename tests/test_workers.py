"""`bench run --workers`: images encoded in worker processes give the very same results, through the
same cache chunks; a kill -9 loses at most the chunks in flight and leaves no worker behind."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.registry.adapter import AdapterCard
from bench.cli import main
from bench.results.store import RunStore
from bench.run.workers import workers_for


@pytest.fixture(autouse=True)
def _workers_for_small_jobs(monkeypatch, tmp_path):
    """Start workers however little there is to encode (by default they start only for 4 s of work),
    with an output cache of this test's own (other tests expect to compute the shared test set)."""
    monkeypatch.setenv("XSB_WORKERS_MIN_SECONDS", "0")
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache"))


def _run(args, results):
    return main(["run", *args, "--results-dir", str(results), "--no-progress", "--quiet",
                 "--latency-samples", "2"])


def _jobs(results):
    out = {}
    for p in Path(results).glob("runs/*/jobs/*/*/*.json"):
        rec = json.loads(p.read_text())
        out[(rec["adapter"], rec["split"], rec["task"])] = rec
    return out


def _predictions(results):
    out = {}
    for run in Path(results, "runs").iterdir():
        store = RunStore(run)
        for (adapter, split, task), rec in _jobs(results).items():
            if rec["status"] == "done" and task != "geometry":
                out[(adapter, split, task)] = store.read_predictions(adapter, split, task)
    return out


def _encoders(pids_file):
    """{pid: images encoded} from the plug-in's log, leaving out batch-1 latency probes."""
    out: dict[int, int] = {}
    for line in Path(pids_file).read_text().split("\n"):
        if line.strip():
            pid, n = map(int, line.split())
            if n > 1:
                out[pid] = out.get(pid, 0) + n
    return out


def test_workers_rule_keeps_one_process_where_copies_cannot_run():
    card = AdapterCard(name="x", row_name="X", family="ocr", memory_gb=0.001)
    assert workers_for(card, 4, "cpu") == (4, "")
    assert workers_for(card, 1, "cpu")[0] == 1
    assert workers_for(card, 4, "cuda")[0] == 1
    assert workers_for(card, 4, "cuda:1")[0] == 1
    assert workers_for(card, 4, "cpu", executor="ray")[0] == 1
    unsafe = AdapterCard(name="y", row_name="Y", family="ocr", memory_gb=0.001, process_safe=False)
    assert workers_for(unsafe, 4, "cpu") == (1, "its card says it is not process-safe")
    huge = AdapterCard(name="z", row_name="Z", family="vllm", memory_gb=10_000.0)
    assert workers_for(huge, 4, "cpu")[0] == 1  # the card's memory per copy caps the count


def test_workers_match_one_process_and_share_the_cache(rendered_dataset, tmp_path, with_plugin, monkeypatch,
                                                       capsys):
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("XSB_TEST_PIDS_FILE", str(pids))
    args = ["--adapters", "plugin-const,plugin-pixels", "--dataset", str(rendered_dataset)]
    assert _run([*args, "--workers", "2", "--no-cache"], tmp_path / "w2") == 0
    enc = _encoders(pids)
    # the first chunk is encoded here (its time decides whether workers pay off), the rest by worker
    # processes. Units (adapter x split x language) run one at a time under their claim (bench/results/store.py),
    # so on this tiny set most units are a single chunk and stay here; some reach the workers
    assert enc[os.getpid()] >= 6 + 6 and 1 <= len(set(enc) - {os.getpid()}) <= 4, enc
    pids.unlink()
    assert _run([*args, "--workers", "1", "--no-cache"], tmp_path / "w1") == 0
    assert set(_encoders(pids)) == {os.getpid()}  # one worker: here, as before
    j2, j1 = _jobs(tmp_path / "w2"), _jobs(tmp_path / "w1")
    assert set(j2) == set(j1) and len(j1) == (9 + 6) + (9 + 1)
    for key in j1:
        assert j2[key].get("metrics") == j1[key].get("metrics"), key
        assert j2[key].get("geometry") == j1[key].get("geometry"), key
    assert _predictions(tmp_path / "w2") == _predictions(tmp_path / "w1")
    # workers are provenance, not identity: the same run id, and the count recorded per invocation
    run2, run1 = (next(Path(tmp_path, d, "runs").iterdir()) for d in ("w2", "w1"))
    assert run2.name == run1.name
    assert json.loads((run2 / "run.json").read_text())["invocations"][-1]["workers"] == 2

    # the chunks written by two workers are the chunks one process reads, and the reverse
    pids.unlink()
    capsys.readouterr()
    assert _run([*args, "--workers", "2"], tmp_path / "c2") == 0
    assert _encoders(pids)
    pids.unlink()
    assert _run([*args, "--workers", "1"], tmp_path / "c1") == 0
    assert not pids.exists() or not _encoders(pids)  # every image from the cache
    err = capsys.readouterr().err
    assert "25 job(s): 0 computed, 25 from the output cache, 0 reused" in err
    assert _jobs(tmp_path / "c1")[("plugin-const", "ood", "within-en")]["image_outputs"] == {"computed": 0,
                                                                                            "cached": 6}


class _ThreadPool:
    """A stand-in for WorkerPool: one 'worker' that is a thread, fast where this process is slow."""

    n, processes, per_item = 2, 1, None

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.ex, self.chunks = ThreadPoolExecutor(1), 0

    def submit(self, paths, lang):
        def run():
            time.sleep(0.01)
            self.chunks += 1
            return [f"worker:{p}" for p in paths], {}, 0.01
        return self.ex.submit(run)

    def close(self, kill=False):
        self.ex.shutdown()


def test_a_slow_chunk_here_does_not_leave_the_workers_waiting(tmp_path):
    """Workers are handed their next chunk as soon as one completes, not when this process is between
    two chunks of its own: the old loop let a worker run two chunks per chunk of this process, so
    with chunks 30x slower here it idled most of the time. Every chunk is computed and written once."""
    from bench.results.cache import OutputCache
    from bench.run.workers import Request, compute

    ids = [f"img{i}" for i in range(80)]
    req = Request("k", ids, [f"p{i}" for i in range(80)], "en", "text", 4)  # 20 chunks
    here = []

    def local(r, idx):
        time.sleep(0.3)
        here.append(len(idx))
        return [f"main:{r.paths[i]}" for i in idx], {}

    pool, cache = _ThreadPool(), OutputCache(tmp_path / "c")
    (res,) = compute(cache, [req], local, pool)
    pool.close()
    assert len(here) + pool.chunks == 20 and res.computed == 80
    assert all(o in (f"main:p{i}", f"worker:p{i}") for i, o in enumerate(res.outputs))
    assert pool.chunks >= 15, (len(here), pool.chunks)  # the old loop: at most 2 per chunk here, about 12
    assert len(list((tmp_path / "c").rglob("chunk-*"))) == 20


@pytest.mark.slow
def test_real_engines_give_identical_results_with_workers(rendered_dataset, tmp_path):
    args = ["--adapters", "rapidocr,tesseract", "--dataset", str(rendered_dataset), "--no-cache"]
    assert _run([*args, "--workers", "2"], tmp_path / "w2") == 0
    assert _run([*args, "--workers", "1"], tmp_path / "w1") == 0
    j2, j1 = _jobs(tmp_path / "w2"), _jobs(tmp_path / "w1")
    assert len(j1) == 2 * (9 + 6) and set(j1) == set(j2)
    for key in j1:
        assert j1[key]["status"] == "done" and j2[key]["metrics"] == j1[key]["metrics"], key
    p2, p1 = _predictions(tmp_path / "w2"), _predictions(tmp_path / "w1")
    assert p2 == p1
    assert {r["transcription"] for r in p1[("rapidocr", "ood", "within-en")]} >= {"dog", "cat"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_kill_9_loses_only_chunks_in_flight_and_leaves_no_worker(tmp_path, plugin_env):
    from tests.helpers import make_dataset

    ds = make_dataset(tmp_path / "ds", n_words=12, styles=11)  # 132 images per language: 3 chunks each
    pids = tmp_path / "pids.txt"
    cache = tmp_path / "cache"
    env = dict(plugin_env, XSB_TEST_DELAY="0.02", XSB_CACHE_DIR=str(cache), XSB_TEST_PIDS_FILE=str(pids),
               XSB_WORKERS_MIN_SECONDS="0")
    cmd = [sys.executable, "-m", "bench", "run", "--adapters", "plugin-const", "--dataset", str(ds),
           "--results-dir", str(tmp_path / "r"), "--no-progress", "--quiet", "--latency-samples", "1",
           "--workers", "2", "--no-cross"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    def worker_encoded() -> bool:  # a worker process has computed at least one chunk
        return pids.exists() and bool(set(_encoders(pids)) - {proc.pid})

    while time.time() < deadline and (len(list(cache.rglob("chunk-*"))) < 2 or not worker_encoded()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(list(cache.rglob("chunk-*")))
    assert 2 <= written < 9
    workers = set(_encoders(pids)) - {proc.pid}
    assert workers
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)  # the workers noticed their parent died and left
    assert not list(cache.rglob("*.tmp*"))
    before = sum(_encoders(pids).values())
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    total = sum(_encoders(pids).values())
    # every image was encoded once, plus at most the chunks that were running when the kill came
    # (one per worker, 64 images each)
    assert 3 * 132 <= total <= 3 * 132 + 2 * 64
    assert total - before <= 3 * 132 - 64 * written + 64  # the resumed run reused the written chunks
    jobs = _jobs(tmp_path / "r")
    assert len(jobs) == 3 and all(j["status"] == "done" for j in jobs.values())
    assert "3 job(s): 3 computed" in res.stderr


def test_a_dying_worker_fails_the_adapter_with_its_cause_and_the_run_goes_on(rendered_dataset, tmp_path,
                                                                              with_plugin, monkeypatch, capsys):
    monkeypatch.setenv("XSB_TEST_DIE_OUTSIDE_PID", str(os.getpid()))
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("XSB_TEST_PIDS_FILE", str(pids))
    # work is claimed unit by unit (adapter x split x language): a unit needs three cache chunks (64
    # images each) for workers to start, so this test renders 132 English images
    from tests.helpers import make_dataset

    big = make_dataset(tmp_path / "big", n_words=12, styles=11)
    args = ["--adapters", "plugin-const,plugin-pixels", "--dataset", str(big), "--workers", "2",
            "--no-cross", "--no-cache", "--lang", "en"]
    _run(args, tmp_path)
    jobs = _jobs(tmp_path)
    # units (adapter x split x language) fail on their own: the one whose worker died fails with the cause
    died = [k for k, j in jobs.items() if k[0] == "plugin-const" and j["status"] == "failed"]
    assert died and all(jobs[k]["reason"].startswith("a worker process died") for k in died), jobs
    assert jobs[("plugin-pixels", "ood", "within-en")]["status"] == "done"  # the next adapter still ran
    err = capsys.readouterr().err
    assert "a worker process died" in err
    workers = {int(line.split()[0]) for line in pids.read_text().splitlines()} - {os.getpid()}
    assert 1 <= len(workers) <= 4  # up to two for each adapter
    assert not any(_alive(p) for p in workers)  # none left behind


def test_small_jobs_stay_in_the_main_process(rendered_dataset, tmp_path, with_plugin, monkeypatch):
    monkeypatch.setenv("XSB_WORKERS_MIN_SECONDS", "4")  # the default: 18 images take far less
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("XSB_TEST_PIDS_FILE", str(pids))
    assert _run(["--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--workers", "2",
                 "--no-cache"], tmp_path / "r") == 0
    assert set(_encoders(pids)) == {os.getpid()}


def test_workers_read_images_embedded_in_a_parquet_manifest(tmp_path, with_plugin, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from tests.importer_fixtures import image_bytes

    words = {"en": ["dog", "cat", "tree", "house"], "es": ["perro", "gato", "casa", "pan"],
             "de": ["Hund", "Katze", "Haus", "Brot"]}
    # English repeated to 200 images: work is claimed per language unit, and workers start for a unit
    # with at least three cache chunks (64 images each)
    rows = [(w, lang, i) for lang, ws in words.items() for i, w in enumerate(ws * (50 if lang == "en" else 1))]
    table = pa.table({"text": [w for w, _, _ in rows], "semantic_id": [-1] * len(rows),
                      "lang": [lang for _, lang, _ in rows], "style": ["s"] * len(rows), "split": ["ood"] * len(rows),
                      "image": [{"bytes": image_bytes(w, "PNG" if i % 2 else "JPEG"), "path": None}
                                for w, _, i in rows]})
    (tmp_path / "ds").mkdir()
    pq.write_table(table, tmp_path / "ds" / "manifest.parquet", row_group_size=3)
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("XSB_TEST_PIDS_FILE", str(pids))
    args = ["--adapters", "plugin-pixels", "--dataset", str(tmp_path / "ds"), "--no-cache", "--no-cross"]
    assert _run([*args, "--workers", "2"], tmp_path / "w2") == 0
    assert set(_encoders(pids)) - {os.getpid()}  # the workers decoded embedded images themselves
    assert _run([*args, "--workers", "1"], tmp_path / "w1") == 0
    j2, j1 = _jobs(tmp_path / "w2"), _jobs(tmp_path / "w1")
    assert set(j1) == set(j2) and len(j1) == 3 and all(j1[k]["status"] == "done" for k in j1)
    assert all(j2[k]["metrics"] == j1[k]["metrics"] for k in j1)
    assert _predictions(tmp_path / "w2") == _predictions(tmp_path / "w1")


def test_workers_compare_times_each_adapter_and_one_run_of_all(tmp_path, with_plugin, monkeypatch, capsys):
    """`bench perf A,B --workers-compare 2`: a row per adapter and one for a run of both, each with
    identical metrics for 1 and 2 workers, stored with the machine's load."""
    from tests.helpers import make_dataset

    ds = make_dataset(tmp_path / "ds", n_words=12, styles=11)  # 132 images per language: workers start
    assert main(["perf", "plugin-const,plugin-pixels", "--workers-compare", "2", "--dataset", str(ds),
                 "--split", "ood", "--results-dir", str(tmp_path / "r")]) == 0
    rec = json.loads((tmp_path / "r" / "perf" / "workers-plugin-const-plugin-pixels.json").read_text())
    rows = {r["adapter"]: r for r in rec["results"]}
    assert list(rows) == ["plugin-const", "plugin-pixels", "plugin-const,plugin-pixels"]
    assert all(r["metrics_identical"] and r["seconds_1"] > 0 and r["seconds_n"] > 0 for r in rows.values())
    both = rows["plugin-const,plugin-pixels"]
    assert both["images"] == 2 * rows["plugin-const"]["images"]
    assert set(both["acc@1"]) == {f"{a}/{t}" for a in ("plugin-const", "plugin-pixels") for t in rows[a]["acc@1"]}
    assert rec["workers"] == 2 and rec["adapters"] == ["plugin-const", "plugin-pixels"]
    out = capsys.readouterr().out
    assert "plugin-const,plugin-pixels" in out and "speedup" in out
