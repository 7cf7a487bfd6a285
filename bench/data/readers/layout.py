"""What PAGE-XML and ALTO files have in common: regions of a page image with their text.

Both formats describe a scanned page as nested regions (block, line, word) with coordinates and a
transcription. The readers (``page.py``, ``alto.py``) turn a file into a ``LayoutPage``; this module
holds the shared parts: a parser that never fetches or expands anything, point lists, error lines
that name the file and the element, and cropping a region out of the page image with everything
outside its polygon painted white.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError

Point = tuple[float, float]
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
CUSTOM_WRITER = re.compile(r"\b(writer|hand|scribe|author)\s*\{([^}]*)\}", re.I)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".jp2", ".webp")
WRITER_NAMES = ("writer", "writer_id", "writerid", "hand", "scribe", "author")


@dataclass
class Region:
    """One word (or line) to crop: its polygons (several for a word hyphenated across lines)."""

    id: str
    text: str
    polys: list[list[Point]]
    writer: str | None = None
    line: int = 0  # source line of the element, for messages
    level: str = "word"  # what the crop holds: a word, or a whole line
    lang: str | None = None  # the language the file names for it (None: --lang)


@dataclass
class LayoutPage:
    """A parsed PAGE/ALTO file: the image it describes and the regions to crop from it."""

    xml: Path
    image_ref: str | None
    size: tuple[float, float] | None  # the page size the coordinates are in, when the file says
    regions: list[Region] = field(default_factory=list)
    level: str = "word"  # the level actually used for this file (word, or line when it has no words)
    writer: str | None = None  # a writer named for the whole page
    units_per_inch: float | None = None  # ALTO mm10 / inch1200 coordinates (None: pixels)
    notes: dict[str, int] = field(default_factory=dict)  # counts of things left out, by reason
    info: dict[str, int] = field(default_factory=dict)  # counts of choices made (kept, not left out)

    def note(self, reason: str, n: int = 1) -> None:
        self.notes[reason] = self.notes.get(reason, 0) + n

    def tell(self, what: str, n: int = 1) -> None:
        self.info[what] = self.info.get(what, 0) + n


def parse_xml(path: Path):
    """The root element of ``path``; one line naming the file and line when it is not well-formed.

    ``xml:id`` values that are not NCNames (CROHME's ``(_1`` or ``1_1`` inside MathML) break no
    structure, so a file whose only errors are those is read again with libxml2's recovery."""
    from lxml import etree

    def parser(recover: bool = False):
        return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                               remove_comments=True, remove_pis=True, recover=recover)

    try:
        if path.is_file() and path.stat().st_size == 0:
            raise BenchError(f"{path}: empty file, not XML")
        strict = parser()
        return etree.parse(str(path), strict).getroot()
    except etree.XMLSyntaxError as exc:
        errors = list(strict.error_log)  # this parse's errors only (exc.error_log is shared)
        if errors and all(e.type_name == "DTD_XMLID_VALUE" for e in errors):
            return etree.parse(str(path), parser(recover=True)).getroot()
        raise BenchError(f"{where(path, exc.lineno)}: not well-formed XML ({exc.msg})") from None
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc}") from None


def where(path: Path, line: int | None) -> str:
    """``file:line``, or just the file when the line is not known (never ``file:?``)."""
    return f"{path}:{line}" if line else str(path)


def local(el) -> str:
    """Tag name without its namespace."""
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace(el) -> str:
    tag = el.tag
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(el, name: str) -> list:
    return [c for c in el if local(c) == name]


def child(el, name: str):
    return next((c for c in el if local(c) == name), None)


def descendants(el, name: str) -> list:
    return [c for c in el.iter() if local(c) == name]


def describe(el) -> str:
    """``<Word id=w2>``; an element without an id is named under its parent (``<Word id=w2>/<Coords>``)."""
    ident = el.get("id") or el.get("ID") or el.get("{http://www.w3.org/XML/1998/namespace}id")
    here = f"<{local(el)}{f' id={ident}' if ident else ''}>"
    parent = el.getparent()
    if ident or parent is None:
        return here
    return f"{describe(parent)}/{here}"


def damaged(path: Path, el, msg: str) -> BenchError:
    """The one-line error for a damaged file: file, line, element, what is wrong."""
    return BenchError(f"{where(path, el.sourceline)}: {describe(el)}: {msg}")


def parse_points(text: str | None, path: Path, el, what: str = "points") -> list[Point]:
    """``"x1,y1 x2,y2 ..."`` (PAGE) or ``"x1 y1 x2 y2 ..."`` / ``"x1,y1,x2,y2"`` (ALTO) -> points."""
    raw = (text or "").strip()
    parts = [p for p in re.split(r"[\s,]+", raw) if p]
    if not parts or len(parts) % 2 or not all(NUMBER.fullmatch(p) for p in parts):
        raise damaged(path, el, f"{what} {raw[:60]!r} are not pairs of numbers")
    vals = [float(p) for p in parts]
    return list(zip(vals[0::2], vals[1::2]))


def number(el, name: str, path: Path, default: float | None = None) -> float:
    """A numeric attribute; a damaged-file error when it is missing (without default) or not a number."""
    raw = el.get(name)
    if raw is None:
        if default is not None:
            return default
        raise damaged(path, el, f"lacks the {name} attribute")
    if not NUMBER.fullmatch(raw.strip()):
        raise damaged(path, el, f"{name}={raw[:30]!r} is not a number")
    return float(raw)


