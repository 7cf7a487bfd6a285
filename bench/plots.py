"""Figures 3-5 of the paper, drawn from a run's stored results only (never from a live model).

- Figure 3: pooled within-language Acc@1 against parameters and against latency (log x axes), one
  point per adapter: filled = measured in this run, hollow and labelled = reported by the paper.
- Figure 4: a 2-D map of the shared space (UMAP when installed, else PCA by numpy SVD) from the
  embedding sample the runner stores beside each geometry job, for ours and the best embedding
  baseline; colour = language, marker = modality; language-centre distances printed on it.
- Figure 5: ours fp32 against int8 (latency, size, Acc@1) from a ``bench perf ours`` record in
  ``results/perf/*.json``; skipped with a note when there is none.
Each figure is saved as PNG and SVG under ``results/runs/<id>/figures/``. matplotlib is imported
inside functions so that importing this module (and ``bench list``) stays light.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import tables
from .store import RunStore
from .vectors import l2_normalize

FIGURES_DIR = "figures"
LANG_COLOURS = {"en": "#1f77b4", "zh": "#d62728", "es": "#2ca02c"}
EXTRA_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
GROUP_COLOURS = {"Two-Stage Strategies": "#1f77b4", "End-to-End Strategies": "#2ca02c",
                 "General Visual Large Language Model Strategies": "#9467bd", "Ours": "#d62728"}
OURS_GROUP = "Ours"
# Fonts that draw Chinese, tried in order, so labels in any benchmark language render (not boxes).
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf",
                  "/usr/share/fonts/truetype/arphic/ukai.ttc")


@dataclass
class FigureResult:
    """One figure: where it was written, or why it was not (``paths`` empty), and its caption."""

    name: str
    title: str
    paths: list[Path] = field(default_factory=list)
    caption: str = ""
    note: str = ""

    @property
    def png(self) -> Path | None:
        return next((p for p in self.paths if p.suffix == ".png"), None)


# matplotlib set-up -------------------------------------------------------------------------------
def _new_figure(width: float, height: float):
    """A pyplot-free Agg figure: no global state, safe in tests and servers. Margins are set by
    hand: constrained layout doubled the drawing time of the labelled scatter plots."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def _rc(cjk: bool = False) -> dict[str, Any]:
    """rc settings; with ``cjk``, a fallback font for Chinese labels (only then: fallback slows
    every text layout down)."""
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    for path in CJK_FONT_FILES if cjk else ():
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
                families.append(font_manager.FontProperties(fname=path).get_name())
                break
            except (OSError, RuntimeError):
                continue
    return {"font.family": families, "svg.hashsalt": "xscript-bench", "axes.spines.top": False,
            "axes.spines.right": False, "font.size": 9}


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    """PNG and SVG, without time stamps so that unchanged results give unchanged files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    fig.savefig(png, format="png", metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


# Figure 3 ------------------------------------------------------------------------------------------
def _acc_split(within: pd.DataFrame, split: str) -> str | None:
    if f"{split}:acc@1" in within.columns:
        return split
    found = [c.split(":")[0] for c in within.columns if c.endswith(":acc@1")]
    return found[0] if found else None


@dataclass
class _Point:
    x: float
    y: float
    label: str
    colour: str
    filled: bool
    ours: bool


def _points(df: pd.DataFrame, xcol: str, ycol: str, filled: bool, unplaced: list[str]) -> list[_Point]:
    out = []
    for _, r in df.iterrows():
        x, y = r.get(xcol), r.get(ycol)
        if y is None or pd.isna(y):
            continue
        if x is None or pd.isna(x) or x <= 0:
            if filled:
                unplaced.append(str(r["method"]))
            continue
        out.append(_Point(float(x), float(y), str(r["method"]).replace(" (reported)", ""),
                          GROUP_COLOURS.get(r.get("group"), "#7f7f7f"), filled, r.get("group") == OURS_GROUP))
    return out


# Offsets (points) tried in order for a label: right, left, above, below, diagonals.
_OFFSETS = ((5, -3), (-5, -3), (0, 6), (0, -12), (5, 6), (-5, 6), (5, -11), (-5, -11))
# Farther spots for crowded points (e.g. several variants of one model at the same size), drawn with a
# thin leader line back to the point.
_FAR_OFFSETS = ((22, 14), (22, -20), (-22, 14), (-22, -20), (26, 28), (26, -34), (-26, 28), (-26, -34),
                (30, 42), (30, -48))


def _place_labels(ax, points: list[_Point], dpi: float) -> None:
    """Greedy label placement: each label takes the first offset whose box overlaps no earlier
    label and stays inside the axes (estimated text boxes; cheap, and far more legible than fixed
    offsets). Measured and our points are placed first, so they get the best spots."""
    trans = ax.transData  # valid once the margins, scales and limits are set (no draw needed)
    bbox = ax.get_window_extent()
    taken: list[tuple[float, float, float, float]] = []
    scale = dpi / 72.0
    for p in sorted(points, key=lambda p: (not p.ours, not p.filled)):
        px, py = trans.transform((p.x, p.y))
        fs = 7.5 if p.filled or p.ours else 6.5
        w, h = 0.56 * fs * len(p.label) * scale, 1.15 * fs * scale
        best, best_cost = None, None
        for dx, dy in _OFFSETS + _FAR_OFFSETS:
            x0 = px + dx * scale - (w if dx < 0 else (w / 2 if dx == 0 else 0))
            y0 = py + dy * scale
            box = (x0, y0, x0 + w, y0 + h)
            cost = sum(max(0, min(box[2], t[2]) - max(box[0], t[0])) * max(0, min(box[3], t[3]) - max(box[1], t[1]))
                       for t in taken)
            if box[0] < bbox.x0 or box[2] > bbox.x1 or box[1] < bbox.y0 or box[3] > bbox.y1:
                cost += w * h
            if best_cost is None or cost < best_cost:
                best, best_cost = (dx, dy, box), cost
            if cost == 0:
                break
        dx, dy, box = best
        taken.append(box)
        far = (dx, dy) in _FAR_OFFSETS
        ax.annotate(p.label, (p.x, p.y), xytext=(dx, dy), textcoords="offset points", fontsize=fs,
                    ha="right" if dx < 0 else ("center" if dx == 0 else "left"), va="bottom",
                    color="black" if p.filled else "#555555", fontweight="bold" if p.ours else "normal", zorder=5,
                    arrowprops=dict(arrowstyle="-", lw=0.5, color="#888888", shrinkA=0, shrinkB=3) if far else None)


def figure3(within: pd.DataFrame, reported: pd.DataFrame, split: str, out_dir: Path,
            hardware: str = "") -> FigureResult:
    """Accuracy against parameters and latency, measured (filled) and reported (hollow, labelled)."""
    res = FigureResult("figure3_accuracy_cost", "Figure 3: accuracy against model size and latency")
    used = _acc_split(within, split) if not within.empty else None
    if used is None:
        res.note = "no within-language results in this run"
        return res
    col = f"{used}:acc@1"
    rep = reported if (not reported.empty and col in reported.columns) else pd.DataFrame()
    from matplotlib import rc_context
    from matplotlib.lines import Line2D

    unplaced: dict[str, list[str]] = {"params_m": [], "latency_ms": []}
    with rc_context(_rc()):
        fig = _new_figure(12, 5.4)
        axes = fig.subplots(1, 2, sharey=True)
        fig.subplots_adjust(left=0.06, right=0.985, top=0.88, bottom=0.19, wspace=0.06)
        for ax, xcol, xlabel in ((axes[0], "params_m", "parameters (M, log scale)"),
                                 (axes[1], "latency_ms", "latency per image (ms, log scale)")):
            pts = _points(rep, xcol, col, False, []) + _points(within, xcol, col, True, unplaced[xcol])
            for p in pts:
                ax.scatter([p.x], [p.y], s=190 if p.ours else 46, marker="*" if p.ours else "o",
                           facecolors=p.colour if p.filled else "none", edgecolors=p.colour,
                           linewidths=1.6 if p.ours else 1.1, zorder=4 if p.filled else 3)
            ax.set_xscale("log")
            if pts:
                xs = [p.x for p in pts]
                ax.set_xlim(min(xs) / 2.5, max(xs) * 4)
            ax.set_ylim(-0.02, 1.04)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="major", alpha=0.3)
            _place_labels(ax, pts, fig.dpi)
        axes[0].set_ylabel(f"{tables.SPLIT_LABELS.get(used, used)} Acc@1 (pooled within-language)")
        axes[0].set_title("Accuracy against parameters")
        axes[1].set_title("Accuracy against latency" + (f"\nmeasured: {hardware}; reported: RTX 4090"
                                                         if hardware else ""), fontsize=9)
        handles = [Line2D([], [], ls="", marker="o", color=c, label=g) for g, c in GROUP_COLOURS.items()
                   if g != OURS_GROUP]
        handles += [Line2D([], [], ls="", marker="*", markersize=12, color=GROUP_COLOURS[OURS_GROUP], label="Ours"),
                    Line2D([], [], ls="", marker="o", color="#444444", label="measured (this run)"),
                    Line2D([], [], ls="", marker="o", markerfacecolor="none", color="#444444",
                           label="reported (paper)")]
        fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
        res.paths = _save(fig, out_dir, res.name)
    notes = [f"not on the {'parameters' if k == 'params_m' else 'latency'} panel "
             f"(no {'parameter count' if k == 'params_m' else 'latency'}): " + ", ".join(v)
             for k, v in unplaced.items() if v]
    if used != split:
        notes.insert(0, f"no {split} results; split {used} shown")
    res.note = "; ".join(notes)
    res.caption = (f"{tables.SPLIT_LABELS.get(used, used)} Acc@1 of every adapter against its parameter count "
                   f"and its median batch-1 latency. Filled points are measured in this run, hollow ones are "
                   f"the paper's reported numbers (latency on an RTX 4090: do not compare across machines). "
                   f"Stars are our model.")
    return res


# Figure 4 ------------------------------------------------------------------------------------------
def project_2d(emb: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of unit-normalized embeddings: UMAP (cosine) if installed, else PCA."""
    x = l2_normalize(emb, np.float64)
    try:
        import umap  # type: ignore[import-not-found]

        n = len(x)
        reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed,
                            n_neighbors=max(2, min(15, n - 1)))
        return np.asarray(reducer.fit_transform(x)), "UMAP"
    except ImportError:
        pass
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    if xy.shape[1] < 2:
        xy = np.hstack([xy, np.zeros((len(xy), 2 - xy.shape[1]))])
    return xy, "PCA"


