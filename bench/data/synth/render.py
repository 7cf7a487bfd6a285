"""``render_word``: one word by one writer, seeded, as a grayscale scan-like image at natural size."""

from __future__ import annotations

import math
import unicodedata

from PIL import Image

from .fontdraw import draw_font
from .pen import draw_pen, layout
from .rand import Rand
from .scan import jittered_size, scan
from .store import drawable
from .writers import WriterSpec


def can_draw(text: str, writer: WriterSpec) -> bool:
    """Whether every character of ``text`` is drawn by the writer's font or stroke data."""
    chars = drawable(writer.source)
    return not chars or chars.issuperset(unicodedata.normalize("NFC", text).replace(" ", ""))


def cased_for(text: str, writer: WriterSpec, u: float) -> str:
    """``text`` capitalized at quantile ``u`` of the case mix, or as it is when the writer cannot
    draw that capitalization (ASCII-only stroke fonts have no accented capitals)."""
    from .casing import case_variant

    cased = case_variant(text, u)
    return cased if cased == text or can_draw(cased, writer) else text


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
    chars = drawable(writer.source)
    if chars and not chars.issuperset(text.replace(" ", "")):
        bad = "".join(sorted(set(text) - chars - {" "}))
        raise ValueError(f"writer {writer.id} cannot draw {bad!r} (rebuild the assets for this lexicon)")
    r = Rand(lang, writer.id, text, int(seed), bool(augment))
    em, thick = jittered_size(writer, augment, r)
    if writer.kind == "pen":
        ink = draw_pen(layout(text, writer, em, r), writer, em, thick, r)
    else:
        ink = draw_font(text, writer, em, writer.weight + (math.log(thick) * 2.5 if augment else 0.0), r,
                        perturb=1.0 if augment else 0.0)
    return scan(ink, writer, em, augment, r)
