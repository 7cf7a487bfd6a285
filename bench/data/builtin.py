"""The built-in benchmark: which writers belong to which split, and building the dataset folder.

Splits (per language):
- ``train``: writers our model trains on (its trainer renders images on the fly from them).
- ``id``: in-domain test, 15 of the training writers, rendered with seeds reserved for evaluation
  (>= ``EVAL_SEED_BASE``), so no test image is ever a training image.
- ``ood``: writers that share no glyph source with any training writer (``glyph_source``): no font
  family, no stroke set. Whole look-alike groups go to one side: Latin font clusters (e.g. Caveat
  and Caveat Brush), Hershey skeleton clusters; for Chinese, the running-script, grass-script and
  marker faces (Long Cang, Liu Jian Mao Cao, ZCOOL KuaiLe) and the pen writers drawn from their
  traced skeletons are out-of-domain, while the kai faces, the brush kai and running-brush faces,
  the hanzi-writer medians (Arphic kai) and the skeletons traced from those stay in train. Pen
  families (ballpoint, pencil, ...) are ways of drawing, used on both sides.
- ``oov``: words outside the lexicon (``oov_words.csv``), each written 3 times by ``ood`` writers;
  semantic_id -1, so within-language retrieval only (the gallery is the lexicon plus these words).
- Latin words are written lowercase, Capitalized or in CAPITALS (``synth.casing.CASE_MIX``) in
  every split; the harness case-folds both sides.

Default sizes follow Table 1 of the paper: 1,460 words x 15 styles per language in-domain, and
7,200 / 5,376 / 7,304 (zh / en / es) out-of-domain samples; ``scale`` shrinks words and styles.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import tempfile
import zlib
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from bench.errors import BenchError

from . import synth
from .code_version import code_version
from .synth import store
from .synth.skeletons import skeletons
from .synth.writers import HERSHEY_CLUSTERS, HERSHEY_OOD, WriterSpec

LANGS = ("en", "zh", "es")
SPLITS = ("train", "id", "ood", "oov")
OOV_WORDS = Path(__file__).resolve().parent / "oov_words.csv"  # bench.data.build.oov
OOV_PER_WORD = 3  # renderings of each out-of-lexicon word, by out-of-domain writers
ID_WORDS = 1460
ID_STYLES = 15
OOD_SAMPLES = {"zh": 7200, "en": 5376, "es": 7304}
TRAIN_PER_WORD = 2  # materialized train images per word (the trainer renders its own on the fly)
EVAL_SEED_BASE = 1 << 40  # seeds at or above this are reserved for the id/ood test images
ZH_OOD_FONT_GROUPS = ("running", "marker", "grass")  # Long Cang, ZCOOL KuaiLe, Liu Jian Mao Cao
LATIN_FONT_OOD_EVERY = 4  # every 4th Latin font cluster (per print/cursive group) is out-of-domain
ID_FONT_SHARE = {"zh": 5, "en": 8, "es": 8}  # fonts among the 15 in-domain styles; pens the rest
LEXICON = Path(__file__).resolve().parent / "lexicon.csv"


def _h(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


@lru_cache(maxsize=1)
def _latin_font_ood_clusters() -> frozenset[str]:
    """Out-of-domain Latin font clusters: every 4th, ordered by hash within print and cursive."""
    out = set()
    entries = [e for e in store.index()["fonts"] if e["script"] == "latin" and e["langs"]]
    for group in sorted({e["group"] for e in entries}):  # print, cursive, caps: each split 3:1
        clusters = sorted({synth.get_writer(f"font:{e['id']}").group for e in entries if e["group"] == group}, key=_h)
        out.update(clusters[i] for i in range(1, len(clusters), LATIN_FONT_OOD_EVERY))
    return frozenset(out)


def glyph_source(w: WriterSpec) -> str:
    """Where a writer's glyph shapes come from: a font family or a stroke set, whatever pen draws them.

    A font writer and the pen writers drawn from that font's traced skeletons share one source;
    the split never puts one source on both sides.
    """
    if w.kind == "font":
        return f"font:{w.source}"
    if w.source.startswith(store.SKEL_PREFIX):
        return f"font:{w.source.removeprefix(store.SKEL_PREFIX)}"
    if w.source == "hanzi-writer":
        return "strokes:hanzi-writer"
    return f"strokes:{HERSHEY_CLUSTERS.get(w.source, w.source)}"


def is_ood(w: WriterSpec) -> bool:
    """Whether a writer is reserved for the out-of-domain split (decided by its glyph source's group)."""
    if w.kind == "pen":
        if w.source == "hanzi-writer":
            return False
        if w.source.startswith(store.SKEL_PREFIX):
            return w.group in ZH_OOD_FONT_GROUPS
        return w.source in HERSHEY_OOD
    if "zh" in w.langs:
        return w.group in ZH_OOD_FONT_GROUPS
    return w.group in _latin_font_ood_clusters()


def _id_writers(lang: str, train: list[WriterSpec], n: int = ID_STYLES) -> list[WriterSpec]:
    """Pick the in-domain test styles: a fixed mix of fonts and pens spread over pen families."""
    fonts = sorted((w for w in train if w.kind == "font"), key=lambda w: _h(lang + w.id))
    pens = sorted((w for w in train if w.kind == "pen"), key=lambda w: _h(lang + w.id))
    n_fonts = min(len(fonts), round(ID_FONT_SHARE.get(lang, 8) * n / ID_STYLES))
    by_group: dict[str, list[WriterSpec]] = {}
    for w in pens:
        by_group.setdefault(w.group, []).append(w)
    spread = [w for i in range(max(map(len, by_group.values()), default=0)) for g in sorted(by_group, key=_h)
              for w in by_group[g][i : i + 1]]
    chosen = fonts[:n_fonts] + spread[: n - n_fonts]
    return chosen + fonts[n_fonts : n_fonts + n - len(chosen)]


def split_writers(split: str, lang: str, scale: float = 1.0) -> list[WriterSpec]:
    """Writers of one split for one language (``scale`` < 1 keeps fewer of the test styles)."""
    if split not in SPLITS:
        raise BenchError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    everyone = synth.writers(lang)
    if not everyone:
        raise BenchError(f"no writer can write {lang!r}")
    train = [w for w in everyone if not is_ood(w)]
    if split == "train":
        return train
    if split == "id":
        return _id_writers(lang, train, _n_styles(ID_STYLES, scale))
    if split == "oov":  # words outside the lexicon, written by the out-of-domain writers
        split = "ood"
    ood = sorted((w for w in everyone if is_ood(w)), key=lambda w: _h(lang + w.id))
    if scale >= 1.0:
        return ood
    fonts = [w for w in ood if w.kind == "font"]
    pens = [w for w in ood if w.kind == "pen"]
    n = _n_styles(len(ood), scale)
    k = min(len(fonts), max(1, round(n * len(fonts) / len(ood))))
    return fonts[:k] + pens[: n - k]


def _by_source(ws: list[WriterSpec]) -> list[list[WriterSpec]]:
    """Writers grouped by (glyph source, kind), in a fixed order: OOD samples spread evenly over
    sources, so a font with many pen writers traced from it does not crowd out the other faces."""
    groups: dict[tuple[str, str], list[WriterSpec]] = {}
    for w in ws:
        groups.setdefault((glyph_source(w), w.kind), []).append(w)
    return [groups[k] for k in sorted(groups)]


def _n_styles(full: int, scale: float) -> int:
    return full if scale >= 1.0 else max(2, min(full, round(full * math.sqrt(scale))))


# ----------------------------------------------------------------------------- the dataset


def _load_lexicon(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise BenchError(f"lexicon not found: {path} (build it with python -m bench.data.build.lexicon)")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return sorted(rows, key=lambda r: int(r["semantic_id"]))


def _concepts(rows: list[dict[str, str]], n: int, seed: int) -> list[dict[str, str]]:
    """A fixed sample of n concepts that have a word in every language."""
    full = [r for r in rows if all(r.get(l) for l in LANGS)]
    full.sort(key=lambda r: _h(f"{seed}:{r['semantic_id']}"))
    return sorted(full[:n], key=lambda r: int(r["semantic_id"]))


def plan(scale: float = 1.0, seed: int = 0, lexicon: Path = LEXICON) -> list[dict]:
    """Every sample of the dataset as a row (path, text, semantic_id, lang, style, split, seed)."""
    rows = _load_lexicon(lexicon)
    n_words = max(4, round(ID_WORDS * scale))
    concepts = _concepts(rows, n_words, seed)
    out: list[dict] = []

    counters = {(s, l): 0 for s in SPLITS for l in LANGS}

    def add(split: str, lang: str, concept: dict, w: WriterSpec, k: int, base: int) -> None:
        n = counters[(split, lang)]
        counters[(split, lang)] += 1
        text = synth.cased_for(concept[lang], w, (_h(f"case:{seed}:{split}:{lang}:{n}") % 10_000) / 10_000)
        out.append({
            "path": f"images/{split}/{lang}/{n:06d}.png", "text": text,
            "semantic_id": int(concept["semantic_id"]), "lang": lang, "style": w.id, "split": split,
            "seed": base + k,
        })

    for li, lang in enumerate(LANGS):
        train = split_writers("train", lang)
        ids = split_writers("id", lang, scale)
        ood = split_writers("ood", lang, scale)
        lang_base = (seed * 8 + li) * 10_000_000
        k = 0
        for c in concepts:  # materialized train: a couple of renderings per word, random training styles
            for r in range(TRAIN_PER_WORD):
                w = train[_h(f"{seed}:{lang}:{c['semantic_id']}:{r}") % len(train)]
                add("train", lang, c, w, k, lang_base)
                k += 1
        for c in concepts:
            for w in ids:
                add("id", lang, c, w, k, EVAL_SEED_BASE + lang_base)
                k += 1
        n_ood = max(len(concepts), round(OOD_SAMPLES[lang] * scale))
        by_source = _by_source(ood)
        for j in range(n_ood):
            c = concepts[j % len(concepts)]
            rnd = j // len(concepts)
            ws = by_source[(_h(f"{seed}:{c['semantic_id']}") + rnd) % len(by_source)]
            w = ws[_h(f"{seed}:{lang}:{j}") % len(ws)]
            add("ood", lang, c, w, k, EVAL_SEED_BASE + lang_base)
            k += 1
        oov = _oov_words(lang)
        for j, word in enumerate(oov[: max(4, round(len(oov) * scale))]):
            for rnd in range(OOV_PER_WORD):
                ws = by_source[(_h(f"{seed}:oov:{word}") + rnd) % len(by_source)]
                w = ws[_h(f"{seed}:{lang}:oov:{j}:{rnd}") % len(ws)]
                if synth.can_draw(word, w):
                    add("oov", lang, {"semantic_id": -1, lang: word}, w, k, EVAL_SEED_BASE + lang_base)
                k += 1
    return out


def _oov_words(lang: str) -> list[str]:
    """Out-of-lexicon words of one language (semantic_id -1: within-language retrieval only)."""
    if not OOV_WORDS.is_file():
        return []
    with OOV_WORDS.open(encoding="utf-8", newline="") as fh:
        return [r["word"] for r in csv.DictReader(fh) if r["lang"] == lang]


def fingerprint(scale: float = 1.0, seed: int = 0, lexicon: Path = LEXICON) -> str:
    """Identity of a build: lexicon bytes, assets, scale, seed and code version."""
    if not lexicon.is_file():
        raise BenchError(f"lexicon not found: {lexicon}")
    h = hashlib.sha256()
    oov = hashlib.sha256(OOV_WORDS.read_bytes()).hexdigest() if OOV_WORDS.is_file() else "-"
    for part in (hashlib.sha256(lexicon.read_bytes()).hexdigest(), oov, store.fingerprint(), repr(float(scale)),
                 str(int(seed)), code_version()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _render_one(job: tuple[str, str, str, str, str, int]) -> None:
    root, path, text, lang, style, seed = job
    img = synth.render_word(text, lang, synth.get_writer(style), seed)
    img.save(os.path.join(root, path), format="PNG", compress_level=1)


def build(root: Path, scale: float = 1.0, seed: int = 0, progress: bool = True, lexicon: Path = LEXICON,
          processes: int = 2) -> Path:
    """Render the whole dataset into ``root`` (manifest.csv, images/, dataset.json, lexicon.csv)."""
    root = Path(root)
    rows = plan(scale, seed, lexicon)
    bad = sorted({(r["style"], r["text"]) for r in rows if not synth.can_draw(r["text"], synth.get_writer(r["style"]))})
    if bad:
        raise BenchError(f"the synthesizer assets do not cover the lexicon ({len(bad)} words, e.g. {bad[0][1]!r} by "
                         f"{bad[0][0]}): run python -m bench.data.build.assets")
    for split in SPLITS:
        for lang in LANGS:
            (root / "images" / split / lang).mkdir(parents=True, exist_ok=True)
    jobs = [(str(root), r["path"], r["text"], r["lang"], r["style"], r["seed"]) for r in rows]
    _preload(rows)
    bar = _progress(len(jobs), progress, f"rendering built-in data (scale {scale:g})")
    chunk = 64
    if processes > 1 and len(jobs) > 4 * chunk:
        with get_context("fork").Pool(processes) as pool:
            for _ in pool.imap_unordered(_render_one, jobs, chunksize=chunk):
                bar.update(1)
    else:
        for j in jobs:
            _render_one(j)
            bar.update(1)
    bar.close()
    with (root / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        cols = ["path", "text", "semantic_id", "lang", "style", "split", "id"]
        wr = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        for r in rows:
            wr.writerow({**r, "id": Path(r["path"]).with_suffix("").as_posix().removeprefix("images/")})
    shutil.copyfile(lexicon, root / "lexicon.csv")
    meta = {
        "name": f"xsb-builtin-{scale:g}",
        "description": "xscript-bench built-in synthetic handwriting (en, zh, es): train / id / ood splits",
        "lexicon": "lexicon.csv", "fingerprint": fingerprint(scale, seed, lexicon), "scale": scale,
        "seed": seed, "code_version": code_version(), "assets": store.fingerprint(),
        "eval_seed_base": EVAL_SEED_BASE,
        "styles": {s: {l: [w.id for w in split_writers(s, l, scale)] for l in LANGS} for s in SPLITS},
    }
    (root / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return root


def _preload(rows: list[dict]) -> None:
    """Build paper tiles and the pen skeletons of every character once, before forking the workers."""
    from .synth import augment

    augment._tiles()
    chars: dict[str, set[str]] = {}
    for r in rows:
        w = synth.get_writer(r["style"])
        if w.kind == "pen":
            chars.setdefault(w.source, set()).update(r["text"])
    for source, cs in chars.items():
        table = skeletons(source)
        for ch in cs:
            table[ch]


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, mininterval=0.5)


def cache_root() -> Path:
    """Parent folder of cached builds: ``$XSB_DATA_DIR`` or ``~/.cache/xscript-bench/data``."""
    env = os.environ.get("XSB_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "xscript-bench" / "data"


def ensure_built(scale: float = 1.0, root: Path | None = None, seed: int = 0, progress: bool = True,
                 lexicon: Path = LEXICON) -> Path:
    """The cached build for (lexicon, assets, scale, seed, code), building it once, atomically."""
    parent = Path(root) if root is not None else cache_root()
    fp = fingerprint(scale, seed, lexicon)
    final = parent / f"builtin-{scale:g}-{fp}"
    if (final / "dataset.json").is_file():
        return final
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".building-{scale:g}-", dir=parent))
    try:
        build(tmp, scale, seed, progress, lexicon)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "dataset.json").is_file():  # someone else won the race with a good build
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
