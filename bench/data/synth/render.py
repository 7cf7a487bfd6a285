"""``render_word``: one word by one writer, seeded, as a grayscale scan-like image at natural size."""

from __future__ import annotations

import math
import unicodedata
import zlib

import numpy as np
from PIL import Image

from . import augment as aug
from . import fontdraw, pen
from .writers import WriterSpec


def word_rng(text: str, lang: str, writer: WriterSpec, seed: int) -> np.random.Generator:
    """The generator for one rendering: same (text, lang, writer, seed) gives the same pixels anywhere."""
    key = zlib.crc32(f"{lang}\0{writer.id}\0{text}".encode("utf-8"))
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, key])


def render_word(text: str, lang: str, writer: WriterSpec, seed: int, augment: bool = True) -> Image.Image:
    """Render ``text`` as handwriting by ``writer``: mode "L", dark ink on light paper, natural size.

    With ``augment=False`` only the writer's own style is applied (its slant, size, spacing and
    pen), on clean paper: useful to look at a style. With ``augment=True`` every call with a new
    seed is a new scan of a new attempt: jittered size/slant/thickness, rotation, elastic warp,
    paper texture, ink tone, blur, noise and JPEG artefacts.
    """
    if lang not in writer.langs:
        raise ValueError(f"writer {writer.id} does not write {lang!r}")
    text = unicodedata.normalize("NFC", text)
    rng = word_rng(text, lang, writer, seed)
    a = augment
    em = writer.em * (math.exp(rng.normal(0.0, 0.08)) if a else 1.0)
    thick = math.exp(rng.normal(0.0, 0.12)) if a else 1.0
    if writer.kind == "pen":
        ink = pen.draw(pen.layout(text, lang, writer, em, rng), writer, em, thick, rng)
    else:
        ink = fontdraw.draw(text, writer, em, writer.weight + (math.log(thick) * 2.5 if a else 0.0), rng)
    slant = writer.slant + (rng.normal(0.0, 0.04) if a else 0.0)
    angle = rng.normal(0.0, 0.025) if a else 0.0
    elastic = em * rng.uniform(0.0, 0.035) if a else 0.0
    margins = tuple(em * rng.uniform(0.05, 0.45, size=4)) if a else (em * 0.2,) * 4
    ink = aug.warp(ink, slant, angle, elastic, margins, max(12.0, em * 0.45), rng)
    if not a:
        level = 255.0 * writer.ink
        arr = aug.compose(ink, level, 250.0, 0.0, writer.grain, 0.0, rng)
        return Image.fromarray(arr, "L")
    ink_level = float(np.clip(255.0 * writer.ink + rng.normal(0.0, 12.0), 0.0, 150.0))
    paper_level = float(rng.uniform(205.0, 252.0))
    texture = float(rng.uniform(0.0, 14.0))
    noise = float(rng.uniform(0.0, 7.0)) if rng.random() < 0.6 else 0.0
    arr = aug.compose(ink, ink_level, paper_level, texture, writer.grain, noise, rng)
    img = Image.fromarray(arr, "L")
    if rng.random() < 0.5:
        img = aug.blur(img, float(rng.uniform(0.2, 0.9)))
    if rng.random() < 0.4:
        img = aug.jpeg(img, int(rng.integers(30, 90)))
    return img

