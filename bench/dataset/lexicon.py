"""The semantic lexicon: one row per concept, one column per language.

A lexicon is what makes cross-language retrieval defined: 'dog', '狗' and 'perro' share a
semantic_id. Adding a language means adding a column named by its code; columns starting with
``src_`` or ``note`` are provenance, not languages.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..errors import BenchError
from ..textnorm import normalize

LANG_CODE = re.compile(r"^[a-z]{2,3}$")
BUILTIN_LEXICON = Path(__file__).resolve().parents[1] / "data" / "lexicon.csv"


@dataclass
class Lexicon:
    """A concept table: ``semantic_id`` (0..C-1), ``key`` and one word column per language."""

    table: pd.DataFrame
    path: Path | None = None
    _index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> "Lexicon":
        path = Path(path)
        if not path.is_file():
            raise BenchError(f"lexicon not found: {path}")
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise BenchError(f"lexicon {path} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise BenchError(f"lexicon {path} is not a readable CSV: {str(exc).splitlines()[0]}") from None
        return cls.from_table(table, path)

    @classmethod
    def from_table(cls, table: pd.DataFrame, path: Path | None = None) -> "Lexicon":
        if "semantic_id" not in table.columns:
            raise BenchError(f"lexicon {path or ''} has no semantic_id column")
        table = table.copy()
        try:
            table["semantic_id"] = table["semantic_id"].astype(int)
        except ValueError:
            raise BenchError(f"lexicon {path or ''}: semantic_id must be integers") from None
        ids = table["semantic_id"].to_numpy()
        if len(set(ids.tolist())) != len(ids):
            raise BenchError(f"lexicon {path or ''}: duplicate semantic_id")
        lex = cls(table.sort_values("semantic_id").reset_index(drop=True), path)
        if not lex.languages:
            raise BenchError(f"lexicon {path or ''} has no language columns (e.g. en, zh, es)")
        for lang in lex.languages:
            counts = Counter(w for w in lex.table[lang] if w)
            dup = {w for w, c in counts.items() if c > 1}
            if dup:
                raise BenchError(f"lexicon {path or ''}: duplicate {lang} words: {sorted(dup)[:5]}")
            _refuse_normalized_twins(lex.table, lang, path)
        return lex

    @cached_property
    def languages(self) -> list[str]:
        return [c for c in self.table.columns if LANG_CODE.match(c) and c not in ("key",)]

    def words(self, lang: str) -> list[str]:
        """Words of one language in semantic_id order (concepts without a word are left out)."""
        self._check_lang(lang)
        return [unicodedata.normalize("NFC", w) for w in self.table[lang] if w]

    def ids(self, lang: str) -> list[int]:
        """Semantic ids aligned with :meth:`words`."""
        self._check_lang(lang)
        return [int(i) for i, w in zip(self.table["semantic_id"], self.table[lang]) if w]

    def id_of(self, lang: str) -> dict[str, int]:
        """Word -> semantic_id for one language."""
        if lang not in self._index:
            self._index[lang] = dict(zip(self.words(lang), self.ids(lang)))
        return self._index[lang]

    def word_of(self, lang: str) -> dict[int, str]:
        """semantic_id -> word for one language."""
        return dict(zip(self.ids(lang), self.words(lang)))

    def __len__(self) -> int:
        return len(self.table)

    @cached_property
    def fingerprint(self) -> str:
        cols = ["semantic_id", *self.languages]
        data = self.table[cols].to_csv(index=False).encode("utf-8")
        return hashlib.sha256(data).hexdigest()[:16]

    def _check_lang(self, lang: str) -> None:
        if lang not in self.languages:
            raise BenchError(f"language {lang!r} is not in the lexicon (it has {', '.join(self.languages)})")


def _refuse_normalized_twins(table: pd.DataFrame, lang: str, path: Path | None) -> None:
    """Words that differ only in case, NFC form or edge spaces/punctuation ("AIR" and "air", NFD and
    NFC "año") are one word once scoring normalizes them: as two gallery candidates they would tie
    with each other and halve a perfect reading. Refused at load, naming them."""
    first: dict[str, tuple[int, str]] = {}
    for sid, word in zip(table["semantic_id"], table[lang]):
        if not word:
            continue
        key = normalize(word)
        if key in first and first[key][1] != word:
            other_sid, other = first[key]
            raise BenchError(f"lexicon {path or ''}: {lang} words {other!r} (semantic_id {other_sid}) and {word!r} "
                             f"(semantic_id {sid}) are the same word after normalization ({key!r}: case, "
                             "Unicode NFC and edge spaces/punctuation are ignored); merge or remove one")
        first.setdefault(key, (int(sid), word))
