"""Embedding geometry of a shared space (the paper's Table 4 and Figure 4).

Definitions (section 4.4 of the paper; what it leaves open is fixed here and stated):
- Points are the L2-normalized embeddings of every query image and every gallery word of a split,
  all languages and both modalities together, grouped by semantic_id ("class").
- Distance is Euclidean on the unit sphere (||a - b||, in [0, 2]); the paper does not name it.
- A class centre is the mean of its points (not re-normalized), so a tight class has a centre of
  norm near 1 and a scattered one a shorter centre.
- R, the mean intra-class radius: the mean over classes of the mean distance of the class's points to
  its centre (each class weighs the same, whatever its number of images).
- D, the mean inter-class distance: the mean distance over all pairs of distinct class centres.
- R/D: lower is a tighter, better separated space.
- Language centres: the mean of each language's points (images and words); their pairwise distances
  show how far apart languages sit in the space (Figure 4 prints them).
Only classes with at least two points count for R; every class with a centre counts for D.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from ..vectors import l2_normalize


def class_centres(emb: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unique class ids, centre of each class) from unit-normalized embeddings."""
    emb = l2_normalize(emb, np.float64)
    ids, inv = np.unique(np.asarray(classes), return_inverse=True)
    sums = np.zeros((len(ids), emb.shape[1]))
    np.add.at(sums, inv, emb)
    counts = np.bincount(inv, minlength=len(ids))[:, None]
    return ids, sums / counts


def intra_class_radius(emb: np.ndarray, classes: np.ndarray) -> float:
    """R: mean over classes (with >= 2 points) of the mean distance of points to their centre."""
    emb = l2_normalize(emb, np.float64)
    ids, inv = np.unique(np.asarray(classes), return_inverse=True)
    _, centres = class_centres(emb, classes)
    dist = np.linalg.norm(emb - centres[inv], axis=1)
    counts = np.bincount(inv, minlength=len(ids))
    per_class = np.bincount(inv, weights=dist, minlength=len(ids)) / np.maximum(counts, 1)
    keep = counts >= 2
    return float(per_class[keep].mean()) if keep.any() else float("nan")


def inter_class_distance(emb: np.ndarray, classes: np.ndarray) -> float:
    """D: mean Euclidean distance over all pairs of distinct class centres."""
    _, centres = class_centres(emb, classes)
    n = len(centres)
    if n < 2:
        return float("nan")
    sq = (centres**2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * centres @ centres.T, 0.0)
    iu = np.triu_indices(n, k=1)
    return float(np.sqrt(d2[iu]).mean())


def language_centre_distances(emb: np.ndarray, langs: np.ndarray) -> dict[str, float]:
    """Distance between the centres of each pair of languages, keyed 'en-zh' (sorted codes)."""
    emb = l2_normalize(emb, np.float64)
    langs = np.asarray(langs)
    centres = {l: emb[langs == l].mean(0) for l in sorted(set(langs.tolist()))}
    return {f"{a}-{b}": float(np.linalg.norm(centres[a] - centres[b])) for a, b in combinations(centres, 2)}


def geometry(emb: np.ndarray, classes: np.ndarray, langs: np.ndarray) -> dict[str, object]:
    """R, D, R/D and language-centre distances of one set of embeddings."""
    r = intra_class_radius(emb, classes)
    d = inter_class_distance(emb, classes)
    return {"R": r, "D": d, "R/D": r / d if d and not np.isnan(d) else float("nan"),
            "language_centre_distances": language_centre_distances(emb, langs),
            "n_points": int(len(emb)), "n_classes": int(len(np.unique(classes)))}
