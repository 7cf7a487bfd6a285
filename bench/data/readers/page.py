"""PAGE-XML (PRImA, the format of Transkribus, eScriptorium and Kraken; 2010-2019 schema versions).

``PcGts/Page@imageFilename`` names the page image; ``TextRegion/TextLine/Word`` carry ``Coords@points``
(``"x,y x,y ..."``, a polygon in image pixels) and ``TextEquiv/Unicode`` (the transcription; of several
TextEquivs the one with the lowest ``index`` wins). Lines may have only a ``Baseline``: the region
is then a band around it. A file with no transcribed ``Word`` falls back to its lines.
"""
from __future__ import annotations

from pathlib import Path

import bench.data.readers.layout as L
from .layout import LayoutPage, Region

NAMESPACE_PART = "schema.primaresearch.org/PAGE/gts/pagecontent/"  # http:// or (Transkribus) https://


def is_page(root) -> bool:
    return L.local(root) == "PcGts" and (NAMESPACE_PART in L.namespace(root) or not L.namespace(root))


def read_page(path: Path, level: str = "word") -> LayoutPage:
    """Parse one PAGE file into the regions to crop at ``level`` (word, or line)."""
    root = L.parse_xml(path)
    if not is_page(root):
        raise L.damaged(path, root, f"not a PAGE-XML file (root element {L.local(root)}, namespace "
                                    f"{L.namespace(root) or 'none'})")
    page_el = L.child(root, "Page")
    if page_el is None:
        raise L.damaged(path, root, "has no Page element")
    ref = page_el.get("imageFilename")
    if not ref:
        raise L.damaged(path, page_el, "lacks the imageFilename attribute")
    w = L.number(page_el, "imageWidth", path, default=0.0)
    h = L.number(page_el, "imageHeight", path, default=0.0)
    out = LayoutPage(xml=path, image_ref=ref, size=(w, h) if w > 0 and h > 0 else None)
    out.writer = _user_writer(root) or _user_writer(page_el) or L.writer_in_custom(page_el.get("custom"))
    lines = L.descendants(page_el, "TextLine")
    words = [wd for ln in lines for wd in L.children(ln, "Word")]
    use_words = level == "word" and any(text_of(wd) for wd in words)
    out.level = "word" if use_words else "line"
    line_heights = [_height(p) for ln in lines if (p := _coords(ln, path, required=False))]
    typical = sorted(line_heights)[len(line_heights) // 2] if line_heights else (h / 30 if h else 40.0)
    for ln in lines:
        if use_words:
            for wd in L.children(ln, "Word"):
                _add(out, wd, _coords(wd, path, required=True), _writer_of(wd))
            continue
        poly = _coords(ln, path, required=False)
        if poly is None:
            base = L.child(ln, "Baseline")
            if base is None:
                raise L.damaged(path, ln, "has neither Coords nor a Baseline")
            poly = L.baseline_band(L.parse_points(base.get("points"), path, base), typical)
        text = text_of(ln) or " ".join(t for wd in L.children(ln, "Word") if (t := text_of(wd)))
        _add(out, ln, poly, _writer_of(ln), text)
    return out


def _add(out: LayoutPage, el, poly, writer: str | None, text: str | None = None) -> None:
    text = (text_of(el) if text is None else text).strip()
    if not text:
        out.note("no transcription")
        return
    ident = el.get("id") or f"line{el.sourceline}"
    out.regions.append(Region(id=ident, text=text, polys=[poly], writer=writer, line=el.sourceline or 0))


def text_of(el) -> str:
    """The element's own TextEquiv/Unicode (lowest index first), or ''."""
    equivs = L.children(el, "TextEquiv")
    if not equivs:
        return ""

    def rank(e):
        idx = e.get("index")
        return int(idx) if idx and idx.lstrip("-").isdigit() else 0

    best = min(equivs, key=rank)
    uni = L.child(best, "Unicode")
    if uni is None:  # PlainText is optional beside Unicode, but some tools write only it
        uni = L.child(best, "PlainText")
    return (uni.text or "") if uni is not None else ""


def _coords(el, path: Path, required: bool):
    """The element's polygon; None when absent or empty and not ``required``."""
    c = L.child(el, "Coords")
    if c is None:
        if required:
            raise L.damaged(path, el, "has no Coords")
        return None
    pts = c.get("points")
    if pts is None:  # PAGE 2010: <Point x= y=/> children
        kids = L.children(c, "Point")
        if kids:
            return [(L.number(p, "x", path), L.number(p, "y", path)) for p in kids]
        if required:
            raise L.damaged(path, c, "has neither a points attribute nor Point children")
        return None
    if not pts.strip() and not required:
        return None
    return L.parse_points(pts, path, c)


def _height(poly) -> float:
    ys = [y for _, y in poly]
    return max(ys) - min(ys)


def _writer_of(el) -> str | None:
    """A writer named on this element or an ancestor (custom attribute or UserAttribute)."""
    node = el
    while node is not None and L.local(node) != "Page":
        found = L.writer_in_custom(node.get("custom")) or _user_writer(node)
        if found:
            return found
        node = node.getparent()
    return None


def _user_writer(el) -> str | None:
    """``UserDefined/UserAttribute name="writer" value="..."`` (also in Metadata)."""
    holders = [el] + L.children(el, "Metadata")
    for holder in holders:
        for ud in L.children(holder, "UserDefined"):
            for attr in L.children(ud, "UserAttribute"):
                if (attr.get("name") or "").strip().lower() in L.WRITER_NAMES and (attr.get("value") or "").strip():
                    return attr.get("value").strip()
    return None
