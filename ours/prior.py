"""A unigram word prior for the reading rows: how often a word is written, from a general frequency list.

A reader that picks among gallery words knows nothing of word frequency, so on running handwriting it
reads ``off`` for ``of`` and ``inn`` for ``in``. Lexicon-driven handwriting readers add a language model;
the smallest is a unigram prior, ``lambda * ln f(word)`` added to each gallery word's score.

The frequencies are ``wordfreq`` 3.1.1's ``small`` lists (words of Zipf >= 3: 29k-39k per language,
from Wikipedia, subtitles, news, books, web text and more; CC-BY-SA 4.0 data), shipped as
``ours/wordprior/<lang>.tsv.gz`` so that inference needs no extra package. A word outside the list gets
``FLOOR``. ``python -m ours.prior build`` rewrites the tables (needs ``pip install wordfreq==3.1.1``).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

TABLES = Path(__file__).resolve().parent / "wordprior"
LANGS = ("en", "es", "zh")
WORDLIST = "small"
WORDFREQ_VERSION = "3.1.1"
FLOOR = 5e-7  # below the lists' smallest frequency (about 1.02e-6, Zipf 3)
_MULTI_DIGIT = re.compile(r"\d[\d.,]+")


def lookup_form(word: str) -> str:
    """A gallery word as wordfreq writes words: the harness's comparison form (``bench.textnorm``: NFC,
    case-folded, punctuation at the ends dropped, so "Said." -> "said") with curly apostrophes straight."""
    from bench.textnorm import normalize

    return normalize(word).replace("\u2019", "'")


def key(word: str) -> str:
    """The table key of a gallery word: its lookup form with every digit of a multi-digit number made 0
    ("1914" -> "0000"), as wordfreq stores numbers (one entry per digit pattern)."""
    return _MULTI_DIGIT.sub(lambda m: re.sub(r"\d", "0", m.group()), lookup_form(word))


# wordfreq's estimate of one number's share of its digit pattern (wordfreq/numbers.py, restated):
# the leading digit's share (Benford's law, plus a share for a leading zero) over 10 per further digit;
# a four-digit number is a year with probability 0.9, on a log-linear curve fitted to Google Books.
LEADING_DIGIT = (0.009, 0.300, 0.175, 0.124, 0.096, 0.078, 0.066, 0.057, 0.050, 0.045)
YEAR_LOG_PEAK, REFERENCE_YEAR, PLATEAU_YEARS, NOT_YEAR = -1.9185, 2019, 20, 0.1


def _benford(digits: str) -> float:
    return LEADING_DIGIT[int(digits[0])] / 10 ** (len(digits) - 1)


def _year(digits: str) -> float:
    year = int(digits)
    if year <= REFERENCE_YEAR:
        log_share = YEAR_LOG_PEAK - 0.0083 * (REFERENCE_YEAR - year)
    elif year <= REFERENCE_YEAR + PLATEAU_YEARS:
        log_share = YEAR_LOG_PEAK
    else:
        log_share = YEAR_LOG_PEAK - 0.2 * (year - REFERENCE_YEAR - PLATEAU_YEARS)
    return 10.0 ** log_share + NOT_YEAR * _benford(digits)


def number_share(form: str) -> float:
    """The share of its digit pattern's frequency that this word's numbers get (1.0 without numbers)."""
    share = 1.0
    for match in _MULTI_DIGIT.findall(form):
        for digits in re.findall(r"\d+", match):
            share *= _year(digits) if len(digits) == 4 else _benford(digits)
    return share


def table_path(lang: str) -> Path:
    return TABLES / f"{lang}.tsv.gz"


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=None)
def _read(stamp: tuple[str, int, int]) -> dict[str, float]:
    out: dict[str, float] = {}
    with gzip.open(stamp[0], "rt", encoding="utf-8") as fh:
        for line in fh:
            word, freq = line.rstrip("\n").split("\t")
            out[word] = float(freq)
    return out


def load_table(lang: str) -> dict[str, float]:
    """word -> frequency for ``lang``; an empty table for a language without one (no prior there).
    Cached per file version (path, mtime, size), so a rewritten table is read again."""
    path = table_path(lang)
    return _read(_stamp(path)) if path.is_file() else {}


def log_prior(words: Sequence[str], lang: str) -> np.ndarray:
    """ln f(word) for each word; ``FLOOR`` for a word outside ``lang``'s list, zeros where ``lang`` has none."""
    table = load_table(lang)
    if not table:
        return np.zeros(len(words), dtype=np.float64)
    return np.log(np.array([_frequency(table, w) for w in words], dtype=np.float64))


def _frequency(table: dict[str, float], word: str) -> float:
    """wordfreq's frequency of one gallery word: its entry (a number's pattern entry times the number's
    share of it), ``FLOOR`` when it has none."""
    form = lookup_form(word)
    freq = table.get(key(form))
    if freq is None:
        return FLOOR
    return max(freq * number_share(form), FLOOR) if any(c.isdigit() for c in form) else freq


def tables_digest() -> str:
    """Content hash of every table in the folder (their text, not their gzip bytes) and of the lookup
    settings: part of the identity of a row that uses the prior."""
    files = sorted(TABLES.glob("*.tsv.gz")) if TABLES.is_dir() else []
    return _digest(tuple(_stamp(f) for f in files))


@lru_cache(maxsize=None)
def _digest(stamps: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256(f"{WORDLIST}|{FLOOR}|{_MULTI_DIGIT.pattern}".encode())
    for path, _, _ in stamps:
        with gzip.open(path, "rb") as fh:
            h.update(Path(path).name.encode() + b"\0" + fh.read() + b"\0")
    return h.hexdigest()[:16]


def clear_cache() -> None:
    """Forget every table read (for a test that rewrites one within the same clock tick)."""
    _read.cache_clear()
    _digest.cache_clear()


def build(out: Path = TABLES) -> dict[str, int]:
    """Write the tables from wordfreq's lists (frequencies rounded to 4 significant digits)."""
    try:
        import wordfreq
    except ImportError as err:
        raise SystemExit(f"error: building the word prior needs wordfreq ({err}); "
                         f"fix: pip install wordfreq=={WORDFREQ_VERSION}") from None
    from importlib.metadata import version

    if version("wordfreq") != WORDFREQ_VERSION:
        print(f"warning: wordfreq {version('wordfreq')}; the shipped tables came from {WORDFREQ_VERSION}",
              file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for lang in LANGS:
        freqs = wordfreq.get_frequency_dict(lang, WORDLIST)
        rows = sorted(((w, f) for w, f in freqs.items() if w and "\t" not in w and "\n" not in w),
                      key=lambda wf: (-wf[1], wf[0]))
        # mtime=0: the same lists give byte-identical files, so the digest names the content
        with open(out / f"{lang}.tsv.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for w, f in rows:
                gz.write(f"{w}\t{float(f'{f:.4g}')!r}\n".encode("utf-8"))
        sizes[lang] = len(rows)
    clear_cache()
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ours.prior", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write ours/wordprior/<lang>.tsv.gz from wordfreq")
    b.add_argument("--out", type=Path, default=TABLES)
    args = ap.parse_args(argv)
    if args.cmd == "build":
        for lang, n in build(args.out).items():
            print(f"{lang}: {n} words -> {args.out / f'{lang}.tsv.gz'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
