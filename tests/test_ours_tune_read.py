"""Choosing ours-read's fusion weight: the objective on a hand-made sweep, and the rendered tuning
queries (in-domain writers, deterministic, words in no split)."""
from ours.tune_read import LangSweep, grid, render_tune_queries, tune_words


def test_the_weight_balances_lexicon_queries_and_unseen_words():
    s = LangSweep("en", 4, 4, acc_id={(0.0, 0.0): 0.9, (0.5, 0.0): 0.85, (1.0, 0.0): 0.5},
                  acc_tune={(0.0, 0.0): 0.1, (0.5, 0.0): 0.75, (1.0, 0.0): 0.9})
    assert s.score((0.5, 0.0)) == 0.8 and s.best() == (0.5, 0.0)  # not 0.0, the best on lexicon words alone
    tie = LangSweep("en", 1, 1, acc_id={(0.2, 0.0): 0.5, (0.4, 0.0): 0.6}, acc_tune={(0.2, 0.0): 0.6, (0.4, 0.0): 0.5})
    assert tie.best() == (0.2, 0.0)  # a tie keeps the smaller weight


def test_the_bonus_is_chosen_with_the_weight_and_a_tie_keeps_the_smaller():
    acc_id = {(0.5, 0.0): 0.9, (0.5, 1.0): 0.9, (0.5, 2.0): 0.9, (0.7, 1.0): 0.8}
    acc_tune = {(0.5, 0.0): 0.6, (0.5, 1.0): 0.7, (0.5, 2.0): 0.7, (0.7, 1.0): 0.9}
    s = LangSweep("en", 1, 1, acc_id=acc_id, acc_tune=acc_tune)
    assert s.best() == (0.7, 1.0)  # the pair, not the best bonus at a fixed weight
    del acc_id[0.7, 1.0], acc_tune[0.7, 1.0]
    assert s.best() == (0.5, 1.0)  # equal scores at bonus 1 and 2: the smaller bonus


def test_the_grid_has_one_cosine_point_and_every_bonus_at_each_weight():
    g = grid((0.0, 0.5, 1.0), (0.0, 1.5))
    assert g == [(0.0, 0.0), (0.5, 0.0), (0.5, 1.5), (1.0, 0.0), (1.0, 1.5)]


def test_tuning_queries_are_rendered_by_in_domain_writers_deterministically():
    words = tune_words("es")[:3] + ["qqqq\u00e6"]  # the last is drawable by no writer: left out
    a, kept = render_tune_queries("es", words)
    b, _ = render_tune_queries("es", words)
    assert kept == words[:3] and [im.tobytes() for im in a] == [im.tobytes() for im in b]
    assert all(im.mode == "L" and im.width > im.height for im in a)
