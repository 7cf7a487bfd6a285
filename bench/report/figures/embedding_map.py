"""Figure 4: a 2-D map of the shared space (UMAP when installed, else PCA by numpy SVD) from the
embedding sample the runner stores beside each geometry job, for the featured model (ours) and the
best embedding baseline; colour = language, marker = modality; language-centre distances printed on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...registry.card import FAMILY_GROUPS
from ...results.store import RunStore
from ...vectors import l2_normalize
from .. import tables
from .cards import is_featured, presented_cards
from .style import EXTRA_COLOURS, LANG_COLOURS, FigureResult, new_figure, rc, save

BASELINE_GROUP = FAMILY_GROUPS["embedding"]  # the second panel: the best embedding baseline


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
    with rc_context(rc(cjk=any(ord(ch) >= 0x2E80 for n in names for ch in n))):
        fig = new_figure(6.2 * len(panels), 6.4)
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
        res.paths = save(fig, out_dir, res.name)
    res.caption = (f"{'/'.join(sorted(set(methods)))} map of a seeded sample of concepts present in every "
                   f"language: word images (dots) and gallery words (stars), coloured by language. In a "
                   f"language-agnostic space the colours mix within each concept; language-centre "
                   f"distances (lower = languages overlap) and R/D are computed on the whole split.")
    return res


def map_panels(store: RunStore, jobs: pd.DataFrame, adapters: list[dict], split: str) -> list[MapPanel]:
    """The featured model (itself if present, else the best of its variants) and the best embedding
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
    cards = presented_cards(geo["adapter"], adapters)
    featured = geo["adapter"].map(lambda a: is_featured(cards[a]))
    model_first = geo["adapter"].map(lambda a: cards[a].get("variant_of") is not None)
    choices = ((geo[featured].assign(_variant=model_first[featured]).sort_values("_variant", kind="stable"), "ours"),
               (geo[~featured & (geo["group"] == BASELINE_GROUP)], "best embedding baseline"))
    panels = []
    for cands, what in choices:
        for _, row in cands.iterrows():
            sample = store.read_embedding_sample(row["adapter"], split)
            if sample is not None and len(sample.get("embeddings", [])) >= 3:
                panels.append(MapPanel(row["adapter"], f"{row['method']} ({what})", sample,
                                       records.get(row["adapter"], {})))
                break
    return panels
