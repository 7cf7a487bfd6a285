"""Reading words with the CTC head (ours/reading.py) and the ours-read adapter through the harness."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from bench.cli import main  # noqa: E402
from ours.reading import (compact, encode_targets, expand, fuse, label_lengths, min_frames,  # noqa: E402
                          word_logprobs)
from tests.helpers import lexicon_frame  # noqa: E402

# Two columns over classes (blank, a, b): every alignment can be enumerated by hand.
PROBS = np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])


def test_ctc_word_probability_matches_the_hand_computed_alignments():
    lp = np.log(PROBS).astype(np.float32)
    got = word_logprobs(lp, ["a", "b", "ab", "ba", "aa", "a'", "ac", "a1"], "ab")
    # "a": (a,-) + (-,a) + (a,a) = .5*.4 + .2*.4 + .5*.4 = 0.48
    # "b": (b,-) + (-,b) + (b,b) = .3*.4 + .2*.2 + .3*.2 = 0.22
    # "ab": (a,b) = .5*.2 = 0.10; "ba": (b,a) = .3*.4 = 0.12
    # "aa" needs a blank between the repeats: 3 columns, the image has 2 -> impossible
    # "a'": an apostrophe the head was never taught is a mark left out of the label at no cost
    # "ac", "a1": a letter or a digit outside the charset: a word it cannot spell, no opinion (NaN)
    want = [math.log(0.48), math.log(0.22), math.log(0.10), math.log(0.12)]
    assert np.isnan(word_logprobs(lp, ["cc"], "ab")[0])  # no character it can spell: no opinion
    assert np.allclose(got[:4], want, atol=1e-5)
    assert got[4] == -math.inf
    assert got[5] == pytest.approx(math.log(0.48), abs=1e-5)
    assert np.isnan(got[6]) and np.isnan(got[7])
    labels, spellable = encode_targets(["a-b", "4.13", "中a"], "ab")
    assert labels[0] == [1, 2] and spellable.tolist() == [True, False, False]
    assert min_frames([1, 1]) == 3 and min_frames([1, 2]) == 2


def test_compact_keeps_the_top_characters_and_the_mass_of_the_rest():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 5, 12)) * 3
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    packed = compact(lp.astype(np.float32), 4)
    assert packed.shape == (1, 5, 8)
    back = expand(packed[0], 12)
    assert np.allclose(np.exp(back).sum(-1), 1.0, atol=1e-5)  # still a distribution per column
    top = np.argsort(-lp[0], axis=-1)[:, :4]
    assert np.allclose(np.take_along_axis(back, top, -1), np.take_along_axis(lp[0], top, -1), atol=1e-6)
    # with every character kept, nothing is lost
    assert np.allclose(expand(compact(lp.astype(np.float32), 12)[0], 12), lp[0], atol=1e-5)


def test_fusion_lets_the_spelling_decide_between_near_equal_cosines():
    cos = np.array([[0.50, 0.51, 0.10]])
    logp = np.array([[-0.5, -9.0, -np.inf]])
    assert np.argmax(fuse(cos, logp, 20.0, 0.0)) == 1  # cosine alone
    fused = fuse(cos, logp, 20.0, 0.5)
    assert np.argmax(fused) == 0 and np.isfinite(fused).all()  # the word CTC spells wins; -inf stays finite


def test_a_word_the_reader_cannot_spell_is_scored_by_its_cosine_alone():
    # the third word has no character in the charset (NaN): the reader defers to the cosine, so a
    # word the reader was never taught is still found when the image tower knows it (before, a
    # -1e4 penalty made it unreachable at any weight above 0)
    cos = np.array([[0.50, 0.10, 0.62]])
    logp = np.array([[-0.5, -9.0, np.nan]])
    for w in (0.5, 1.0):
        fused = fuse(cos, logp, 20.0, w)
        assert np.isfinite(fused).all() and np.argmax(fused) == 2
    # every word unspellable: the reader's opinion is the cosine's
    only = fuse(cos, np.full((1, 3), np.nan), 20.0, 1.0)
    assert np.isfinite(only).all() and np.argmax(only) == 2


def test_an_unspellable_word_does_not_outrank_a_long_word_the_reader_prefers():
    # a long word's CTC probability is tiny however well it is read (here e^-8 against e^-20 for its
    # rival); set against a cosine probability, an equal-cosine number the head cannot spell used to
    # win every such query (the fault behind most of ours-read's errors on real English)
    cos = np.array([[0.50, 0.30, 0.50]])
    logp = np.array([[-8.0, -20.0, np.nan]])
    for w in (0.3, 0.5, 1.0):
        fused = fuse(cos, logp, 20.0, w)
        assert np.argmax(fused) == 0
    p_read = np.exp(fuse(cos, logp, 20.0, 1.0))
    assert p_read.sum() == pytest.approx(1.0, abs=1e-6)  # the reader's opinion is a distribution
    # the number keeps exactly the probability the image tower gives it
    a = 20.0 * cos[0]
    assert p_read[0, 2] == pytest.approx(np.exp(a[2]) / np.exp(a).sum(), rel=1e-5)


def test_the_cosine_decides_between_the_sets_and_the_reader_within_the_spellable_words():
    # scale 100 (tau 0.01): nearly all cosine mass on the unspellable word 0; the spellable words keep
    # their exact (tiny) share, ordered by the reader, and stay below word 0 and above word 3
    cos = np.array([[0.90, 0.45, 0.50, 0.20]])
    logp = np.array([[np.nan, -3.0, np.nan, -4.0]])
    fused = fuse(cos, logp, 100.0, 1.0)
    a = 100.0 * cos[0] - np.log(np.exp(100.0 * cos[0]).sum())
    share = np.log(np.exp(a[[1, 3]]).sum())
    want = [a[0], share - np.log1p(np.exp(-1.0)), a[2], share - np.log1p(np.exp(1.0))]
    assert np.allclose(fused[0], want, rtol=1e-5)
    assert list(np.argsort(-fused[0])) == [0, 2, 1, 3]  # exact: word 1 is not lifted above word 2


def test_a_word_too_long_for_the_image_is_ruled_out_even_beside_unspellable_words():
    cos = np.array([[0.50, 0.52, 0.40]])
    logp = np.array([[-np.inf, -np.inf, np.nan]])  # both spellable words ruled out, one unspellable word
    fused = fuse(cos, logp.astype(np.float32), 20.0, 1.0)
    assert np.isfinite(fused).all() and np.argmax(fused) == 2
    assert fused[0, 2] - fused[0, :2].max() > 1e3  # ruled out: a large penalty, not a uniform share


def test_the_length_bonus_lifts_the_longer_word_by_beta_per_character_spelled():
    # PROBS: "a" (1 char) is likelier than "ab" (2 chars); a bonus of beta per character spelled
    # multiplies "ab"'s odds against "a" by exp(beta): ln(p_a / p_ab) decides where they swap
    words = ["a", "ab", "9"]
    lp = word_logprobs(np.log(PROBS), words, "ab")[None, :]
    lengths = label_lengths(words, "ab")
    assert list(lengths) == [1.0, 2.0, 0.0]
    cos = np.zeros((1, 3))
    gap = lp[0, 0] - lp[0, 1]  # ln(0.48 / 0.10)
    assert gap > 0 and np.argmax(fuse(cos, lp, 20.0, 1.0)) == 0
    below, above = fuse(cos, lp, 20.0, 1.0, lengths, gap - 0.01), fuse(cos, lp, 20.0, 1.0, lengths, gap + 0.01)
    assert np.argmax(below) == 0 and np.argmax(above) == 1
    # the unspellable word ("9" is not in the charset) keeps its cosine probability, bonus or not
    assert fuse(cos, lp, 20.0, 1.0)[0, 2] == pytest.approx(above[0, 2]) == pytest.approx(-np.log(3))
    assert np.allclose(fuse(cos, lp, 20.0, 0.6, lengths, 0.0), fuse(cos, lp, 20.0, 0.6))  # beta 0: no change
    with pytest.raises(ValueError):
        fuse(cos, lp, 20.0, 1.0, None, 1.0)  # a bonus without the lengths is an error, not a silent 0


@pytest.fixture(scope="module")
def reader_checkpoint(tmp_path_factory):
    from ours.model import AnchorTable, OursModel, save_checkpoint

    torch.manual_seed(0)
    lex = lexicon_frame(6)
    words = {l: lex[l].tolist() for l in ("en", "zh", "es")}
    ids = {l: lex["semantic_id"].tolist() for l in ("en", "zh", "es")}
    charset = "".join(sorted({c for ws in words.values() for w in ws for c in w}))
    model = OursModel(charset=charset)
    rng = np.random.default_rng(0)
    concept = rng.normal(size=(6, model.image.cfg.dim)).astype(np.float32)
    model.anchors = AnchorTable(words, ids, np.concatenate([concept] * 3).astype(np.float32))
    with_ctc = save_checkpoint(model, tmp_path_factory.mktemp("ck") / "ours", include_ctc=True)
    without = save_checkpoint(model, tmp_path_factory.mktemp("ck") / "ours-noctc", include_ctc=False)
    return with_ctc, without


def test_ours_read_runs_through_bench_and_keeps_cross_language_on_cosine(rendered_dataset, reader_checkpoint,
                                                                         tmp_path):
    ck, _ = reader_checkpoint
    for name in ("ours-read", "ours"):
        assert main(["run", "--adapters", name, "--dataset", str(rendered_dataset), "--model-path",
                     f"{name}={ck}", "--results-dir", str(tmp_path), "--no-progress", "--quiet",
                     "--latency-samples", "2"]) == 0
    run = next((tmp_path / "runs").iterdir())
    rec = json.loads((run / "adapters" / "ours-read.json").read_text())
    assert rec["status"] == "loaded" and 1.2e6 < rec["params"] < 1.4e6  # image tower; the head is reported apart
    assert rec["run_notes"]["ctc_head_parameters"] > 0
    jobs = run / "jobs"
    within = json.loads((jobs / "ours-read" / "ood" / "within-en.json").read_text())
    assert within["status"] == "done" and within["metrics"]["n"] == 6
    # cross-language: the same cosine ranking as plain ours
    for task in ("cross-zh-es", "cross-en-zh"):
        a = json.loads((jobs / "ours-read" / "ood" / f"{task}.json").read_text())["metrics"]
        b = json.loads((jobs / "ours" / "ood" / f"{task}.json").read_text())["metrics"]
        assert a == b
    geo = json.loads((jobs / "ours-read" / "ood" / "geometry.json").read_text())
    assert geo["geometry"]["n_classes"] == 6  # geometry sees the 128-d embedding part only


def test_ours_read_without_a_ctc_head_is_unavailable_with_the_fix(reader_checkpoint):
    from adapters.ours import OursRead
    from bench.registry.adapter import AdapterOptions

    _, without = reader_checkpoint
    av = OursRead.availability(AdapterOptions(model_path=Path(without)))
    assert not av.ok and "no CTC head" in av.reason and "ours train" in av.reason


def _reader_on_noise(ck, lang: str, n: int, seed: int):
    """The reader, ``n`` noise images encoded for ``lang``, and that language's anchor words and gallery."""
    from adapters.ours import OursRead
    from bench.registry.adapter import AdapterOptions

    ad = OursRead(AdapterOptions(model_path=Path(ck)))
    ad.ensure_loaded()
    rng = np.random.default_rng(seed)
    imgs = [Image.fromarray(rng.integers(0, 255, (40, 120), dtype=np.uint8)) for _ in range(n)]
    words = ad.model.anchors.of(lang)[0]
    return ad, ad.encode_images(imgs, lang), words, ad.encode_texts(words, lang)


