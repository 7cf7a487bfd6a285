"""Pen skeletons from font glyphs: each Chinese font becomes a stroke source for many pen writers.

Why: ``hanzi-writer-data`` is one set of stroke medians (one Arphic kai hand), so every Chinese pen
writer drawn from it shares that hand's skeleton. Thinning the glyphs of other fonts (brush, running,
pen-kai and standard faces) to one-pixel skeletons and tracing them into polylines gives new,
independent skeletons that the same pen model redraws with any pen. The output uses the
hanzi-writer convention (a 1024 box, y up, baseline at 900 - 1024), so the pen model needs no
special case. Build-time only (scikit-image); the result ships as JSON.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 160  # raster size of the em box: fine enough for 20-stroke characters, coarse enough to be quick
BOX = 1024.0
TOP = 900.0  # hanzi-writer: y up, the em box spans -124 .. 900
_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def glyph_mask(font: ImageFont.FreeTypeFont, ch: str, size: int = SIZE) -> np.ndarray:
    """Binary ink mask of one character drawn in its em box (baseline at 900/1024 of the box)."""
    im = Image.new("L", (size, size), 0)
    ImageDraw.Draw(im).text((0, size * TOP / BOX), ch, font=font, fill=255, anchor="ls")
    return np.asarray(im) > 110


def _trace(skel: np.ndarray) -> list[list[tuple[int, int]]]:
    """Polylines (row, col) along a one-pixel skeleton, cut at ends and junctions; loops cut once."""
    pix = set(zip(*np.nonzero(skel)))

    def nbrs(p):
        return [(p[0] + dr, p[1] + dc) for dr, dc in _NEIGHBOURS if (p[0] + dr, p[1] + dc) in pix]

    deg = {p: len(nbrs(p)) for p in pix}
    nodes = {p for p, d in deg.items() if d != 2}
    seen_edges: set[frozenset] = set()
    lines: list[list[tuple[int, int]]] = []

    def walk(start, nxt):
        line = [start, nxt]
        seen_edges.add(frozenset((start, nxt)))
        prev, cur = start, nxt
        while cur not in nodes:
            step = [q for q in nbrs(cur) if q != prev and frozenset((cur, q)) not in seen_edges]
            if not step:
                break
            prev, cur = cur, step[0]
            seen_edges.add(frozenset((prev, cur)))
            line.append(cur)
        return line

    for p in sorted(nodes):
        for q in nbrs(p):
            if frozenset((p, q)) not in seen_edges:
                lines.append(walk(p, q))
    for p in sorted(pix):  # closed loops without any node
        for q in nbrs(p):
            if frozenset((p, q)) not in seen_edges:
                nodes.add(p)
                lines.append(walk(p, q))
    return lines


def _simplify(pts: np.ndarray, tol: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: drop points within ``tol`` of the chord."""
    if len(pts) < 3:
        return pts
    a, b = pts[0], pts[-1]
    d = b - a
    n = float(np.hypot(*d))
    rel = pts - a
    dist = np.abs(d[0] * rel[:, 1] - d[1] * rel[:, 0]) / n if n > 0 else np.hypot(*rel.T)
    k = int(np.argmax(dist))
    if dist[k] <= tol:
        return np.stack([a, b])
    return np.concatenate([_simplify(pts[: k + 1], tol)[:-1], _simplify(pts[k:], tol)])


def strokes_of(mask: np.ndarray, min_len: float = 0.035) -> list[list[list[int]]]:
    """A glyph mask -> stroke polylines in the 1024 box (y up), in rough writing order.

    Spurs shorter than ``min_len`` of the box that end in a free end are dropped (thinning leaves
    them at stroke corners); strokes run left-to-right or top-to-bottom, ordered top then left.
    """
    from skimage.morphology import skeletonize

    size = mask.shape[0]
    skel = skeletonize(mask)
    lines = _trace(skel)
    out = []
    for line in lines:
        p = np.asarray(line, dtype=np.float64)
        length = float(np.hypot(*np.diff(p, axis=0).T).sum()) if len(p) > 1 else 0.0
        if length < min_len * size:
            continue
        p = _simplify(p, 0.8)
        xy = np.stack([p[:, 1], p[:, 0]], 1) * (BOX / size)  # (x, y down) in box units
        if abs(xy[-1, 0] - xy[0, 0]) >= abs(xy[-1, 1] - xy[0, 1]):
            if xy[-1, 0] < xy[0, 0]:
                xy = xy[::-1]
        elif xy[-1, 1] < xy[0, 1]:
            xy = xy[::-1]
        out.append(xy)
    out.sort(key=lambda s: (round(float(s[0, 1]) / 96.0), float(s[0, 0])))
    return [[[int(round(x)), int(round(TOP - y))] for x, y in s] for s in out]


def font_skeletons(font_path: Path, chars: set[str], index: int = 0) -> tuple[dict[str, list], str]:
    """Skeleton strokes of every character a font draws, and the characters it does not draw."""
    font = ImageFont.truetype(str(font_path), SIZE, index=index, layout_engine=ImageFont.Layout.BASIC)
    out, missing = {}, []
    for ch in sorted(chars):
        mask = glyph_mask(font, ch)
        strokes = strokes_of(mask) if mask.sum() > 10 else []
        if strokes:
            out[ch] = strokes
        else:
            missing.append(ch)
    return out, "".join(missing)
