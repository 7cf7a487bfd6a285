"""Metrics and ranking on hand-computed cases."""
import itertools
import math

import numpy as np
import pytest

from bench.scoring.metrics import (accuracy_at_k, hits_at_k, mean_reciprocal_rank, normalized_edit_similarity, pool,
                           reciprocal_ranks, summarize)
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
    r = rank_targets(scores, np.array([0, 0]), k=5)
    ranks, topk = r.pessimistic, r.topk
    assert ranks.tolist() == [2, 1]
    assert topk.shape == (2, 2)
    assert accuracy_at_k(ranks, 5) == 1.0
    assert accuracy_at_k(ranks, 1) == 0.5


def test_tie_counts_and_topk_are_consistent():
    # target 2 ties with candidates 0 and 1: two tied, none better; shown after both (or first)
    scores = np.array([[0.5, 0.5, 0.5, 0.1]])
    r = rank_targets(scores, np.array([2]), k=3)
    assert r.better.tolist() == [0] and r.tied.tolist() == [2]
    assert r.pessimistic.tolist() == [3] and r.optimistic.tolist() == [1]
    assert r.topk.tolist() == [[0, 1, 2]]
    assert rank_targets(scores, np.array([2]), k=3, target_first=True).topk.tolist() == [[2, 0, 1]]
    # a strictly better target is first, and the rest keep gallery order among ties
    r = rank_targets(np.array([[0.2, 0.2, 0.9]]), np.array([2]), k=3)
    assert r.better.tolist() == [0] and r.tied.tolist() == [0] and r.topk.tolist() == [[2, 0, 1]]
    # two strictly better, target tied with one other: rank 3 or 4
    r = rank_targets(np.array([[0.9, 0.3, 0.8, 0.3, 0.1]]), np.array([3]), k=5)
    assert (r.better.tolist(), r.tied.tolist()) == ([2], [1])
    assert r.topk.tolist() == [[0, 2, 1, 3, 4]]


def test_nan_scores_count_as_lowest():
    r = rank_targets(np.array([[np.nan, 0.2, np.nan], [np.nan, 0.2, 0.1]]), np.array([1, 0]), k=3)
    assert r.better.tolist() == [0, 2] and r.tied.tolist() == [0, 0]


def test_tie_rules_by_hand():
    # query 1: none better, tied with 2 others (positions 1..3); query 2: 2 better, tied with 3 (3..6)
    better, tied = [0, 2], [2, 3]
    assert hits_at_k(better, tied, 1, "pessimistic").tolist() == [0, 0]
    assert hits_at_k(better, tied, 1, "optimistic").tolist() == [1, 0]
    assert hits_at_k(better, tied, 1, "expected").tolist() == pytest.approx([1 / 3, 0])
    assert hits_at_k(better, tied, 3, "expected").tolist() == pytest.approx([1, 1 / 4])
    assert hits_at_k(better, tied, 5, "expected").tolist() == pytest.approx([1, 3 / 4])
    assert hits_at_k(better, tied, 5, "pessimistic").tolist() == [1, 0]
    assert reciprocal_ranks(better, tied, "expected").tolist() == pytest.approx(
        [(1 + 1 / 2 + 1 / 3) / 3, (1 / 3 + 1 / 4 + 1 / 5 + 1 / 6) / 4])
    assert reciprocal_ranks(better, tied, "pessimistic").tolist() == pytest.approx([1 / 3, 1 / 6])
    assert reciprocal_ranks(better, tied, "optimistic").tolist() == pytest.approx([1, 1 / 3])
    m = summarize([1, 3], ["a", "b"], ["a", "b"], tied=tied, ties="expected")
    assert m["acc@1"] == pytest.approx(1 / 6) and m["acc@3"] == pytest.approx(5 / 8)
    with pytest.raises(ValueError):
        hits_at_k(better, tied, 1, "random")


def test_expected_rule_equals_mean_over_every_tie_order():
    """Brute force: rank the gallery under every order of the tied candidates and average."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        g = int(rng.integers(2, 7))
        scores = rng.integers(0, 3, size=(1, g)).astype(float)  # few values: many ties
        target = int(rng.integers(0, g))
        r = rank_targets(scores, np.array([target]), k=g)
        tied_idx = [j for j in range(g) if scores[0, j] == scores[0, target]]
        better = int((scores[0] > scores[0, target]).sum())
        ranks = [better + 1 + list(p).index(target) for p in itertools.permutations(tied_idx)]
        for k in (1, 2, 3):
            assert hits_at_k(r.better, r.tied, k, "expected")[0] == pytest.approx(np.mean([x <= k for x in ranks]))
        assert reciprocal_ranks(r.better, r.tied, "expected")[0] == pytest.approx(np.mean([1 / x for x in ranks]))
        assert hits_at_k(r.better, r.tied, 1, "pessimistic")[0] == (max(ranks) == 1)
        assert hits_at_k(r.better, r.tied, 1, "optimistic")[0] == (min(ranks) == 1)


def test_empty_transcription_ranks_target_last():
    gallery = ["dog", "cat", "fish"]
    scores = nes_matrix([""], gallery)
    assert scores.tolist() == [[0.0, 0.0, 0.0]]
    r = rank_targets(scores, np.array([0]), k=5)
    assert r.pessimistic.tolist() == [3] and r.tied.tolist() == [2]
    assert summarize(r.optimistic, [""], ["dog"], tied=r.tied, ties="expected")["acc@1"] == pytest.approx(1 / 3)


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
