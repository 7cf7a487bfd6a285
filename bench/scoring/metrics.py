"""Retrieval metrics of the paper (eqs. 9-11), as plain numpy on ranks.

A rank is 1-based: rank 1 means the target is the first retrieved gallery item. When the target's
score ties with other candidates, where it lands among them is a rule, and the rule moves numbers
(an OCR engine's one-character Chinese reading ties with every word sharing the character). Each
query is then described by ``better`` (candidates scored strictly higher) and ``tied`` (other
candidates with exactly the target's score), and a rule turns those into Acc@K and reciprocal rank:

- ``expected`` (the default): the expected value over all orders of the tied candidates (McSherry
  and Najork, ECIR 2008). The target is equally likely at each position better+1 .. better+tied+1,
  so E[hit@K] = clip(K - better, 0, tied+1) / (tied+1) and E[1/rank] = (H(better+tied+1) -
  H(better)) / (tied+1), with H the harmonic numbers.
- ``pessimistic``: the target after every tied candidate (rank better+tied+1).
- ``optimistic``: the target before every tied candidate (rank better+1).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

DEFAULT_KS: tuple[int, ...] = (1, 3, 5)
TIE_RULES: tuple[str, ...] = ("expected", "pessimistic", "optimistic")
DEFAULT_TIES = "expected"
LEGACY_TIES = "pessimistic"  # the rule of runs stored before the rule was recorded


def _as_ranks(ranks: Iterable[int]) -> np.ndarray:
    r = np.asarray(list(ranks) if not isinstance(ranks, np.ndarray) else ranks, dtype=np.int64)
    if r.size and r.min() < 1:
        raise ValueError("ranks are 1-based")
    return r


def _as_counts(better: Iterable[int], tied: Iterable[int] | None) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(list(better) if not isinstance(better, np.ndarray) else better, dtype=np.int64)
    t = np.zeros_like(b) if tied is None else np.asarray(
        list(tied) if not isinstance(tied, np.ndarray) else tied, dtype=np.int64)
    if b.shape != t.shape:
        raise ValueError("better and tied differ in length")
    if b.size and (b.min() < 0 or t.min() < 0):
        raise ValueError("better and tied are counts (>= 0)")
    return b, t


def check_rule(ties: str) -> str:
    if ties not in TIE_RULES:
        raise ValueError(f"unknown tie rule {ties!r} (use {', '.join(TIE_RULES)})")
    return ties


def accuracy_at_k(ranks: Iterable[int], k: int) -> float:
    """Acc@K: fraction of queries whose target is within the first K (K may exceed the gallery)."""
    r = _as_ranks(ranks)
    return float(np.mean(r <= k)) if r.size else float("nan")


def mean_reciprocal_rank(ranks: Iterable[int]) -> float:
    """MRR: mean of 1/rank."""
    r = _as_ranks(ranks)
    return float(np.mean(1.0 / r)) if r.size else float("nan")


def hits_at_k(better: Iterable[int], tied: Iterable[int] | None, k: int, ties: str = DEFAULT_TIES) -> np.ndarray:
    """Per query, the (expected) indicator that the target is within the first K under ``ties``."""
    b, t = _as_counts(better, tied)
    rule = check_rule(ties)
    if rule == "pessimistic":
        return (b + t + 1 <= k).astype(np.float64)
    if rule == "optimistic":
        return (b + 1 <= k).astype(np.float64)
    return np.clip(k - b, 0, t + 1) / (t + 1.0)


def _harmonic(n: np.ndarray) -> np.ndarray:
    """H(n) = sum_{i=1..n} 1/i for integer n >= 0 (H(0) = 0), exact by cumulative sum."""
    top = int(n.max()) if n.size else 0
    table = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, top + 1, dtype=np.float64))])
    return table[n]


def reciprocal_ranks(better: Iterable[int], tied: Iterable[int] | None, ties: str = DEFAULT_TIES) -> np.ndarray:
    """Per query, the (expected) reciprocal rank of the target under ``ties``."""
    b, t = _as_counts(better, tied)
    rule = check_rule(ties)
    if rule == "pessimistic":
        return 1.0 / (b + t + 1)
    if rule == "optimistic":
        return 1.0 / (b + 1)
    return (_harmonic(b + t + 1) - _harmonic(b)) / (t + 1.0)


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
              ks: Sequence[int] = DEFAULT_KS, tied: Sequence[int] | None = None,
              ties: str = DEFAULT_TIES) -> dict[str, float]:
    """All metrics of one job: Acc@K for each K, MRR, NES, and the query count.

    ``ranks`` are 1-based counting only strictly better candidates (1 + better); ``tied`` the other
    candidates with the target's score (None: no ties, and every rule gives the same numbers).
    """
    better = _as_ranks(ranks) - 1
    out: dict[str, float] = {}
    for k in ks:
        h = hits_at_k(better, tied, k, ties)
        out[f"acc@{k}"] = float(np.mean(h)) if h.size else float("nan")
    rr = reciprocal_ranks(better, tied, ties)
    out["mrr"] = float(np.mean(rr)) if rr.size else float("nan")
    out["nes"] = normalized_edit_similarity(list(preds), list(targets))
    out["n"] = int(len(better))
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
