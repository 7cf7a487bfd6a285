"""Pen model: lay out stroke skeletons (Chinese medians, Hershey single-line glyphs) and draw them.

Why a pen model: Chinese has only a handful of handwriting fonts, but one set of stroke medians
drawn with varied pens (width, pressure, jitter, noise, slant, joined strokes, haste) gives as many
distinct writers as needed. Output is an ink-coverage mask (0 paper, 255 ink); slant, rotation and
scan effects are applied afterwards by ``augment``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from . import store
from .writers import WriterSpec

SS = 2  # supersampling factor: PIL lines are not anti-aliased, so draw at 2x and reduce


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    """Points at roughly even spacing ``step`` along a polyline (at least the two ends)."""
    if len(line) < 2:
        return line
    seg = np.sqrt(((line[1:] - line[:-1]) ** 2).sum(1))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    n = max(2, int(total / step) + 1)
    t = np.linspace(0.0, total, n)
    return np.stack([np.interp(t, cum, line[:, 0]), np.interp(t, cum, line[:, 1])], 1)


def _smooth(pts: np.ndarray, k: int) -> np.ndarray:
    """Moving average that keeps the ends: rounds corners the way a hasty hand does."""
    if k <= 1 or len(pts) <= 2:
        return pts
    pad = np.concatenate([np.repeat(pts[:1], k, 0), pts, np.repeat(pts[-1:], k, 0)])
    kern = np.ones(2 * k + 1, dtype=np.float64) / (2 * k + 1)
    out = np.stack([np.convolve(pad[:, 0], kern, "valid"), np.convolve(pad[:, 1], kern, "valid")], 1)
    out[0], out[-1] = pts[0], pts[-1]
    return out


def _perturb(pts: np.ndarray, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth low-frequency wander along a stroke (two sinusoids per axis plus an offset)."""
    n = len(pts)
    t = np.linspace(0.0, 1.0, n)
    f = rng.uniform(0.4, 1.6, size=4)
    ph = rng.uniform(0.0, 2 * np.pi, size=4)
    off = rng.normal(0.0, amp * 0.6, size=2)
    dx = amp * (np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * np.pi * 2.3 * f[1] * t + ph[1])) + off[0]
    dy = amp * (np.sin(2 * np.pi * f[2] * t + ph[2]) + 0.5 * np.sin(2 * np.pi * 2.3 * f[3] * t + ph[3])) + off[1]
    return pts + np.stack([dx, dy], 1)


def _char_affine(w: WriterSpec, scale: float, rng: np.random.Generator) -> np.ndarray:
    """2x2 matrix: writer aspect plus per-character jitter of scale, rotation and shear."""
    j = w.jitter
    s = scale * (1.0 + rng.normal(0.0, j * 0.8))
    a = rng.normal(0.0, j * 0.6)
    sh = rng.normal(0.0, j * 0.5)
    sx = s * w.aspect * (1.0 + rng.normal(0.0, j * 0.5))
    c, si = math.cos(a), math.sin(a)
    return np.array([[c, -si], [si, c]]) @ np.array([[sx, sh * s], [0.0, s]])


