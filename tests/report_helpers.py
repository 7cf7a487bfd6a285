"""A stored run shared by the figure and report tests, made once per test session.

The run is made in a separate process that sees the test plug-in (an OCR engine, an embedding
adapter and an unavailable one), so that everything the figures and the report read comes from
the results store alone, as it does for users: nothing here registers the plug-in in-process.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import make_dataset

PERF_RECORD = {  # what `bench perf ours` writes (bench/report/perf.py), trimmed to what Figure 5 reads
    "adapters": ["ours", "ours-int8"], "split": "ood", "limit": 300, "threads": 1, "device": "cpu",
    "created": "2026-01-01T00:00:00+00:00", "hardware": {"cpu": "Test CPU", "cpu_count": 2},
    "variants": [
        {"name": "ours", "family": "ours", "latency_ms": 2.0, "throughput": 1900.0, "size_mb": 4.9, "acc@1": 0.61},
        {"name": "ours-int8", "family": "ours", "latency_ms": 0.8, "throughput": 5100.0, "size_mb": 1.6,
         "acc@1": 0.60},
    ],
}


def stored_run(base: Path, env: dict) -> tuple[Path, str]:
    """(results folder, run id) of a finished run on a rendered mini dataset, built once under base."""
    results = base / "results"
    runs = sorted(p for p in (results / "runs").glob("*") if (p / "run.json").is_file())
    if runs:
        return results, runs[0].name
    ds = make_dataset(base / "ds", n_words=6)
    env = dict(env, XSB_CACHE_DIR=str(base / "cache"))
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--adapters",
                           "plugin-const,plugin-pixels,plugin-missing", "--dataset", str(ds), "--results-dir",
                           str(results), "--no-progress", "--quiet", "--latency-samples", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    perf = results / "perf" / "ours-ours-int8.json"
    perf.parent.mkdir(parents=True, exist_ok=True)
    perf.write_text(json.dumps(PERF_RECORD), encoding="utf-8")
    return results, next((results / "runs").iterdir()).name


def pixel_stats(path: Path) -> tuple[float, float]:
    """(standard deviation of grey levels, share of pixels that are not near-white) of an image."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=np.float64)
    return float(a.std()), float((a < 200).mean())
