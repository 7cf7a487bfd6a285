"""The steps around the pen or the font: size jitter before drawing; slant, warp, paper and scan after.

``render_word`` (synthetic words) and ``render_strokes`` (recorded pen traces) share them, so an
imported trace looks like a synthetic pen word. The random draws come in a fixed order: every seeded
image's pixels depend on it.
"""

from __future__ import annotations

import math

from PIL import Image

from .augment import blur, compose, jpeg, warp
from .rand import Rand
from .writers import WriterSpec


def jittered_size(writer: WriterSpec, augment: bool, r: Rand) -> tuple[float, float]:
    """(em in pixels, stroke thickness factor): the writer's own, or jittered per scan when ``augment``."""
    em = writer.em * (math.exp(r.normal(0.0, 0.08)) if augment else 1.0)
    thick = math.exp(r.normal(0.0, 0.12)) if augment else 1.0
    return em, thick


def scan(ink: Image.Image, writer: WriterSpec, em: float, augment: bool, r: Rand) -> Image.Image:
    """An ink mask put on paper: the writer's slant and margins on clean paper, or with ``augment`` a
    new scan (jittered slant, rotation, elastic warp, margins, paper texture, ink tone, noise, blur, JPEG)."""
    a = augment
    slant = writer.slant + (r.normal(0.0, 0.04) if a else 0.0)
    angle = r.normal(0.0, 0.025) if a else 0.0
    elastic = em * r.uniform(0.01, 0.035) if a and r.random() < 0.6 else 0.0
    margins = tuple(em * r.uniform(0.05, 0.45) for _ in range(4)) if a else (em * 0.2,) * 4
    ink = warp(ink, slant, angle, elastic, margins, max(16.0, em * 0.9), r)
    if not a:
        return Image.fromarray(compose(ink, 255.0 * writer.ink, 250.0, 0.0, writer.grain, 0.0, r), "L")
    ink_level = min(150.0, max(0.0, 255.0 * writer.ink + r.normal(0.0, 12.0)))
    paper_level = r.uniform(205.0, 252.0)
    texture = r.uniform(0.0, 14.0)
    noise = r.uniform(1.0, 6.0) if r.random() < 0.5 else 0.0
    img = Image.fromarray(compose(ink, ink_level, paper_level, texture, writer.grain, noise, r), "L")
    if r.random() < 0.5:
        img = blur(img, r.uniform(0.2, 0.9))
    if r.random() < 0.4:
        img = jpeg(img, r.integers(30, 90))
    return img