def box(x: float, y: float, w: float, h: float) -> list[Point]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def writer_in_custom(custom: str | None) -> str | None:
    """Transkribus-style ``custom="writer {name:Anna;}"`` (also hand/scribe/author) -> ``Anna``."""
    m = CUSTOM_WRITER.search(custom or "")
    if not m:
        return None
    pairs = dict(p.split(":", 1) for p in m.group(2).split(";") if ":" in p)
    for key in ("name", "id", "value"):
        if pairs.get(key, "").strip():
            return pairs[key].strip()
    return next((v.strip() for v in pairs.values() if v.strip()), None)


def type_matches(labels: list[str] | None, want: str) -> bool:
    """Whether a line typed ``labels`` (None: untyped) is of type ``want``: one label contains it,
    case-insensitively, so ``handwritten`` takes DefaultLine:Handwritten and InterlinearLine:Handwritten."""
    key = want.strip().casefold()
    return any(key in lab.casefold() for lab in labels or ())


def baseline_band(points: list[Point], height: float) -> list[Point]:
    """A polygon around a baseline: 3/4 of ``height`` above it (ascenders), 1/4 below (descenders)."""
    up, down = 0.75 * height, 0.25 * height
    return [(x, y - up) for x, y in points] + [(x, y + down) for x, y in reversed(points)]


# --- images ------------------------------------------------------------------------------------
def find_image(xml: Path, ref: str | None) -> tuple[Path | None, bool]:
    """The page image and whether it was found under another extension than ``ref`` names (an export
    naming ``page.tif`` shipped with ``page.jpg``): ``ref`` relative to the XML's folder, else its
    parent (Transkribus exports put the XML in ``page/`` next to the images), by the full relative
    path and then by file name; then the same stems with the other image extensions."""
    found = _find_image(xml, ref)
    if found is not None or not ref:
        return found, False
    stem, dot, ext = ref.rpartition(".")
    if not dot or "/" in ext:
        return None, False
    for e in IMAGE_SUFFIXES:
        if e.lstrip(".") != ext.lower() and (alt := _find_image(xml, f"{stem}{e}")) is not None:
            return alt, True
    return None, False


def _find_image(xml: Path, ref: str | None) -> Path | None:
    if not ref:  # no file named: an image with the XML's name next to it
        return next((c for e in IMAGE_SUFFIXES for c in (xml.with_suffix(e), xml.parent.parent / (xml.stem + e))
                     if c.is_file()), None)
    ref = ref.strip().replace("\\", "/")
    if ref.startswith("file://"):
        ref = ref[len("file://"):]
    if re.match(r"^[a-z]+://", ref):
        return None  # a URL: never fetched
    name = ref.rsplit("/", 1)[-1]
    for base in (xml.parent, xml.parent.parent):
        for rel in dict.fromkeys((ref.lstrip("/"), name)):
            cand = base / rel
            if cand.is_file():
                return cand
    return None


def open_page_image(path: Path):
    """The page as an RGB or L image (EXIF orientation applied), or None with a reason."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            try:
                im = ImageOps.exif_transpose(im)
            except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to drop a page
                pass
            im.load()
            if im.mode not in ("L", "RGB"):
                im = im.convert("RGBA" if "A" in im.mode else "RGB")
                if im.mode == "RGBA":
                    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(bg, im).convert("RGB")
            return im, ""
    except Exception as exc:  # noqa: BLE001 - decoders raise many types; the page is reported and skipped
        return None, f"{type(exc).__name__}: {str(exc)[:80]}"


def crop_polygon(page, poly: list[Point]):
    """The polygon's bounding box cut from ``page``, white outside the polygon; None if it is empty
    or falls outside the image."""
    from PIL import Image, ImageDraw

    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    x0, y0 = max(0, int(min(xs))), max(0, int(min(ys)))
    x1, y1 = min(page.width, int(max(xs)) + 1), min(page.height, int(max(ys)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = page.crop((x0, y0, x1, y1))
    if len(poly) >= 3:
        mask = Image.new("L", crop.size, 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in poly], fill=255)
        if mask.getextrema()[1] == 0:
            return None
        white = Image.new(crop.mode, crop.size, 255 if crop.mode == "L" else (255, 255, 255))
        crop = Image.composite(crop, white, mask)
    return crop


def join_horizontally(parts: list):
    """Crops side by side, centred vertically on white (the two halves of a hyphenated word)."""
    from PIL import Image

    if len(parts) == 1:
        return parts[0]
    mode = "RGB" if any(p.mode == "RGB" for p in parts) else "L"
    parts = [p.convert(mode) for p in parts]
    gap = max(2, max(p.height for p in parts) // 8)
    w = sum(p.width for p in parts) + gap * (len(parts) - 1)
    h = max(p.height for p in parts)
    out = Image.new(mode, (w, h), 255 if mode == "L" else (255, 255, 255))
    x = 0
    for p in parts:
        out.paste(p, (x, (h - p.height) // 2))
        x += p.width + gap
    return out


def scale_polys(polys: list[list[Point]], sx: float, sy: float) -> list[list[Point]]:
    if sx == 1.0 and sy == 1.0:
        return polys
    return [[(x * sx, y * sy) for x, y in poly] for poly in polys]
