"""ALTO (Library of Congress, v1-v4; the other format of HTR-United, eScriptorium and OCR-D).

``Description/sourceImageInformation/fileName`` names the page image; ``Layout/Page`` holds
``TextBlock/TextLine/String`` with a box (``HPOS VPOS WIDTH HEIGHT``, in ``MeasurementUnit``: pixel,
mm10 or inch1200) or a ``Shape/Polygon@POINTS``, and the text in ``String@CONTENT``. A word broken
across two lines is two Strings marked ``SUBS_TYPE="HypPart1"``/``"HypPart2"`` with the whole word in
``SUBS_CONTENT`` (older files mark only a ``HYP`` at the end of the line): the two crops are joined
side by side into one word image whose text is the whole word. Writers may be named by an
``OtherTag`` (TYPE or LABEL writer/hand/scribe) that elements reference through ``TAGREFS``; the
language by ``LANG``. Words or the whole line are chosen per line: a line held in one String is a line.
eScriptorium types lines the same way (``OtherTag LABEL="DefaultLine:Handwritten"``): ``line_type``
keeps only the lines of one type, so a mixed typed/handwritten page can give a handwriting-only set.
"""
from __future__ import annotations

from pathlib import Path

import bench.data.readers.layout as L
from .importing import lang_code
from .layout import LayoutPage, Point, Region

UNITS_PER_INCH = {"pixel": None, "mm10": 254.0, "inch1200": 1200.0}


def is_alto(root) -> bool:
    return L.local(root).lower() == "alto"


