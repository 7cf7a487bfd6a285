"""The Ray executor gives the local executor's results, file for file, and resumes a local run."""
import json
import subprocess
import sys
import time

import pytest

from bench import registry
from bench.cli import main
from bench.run.runner import RunConfig, Runner, Unit
from tests.helpers import make_dataset
from tests.results_util import finished_marks, job_files

ADAPTERS = "rapidocr,tesseract,plugin-pixels"


def test_units_cover_every_job_once(rendered_dataset, tmp_path, with_plugin):
    cfg = RunConfig(dataset=str(rendered_dataset), adapters="plugin-const,plugin-pixels",
                    results_dir=str(tmp_path), progress=False)
    runner = Runner(cfg)
    for name in runner.adapter_names:
        jobs = runner.jobs_for(registry.get(name))
        units = runner.units_for(name)
        covered = [j for u in units for j in runner.unit_jobs(u)]
        assert sorted(map(repr, covered)) == sorted(map(repr, jobs))  # a partition of the jobs
        assert [u.lang for u in units] == ["en", "es", "zh"] + ([None] if name == "plugin-pixels" else [])
    assert Unit("plugin-pixels", "ood", None).covers(runner.jobs_for(registry.get("plugin-pixels"))[-1])


@pytest.mark.slow
def test_ray_executor_matches_local_and_resumes_a_local_run(tmp_path, plugin_env, with_plugin, monkeypatch):
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'xscript-bench[ray]'")
    ds = make_dataset(tmp_path / "ds", n_words=3)
    common = ["--dataset", str(ds), "--run-id", "r", "--no-progress", "--quiet", "--latency-samples", "1"]

    t0 = time.time()
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache-local"))
    assert main(["run", "--adapters", ADAPTERS, "--results-dir", str(tmp_path / "local"), *common]) == 0
    # Start the other run locally (one adapter), then finish it on Ray with a cache of its own.
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache-ray"))
    assert main(["run", "--adapters", "plugin-pixels", "--results-dir", str(tmp_path / "ray"), *common]) == 0
    before = finished_marks(tmp_path / "ray")
    t1 = time.time()

    env = dict(plugin_env, XSB_CACHE_DIR=str(tmp_path / "cache-ray"), RAY_USAGE_STATS_ENABLED="0",
               XSB_RAY_NUM_CPUS="2")
    res = subprocess.run([sys.executable, "-m", "bench", "run", "--executor", "ray", "--adapters", ADAPTERS,
                          "--results-dir", str(tmp_path / "ray"), *common],
                         env=env, capture_output=True, text=True, timeout=300, start_new_session=True)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "ray: started a local cluster with 2 CPUs" in res.stderr
    print(f"local {t1 - t0:.1f}s, ray {time.time() - t1:.1f}s", file=sys.stderr)

    local, ray = job_files(tmp_path / "local"), job_files(tmp_path / "ray")
    assert set(local) == set(ray)
    assert len([k for k in local if k.endswith(".json")]) == 3 * 9 + 2 * 6 + 1  # tasks, bridged, geometry
    for key in local:
        assert ray[key] == local[key], key
    statuses = {v["status"] for k, v in local.items() if k.endswith(".json")}
    assert statuses == {"done"}, statuses
    after = finished_marks(tmp_path / "ray")
    assert before and all(after[k] == v for k, v in before.items())  # the local jobs were not redone
    # every adapter record is there, with the latency measured once and the throughput of each unit
    for name in ("rapidocr", "tesseract", "plugin-pixels"):
        rec = json.loads((tmp_path / "ray/runs/r/adapters" / f"{name}.json").read_text())
        assert rec["status"] == "loaded" and rec["latency_ms"] > 0, rec
        if name != "plugin-pixels":  # plugin-pixels was encoded in the local part
            assert set(rec["throughput"]) == {"ood/en", "ood/es", "ood/zh"}, rec
