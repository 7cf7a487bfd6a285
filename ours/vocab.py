"""What a run learns to read: the lexicon's words and concept ids per language, and the CTC charset."""
from __future__ import annotations

import random
from dataclasses import replace

from .config import ConfigLike, TrainConfig, read_config

Vocab = tuple[dict[str, list[str]], dict[str, list[int]]]


def lexicon_words(cfg: ConfigLike) -> Vocab:
    """Words and semantic ids per language, optionally a deterministic subset of concepts."""
    cfg = read_config(cfg)
    if cfg.words is not None:  # inline vocabulary (tests)
        return ({k: list(v) for k, v in cfg.words.items()}, {k: list(v) for k, v in (cfg.ids or {}).items()})
    from bench.dataset.lexicon import BUILTIN_LEXICON, Lexicon

    lex = Lexicon.load(cfg.lexicon or BUILTIN_LEXICON)
    langs = cfg.languages or lex.languages
    keep = None
    if cfg.concepts == "builtin" and not cfg.lexicon:
        from bench.data import builtin

        rows = builtin._load_lexicon(builtin.LEXICON)
        keep = {int(r["semantic_id"]) for r in builtin._concepts(rows, builtin.ID_WORDS, 0)}
    if cfg.max_concepts:
        all_ids = sorted({i for lang in langs for i in lex.ids(lang) if keep is None or i in keep})
        keep = set(random.Random(cfg.seed).sample(all_ids, min(cfg.max_concepts, len(all_ids))))
    words, ids = {}, {}
    for lang in langs:
        pairs = [(w, i) for w, i in zip(lex.words(lang), lex.ids(lang)) if keep is None or i in keep]
        words[lang] = [w for w, _ in pairs]
        ids[lang] = [i for _, i in pairs]
    return words, ids


def anchor_vocab(cfg: TrainConfig) -> Vocab:
    """Every lexicon word (not just the trained subset): the anchor table covers the whole lexicon."""
    if cfg.words is not None:
        return lexicon_words(cfg)
    return lexicon_words(replace(cfg, concepts="all", max_concepts=None))


def make_charset(words: dict[str, list[str]]) -> str:
    """Characters of the (case-folded) lexicon, for the CTC head; index 0 is the blank."""
    return "".join(sorted({c for ws in words.values() for w in ws for c in w.casefold() if not c.isspace()}))


def spelled(text: str) -> str:
    """What the CTC head spells of a text: the harness's comparison form (case-folded, edge
    punctuation stripped, as every reading is scored) without spaces."""
    from bench.textnorm import normalize

    return "".join(c for c in normalize(text) if not c.isspace())


def spellable(text: str, charset: str | set[str]) -> bool:
    """True when every character the head would spell is in ``charset`` (a partial target is wrong)."""
    s = spelled(text)
    return bool(s) and set(s) <= set(charset)


def ctc_targets(texts: list[str], charset: str) -> list[list[int]]:
    """Each text as CTC label indices (1-based into ``charset``; characters outside it are skipped)."""
    index = {c: i + 1 for i, c in enumerate(charset)}
    return [[index[c] for c in t.casefold() if c in index] for t in texts]
