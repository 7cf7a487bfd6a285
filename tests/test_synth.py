"""The handwriting synthesizer: writers, determinism, ink for every writer and script."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.data import synth
from bench.data.synth import store

LEXICON = Path(__file__).resolve().parents[1] / "bench" / "data" / "lexicon.csv"


def _zh_words(n: int = 4) -> list[str]:
    """Chinese sample words that the shipped assets cover (the lexicon's first words)."""
    if LEXICON.is_file():
        with LEXICON.open(encoding="utf-8", newline="") as fh:
            words = [r["zh"] for r in csv.DictReader(fh) if r.get("zh")]
        return words[:n]
    return ["狗", "苹果"][:n]


def _ink(img) -> int:
    a = np.asarray(img)
    return int((a < a.max() - 60).sum())


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_enough_distinct_writers(lang):
    ws = synth.writers(lang)
    ids = [w.id for w in ws]
    assert len(ids) == len(set(ids))
    pens = [w for w in ws if w.kind == "pen"]
    assert len(pens) >= 40
    assert {w.kind for w in ws} == {"font", "pen"}
    assert all(lang in w.langs for w in ws)
    # parameter draws differ between writers: no two pens share (width, slant, jitter)
    assert len({(w.weight, w.slant, w.jitter) for w in pens}) == len(pens)


def test_writer_ids_and_lookup():
    w = synth.writers("zh")[0]
    assert synth.get_writer(w.id) == w
    assert all(w.id.startswith(("font:", "pen:")) for w in synth.writers("en"))
    with pytest.raises(KeyError):
        synth.get_writer("font:no-such-font")


@pytest.mark.parametrize("lang,text", [("en", "Handwriting"), ("es", "¿Pingüino?"), ("zh", None)])
def test_same_seed_same_pixels(lang, text):
    text = text or _zh_words(1)[0]
    kinds = Counter()
    for w in synth.writers(lang):
        if kinds[w.kind] >= 2:
            continue
        kinds[w.kind] += 1
        a = synth.render_word(text, lang, w, seed=7)
        b = synth.render_word(text, lang, w, seed=7)
        c = synth.render_word(text, lang, w, seed=8)
        assert a.mode == "L"
        assert a.tobytes() == b.tobytes() and a.size == b.size
        assert a.size != c.size or a.tobytes() != c.tobytes()


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_every_writer_draws_every_sample(lang):
    samples = {"en": ["dog", "Kitchen"], "es": ["ñ", "á", "¿", "¡", "ü", "Ñandú", "corazón"], "zh": _zh_words(4)}[lang]
    for w in synth.writers(lang):
        for i, text in enumerate(samples):
            img = synth.render_word(text, lang, w, seed=i, augment=False)
            assert _ink(img) >= 4, f"{w.id} draws no ink for {text!r}"


def test_dark_ink_on_light_paper():
    for lang in ("en", "zh"):
        for w in synth.writers(lang)[::9]:
            a = np.asarray(synth.render_word(_zh_words(1)[0] if lang == "zh" else "word", lang, w, seed=3))
            border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()
            assert border > 150 and a.min() < border - 60, w.id


def test_writer_of_other_language_is_refused():
    zh_pen = next(w for w in synth.writers("zh") if w.kind == "pen")
    with pytest.raises(ValueError):
        synth.render_word("dog", "en", zh_pen, seed=0)


def test_assets_index_and_licences():
    idx = store.index()
    assert idx["fonts"], "no fonts shipped"
    for e in idx["fonts"]:
        assert (store.ASSETS_DIR / e["file"]).is_file()
        assert (store.ASSETS_DIR / e["license_file"]).stat().st_size > 200
        if e["reserved_font_names"]:
            assert e["renamed"]
            from fontTools.ttLib import TTFont  # noqa: PLC0415  (only with the data-build extra)

            # the names a user sees (not the copyright notice, which the OFL requires us to keep)
            names = " ".join(str(n) for n in TTFont(store.ASSETS_DIR / e["file"])["name"].names
                             if n.nameID in (1, 3, 4, 6, 16, 17, 18, 21, 22))
            assert not any(rfn in names for rfn in e["reserved_font_names"]), e["id"]
    size = sum(p.stat().st_size for p in store.ASSETS_DIR.rglob("*") if p.is_file())
    assert size < 40e6


def test_assets_cover_the_lexicon():
    """Every shipped font draws every character of the lexicon in its script (rebuild assets if not)."""
    import hashlib

    from bench.data.build.assets import lexicon_charsets

    need, _ = lexicon_charsets(LEXICON)
    idx = store.index()
    sha = {l: hashlib.sha1("".join(sorted(c)).encode()).hexdigest() for l, c in need.items()}
    stale = [l for l in need if idx["charset_sha1"].get(l) != sha[l]]
    assert not stale, f"assets were built for another lexicon ({stale}): run python -m bench.data.build.assets"
    for e in idx["fonts"]:
        assert not e["missing"], f"{e['id']} does not draw {e['missing']}"
    assert not idx["zh_medians"]["missing"]
    assert all(not f["missing"] for f in idx["hershey"]["fonts"].values())


# Pixels of a few renderings, one writer of each kind per script: a refactor of the synthesizer must
# leave every image byte-identical (the built-in dataset's fingerprint and stored runs depend on it).
GOLDEN = [
    ("en", "font:architects-daughter", "Quick", 7, True, "350dc0d124207f1e"),
    ("en", "font:architects-daughter", "Quick", 3, False, "d96771e2e49a59ca"),
    ("en", "pen:hershey-script-1-ballpoint", "Quick", 7, True, "3eeabaa76a1bcd1b"),
    ("es", "pen:hershey-script-1-ballpoint", "corazón", 3, False, "c745e8070b0344f2"),
    ("zh", "font:ma-shan-zheng", "中国", 7, True, "d7f7ef7133aa7764"),
    ("zh", "pen:hz-ballpoint-00", "中国", 7, True, "cfebb9a488b4638f"),
    ("zh", "pen:sk-lxgw-wenkai-ballpoint-01", "中国", 7, True, "61d6ecfdff2ed261"),
    ("zh", "pen:sk-lxgw-wenkai-ballpoint-01", "中国", 3, False, "0f8c49da691f1b42"),
]


@pytest.mark.parametrize("lang,writer,text,seed,augment,digest", GOLDEN)
def test_renderings_are_unchanged(lang, writer, text, seed, augment, digest):
    import hashlib

    img = synth.render_word(text, lang, synth.get_writer(writer), seed, augment=augment)
    assert hashlib.sha256(img.tobytes()).hexdigest()[:16] == digest


def test_running_script_joins_a_characters_strokes_and_is_deterministic():
    import numpy as np

    from bench.data.synth.pen import layout, run_together
    from bench.data.synth.rand import Rand
    from bench.data.synth.writers import with_params

    w = with_params(synth.get_writer("pen:hz-careful-00"), connect=0.0, speed=0.0)
    plain = layout("国", w, 48.0, Rand("t", 1))
    assert len(plain) > 4 and not any(trail for _, trail in plain)
    joined = run_together(plain, [0] * len(plain), with_params(w, run=1.0), 48.0, Rand("t", 2))
    assert 1 <= len(joined) < len(plain) and not any(trail for _, trail in joined)
    assert sum(len(p) for p, _ in joined) >= sum(len(p) for p, _ in plain)  # bridges added, nothing lost
    again = run_together(plain, [0] * len(plain), with_params(w, run=1.0), 48.0, Rand("t", 2))
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(joined, again))
    # strokes of different characters join far less often than strokes of one character
    apart = run_together(plain, list(range(len(plain))), with_params(w, run=1.0), 48.0, Rand("t", 2))
    assert len(apart) > len(joined)
    # through the renderer: another image, the same one every time
    a = synth.render_word("中国", "zh", with_params(w, run=0.8), 5)
    assert a.tobytes() == synth.render_word("中国", "zh", with_params(w, run=0.8), 5).tobytes()
    assert a.tobytes() != synth.render_word("中国", "zh", w, 5).tobytes()
