"""Figure 5: our model in fp32 against int8 (latency, throughput, size, Acc@1) from a ``bench perf ours``
record in ``results/perf/*.json``; skipped with a note when there is none. The variants compared are
the featured adapters of the record (their cards say so), never picked by name.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .cards import featured_card
from .style import FigureResult, new_figure, rc, save

PRECISIONS = ("fp32", "int8")  # variants may also be recorded by their precision alone


def _precision(name: str) -> str:
    return "int8" if "int8" in name.lower() else "fp32"


def _compared(v: dict) -> bool:
    """A variant Figure 5 compares: a bare precision label, or a featured adapter (its card says so)."""
    name = str(v.get("name", ""))
    return name in PRECISIONS or featured_card(name) is not None


def find_perf_record(results_dir: Path) -> tuple[Path, dict] | None:
    """The newest ``results/perf/*.json`` comparing featured variants (our model) in fp32 and int8."""
    best: tuple[str, Path, dict] | None = None
    for p in sorted((Path(results_dir) / "perf").glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        variants = [v for v in rec.get("variants", []) if isinstance(v, dict) and _compared(v)]
        if not {_precision(str(v.get("name", ""))) for v in variants} >= {"fp32", "int8"}:
            continue
        stamp = str(rec.get("created", "")) or f"{p.stat().st_mtime:020.6f}"
        if best is None or stamp >= best[0]:
            best = (stamp, p, rec)
    return (best[1], best[2]) if best else None


def _fmt_value(key: str, x: float | None) -> str:
    if x is None:
        return "n/a"
    if key == "acc@1":
        return f"{x:.4f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def figure5(perf: tuple[Path, dict] | None, out_dir: Path) -> FigureResult:
    """Bars of latency, throughput, size and Acc@1 for our model's fp32 and int8 variants."""
    res = FigureResult("figure5_int8_fp32", "Figure 5: our model in int8 against fp32")
    if perf is None:
        res.note = "no `bench perf ours` result under results/perf/; run `bench perf ours` to measure fp32 against int8"
        return res
    path, rec = perf
    variants = sorted((v for v in rec["variants"] if _compared(v)),
                      key=lambda v: _precision(str(v["name"])) != "fp32")  # fp32 first: ratios are int8/fp32
    labels = [f"{v['name']}\n({_precision(str(v['name']))})" if v["name"] not in PRECISIONS else v["name"]
              for v in variants]
    metrics = [("latency_ms", "batch-1 latency (ms)\nlower is better"),
               ("throughput", "throughput (images/s)\nhigher is better"),
               ("size_mb", "model size (MB)\nlower is better"), ("acc@1", "Acc@1\nhigher is better")]
    metrics = [m for m in metrics if any(v.get(m[0]) is not None for v in variants)]
    from matplotlib import rc_context

    with rc_context(rc()):
        fig = new_figure(3.1 * len(metrics), 4.2)
        axes = np.atleast_1d(fig.subplots(1, len(metrics)))
        colours = ["#1f77b4" if _precision(str(v["name"])) == "fp32" else "#ff7f0e" for v in variants]
        for ax, (key, title) in zip(axes, metrics):
            vals = [v.get(key) for v in variants]
            heights = [0.0 if x is None else float(x) for x in vals]
            bars = ax.bar(range(len(vals)), heights, color=colours)
            for b, x in zip(bars, vals):
                ax.annotate(_fmt_value(key, x),
                            (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                            xytext=(0, 2), textcoords="offset points", fontsize=8)
            ax.set_xticks(range(len(vals)), labels, fontsize=8)
            ratio = f"\nint8 / fp32 = {vals[1] / vals[0]:.2f}x" if (
                len(vals) == 2 and None not in vals and vals[0]
                and [_precision(str(v["name"])) for v in variants] == ["fp32", "int8"]) else ""
            ax.set_title(title + ratio, fontsize=9)
            if key == "acc@1":
                ax.set_ylim(0, 1.05)
            else:
                ax.set_ylim(0, max(heights + [1e-9]) * 1.18)
        hw = rec.get("hardware", {}) if isinstance(rec.get("hardware"), dict) else {}
        fig.suptitle(f"Our model, fp32 vs int8 on {rec.get('device', 'cpu')} "
                     f"({hw.get('cpu', rec.get('hardware', '?'))}, {rec.get('threads', '?')} thread(s))", fontsize=10)
        fig.subplots_adjust(left=0.06, right=0.98, top=0.74, bottom=0.14, wspace=0.35)
        res.paths = save(fig, out_dir, res.name)
    res.caption = (f"From {path.name} ({rec.get('created', 'undated')}; split {rec.get('split', '?')}, "
                   f"accuracy on up to {rec.get('limit', '?')} queries per language). A CPU int8 runtime "
                   f"stands in for the paper's compute-in-memory simulator.")
    return res
