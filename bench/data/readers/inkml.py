"""InkML (W3C) pen traces: ``<trace>`` point lists grouped by ``<traceGroup>`` with ``<annotation>``s.

Text comes from a group's annotation of type truth, transcription, label, text or word (CROHME and
most word/line sets); the writer from an annotation of type writer (also writerID, writer_id,
author, subject) on the group, an enclosing group or the document. Words are the outermost annotated
groups whose text has no space; a file without such groups gives its annotated lines (or, with no
annotated group at all, one sample from the document's own text annotation). Traces are read per
the file's ``traceFormat`` (X and Y channels), with the explicit (``!``), first-difference (``'``)
and second-difference (``"``) qualifiers of the spec. Labels, writers and languages may also sit in
``annotationXML`` blocks (the IMADOC style); ``xml:id`` values that are not NCNames are tolerated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import bench.data.readers.layout as L
from .importing import lang_code

TEXT_TYPES = ("truth", "transcription", "label", "text", "word")
WRITER_TYPES = ("writer", "writerid", "writer_id", "writer-id", "author", "subject", "scriptor", "scriptorid")
LANG_TYPES = ("language", "lang", "xml:lang")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
TOKEN = re.compile(r"""([!'"]?)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[TF*?])""")


@dataclass
class InkWord:
    """One sample: its text, writer (if named) and pen-down strokes (arrays of x, y in file units)."""

    id: str
    text: str
    writer: str | None
    strokes: list[np.ndarray]
    lang: str | None = None  # the language the file names for it (None: --lang)


@dataclass
class InkFile:
    path: Path
    words: list[InkWord] = field(default_factory=list)
    level: str = "word"
    notes: dict[str, int] = field(default_factory=dict)
    math: bool = False  # a math expression (CROHME): its symbols are no lexicon words ("\\log" is not wood)


def read_inkml(path: Path, level: str = "word") -> InkFile:
    root = L.parse_xml(path)
    if L.local(root) != "ink":
        raise L.damaged(path, root, f"not an InkML file (root element {L.local(root)})")
    ix, iy, nch = _channels(root, path)
    traces: dict = {}  # element -> points, and xml:id -> points (lxml keeps one proxy per node while referenced)
    for t in L.descendants(root, "trace"):
        ident = t.get(XML_ID) or t.get("id")
        traces[t] = _parse_trace(t, path, ix, iy, nch)
        if ident:
            traces[ident] = traces[t]
    by_id = {g.get(XML_ID) or g.get("id"): g for g in L.descendants(root, "traceGroup")}
    out = InkFile(path)
    out.math = _annotation(root, TEXT_TYPES).startswith("$") or any(
        L.local(c) == "math" for ax in L.descendants(root, "annotationXML") for c in ax.iter())
    doc_writer = _annotation(root, WRITER_TYPES)
    doc_lang = lang_code(_annotation(root, LANG_TYPES) or root.get(XML_LANG))
    groups = [g for g in L.descendants(root, "traceGroup") if _annotation(g, TEXT_TYPES)]
    gset = set(groups)
    outer = [g for g in groups if not any(a in gset for a in g.iterancestors())]

    def one_word(g) -> bool:
        return not re.search(r"\s", _annotation(g, TEXT_TYPES))

    words = [g for g in groups if one_word(g) and not any(a in gset and one_word(a) for a in g.iterancestors())]
    chosen = words if level == "word" and words else outer
    out.level = "word" if chosen is words and words else "line"
    for g in chosen:
        strokes = _group_strokes(g, traces, by_id, path, set())
        writer = next((w for a in [g, *g.iterancestors()] if (w := _annotation(a, WRITER_TYPES))), None)
        lang = next((c for a in [g, *g.iterancestors()] if (c := lang_code(_annotation(a, LANG_TYPES)
                                                                           or a.get(XML_LANG)))), None)
        place = f"group{len(out.words) + sum(out.notes.values())}"  # its place, not its XML line
        _add(out, g.get(XML_ID) or g.get("id") or place, _annotation(g, TEXT_TYPES), writer, strokes, lang)
    if not chosen:
        text = _annotation(root, TEXT_TYPES)
        strokes = [traces[t] for t in L.descendants(root, "trace")]
        if text:
            out.level = "word" if not re.search(r"\s", text.strip()) else "line"
            _add(out, path.stem, text, doc_writer, strokes, doc_lang)
        else:
            out.notes["no transcription"] = 1
    return out


def _add(out: InkFile, ident: str, text: str, writer: str | None, strokes: list[np.ndarray],
         lang: str | None = None) -> None:
    strokes = [s for s in strokes if len(s)]
    text = text.strip()
    if not text:
        out.notes["no transcription"] = out.notes.get("no transcription", 0) + 1
    elif not strokes:
        out.notes["no traces"] = out.notes.get("no traces", 0) + 1
    else:
        out.words.append(InkWord(ident, text, writer, strokes, lang))


def _annotation(el, types: tuple[str, ...]) -> str:
    """The text of the element's own first annotation of one of ``types`` ('' if none; CROHME's
    ``Segmentation`` label of the group that holds the symbols is structure, not text), else of an
    ``annotationXML`` child element so named (IMADOC: ``<annotationXML type="Ground truth">
    <type>Word</type><label>...</label>``; a writer block: ``<annotationXML type="Writer"><id>``)."""
    for a in L.children(el, "annotation"):
        text = (a.text or "").strip()
        if (a.get("type") or "").strip().lower() in types and text and text != "Segmentation":
            return text
    for ax in L.children(el, "annotationXML"):
        kind = re.sub(r"[\s_-]+", "", (ax.get("type") or "").lower())
        for c in ax.iter():
            name = re.sub(r"[\s_-]+", "", L.local(c).lower())
            text = (c.text or "").strip() if len(c) == 0 else ""
            if c is not ax and text and (name in types or (kind in types and name in ("id", "name", "value"))):
                return text
    return ""


def _channels(root, path: Path) -> tuple[int, int, int]:
    """Positions of the X and Y channels in a point, and the channel count, from the first traceFormat."""
    fmt = next(iter(L.descendants(root, "traceFormat")), None)
    if fmt is None:
        return 0, 1, 2
    names = [(c.get("name") or "").upper() for c in L.children(fmt, "channel")]
    if "X" not in names or "Y" not in names:
        raise L.damaged(path, fmt, f"traceFormat has no X and Y channels ({' '.join(names) or 'none'})")
    return names.index("X"), names.index("Y"), len(names)


def _parse_trace(el, path: Path, ix: int, iy: int, nch: int) -> np.ndarray:
    """Points of one trace as an (n, 2) float array, decoding difference qualifiers."""
    prev = [0.0] * nch
    vel = [0.0] * nch
    mode = ["!"] * nch
    pts = []
    for raw in (el.text or "").split(","):
        if not raw.strip():
            continue
        toks = TOKEN.findall(raw)
        if TOKEN.sub("", raw).strip() or len(toks) <= max(ix, iy):
            raise L.damaged(path, el, f"trace point {raw.strip()[:40]!r} is not {nch} numbers")
        vals = []
        for c, (q, num) in enumerate(toks[:nch]):
            if num in "TF*?":
                if c in (ix, iy):
                    raise L.damaged(path, el, f"trace point {raw.strip()[:40]!r} has no X/Y value")
                vals.append(0.0)
                continue
            v = float(num)
            if q:
                mode[c] = q
            if mode[c] == "'":
                vel[c] = v
            elif mode[c] == '"':
                vel[c] += v
            else:
                vel[c] = v - prev[c] if pts else 0.0
            prev[c] = v if mode[c] == "!" else prev[c] + vel[c]
            vals.append(prev[c])
        pts.append((vals[ix], vals[iy]))
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def _group_strokes(g, traces: dict, by_id: dict, path: Path, seen: set) -> list[np.ndarray]:
    """Traces inside the group (directly or nested) and those its traceViews reference, in order."""
    if g in seen:
        raise L.damaged(path, g, "traceView references form a cycle")
    seen = seen | {g}
    out = []
    for el in g:
        name = L.local(el)
        if name == "trace":
            out.append(traces[el])
        elif name == "traceGroup":
            out += _group_strokes(el, traces, by_id, path, seen)
        elif name == "traceView":
            ref = (el.get("traceDataRef") or "").lstrip("#")
            if ref in traces:
                out.append(traces[ref])
            elif ref in by_id:
                out += _group_strokes(by_id[ref], traces, by_id, path, seen)
            elif L.children(el, "traceView"):
                out += _group_strokes(el, traces, by_id, path, seen)
            else:
                raise L.damaged(path, el, f"traceDataRef {ref!r} names no trace or traceGroup")
    return out
