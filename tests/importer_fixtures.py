"""Tiny files in the field's real formats (PAGE-XML, ALTO, InkML, UNIPEN, Hugging Face Parquet and
save_to_disk), written by the tests from rendered words so every crop and stroke is known."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tests.helpers import fonts_for, render

PAGE_NS = {2019: "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15",
           2013: "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15"}
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
BLOB = (255, 0, 0)  # a red mark inside a word's box but outside its polygon: must come out white


def page_image(words: list[tuple[str, int, int]], size=(900, 400)) -> tuple[Image.Image, dict[str, tuple]]:
    """A white page with each (word, x, y) printed; returns the page and each word's box."""
    font = fonts_for("en")[0]
    page = Image.new("RGB", size, "white")
    boxes = {}
    for text, x, y in words:
        im = render(text, font, size=36)
        page.paste(im, (x, y))
        boxes[text] = (x, y, im.width, im.height)
    return page, boxes


def _poly(box, cut: int = 0) -> str:
    """The box as a polygon with its top-right corner cut off by ``cut`` pixels (a hexagon when > 0)."""
    x, y, w, h = box
    pts = [(x, y), (x + w - cut, y), (x + w, y + cut), (x + w, y + h), (x, y + h)] if cut else \
        [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return " ".join(f"{px},{py}" for px, py in pts)


def _page_xml(ns: str, image: str, size, lines: list[str], custom: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{ns}">\n<Metadata><Creator>test</Creator>'
            f'</Metadata>\n<Page imageFilename="{image}" imageWidth="{size[0]}" imageHeight="{size[1]}"{custom}>\n'
            f'<TextRegion id="r1"><Coords points="0,0 {size[0]},0 {size[0]},{size[1]} 0,{size[1]}"/>\n'
            + "\n".join(lines) + "\n</TextRegion>\n</Page>\n</PcGts>\n")


def write_page_set(root: Path, damaged: bool = False) -> Path:
    """A Transkribus-style export: ``doc/0001.png`` with ``doc/page/0001.xml`` (PAGE 2019, word polygons,
    writer named in a custom attribute), ``doc/page/0002.xml`` (PAGE 2013, lines only, one with only a
    baseline) and ``doc/page/0003.xml`` whose image is missing; plus a METS file to pass over."""
    doc = root / "doc"
    (doc / "page").mkdir(parents=True, exist_ok=True)
    page, boxes = page_image([("dog", 40, 40), ("cat", 300, 40), ("house", 40, 200)])
    x, y, w, h = boxes["house"]
    ImageDraw.Draw(page).rectangle((x + w - 5, y, x + w - 1, y + 3), fill=BLOB)  # in the cut-off corner
    page.save(doc / "0001.png")
    coords = {k: _poly(b, cut=12 if k == "house" else 0) for k, b in boxes.items()}
    bad = "12,a 40,40" if damaged else coords["cat"]
    words = [f'<Word id="w1"><Coords points="{coords["dog"]}"/><TextEquiv><Unicode>Dog</Unicode></TextEquiv></Word>',
             f'<Word id="w2"><Coords points="{bad}"/><TextEquiv index="2"><Unicode>cot</Unicode></TextEquiv>'
             f'<TextEquiv index="1"><Unicode>cat</Unicode></TextEquiv></Word>']
    lines = [f'<TextLine id="l1" custom="readingOrder {{index:0;}} writer {{name:Anna Smith;}}">'
             f'<Coords points="0,30 900,30 900,110 0,110"/>{"".join(words)}</TextLine>',
             f'<TextLine id="l2"><Coords points="0,190 900,190 900,270 0,270"/>'
             f'<Word id="w3"><Coords points="{coords["house"]}"/><TextEquiv><Unicode>house</Unicode></TextEquiv></Word>'
             f'<Word id="w4"><Coords points="600,200 650,200 650,250 600,250"/><TextEquiv><Unicode></Unicode>'
             f'</TextEquiv></Word></TextLine>']
    (doc / "page" / "0001.xml").write_text(_page_xml(PAGE_NS[2019], "0001.png", page.size, lines), encoding="utf-8")
    page2, b2 = page_image([("tree", 40, 40), ("water", 40, 200)])
    page2.save(doc / "0002.jpg", quality=95)
    x, y, w, h = b2["water"]
    lines2 = [f'<TextLine id="m1"><Coords points="{_poly(b2["tree"])}"/><TextEquiv><Unicode>tree</Unicode></TextEquiv>'
              f'</TextLine>',
              f'<TextLine id="m2"><Baseline points="{x},{y + int(h * 0.7)} {x + w},{y + int(h * 0.7)}"/>'
              f'<TextEquiv><Unicode>water</Unicode></TextEquiv></TextLine>']
    (doc / "page" / "0002.xml").write_text(_page_xml(PAGE_NS[2013], "0002.jpg", page2.size, lines2), encoding="utf-8")
    (doc / "page" / "0003.xml").write_text(_page_xml(PAGE_NS[2019], "0003.png", page.size, lines), encoding="utf-8")
    (doc / "mets.xml").write_text('<?xml version="1.0"?><mets xmlns="http://www.loc.gov/METS/"/>', encoding="utf-8")
    return root, boxes


def write_alto(root: Path, damaged: bool = False) -> tuple[Path, dict]:
    """ALTO v4: line 1 ``the hou-``, line 2 ``se tree`` (house hyphenated: HypPart1/HypPart2 + HYP),
    ``tree`` given as a Shape polygon; the page declared at half the image's size (a downscaled export)."""
    root.mkdir(parents=True, exist_ok=True)
    page, boxes = page_image([("the", 40, 40), ("hou", 200, 40), ("se", 40, 200), ("tree", 200, 200)])
    page.save(root / "scan.png")

    def s(text, box, extra=""):
        x, y, w, h = (v / 2 for v in box)
        return f'<String ID="s_{text}" CONTENT="{text}" HPOS="{x}" VPOS="{y}" WIDTH="{w}" HEIGHT="{h}"{extra}/>'

    x, y, w, h = (v / 2 for v in boxes["tree"])
    tree = (f'<String ID="s_tree" CONTENT="tree" HPOS="{x}" VPOS="{y}" WIDTH="{w}" HEIGHT="{h}"><Shape>'
            f'<Polygon POINTS="{x} {y} {x + w} {y} {x + w} {y + h} {x} {y + h}"/></Shape></String>')
    the = s("the", boxes["the"])
    if damaged:
        the = the.replace(' CONTENT="the"', "")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ALTO_NS}">
