"""PAGE-XML (PRImA, the format of Transkribus, eScriptorium and Kraken; 2010-2019 schema versions).

``PcGts/Page@imageFilename`` names the page image; ``TextRegion/TextLine/Word`` carry ``Coords@points``
(``"x,y x,y ..."``, a polygon in image pixels) and ``TextEquiv/Unicode`` (the transcription; of several
TextEquivs the one with the lowest ``index`` wins). Lines may have only a ``Baseline``: the region
is then a band around it. Lines come in ``ReadingOrder``; words or the whole line are chosen per line.
eScriptorium's PAGE export types lines as ``custom="structure {type:DefaultLine:Handwritten;}"``, the
ALTO export's line types: ``line_type`` keeps one type, as for ALTO.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import bench.data.readers.layout as L
from .importing import lang_code
from .layout import LayoutPage, Region

READING_INDEX = re.compile(r"readingOrder\s*\{[^}]*index\s*:\s*(-?\d+)")
CUSTOM_TYPE = re.compile(r"\bstructure\s*\{[^}]*?\btype\s*:\s*([^;}]*)")
CUSTOM_LANG = re.compile(r"\b(language|lang)\s*\{([^}]*)\}", re.I)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NAMESPACE_PART = "schema.primaresearch.org/PAGE/gts/pagecontent/"  # http:// or (Transkribus) https://


def is_page(root) -> bool:
    return L.local(root) == "PcGts" and (NAMESPACE_PART in L.namespace(root) or not L.namespace(root))


def read_page(path: Path, level: str = "word", trust: str = "line", line_type: str | None = None) -> LayoutPage:
    """Parse one PAGE file into the regions to crop at ``level`` (word, or line).

    Decided per line: a line whose words carry text gives its words, unless the words disagree with
    the line's own text (Transkribus leaves word text stale when a line is corrected): then the
    corrected line is cropped whole (``trust="line"``, the default) or the words are kept
    (``trust="words"``); both cases are counted. A line without transcribed words gives the line.
    With ``line_type``, lines of another type (``_line_type``) are left out and counted."""
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
    lines = _ordered_lines(page_el)
    line_heights = [_height(p) for ln in lines if (p := _coords(ln, path, required=False))]
    typical = sorted(line_heights)[len(line_heights) // 2] if line_heights else (h / 30 if h else 40.0)
    for li, ln in enumerate(lines):
        if line_type is not None and not L.type_matches(_line_type(ln), line_type):
            out.note(f"line type not {line_type!r}")
            continue
        line_text = text_of(ln).strip()
        words = _by_custom_order(L.children(ln, "Word"))
        said = [text_of(wd).strip() for wd in words]
        if level == "word" and any(said):
            agree = not line_text or _squeeze(" ".join(t for t in said if t)) == _squeeze(line_text)
            if not agree:
                out.tell("line(s) whose words disagree with the line text")
            if agree or trust == "words":
                for wi, wd in enumerate(words):
                    _add(out, wd, _coords(wd, path, required=True), _writer_of(wd), f"l{li}w{wi}",
                         "word", _lang_of(wd))
                continue
        elif level == "word" and line_text:
            out.tell("line(s) without transcribed words, cropped whole")
        poly = _coords(ln, path, required=False)
        if poly is None:
            base = L.child(ln, "Baseline")
            if base is None:
                raise L.damaged(path, ln, "has neither Coords nor a Baseline")
            poly = L.baseline_band(L.parse_points(base.get("points"), path, base), typical)
        text = line_text or " ".join(t for t in said if t)
        _add(out, ln, poly, _writer_of(ln), f"l{li}", "line", _lang_of(ln), text)
    kinds = {r.level for r in out.regions}
    out.level = "word" if kinds == {"word"} or (level == "word" and not kinds) else "line"
    return out


def _squeeze(text: str) -> str:
    """The text without any whitespace, in NFC: words and line agree when this is equal."""
    return unicodedata.normalize("NFC", re.sub(r"\s+", "", text))


def _ordered_lines(page_el) -> list:
    """TextLines in reading order: regions by ``ReadingOrder`` (regions it does not name keep document
    order, after those it names), lines and words inside by Transkribus ``readingOrder {index:n;}``."""
    regions = [r for r in page_el.iter() if L.local(r) == "TextRegion"]
    rank: dict[str, int] = {}
    order = L.child(page_el, "ReadingOrder")
    for ref in _flatten(order) if order is not None else []:
        rank.setdefault(ref, len(rank))
    top = [r for r in regions if not any(L.local(a) == "TextRegion" for a in r.iterancestors())]
    top = sorted(top, key=lambda r: (0, rank[r.get("id")]) if r.get("id") in rank else (1, 0)) if rank else top
    seen: list = []
    for reg in top:
        for sub in [reg, *[r for r in reg.iter() if r is not reg and L.local(r) == "TextRegion"]]:
            seen += _by_custom_order(L.children(sub, "TextLine"))
    placed = set(seen)
    loose = [ln for ln in L.descendants(page_el, "TextLine") if ln not in placed]
    return seen + loose


def _flatten(group) -> list[str]:
    """Region ids of a ReadingOrder group in order: members sorted by ``index`` within each group
    (nested groups restart their indices), groups entered where they stand."""
    out = [group.get("regionRef")] if group.get("regionRef") else []
    members = [c for c in group if isinstance(c.tag, str) and L.local(c) != "Labels"]

    def key(item):
        pos, el = item
        idx = (el.get("index") or "").strip()
        return (int(idx), pos) if idx.lstrip("-").isdigit() else (1 << 30, pos)

    for _, el in sorted(enumerate(members), key=key):
        out += _flatten(el)
    return out


def _by_custom_order(els: list) -> list:
    """``els`` sorted by their ``readingOrder {index:n;}`` when every one has it, else as they are."""
    idx = [READING_INDEX.search(e.get("custom") or "") for e in els]
    if els and all(idx):
        return [e for _, e in sorted(zip((int(m.group(1)) for m in idx), els), key=lambda t: t[0])]
    return els


def _line_type(ln) -> list[str] | None:
    """``custom="structure {type:...;}"`` of the line, else of its nearest typed region; None if untyped."""
    node = ln
    while node is not None and L.local(node) != "Page":
        m = CUSTOM_TYPE.search(node.get("custom") or "")
        if m and m.group(1).strip():
            return [m.group(1).strip()]
        node = node.getparent()
    return None


def _lang_of(el) -> str | None:
    """The language named on the element or an ancestor: ``language``/``primaryLanguage``/``xml:lang``
    attributes, a ``TextStyle`` child's, or a Transkribus ``custom="language {value:...;}"``."""
    node = el
    while node is not None and L.local(node) != "PcGts":
        holders = [node, *L.children(node, "TextStyle")]
        for h in holders:
            for attr in ("language", "primaryLanguage", "lang", XML_LANG):
                code = lang_code(h.get(attr))
                if code:
                    return code
        m = CUSTOM_LANG.search(node.get("custom") or "")
        if m and (code := lang_code(re.sub(r"^(value|name|code):", "", m.group(2).split(";")[0].strip()))):
            return code
        node = node.getparent()
    return None


def _add(out: LayoutPage, el, poly, writer: str | None, where: str, level: str, lang: str | None,
         text: str | None = None) -> None:
    text = (text_of(el) if text is None else text).strip()
    if not text:
        out.note("no transcription")
        return
    ident = el.get("id") or where  # the element's place, not its XML line: stable across re-exports
    out.regions.append(Region(id=ident, text=text, polys=[poly], writer=writer, line=el.sourceline or 0,
                              level=level, lang=lang))


def text_of(el) -> str:
    """The element's own TextEquiv/Unicode, or ''. Of several, the lowest ``index`` wins; one without
    an index comes after those with one; equal ranks go to the higher ``conf``."""
    equivs = L.children(el, "TextEquiv")
    if not equivs:
        return ""

    def rank(e):
        idx = (e.get("index") or "").strip()
        try:
            conf = -float(e.get("conf") or 0.0)
        except ValueError:
            conf = 0.0
        return (0, int(idx), conf) if idx.lstrip("-").isdigit() else (1, 0, conf)

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
