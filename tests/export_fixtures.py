"""Small files shaped like the real archive exports the importers meet: a Transkribus PAGE page with
stale word text, an eScriptorium ALTO page with one String per line (some single tokens) and NFD
labels, a CROHME InkML expression with non-NCName xml:ids, an IMADOC-style InkML word file with its
labels and writer in annotationXML. Every page is printed from known words, so each crop is known."""
from __future__ import annotations

import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import ImageDraw

from tests.importer_fixtures import ALTO_NS, BLOB, _trace_text, page_image, strokes_for

TRANSKRIBUS_NS = "https://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15"


def hexagon(box, cut: int = 10) -> list[tuple[int, int]]:
    """A box around ``box`` (x, y, w, h) grown by 6 px, its top-right corner cut off by ``cut``."""
    x, y, w, h = box
    x0, y0, x1, y1 = x - 6, y - 6, x + w + 6, y + h + 6
    return [(x0, y0), (x1 - cut, y0), (x1, y0 + cut), (x1, y1), (x0, y1)]


def mark_corner(page, poly) -> tuple[int, int]:
    """A red mark inside the polygon's box but outside the polygon (the cut corner); its position."""
    x1, y0 = poly[2][0], poly[0][1]
    ImageDraw.Draw(page).rectangle((x1 - 3, y0, x1, y0 + 2), fill=BLOB)
    return x1 - 2, y0 + 1


def _pts(poly, sep=",") -> str:
    return " ".join(f"{x}{sep}{y}" for x, y in poly)


def _equiv(text: str, extra: str = "") -> str:
    return f"<TextEquiv{extra}><Unicode>{text}</Unicode></TextEquiv>"


def write_transkribus(root: Path, image_name: str = "0001.tif") -> tuple[Path, dict]:
    """``doc/0001.jpg`` with ``doc/page/0001.xml`` naming ``image_name`` (by default ``0001.tif``:
    the export converted the scans).

    Region r1 (English, from the Page's primaryLanguage): line l1 "31st Dec/79" whose words still
    say "35" "Duc/79" (HTR before the correction); l2 "dog cat" with agreeing words; l3 "house"
    without words (two TextEquivs without index: the higher conf wins); l4 without any text.
    Region r2 (Spanish), first in the ReadingOrder (by index, listed second) though last in the file:
    word "agua" whose
    TextEquiv index="1" must beat one without an index. Returns the root and the polygons."""
    doc = root / "doc"
    (doc / "page").mkdir(parents=True, exist_ok=True)
    page, boxes = page_image([("31st", 40, 40), ("Dec/79", 200, 40), ("dog", 40, 140), ("cat", 200, 140),
                              ("house", 40, 240), ("xx", 40, 330), ("agua", 600, 40)], size=(900, 420))
    lines = {"l1": (boxes["31st"], boxes["Dec/79"]), "l2": (boxes["dog"], boxes["cat"]), "l3": (boxes["house"],),
             "l4": (boxes["xx"],), "l5": (boxes["agua"],)}
    polys = {}
    for key, bs in lines.items():
        x0, y0 = min(b[0] for b in bs), min(b[1] for b in bs)
        x1, y1 = max(b[0] + b[2] for b in bs), max(b[1] + b[3] for b in bs)
        polys[key] = hexagon((x0, y0, x1 - x0, y1 - y0))
        mark_corner(page, polys[key])
    page.save(doc / "0001.jpg", quality=98)

    def word(wid, key, text, equivs=None):
        return (f'<Word id="{wid}"><Coords points="{_pts(hexagon(boxes[key], 0))}"/>'
                f'{equivs or _equiv(text)}</Word>')

    def line(lid, index, inner, text_xml):
        return (f'<TextLine id="{lid}" custom="readingOrder {{index:{index};}}"><Coords points="{_pts(polys[lid])}"/>'
                f'<Baseline points="{polys[lid][0][0]},{polys[lid][3][1] - 8} {polys[lid][3][0]},{polys[lid][3][1] - 8}"/>'
                f'{inner}{text_xml}</TextLine>')

    r1 = [line("l1", 0, word("w1", "31st", "35") + word("w2", "Dec/79", "Duc/79"), _equiv("31st Dec/79")),
          line("l2", 1, word("w3", "dog", "dog") + word("w4", "cat", "cat"), _equiv("dog cat")),
          line("l3", 2, "", _equiv("hause", ' conf="0.2"') + _equiv("house", ' conf="0.9"')),
          line("l4", 3, "", _equiv(""))]
    r2 = [line("l5", 0, word("w5", "agua", "", _equiv("aqua") + _equiv("agua", ' index="1"')), "")]
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{TRANSKRIBUS_NS}">\n'
           f'<Metadata><Creator>Transkribus</Creator></Metadata>\n'
           f'<Page imageFilename="{image_name}" imageWidth="{page.width}" imageHeight="{page.height}" '
           f'primaryLanguage="English">\n<ReadingOrder><OrderedGroup id="ro1">'
           f'<RegionRefIndexed index="1" regionRef="r1"/><RegionRefIndexed index="0" regionRef="r2"/>'
           f'</OrderedGroup></ReadingOrder>\n'
           f'<TextRegion id="r1" custom="readingOrder {{index:1;}}"><Coords points="0,0 580,0 580,420 0,420"/>\n'
           + "\n".join(r1) + '\n</TextRegion>\n'
           f'<TextRegion id="r2" primaryLanguage="Spanish" custom="readingOrder {{index:0;}}">'
           f'<Coords points="580,0 900,0 900,420 580,420"/>\n' + "\n".join(r2) + "\n</TextRegion>\n</Page>\n</PcGts>\n")
    (doc / "page" / "0001.xml").write_text(xml, encoding="utf-8")
    return root, polys