<Description><MeasurementUnit>pixel</MeasurementUnit>
<sourceImageInformation><fileName>scan.png</fileName></sourceImageInformation></Description>
<Tags><OtherTag ID="t1" TYPE="writer" LABEL="writer" VALUE="Jules"/></Tags>
<Layout><Page ID="p1" WIDTH="{page.width / 2}" HEIGHT="{page.height / 2}" PHYSICAL_IMG_NR="1">
<PrintSpace><TextBlock ID="b1" TAGREFS="t1">
<TextLine ID="l1" HPOS="10" VPOS="15" WIDTH="400" HEIGHT="40">{the}<SP/>{s("hou", boxes["hou"],
        ' SUBS_TYPE="HypPart1" SUBS_CONTENT="house"')}<HYP CONTENT="-"/></TextLine>
<TextLine ID="l2" HPOS="10" VPOS="95" WIDTH="400" HEIGHT="40">{s("se", boxes["se"],
        ' SUBS_TYPE="HypPart2" SUBS_CONTENT="house"')}<SP/>{tree}</TextLine>
</TextBlock></PrintSpace></Page></Layout></alto>
"""
    (root / "scan.xml").write_text(xml, encoding="utf-8")
    return root, boxes


TYPED_LINES = [("hand", "DefaultLine:Handwritten"), ("typed", "DefaultLine:Typewritten"),
               ("above", "InterlinearLine:Handwritten"), ("plain", None)]  # "plain": only its block is typed


def write_typed_lines(root: Path, fmt: str) -> Path:
    """One page of four lines typed as eScriptorium types them, as ALTO (``OtherTag`` line types the
    lines reference by ``TAGREFS``; the block references a block type and a writer) or as PAGE
    (``custom="structure {type:...;}"`` on the lines and on the region)."""
    root.mkdir(parents=True, exist_ok=True)
    page, boxes = page_image([(t, 40, 20 + 90 * i) for i, (t, _) in enumerate(TYPED_LINES)], size=(400, 380))
    page.save(root / "scan.png")
    ids = {label: f"LT{i}" for i, (_, label) in enumerate(TYPED_LINES) if label}
    if fmt == "alto":
        tags = "".join(f'<OtherTag ID="{i}" LABEL="{lab}" DESCRIPTION="line type {lab}"/>' for lab, i in ids.items())
        lines = "".join(f'<TextLine ID="l_{t}"{f" TAGREFS={chr(34)}{ids[lab]}{chr(34)}" if lab else ""} HPOS="{b[0]}" '
                        f'VPOS="{b[1]}" WIDTH="{b[2]}" HEIGHT="{b[3]}"><String CONTENT="{t}" HPOS="{b[0]}" '
                        f'VPOS="{b[1]}" WIDTH="{b[2]}" HEIGHT="{b[3]}"/></TextLine>\n'
                        for (t, lab), b in ((tl, boxes[tl[0]]) for tl in TYPED_LINES))
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="{ALTO_NS}"><Description><MeasurementUnit>pixel'
               f'</MeasurementUnit><sourceImageInformation><fileName>scan.png</fileName></sourceImageInformation>'
               f'</Description><Tags>{tags}<OtherTag ID="BT1" LABEL="Main" DESCRIPTION="block type Main"/>'
               f'<OtherTag ID="W1" TYPE="writer" LABEL="writer" VALUE="Ann"/></Tags>\n<Layout><Page ID="p1" '
               f'WIDTH="{page.width}" HEIGHT="{page.height}"><PrintSpace><TextBlock ID="b1" TAGREFS="W1 BT1">\n'
               f'{lines}</TextBlock></PrintSpace></Page></Layout></alto>\n')
    else:
        lines = [f'<TextLine id="l_{t}"{f" custom={chr(34)}structure {{type:{lab};}}{chr(34)}" if lab else ""}>'
                 f'<Coords points="{_poly(boxes[t])}"/><TextEquiv><Unicode>{t}</Unicode></TextEquiv></TextLine>'
                 for t, lab in TYPED_LINES]
        xml = _page_xml(PAGE_NS[2019], "scan.png", page.size, lines).replace(
            '<TextRegion id="r1">', '<TextRegion id="r1" custom="structure {type:Main;}">')
    (root / "scan.xml").write_text(xml, encoding="utf-8")
    return root


# --- pen traces -----------------------------------------------------------------------------------
def strokes_for(text: str) -> list[np.ndarray]:
    """Pen strokes (y down) that trace the dark pixels of the printed word, column by column runs:
    crude but real ink, so the rendered image holds the word's shape."""
    im = np.asarray(render(text, fonts_for("en")[0], size=32).convert("L")) < 128
    out = []
    for x in range(0, im.shape[1], 2):
        ys = np.flatnonzero(im[:, x])
        if len(ys):
            runs = np.split(ys, np.flatnonzero(np.diff(ys) > 1) + 1)
            out += [np.array([[x, r[0]], [x, r[-1]]], dtype=float) for r in runs]
    return out