@dataclass
class MapPanel:
    """One adapter's embedding sample and geometry record, for one panel of Figure 4."""

    adapter: str
    label: str
    sample: dict
    geometry: dict


def figure4(panels: list[MapPanel], out_dir: Path, seed: int = 0) -> FigureResult:
    """Embedding map per adapter: colour = language, marker = modality, each gallery word named
    (so that "dog", "狗" and "perro" landing together is visible)."""
    res = FigureResult("figure4_embedding_map", "Figure 4: the shared embedding space")
    if not panels:
        res.note = "no embedding sample in this run: no embedding adapter or ours finished its geometry job"
        return res
    from matplotlib import rc_context
    from matplotlib.lines import Line2D

    langs_all = sorted({str(l) for p in panels for l in p.sample["lang"]})
    colours = {l: LANG_COLOURS.get(l, EXTRA_COLOURS[i % len(EXTRA_COLOURS)]) for i, l in enumerate(langs_all)}
    methods = []
    names = [str(t) for p in panels for t in p.sample["text"]]
    with rc_context(_rc(cjk=any(ord(ch) >= 0x2E80 for n in names for ch in n))):
        fig = _new_figure(6.2 * len(panels), 6.4)
        axes = np.atleast_1d(fig.subplots(1, len(panels)))
        for ax, panel in zip(axes, panels):
            s = panel.sample
            xy, method = project_2d(s["embeddings"], seed)
            methods.append(method)
            lang, mod, sid = np.asarray(s["lang"]).astype(str), np.asarray(s["modality"]).astype(str), \
                np.asarray(s["semantic_id"])
            for l in langs_all:
                img = (lang == l) & (mod == "image")
                txt = (lang == l) & (mod == "text")
                ax.scatter(xy[img, 0], xy[img, 1], s=16, marker="o", color=colours[l], alpha=0.55, linewidths=0)
                ax.scatter(xy[txt, 0], xy[txt, 1], s=120, marker="*", color=colours[l], edgecolors="black",
                           linewidths=0.6, zorder=4)
            words = np.asarray(s["text"]).astype(str)
            for k in np.flatnonzero(mod == "text"):
                ax.annotate(words[k], xy[k], fontsize=7.5, color=colours[lang[k]], ha="left", va="bottom",
                            xytext=(5, 2), textcoords="offset points", zorder=5)
            g = panel.geometry
            dists = "   ".join(f"{k}: {v:.3f}" for k, v in sorted(g.get("language_centre_distances", {}).items()))
            ax.set_title(f"{panel.label}\n{method} of {len(xy)} points, {len(np.unique(sid))} concepts", fontsize=10)
            ax.text(0.0, -0.015, f"language-centre distances  {dists}\n"
                                f"R {g.get('R', float('nan')):.3f}   D {g.get('D', float('nan')):.3f}   "
                                f"R/D {g.get('R/D', float('nan')):.3f}  (whole split)",
                    transform=ax.transAxes, fontsize=8, va="top",
                    bbox={"boxstyle": "round", "facecolor": "#f6f7f9", "edgecolor": "#bbbbbb"})
            ax.set_xticks([])
            ax.set_yticks([])
        handles = [Line2D([], [], ls="", marker="o", color=colours[l], label=l) for l in langs_all]
        handles += [Line2D([], [], ls="", marker="o", color="#777777", label="word image"),
                    Line2D([], [], ls="", marker="*", markersize=12, color="#777777", markeredgecolor="black",
                           label="text (gallery word)")]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.17, wspace=0.05)
        res.paths = _save(fig, out_dir, res.name)
    res.caption = (f"{'/'.join(sorted(set(methods)))} map of a seeded sample of concepts present in every "
                   f"language: word images (dots) and gallery words (stars), coloured by language. In a "
                   f"language-agnostic space the colours mix within each concept; language-centre "
                   f"distances (lower = languages overlap) and R/D are computed on the whole split.")
    return res


