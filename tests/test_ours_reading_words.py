"""Training words outside the lexicon (for the reading head): never a benchmark word, filtered to what
the CTC head can spell, rendered deterministically, and trained on as their own groups."""
import csv

import pytest
import torch

from bench.data import READING_WORDS, TUNE_WORDS
from bench.data.builtin import LEXICON, OOV_WORDS
from ours.data import FnSource, Item, SynthSource
from ours.errors import BenchError
from ours.train_data import make_source, reading_words
from ours.config import SourceConfig


def _rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_reading_words_are_no_benchmark_word_and_record_their_source():
    rows = _rows(READING_WORDS)
    lexicon = {r[lang].casefold() for r in _rows(LEXICON) for lang in ("en", "es", "zh") if r.get(lang)}
    oov = {r["word"] for r in _rows(OOV_WORDS)}
    words = {r["word"] for r in rows}
    assert {lang: sum(r["lang"] == lang for r in rows) for lang in ("en", "es", "zh")} == \
        {"en": 1000, "es": 1000, "zh": 1000}
    assert not words & oov and not {w.casefold() for w in words} & lexicon
    assert all(r["source"].startswith("wordfreq ") for r in rows)
    zh_chars = {c for r in _rows(LEXICON) for c in r["zh"]}
    assert all(set(r["word"]) <= zh_chars for r in rows if r["lang"] == "zh")  # the fonts are subset to these


def test_tuning_words_are_in_no_split_and_no_training_list():
    rows = _rows(TUNE_WORDS)
    lexicon = {r[lang].casefold() for r in _rows(LEXICON) for lang in ("en", "es", "zh") if r.get(lang)}
    taken = {r["word"] for r in _rows(OOV_WORDS)} | {r["word"] for r in _rows(READING_WORDS)}
    assert {lang: sum(r["lang"] == lang for r in rows) for lang in ("en", "es", "zh")} == \
        {"en": 1000, "es": 1000, "zh": 1000}
    words = {r["word"] for r in rows}
    assert not words & taken and not {w.casefold() for w in words} & lexicon


def test_a_longer_tuning_draw_keeps_the_shorter_one(tmp_path):
    """The list grew from 200 to 1,000 words per language; the 200 the earlier weights were tuned on
    are among them (a longer draw of the salted hash extends a shorter one)."""
    from bench.data.build.oov import build_tune

    short = {(r["lang"], r["word"]) for r in _rows(build_tune(out=tmp_path / "t200.csv", n=200))}
    assert len(short) == 600 and short <= {(r["lang"], r["word"]) for r in _rows(TUNE_WORDS)}


def test_the_builder_reproduces_the_shipped_lists(tmp_path):
    import importlib.metadata

    from bench.data.build.oov import build, build_reading, build_tune

    # the dev extra pins the release the lists were built with (another release ranks other words)
    recorded = _rows(READING_WORDS)[0]["source"].split()[1]
    assert importlib.metadata.version("wordfreq") == recorded, f"install wordfreq=={recorded} (the dev extra pins it)"

    assert build_reading(out=tmp_path / "r.csv").read_bytes() == READING_WORDS.read_bytes()
    assert build_tune(out=tmp_path / "t.csv").read_bytes() == TUNE_WORDS.read_bytes()
    assert build(out=tmp_path / "o.csv").read_bytes() == OOV_WORDS.read_bytes()  # the split is unchanged


def test_reading_words_keep_what_the_ctc_head_can_spell(tmp_path):
    words = {"en": ["dog", "cat"], "es": ["perro"]}
    f = tmp_path / "w.csv"
    f.write_text("lang,word\nen,cog\nen,dog\nen,Tact\nen,dot!\nes,oreo\nes,perro\nzh,狗\nen,cog\n", encoding="utf-8")
    # "dog"/"perro" are lexicon words, "dot!" has a character no lexicon word has, zh is not trained,
    # "cog" appears twice; case folds as the CTC targets do
    assert reading_words(str(f), words) == {"en": ["cog", "Tact"], "es": ["oreo"]}
    bad = tmp_path / "bad.csv"
    bad.write_text("language,text\nen,cog\n", encoding="utf-8")
    with pytest.raises(BenchError, match="lang and word columns"):
        reading_words(str(bad), words)
    with pytest.raises(BenchError, match="no such file"):
        reading_words(str(tmp_path / "missing.csv"), words)


