"""Text normalization applied to both sides before any edit-distance comparison.

The paper does not state its normalization, and it moves results a lot (a handwriting font that
draws capitals only turns 'dog' into 'DOG'). So every adapter is compared after the same steps:
Unicode NFC, case-fold, strip surrounding whitespace and punctuation (including Spanish ¿ ¡).
Accents are kept: 'año' and 'ano' are different words. ``strict=True`` compares raw strings.
"""
from __future__ import annotations

import unicodedata


def _is_edge_char(ch: str) -> bool:
    """Whitespace, punctuation (P*) and symbols (S*) are stripped at the edges."""
    if ch.isspace():
        return True
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "S") or cat in ("Zs", "Cc", "Cf")


def normalize(text: str, strict: bool = False) -> str:
    """Return the comparison form of ``text`` (see module docstring)."""
    if text is None:
        return ""
    if strict:
        return str(text)
    s = unicodedata.normalize("NFC", str(text)).casefold()
    start, end = 0, len(s)
    while start < end and _is_edge_char(s[start]):
        start += 1
    while end > start and _is_edge_char(s[end - 1]):
        end -= 1
    return unicodedata.normalize("NFC", s[start:end])


def normalize_all(texts, strict: bool = False) -> list[str]:
    """Vector form of :func:`normalize`."""
    return [normalize(t, strict) for t in texts]
