"""Retrieval metrics of the paper (eqs. 9-11), as plain numpy on ranks.

A rank is 1-based: rank 1 means the target is the first retrieved gallery item.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

DEFAULT_KS: tuple[int, ...] = (1, 3, 5)


def _as_ranks(ranks: Iterable[int]) -> np.ndarray:
    r = np.asarray(list(ranks) if not isinstance(ranks, np.ndarray) else ranks, dtype=np.int64)
    if r.size and r.min() < 1:
        raise ValueError("ranks are 1-based")
    return r


def accuracy_at_k(ranks: Iterable[int], k: int) -> float:
    """Acc@K: fraction of queries whose target is within the first K (K may exceed the gallery)."""
    r = _as_ranks(ranks)
    return float(np.mean(r <= k)) if r.size else float("nan")


def mean_reciprocal_rank(ranks: Iterable[int]) -> float:
    """MRR: mean of 1/rank."""
    r = _as_ranks(ranks)
    return float(np.mean(1.0 / r)) if r.size else float("nan")


def edit_similarity(pred: str, target: str) -> float:
    """1 - Lev(pred, target) / max(|pred|, |target|); two empty strings count as identical."""
    return float(Levenshtein.normalized_similarity(pred, target))


def normalized_edit_similarity(preds: Sequence[str], targets: Sequence[str]) -> float:
    """NES (eq. 11): mean edit similarity between predictions and targets."""
    if len(preds) != len(targets):
        raise ValueError("preds and targets differ in length")
    if not preds:
        return float("nan")
    return float(np.mean([edit_similarity(p, t) for p, t in zip(preds, targets)]))


def summarize(ranks: Sequence[int], preds: Sequence[str], targets: Sequence[str],
              ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """All metrics of one job: Acc@K for each K, MRR, NES, and the query count."""
    out: dict[str, float] = {f"acc@{k}": accuracy_at_k(ranks, k) for k in ks}
    out["mrr"] = mean_reciprocal_rank(ranks)
    out["nes"] = normalized_edit_similarity(list(preds), list(targets))
    out["n"] = int(len(ranks))
    return out


def pool(summaries: Sequence[dict[str, float]]) -> dict[str, float]:
    """Micro-average several jobs' summaries (weights = query counts), as if pooled."""
    total = sum(int(s.get("n", 0)) for s in summaries)
    if total == 0:
        return {"n": 0}
    keys = [k for k in summaries[0] if k != "n"]
    out = {k: float(sum(s[k] * s["n"] for s in summaries if s.get("n")) / total) for k in keys}
    out["n"] = total
    return out
