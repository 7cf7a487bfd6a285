"""Handwriting synthesizer: font writers and pen writers, seeded and deterministic.

``writers(lang)`` lists the styles that can write a language; ``render_word(text, lang, writer,
seed)`` draws one word as a scan-like grayscale image. See ``writers.py`` for what a style is.
"""

from .casing import case_variant
from .render import can_draw, cased_for, render_word
from .writers import WriterSpec, get_writer, writers

__all__ = ["WriterSpec", "can_draw", "case_variant", "cased_for", "get_writer", "render_word", "writers"]