def _trace_text(s: np.ndarray, diff: bool = False) -> str:
    if not diff:
        return ", ".join(f"{x:g} {y:g}" for x, y in s)
    first, rest = s[0], np.diff(s, axis=0)
    return ", ".join([f"{first[0]:g} {first[1]:g}"] + [f"'{dx:g} '{dy:g}" for dx, dy in rest])


def write_inkml(root: Path, damaged: bool = False) -> Path:
    """Two InkML files by two writers: one with traces inside word groups, one with traceViews and
    first-difference encoding; a group of each file is a two-word line (not a word)."""
    root.mkdir(parents=True, exist_ok=True)
    for n, (writer, words, views) in enumerate([("alice", ["dog", "cat"], False), ("bob", ["tree", "house"], True)]):
        traces, groups, k = [], [], 0
        for w in words:
            ids = []
            for s in strokes_for(w):
                ids.append(f"t{k}")
                traces.append(f'<trace xml:id="t{k}">{_trace_text(s + [100 * n, 0], diff=views)}</trace>')
                k += 1
            inner = "".join(f'<traceView traceDataRef="#{i}"/>' for i in ids) if views else \
                "".join(traces[-len(ids):])
            groups.append(f'<traceGroup xml:id="g_{w}"><annotation type="truth">{w}</annotation>{inner}</traceGroup>')
        if views:
            body = "".join(traces) + "".join(groups)
        else:
            body = "".join(groups)
        if damaged and n == 1:
            body = body.replace("</trace>", ", 3 x</trace>", 1)
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ink xmlns="http://www.w3.org/2003/InkML">'
               f'<traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/></traceFormat>'
               f'<annotation type="writer">{writer}</annotation>'
               f'<traceGroup xml:id="line"><annotation type="truth">{" ".join(words)}</annotation>{body}</traceGroup>'
               f'</ink>\n')
        (root / f"session{n}.inkml").write_text(xml, encoding="utf-8")
    return root