def map_panels(store: RunStore, jobs: pd.DataFrame, adapters: list[dict], split: str) -> list[MapPanel]:
    """Ours (the 'ours' adapter if present, else the best of its family) and the best embedding
    baseline by pooled within-language Acc@1 (R/D breaks ties), among adapters with a stored sample."""
    geo = tables.geometry_table(jobs, adapters, split)
    if geo.empty:
        return []
    acc = f"{split}:acc@1"
    geo = geo.assign(_acc=geo[acc].fillna(-1.0) if acc in geo.columns else -1.0)
    geo = geo.sort_values(["_acc", "R/D"], ascending=[False, True], kind="stable")
    records = {r["adapter"]: r["geometry"] for _, r in jobs[(jobs["task"] == "geometry")
                                                             & (jobs["status"] == "done")
                                                             & (jobs["split"] == split)].iterrows()}
    panels = []
    for group in (OURS_GROUP, "End-to-End Strategies"):
        cands = geo[geo["group"] == group]
        if group == OURS_GROUP and "ours" in set(cands["adapter"]):
            cands = pd.concat([cands[cands["adapter"] == "ours"], cands[cands["adapter"] != "ours"]])
        for _, row in cands.iterrows():
            sample = store.read_embedding_sample(row["adapter"], split)
            if sample is not None and len(sample.get("embeddings", [])) >= 3:
                what = "ours" if group == OURS_GROUP else "best embedding baseline"
                panels.append(MapPanel(row["adapter"], f"{row['method']} ({what})", sample,
                                       records.get(row["adapter"], {})))
                break
    return panels


