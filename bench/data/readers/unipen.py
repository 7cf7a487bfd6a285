"""UNIPEN 1.0 pen traces: keyword lines (``.KEYWORD args``) with point lines under ``.PEN_DOWN``.

``.SEGMENT LEVEL DELINEATION [QUALITY] ["label"]`` names the strokes of a word (or line,
character) by component numbers (``0-3``, ``4,6``; ``5:12-7:3`` with point offsets). Components are the
``.PEN_DOWN`` and ``.PEN_UP`` blocks that hold points, counted from 0 in file order (an empty
``.PEN_UP``, the usual way to end a stroke, is no component); only pen-down ones are drawn. ``.COORD`` gives the channel order (X and Y), ``.WRITER_ID`` the writer of what
follows, and ``.INCLUDE FILE`` pulls in another file (looked up next to the including file, then in
``include/`` folders above it, the layout of the UNIPEN CD). Segments marked ``BAD``, and those whose
delineation is ``?`` (strokes never delineated), are left out and counted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError

from .inkml import InkFile, InkWord

LABEL = re.compile(r'"((?:[^"\\]|\\.)*)"')
WORD_LEVELS = ("WORD", "CHARACTER", "CHAR")  # isolated characters are the word of CJK sets
LINE_LEVELS = ("LINE", "TEXT", "SENTENCE")
MAX_INCLUDE_DEPTH = 8


@dataclass
class _Segment:
    level: str
    delineation: str
    quality: str
    label: str
    writer: str | None
    where: str


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": " ", "t": " "}.get(m.group(1), m.group(1)), s)


def _find_include(name: str, including: Path) -> Path | None:
    """``include/NAME`` in the including file's folder or one above it, else NAME next to it (a data
    file often includes the file of the same name under ``include/``, so never the file itself)."""
    name = name.strip().strip('"')
    base = including.parent
    cands = [anc / "include" / name for anc in [base, *base.parents][:6]] + [base / name]
    return next((c for c in cands if c.is_file() and c.resolve() != including.resolve()), None)


class _Reader:
    def __init__(self) -> None:
        self.strokes: list[tuple[bool, list[tuple[float, float]]]] = []  # (pen down, points) per block
        self.segments: list[_Segment] = []
        self.writer: str | None = None
        self.ix, self.iy = 0, 1
        self.in_block = False

    def read(self, path: Path, depth: int = 0, stack: tuple = ()) -> None:
        if depth > MAX_INCLUDE_DEPTH or path.resolve() in stack:
            raise BenchError(f"{path}: .INCLUDE loop or nesting deeper than {MAX_INCLUDE_DEPTH}")
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from None
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            line, no = lines[i], i + 1
            i += 1
            if not line.startswith("."):
                if self.in_block and line.strip():
                    parts = line.split()
                    try:
                        self.strokes[-1][1].append((float(parts[self.ix]), float(parts[self.iy])))
                    except (ValueError, IndexError):
                        kind = ".PEN_DOWN" if self.strokes[-1][0] else ".PEN_UP"
                        raise BenchError(f"{path}:{no}: point line {line.strip()[:40]!r} under {kind} is not "
                                         f"numbers") from None
                continue
            head = line.split(None, 1)
            key, arg = head[0].upper(), (head[1].strip() if len(head) > 1 else "")
            self.in_block = key in (".PEN_DOWN", ".PEN_UP")
            if self.in_block:
                self.strokes.append((key == ".PEN_DOWN", []))
            elif key == ".COORD":
                names = arg.upper().split()
                if "X" not in names or "Y" not in names:
                    raise BenchError(f"{path}:{no}: .COORD {arg!r} lacks X and Y")
                self.ix, self.iy = names.index("X"), names.index("Y")
            elif key == ".WRITER_ID":
                self.writer = arg.split()[0] if arg.split() else None
            elif key == ".INCLUDE":
                inc = _find_include(arg, path)
                if inc is None:
                    raise BenchError(f"{path}:{no}: .INCLUDE {arg!r} not found next to the file or in an "
                                     f"include/ folder above it")
                self.read(inc, depth + 1, stack + (path.resolve(),))
            elif key == ".SEGMENT":
                while LABEL.search(arg) is None and arg.count('"') % 2 and i < len(lines):
                    arg += " " + lines[i].strip()  # a label running over several lines
                    i += 1
                m = LABEL.search(arg)
                head = (arg[:m.start()] if m else arg).split()
                if len(head) < 2:
                    raise BenchError(f"{path}:{no}: .SEGMENT {arg[:60]!r} lacks a level and a delineation")
                self.segments.append(_Segment(head[0].upper(), head[1], " ".join(head[2:]).upper(),
                                              _unescape(m.group(1)) if m else "", self.writer, f"{path}:{no}"))


def _strokes_of(seg: _Segment, strokes: list[tuple[bool, np.ndarray]]) -> list[np.ndarray]:
    """The pen-down strokes (or parts, with ``s:p`` offsets) among the components a delineation names."""
    out = []
    for item in seg.delineation.split(","):
        a, _, b = item.partition("-")
        try:
            s0, p0 = (int(v) for v in (a.split(":") + ["0"])[:2])
            s1, p1 = (int(v) for v in ((b or a).split(":") + ["-1"])[:2])
        except ValueError:
            raise BenchError(f"{seg.where}: .SEGMENT delineation {seg.delineation!r} is not stroke numbers") from None
        if not (0 <= s0 <= s1 < len(strokes)):
            raise BenchError(f"{seg.where}: .SEGMENT names components {s0}-{s1}, the file has {len(strokes)}")
        for s in range(s0, s1 + 1):
            lo = p0 if s == s0 else 0
            hi = (p1 + 1 if p1 >= 0 else None) if s == s1 else None
            if strokes[s][0]:
                out.append(strokes[s][1][lo:hi])
    return out


def read_unipen(path: Path, level: str = "word") -> InkFile:
    """Parse one UNIPEN file (with its includes) into word (or line) samples."""
    r = _Reader()
    r.read(path)
    strokes = [(down, np.asarray(p, dtype=np.float64).reshape(-1, 2)) for down, p in r.strokes if p]
    out = InkFile(path)
    wanted = WORD_LEVELS if level == "word" else LINE_LEVELS
    present = {s.level for s in r.segments}
    chosen = next((lv for lv in wanted if lv in present), None)
    if chosen is None and level == "word":
        chosen = next((lv for lv in LINE_LEVELS if lv in present), None)
    if chosen is None:
        out.notes["no segments at a word or line level"] = 1
        return out
    out.level = "line" if chosen in LINE_LEVELS else "word"
    for n, seg in enumerate(s for s in r.segments if s.level == chosen):
        if "BAD" in seg.quality.split():
            out.notes["marked BAD"] = out.notes.get("marked BAD", 0) + 1
            continue
        if "?" in seg.delineation:  # the strokes were never delineated: nothing to draw, not a damaged file
            out.notes["unknown delineation (?)"] = out.notes.get("unknown delineation (?)", 0) + 1
            continue
        parts = [p for p in _strokes_of(seg, strokes) if len(p)]
        if not seg.label.strip():
            out.notes["no transcription"] = out.notes.get("no transcription", 0) + 1
        elif not parts:
            out.notes["no traces"] = out.notes.get("no traces", 0) + 1
        else:
            out.words.append(InkWord(f"{chosen.lower()}{n}", seg.label.strip(), seg.writer, parts))
    return out