def test_ours_read_fuses_with_the_weight_of_the_query_language(reader_checkpoint):
    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "en", 3, 1)
    ad.length_bonus, ad.prior_weights = {}, {}  # the weights alone first: the shipped bonuses and priors
    # must not decide this test
    cos = ad.similarity(out, gal, words, "en", "zh")  # cross-language: cosine, whatever the weight
    ad.weights, ad.weight = {"en": 0.0, "es": 0.7}, 0.3
    assert np.array_equal(ad.similarity(out, gal, words, "en", "en"), cos)  # en tuned to 0: cosine alone
    es = ad.similarity(out, gal, words, "es", "es")
    other = ad.similarity(out, gal, words, "fr", "fr")  # a language it did not tune: the default weight
    ad.weights = {"es": 0.3}
    assert not np.allclose(es, other) and np.allclose(ad.similarity(out, gal, words, "es", "es"), other)
    assert ad.run_notes()["fusion_weights"] == {"es": 0.3, "other languages": 0.3}
    ad.length_bonus = {"es": 2.0}  # the query language's bonus, the default (0) for the others
    assert not np.allclose(ad.similarity(out, gal, words, "es", "es"), other)
    assert np.allclose(ad.similarity(out, gal, words, "fr", "fr"), other)
    assert ad.run_notes()["length_bonus"] == {"es": 2.0, "other languages": 0.0}


