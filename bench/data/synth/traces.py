"""Recorded pen traces (InkML, UNIPEN) drawn like the synthesizer's pen writers.

``render_word`` lays out stroke skeletons for a text; here the strokes are given (what a tablet
recorded), and the same pen (``pen.draw``) and the same paper steps (``augment.warp`` and
``augment.compose``, plus rotation, warp, texture, blur and JPEG when ``augment``) turn them into a
word image, so imported online handwriting looks like the synthetic pen writers' words.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from . import augment as aug
from . import pen
from .rand import Rand
from .writers import WriterSpec


def render_strokes(strokes: list[np.ndarray], key: str, writer: WriterSpec, seed: int,
                   augment: bool = False) -> Image.Image:
    """Draw strokes (arrays of x, y in pixels at the writer's em, y down) with the writer's pen on paper.

    Mode "L", dark ink on light paper. With ``augment=False`` the writer's own slant and margins on
    clean paper, nothing else; with ``augment=True`` a new scan per (``key``, ``seed``): jittered size,
    thickness and slant, rotation, elastic warp, margins, paper texture, ink tone, noise, blur, JPEG."""
    a = bool(augment)
    r = Rand("strokes", writer.id, key, int(seed), a)
    em = writer.em * (math.exp(r.normal(0.0, 0.08)) if a else 1.0)
    thick = math.exp(r.normal(0.0, 0.12)) if a else 1.0
    ink = pen.draw([(np.asarray(s, dtype=np.float32) * (em / writer.em), False) for s in strokes],
                   writer, em, thick, r)
    slant = writer.slant + (r.normal(0.0, 0.04) if a else 0.0)
    angle = r.normal(0.0, 0.025) if a else 0.0
    elastic = em * r.uniform(0.01, 0.035) if a and r.random() < 0.6 else 0.0
    margins = tuple(em * r.uniform(0.05, 0.45) for _ in range(4)) if a else (em * 0.2,) * 4
    ink = aug.warp(ink, slant, angle, elastic, margins, max(16.0, em * 0.9), r)
    if not a:
        return Image.fromarray(aug.compose(ink, 255.0 * writer.ink, 250.0, 0.0, writer.grain, 0.0, r), "L")
    ink_level = min(150.0, max(0.0, 255.0 * writer.ink + r.normal(0.0, 12.0)))
    paper = aug.compose(ink, ink_level, r.uniform(205.0, 252.0), r.uniform(0.0, 14.0), writer.grain,
                        r.uniform(1.0, 6.0) if r.random() < 0.5 else 0.0, r)
    img = Image.fromarray(paper, "L")
    if r.random() < 0.5:
        img = aug.blur(img, r.uniform(0.2, 0.9))
    if r.random() < 0.4:
        img = aug.jpeg(img, r.integers(30, 90))
    return img
