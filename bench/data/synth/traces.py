"""Recorded pen traces (InkML, UNIPEN) drawn like the synthesizer's pen writers.

``render_word`` lays out stroke skeletons for a text; here the strokes are given (what a tablet
recorded), and the same pen (``pen.draw_pen``) and the same paper steps (``scan.scan``: slant,
margins and paper, plus rotation, warp, texture, blur and JPEG when ``augment``) turn them into a
word image, so imported online handwriting looks like the synthetic pen writers' words.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .pen import draw_pen
from .rand import Rand
from .scan import jittered_size, scan
from .writers import WriterSpec


def render_strokes(strokes: list[np.ndarray], key: str, writer: WriterSpec, seed: int,
                   augment: bool = False) -> Image.Image:
    """Draw strokes (arrays of x, y in pixels at the writer's em, y down) with the writer's pen on paper.

    Mode "L", dark ink on light paper. With ``augment=False`` the writer's own slant and margins on
    clean paper, nothing else; with ``augment=True`` a new scan per (``key``, ``seed``): jittered size,
    thickness and slant, rotation, elastic warp, margins, paper texture, ink tone, noise, blur, JPEG."""
    a = bool(augment)
    r = Rand("strokes", writer.id, key, int(seed), a)
    em, thick = jittered_size(writer, a, r)
    ink = draw_pen([(np.asarray(s, dtype=np.float32) * (em / writer.em), False) for s in strokes],
                   writer, em, thick, r)
    return scan(ink, writer, em, a, r)
