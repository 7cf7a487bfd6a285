"""Figure 3: pooled within-language Acc@1 against parameters and against latency (log x axes), one
point per adapter: filled = measured in this run, hollow and labelled = reported by the paper;
featured adapters (the card says so: our model) drawn as stars.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import tables
from .cards import featured_groups, is_featured, presented_cards
from .style import GROUP_COLOURS, FigureResult, new_figure, rc, save


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
    featured: bool


def _points(df: pd.DataFrame, xcol: str, ycol: str, filled: bool, unplaced: list[str],
            cards: dict[str, dict]) -> list[_Point]:
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
                          GROUP_COLOURS.get(r.get("group"), "#7f7f7f"), filled,
                          is_featured(cards.get(str(r.get("adapter")), {}))))
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
    offsets). Measured and featured points are placed first, so they get the best spots."""
    trans = ax.transData  # valid once the margins, scales and limits are set (no draw needed)
    bbox = ax.get_window_extent()
    taken: list[tuple[float, float, float, float]] = []
    scale = dpi / 72.0
    for p in sorted(points, key=lambda p: (not p.featured, not p.filled)):
        px, py = trans.transform((p.x, p.y))
        fs = 7.5 if p.filled or p.featured else 6.5
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
                    color="black" if p.filled else "#555555", fontweight="bold" if p.featured else "normal", zorder=5,
                    arrowprops=dict(arrowstyle="-", lw=0.5, color="#888888", shrinkA=0, shrinkB=3) if far else None)


def figure3(within: pd.DataFrame, reported: pd.DataFrame, split: str, out_dir: Path,
            hardware: str = "", adapters: list[dict] | None = None) -> FigureResult:
    """Accuracy against parameters and latency, measured (filled) and reported (hollow, labelled);
    featured adapters (``adapters`` are the run's records, whose cards say so) as stars."""
    res = FigureResult("figure3_accuracy_cost", "Figure 3: accuracy against model size and latency")
    used = _acc_split(within, split) if not within.empty else None
    if used is None:
        res.note = "no within-language results in this run"
        return res
    col = f"{used}:acc@1"
    rep = reported if (not reported.empty and col in reported.columns) else pd.DataFrame()
    from matplotlib import rc_context
    from matplotlib.lines import Line2D

    names = [n for df in (within, rep) if "adapter" in df.columns for n in df["adapter"]]
    cards = presented_cards(names, adapters or [])
    unplaced: dict[str, list[str]] = {"params_m": [], "latency_ms": []}
    with rc_context(rc()):
        fig = new_figure(12, 5.4)
        axes = fig.subplots(1, 2, sharey=True)
        fig.subplots_adjust(left=0.06, right=0.985, top=0.88, bottom=0.19, wspace=0.06)
        for ax, xcol, xlabel in ((axes[0], "params_m", "parameters (M, log scale)"),
                                 (axes[1], "latency_ms", "latency per image (ms, log scale)")):
            pts = _points(rep, xcol, col, False, [], cards) + _points(within, xcol, col, True, unplaced[xcol], cards)
            for p in pts:
                ax.scatter([p.x], [p.y], s=190 if p.featured else 46, marker="*" if p.featured else "o",
                           facecolors=p.colour if p.filled else "none", edgecolors=p.colour,
                           linewidths=1.6 if p.featured else 1.1, zorder=4 if p.filled else 3)
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
        starred = featured_groups()
        handles = [Line2D([], [], ls="", marker="o", color=c, label=g) for g, c in GROUP_COLOURS.items()
                   if g not in starred]
        handles += [Line2D([], [], ls="", marker="*", markersize=12, color=GROUP_COLOURS[g], label=g) for g in starred]
        handles += [Line2D([], [], ls="", marker="o", color="#444444", label="measured (this run)"),
                    Line2D([], [], ls="", marker="o", markerfacecolor="none", color="#444444",
                           label="reported (paper)")]
        fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
        res.paths = save(fig, out_dir, res.name)
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
