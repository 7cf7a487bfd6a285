"""Checks on the shipped trilingual lexicon (bench/data/lexicon.csv).

Only the CSV is needed: the build sources (WordNet, CC-CEDICT, FreeDict, the encoder) are not.
A broken table (duplicate words, a rare or traditional character, an unaccented or
article-prefixed Spanish word, gaps in the ids) fails here.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

LEXICON = Path(__file__).resolve().parents[1] / "bench" / "data" / "lexicon.csv"
OVERRIDES = Path(__file__).resolve().parents[1] / "bench" / "data" / "build" / "lexicon_overrides.csv"
COLUMNS = ["semantic_id", "key", "en", "zh", "es", "src_en", "src_zh", "src_es", "note"]
LANGS = ("en", "zh", "es")
SPANISH_RE = re.compile(r"^[a-zñáéíóúü]+$")
ENGLISH_RE = re.compile(r"^[a-z]+$")
KEY_RE = re.compile(r"^wn30:\d{8}-n$")
SOURCES = {"wordnet", "review", "cc-cedict+e5", "freedict+e5", "wordfreq+e5"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(LEXICON, dtype=str, keep_default_na=False, encoding="utf-8")


def is_common_hanzi(ch: str) -> bool:
    """GB2312 level 1 (first byte 0xB0-0xD7: 3,755 common simplified characters), checked
    with Python's built-in gb2312 codec, so no character list needs to be shipped."""
    try:
        raw = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(raw) == 2 and 0xB0 <= raw[0] <= 0xD7


def test_common_hanzi_check_is_discriminating() -> None:
    assert all(is_common_hanzi(c) for c in "狗猫水火人")
    assert not any(is_common_hanzi(c) for c in "貓們A1，")  # traditional, Latin, digit, punct
    assert not is_common_hanzi("犭")  # GB2312 level 2 (rare radical)


def test_columns_and_size(table: pd.DataFrame) -> None:
    assert list(table.columns) == COLUMNS
    assert len(table) >= 1460


def test_ids_contiguous_and_keys_unique(table: pd.DataFrame) -> None:
    assert table["semantic_id"].astype(int).tolist() == list(range(len(table)))
    assert table["key"].is_unique
    assert table["key"].map(lambda k: bool(KEY_RE.match(k))).all()


def test_no_empty_cells(table: pd.DataFrame) -> None:
    for col in COLUMNS:
        assert (table[col].str.strip() != "").all(), col


@pytest.mark.parametrize("lang", LANGS)
def test_words_unique_per_language(table: pd.DataFrame, lang: str) -> None:
    dup = table[lang][table[lang].duplicated(keep=False)]
    assert dup.empty, sorted(set(dup))


def test_english_lowercase_ascii_words(table: pd.DataFrame) -> None:
    bad = [w for w in table["en"] if not ENGLISH_RE.match(w)]
    assert not bad, bad[:20]


def test_chinese_common_simplified(table: pd.DataFrame) -> None:
    bad = [w for w in table["zh"]
           if not 1 <= len(w) <= 4 or not all(is_common_hanzi(c) for c in w)]
    assert not bad, bad[:20]


def test_spanish_nfc_lowercase_letters(table: pd.DataFrame) -> None:
    bad = [w for w in table["es"]
           if unicodedata.normalize("NFC", w) != w or not SPANISH_RE.match(w)]
    assert not bad, bad[:20]


def test_whole_file_is_nfc() -> None:
    text = LEXICON.read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text


def test_provenance_values(table: pd.DataFrame) -> None:
    for lang in LANGS:
        assert set(table[f"src_{lang}"]) <= SOURCES, set(table[f"src_{lang}"]) - SOURCES
    assert set(table["note"].str.split(";").str[0]) <= {
        f"noun.{n}" for n in ("animal", "artifact", "body", "food", "object", "person", "plant",
                              "substance", "location", "phenomenon", "time", "communication",
                              "act", "event", "group")}


def test_mostly_concrete(table: pd.DataFrame) -> None:
    concrete = {f"noun.{n}" for n in ("animal", "artifact", "body", "food", "object", "person",
                                      "plant", "substance", "location")}
    share = table["note"].str.split(";").str[0].isin(concrete).mean()
    assert share >= 0.7, share


def test_review_overrides_applied(table: pd.DataFrame) -> None:
    """Every hand correction in the overrides file is in the shipped table, marked 'review'."""
    ov = pd.read_csv(OVERRIDES, dtype=str, keep_default_na=False)
    assert list(ov.columns) == ["key", "lang", "word", "reason"]
    rows = table.set_index("key")
    for r in ov.itertuples():
        if r.lang == "drop":
            assert r.key not in rows.index, r.key
        elif r.key in rows.index:
            assert rows.at[r.key, r.lang] == r.word, (r.key, r.lang, r.word)
            assert rows.at[r.key, f"src_{r.lang}"] == "review"
    assert (ov["reason"].str.strip() != "").all()


def test_known_translations(table: pd.DataFrame) -> None:
    """Spot checks, several of them cases where the first dictionary sense is wrong
    (cabinet -> 内阁 'government cabinet', glass -> 杯子, plant -> 植物 for the factory sense)."""
    by_en = table.set_index("en")
    expected = {"dog": ("狗", "perro"), "water": ("水", "agua"), "house": ("房子", "casa"),
                "book": ("书", "libro"), "tree": ("树", "árbol"), "cabinet": ("柜子", "armario"),
                "car": ("汽车", "coche"), "bird": ("鸟", "pájaro"), "glass": ("玻璃", "vidrio"),
                "plant": ("工厂", "fábrica"), "key": ("钥匙", "llave"), "mouse": ("老鼠", "ratón")}
    for en, (zh, es) in expected.items():
        assert en in by_en.index, en
        assert (by_en.at[en, "zh"], by_en.at[en, "es"]) == (zh, es), en


def test_overrides_file_is_well_formed() -> None:
    ov = pd.read_csv(OVERRIDES, dtype=str, keep_default_na=False)
    assert set(ov["lang"]) <= {"en", "zh", "es", "drop"}
    assert not ov.duplicated(["key", "lang"]).any()
    assert (ov.loc[ov["lang"] == "drop", "word"] == "").all()
