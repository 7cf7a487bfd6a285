"""IAM On-Line Handwriting Database (IAM-OnDB): ``lineStrokes/`` pen trajectories, ``ascii/`` transcripts.

A form ``a01-000u`` has ``ascii/a01/a01-000/a01-000u.txt`` (an ``OCR:`` and a ``CSR:`` section; the
CSR lines are the ones written, one per recorded line) and ``lineStrokes/a01/a01-000/a01-000u-NN.xml``
(``<Stroke>`` elements of ``<Point x y time>``, y growing downwards), where line NN is the NN-th CSR
line. The database has no word boundaries, so each line is split into its transcript's words at the
widest horizontal pen gaps, and the split is checked (``gaps.cut_spans``, the rule ``bench data
split-words`` applies to line images): the gaps taken must be clearly wider than every gap left
inside a word, every word's width per letter close to the line's, every cut near where the letter
counts put it. A line that fails (or whose word count does not fit) is left out and counted.

Writers are not in these two folders: the original form files (``<Form id="a01-000u" writerID="10058">``,
e.g. ``original/**/strokes*.xml``) name them, read by ``read_form_writers``. A form whose writer is
unknown is left out, so no writer can be on both sides of a writer-disjoint split unseen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import BenchError

from .gaps import CROSSED_OUT, cut_spans, words_of
from .inkml import InkFile, InkWord

FORM_ID = re.compile(r"^[a-z]\d\d-\d\d\d[a-z]?$")
LINE_FILE = re.compile(r"^([a-z]\d\d-\d\d\d[a-z]?)-(\d\d)\.xml$")
FORM_TAG = re.compile(rb"<Form\s+[^>]*>")
ATTR = re.compile(rb'(\w+)="([^"]*)"')


@dataclass
class SplitStats:
    """What the word split did, for the import summary."""

    lines: int = 0
    split: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def read_form_writers(root: Path) -> dict[str, str]:
    """Form id -> writer id from every XML under ``root`` holding a ``<Form id=.. writerID=..>`` tag
    (IAM-OnDB's original form files, ``<form folder>/strokes<letter>.xml``). Only the file's head is
    read: the tag comes first. A form that two files give different writers (a tag that disagrees
    with its file name does so too) is left out: its writer is not known for sure."""
    seen: dict[str, set[str]] = {}
    files = [root] if root.is_file() else sorted(root.rglob("*.xml"))
    for p in files:
        with open(p, "rb") as fh:
            head = fh.read(4096)
        m = FORM_TAG.search(head)
        if not m:
            continue
        attrs = {k.decode(): v.decode("latin-1") for k, v in ATTR.findall(m.group(0))}
        form, writer = attrs.get("id", "").strip(), attrs.get("writerID", "").strip()
        if not (form and writer):
            continue
        named = re.fullmatch(r"strokes([a-z]?)\.xml", p.name)
        by_name = p.parent.name + named.group(1) if named else form
        if FORM_ID.match(by_name) and by_name != form:  # the file contradicts itself: neither form is sure
            seen.setdefault(by_name, set()).add(f"?{p}")
            writer = f"?{p}"
        seen.setdefault(form, set()).add(writer)
    return {f: next(iter(w)) for f, w in seen.items() if len(w) == 1 and not next(iter(w)).startswith("?")}


def read_csr(path: Path) -> list[str]:
    """The CSR section's lines of an ``ascii/`` transcript (empty lines dropped)."""
    text = path.read_text(encoding="latin-1")
    if "CSR:" not in text:
        raise BenchError(f"{path}: no CSR: section (not an IAM-OnDB transcript?)")
    body = text.split("CSR:", 1)[1]
    return [ln.strip() for ln in body.splitlines() if ln.strip()]


def read_line_strokes(path: Path) -> list[np.ndarray]:
    """The pen-down strokes of one line file, each an (n, 2) float array of x, y (y down)."""
    from lxml import etree

    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError as exc:
        raise BenchError(f"{path}: not valid XML ({exc})") from None
    strokes = []
    for s in root.iter("Stroke"):
        pts = [(float(p.get("x")), float(p.get("y"))) for p in s.iter("Point")]
        if pts:
            strokes.append(np.asarray(pts, dtype=np.float32))
    return strokes


def split_line(strokes: list[np.ndarray], words: list[str], stats: SplitStats) -> list[list[np.ndarray]] | None:
    """Strokes grouped into ``len(words)`` words at the widest x gaps, or None when the split is not
    clear (counted in ``stats``)."""
    n = len(words)
    if n == 0 or not strokes:
        stats.drop("empty line")
        return None
    spans = sorted((float(s[:, 0].min()), float(s[:, 0].max()), k) for k, s in enumerate(strokes))
    blocks: list[list] = []  # [x0, x1, stroke indices]
    for x0, x1, k in spans:
        if blocks and x0 <= blocks[-1][1]:
            blocks[-1][1] = max(blocks[-1][1], x1)
            blocks[-1][2].append(k)
        else:
            blocks.append([x0, x1, [k]])
    cut, reason = cut_spans([(b[0], b[1]) for b in blocks], words, what="pen")
    if cut is None:
        stats.drop(reason)
        return None
    groups = [[strokes[k] for b in blocks[a:z + 1] for k in sorted(b[2])] for a, z in cut]
    stats.split += 1
    return groups


def read_iamondb(root: Path, writers: dict[str, str], level: str = "word") -> tuple[list[InkFile], SplitStats]:
    """Every form of an IAM-OnDB folder (holding ``lineStrokes/`` and ``ascii/``) as one InkFile of
    words (or lines, ``level="line"``) with their writer; forms of unknown writers left out."""
    strokes_root, ascii_root = _find(root, "lineStrokes"), _find(root, "ascii")
    by_form: dict[str, dict[int, Path]] = {}
    for p in sorted(strokes_root.rglob("*.xml")):
        m = LINE_FILE.match(p.name)
        if m:
            by_form.setdefault(m.group(1), {})[int(m.group(2))] = p
    if not by_form:
        raise BenchError(f"no IAM-OnDB line files (a01-000u-01.xml) under {strokes_root}")
    stats = SplitStats()
    files: list[InkFile] = []
    for form, lines in sorted(by_form.items()):
        ink = InkFile(lines[min(lines)], level=level)
        writer = writers.get(form)
        txt = ascii_root / form[:3] / form[:7] / f"{form}.txt"
        if writer is None:
            ink.notes["lines of forms whose writer is unknown"] = len(lines)
        elif not txt.is_file():
            ink.notes["lines without a transcript"] = len(lines)
        else:
            csr = read_csr(txt)
            if len(csr) != len(lines):  # line numbers would not map to transcript lines for sure
                ink.notes["lines of forms whose line count differs from the transcript's"] = len(lines)
                files.append(ink)
                continue
            for no, path in sorted(lines.items()):
                stats.lines += 1
                if not 1 <= no <= len(csr):
                    stats.drop("line number beyond the transcript")
                    continue
                strokes = read_line_strokes(path)
                if level == "line":
                    ink.words.append(InkWord(f"{form}-{no:02d}", csr[no - 1], writer, strokes))
                    continue
                words = words_of(csr[no - 1])
                groups = split_line(strokes, words, stats)
                for k, (w, g) in enumerate(zip(words, groups or [])):
                    if w == CROSSED_OUT:
                        ink.notes["struck-out words (#)"] = ink.notes.get("struck-out words (#)", 0) + 1
                        continue
                    ink.words.append(InkWord(f"{form}-{no:02d}-{k:02d}", w, writer, g))
        files.append(ink)
    return files, stats


def _find(root: Path, name: str) -> Path:
    for cand in (root / name, root / "data" / name):
        if cand.is_dir():
            return cand
    raise BenchError(f"no {name}/ folder in {root} (IAM-OnDB: lineStrokes/ and ascii/ side by side)")
