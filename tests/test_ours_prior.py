"""The reading rows' unigram word prior (ours/prior.py) and its tuning (ours/tune_prior.py); its use in
``ours-read`` is tested in tests/test_ours_reading.py, beside the reader."""
import gzip

import numpy as np
import pytest

from ours import prior
from ours.tune_prior import LAMBDAS, choose, sweep, top1


def _write_table(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(f"{w}\t{f}\n" for w, f in rows)


@pytest.fixture()
def tables(tmp_path, monkeypatch):
    """A private table folder, caches cleared before and after."""
    monkeypatch.setattr(prior, "TABLES", tmp_path)
    prior.clear_cache()
    yield tmp_path
    prior.clear_cache()


def test_lookup_takes_the_harness_comparison_form_and_smashes_numbers_as_wordfreq_does():
    assert prior.key("Said.") == "said" and prior.key("(the") == "the" and prior.key("don\u2019t") == "don't"
    assert prior.key("\u201cWell,\u201d") == "well" and prior.key("世界。") == "世界"
    assert prior.key("¿Qué?") == "qué" and prior.key("e\u0301l") == "él"  # Spanish marks, NFC
    assert prior.key("1914,") == "0000" and prior.key("4.13") == "0.00" and prior.key("5") == "5"


def test_shipped_tables_rank_common_words_first_and_floor_the_rest():
    en = prior.load_table("en")
    assert len(en) > 20_000 and next(iter(en)) == "the"  # most frequent first
    assert min(en.values()) > prior.FLOOR  # the floor sits below every listed word
    lp = prior.log_prior(["of", "Off", "inn", "qzxv", "1914,"], "en")
    assert lp[0] > lp[1] > lp[2] > lp[3] == np.log(prior.FLOOR)
    assert lp[4] == pytest.approx(np.log(en["0000"] * prior.number_share("1914")))  # a year's share of 0000
    zh = prior.log_prior(["三", "世界", "亿"], "zh")
    assert np.all(zh > np.log(prior.FLOOR))  # Chinese is looked up as written (simplified)
    assert np.array_equal(prior.log_prior(["a", "b"], "fr"), np.zeros(2))  # no table: no prior


def test_frequencies_are_wordfreqs_own_numbers_included():
    """The shipped table plus the number model give what ``wordfreq.word_frequency`` gives (the same
    list), down to the floor: a year, a two-digit number, an ordinal, a decimal, words and case."""
    wordfreq = pytest.importorskip("wordfreq")
    words = ["1914", "29", "2025", "12th", "4.13", "Said.", "of", "mundo"]
    langs = ["en"] * 7 + ["es"]
    ours = [float(np.exp(prior.log_prior([w], lang)[0])) for w, lang in zip(words, langs)]
    theirs = [max(wordfreq.word_frequency(w, lang, "small"), prior.FLOOR) for w, lang in zip(words, langs)]
    assert ours == pytest.approx(theirs, rel=5e-3)  # wordfreq rounds to 3 significant digits
    assert prior.number_share("1914") < prior.number_share("2025") < 1.0 == prior.number_share("of")


def test_tables_load_from_their_folder_and_the_digest_follows_their_content(tables):
    _write_table(tables / "en.tsv.gz", [("of", 0.03), ("off", 0.001)])
    first = prior.tables_digest()
    assert prior.load_table("en") == {"of": 0.03, "off": 0.001}
    assert prior.log_prior(["OF", "zz"], "en") == pytest.approx([np.log(0.03), np.log(prior.FLOOR)])
    _write_table(tables / "en.tsv.gz", [("of", 0.03), ("off", 0.002)])
    prior.clear_cache()  # the rewrite may fall in the same clock tick; a new mtime alone also refreshes
    assert prior.load_table("en")["off"] == 0.002 and prior.tables_digest() != first
    _write_table(tables / "xx.tsv.gz", [("a", 0.5)])  # every table in the folder is part of the identity
    prior.clear_cache()
    assert prior.tables_digest() != first


def test_build_rewrites_the_shipped_tables(tmp_path):
    """The same lists give the same table text (compared decompressed: another zlib may pack it differently)."""
    shipped = prior.TABLES
    pytest.importorskip("wordfreq")
    sizes = prior.build(tmp_path)
    for lang in prior.LANGS:
        got = gzip.decompress((tmp_path / f"{lang}.tsv.gz").read_bytes())
        assert got == gzip.decompress((shipped / f"{lang}.tsv.gz").read_bytes())
        assert sizes[lang] > 20_000 and got.count(b"\n") == sizes[lang]


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
    # a target tied with one other word counts half, as the stored runs' default (expected) tie rule does
    assert top1(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0, 1])) == 0.75
