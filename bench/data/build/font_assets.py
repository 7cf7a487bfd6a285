"""Font assets: subset (merging CJK unicode-range pieces), rename where a Reserved Font Name
requires it, save as plain TrueType and check that every needed glyph draws ink.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
from pathlib import Path

from PIL import ImageFont

from .asset_catalog import (LATIN_CAPS, LATIN_CURSIVE, LATIN_EXTRA, LATIN_PRINT, SRC_CACHE, SUBSET_CACHE, ZH_DEB,
                            ZH_NPM, ZH_SKELETON_ONLY)
from .asset_packages import deb_package, npm_package


def _subset_options():
    from fontTools import subset

    opts = subset.Options()
    opts.hinting = False  # rendering is anti-aliased and resized: hints only cost bytes
    opts.desubroutinize = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.layout_features = ["kern", "liga", "calt", "clig", "ccmp", "locl", "mark", "mkmk"]
    return opts


def _subset_font(font, chars: set[str]):
    from fontTools import subset

    sub = subset.Subsetter(_subset_options())
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    return font


def cached_subset(pieces: list[Path], chars: set[str], index: int, cache: Path):
    """``merged_subset`` kept on disk: merging a CJK face's hundred pieces takes minutes."""
    import inspect

    from fontTools.ttLib import TTFont

    h = hashlib.sha1(inspect.getsource(merged_subset).encode() + inspect.getsource(_subset_font).encode())
    for piece in pieces:
        h.update(f"{piece.name}:{piece.stat().st_size}\0".encode())
    h.update(f"{index}\0{''.join(sorted(chars))}".encode())
    hit = cache / "subsets" / f"{h.hexdigest()[:20]}.ttf"
    if not hit.is_file():
        font = merged_subset(pieces, chars, index)
        font.flavor = None
        font.recalcTimestamp = False
        hit.parent.mkdir(parents=True, exist_ok=True)
        tmp = hit.with_suffix(".tmp")
        font.save(tmp)
        tmp.replace(hit)
    return TTFont(hit, recalcTimestamp=False)


def merged_subset(pieces: list[Path], chars: set[str], index: int = 0):
    """One TTFont holding ``chars`` from one or more unicode-range pieces of a face."""
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont

    useful = []
    for p in pieces:
        font = TTFont(p, fontNumber=index, lazy=False)
        have = set(chr(u) for u in font.getBestCmap()) & chars
        if have:
            useful.append(_subset_font(font, have))
    if not useful:
        raise RuntimeError(f"no piece of {pieces[0].name} has any needed character")
    stamp = useful[0]["head"].created  # the source's date, so that rebuilds give the same bytes
    if len(useful) == 1:
        useful[0]["head"].modified = stamp
        return useful[0]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, font in enumerate(useful):
            font.flavor = None
            font.recalcTimestamp = False
            for tag in ("GSUB", "GPOS", "GDEF"):  # CJK range pieces: nothing to keep, and Merger trips on them
                if tag in font:
                    del font[tag]
            path = Path(tmp) / f"{i}.ttf"
            font.save(path)
            paths.append(str(path))
        merged = Merger().merge(paths)
        merged.recalcTimestamp = False
        merged["head"].created = merged["head"].modified = stamp
        buf = io.BytesIO()
        merged.save(buf)
        buf.seek(0)
        return TTFont(buf, recalcTimestamp=False)


def reserved_font_names(license_text: str) -> list[str]:
    """Names the OFL reserves, as declared in the copyright lines above the licence body."""
    header = re.split(r"This Font Software is licensed under", license_text, maxsplit=1)[0]
    if not re.search(r"Reserved\s+Font\s+Names?", header, flags=re.I):
        return []
    names = [
        n for clause in re.findall(r"Reserved\s+Font\s+Names?([^.]*)", header, flags=re.I)
        for n in re.findall(r"[\"“'‘]([^\"”'’]+)[\"”'’]", clause)
    ]
    return sorted({n.strip() for n in names}) or ["(unparsed)"]


def rename_font(font, new_family: str) -> None:
    """Replace every name record that carries the font's name (RFN rule for Modified Versions)."""
    name = font["name"]
    for nid in (16, 17, 18, 21, 22, 25):
        name.removeNames(nameID=nid)
    ps = re.sub(r"[^A-Za-z0-9-]", "", new_family.replace(" ", "")) + "-Regular"
    for rec in list(name.names):
        if rec.nameID == 1:
            rec.string = new_family
        elif rec.nameID == 2:
            rec.string = "Regular"
        elif rec.nameID == 3:
            rec.string = f"xscript-bench subset;{ps}"
        elif rec.nameID == 4:
            rec.string = f"{new_family} Regular"
        elif rec.nameID == 6:
            rec.string = ps
    if "CFF " in font:
        font["CFF "].cff.fontNames = [ps]


def ink_missing(path: Path, chars: set[str]) -> list[str]:
    """Characters the font file does not actually draw (absent, or mapped to an empty glyph)."""
    font = ImageFont.truetype(str(path), 48, layout_engine=ImageFont.Layout.BASIC)
    from fontTools.ttLib import TTFont

    cmap = TTFont(path).getBestCmap()
    bad = []
    for ch in sorted(chars):
        if ch.isspace():
            continue
        if ord(ch) not in cmap or font.getmask(ch).getbbox() is None:
            bad.append(ch)
    return bad


