"""Font writers: place a handwriting font's glyphs one by one with per-writer spacing, wobble and weight.

Glyphs are placed individually (not shaped as a run) so that each character can sit on its own
slightly wandering baseline, the way handwriting does; slant and scan effects come later.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import store
from .writers import WriterSpec


def _weight_lut(weight: float) -> list[int]:
    """Threshold ramp applied after a blur: lower threshold thickens strokes, higher thins them."""
    centre = 128.0 - 95.0 * weight
    return [int(min(255.0, max(0.0, (v - centre) * 3.0 + 128.0))) for v in range(256)]


_LUTS = {round(k / 20.0, 2): _weight_lut(k / 20.0) for k in range(-20, 21)}


def draw(text: str, w: WriterSpec, em: float, weight: float, rng: np.random.Generator) -> Image.Image:
    """Ink mask (mode L, ink = 255) of ``text`` in the writer's font at pixel size ``em``."""
    size = max(8, int(round(em)))
    font = store.font(w.source, size)
    ascent, descent = font.getmetrics()
    advs = [font.getlength(ch) for ch in text]
    track = w.tracking * size
    width = int(sum(advs) + max(0.0, track) * len(text) + 2 * size)
    height = int(ascent + descent + size * 0.6)
    img = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(img)
    x = size * 0.5
    y0 = size * 0.3
    phase = rng.uniform(0, 2 * math.pi)
    freq = rng.uniform(0.5, 1.3)
    jit = rng.normal(0.0, 1.0, size=(len(text), 2))
    for i, ch in enumerate(text):
        dy = w.wobble * size * math.sin(phase + i * freq) + jit[i, 0] * size * 0.01
        if not ch.isspace():
            d.text((x, y0 + dy), ch, font=font, fill=255)
        x += advs[i] + track * (1.0 + 0.3 * jit[i, 1])
    box = img.getbbox()
    if box is None:
        return img
    pad = 4
    img = img.crop((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad))
    wk = round(max(-1.0, min(1.0, weight)) * 20) / 20.0
    if abs(wk) >= 0.1:
        img = img.filter(ImageFilter.GaussianBlur(max(0.6, size * 0.022))).point(_LUTS[round(wk, 2)])
    return img