def test_the_tuning_sweep_ranks_exactly_as_the_adapter_does(reader_checkpoint):
    """``tune_read`` computes the CTC term once per language and fuses per (weight, bonus); each
    pair's Acc@1 must be the one ``OursRead.similarity`` gives with that pair set."""
    from ours.tune_read import _acc

    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "es", 12, 2)
    ad.prior_weights = {}  # tune_read sweeps the fusion alone; the prior comes after it (test_ours_prior)
    parts = ad.reading_parts(out, gal, words)
    seen = set()
    for w, b in ((0.0, 0.0), (0.3, 0.0), (0.7, 0.0), (1.0, 0.0), (0.7, 2.0), (1.0, 3.0)):
        ad.weights, ad.length_bonus = {"es": w}, {"es": b}
        ranked = ad.similarity(out, gal, words, "es", "es").argmax(1)
        seen.add(tuple(ranked))
        for target in range(len(words)):  # every possible answer: the accuracies agree exactly
            t = np.full(len(out), target)
            assert _acc(parts, ad.scale, (w, b), t) == float((ranked == t).mean())
    assert len(seen) > 1  # the weights do rank differently here, so the check can fail


def test_ours_read_adds_the_word_prior_within_language_only(reader_checkpoint):
    """``ours.prior``: lambda * ln f(word) after the fusion, the gallery language's lambda, nothing
    across languages or where the reader's weight is 0 (the row is then the cosine alone)."""
    from ours import prior

    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "en", 4, 3)
    ad.prior_weights = {}
    plain, cross = ad.similarity(out, gal, words, "en", "en"), ad.similarity(out, gal, words, "en", "zh")
    settings = ad.output_settings()
    ad.prior_weights = {"en": 0.5, "zh": 0.5}
    with_prior = ad.similarity(out, gal, words, "en", "en")
    assert np.allclose(with_prior, plain + 0.5 * prior.log_prior(words, "en")[None, :], atol=1e-5)
    assert not np.allclose(with_prior, plain)
    assert np.array_equal(ad.similarity(out, gal, words, "en", "zh"), cross)  # cross-language: cosine only
    assert ad.output_settings()["prior_tables"] == prior.tables_digest() and "prior_tables" not in settings
    assert ad.run_notes()["word_prior"]["weights"] == {"en": 0.5, "zh": 0.5}
    ad.weights = {"en": 0.0}  # no reader for English: cosine alone, no prior
    assert ad.reader_scores(out, gal, words, "en") is None
    assert np.array_equal(ad.similarity(out, gal, words, "en", "en"), cross)