ESCRIPTORIUM_LINES = [("the dog.", None), ("CAT", None), (unicodedata.normalize("NFD", "árbol"), "es"),
                      ("& house", None), ("log", None)]


def escriptorium_xml(polys: dict, extra_newlines: bool = False, texts: dict | None = None) -> str:
    """One String per TextLine holding the whole line (eScriptorium's export), the line's polygon in
    Shape, a String box equal to the line's box; plus one word-segmented line of two Strings without
    IDs ("water tree")."""
    texts = texts or {}
    nl = "\n\n" if extra_newlines else "\n"
    out = []
    for i, (text, lang) in enumerate(ESCRIPTORIUM_LINES):
        poly = polys[f"l{i}"]
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        x, y, w, h = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
        box = f'HPOS="{x}" VPOS="{y}" WIDTH="{w}" HEIGHT="{h}"'
        lang_attr = f' LANG="{lang}"' if lang else ""
        out.append(f'<TextLine ID="eSc_line_{i}" {box} BASELINE="{x} {y + h - 8} {x + w} {y + h - 8}"{lang_attr}>'
                   f'<Shape><Polygon POINTS="{_pts(poly, " ")}"/></Shape>'
                   f'<String CONTENT="{escape(texts.get(i, text), {chr(34): "&quot;"})}" {box}/></TextLine>')
    (wx, wy, ww, wh), (tx, ty, tw, th) = polys["water"], polys["tree"]
    out.append(f'<TextLine ID="eSc_line_w" HPOS="{wx}" VPOS="{wy}" WIDTH="{tx + tw - wx}" HEIGHT="{wh}">'
               f'<String CONTENT="water" HPOS="{wx}" VPOS="{wy}" WIDTH="{ww}" HEIGHT="{wh}"/><SP/>{nl}'
               f'<String CONTENT="tree" HPOS="{tx}" VPOS="{ty}" WIDTH="{tw}" HEIGHT="{th}"/></TextLine>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>{nl}<alto xmlns="{ALTO_NS}">{nl}<Description>'
            f'<MeasurementUnit>pixel</MeasurementUnit><sourceImageInformation><fileName>scan.png</fileName>'
            f'</sourceImageInformation></Description>{nl}<Layout><Page ID="p1" WIDTH="{polys["size"][0]}" '
            f'HEIGHT="{polys["size"][1]}" PHYSICAL_IMG_NR="1"><PrintSpace><TextBlock ID="eSc_block">{nl}'
            + nl.join(out) + f"{nl}</TextBlock></PrintSpace></Page></Layout></alto>\n")