def write_unipen(root: Path, damaged: bool = False) -> Path:
    """A UNIPEN data file that includes its strokes from ``include/``, y growing upwards."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "include").mkdir(parents=True, exist_ok=True)
    strokes = {w: strokes_for(w) for w in ("dog", "water")}
    lines = [".VERSION 1.0", ".COORD X Y", ".HIERARCHY PAGE WORD"]
    for w, ss in strokes.items():
        for s in ss:
            lines.append(".PEN_DOWN")
            lines += [f"{int(x)} {int(1000 - y)}" for x, y in s]
            lines.append(".PEN_UP")  # empty: it only ends the stroke
        if w == "dog":
            lines += [".PEN_UP", "500 500", "510 505"]  # the pen hovering to the next word: a component
    (root / "include" / "w07.dat").write_text("\n".join(lines) + "\n", encoding="ascii")
    n_dog, n_all = len(strokes["dog"]), len(strokes["dog"]) + 1 + len(strokes["water"])
    last = n_all + 5 if damaged else n_all - 1
    seg = [".COMMENT two words by one writer\n  (continued comment line)", ".WRITER_ID w07", ".INCLUDE w07.dat",
           f'.SEGMENT WORD 0-{n_dog - 1} ? "dog"', f'.SEGMENT WORD {n_dog}-{last} OK "water"',
           f'.SEGMENT WORD 0 BAD "d"']
    (root / "data" / "w07.dat").write_text("\n".join(seg) + "\n", encoding="ascii")
    return root


# --- Hugging Face -------------------------------------------------------------------------------
def image_bytes(text: str, fmt: str) -> bytes:
    buf = io.BytesIO()
    render(text, fonts_for("en")[0], size=32).save(buf, format=fmt)
    return buf.getvalue()


def hf_table(words: list[str], writers: list[str]):
    import pyarrow as pa

    images = [{"bytes": image_bytes(w, "PNG" if i % 2 == 0 else "JPEG"), "path": f"{w}.{'png' if i % 2 == 0 else 'jpg'}"}
              for i, w in enumerate(words)]
    features = {"image": {"_type": "Image"}, "transcription": {"dtype": "string", "_type": "Value"},
                "writer_id": {"dtype": "string", "_type": "Value"}}
    table = pa.table({"image": images, "transcription": words, "writer_id": writers})
    return table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})


def write_hf_parquet(root: Path) -> Path:
    """The hub's Parquet layout: ``data/test-00000-of-00001.parquet`` (PNG and JPEG bytes)."""
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(hf_table(["dog", "cat", "house", "tree"], ["w1", "w1", "w2", "w2"]),
                   root / "data" / "test-00000-of-00001.parquet", row_group_size=2)
    return root


def write_hf_saved(root: Path) -> Path:
    """A DatasetDict saved by ``save_to_disk``: dataset_dict.json and a folder of Arrow streams per split."""
    import pyarrow as pa

    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    for split, words in (("train", ["dog", "cat"]), ("test", ["water", "tree"])):
        d = root / split
        d.mkdir()
        table = hf_table(words, ["a", "b"])
        with pa.ipc.new_stream(str(d / "data-00000-of-00001.arrow"), table.schema) as w:
            w.write_table(table)
        (d / "state.json").write_text(json.dumps({"_split": split}))
        (d / "dataset_info.json").write_text(json.dumps({"features": {}}))
    return root
