"""``bench data import page-xml|alto``: crop the words (or lines) of transcribed page images.

Output: ``images/<page|alto>/<source>/<xml path>/<n>.png`` per region, plus the manifest, lexicon copy
and dataset.json that every import writes (``convert._finish``). A region's crop is its polygon's
bounding box with everything outside the polygon white; coordinates are rescaled when the file
declares a page size other than the image's (downscaled exports) or uses ALTO mm10/inch1200 units.
Every file is parsed before it is cropped, and the import is staged: a damaged file stops it with one
line naming the file, line and element, and leaves ``--out`` as it was. A page whose image is
missing or unreadable is left out with a warning (like IAM words without an image).
"""
from __future__ import annotations

import re
from pathlib import Path

from bench.errors import BenchError
from bench.progress import progress_bar

import bench.data.readers.layout as L

from .alto import read_alto
from .convert import ImportOptions, LexiconMatcher, _check_out, _finish, _staging, _warn, load_lexicon
from .page import read_page

FORMATS = {"page-xml": ("page", "PAGE-XML"), "alto": ("alto", "ALTO")}
SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    return SAFE.sub("_", text).strip("._") or "x"


def find_files(src: Path, fmt: str) -> list[Path]:
    """The XML files to import: ``src`` itself, or every ``*.xml`` under it whose root element is of
    the format (METS files and the like in the same folders are passed over)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise BenchError(f"{fmt} source not found: {src}")
    want = "PcGts" if fmt == "page-xml" else "alto"
    found = [p for p in sorted(src.rglob("*")) if p.suffix.lower() == ".xml" and p.is_file()
             and _root_name(p).lower() == want.lower()]
    if not found:
        raise BenchError(f"no {FORMATS[fmt][1]} files (*.xml with a {want} root) under {src}")
    return found


def _root_name(path: Path) -> str:
    from lxml import etree

    try:
        for _, el in etree.iterparse(str(path), events=("start",), resolve_entities=False, no_network=True,
                                     load_dtd=False):
            return L.local(el)
    except etree.XMLSyntaxError as exc:
        raise BenchError(f"{path}:{exc.lineno or '?'}: not well-formed XML ({exc.msg})") from None
    return ""


def import_layout(fmt: str, src: str | Path, out: str | Path, opts: ImportOptions, lang: str,
                  level: str = "word", writer_by: str = "page") -> Path:
    """Import PAGE-XML or ALTO files (a file or a folder of them) into the folder ``out``."""
    try:
        import lxml  # noqa: F401
    except ImportError:
        raise BenchError(f"importing {FORMATS[fmt][1]} needs lxml: pip install 'xscript-bench[formats]'") from None
    src = Path(src).expanduser()
    top, label = FORMATS[fmt]
    files = find_files(src, fmt)
    root = src if src.is_dir() else src.parent
    srcname = safe_name(src.stem if src.is_file() else src.resolve().name)
    reader = read_page if fmt == "page-xml" else read_alto
    pages = [reader(f, level) for f in files]  # parse everything first: a damaged file stops before any crop
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    part = f"images/{top}/{srcname}"
    _check_out(out, opts, lexicon, [part])
    matcher = LexiconMatcher.build(lexicon, lang)
    notes: dict[str, int] = {}
    missing: list[str] = []
    line_files = 0
    with _staging(out, opts.append) as stage:
        rows: list[dict] = []
        ids: set[str] = set()
        bar = progress_bar(len(pages), f"{label} pages", opts.progress, unit="page")
        for lp in pages:
            bar.update()
            if not lp.regions:
                continue
            rel = lp.xml.relative_to(root).with_suffix("")
            img_path = L.find_image(lp.xml, lp.image_ref)
            if img_path is None:
                missing.append(f"{lp.xml.name} -> {lp.image_ref or 'no image named'}")
                continue
            im, why = L.open_page_image(img_path)
            if im is None:
                missing.append(f"{img_path.name} ({why})")
                continue
            for reason, n in lp.notes.items():
                notes[reason] = notes.get(reason, 0) + n
            line_files += lp.level == "line" and level == "word"
            sx, sy = _scale(lp, im)
            doc = "/".join(safe_name(p) for p in rel.parts)
            default_writer = doc if writer_by == "page" else ("/".join(safe_name(p) for p in rel.parts[:-1]) or srcname)
            for n, reg in enumerate(lp.regions):
                crops = [L.crop_polygon(im, poly) for poly in L.scale_polys(reg.polys, sx, sy)]
                if any(c is None for c in crops):
                    notes["outside the image or empty"] = notes.get("outside the image or empty", 0) + 1
                    continue
                sid, text = matcher.match(reg.text)
                if sid < 0 and opts.lexicon_only:
                    notes["not in the lexicon"] = notes.get("not in the lexicon", 0) + 1
                    continue
                path = f"{part}/{doc}/{n:05d}.png"
                (stage / path).parent.mkdir(parents=True, exist_ok=True)
                L.join_horizontally(crops).save(stage / path, compress_level=1)
                ident = f"{top}/{srcname}/{doc}/{safe_name(reg.id)}"
                if ident in ids:
                    ident = f"{ident}#{n}"
                ids.add(ident)
                writer = reg.writer or lp.writer
                rows.append({"id": ident, "path": path, "text": text, "semantic_id": sid, "lang": lang,
                             "style": f"{top}-{safe_name(writer) if writer else default_writer}",
                             "split": opts.split})
        bar.close()
        if missing:
            _warn(f"{len(missing)} page image(s) missing or unreadable, their pages left out: "
                  f"{'; '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if line_files:
            _warn(f"{line_files} file(s) have no word level: their lines were imported")
        if notes:
            _warn("left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(notes.items())))
        if not rows:
            raise BenchError(f"no {'words' if level == 'word' else 'lines'} imported from {src}"
                             + (f" ({len(missing)} page image(s) missing)" if missing else ""))
        source = {"format": fmt, "path": str(src.resolve()), "files": len(files), "imported": len(rows),
                  "level": level, "files_with_lines_only": line_files, "writer_by": writer_by,
                  "missing_images": len(missing), "left_out": notes, "lang": lang}
        return _finish(out, stage, rows, lexicon, opts, source, f"{top}-{srcname}",
                       f"{label} {level}s from {src.name}, imported by bench data import {fmt}")


def _scale(lp: L.LayoutPage, im) -> tuple[float, float]:
    """Factors from the file's coordinates to the image's pixels."""
    if lp.size:
        return im.width / lp.size[0], im.height / lp.size[1]
    if lp.units_per_inch:
        dpi = im.info.get("dpi") or (300, 300)
        return float(dpi[0]) / lp.units_per_inch, float(dpi[1]) / lp.units_per_inch
    return 1.0, 1.0
