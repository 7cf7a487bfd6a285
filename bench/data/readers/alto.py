"""ALTO (Library of Congress, v1-v4; the other format of HTR-United, eScriptorium and OCR-D).

``Description/sourceImageInformation/fileName`` names the page image; ``Layout/Page`` holds
``TextBlock/TextLine/String`` with a box (``HPOS VPOS WIDTH HEIGHT``, in ``MeasurementUnit``: pixel,
mm10 or inch1200) or a ``Shape/Polygon@POINTS``, and the text in ``String@CONTENT``. A word broken
across two lines is two Strings marked ``SUBS_TYPE="HypPart1"``/``"HypPart2"`` with the whole word in
``SUBS_CONTENT`` (older files mark only a ``HYP`` at the end of the line): the two crops are joined
side by side into one word image whose text is the whole word. Writers may be named by an
``OtherTag`` (TYPE or LABEL writer/hand/scribe) that elements reference through ``TAGREFS``.
"""
from __future__ import annotations

from pathlib import Path

import bench.data.readers.layout as L
from .layout import LayoutPage, Point, Region

UNITS_PER_INCH = {"pixel": None, "mm10": 254.0, "inch1200": 1200.0}


def is_alto(root) -> bool:
    return L.local(root).lower() == "alto"


def read_alto(path: Path, level: str = "word") -> LayoutPage:
    """Parse one ALTO file into the regions to crop at ``level`` (word, or line)."""
    root = L.parse_xml(path)
    if not is_alto(root):
        raise L.damaged(path, root, f"not an ALTO file (root element {L.local(root)})")
    desc = L.child(root, "Description")
    unit = "pixel"
    ref = None
    if desc is not None:
        mu = L.child(desc, "MeasurementUnit")
        unit = (mu.text or "pixel").strip() if mu is not None else "pixel"
        if unit not in UNITS_PER_INCH:
            raise L.damaged(path, mu, f"unknown MeasurementUnit {unit!r} (pixel, mm10 or inch1200)")
        info = L.child(desc, "sourceImageInformation")
        fn = L.child(info, "fileName") if info is not None else None
        ref = (fn.text or "").strip() if fn is not None else None
    lay = L.child(root, "Layout")
    pages = L.children(lay, "Page") if lay is not None else []
    if not pages:
        raise L.damaged(path, root, "has no Layout/Page element")
    if len(pages) > 1:
        raise L.damaged(path, pages[1], "a second Page: one page image per ALTO file is supported")
    page_el = pages[0]
    w = L.number(page_el, "WIDTH", path, default=0.0)
    h = L.number(page_el, "HEIGHT", path, default=0.0)
    out = LayoutPage(xml=path, image_ref=ref, size=(w, h) if w > 0 and h > 0 else None,
                     units_per_inch=UNITS_PER_INCH[unit])
    tags = _writer_tags(root)
    lines = L.descendants(page_el, "TextLine")
    strings = [s for ln in lines for s in L.children(ln, "String")]
    for s in strings:
        if s.get("CONTENT") is None:
            raise L.damaged(path, s, "lacks the CONTENT attribute")
    has_words = any(len(L.children(ln, "String")) > 1 for ln in lines) or any(
        s.get("CONTENT").strip() and not any(c.isspace() for c in s.get("CONTENT").strip()) for s in strings)
    out.level = "word" if level == "word" and has_words else "line"
    if out.level == "line":
        _lines(out, lines, path, tags)
    else:
        _words(out, lines, path, tags)
    return out


def _words(out: LayoutPage, lines: list, path: Path, tags: dict[str, str]) -> None:
    """Strings in reading order; hyphenated halves joined into one word."""
    pending: tuple | None = None  # (String element, polygon, whole word or None)
    for ln in lines:
        strings = L.children(ln, "String")
        ends_with_hyp = bool(strings) and L.local(ln[-1]) == "HYP" if len(ln) else False
        for i, s in enumerate(strings):
            poly = _shape(s, path, required=True)
            kind = (s.get("SUBS_TYPE") or "").strip()
            if not kind and ends_with_hyp and i == len(strings) - 1:
                kind = "HypPart1"  # hyphen marked only by a HYP element after the line's last String
            elif not kind and pending is not None and pending[2] is None and i == 0:
                kind = "HypPart2"  # ... and continued by the next line's first String
            if kind == "HypPart1":
                if pending is not None:
                    out.note("unpaired hyphenation part")
                pending = (s, poly, (s.get("SUBS_CONTENT") or "").strip() or None)
                continue
            if kind == "HypPart2":
                if pending is None:
                    out.note("unpaired hyphenation part")
                    continue
                first, first_poly, whole = pending
                pending = None
                text = whole or (s.get("SUBS_CONTENT") or "").strip() or \
                    first.get("CONTENT").strip() + s.get("CONTENT").strip()
                _add(out, first, [first_poly, poly], text, _writer(first, tags))
                continue
            if pending is not None:
                out.note("unpaired hyphenation part")
                pending = None
            _add(out, s, [poly], s.get("CONTENT"), _writer(s, tags))
    if pending is not None:
        out.note("unpaired hyphenation part")


