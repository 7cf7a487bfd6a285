"""Metrics and ranking on hand-computed cases."""
import math

import numpy as np
import pytest

from bench.metrics import accuracy_at_k, mean_reciprocal_rank, normalized_edit_similarity, pool, summarize
from bench.scoring import cosine_matrix, nes_matrix, rank_targets
from bench.textnorm import normalize


def test_accuracy_and_mrr_by_hand():
    ranks = [1, 2, 4, 10]
    assert accuracy_at_k(ranks, 1) == 0.25
    assert accuracy_at_k(ranks, 3) == 0.5
    assert accuracy_at_k(ranks, 5) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0.25 + 0.1) / 4)


def test_k_larger_than_gallery_counts_every_query():
    # gallery of 2: every rank is <= 2, so Acc@5 is 1 whatever happened
    scores = np.array([[0.1, 0.9], [0.9, 0.1]])
    ranks, topk = rank_targets(scores, np.array([0, 0]), k=5)
    assert ranks.tolist() == [2, 1]
    assert topk.shape == (2, 2)
    assert accuracy_at_k(ranks, 5) == 1.0
    assert accuracy_at_k(ranks, 1) == 0.5


def test_ties_are_pessimistic_and_consistent_with_topk():
    # target 2 ties with candidates 0 and 1: it is placed after both
    scores = np.array([[0.5, 0.5, 0.5, 0.1]])
    ranks, topk = rank_targets(scores, np.array([2]), k=3)
    assert ranks.tolist() == [3]
    assert topk.tolist() == [[0, 1, 2]]
    # a strictly better target is first, and the rest keep gallery order among ties
    ranks, topk = rank_targets(np.array([[0.2, 0.2, 0.9]]), np.array([2]), k=3)
    assert ranks.tolist() == [1] and topk.tolist() == [[2, 0, 1]]


def test_empty_transcription_ranks_target_last():
    gallery = ["dog", "cat", "fish"]
    scores = nes_matrix([""], gallery)
    assert scores.tolist() == [[0.0, 0.0, 0.0]]
    ranks, _ = rank_targets(scores, np.array([0]), k=5)
    assert ranks.tolist() == [3]


def test_nes_by_hand():
    # Lev(dgo, dog) = 2 over max len 3 -> 1/3; identical -> 1; empty vs word -> 0
    assert normalized_edit_similarity(["dgo", "dog", ""], ["dog", "dog", "dog"]) == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert normalized_edit_similarity([""], [""]) == 1.0


def test_nes_matrix_normalizes_both_sides():
    s = nes_matrix(["¿PERRO?"], ["perro", "Perra"])
    assert s[0, 0] == pytest.approx(1.0)
    assert s[0, 1] == pytest.approx(0.8)
    strict = nes_matrix(["¿PERRO?"], ["perro"], strict=True)
    assert strict[0, 0] < 0.5


def test_cosine_matrix_renormalizes():
    q = np.array([[2.0, 0.0]])
    g = np.array([[1.0, 0.0], [0.0, 3.0]])
    assert cosine_matrix(q, g).tolist() == [[1.0, 0.0]]


def test_summarize_and_pool():
    a = summarize([1, 3], ["dog", "x"], ["dog", "cat"])
    b = summarize([1], ["fish"], ["fish"])
    assert a["n"] == 2 and a["acc@1"] == 0.5 and a["acc@3"] == 1.0
    p = pool([a, b])
    assert p["n"] == 3
    assert p["acc@1"] == pytest.approx(2 / 3)
    assert p["mrr"] == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert math.isnan(summarize([], [], [])["mrr"])


@pytest.mark.parametrize("raw,norm", [
    ("¿Perro?", "perro"), ("DOG.", "dog"), ("  árbol ", "árbol"), ("a\u0301rbol", "árbol"),
    ("«Corazón»", "corazón"), ("狗。", "狗"), ("o'clock", "o'clock"), ("", ""),
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


def test_accents_are_kept():
    assert normalize("año") != normalize("ano")