def test_synth_source_renders_extra_words_as_their_own_groups():
    pangram = "the quick brown fox jumps over a lazy dog".split()  # every letter: every English reading word
    words, ids = {"en": pangram}, {"en": list(range(len(pangram)))}
    src = make_source(SourceConfig(kind="synth", split="train", extra_words="builtin"), words, ids, 1)
    assert isinstance(src, SynthSource)
    extra = [it for it in src.items if it.semantic_id == -1]
    assert src.n_extra == len(extra) == 1000 and {it.lang for it in extra} == {"en"}  # es/zh: not trained
    assert len({it.group for it in extra}) == len(extra)  # each word its own group
    i = src.items.index(extra[0])
    assert src.load(i, 7).tobytes() == src.load(i, 7).tobytes()  # deterministic per (item, seed)
    assert "outside the lexicon" in src.describe()
    plain = make_source(SourceConfig(kind="synth", split="train"), words, ids, 1)
    assert [it.text for it in plain.items] == pangram


def test_a_batch_with_words_outside_the_lexicon_trains(tmp_path):
    from tests.test_ours_train import CFG, WORDS, IDS, _render, _tiny_tower
    from ours.config import load_config
    from ours.train import train

    items = [Item(w, lang, i) for lang in WORDS for w, i in zip(WORDS[lang], IDS[lang])]
    items += [Item("god", "en", -1), Item("act", "en", -1), Item("sola", "es", -1)]
    cfg = load_config(CFG)
    run = train(cfg, tmp_path / "run", sources={1: FnSource(items, _render)}, text_tower=_tiny_tower(),
                progress=False, stop_after_steps=3)
    log = _rows(run / "log.csv")
    assert len(log) == 3 and all(float(r["ctc"]) > 0 and torch.isfinite(torch.tensor(float(r["loss"])))
                                 for r in log)


def test_extra_per_epoch_rotates_the_words_outside_the_lexicon(tmp_path, monkeypatch):
    import copy

    import ours.train as train_mod
    from tests.test_ours_train import CFG, WORDS, IDS, _render, _tiny_tower

    made = []

    class Spy(train_mod.SemanticBatchSampler):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(self)

    monkeypatch.setattr(train_mod, "SemanticBatchSampler", Spy)
    items = [Item(w, lang, i) for lang in WORDS for w, i in zip(WORDS[lang], IDS[lang])]
    items += [Item(w, "en", -1) for w in ("god", "act", "cat", "tag")]
    cfg = copy.deepcopy(CFG)
    cfg["stage1"]["source"] = {"extra_words": "builtin", "extra_per_epoch": 1}
    train_mod.train(cfg, tmp_path / "run", sources={1: FnSource(items, _render)}, text_tower=_tiny_tower(),
                    progress=False, stop_after_steps=2)
    s = made[0]
    assert len(s.rotating) == 4 and s.per_epoch == 1
    assert len(s.keys) == len({it.group for it in items}) - 4 and len(s) == -(-(len(s.keys) + 1) // s.per_batch)
    groups = [it.group for it in items]
    for epoch in range(2):
        drawn = [groups[i] for b in s.batches(epoch) for i in b]
        assert len({g for g in drawn if isinstance(g, tuple)}) == 1  # exactly one extra word per epoch


def test_running_share_draws_chinese_pens_in_running_script_and_leaves_the_rest():
    words, ids = {"zh": ["中国", "发展"], "en": ["dog", "cat"]}, {"zh": [0, 1], "en": [0, 1]}
    base = make_source(SourceConfig(kind="synth", split="train", writer_kind="pen"), words, ids, 1)
    run = make_source(SourceConfig(kind="synth", split="train", writer_kind="pen", running=1.0), words, ids, 1)
    zh = next(i for i, it in enumerate(run.items) if it.lang == "zh")
    en = next(i for i, it in enumerate(run.items) if it.lang == "en")
    assert run.load(zh, 11).tobytes() == run.load(zh, 11).tobytes()
    assert run.load(zh, 11).tobytes() != base.load(zh, 11).tobytes()
    assert run.load(en, 11).tobytes() == base.load(en, 11).tobytes()  # Latin pens are untouched
    assert "running script" in run.describe() and "running script" not in base.describe()
