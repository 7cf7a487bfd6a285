"""``bench data split-words SRC --out DST``: a dataset of transcribed lines -> a dataset of words.

Why: real exports (eScriptorium's ALTO, most HTR-United sets) transcribe whole lines, while the
harness measures word retrieval, where models that read or embed single words score near zero on
lines. A line of ``k >= 2`` words is cut at the ``k - 1`` widest gaps of its ink column profile and
kept only when the cut is clear, by the same rule the IAM-OnDB importer applies to pen gaps
(``gaps.cut_spans``): the word gaps clearly wider than every gap left inside a word
(``--min-gap-ratio``), every word's width per letter close to the line's, every cut near where the
letter counts put it. A line that fails is dropped and counted by reason, never cut somewhere else.
Its words are those the IAM-OnDB importer cuts (``gaps.words_of``): a token of punctuation alone
("Mr . Foot", French "Bonjour !") has no ink gap of its own and joins its neighbouring word; a
line with a stand-alone ``&`` or dash, which is written apart, is dropped instead.

Ink is the pixels at or below the Otsu threshold of the line's gray values, leaving out pure white
(255): the importers paint everything outside a line's polygon white, and that third class would
otherwise pull the threshold between paper and white. Isolated pixels and tiny column runs (dust,
JPEG noise) do not count as ink, so a speck cannot close a word gap. Each word is trimmed to its ink
with a small margin that never reaches its neighbour's ink; one-token lines are copied as they are.
"""
from __future__ import annotations

import itertools
import shutil
import unicodedata
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.errors import BenchError
from bench.progress import progress_bar

from .convert import LEXICON_NAME, ImportOptions, _finish, _staging, _warn
from .gaps import CUT_LETTERS, GAP_RATIO, WIDTH_RATIO, cut_spans, words_of
from .importing import Labels

if TYPE_CHECKING:
    from PIL import Image

    from bench.dataset import Dataset

MARGIN = 0.05  # margin around a word's ink, as a share of the line height (at least 2 px)
SPECK = 0.02  # a run of ink columns holding under (SPECK * line height)^2 ink pixels is a speck
UNREADABLE = "image cannot be read"
NO_TEXT = "no text"
ONLY_PUNCT = "no word, only punctuation"
APART = "a stand-alone & or dash (written apart, which the word rule would join to a word)"


def has_apart_symbol(text: str) -> bool:
    """Whether a line holds an ``&`` or a dash as a token of its own. ``words_of`` joins punctuation
    to its word because most marks hug the word in handwriting; an ampersand or a spaced dash is drawn
    with gaps of its own, so the cut would land beside it and one crop would carry the wrong label
    ("1738 - Washington" cut "173" | "8 - Washington"). Such lines are dropped, not guessed."""
    return any(tok == "&" or all(unicodedata.category(c) == "Pd" for c in tok) for tok in text.split())


