"""Font writers: place a handwriting font's glyphs one by one with per-writer spacing, wobble and weight.

Glyphs are placed individually (not shaped as a run) so that each character can sit on its own
slightly wandering baseline, the way handwriting does; slant and scan effects come later. Glyph
bitmaps are cached per (font, size, character): the same few sizes recur during training.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .store import font, font_metrics
from .rand import Rand
from .writers import WriterSpec


def _weight_lut(weight: float) -> list[int]:
    """Threshold ramp applied after a blur: lower threshold thickens strokes, higher thins them.

    Thinning is kept mild: hairline fonts (Long Cang, many scripts) lose whole strokes otherwise.
    """
    centre = 128.0 - (80.0 if weight > 0 else 35.0) * weight  # >= 48: paper (0) stays paper
    return [int(min(255.0, max(0.0, (v - centre) * 3.0 + 128.0))) for v in range(256)]


_LUTS = {k: _weight_lut(k / 20.0) for k in range(-20, 21)}


@lru_cache(maxsize=30000)
def glyph(font_id: str, size: int, ch: str) -> tuple[np.ndarray, int, int, float]:
    """(bitmap, left, top, advance) of one character; left/top relative to the pen position and ascender."""
    face = font(font_id, size)
    adv = face.getlength(ch)
    x0, y0, x1, y1 = face.getbbox(ch)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), np.uint8), 0, 0, adv
    im = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(im).text((-x0, -y0), ch, font=face, fill=255)
    return np.asarray(im), x0, y0, adv


def _perturbed(g: tuple[np.ndarray, int, int, float], amount: float, r: Rand) -> tuple[np.ndarray, int, int, float]:
    """One glyph with its own small scale, stretch, rotation and shear: no two letters alike.

    A font draws every "a" identically; a hand does not. The glyph is transformed about its
    centre, so its place on the line and its advance stay as the font set them.
    """
    bm, left, top, adv = g
    if not bm.size:
        return g
    h, w_ = bm.shape
    sx = math.exp(r.normal(0.0, 0.07 * amount))
    sy = math.exp(r.normal(0.0, 0.07 * amount))
    rot = r.normal(0.0, 0.05 * amount)
    shear = r.normal(0.0, 0.08 * amount)
    c, s = math.cos(rot), math.sin(rot)
    # forward map A = R @ Shear @ Scale; PIL wants the inverse, from output to input pixels
    a11, a12 = c * sx, (c * shear - s) * sy
    a21, a22 = s * sx, (s * shear + c) * sy
    det = a11 * a22 - a12 * a21
    i11, i12, i21, i22 = a22 / det, -a12 / det, -a21 / det, a11 / det
    out_w, out_h = int(w_ * 1.3) + 4, int(h * 1.3) + 4
    cx_in, cy_in, cx_out, cy_out = w_ / 2.0, h / 2.0, out_w / 2.0, out_h / 2.0
    coeffs = (i11, i12, cx_in - i11 * cx_out - i12 * cy_out, i21, i22, cy_in - i21 * cx_out - i22 * cy_out)
    im = Image.fromarray(bm, "L").transform((out_w, out_h), Image.Transform.AFFINE, coeffs,
                                            resample=Image.Resampling.BILINEAR)
    return np.asarray(im), int(round(left - (out_w - w_) / 2.0)), int(round(top - (out_h - h) / 2.0)), adv


def draw_font(text: str, w: WriterSpec, em: float, weight: float, r: Rand, perturb: float = 0.0) -> Image.Image:
    """Ink mask (mode L, ink = 255) of ``text`` in the writer's font at pixel size ``em``.

    ``perturb`` > 0 gives each letter its own small shape change (see ``_perturbed``).
    """
    factor, stroke = font_metrics(w.source)
    size = max(8, 2 * int(round(em * factor / 2.0)))  # even sizes only: more glyph-cache hits
    if stroke < 0.05:  # hairline scripts: never thinner, and a little bolder, or they fade away
        weight = max(0.0, weight) + (0.05 - stroke) * 12.0
    glyphs = [glyph(w.source, size, ch) for ch in text]
    if perturb > 0:
        glyphs = [_perturbed(g, perturb, r) for g in glyphs]
    track = w.tracking * size
    phase, freq = r.uniform(0.0, 2 * math.pi), r.uniform(0.5, 1.3)
    places = []
    x = 0.0
    for i, (bm, left, top, adv) in enumerate(glyphs):
        dy = w.wobble * size * math.sin(phase + i * freq) + r.normal(0.0, size * 0.01)
        if bm.size:
            places.append((bm, int(round(x + left)), int(round(top + dy))))
        x += adv + track * (1.0 + 0.3 * r.normal())
    if not places:
        return Image.new("L", (size, size), 0)
    pad = 4
    xmin = min(px for _, px, _ in places) - pad
    ymin = min(py for _, _, py in places) - pad
    xmax = max(px + bm.shape[1] for bm, px, _ in places) + pad
    ymax = max(py + bm.shape[0] for bm, _, py in places) + pad
    canvas = np.zeros((ymax - ymin, xmax - xmin), np.uint8)
    for bm, px, py in places:
        view = canvas[py - ymin : py - ymin + bm.shape[0], px - xmin : px - xmin + bm.shape[1]]
        np.maximum(view, bm, out=view)
    img = Image.fromarray(canvas, "L")
    wk = int(round(max(-1.0, min(1.0, weight)) * 20))
    if abs(wk) >= 2:
        img = img.filter(ImageFilter.GaussianBlur(max(0.6, size * 0.022))).point(_LUTS[wk])
    return img
