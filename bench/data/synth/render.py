"""``render_word``: one word by one writer, seeded, as a grayscale scan-like image at natural size."""

from __future__ import annotations

import math
import unicodedata

from PIL import Image

from . import augment as aug
from . import fontdraw, pen, store
from .rand import Rand
from .writers import WriterSpec


def can_draw(text: str, writer: WriterSpec) -> bool:
    """Whether every character of ``text`` is drawn by the writer's font or stroke data."""
    chars = store.drawable(writer.source)
    return not chars or chars.issuperset(unicodedata.normalize("NFC", text).replace(" ", ""))


def render_word(text: str, lang: str, writer: WriterSpec, seed: int, augment: bool = True) -> Image.Image:
    """Render ``text`` as handwriting by ``writer``: mode "L", dark ink on light paper, natural size.

    The pixels depend only on (text, lang, writer, seed). With ``augment=False`` only the
    writer's own style is applied (its size, slant, spacing, pen) on clean paper: useful to look at
    a style. With ``augment=True`` each seed is a new attempt and a new scan: jittered size, slant
    and thickness, rotation, elastic warp, margins, paper texture, ink tone, blur, noise, JPEG.
    Not reentrant within one thread (the per-thread generator is re-seeded for each call).
    """
    if lang not in writer.langs:
        raise ValueError(f"writer {writer.id} does not write {lang!r}")
    text = unicodedata.normalize("NFC", text)
    chars = store.drawable(writer.source)
    if chars and not chars.issuperset(text.replace(" ", "")):
        bad = "".join(sorted(set(text) - chars - {" "}))
        raise ValueError(f"writer {writer.id} cannot draw {bad!r} (rebuild the assets for this lexicon)")
    r = Rand(lang, writer.id, text, int(seed), bool(augment))
    a = augment
    em = writer.em * (math.exp(r.normal(0.0, 0.08)) if a else 1.0)
    thick = math.exp(r.normal(0.0, 0.12)) if a else 1.0
    if writer.kind == "pen":
        ink = pen.draw(pen.layout(text, writer, em, r), writer, em, thick, r)
    else:
        ink = fontdraw.draw(text, writer, em, writer.weight + (math.log(thick) * 2.5 if a else 0.0), r)
    slant = writer.slant + (r.normal(0.0, 0.04) if a else 0.0)
    angle = r.normal(0.0, 0.025) if a else 0.0
    elastic = em * r.uniform(0.01, 0.035) if a and r.random() < 0.6 else 0.0
    margins = tuple(em * r.uniform(0.05, 0.45) for _ in range(4)) if a else (em * 0.2,) * 4
    ink = aug.warp(ink, slant, angle, elastic, margins, max(16.0, em * 0.9), r)
    if not a:
        return Image.fromarray(aug.compose(ink, 255.0 * writer.ink, 250.0, 0.0, writer.grain, 0.0, r), "L")
    ink_level = min(150.0, max(0.0, 255.0 * writer.ink + r.normal(0.0, 12.0)))
    paper_level = r.uniform(205.0, 252.0)
    texture = r.uniform(0.0, 14.0)
    noise = r.uniform(1.0, 6.0) if r.random() < 0.5 else 0.0
    img = Image.fromarray(aug.compose(ink, ink_level, paper_level, texture, writer.grain, noise, r), "L")
    if r.random() < 0.5:
        img = aug.blur(img, r.uniform(0.2, 0.9))
    if r.random() < 0.4:
        img = aug.jpeg(img, r.integers(30, 90))
    return img