def layout(text: str, lang: str, w: WriterSpec, em: float, rng: np.random.Generator) -> list[tuple[np.ndarray, bool]]:
    """Stroke polylines in pixels (y down, baseline near em*0.88) and whether each is a thin joining trail."""
    strokes: list[tuple[np.ndarray, bool]] = []
    x = 0.0
    phase = rng.uniform(0, 2 * np.pi)
    freq = rng.uniform(0.5, 1.3)
    prev_end = None
    if w.source == "hanzi-writer":
        glyphs, unit = store.zh_medians(), em / 1024.0
    else:
        glyphs, unit = store.hershey()[w.source], em / 700.0
    for i, ch in enumerate(text):
        dy = w.wobble * em * math.sin(phase + i * freq) + rng.normal(0.0, w.jitter * em * 0.15)
        if w.source == "hanzi-writer":
            lines = glyphs.get(ch)
            adv = 1024.0 * w.aspect * (0.92 + w.tracking)
            origin = np.array([512.0, 512.0])
            base = np.array([x + adv * unit * 0.5, em * 0.5 + dy])
        else:
            g = glyphs.get(ch)
            lines = g[1] if g else None
            adv = (g[0] if g else 300.0) * w.aspect + 1000.0 * w.tracking * 0.5
            origin = np.array([0.0, 0.0])
            base = np.array([x, em * 0.88 + dy])
        x += adv * unit * (1.0 + rng.normal(0.0, w.jitter * 0.3))
        if not lines:
            prev_end = None
            continue
        m = _char_affine(w, unit, rng)
        char_start = len(strokes)
        for line in lines:
            if len(line) < 2:
                continue
            pts = (line - origin) @ m.T + base
            pts = _resample(pts, max(1.5, em / 24.0))
            pts = _smooth(pts, int(round(w.speed * 2.5)))
            pts = _perturb(pts, w.noise * em, rng)
            if w.speed > 0.3 and len(pts) > 4 and rng.random() < w.speed * 0.5:
                pts = pts[: -max(1, int(len(pts) * 0.12 * w.speed))]  # hasty: lifts the pen early
            if strokes and len(strokes) > char_start and rng.random() < w.connect:
                strokes.append((np.stack([strokes[-1][0][-1], pts[0]]), True))
            elif prev_end is not None and len(strokes) == char_start and rng.random() < w.connect * 0.6:
                strokes.append((np.stack([prev_end, pts[0]]), True))
            strokes.append((pts, False))
        prev_end = strokes[-1][0][-1] if len(strokes) > char_start else None
    return strokes


def draw(strokes: list[tuple[np.ndarray, bool]], w: WriterSpec, em: float, width_scale: float,
         rng: np.random.Generator) -> Image.Image:
    """Rasterize strokes with a pressure-varying round pen into an ink mask (mode L, ink = 255)."""
    if not strokes:
        return Image.new("L", (max(4, int(em)), max(4, int(em))), 0)
    allpts = np.concatenate([s for s, _ in strokes])
    base_w = max(1.0, w.weight * em * width_scale) * SS
    pad = base_w + 2 * SS
    lo = allpts.min(0) * SS - pad
    size = (int(math.ceil(allpts[:, 0].max() * SS - lo[0] + pad)), int(math.ceil(allpts[:, 1].max() * SS - lo[1] + pad)))
    img = Image.new("L", size, 0)
    d = ImageDraw.Draw(img)
    for pts, trail in strokes:
        p = pts * SS - lo
        if trail:
            d.line([tuple(q) for q in p], fill=255, width=max(1, int(base_w * 0.35)))
            continue
        n = len(p)
        chunks = 1 if (w.pressure < 0.08 or n < 6) else 3
        bounds = np.linspace(0, n - 1, chunks + 1).round().astype(int)
        press = 1.0 + rng.normal(0.0, 0.08 + 0.15 * w.pressure)
        for c in range(chunks):
            a, b = bounds[c], bounds[c + 1]
            mid = (a + b) / 2.0 / max(1, n - 1)
            taper = math.sin(math.pi * min(max(mid, 0.0), 1.0)) ** 0.5
            if chunks == 1:
                taper = 1.0
            if w.pressure >= 0.5 and c == 0:  # brush: pressed down hard at the start
                taper = 1.1
            width = base_w * press * (1.0 - w.pressure * 0.7 * (1.0 - taper))
            wi = max(1, int(round(width)))
            seg = [tuple(q) for q in p[a : b + 1]]
            d.line(seg, fill=255, width=wi, joint="curve")
            for q in (seg[0], seg[-1]):
                r = wi / 2.0
                d.ellipse((q[0] - r, q[1] - r, q[0] + r, q[1] + r), fill=255)
    return img.reduce(SS)