def npm_font_pieces(pkg: Path, name: str) -> tuple[list[Path], str]:
    """The woff2 pieces of the regular (400, else lightest) normal face and its weight; a family
    published only as italic (Molle) gives its italic face."""
    for style in ("normal", "italic"):
        files = sorted(pkg.glob(f"files/{name}-*-{style}.woff2"))
        weights = sorted({int(m.group(1)) for f in files if (m := re.search(rf"-(\d{{3}})-{style}\.woff2$", f.name))})
        if weights:
            weight = 400 if 400 in weights else weights[0]
            label = str(weight) if style == "normal" else f"{weight} {style}"
            return [f for f in files if f.name.endswith(f"-{weight}-{style}.woff2")], label
    raise RuntimeError(f"{name}: no woff2 face in the package")


def _write_font(font, out_path: Path) -> None:
    # Plain TrueType, not woff2: FreeType would brotli-decompress a woff2 again for every size the
    # synthesizer opens (180 ms for a CJK face); the repository and wheel compress it anyway.
    font.flavor = None
    font.recalcTimestamp = False  # the same inputs give the same bytes (no build date inside)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    font.save(out_path)


def build_font(
    fid: str, pieces: list[Path], index: int, license_text: str, license_id: str, family: str,
    group: str, script: str, source: str, need: dict[str, set[str]], out: Path, provisional: bool = False,
) -> dict:
    """Subset, rename if required, save, verify ink; return the font's assets.json entry."""
    langs = ("en", "es") if script == "latin" else ("zh",)
    chars = set().union(*(need[l] for l in langs))
    if script == "latin":
        chars |= set(LATIN_EXTRA)
    font = cached_subset(pieces, chars, index, SRC_CACHE) if SUBSET_CACHE else merged_subset(pieces, chars, index)
    rfn = reserved_font_names(license_text) if "Open Font License" in license_text else []
    neutral = "XSB Hand " + hashlib.sha1(fid.encode()).hexdigest()[:6]
    if rfn:
        rename_font(font, neutral)
        rel = f"fonts/{neutral.lower().replace(' ', '-')}.ttf"
    else:
        rel = f"fonts/{fid}.ttf"
    _write_font(font, out / rel)
    lic_rel = f"licenses/font-{fid}.txt"
    (out / lic_rel).write_text(license_text, encoding="utf-8")
    missing = {l: ink_missing(out / rel, need[l]) for l in langs}
    drawn = sorted(set(chars) - set(ink_missing(out / rel, chars)) - {" "})
    cov = {l: round(1 - len(missing[l]) / max(1, len(need[l])), 5) for l in langs}
    return {
        "id": fid, "file": rel, "family": family, "name": neutral if rfn else family,
        "reserved_font_names": rfn, "renamed": bool(rfn), "license": license_id,
        "license_file": lic_rel, "source": source, "group": group, "script": script,
        "langs": [l for l in langs if not missing[l] or (provisional and cov[l] >= 0.99)], "coverage": cov,
        "missing": {l: "".join(m) for l, m in missing.items() if m},
        "chars": "".join(drawn), "bytes": (out / rel).stat().st_size,
    }


def fontsource_meta(pkg: Path) -> tuple[str, str, str]:
    meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
    lic_text = (pkg / "LICENSE").read_text(encoding="utf-8", errors="replace")
    if "Apache License" in lic_text:
        lic = "Apache-2.0"
    else:
        lic = "OFL-1.1" if "Open Font License" in lic_text else meta.get("license", "?")
    return meta["version"], lic_text, lic


def build_fonts(need: dict[str, set[str]], cache: Path, out: Path, log, provisional: bool = False) -> list[dict]:
    """All Latin and Chinese font entries, in catalogue order."""
    entries = []
    for name in LATIN_PRINT + LATIN_CURSIVE + LATIN_CAPS + list(ZH_NPM):
        pkg = npm_package(f"@fontsource/{name}", cache)
        if not (pkg / "LICENSE").exists():
            log(f"font {name}: skipped, its package ships no licence text")
            continue
        version, lic_text, lic = fontsource_meta(pkg)
        pieces, weight = npm_font_pieces(pkg, name)
        script = "zh" if name in ZH_NPM else "latin"
        group = ZH_NPM.get(name) or ("print" if name in LATIN_PRINT else "caps" if name in LATIN_CAPS else "cursive")
        family = name.replace("-", " ").title()
        entries.append(build_font(
            name, pieces, 0, lic_text, lic, family, group, script,
            f"npm:@fontsource/{name}@{version} (weight {weight})", need, out, provisional))
        log(f"font {name}: {entries[-1]['langs']} {entries[-1]['bytes'] // 1024} KB")
    for deb in ZH_DEB:
        root = deb_package(deb.package, cache)
        lic_text = (root / "usr/share/doc" / deb.package / "copyright").read_text(encoding="utf-8", errors="replace")
        version = sorted(cache.glob(f"{deb.package}_*.deb"))[-1].stem.split("_")[1]
        from fontTools.ttLib import TTFont

        family = TTFont(root / deb.file, fontNumber=deb.index, lazy=True)["name"].getDebugName(1) or deb.id
        entries.append(build_font(
            deb.id, [root / deb.file], deb.index, lic_text, deb.license, family, deb.group, "zh",
            f"debian:{deb.package}={version}", need, out, provisional))
        if deb.id in ZH_SKELETON_ONLY:
            entries[-1]["writer"] = False
        log(f"font {deb.id}: {entries[-1]['langs']} {entries[-1]['bytes'] // 1024} KB")
    return entries