def test_the_prior_sweep_scores_exactly_what_the_adapter_ranks(reader_checkpoint, tmp_path, monkeypatch):
    import gzip

    from ours import prior
    from ours.tune_prior import LAMBDAS, sweep, top1

    # the noise images' fused favourite is also wordfreq's commonest word of these six; this table
    # makes a less favoured word common, so that the prior does move the ranking
    monkeypatch.setattr(prior, "TABLES", tmp_path)
    with gzip.open(tmp_path / "en.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.write("water\t0.5\nbook\t0.01\ndog\t0.001\n")
    prior.clear_cache()
    ck, _ = reader_checkpoint
    ad, out, words, gal = _reader_on_noise(ck, "en", 12, 4)
    fused = ad.reader_scores(out, gal, words, "en")
    log_f = prior.log_prior(words, "en")
    seen = set()
    for lam in LAMBDAS:
        ad.prior_weights = {"en": lam}
        sim = ad.similarity(out, gal, words, "en", "en")
        assert np.array_equal(sim, (fused + lam * log_f[None, :]).astype(np.float32))
        seen.add(tuple(sim.argmax(1)))
        for target in range(len(words)):  # every possible answer: the accuracies agree exactly
            t = np.full(len(out), target)
            assert sweep(fused, log_f, t, (lam,))[lam] == top1(sim, t)
    assert len(seen) > 1  # the prior does change the ranking here, so the check can fail
    prior.clear_cache()
