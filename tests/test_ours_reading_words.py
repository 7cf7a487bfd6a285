"""Training words outside the lexicon (for the reading head): never a benchmark word, filtered to what
the CTC head can spell, rendered deterministically, and trained on as their own groups."""
import csv

import pytest
import torch

from bench.data import READING_WORDS
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
        {"en": 400, "es": 400, "zh": 400}
    assert not words & oov and not {w.casefold() for w in words} & lexicon
    assert all(r["source"].startswith("wordfreq ") for r in rows)
    zh_chars = {c for r in _rows(LEXICON) for c in r["zh"]}
    assert all(set(r["word"]) <= zh_chars for r in rows if r["lang"] == "zh")  # the fonts are subset to these


def test_the_builder_reproduces_the_shipped_lists(tmp_path):
    import importlib.metadata

    from bench.data.build.oov import build, build_reading

    # the dev extra pins the release the lists were built with (another release ranks other words)
    recorded = _rows(READING_WORDS)[0]["source"].split()[1]
    assert importlib.metadata.version("wordfreq") == recorded, f"install wordfreq=={recorded} (the dev extra pins it)"

    assert build_reading(out=tmp_path / "r.csv").read_bytes() == READING_WORDS.read_bytes()
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
    assert src.n_extra == len(extra) == 400 and {it.lang for it in extra} == {"en"}  # es/zh: not trained
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
