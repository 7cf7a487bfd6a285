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
from collections import Counter
from pathlib import Path

from bench.errors import BenchError
from bench.progress import progress_bar

import bench.data.readers.layout as L

from .alto import read_alto
from .convert import ImportOptions, _check_out, _finish, _staging, _warn, load_lexicon
from .importing import Labels, langs_line, pick_lang, select_files, writers_line
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
        raise BenchError(f"no {FORMATS[fmt][1]} files (*.xml whose root element is <{want}>) under {src}")
    return found


def _root_name(path: Path) -> str:
    from lxml import etree

    try:
        for _, el in etree.iterparse(str(path), events=("start",), resolve_entities=False, no_network=True,
                                     load_dtd=False):
            return L.local(el)
    except etree.XMLSyntaxError as exc:
        if path.stat().st_size == 0:
            raise BenchError(f"{path}: empty file, not XML") from None
        raise BenchError(f"{L.where(path, exc.lineno)}: not well-formed XML ({exc.msg})") from None
    return ""


def import_layout(fmt: str, src: str | Path, out: str | Path, opts: ImportOptions, lang: str | None,
                  level: str = "word", writer_by: str = "page", trust: str = "line",
                  line_type: str | None = None) -> Path:
    """Import PAGE-XML or ALTO files (a file or a folder of them) into the folder ``out``; with
    ``line_type`` only the lines of that type (eScriptorium's line types, e.g. handwritten)."""
    try:
        import lxml  # noqa: F401
    except ImportError:
        raise BenchError(f"importing {FORMATS[fmt][1]} needs lxml: pip install 'xscript-bench[formats]'") from None
    if line_type is not None and not line_type.strip():
        raise BenchError("--line-type must not be empty")
    line_type = line_type.strip() if line_type is not None else None
    src = Path(src).expanduser()
    top, label = FORMATS[fmt]
    root = src if src.is_dir() else src.parent
    files = select_files(find_files(src, fmt), root, opts.include, opts.exclude, opts.limit, label)
    srcname = safe_name(src.stem if src.is_file() else src.resolve().name)
    # parse everything first: a damaged file stops before any crop
    pages = [read_page(f, level, trust, line_type) if fmt == "page-xml" else read_alto(f, level, line_type)
             for f in files]
    images = {lp.xml: L.find_image(lp.xml, lp.image_ref) for lp in pages}
    _refuse_same_page(pages, images)
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    part = f"images/{top}/{srcname}"
    _check_out(out, opts, lexicon, [part])
    labels = Labels(lexicon)
    notes: dict[str, int] = {}
    info: dict[str, int] = {}
    missing: list[str] = []
    other_ext: list[str] = []
    produced: Counter = Counter()
    named, default, langs = Counter(), Counter(), Counter()
    fallback = 0
    with _staging(out, opts.append) as stage:
        rows: list[dict] = []
        ids: set[str] = set()
        bar = progress_bar(len(pages), f"{label} pages", opts.progress, unit="page")
        for lp in pages:
            bar.update()
            if not lp.regions:
                for reason, n in lp.notes.items():
                    notes[reason] = notes.get(reason, 0) + n
                continue
            rel = lp.xml.relative_to(root).with_suffix("")
            img_path, moved = images[lp.xml]
            if img_path is None:
                missing.append(f"{lp.xml.name} -> {lp.image_ref or 'no image named'}")
                continue
            if moved:
                other_ext.append(f"{lp.image_ref} -> {img_path.name}")
            im, why = L.open_page_image(img_path)
            if im is None:
                missing.append(f"{img_path.name} ({why})")
                continue
            for reason, n in lp.notes.items():
                notes[reason] = notes.get(reason, 0) + n
            for what, n in lp.info.items():
                info[what] = info.get(what, 0) + n
            sx, sy = _scale(lp, im)
            doc = "/".join(safe_name(p) for p in rel.parts)
            default_writer = {"page": doc, "folder": "/".join(safe_name(p) for p in rel.parts[:-1]) or srcname,
                              "source": srcname}[writer_by]
            for n, reg in enumerate(lp.regions):
                crops = [L.crop_polygon(im, poly) for poly in L.scale_polys(reg.polys, sx, sy)]
                if any(c is None for c in crops):
                    notes["outside the image or empty"] = notes.get("outside the image or empty", 0) + 1
                    continue
                where = f"{L.where(lp.xml, reg.line)}: <{reg.id}>"
                sample_lang = pick_lang(reg.lang, lang, where)
                fallback += reg.lang is None
                langs[sample_lang] += reg.lang is not None
                text, sid = labels.label(reg.text, sample_lang)
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
                style = safe_name(writer) if writer else default_writer
                (named if writer else default)[style] += 1
                produced[reg.level] += 1
                rows.append({"id": ident, "path": path, "text": text, "semantic_id": sid, "lang": sample_lang,
                             "style": f"{top}-{style}", "split": opts.split})
        bar.close()
        langs = Counter({k: v for k, v in langs.items() if v})
        if missing:
            _warn(f"{len(missing)} page image(s) missing or unreadable, their pages left out: "
                  f"{'; '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if other_ext:
            _warn(f"{len(other_ext)} page image(s) found under another extension than the file names: "
                  f"{'; '.join(other_ext[:3])}{' ...' if len(other_ext) > 3 else ''}")
        for what, n in sorted(info.items()):
            fix = (" (the corrected lines were cropped whole; --trust words keeps the words)"
                   if trust == "line" else " (their words were kept: --trust words)") if "disagree" in what else ""
            _warn(f"{n} {what}{fix}")
        if notes:
            _warn("left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(notes.items())))
        if not rows:
            typed = notes.get(f"line type not {line_type!r}", 0)
            raise BenchError(f"no {'words' if level == 'word' else 'lines'} imported from {src}"
                             + (f" ({len(missing)} page image(s) missing)" if missing else "")
                             + (f" ({typed} line(s) whose type is not {line_type!r})" if typed else ""))
        _warn(f"produced {', '.join(f'{n} {k}s' for k, n in sorted(produced.items()))}; " + labels.summary())
        how = {"page": "one per page file", "folder": "one per folder", "source": "one for the whole source"}
        _warn(writers_line(named, default, f"{how[writer_by]} (--writer-by {writer_by})") + "; "
              + langs_line(langs, fallback, lang))
        source = {"format": fmt, "path": str(src.resolve()), "files": len(files), "imported": len(rows),
                  "level": "mixed" if len(produced) > 1 else next(iter(produced)), "level_asked": level,
                  "produced": dict(produced), "trust": trust if fmt == "page-xml" else None,
                  "files_with_lines_only": sum(1 for lp in pages if lp.regions and lp.level == "line") if
                  level == "word" else 0, "writer_by": writer_by, "missing_images": len(missing),
                  "other_extension_images": len(other_ext), "left_out": notes, "counts": info,
                  "labels": labels.record(), "lang": lang, "line_type": line_type, "langs_from_files": dict(langs),
                  "include": list(opts.include), "exclude": list(opts.exclude), "limit": opts.limit}
        return _finish(out, stage, rows, lexicon, opts, source, f"{top}-{srcname}",
                       f"{label} {level}s from {src.name}, imported by bench data import {fmt}")


def _refuse_same_page(pages: list[L.LayoutPage], images: dict) -> None:
    """Two files that crop the same regions from the same page image (eScriptorium's ``x.xml`` beside
    ``x.chocomufin.xml``) would import the page twice, as two writers: refused, naming both."""
    seen: dict = {}
    for lp in pages:
        img = images[lp.xml][0]
        if img is None or not lp.regions:
            continue
        key = (img.resolve(), tuple(tuple((round(x), round(y)) for poly in r.polys for x, y in poly)
                                    for r in lp.regions))
        if key in seen:
            extra = max((lp.xml, seen[key]), key=lambda p: p.name.count("."))  # x.chocomufin.xml over x.xml
            glob = f"*.{extra.name.split('.', 1)[1]}" if extra.name.count(".") > 1 else extra.name
            raise BenchError(f"{seen[key]} and {lp.xml} describe the same regions of {img.name}: importing "
                             f"both would double the page; leave one out with --exclude (e.g. --exclude '{glob}')")
        seen[key] = lp.xml


def _scale(lp: L.LayoutPage, im) -> tuple[float, float]:
    """Factors from the file's coordinates to the image's pixels."""
    if lp.size:
        return im.width / lp.size[0], im.height / lp.size[1]
    if lp.units_per_inch:
        dpi = im.info.get("dpi") or (300, 300)
        return float(dpi[0]) / lp.units_per_inch, float(dpi[1]) / lp.units_per_inch
    return 1.0, 1.0
