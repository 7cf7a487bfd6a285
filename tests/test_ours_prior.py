"""The reading rows' unigram word prior (ours/prior.py), its tuning (ours/tune_prior.py) and its use in ours-read."""
import gzip

import numpy as np
import pytest

from ours import prior
from ours.tune_prior import LAMBDAS, choose, sweep, top1

torch = pytest.importorskip("torch")

from tests.test_ours_reading import _reader_on_noise, reader_checkpoint  # noqa: E402,F401


def _write_table(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(f"{w}\t{f}\n" for w, f in rows)


@pytest.fixture()
def tables(tmp_path, monkeypatch):
    """A private table folder, caches cleared before and after."""
    monkeypatch.setattr(prior, "TABLES", tmp_path)
    prior.load_table.cache_clear(), prior.tables_digest.cache_clear()
    yield tmp_path
    prior.load_table.cache_clear(), prior.tables_digest.cache_clear()


def test_lookup_drops_case_and_the_punctuation_around_a_word():
    assert prior.key("Said.") == "said" and prior.key("(the") == "the" and prior.key("don't") == "don't"
    assert prior.key("\u201cWell,\u201d") == "well" and prior.key("世界。") == "世界"


def test_shipped_tables_rank_common_words_first_and_floor_the_rest():
    en = prior.load_table("en")
    assert len(en) > 20_000 and next(iter(en)) == "the"  # most frequent first
    assert min(en.values()) > prior.FLOOR  # the floor sits below every listed word
    lp = prior.log_prior(["of", "Off", "inn", "qzxv", "1914,"], "en")
    assert lp[0] > lp[1] > lp[2] > lp[3] == np.log(prior.FLOOR) == lp[4]
    zh = prior.log_prior(["三", "世界", "亿"], "zh")
    assert np.all(zh > np.log(prior.FLOOR))  # Chinese is looked up as written (simplified)
    assert np.array_equal(prior.log_prior(["a", "b"], "fr"), np.zeros(2))  # no table: no prior


def test_tables_load_from_their_folder_and_the_digest_follows_their_content(tables):
    _write_table(tables / "en.tsv.gz", [("of", 0.03), ("off", 0.001)])
    first = prior.tables_digest()
    assert prior.load_table("en") == {"of": 0.03, "off": 0.001}
    assert prior.log_prior(["OF", "zz"], "en") == pytest.approx([np.log(0.03), np.log(prior.FLOOR)])
    _write_table(tables / "en.tsv.gz", [("of", 0.03), ("off", 0.002)])
    prior.tables_digest.cache_clear()
    assert prior.tables_digest() != first


def test_build_writes_identical_bytes_from_the_same_lists(tmp_path, tables):
    pytest.importorskip("wordfreq")
    sizes = prior.build(tmp_path / "a")
    prior.build(tmp_path / "b")
    for lang in prior.LANGS:
        assert (tmp_path / "a" / f"{lang}.tsv.gz").read_bytes() == (tmp_path / "b" / f"{lang}.tsv.gz").read_bytes()
        assert sizes[lang] > 20_000


def test_the_prior_turns_a_near_tie_to_the_common_word():
    """The reader's commonest real-English slip: ``off`` for ``of``, by a hair of fused score."""
    fused = np.array([[-0.50, -0.45]])  # "of" written, "off" slightly preferred
    words = ["of", "off"]
    gap = prior.log_prior(words, "en") @ np.array([1.0, -1.0])  # ln f(of) - ln f(off), about 3.4
    assert gap > 1.0
    acc = sweep(fused, prior.log_prior(words, "en"), np.array([0]), lambdas=(0.0, 0.2))
    assert acc == {0.0: 0.0, 0.2: 1.0} and 0.2 * gap > 0.05


def test_choose_takes_the_smallest_lambda_within_a_point_of_the_best():
    assert choose({0.0: 0.50, 0.2: 0.60, 0.5: 0.655, 0.75: 0.66}) == 0.5
    assert choose({0.0: 0.799, 0.1: 0.805, 0.3: 0.81}) == 0.1  # more than a point below the best: out
    assert choose({0.0: 0.80, 0.1: 0.805, 0.3: 0.81}) == 0.0  # exactly a point below: within
    assert choose({0.0: 0.7, 0.5: 0.6}) == 0.0
    assert top1(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0, 1])) == 0.5  # a tie counts against


def test_ours_read_adds_the_prior_within_language_only(reader_checkpoint):
    from adapters.ours import OursRead

    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "en", 4, 3)
    ad.prior_weights = {}  # the fused scores alone first
    plain, cross = ad.similarity(out, gal, words, "en", "en"), ad.similarity(out, gal, words, "en", "zh")
    settings = ad.output_settings()
    ad.prior_weights = {"en": 0.5}
    with_prior = ad.similarity(out, gal, words, "en", "en")
    assert np.allclose(with_prior, plain + 0.5 * prior.log_prior(words, "en")[None, :], atol=1e-5)
    assert np.array_equal(ad.similarity(out, gal, words, "en", "zh"), cross)  # cross-language: cosine only
    assert ad.output_settings()["prior_tables"] == prior.tables_digest() and "prior_tables" not in settings
    assert ad.run_notes()["word_prior"]["weights"] == {"en": 0.5}


def test_the_prior_sweep_ranks_exactly_as_the_adapter_does(reader_checkpoint, tables):
    from ours.reading import fuse

    # the noise images' fused favourite is also the commonest word in wordfreq; this table makes a
    # less favoured word common, so that the prior does move the ranking
    _write_table(tables / "en.tsv.gz", [("water", 0.5), ("book", 0.01), ("dog", 0.001)])
    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "en", 12, 4)
    cos, logp, lengths = ad.reading_parts(out, gal, words)
    fused = fuse(cos, logp, ad.scale, ad.weights["en"], lengths, ad.length_bonus["en"])
    seen = set()
    for lam in LAMBDAS:
        ad.prior_weights = {"en": lam}
        ranked = ad.similarity(out, gal, words, "en", "en").argmax(1)
        seen.add(tuple(ranked))
        for target in range(len(words)):
            t = np.full(len(out), target)
            assert sweep(fused, prior.log_prior(words, "en"), t, (lam,))[lam] == float((ranked == t).mean())
    assert len(seen) > 1  # the prior does change the ranking here, so the check can fail
