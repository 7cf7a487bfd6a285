"""``bench perf``: latency, throughput, size and accuracy of adapters side by side, as ratios.

Performance claims live here, not in tests. Latency is the median of batch-1 calls after warm-up on
real word images of the split, with threads pinned and recorded; throughput is images per second at
the adapter's batch size; accuracy is pooled within-language Acc@1 on the same (limited) split,
computed by the ordinary runner into a scratch results folder. Results go to results/perf/.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .. import registry
from ..argtypes import device, int_at_least, positive_float
from ..errors import BenchError
from ..registry.adapter import AdapterOptions
from ..results import provenance
from ..results.store import atomic_write_json
from ..run.latency import WARMUP, batch1_times, image_call
from ..scoring.metrics import pool


def _images(ds, split: str, n: int):
    rows = ds.select(split)
    per_lang = max(1, n // max(1, rows["lang"].nunique()))
    picked = rows.groupby("lang", sort=True).head(per_lang)
    return [(ds.load_image(p), lang) for p, lang in zip(picked["path"], picked["lang"])]


def measure(adapter, images: list, warmup: int = WARMUP, batch: int = 64) -> dict:
    """Median batch-1 latency (ms, ``run.latency``: the same as ``bench run``) and throughput (img/s) at ``batch``."""
    times = batch1_times(adapter, images, warmup)
    call = image_call(adapter)
    by_lang: dict[str, list] = {}
    for im, lang in images:
        by_lang.setdefault(lang, []).append(im)
    t0 = time.perf_counter()
    for lang, ims in by_lang.items():
        for i in range(0, len(ims), batch):
            call(ims[i:i + batch], lang)
    tput = len(images) / (time.perf_counter() - t0)
    return {"latency_ms": statistics.median(times), "latency_p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
            "throughput": tput, "n_latency": len(times)}


def _accuracy(names: list[str], args) -> dict[str, float]:
    from ..run.runner import RunConfig, Runner

    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(dataset=args.dataset, scale=args.scale, splits=[args.split], adapters=",".join(names),
                        cross=False, limit=args.limit or None, threads=args.threads, results_dir=tmp,
                        latency_samples=0, progress=False, run_id="perf", geometry=False, bridge=False)
        Runner(cfg).run()
        from . import tables

        jobs, _ = tables.collect(Path(tmp))
        out = {}
        for name in names:
            rows = jobs[(jobs["adapter"] == name) & (jobs["status"] == "done")] if not jobs.empty else jobs
            if len(rows):
                out[name] = pool(list(rows["metrics"]))["acc@1"]
        return out


def selected_adapters(spec: str, against: str | None = None) -> list[str]:
    """The adapters ``bench perf`` compares: ``spec`` as ``bench run`` resolves it, except that one
    adapter whose card lists ``perf_variants`` (``bench perf ours``) stands for those variants; then
    the ``--against`` ones."""
    names = registry.resolve(spec)
    lead = registry.get(names[0]).card if len(names) == 1 else None
    if lead is not None and lead.perf_variants:
        names = [n for n in lead.perf_variants if n in registry.all_adapters()]
    return names + [n for n in (against or "").split(",") if n and n not in names]


def cmd_perf(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from ..run.runner import RunConfig, load_dataset

    provenance.set_threads(args.threads)
    names = selected_adapters(args.adapters, args.against)
    if args.workers_compare is not None:
        from .perf_workers import compare

        return compare(args, names)
    ds = load_dataset(RunConfig(dataset=args.dataset, scale=args.scale), progress=True)
    images = _images(ds, args.split, args.samples)
    if not images:
        raise BenchError(f"no images in split {args.split!r}")
    variants = []
    for name in names:
        cls = registry.get(name)
        opts = AdapterOptions(threads=args.threads, device=args.device)
        status = cls.availability(opts)
        if not status.ok:
            print(f"{name}: {status}", file=sys.stderr)
            continue
        ad = cls(opts)
        ad.ensure_loaded()
        m = measure(ad, images, batch=args.batch_size)
        size = ad.footprint_bytes()
        variants.append({"name": name, "family": cls.card.family, **m, "params": ad.num_parameters(),
                         "size_mb": size / 2**20 if size else None})
        ad.close()
    if not variants:
        raise BenchError("none of the selected adapters is available")
    if not args.no_accuracy:
        acc = _accuracy([v["name"] for v in variants], args)
        for v in variants:
            v["acc@1"] = acc.get(v["name"])
    base = variants[0]
    for v in variants:
        v["latency_ratio_vs_first"] = v["latency_ms"] / base["latency_ms"]
        v["speedup_of_first"] = v["latency_ms"] / base["latency_ms"]
    record = {"adapters": names, "split": args.split, "limit": args.limit, "threads": args.threads,
              "device": args.device, "variants": variants, "created": provenance.now(),
              "hardware": provenance.hardware(), "versions": provenance.package_versions(),
              "git": provenance.git_revision(), "dataset": ds.name, "fingerprint": ds.fingerprint}
    out = Path(args.results_dir) / "perf" / f"{'-'.join(names)}.json"
    atomic_write_json(out, record)
    rows = [[v["name"], f"{v['latency_ms']:.3f}", f"{v['latency_ms'] / base['latency_ms']:.2f}x",
             f"{v['throughput']:.0f}", "-" if v["size_mb"] is None else f"{v['size_mb']:.2f}",
             "-" if v.get("acc@1") is None else f"{v['acc@1']:.4f}"] for v in variants]
    print(tabulate(rows, headers=["adapter", "batch-1 ms", f"vs {base['name']}", "img/s", "size MB", "Acc@1"]))
    print(f"({args.threads} thread(s), {args.device}, {len(images)} images of split {args.split}; "
          f"written to {out})", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("perf", help="latency, throughput, size and accuracy side by side (ratios)")
    p.add_argument("adapters", help="adapters to compare ('ours' = ONNX fp32, ONNX int8 and torch fp32)")
    p.add_argument("--against", default=None, help="more adapters to time in the same run, e.g. rapidocr")
    p.add_argument("--dataset", default=None)
    p.add_argument("--scale", type=positive_float, default=1.0)
    p.add_argument("--split", default="ood")
    p.add_argument("--samples", type=int_at_least(1), default=60, help="images for the latency median")
    p.add_argument("--limit", type=int_at_least(0), default=300,
                   help="queries per language for the accuracy column and --workers-compare (0: all)")
    p.add_argument("--threads", type=int_at_least(1), default=1)
    p.add_argument("--device", type=device, default="cpu")
    p.add_argument("--batch-size", type=int_at_least(1), default=64)
    p.add_argument("--no-accuracy", action="store_true")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--workers-compare", type=int_at_least(0), nargs="?", const=0, default=None, metavar="N",
                   help="instead: time a fresh `bench run` of each adapter with 1 and N workers (default N: every "
                        "core) on the same images, check the metrics are identical, store results/perf/workers-*.json")
    p.add_argument("--repeats", type=int_at_least(1), default=1, help="--workers-compare: runs of each (best is kept)")
    p.set_defaults(func=cmd_perf)
