"""``bench perf ADAPTERS --workers-compare [N]``: the same images through ``bench run`` with one
worker and with N, the wall time of each, the speedup, and a check that every metric is identical.

Why a perf command and not a test: the speedup is a claim about a machine, so it is measured and
stored (results/perf/workers-<adapters>.json, with the cores, the load average before and after,
versions and git revision), never asserted in the suite. Each measurement is a fresh run into a
scratch results folder with the output cache off, so nothing is reused; the time covers what a
user waits for: loading the adapter, starting the workers, encoding and scoring. With several
adapters, a last row times one run of all of them, as ``bench run --adapters A,B,C`` runs them.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from .. import registry
from ..errors import BenchError
from ..registry.adapter import AdapterOptions
from ..results import provenance
from ..results.store import atomic_write_json
from ..run.workers import available_cores, default_workers


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _timed_run(name: str, workers: int, args) -> dict:
    """One fresh ``bench run`` of one adapter: wall seconds, images and the metrics of every job."""
    from ..run.runner import RunConfig, Runner

    with tempfile.TemporaryDirectory(prefix="xsb-perf-workers-") as tmp:
        cfg = RunConfig(dataset=args.dataset, scale=args.scale, splits=[args.split], adapters=name,
                        cross=False, bridge=False, geometry=False, limit=args.limit or None, threads=1, workers=workers,
                        results_dir=tmp, run_id="perf-workers", latency_samples=0, progress=False,
                        use_cache=False)
        runner = Runner(cfg)  # loads the dataset outside the timed part
        images = len(runner.ds.select(args.split)) * len(name.split(","))
        t0 = time.perf_counter()
        runner.run(print_summary=False)
        wall = time.perf_counter() - t0
        metrics, failed = {}, []
        for rec in runner.store.iter_jobs():
            if rec.get("status") == "done":
                metrics[rec["task"] if "," not in name else f"{rec['adapter']}/{rec['task']}"] = rec["metrics"]
            else:
                failed.append(f"{rec.get('task')}: {rec.get('status')} {rec.get('reason', '')}".strip())
        if failed:
            raise BenchError(f"{name} with {workers} worker(s): " + "; ".join(failed[:3]))
        return {"workers": workers, "seconds": wall, "images": images, "images_per_s": images / wall,
                "metrics": metrics}


def _measure(adapters: str, n: int, args) -> dict:
    """1 and ``n`` workers on the same images (``--repeats`` times, alternating): the best times."""
    runs = []
    for _ in range(args.repeats):
        for w in (1, n):
            r = _timed_run(adapters, w, args)
            print(f"{adapters}: {w} worker(s): {r['images']} images in {r['seconds']:.1f} s "
                  f"({r['images_per_s']:.1f} images/s)", file=sys.stderr)
            runs.append(r)
    one = [r for r in runs if r["workers"] == 1]
    many = [r for r in runs if r["workers"] == n]
    identical = all(r["metrics"] == one[0]["metrics"] for r in runs)
    best1, bestn = min(r["seconds"] for r in one), min(r["seconds"] for r in many)
    return {"adapter": adapters, "images": one[0]["images"], "seconds_1": best1, "seconds_n": bestn,
            "images_per_s_1": one[0]["images"] / best1, "images_per_s_n": one[0]["images"] / bestn,
            "speedup": best1 / bestn, "metrics_identical": identical,
            "acc@1": {t: m["acc@1"] for t, m in sorted(one[0]["metrics"].items())},
            "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in runs]}


def compare(args, names: list[str]) -> int:
    """Run each adapter with 1 and N workers (``--repeats`` times, alternating), store and print."""
    from tabulate import tabulate

    n = args.workers_compare or default_workers()
    if n < 2:
        raise BenchError(f"--workers-compare needs 2 or more workers (this machine offers {available_cores()} "
                         "core(s)); pass a number, e.g. --workers-compare 2")
    if args.repeats < 1:
        raise BenchError("--repeats must be 1 or more")
    load_before = _load()
    results = []
    for name in names:
        cls = registry.get(name)
        status = cls.availability(AdapterOptions(threads=1, device="cpu"))
        if not status.ok:
            print(f"{name}: {status}", file=sys.stderr)
            continue
        results.append(_measure(name, n, args))
    if len(results) > 1:  # the user's view: one `bench run` of all of them, one adapter after another
        results.append(_measure(",".join(r["adapter"] for r in results), n, args))
    if not results:
        raise BenchError("none of the selected adapters is available")
    from ..run.runner import RunConfig, load_dataset

    ds = load_dataset(RunConfig(dataset=args.dataset, scale=args.scale), progress=False)
    record = {"kind": "workers-compare", "adapters": [r["adapter"] for r in results if "," not in r["adapter"]],
              "workers": n,
              "split": args.split, "limit": args.limit, "repeats": args.repeats, "results": results,
              "cores": available_cores(), "load_avg_before": load_before, "load_avg_after": _load(),
              "created": provenance.now(), "hardware": provenance.hardware(),
              "versions": provenance.package_versions(), "git": provenance.git_revision(),
              "dataset": ds.name, "fingerprint": ds.fingerprint,
              "note": "wall time of a fresh `bench run` per adapter, and of all of them in one run (the row named "
                      "A,B,...) (load, workers, encode, score), output cache "
                      "off, within-language tasks; the best of --repeats runs; load_avg is the 1/5/15-minute "
                      "load of the machine (other work running shows here)"}
    out = Path(args.results_dir) / "perf" / f"workers-{'-'.join(record['adapters'])}.json"
    atomic_write_json(out, record)
    rows = [[r["adapter"], r["images"], f"{r['seconds_1']:.1f}", f"{r['images_per_s_1']:.1f}",
             f"{r['seconds_n']:.1f}", f"{r['images_per_s_n']:.1f}", f"{r['speedup']:.2f}x",
             "yes" if r["metrics_identical"] else "NO"] for r in results]
    print(tabulate(rows, headers=["adapter", "images", "1 worker s", "img/s", f"{n} workers s", "img/s",
                                  "speedup", "metrics identical"]))
    print(f"({available_cores()} core(s), load average {load_before} before, {record['load_avg_after']} after; "
          f"split {args.split}, --limit {args.limit}; written to {out})", file=sys.stderr)
    if not all(r["metrics_identical"] for r in results):
        raise BenchError("metrics differ between 1 and N workers: " +
                         ", ".join(r["adapter"] for r in results if not r["metrics_identical"]))
    return 0
