"""Words outside the lexicon, for the built-in ``oov`` split (open-vocabulary reading).

Run ``python -m bench.data.build.oov`` (needs ``wordfreq``, in the ``data-build`` extra). It keeps
common words of each language that are not lexicon words, drawn with a fixed hash from the
frequency list: English and Spanish words of 4-10 letters, Chinese words of 2-3 characters. The
fonts are subset to the lexicon's characters, so a Chinese out-of-lexicon word is a new word made
of characters the lexicon uses (a reader over a closed character set cannot spell a character it
has never seen; Latin words use any letters). Writes ``bench/data/oov_words.csv``.

``--reading`` writes ``bench/data/reading_words.csv`` instead: other out-of-lexicon words, drawn the
same way under another hash and disjoint from the ``oov`` split's words, that training may render
so the reading (CTC) head learns to spell words beyond the lexicon's 1,550 concepts. The ``oov``
split stays words no training image ever showed.

``--tune`` writes ``bench/data/tune_words.csv``: a third draw, disjoint from the lexicon, the ``oov``
split and the reading words, that no training run renders. ``ours.tune_read`` renders them with
in-domain writers to choose how much ``ours-read`` trusts its reading, on words it has never seen,
without looking at the ``oov`` split.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
import zlib
from pathlib import Path

DATA = Path(__file__).resolve().parents[1]
OUT = DATA / "oov_words.csv"
READING_OUT = DATA / "reading_words.csv"  # bench.data.READING_WORDS
TUNE_OUT = DATA / "tune_words.csv"  # bench.data.TUNE_WORDS
TUNE_PER_LANG = 1000
PER_LANG = 200
READING_PER_LANG = 1000
TOP_N = 30000
LATIN = {"en": re.compile(r"^[a-z]{4,10}$"), "es": re.compile(r"^[a-záéíóúüñ]{4,10}$")}
HAN = re.compile(r"^[\u4e00-\u9fff]{2,3}$")
# Frequency lists come from web text: leave out slurs and obscenities (a benchmark is shown to people).
BLOCK = set("""puta putas puto putos mierda coño joder pendejo pendejos cabrón cabrones verga culo
chingar chinga maricón marica zorra fuck fucking fucked shit bitch bitches cunt dick cock pussy whore
nigga nigger faggot slut bastard damn porn porno sexo sexy""".split())


def _lexicon(path: Path) -> tuple[dict[str, set[str]], set[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    words = {l: {unicodedata.normalize("NFC", r[l]).casefold() for r in rows if r.get(l)} for l in ("en", "es", "zh")}
    zh_chars = {c for w in words["zh"] for c in w}
    return words, zh_chars


def pick(lang: str, lexicon: dict[str, set[str]], zh_chars: set[str], n: int = PER_LANG, salt: str = "oov",
         exclude: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """(word, frequency rank) of ``n`` out-of-lexicon words of ``lang`` not in ``exclude``, chosen by a
    fixed hash salted with ``salt``."""
    from wordfreq import top_n_list

    taken = lexicon["en"] | lexicon["es"] | lexicon["zh"] | exclude
    cands = []
    for rank, w in enumerate(top_n_list(lang, TOP_N)):
        w = unicodedata.normalize("NFC", w).casefold()
        if w in taken or w in BLOCK:
            continue
        if lang == "zh":
            if not HAN.match(w) or not set(w) <= zh_chars:
                continue
        elif not LATIN[lang].match(w):
            continue
        cands.append((w, rank))
    cands.sort(key=lambda c: zlib.crc32(f"{salt}:{lang}:{c[0]}".encode()))
    return sorted(cands[:n], key=lambda c: c[1])


def build(lexicon: Path = DATA / "lexicon.csv", out: Path = OUT) -> Path:
    import wordfreq

    words, zh_chars = _lexicon(lexicon)
    version = getattr(wordfreq, "__version__", "3.x")
    with out.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["lang", "word", "freq_rank", "source"])
        for lang in ("en", "es", "zh"):
            for w, rank in pick(lang, words, zh_chars):
                wr.writerow([lang, w, rank, f"wordfreq {version} top_n_list({lang!r}, {TOP_N})"])
    return out


def oov_split_words(path: Path = OUT) -> frozenset[str]:
    """Every word of a word list (by default the ``oov`` split's, which training must never render)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return frozenset(r["word"] for r in csv.DictReader(fh))


def build_reading(lexicon: Path = DATA / "lexicon.csv", oov: Path = OUT, out: Path = READING_OUT,
                  n: int = READING_PER_LANG) -> Path:
    """``reading_words.csv``: ``n`` training words per language outside the lexicon and the oov split."""
    return _write_draw(lexicon, oov_split_words(oov), out, n, "reading")


def build_tune(lexicon: Path = DATA / "lexicon.csv", oov: Path = OUT, reading: Path = READING_OUT,
               out: Path = TUNE_OUT, n: int = TUNE_PER_LANG) -> Path:
    """``tune_words.csv``: ``n`` words per language that are in no split and no training list."""
    return _write_draw(lexicon, oov_split_words(oov) | oov_split_words(reading), out, n, "tune")


def _write_draw(lexicon: Path, exclude: frozenset[str], out: Path, n: int, salt: str) -> Path:
    import importlib.metadata

    words, zh_chars = _lexicon(lexicon)
    version = importlib.metadata.version("wordfreq")
    with out.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["lang", "word", "freq_rank", "source"])
        for lang in ("en", "es", "zh"):
            for w, rank in pick(lang, words, zh_chars, n, salt=salt, exclude=exclude):
                wr.writerow([lang, w, rank, f"wordfreq {version} top_n_list({lang!r}, {TOP_N})"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lexicon", type=Path, default=DATA / "lexicon.csv")
    ap.add_argument("--out", type=Path, default=None)
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--reading", action="store_true", help="write the training reading words instead")
    which.add_argument("--tune", action="store_true", help="write the words that tune ours-read's fusion instead")
    args = ap.parse_args(argv)
    if args.tune:
        print(build_tune(args.lexicon, out=args.out or TUNE_OUT))
    elif args.reading:
        print(build_reading(args.lexicon, out=args.out or READING_OUT))
    else:
        print(build(args.lexicon, args.out or OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
