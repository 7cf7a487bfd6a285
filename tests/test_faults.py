"""Fault tolerance: `bench run` SIGKILLed anywhere (between jobs, inside a write) resumes to the
uninterrupted run's results without recomputing finished jobs; on Ray, units that time out or
whose worker dies are retried, recorded with their cause, and a rerun does only what failed."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.results.cache import OutputCache
from bench.cli import main
from bench.results.records import RecordError
from bench.results.store import RunStore, atomic_write_bytes
from tests.helpers import make_dataset
from tests.results_util import assert_final_files_whole, finished_marks, job_files

MIX = "plugin-const,plugin-pixels,plugin-broken,plugin-missing"  # bridged, geometry, failing, unavailable
KILLS = 12
KILLS_PER_CHAIN = 4
PHASES = ("partial", "before-rename", "after-rename")


def _cmd(ds: Path, results: Path, adapters: str = MIX, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bench", "run", "--adapters", adapters, "--dataset", str(ds),
            "--results-dir", str(results), "--run-id", "r", "--no-progress", "--quiet",
            "--latency-samples", "1", *extra]


def _start(cmd, env) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _kill_after_first_write(proc: subprocess.Popen, writes_log: Path, delay: float) -> None:
    """SIGKILL from outside, ``delay`` seconds after the run's first store/cache write."""
    while proc.poll() is None and not (writes_log.is_file() and writes_log.stat().st_size):
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)


