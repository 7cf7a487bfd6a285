"""Scores and ranks: query-by-gallery similarity matrices and where each target lands.

Two scoring kinds: NES between a transcription and each gallery word (transcribers), and cosine
between embeddings (embedding models). A target's place is stored as two counts, candidates scored
strictly higher (``better``) and other candidates with exactly its score (``tied``), so any tie rule
of ``bench.scoring.metrics`` can be applied to them, then or later. The top-k list shown per query is one
deterministic order: the target after its tied candidates (before them under the optimistic rule),
other tied candidates in gallery order, so no model gains from the order a gallery is listed in.
NaN scores count as the lowest score.

The package holds the rest of scoring: the tasks of a split (``protocols``), the metrics on ranks
(``metrics``) and the embedding-space geometry of Table 4 (``geometry``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ..textnorm import normalize_all
from ..vectors import l2_normalize

CHUNK = 2048


def nes_matrix(preds: Sequence[str], gallery: Sequence[str], strict: bool = False) -> np.ndarray:
    """Normalized edit similarity of every (prediction, gallery word), both sides normalized."""
    p = normalize_all(preds, strict)
    g = normalize_all(gallery, strict)
    if not p or not g:
        return np.zeros((len(p), len(g)), dtype=np.float32)
    return process.cdist(p, g, scorer=Levenshtein.normalized_similarity, dtype=np.float32, workers=1)


def cosine_matrix(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Cosine similarity; inputs are re-normalized so adapters cannot skew it."""
    return l2_normalize(queries) @ l2_normalize(gallery).T


@dataclass
class Ranking:
    """Where each query's target lands: counts for the tie rules, and a top-k list to show."""

    better: np.ndarray  # candidates scored strictly higher than the target
    tied: np.ndarray  # other candidates scored exactly as the target
    topk: np.ndarray  # top-k gallery indices (target placed after its ties, or before if target_first)

    @property
    def pessimistic(self) -> np.ndarray:
        """1-based rank with ties broken against the target (the rule of the first stored runs)."""
        return self.better + self.tied + 1

    @property
    def optimistic(self) -> np.ndarray:
        """1-based rank with ties broken in the target's favour."""
        return self.better + 1


def rank_targets(scores: np.ndarray, targets: np.ndarray, k: int = 5, target_first: bool = False) -> Ranking:
    """Tie counts of each target and a top-k list consistent with them.

    ``target_first`` places the target before its tied candidates in the top-k list (the
    optimistic rule); otherwise after them.
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets, dtype=np.int64)
    n, g = scores.shape
    better = np.empty(n, dtype=np.int64)
    tied = np.empty(n, dtype=np.int64)
    kk = min(k, g)
    topk = np.full((n, kk), -1, dtype=np.int64)
    for start in range(0, n, CHUNK):
        s = scores[start:start + CHUNK]
        s = np.where(np.isnan(s), -np.inf, s) if np.issubdtype(s.dtype, np.floating) else s
        t = targets[start:start + CHUNK]
        ts = s[np.arange(len(s)), t][:, None]
        b = (s > ts).sum(axis=1)
        e = (s == ts).sum(axis=1) - 1  # the target equals itself
        better[start:start + CHUNK] = b
        tied[start:start + CHUNK] = e
        pos = b if target_first else b + e  # 0-based position of the target in the shown order
        order = np.argsort(-s, axis=1, kind="stable")[:, : kk + 1]
        for i in range(len(s)):
            row = [j for j in order[i] if j != t[i]][:kk]
            if pos[i] < kk:
                row.insert(int(pos[i]), int(t[i]))
            topk[start + i] = row[:kk]
    return Ranking(better, tied, topk)
