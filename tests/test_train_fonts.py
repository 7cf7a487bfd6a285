"""Training-only Chinese font writers (bench/data/train_assets): licensed, deterministic, in no split,
disjoint from every out-of-domain glyph source, and mixed into training only at the configured share."""
import csv
import hashlib
import json
from collections import Counter

import pytest

from bench.data import builtin
from bench.data.build.font_assets import ink_missing
from bench.data.synth import can_draw, render_word, store
from bench.data.synth.writers import get_writer, train_only_writers
from ours.config import SourceConfig
from ours.errors import BenchError
from ours.train_data import make_source


def _entries():
    return json.loads((store.TRAIN_ASSETS_DIR / "train_fonts.json").read_text(encoding="utf-8"))["fonts"]


def test_every_training_font_records_its_source_and_licence_and_inks_what_it_claims():
    entries = _entries()
    assert len(entries) == 8
    for e in entries:
        assert e["role"] == "train-only" and e["langs"] == ["zh"] and e["license"] == "OFL-1.1"
        assert e["source"].startswith(f"npm:@fontsource/{e['id']}@5.3.0 ")
        lic = (store.TRAIN_ASSETS_DIR / e["license_file"]).read_text(encoding="utf-8")
        assert "SIL OPEN FONT LICENSE" in lic.upper()
        path = store.font_path(e["id"])
        assert path.is_file() and path.parent.parent == store.TRAIN_ASSETS_DIR
        assert ink_missing(path, set(e["chars"][::25])) == []  # a sample of what it claims to draw
        assert 0.3 <= e["word_share"]["zh"] < 1.0  # partial: a writer only of the words it can draw


def test_no_split_uses_them_and_no_out_of_domain_source_or_look_is_theirs():
    from bench.data.build.asset_catalog import ZH_TRAIN_ONLY_LEFT_OUT, ZH_TRAIN_ONLY_NPM

    ids = {w.id for w in train_only_writers()}
    sources = {builtin.glyph_source(w) for w in train_only_writers()}
    assert len(ids) == 8
    # ids are unique across both indexes: a training font never shadows a benchmark font
    assert not {e["id"] for e in _entries()} & {e["id"] for e in store.index()["fonts"]}
    # looks: none is an out-of-domain Chinese group, and the marker-like hands stay out
    groups = {e["group"] for e in _entries()}
    assert groups == set(ZH_TRAIN_ONLY_NPM.values())
    for g in groups:
        assert not any(ood in g.split("-") for ood in builtin.ZH_OOD_FONT_GROUPS), g
    assert not {f"font:{k}" for k in ZH_TRAIN_ONLY_LEFT_OUT} & ids
    for lang in builtin.LANGS:
        for split in builtin.SPLITS:
            assert not ids & {w.id for w in builtin.split_writers(split, lang)}, (split, lang)
        assert not sources & {builtin.glyph_source(w) for w in builtin.split_writers("ood", lang)}
    # the benchmark's fingerprint hashes bench/data/assets only, which does not hold them
    assert store.ASSETS_DIR not in store.TRAIN_ASSETS_DIR.parents and store.TRAIN_ASSETS_DIR != store.ASSETS_DIR


def test_they_render_deterministically_and_differently():
    words = [r["zh"] for r in csv.DictReader(open(builtin.LEXICON, encoding="utf-8")) if r.get("zh")]
    brush, pencil = get_writer("font:yuji-syuku"), get_writer("font:klee-one")
    word = next(w for w in words if can_draw(w, brush) and can_draw(w, pencil))
    a = render_word(word, "zh", brush, 7, augment=False)
    assert a.tobytes() == render_word(word, "zh", brush, 7, augment=False).tobytes()
    assert a.tobytes() != render_word(word, "zh", pencil, 7, augment=False).tobytes()
    assert not can_draw("这个", brush)  # simplified-only characters are not in a Japanese face


def test_the_share_of_chinese_renderings_they_draw(monkeypatch):
    import bench.data.synth as synth

    words = {"zh": ["中国", "世界", "这个"], "en": ["dog"]}  # 这 is simplified-only: no training font draws it
    ids = {"zh": [0, 1, 2], "en": [3]}
    src = make_source(SourceConfig(kind="synth", split="train", train_fonts=0.5), words, ids, 1)
    base = make_source(SourceConfig(kind="synth", split="train"), words, ids, 1)
    extra = {w.id for w in train_only_writers()}
    used = []
    real = synth.render_word
    monkeypatch.setattr(synth, "render_word", lambda text, lang, w, seed, augment=True: used.append(w.id) or
                        real(text, lang, w, seed, augment=augment))
    counts: Counter = Counter()
    for i, it in enumerate(src.items):
        for seed in range(200):
            used.clear()
            src.load(i, seed)
            counts[it.text, used[0] in extra] += 1
    assert 70 <= counts["中国", True] <= 130 and 70 <= counts["世界", True] <= 130  # about half
    assert counts["这个", True] == 0 and counts["dog", True] == 0
    assert "training-only fonts" in src.describe() and "training-only" not in base.describe()
    # at share 0 no random number is drawn for them: the images are those of before (hash taken
    # with the code before training-only fonts existed), so resumed runs are unchanged
    monkeypatch.setattr(synth, "render_word", real)
    h = hashlib.sha256()
    for i in range(len(base.items)):
        for seed in range(3):
            h.update(base.load(i, seed).tobytes())
    assert h.hexdigest()[:16] == "4770a443e3da84d4"


def test_a_share_outside_zero_to_one_or_outside_train_is_a_clear_error():
    zh = ({"zh": ["中国"]}, {"zh": [0]})
    with pytest.raises(BenchError, match="between 0 and 1"):
        make_source(SourceConfig(kind="synth", split="train", train_fonts=1.5), *zh, 1)
    with pytest.raises(BenchError, match="not 'ood'"):
        make_source(SourceConfig(kind="synth", split="ood", train_fonts=0.3), *zh, 1)
    with pytest.raises(BenchError, match="no training-only pen writers"):  # they are fonts
        make_source(SourceConfig(kind="synth", split="train", writer_kind="pen", train_fonts=0.3), *zh, 1)