def _lines(out: LayoutPage, lines: list, path: Path, tags: dict[str, str]) -> None:
    heights = [h for ln in lines if (h := _dim(ln, "HEIGHT"))]
    typical = sorted(heights)[len(heights) // 2] if heights else 40.0
    for ln in lines:
        poly = _shape(ln, path, required=False)
        strings = L.children(ln, "String")
        if poly is None and strings and all(_shape(st, path, required=False) for st in strings):
            pts = [p for st in strings for p in _shape(st, path, required=False)]  # the words' box
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            poly = L.box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        if poly is None:
            base = ln.get("BASELINE")
            if not base or len(L.parse_points(base, path, ln, "BASELINE")) < 2:
                raise L.damaged(path, ln, "has neither a box (HPOS VPOS WIDTH HEIGHT), a Shape nor a BASELINE")
            poly = L.baseline_band(L.parse_points(base, path, ln, "BASELINE"), typical)
        words = [s.get("CONTENT").strip() for s in L.children(ln, "String")]
        text = " ".join(w for w in words if w)
        if text and len(ln) and L.local(ln[-1]) == "HYP":
            text += (ln[-1].get("CONTENT") or "-").strip()
        _add(out, ln, [poly], text, _writer(ln, tags))


def _add(out: LayoutPage, el, polys: list[list[Point]], text: str, writer: str | None) -> None:
    text = (text or "").strip()
    if not text:
        out.note("no transcription")
        return
    ident = el.get("ID") or f"{L.local(el)}{el.sourceline}"
    out.regions.append(Region(id=ident, text=text, polys=polys, writer=writer, line=el.sourceline or 0))


def _dim(el, name: str) -> float | None:
    raw = el.get(name)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _shape(el, path: Path, required: bool) -> list[Point] | None:
    """Shape/Polygon@POINTS, else the box; None when neither is there and not ``required``."""
    shape = L.child(el, "Shape")
    if shape is not None:
        poly = L.child(shape, "Polygon")
        if poly is not None:
            pts = L.parse_points(poly.get("POINTS"), path, poly, "POINTS")
            if len(pts) < 3:
                raise L.damaged(path, poly, f"a polygon needs 3 or more points, got {len(pts)}")
            return pts
    if not required and any(el.get(a) is None for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT")):
        return None
    x, y, w, h = (L.number(el, a, path) for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
    if w < 0 or h < 0:
        raise L.damaged(path, el, f"negative WIDTH or HEIGHT ({w:g} x {h:g})")
    return L.box(x, y, w, h)


def _writer_tags(root) -> dict[str, str]:
    """OtherTag ID -> writer name, for tags whose TYPE or LABEL says writer/hand/scribe/author."""
    out = {}
    for tag in L.descendants(root, "OtherTag"):
        kind = {(tag.get("TYPE") or "").strip().lower(), (tag.get("LABEL") or "").strip().lower()}
        if kind & set(L.WRITER_NAMES) and tag.get("ID"):
            value = (tag.get("VALUE") or tag.get("DESCRIPTION") or "").strip()
            label = (tag.get("LABEL") or "").strip()
            out[tag.get("ID")] = value or (label if label.lower() not in L.WRITER_NAMES else tag.get("ID"))
    return out


def _writer(el, tags: dict[str, str]) -> str | None:
    if not tags:
        return None
    node = el
    while node is not None:
        for ref in (node.get("TAGREFS") or "").split():
            if ref in tags:
                return tags[ref]
        node = node.getparent()
    return None