def write_escriptorium(root: Path) -> tuple[Path, dict]:
    """``scan.png`` and ``scan.xml``: five lines held in one String each (one of them a single token,
    "CAT", the old switch to word mode), each masked by a polygon whose cut corner holds a red mark,
    "árbol" written in NFD on a LANG="es" line; and one word-segmented line."""
    root.mkdir(parents=True, exist_ok=True)
    words = [(unicodedata.normalize("NFC", t), 40, 40 + 70 * i) for i, (t, _) in enumerate(ESCRIPTORIUM_LINES)]
    page, boxes = page_image(words + [("water", 500, 40), ("tree", 700, 40)], size=(900, 420))
    polys: dict = {"size": page.size, "water": boxes["water"], "tree": boxes["tree"]}
    for i, (t, _) in enumerate(ESCRIPTORIUM_LINES):
        polys[f"l{i}"] = hexagon(boxes[unicodedata.normalize("NFC", t)])
        polys[f"mark{i}"] = mark_corner(page, polys[f"l{i}"])
    page.save(root / "scan.png")
    (root / "scan.xml").write_text(escriptorium_xml(polys), encoding="utf-8")
    return root, polys


def write_crohme(root: Path) -> Path:
    """A CROHME expression ``\\log x``: the MathML annotation with xml:ids ``(_1`` and ``1_1`` (not
    NCNames), traceGroup ids that are numbers, symbols as traceViews; beside it a file that is not
    well-formed."""
    root.mkdir(parents=True, exist_ok=True)
    traces, groups = [], []
    k = 0
    for n, sym in enumerate(["\\log", "x"]):
        refs = []
        for s in strokes_for(sym):
            traces.append(f'<trace id="{k}">{_trace_text(s + [90 * n, 0])}</trace>')
            refs.append(f'<traceView traceDataRef="{k}"/>')
            k += 1
        groups.append(f'<traceGroup xml:id="{10 + n}"><annotation type="truth">{sym}</annotation>{"".join(refs)}'
                      f'<annotationXML href="{sym.strip(chr(92))}_1"/></traceGroup>')
    xml = ('<ink xmlns="http://www.w3.org/2003/InkML">\n<traceFormat><channel name="X" type="decimal"/>'
           '<channel name="Y" type="decimal"/></traceFormat>\n<annotation type="truth">$\\log x$</annotation>\n'
           '<annotation type="UI">2011_IVC_DEPT_F01_E01</annotation><annotation type="writer">crohme-w17</annotation>\n'
           '<annotationXML type="truth" encoding="Content-MathML"><math xmlns="http://www.w3.org/1998/Math/MathML">'
           '<mrow><mi xml:id="log_1">log</mi><mo xml:id="(_1">(</mo><mi xml:id="x_1">x</mi>'
           '<mo xml:id=")_1">)</mo><mn xml:id="1_1">1</mn></mrow></math></annotationXML>\n' + "\n".join(traces)
           + '\n<traceGroup xml:id="9"><annotation type="truth">Segmentation</annotation>' + "".join(groups)
           + "</traceGroup>\n</ink>\n")
    (root / "expr_001.inkml").write_text(xml, encoding="utf-8")
    (root / "expr_002.inkml").write_text('<ink xmlns="http://www.w3.org/2003/InkML"><trace>1 2, 3', encoding="utf-8")
    return root


def write_imadoc(root: Path) -> Path:
    """An IMADOC-style word file: the writer in an ``annotationXML`` block (id, age, hand), the
    language in an annotation, each word a traceGroup whose label sits in ``annotationXML type="Ground
    truth"`` with ``<type>Word</type>``; "été" written in NFD."""
    root.mkdir(parents=True, exist_ok=True)
    groups = []
    for n, word in enumerate(["maison", "chat", unicodedata.normalize("NFD", "été")]):
        traces = "".join(f"<trace>{_trace_text(s + [150 * n, 0])}</trace>" for s in strokes_for(unicodedata.normalize("NFC", word)))
        groups.append(f'<traceGroup xml:id="word_{n}"><annotationXML type="Ground truth"><type>Word</type>'
                      f'<label>{word}</label></annotationXML>{traces}</traceGroup>')
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<ink xmlns="http://www.w3.org/2003/InkML">\n'
           '<traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/></traceFormat>\n'
           '<annotation type="language">French</annotation>\n'
           '<annotationXML type="Writer"><writerId>scripteur_07</writerId><age>34</age><gender>F</gender>'
           '<handedness>right</handedness></annotationXML>\n' + "\n".join(groups) + "\n</ink>\n")
    (root / "session_07" / "phrase_003.inkml").parent.mkdir(parents=True, exist_ok=True)
    (root / "session_07" / "phrase_003.inkml").write_text(xml, encoding="utf-8")
    return root