# Figure 5 ------------------------------------------------------------------------------------------
def _precision(name: str) -> str:
    return "int8" if "int8" in name.lower() else "fp32"


def _is_ours_variant(v: dict) -> bool:
    name = str(v.get("name", ""))
    return name in ("fp32", "int8") or v.get("family") == "ours" or name.startswith("ours")


def find_perf_record(results_dir: Path) -> tuple[Path, dict] | None:
    """The newest ``results/perf/*.json`` comparing variants of our model (fp32 and int8)."""
    best: tuple[str, Path, dict] | None = None
    for p in sorted((Path(results_dir) / "perf").glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        variants = [v for v in rec.get("variants", []) if isinstance(v, dict) and _is_ours_variant(v)]
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
    variants = sorted((v for v in rec["variants"] if _is_ours_variant(v)),
                      key=lambda v: _precision(str(v["name"])) != "fp32")  # fp32 first: ratios are int8/fp32
    labels = [f"{v['name']}\n({_precision(str(v['name']))})" if v["name"] not in ("fp32", "int8") else v["name"]
              for v in variants]
    metrics = [("latency_ms", "batch-1 latency (ms)\nlower is better"),
               ("throughput", "throughput (images/s)\nhigher is better"),
               ("size_mb", "model size (MB)\nlower is better"), ("acc@1", "Acc@1\nhigher is better")]
    metrics = [m for m in metrics if any(v.get(m[0]) is not None for v in variants)]
    from matplotlib import rc_context

    with rc_context(_rc()):
        fig = _new_figure(3.1 * len(metrics), 4.2)
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
        res.paths = _save(fig, out_dir, res.name)
    res.caption = (f"From {path.name} ({rec.get('created', 'undated')}; split {rec.get('split', '?')}, "
                   f"accuracy on up to {rec.get('limit', '?')} queries per language). A CPU int8 runtime "
                   f"stands in for the paper's compute-in-memory simulator.")
    return res


# One run -------------------------------------------------------------------------------------------
def _hardware_label(manifest: dict) -> str:
    inv = (manifest.get("invocations") or [{}])[-1]
    hw = inv.get("hardware", {}) or {}
    gpu = ", ".join(hw.get("gpu", []) or [])
    where = gpu if inv.get("device", "cpu") != "cpu" and gpu else hw.get("cpu", "")
    return f"{where}, {inv.get('threads', '?')} thread(s)" if where else ""


def plot_run(results_dir: Path, run_id: str, split: str = "ood",
             reported_dir: Path | None = None) -> list[FigureResult]:
    """Every figure of one stored run, written under its ``figures/`` folder."""
    results_dir = Path(results_dir)
    store = RunStore.open(results_dir, run_id, create=False)
    jobs, adapters = tables.collect(results_dir, [run_id])
    out = store.root / FIGURES_DIR
    within = tables.within_table(jobs, adapters) if not jobs.empty else pd.DataFrame()
    reported = tables.load_reported(Path(reported_dir) if reported_dir else results_dir / "reported",
                                    "table2_within.csv")
    manifest = store.read_manifest() or {}
    figs = [figure3(within, reported, split, out, _hardware_label(manifest))]
    panels = map_panels(store, jobs, adapters, split) if not jobs.empty else []
    seed = int(manifest.get("identity", {}).get("seed", 0) or 0)
    figs.append(figure4(panels, out, seed))
    figs.append(figure5(find_perf_record(results_dir), out))
    return figs
