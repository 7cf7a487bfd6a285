"""Scores and ranks: query-by-gallery similarity matrices and the rank of each target.

Two scoring kinds: NES between a transcription and each gallery word (transcribers), and cosine
between embeddings (embedding models). Ties are broken pessimistically and deterministically:
the target is placed after every other candidate with an equal score; other tied candidates keep
gallery order. So an empty transcription (NES 0 against every word) ranks its target last, and a
model never gains from the order in which a gallery happens to be listed.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .textnorm import normalize_all

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
    q = np.asarray(queries, dtype=np.float32)
    g = np.asarray(gallery, dtype=np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return q @ g.T


def rank_targets(scores: np.ndarray, targets: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """1-based rank of each target and the top-k gallery indices, consistent with each other.

    rank = 1 + #(score > target score) + #(score == target score, other candidates).
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets, dtype=np.int64)
    n, g = scores.shape
    ranks = np.empty(n, dtype=np.int64)
    kk = min(k, g)
    topk = np.full((n, kk), -1, dtype=np.int64)
    for start in range(0, n, CHUNK):
        s = scores[start:start + CHUNK]
        t = targets[start:start + CHUNK]
        ts = s[np.arange(len(s)), t][:, None]
        r = (s >= ts).sum(axis=1)  # counts the target itself once, so this is already 1-based
        ranks[start:start + CHUNK] = r
        order = np.argsort(-s, axis=1, kind="stable")[:, : kk + 1]
        for i in range(len(s)):
            row = [j for j in order[i] if j != t[i]][:kk]
            if r[i] <= kk:
                row.insert(int(r[i]) - 1, int(t[i]))
            topk[start + i] = row[:kk]
    return ranks, topk