def otsu(values: np.ndarray) -> int:
    """Otsu's threshold of 8-bit ``values``: ink is ``<=`` it. One distinct value is all ink."""
    lo, hi = int(values.min()), int(values.max())
    if lo == hi:
        return hi
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * w0 - mu) ** 2 / (w0 * (1.0 - w0))
    between[~np.isfinite(between)] = -1.0
    between[hi:] = -1.0  # both classes must hold pixels
    return int(np.argmax(between))


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Boolean ink mask of a grayscale line: Otsu over the non-white pixels, isolated pixels removed
    (an ink pixel needs two ink neighbours, so dust and JPEG noise drop out; strokes keep their body)."""
    values = gray[gray < 255]
    if values.size == 0:
        return np.zeros(gray.shape, dtype=bool)
    mask = gray <= otsu(values)
    pad = np.pad(mask, 1).astype(np.uint8)
    h, w = mask.shape
    neighbours = sum(pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    return mask & (neighbours >= 2)


def ink_spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of columns holding ink, ``(x0, x1)`` with ``x1`` exclusive (so a gap is ``x0' - x1``
    blank columns); runs with less ink than a speck are blanked in ``mask`` and left out."""
    cols = mask.sum(axis=0)
    inked = np.concatenate([[0], (cols > 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(inked))
    speck = max(4.0, (SPECK * mask.shape[0]) ** 2)
    spans = []
    for x0, x1 in zip(edges[0::2].tolist(), edges[1::2].tolist()):
        if cols[x0:x1].sum() < speck:
            mask[:, x0:x1] = False
        else:
            spans.append((x0, x1))
    return spans


Box = tuple[int, int, int, int]


def word_boxes(im: Image.Image, words: list[str], gap_ratio: float = GAP_RATIO) -> tuple[list[Box] | None, str]:
    """One box (x0, y0, x1, y1; x1, y1 exclusive) per word of the line image ``im``, each its ink plus
    a margin that stays inside the gaps, or None and why the cut is not clear."""
    mask = ink_mask(np.asarray(im.convert("L")))
    spans = ink_spans(mask)
    groups, reason = cut_spans(spans, words, gap_ratio, what="ink")
    if groups is None:
        return None, reason
    h, w = mask.shape
    margin = max(2, round(MARGIN * h))
    boxes = []
    for i, (a, z) in enumerate(groups):
        x0, x1 = spans[a][0], spans[z][1]
        rows = np.flatnonzero(mask[:, x0:x1].any(axis=1))
        if not len(rows):
            return None, "a word without ink"
        left = margin if i == 0 else min(margin, (x0 - spans[a - 1][1]) // 2)
        right = margin if i == len(groups) - 1 else min(margin, (spans[z + 1][0] - x1) // 2)
        boxes.append((max(0, x0 - left), max(0, int(rows[0]) - margin), min(w, x1 + right),
                      min(h, int(rows[-1]) + 1 + margin)))
    return boxes, ""


def split_words(src: str | Path, out: str | Path, gap_ratio: float = GAP_RATIO, progress: bool = True) -> Path:
    """Write to ``out`` a dataset of the words of the line dataset ``src`` (see the module doc)."""
    from bench.dataset import Dataset, ImageLoadError

    if not gap_ratio >= 1.0:
        raise BenchError(f"--min-gap-ratio must be at least 1 (a word gap as wide as a letter gap is no "
                         f"clear cut), got {gap_ratio:g}")
    src, out = Path(src).expanduser(), Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out is not a folder: {out}")
    if out.is_dir() and any(out.iterdir()):
        raise BenchError(f"--out folder is not empty: {out}")
    ds = Dataset.load(src)
    if out.resolve().is_relative_to(ds.root):
        raise BenchError(f"--out {out} is inside the source dataset {ds.root}")
    labels = Labels(ds.lexicon)
    dropped: Counter = Counter()
    done: Counter = Counter()
    rows: list[dict] = []
    ids: set[str] = set()
    folders = Folders(reserved=("manifest.csv", "dataset.json", LEXICON_NAME))
    with _staging(out, append=False) as stage:
        bar = progress_bar(len(ds.samples), "split-words lines", progress, unit="line")
        for line in ds.samples.itertuples(index=False):
            bar.update()
            tokens = words_of(str(line.text))
            if not tokens:
                dropped[ONLY_PUNCT if str(line.text).strip() else NO_TEXT] += 1
                continue
            if len(tokens) > 1 and has_apart_symbol(str(line.text)):
                dropped[APART] += 1
                continue
            try:
                im = ds.load_image(line.path)
            except ImageLoadError as exc:
                dropped[UNREADABLE] += 1
                _note_first(dropped, f"{line.path}: {exc}")
                continue
            if len(tokens) == 1:
                crops, rel = [None], [_copy_line(ds, line.path, im, stage, folders)]
                done["one-word lines kept"] += 1
            else:
                boxes, reason = word_boxes(im, tokens, gap_ratio)
                if boxes is None:
                    dropped[f"split not clear ({reason})"] += 1
                    continue
                crops = [im.crop(b) for b in boxes]
                names = [f"{k:02d}.png" for k in range(len(tokens))]
                folder = folders.pick(line.path, names)
                rel = [f"{folder}/{n}" for n in names]
                done["lines split"] += 1
                done["words from split lines"] += len(tokens)
            for k, (token, crop, path) in enumerate(zip(tokens, crops, rel)):
                if crop is not None:
                    (stage / path).parent.mkdir(parents=True, exist_ok=True)
                    crop.save(stage / path, compress_level=1)
                text, sid = labels.label(token, line.lang)
                ident = f"{line.id}-w{k}"
                if ident in ids:
                    ident = f"{ident}#{len(rows)}"
                ids.add(ident)
                rows.append({"id": ident, "path": path, "text": text, "semantic_id": sid, "lang": line.lang,
                             "style": line.style, "split": line.split})
        bar.close()
        n = len(ds.samples)
        why = ", ".join(f"{c} {r}" for r, c in sorted(dropped.items(), key=lambda t: (-t[1], t[0])))
        summary = (f"split-words: {n} lines in; {done['lines split']} split into {done['words from split lines']} "
                   f"words, {done['one-word lines kept']} one-word lines kept as they are; {len(rows)} words out; "
                   f"{sum(dropped.values())} lines dropped" + (f": {why}" if why else ""))
        if not rows:
            raise BenchError(f"no words from {ds.root}: {summary}")
        _warn(summary)
        _warn(labels.summary())
        source = {"format": "split-words", "path": str(ds.root), "name": ds.name, "fingerprint": _fingerprint(ds),
                  "from": ds.meta.get("sources", []), "imported": len(rows), "files": n, "lines": n, "lines_split": done["lines split"],
                  "one_word_lines": done["one-word lines kept"], "words": len(rows), "left_out": dict(dropped),
                  "settings": {"min_gap_ratio": gap_ratio, "width_ratio": WIDTH_RATIO, "cut_letters": CUT_LETTERS,
                               "margin": MARGIN, "speck": SPECK, "ink": "otsu over non-white pixels"},
                  "labels": labels.record()}
        opts = ImportOptions(name=f"{ds.name}-words"[:120], progress=progress)
        return _finish(out, stage, rows, ds.lexicon, opts, source, opts.name,
                       f"words cut from the lines of {ds.name} by bench data split-words")


class Folders:
    """One output folder per source line, never shared: the line's path without its extension
    (``img/a.png`` -> ``img/a``), else with it (``img/a.jpg`` -> ``img/a_jpg``), else numbered
    (``img/a_2``). Names are compared case-folded (a case-insensitive disk would merge them), and a
    folder is never a file already given out, nor holds a file where a folder was already given out."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self.taken: set[str] = set()  # folders given out
        self.files: set[str] = {r.casefold() for r in reserved}  # the files named in them, and ``reserved``
        self.dirs: set[str] = set()  # those folders and every folder above them

    def pick(self, source: str, names: list[str]) -> str:
        """A free folder for the line at ``source`` that will hold the files ``names``."""
        stem, ext = Path(source).with_suffix("").as_posix(), Path(source).suffix.lstrip(".").lower()
        numbered = (f"{stem}_{j}" for j in itertools.count(2))
        for folder in itertools.chain([stem], [f"{stem}_{ext}"] if ext else [], numbered):
            key = folder.casefold()
            parts = key.split("/")
            up = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            mine = [f"{key}/{n.casefold()}" for n in names]
            if key in self.taken or any(u in self.files for u in up) or \
                    any(m in self.files or m in self.dirs for m in mine):
                continue
            self.taken.add(key)
            self.files.update(mine)
            self.dirs.update(up)
            return folder
        raise AssertionError("unreachable: the numbered names never end")


def _copy_line(ds: Dataset, rel: str, im: Image.Image, stage: Path, folders: Folders) -> str:
    """A one-token line as it is: the file's bytes, or the decoded image when it is embedded."""
    src = ds.image_path(rel)
    copy = src.is_file()
    name = f"00{Path(rel).suffix.lower() or '.png'}" if copy else "00.png"
    path = f"{folders.pick(rel, [name])}/{name}"
    (stage / path).parent.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copyfile(src, stage / path)
    else:
        im.save(stage / path, compress_level=1)
    return path


def _note_first(dropped: Counter, what: str) -> None:
    """Name the first unreadable image once (the summary counts the rest)."""
    if dropped[UNREADABLE] == 1:
        _warn(f"left out, {UNREADABLE}: {what}")


def _fingerprint(ds) -> str | None:
    """The source's fingerprint (declared, else its content's), None when it cannot be computed."""
    try:
        return ds.fingerprint
    except (BenchError, OSError):
        return None