@pytest.mark.slow
def test_sigkill_anywhere_resumes_to_identical_results(tmp_path, plugin_env):
    ds = make_dataset(tmp_path / "ds", n_words=3)
    base = dict(plugin_env, XSB_TEST_DELAY="0.05")
    ref_log = tmp_path / "ref.writes"
    env = dict(base, XSB_CACHE_DIR=str(tmp_path / "ref-cache"), XSB_TEST_WRITES_LOG=str(ref_log))
    res = subprocess.run(_cmd(ds, tmp_path / "ref"), env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr  # plugin-broken's jobs failed: the run ends, and says so
    reference = job_files(tmp_path / "ref")
    writes = [float(line.split()[0]) for line in ref_log.read_text().splitlines()]
    work_s = writes[-1] - writes[0]
    assert len(reference) > 40 and len(writes) > 40

    rng = random.Random(20261126)
    kills, chain, kept = 0, 0, 0  # kept: jobs finished before a kill, checked not to be redone
    while kills < KILLS and chain < 3 * KILLS // KILLS_PER_CHAIN:
        chain += 1
        results, cache = tmp_path / f"c{chain}", tmp_path / f"c{chain}-cache"
        protected: dict[str, tuple] = {}  # done jobs seen after a kill: must never be rewritten
        for attempt in range(KILLS_PER_CHAIN + 1):  # the last attempt runs to the end
            log = tmp_path / f"c{chain}-{attempt}.writes"
            env = dict(base, XSB_CACHE_DIR=str(cache), XSB_TEST_WRITES_LOG=str(log))
            kill = attempt < KILLS_PER_CHAIN and kills < KILLS
            if kill and attempt % 2:  # inside the Nth write of this run, in one of its phases
                env["XSB_TEST_KILL_AT_WRITE"] = f"{rng.randint(1, 20)}:{rng.choice(PHASES)}"
            proc = _start(_cmd(ds, results), env)
            if kill and not attempt % 2:  # from outside, at a random moment of the work
                _kill_after_first_write(proc, log, rng.uniform(0.0, 0.6 * work_s))
            _, err = proc.communicate(timeout=120)
            if proc.returncode == 1:  # completed (with plugin-broken's failed jobs)
                break
            assert proc.returncode == -signal.SIGKILL, err
            kills += 1
            temps = assert_final_files_whole(results, cache)  # nothing half-written under a final name
            print(f"kill {kills}: chain {chain} run {attempt}, "
                  f"{env.get('XSB_TEST_KILL_AT_WRITE') or 'from outside'}, after {_lines(log)} write(s), "
                  f"{len(finished_marks(results))} job(s) done, {temps} temporary file(s)", file=sys.stderr)
            if env.get("XSB_TEST_KILL_AT_WRITE", "").endswith(("partial", "before-rename")):
                assert temps >= 1  # the killed write left its temporary file behind
            now = finished_marks(results)
            assert all(now[k] == v for k, v in protected.items())  # no finished job redone
            protected.update(now)
        else:
            pytest.fail(f"chain {chain} never completed")
        assert job_files(results) == reference, f"chain {chain}: results differ from the uninterrupted run"
        after = finished_marks(results)
        assert all(after[k] == v for k, v in protected.items())
        assert_final_files_whole(results, cache)
        kept += len(protected)
    assert kills >= 10 and kept > 0


def test_half_written_files_are_never_results(tmp_path):
    """The readers' side: a truncated job record is an error naming it (never a result, never silently
    dropped: issue 25), a truncated cache chunk is recomputed."""
    store = RunStore(tmp_path / "run")
    store.write_job("a", "ood", "within-en", {"adapter": "a", "split": "ood", "task": "within-en",
                                              "status": "done", "metrics": {}})
    assert store.is_done("a", "ood", "within-en")
    path = store.job_path("a", "ood", "within-en")
    path.write_text(path.read_text()[:10])
    with pytest.raises(RecordError, match=str(path)):
        store.is_done("a", "ood", "within-en")

    cache = OutputCache(tmp_path / "cache")
    calls = []

    def fn(idx):
        calls.append(list(idx))
        return [f"t{i}" for i in idx], {}

    ids = ["x", "y", "z"]
    assert cache.get_or_compute("k", ids, fn, "text", chunk=2)[0] == ["t0", "t1", "t2"]
    chunk = next(p for p in (tmp_path / "cache").rglob("chunk-*.json")  # chunks are named by their items
                 if json.loads(p.read_text())["ids"] == ["x", "y"])
    chunk.write_bytes(chunk.read_bytes()[:7])
    assert cache.get_or_compute("k", ids, fn, "text", chunk=2)[0] == ["t0", "t1", "t2"]
    assert calls == [[0, 1], [2], [0, 1]]  # only the damaged chunk was recomputed

    # a write that fails midway leaves neither a final file nor a temporary one
    target = tmp_path / "x" / "f.json"
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert not target.exists() and not list(target.parent.iterdir())
    atomic_write_bytes(target, b"{}")
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.slow
def test_ray_unit_timeout_and_dead_worker_are_retried_then_rerun_locally(tmp_path, plugin_env):
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'xscript-bench[ray]'")
    ds = make_dataset(tmp_path / "ds", n_words=3)
    loads = tmp_path / "loads.txt"
    env = dict(plugin_env, XSB_CACHE_DIR=str(tmp_path / "cache"), XSB_TEST_LOADS_FILE=str(loads),
               XSB_TEST_HANG_S="60", XSB_TEST_CRASH_MARKER=str(tmp_path / "crashed"),
               RAY_USAGE_STATS_ENABLED="0", XSB_RAY_NUM_CPUS="2")
    # plugin-hang's card says timeout_s=4 and it sleeps 60 s; plugin-crash kills its worker once.
    cmd = _cmd(ds, tmp_path / "r", "plugin-hang,plugin-crash", "--executor", "ray", "--max-retries", "1",
               "--lang", "en", "--no-cross")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, start_new_session=True)
    assert res.returncode == 1, res.stderr[-4000:]  # plugin-hang's job failed
    store = RunStore(tmp_path / "r" / "runs" / "r")
    hang = store.read_job("plugin-hang", "ood", "within-en")
    assert hang["status"] == "failed" and hang["reason"].startswith("timeout:") and hang["attempts"] == 2, hang
    crash = store.read_job("plugin-crash", "ood", "within-en")
    assert crash["status"] == "done", crash  # its first worker died; Ray's retry finished it
    names = [line.split()[0] for line in loads.read_text().splitlines()]
    assert names.count("plugin-hang") == 2 and names.count("plugin-crash") == 2, names
    assert ", 1 failed" in res.stderr and "plugin-hang ood: 1 job(s) (all its jobs): timeout:" in res.stderr

    # A rerun, here on the local executor, does only the failed job.
    done_before = finished_marks(tmp_path / "r")
    loads.unlink()
    env.update(XSB_TEST_HANG_S="0")
    res = subprocess.run(_cmd(ds, tmp_path / "r", "plugin-hang,plugin-crash", "--lang", "en", "--no-cross"),
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert loads.read_text().split()[0::2] == ["plugin-hang"]
    assert store.read_job("plugin-hang", "ood", "within-en")["status"] == "done"
    after = finished_marks(tmp_path / "r")
    assert all(after[k] == v for k, v in done_before.items())
    assert json.loads((store.root / "run.json").read_text())["invocations"][0]["executor"] == "ray"


def test_ray_options_are_checked(tmp_path, monkeypatch, capsys):
    ds = make_dataset(tmp_path / "ds", n_words=2)
    base = ["run", "--adapters", "rapidocr", "--dataset", str(ds), "--results-dir", str(tmp_path / "r"),
            "--no-progress", "--quiet"]
    for extra, message in ((["--job-timeout", "5"], "apply to --executor ray only"),
                           (["--executor", "ray", "--max-retries", "-1"], "--max-retries must be 0 or more"),
                           (["--executor", "ray", "--job-timeout", "0"], "--job-timeout must be a positive")):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main([*base, "--executor", "ray"]) == 2
    assert "pip install 'xscript-bench[ray]'" in capsys.readouterr().err
    assert not list((tmp_path / "r").glob("runs/*/run.json"))  # refused before the run was opened


# --- real engines: random kill -9 and two concurrent runs into one folder -------------------------
ENGINES = "rapidocr,tesseract"


def _written_jobs(writes_log: Path) -> set[str]:
    """Job records this process wrote (from its store-write log): ``.<name>.<random>.tmp`` -> name."""
    out = set()
    for line in writes_log.read_text().splitlines() if writes_log.is_file() else []:
        path = Path(line.split(maxsplit=1)[1])
        if "/jobs/" in str(path) and path.name.endswith(".tmp"):
            name = path.name[1:].rsplit(".", 2)[0]
            if name.endswith(".json"):
                out.add(str(path.parent / name))
    return out


@pytest.fixture(scope="module")
def engines_dataset(tmp_path_factory):
    pytest.importorskip("rapidocr", reason="needs the ocr extra: pip install 'xscript-bench[ocr]'")
    pytest.importorskip("tesserocr", reason="needs the ocr extra and tesseract-ocr")
    # 8 concepts x 3 languages x 2 fonts = 48 small word images
    return make_dataset(tmp_path_factory.mktemp("engines") / "ds", n_words=8, styles=2)


@pytest.mark.slow
def test_real_engines_survive_ten_random_sigkills(engines_dataset, tmp_path, plugin_env):
    """`bench run --adapters rapidocr,tesseract` on 48 images, SIGKILLed 10 times at random moments
    (from outside, or inside a store write) and rerun each time: the results equal an uninterrupted
    run's, no finished job is ever redone, and every invocation is in run.json."""
    ds = engines_dataset
    ref_log = tmp_path / "ref.writes"
    env = dict(plugin_env, XSB_CACHE_DIR=str(tmp_path / "ref-cache"), XSB_TEST_WRITES_LOG=str(ref_log))
    t0 = time.monotonic()
    res = subprocess.run(_cmd(ds, tmp_path / "ref", ENGINES), env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    reference = job_files(tmp_path / "ref")
    n_writes = len(ref_log.read_text().splitlines())
    writes = [float(line.split()[0]) for line in ref_log.read_text().splitlines()]
    assert len([k for k in reference if k.endswith(".json")]) == 2 * (3 + 6 + 6)  # 2 engines x (9 tasks + 6 bridged)
    print(f"uninterrupted: {time.monotonic() - t0:.1f} s, {n_writes} writes", file=sys.stderr)

    rng = random.Random(15)
    kills = chain = 0
    while kills < 10:
        chain += 1
        assert chain <= 8, f"only {kills} kills landed"
        results, cache = tmp_path / f"k{chain}", tmp_path / f"k{chain}-cache"
        protected: dict[str, tuple] = {}
        runs = chain_kills = 0
        while True:
            runs += 1
            log = tmp_path / f"k{chain}-{runs}.writes"
            env = dict(plugin_env, XSB_CACHE_DIR=str(cache), XSB_TEST_WRITES_LOG=str(log))
            kill = kills < 10 and chain_kills < 4
            if kill and runs % 2 == 0:  # inside a store or cache write, in one of its phases
                env["XSB_TEST_KILL_AT_WRITE"] = f"{rng.randint(1, max(2, n_writes // 4))}:{rng.choice(PHASES)}"
            proc = _start(_cmd(ds, results, ENGINES), env)
            if kill and "XSB_TEST_KILL_AT_WRITE" not in env:  # from outside, at a random moment of the work
                _kill_after_first_write(proc, log, rng.uniform(0.0, 0.6 * (writes[-1] - writes[0])))
            _, err = proc.communicate(timeout=300)
            if proc.returncode == 0:
                break
            assert proc.returncode == -signal.SIGKILL, err
            kills += 1
            chain_kills += 1
            assert_final_files_whole(results, cache)
            now = finished_marks(results)
            assert all(now[k] == v for k, v in protected.items())  # no finished job redone
            protected.update(now)
            print(f"kill {kills}: chain {chain} run {runs}, {env.get('XSB_TEST_KILL_AT_WRITE') or 'from outside'}, "
                  f"{len(now)} job(s) done", file=sys.stderr)
        assert job_files(results) == reference, f"chain {chain}: results differ from the uninterrupted run"
        assert all(finished_marks(results)[k] == v for k, v in protected.items())
        invocations = json.loads((results / "runs" / "r" / "run.json").read_text())["invocations"]
        assert len(invocations) == runs  # every invocation, the killed ones without an end
        assert [("end" in i) for i in invocations] == [False] * chain_kills + [True]


@pytest.mark.slow
def test_two_concurrent_runs_share_the_work(engines_dataset, tmp_path, plugin_env):
    """Two `bench run`s started together into one folder: each unit of work is claimed by one of
    them, so no job is computed twice; both invocations are recorded; the results equal a single
    uninterrupted run's."""
    ds = engines_dataset
    env = dict(plugin_env, XSB_CACHE_DIR=str(tmp_path / "ref-cache"))
    res = subprocess.run(_cmd(ds, tmp_path / "ref", ENGINES), env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    procs, logs = [], []
    for i in range(2):
        logs.append(tmp_path / f"p{i}.writes")
        env = dict(plugin_env, XSB_CACHE_DIR=str(tmp_path / "shared-cache"), XSB_TEST_WRITES_LOG=str(logs[i]))
        procs.append(_start(_cmd(ds, tmp_path / "both", ENGINES), env))
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    mine = [_written_jobs(log) for log in logs]
    print(f"jobs written: {len(mine[0])} by the first run, {len(mine[1])} by the second", file=sys.stderr)
    assert not mine[0] & mine[1], "a job was computed by both runs"
    assert mine[0] and mine[1], errs  # both did work: the runs really overlapped
    assert len(mine[0] | mine[1]) == len([k for k in job_files(tmp_path / "ref") if k.endswith(".json")])
    assert job_files(tmp_path / "both") == job_files(tmp_path / "ref")
    invocations = json.loads((tmp_path / "both" / "runs" / "r" / "run.json").read_text())["invocations"]
    assert len(invocations) == 2 and {i["pid"] for i in invocations} == {p.pid for p in procs}
    assert all(i["status"] == "finished" and i["end"] for i in invocations)
