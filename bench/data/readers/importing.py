"""What the PAGE, ALTO, InkML and UNIPEN imports share beyond their formats.

Which files are read (``--include``/``--exclude`` globs, ``--limit``; byte-identical files refused,
since an export folder holding the same page twice would double it as two writers), the language a
file names (``English``, ``eng``, ``en-GB`` -> ``en``), and the labels: the transcription is kept as
written, in Unicode NFC, and it gets a lexicon concept only when it equals a lexicon word after the
harness's own text normalization (``bench.textnorm``) and that word names one concept only; each
step is counted for the import summary.
"""
from __future__ import annotations

import fnmatch
import hashlib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.dataset import NO_CONCEPT
from bench.errors import BenchError
from bench.dataset.lexicon import Lexicon
from bench.textnorm import normalize

# language names and ISO 639-2/3 codes as archives write them -> the two-letter code
LANG_NAMES = {
    "english": "en", "eng": "en", "chinese": "zh", "zho": "zh", "chi": "zh", "spanish": "es", "spa": "es",
    "castilian": "es", "french": "fr", "fra": "fr", "fre": "fr", "german": "de", "deu": "de", "ger": "de",
    "latin": "la", "lat": "la", "italian": "it", "ita": "it", "dutch": "nl", "nld": "nl", "dut": "nl",
    "portuguese": "pt", "por": "pt", "catalan": "ca", "cat": "ca", "greek": "el", "ell": "el", "gre": "el",
    "ancient greek": "grc", "hebrew": "he", "heb": "he", "arabic": "ar", "ara": "ar", "russian": "ru",
    "rus": "ru", "polish": "pl", "pol": "pl", "czech": "cs", "ces": "cs", "cze": "cs", "swedish": "sv",
    "swe": "sv", "danish": "da", "dan": "da", "norwegian": "no", "nor": "no", "finnish": "fi", "fin": "fi",
    "japanese": "ja", "jpn": "ja", "korean": "ko", "kor": "ko", "occitan": "oc", "oci": "oc",
    "old french": "fro", "middle french": "frm", "middle english": "enm", "old english": "ang",
}


def lang_code(raw: str | None) -> str | None:
    """An ISO 639 code for what a file says (``en``, ``eng``, ``English``, ``en-GB``); None if unknown."""
    s = (raw or "").strip().lower().replace("_", "-")
    if not s:
        return None
    if s in LANG_NAMES:
        return LANG_NAMES[s]
    head = s.split("-", 1)[0]
    if head in LANG_NAMES:
        return LANG_NAMES[head]
    return head if head.isascii() and head.isalpha() and 2 <= len(head) <= 3 else None


def select_files(found: list[Path], root: Path, include: list[str] | None, exclude: list[str] | None,
                 limit: int | None, what: str) -> list[Path]:
    """The files kept by the globs (matched against the path below ``root`` and the file name), the
    first ``limit`` of them; byte-identical files refused with one line naming both."""
    def hit(p: Path, globs: list[str]) -> bool:
        rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else p.name
        return any(fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(p.name, g) for g in globs)

    kept = [p for p in found if (not include or hit(p, include)) and not (exclude and hit(p, exclude))]
    if not kept:
        raise BenchError(f"no {what} files left after --include/--exclude ({len(found)} found under {root})")
    if limit is not None:
        kept = kept[:limit]
    seen: dict[str, Path] = {}
    for p in kept:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest in seen:
            raise BenchError(f"{p} and {seen[digest]} are identical files: importing both would double their "
                             f"samples; leave one out with --exclude")
        seen[digest] = p
    return kept


@dataclass
class Labels:
    """Turns transcriptions into (text, semantic_id) per language and counts what it did."""

    lexicon: Lexicon | None
    index: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # lang -> normalized word -> ids
    counts: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)  # samples per language the lexicon has no column for

    def _words(self, lang: str) -> dict[str, set[int]]:
        if lang not in self.index:
            words: dict[str, set[int]] = {}
            if self.lexicon is not None and lang in self.lexicon.languages:
                for word, sid in zip(self.lexicon.words(lang), self.lexicon.ids(lang)):
                    words.setdefault(normalize(word), set()).add(int(sid))
            self.index[lang] = words
        return self.index[lang]

    def label(self, text: str, lang: str, words: bool = True) -> tuple[str, int]:
        """(the text as written in NFC, its concept or -1); ``words=False`` for labels that are no
        words of a language (math symbols: CROHME's "\\log" normalizes to the tree's "log")."""
        nfc = unicodedata.normalize("NFC", text)
        self.counts["labels"] += 1
        self.counts["changed to NFC"] += nfc != text
        if self.lexicon is not None and lang not in self.lexicon.languages:
            self.missing[lang] += 1
        if not words:
            self.counts["math symbols"] += 1
            return nfc, NO_CONCEPT
        ids = self._words(lang).get(normalize(nfc), set())
        if len(ids) > 1:
            self.counts["ambiguous"] += 1
            return nfc, NO_CONCEPT
        if ids:
            self.counts["matched"] += 1
            return nfc, next(iter(ids))
        return nfc, NO_CONCEPT

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c['matched']} of {c['labels']} labels match a lexicon word exactly (after normalization)"
                 if self.lexicon is not None else "no lexicon: every label is within-language only"]
        if self.missing:
            parts.append("the lexicon has no " + ", ".join(f"{l} column ({n} samples, no concept)"
                                                            for l, n in sorted(self.missing.items())))
        if c["math symbols"]:
            parts.append(f"{c['math symbols']} math symbol(s) get no concept")
        if c["ambiguous"]:
            parts.append(f"{c['ambiguous']} match a word of several concepts and got none")
        parts.append(f"{c['changed to NFC']} label(s) normalized to Unicode NFC" if c["changed to NFC"]
                     else "labels already in Unicode NFC")
        return "; ".join(parts) + "; text kept as written"

    def record(self) -> dict:
        return {k: int(self.counts[k]) for k in ("labels", "matched", "ambiguous", "math symbols", "changed to NFC")}


def writers_line(named: Counter, default: Counter, how: str) -> str:
    """``writers: 2 named in the files (40 samples); 337 by default, one per page file (12 samples)``."""
    parts = []
    if named:
        parts.append(f"{len(named)} named in the files ({sum(named.values())} samples)")
    if default:
        parts.append(f"{len(default)} by default, {how} ({sum(default.values())} samples)")
    return "writers: " + "; ".join(parts)


def langs_line(from_file: Counter, fallback: int, lang: str | None) -> str:
    parts = [f"{l} {n}" for l, n in sorted(from_file.items())]
    line = f"languages from the files: {', '.join(parts)}" if parts else "no language named in the files"
    return line + (f"; --lang {lang} for {fallback} samples" if fallback else "")


def pick_lang(found: str | None, default: str | None, where: str) -> str:
    if found:
        return found
    if default is None:
        raise BenchError(f"{where}: no language in the file; pass --lang (an ISO 639 code such as en)")
    return default