def read_alto(path: Path, level: str = "word", line_type: str | None = None) -> LayoutPage:
    """Parse one ALTO file into the regions to crop at ``level`` (word, or line); with ``line_type``
    only the lines whose type label contains it (``L.type_matches``), the others counted as left out."""
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
    types = _type_labels(root, tags)
    lines = L.descendants(page_el, "TextLine")
    for s in (s for ln in lines for s in L.children(ln, "String")):
        if s.get("CONTENT") is None:
            raise L.damaged(path, s, "lacks the CONTENT attribute")
    heights = [h for ln in lines if (h := _dim(ln, "HEIGHT"))]
    typical = sorted(heights)[len(heights) // 2] if heights else 40.0
    pending: list = [None]  # a HypPart1 waiting for its second half: (String, polygon, whole word or None)
    for n, ln in enumerate(lines):
        if line_type is not None and not L.type_matches(_line_type(ln, types), line_type):
            out.note(f"line type not {line_type!r}")
            if pending[0] is not None:  # its second half was on a line left out
                out.note("unpaired hyphenation part")
                pending[0] = None
            continue
        strings = L.children(ln, "String")
        if level == "word" and _segmented(strings):
            _words(out, ln, n, strings, path, tags, pending)
        else:
            if pending[0] is not None:
                out.note("unpaired hyphenation part")
                pending[0] = None
            _line(out, ln, n, strings, path, tags, typical)
    if pending[0] is not None:
        out.note("unpaired hyphenation part")
    kinds = {r.level for r in out.regions}
    out.level = "word" if kinds == {"word"} or (level == "word" and not kinds) else "line"
    return out


def _segmented(strings: list) -> bool:
    """Whether a line is cut into words: several Strings, or one that is half of a hyphenated word.
    A line held in one String (eScriptorium's export, even when its text is one token) is a line."""
    return len(strings) > 1 or any((s.get("SUBS_TYPE") or "").strip() for s in strings)


def _words(out: LayoutPage, ln, n: int, strings: list, path: Path, tags: dict[str, str], pending: list) -> None:
    """The line's Strings in order; hyphenated halves (across lines) joined into one word."""
    ends_with_hyp = L.local(ln[-1]) == "HYP"
    for i, s in enumerate(strings):
        poly = _shape(s, path, required=True)
        kind = (s.get("SUBS_TYPE") or "").strip()
        if not kind and ends_with_hyp and i == len(strings) - 1:
            kind = "HypPart1"  # hyphen marked only by a HYP element after the line's last String
        elif not kind and pending[0] is not None and pending[0][2] is None and i == 0:
            kind = "HypPart2"  # ... and continued by the next line's first String
        where = f"{ln.get('ID') or f'line{n}'}_s{i}"
        if kind == "HypPart1":
            if pending[0] is not None:
                out.note("unpaired hyphenation part")
            pending[0] = (s, poly, (s.get("SUBS_CONTENT") or "").strip() or None, where)
            continue
        if kind == "HypPart2":
            if pending[0] is None:
                out.note("unpaired hyphenation part")
                continue
            first, first_poly, whole, first_where = pending[0]
            pending[0] = None
            text = whole or (s.get("SUBS_CONTENT") or "").strip() or \
                first.get("CONTENT").strip() + s.get("CONTENT").strip()
            _add(out, first, [first_poly, poly], text, _writer(first, tags), first_where, "word")
            continue
        if pending[0] is not None:
            out.note("unpaired hyphenation part")
            pending[0] = None
        _add(out, s, [poly], s.get("CONTENT"), _writer(s, tags), where, "word")


def _line(out: LayoutPage, ln, n: int, strings: list, path: Path, tags: dict[str, str], typical: float) -> None:
    """The whole line, masked by its polygon: the line's Shape, else its one String's shape, else its
    box (or the box around its Strings), else a band around its BASELINE."""
    poly = _shape(ln, path, required=False, polygon_only=True)
    if poly is None and len(strings) == 1:
        poly = _shape(strings[0], path, required=False)
    if poly is None:
        poly = _shape(ln, path, required=False)
    if poly is None and strings and all(_shape(st, path, required=False) for st in strings):
        pts = [p for st in strings for p in _shape(st, path, required=False)]  # the words' box
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        poly = L.box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    if poly is None:
        base = ln.get("BASELINE")
        if not base or len(L.parse_points(base, path, ln, "BASELINE")) < 2:
            raise L.damaged(path, ln, "has neither a box (HPOS VPOS WIDTH HEIGHT), a Shape nor a BASELINE")
        poly = L.baseline_band(L.parse_points(base, path, ln, "BASELINE"), typical)
    text = " ".join(w for s in strings if (w := s.get("CONTENT").strip()))
    if text and len(ln) and L.local(ln[-1]) == "HYP":
        text += (ln[-1].get("CONTENT") or "-").strip()
    _add(out, ln, [poly], text, _writer(ln, tags), f"line{n}", "line")


def _add(out: LayoutPage, el, polys: list[list[Point]], text: str, writer: str | None, where: str,
         level: str) -> None:
    text = (text or "").strip()
    if not text:
        out.note("no transcription")
        return
    ident = el.get("ID") or where  # the element's place, not its XML line: stable across re-exports
    out.regions.append(Region(id=ident, text=text, polys=polys, writer=writer, line=el.sourceline or 0,
                              level=level, lang=_lang(el)))


def _lang(el) -> str | None:
    """``LANG`` (or ``xml:lang``) on the element or an ancestor, as an ISO 639 code."""
    for node in [el, *el.iterancestors()]:
        code = lang_code(node.get("LANG") or node.get("{http://www.w3.org/XML/1998/namespace}lang"))
        if code:
            return code
    return None


def _dim(el, name: str) -> float | None:
    raw = el.get(name)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _shape(el, path: Path, required: bool, polygon_only: bool = False) -> list[Point] | None:
    """Shape/Polygon@POINTS, else the box (unless ``polygon_only``); None when neither is there and
    not ``required``."""
    shape = L.child(el, "Shape")
    if shape is not None:
        poly = L.child(shape, "Polygon")
        if poly is not None:
            pts = L.parse_points(poly.get("POINTS"), path, poly, "POINTS")
            if len(pts) < 3:
                raise L.damaged(path, poly, f"a polygon needs 3 or more points, got {len(pts)}")
            return pts
    if polygon_only:
        return None
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


def _type_labels(root, writers: dict[str, str]) -> dict[str, str]:
    """OtherTag ID -> LABEL for the tags that are not writers: eScriptorium's line and block types
    (``LABEL="DefaultLine:Handwritten" DESCRIPTION="line type DefaultLine:Handwritten"``)."""
    return {t.get("ID"): (t.get("LABEL") or "").strip() for t in L.descendants(root, "OtherTag")
            if t.get("ID") and t.get("ID") not in writers and (t.get("LABEL") or "").strip()}


def _line_type(ln, types: dict[str, str]) -> list[str] | None:
    """The type labels of the nearest element, the line first, then its ancestors, whose ``TAGREFS``
    name a type tag: a line's own type wins over its block's. None when nothing is typed."""
    node = ln
    while node is not None:
        found = [types[r] for r in (node.get("TAGREFS") or "").split() if r in types]
        if found:
            return found
        node = node.getparent()
    return None


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
