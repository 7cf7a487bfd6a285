"""The honest out-of-domain split: no glyph source shared with training, hard cases covered,
new stroke sources (traced font skeletons) deterministic and licensed, capitalized renderings,
and the out-of-lexicon split."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bench.data import builtin, synth
from bench.data.synth import store
from bench.textnorm import normalize


@pytest.mark.parametrize("lang", builtin.LANGS)
def test_ood_shares_no_glyph_source_with_training(lang):
    train = builtin.split_writers("train", lang)
    ood = builtin.split_writers("ood", lang)
    assert train and ood
    train_src = {builtin.glyph_source(w) for w in train}
    ood_src = {builtin.glyph_source(w) for w in ood}
    assert not train_src & ood_src, train_src & ood_src
    assert not {w.group for w in train} & {w.group for w in ood}
    # the out-of-lexicon split is written by the same held-out writers
    assert {w.id for w in builtin.split_writers("oov", lang)} == {w.id for w in ood}


def test_a_font_and_the_pens_traced_from_it_are_one_source():
    pens = [w for w in synth.writers("zh") if w.source.startswith(store.SKEL_PREFIX)]
    assert pens, "no pen writers drawn from traced font skeletons"
    for w in pens:
        fid = w.source.removeprefix(store.SKEL_PREFIX)
        assert builtin.glyph_source(w) == f"font:{fid}"
    # hanzi-writer medians (an Arphic kai hand) are training data only
    assert all(not builtin.is_ood(w) for w in synth.writers("zh") if w.source == "hanzi-writer")


def test_ood_spans_the_hard_cases():
    zh_groups = {w.group for w in builtin.split_writers("ood", "zh")}
    assert {"running", "grass", "marker"} <= zh_groups  # running script, grass script (brush), marker
    zh_kinds = {(w.group, w.kind) for w in builtin.split_writers("ood", "zh")}
    assert ("running", "pen") in zh_kinds and ("running", "font") in zh_kinds
    latin = builtin.split_writers("ood", "en")
    fonts = {store.font_entry(w.source)["group"] for w in latin if w.kind == "font"}
    assert "cursive" in fonts and "print" in fonts
    rows = [r for r in builtin.plan(0.05) if r["split"] == "ood" and r["lang"] == "en"]
    upper = [r for r in rows if r["text"].isupper()]
    title = [r for r in rows if r["text"][:1].isupper() and not r["text"].isupper()]
    assert 0.1 < len(upper) / len(rows) < 0.3 and 0.1 < len(title) / len(rows) < 0.3  # capital-letter hands


def test_ood_images_spread_over_sources():
    rows = [r for r in builtin.plan(1.0) if r["split"] == "ood" and r["lang"] == "zh"]
    per_source: dict[str, int] = {}
    for r in rows:
        w = synth.get_writer(r["style"])
        key = (builtin.glyph_source(w), w.kind)
        per_source[key] = per_source.get(key, 0) + 1
    counts = np.array(list(per_source.values()))
    assert len(counts) >= 5 and counts.min() > 0.5 * counts.mean()  # fonts are not crowded out by pens


def test_case_variants_are_deterministic_and_fold_back():
    from bench.data.synth.casing import apply_case, case_variant, pick_case

    assert [pick_case(u) for u in (0.0, 0.59, 0.61, 0.79, 0.81, 0.999)] == \
        ["lower", "lower", "title", "title", "upper", "upper"]
    assert apply_case("corazón", "upper") == "CORAZÓN" and apply_case("ñandú", "title") == "Ñandú"
    assert case_variant("狗", 0.9) == "狗"
    for word in ("kitchen", "pingüino", "año"):
        for u in np.linspace(0, 0.999, 7):
            assert normalize(case_variant(word, u)) == normalize(word)
    # a stroke font without accented capitals keeps the word as it is
    ascii_pen = next(w for w in synth.writers("en") if w.source == "hershey-script-1")
    assert synth.cased_for("año", ascii_pen, 0.99) in ("año", "AÑO")
    assert synth.can_draw(synth.cased_for("año", ascii_pen, 0.99), ascii_pen)


def test_skeleton_tracing_of_a_drawn_cross_and_corner():
    from bench.data.build.skeletons import BOX, TOP, strokes_of

    m = np.zeros((160, 160), bool)
    m[78:83, 20:140] = True  # horizontal bar
    m[20:140, 78:83] = True  # vertical bar: a cross, 4 arms meeting at a junction
    strokes = strokes_of(m)
    assert len(strokes) == 4
    pts = np.concatenate([np.asarray(s) for s in strokes])
    assert pts[:, 0].min() < 0.2 * BOX and pts[:, 0].max() > 0.8 * BOX
    # y up with the baseline at TOP - BOX: the image's top row maps near TOP
    assert pts[:, 1].max() == pytest.approx(TOP - 20 * BOX / 160, abs=30)
    corner = np.zeros((160, 160), bool)
    corner[20:140, 30:35] = True
    corner[135:140, 30:130] = True
    assert 1 <= len(strokes_of(corner)) <= 2
    assert strokes_of(corner) == strokes_of(corner.copy())  # deterministic


def test_every_stroke_source_is_licensed_and_reproducible():
    pytest.importorskip("skimage")
    from bench.data.build.skeletons import font_skeletons

    sources = store.zh_skeleton_sources()
    assert len(sources) >= 5
    for source, entry in sources.items():
        assert (store.ASSETS_DIR / entry["license_file"]).stat().st_size > 200, source
        assert entry["license"] and not entry["missing"], source
        shipped = json.loads((store.ASSETS_DIR / entry["file"]).read_text(encoding="utf-8"))
        font = store.ASSETS_DIR / store.font_entry(entry["from_font"])["file"]
        chars = {"国", "猫", "龙"}
        again, missing = font_skeletons(font, chars)
        assert not missing and again == {c: shipped[c] for c in chars}, source


def test_oov_words_are_outside_the_lexicon_and_drawable():
    with builtin.LEXICON.open(encoding="utf-8", newline="") as fh:
        lex = list(csv.DictReader(fh))
    known = {normalize(r[l]) for r in lex for l in builtin.LANGS if r.get(l)}
    with builtin.OOV_WORDS.open(encoding="utf-8", newline="") as fh:
        oov = list(csv.DictReader(fh))
    for lang in builtin.LANGS:
        words = [r["word"] for r in oov if r["lang"] == lang]
        assert len(words) == 200 and len(set(words)) == 200
        assert not {normalize(w) for w in words} & known
    rows = [r for r in builtin.plan(0.05) if r["split"] == "oov"]
    assert rows and all(r["semantic_id"] == -1 for r in rows)
    assert all(builtin.is_ood(synth.get_writer(r["style"])) for r in rows)
    assert {r["lang"] for r in rows} == set(builtin.LANGS)
