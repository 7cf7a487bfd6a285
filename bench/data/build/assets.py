"""Rebuild the synthesizer's shipped assets from the package registries.

Run ``python -m bench.data.build.assets`` (network needed: npm and Debian). It fetches the
handwriting fonts, merges the CJK ``@fontsource`` unicode-range pieces, subsets every font to the
characters of ``bench/data/lexicon.csv``, checks that each needed glyph draws ink, renames OFL fonts
that carry Reserved Font Names (a subset is a Modified Version), keeps each licence text, and
writes stroke medians (``hanzi-writer-data``) and single-line glyphs (``hersheytext``) for the
lexicon's characters only. Everything lands in ``bench/data/assets/`` with an ``assets.json`` index
so the synthesizer works offline.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
LEXICON = Path(__file__).resolve().parents[1] / "lexicon.csv"
SRC_CACHE = Path.home() / ".cache" / "xscript-bench" / "asset-src"
SIZE_LIMIT_MB = 40.0
SUBSET_CACHE = True  # keep merged subsets under SRC_CACHE/subsets (rebuilds take seconds, not minutes)

# Latin handwriting fonts (npm @fontsource, 5.3.x), grouped by look: the split keeps a group's
# balance between train and ood.
LATIN_PRINT = (
    "architects-daughter caveat caveat-brush covered-by-your-grace delicious-handrawn "
    "gloria-hallelujah gochi-hand handlee indie-flower kalam mansalva neucha patrick-hand "
    "reenie-beanie schoolbell shadows-into-light short-stack "
    "sue-ellen-francisco swanky-and-moo-moo the-girl-next-door annie-use-your-telescope itim "
    "sriracha chilanka twinkle-star playpen-sans shantell-sans finger-paint comic-neue mouse-memoirs "
    # added from the Google Fonts handwriting category (fontsource), each checked for ink on every
    # needed letter and looked at: casual print hands
    "amita charm coming-soon crafty-girls dekko delius delius-swash-caps edu-au-vic-wa-nt-hand "
    "edu-au-vic-wa-nt-pre edu-nsw-act-hand-pre edu-qld-hand edu-sa-hand edu-vic-wa-nt-hand felipa "
    "fuzzy-bubbles give-you-glory grape-nuts grechen-fuemen just-another-hand just-me-again-down-here "
    "kavivanar loved-by-the-king mali merienda mynerve nerko-one nothing-you-could-do over-the-rainbow "
    "pangolin playwrite-de-grund rancho redressed romanesco sedgwick-ave shadows-into-light-two solitreo "
    "square-peg sunshiney waiting-for-the-sunrise zeyada"
).split()
# Hands that write in capitals (or small capitals): real forms and notes are often filled in this way.
LATIN_CAPS = (
    "permanent-marker rock-salt amatic-sc delius-unicase patrick-hand-sc sedgwick-ave-display walter-turncoat"
).split()
LATIN_CURSIVE = (
    "dancing-script bad-script cedarville-cursive homemade-apple marck-script satisfy courgette "
    "damion cookie condiment grand-hotel yellowtail pacifico kaushan-script sacramento allura "
    "alex-brush great-vibes parisienne pinyon-script herr-von-muellerhoff mr-de-haviland "
    "monsieur-la-doulaise ms-madi oooh-baby whisper licorice italianno tangerine rochester ephesis "
    "birthstone corinthia montecarlo smooch vibur "
    # added (see LATIN_PRINT): joined and script hands; of the many regional Playwrite variants
    # (one design) only a few
    "aguafina-script allison arizonia babylonica beth-ellen bilbo bilbo-swash-caps birthstone-bounce "
    "bonheur-royale borel calligraffitti caramel carattere charmonman clicker-script comforter "
    "comforter-brush dawning-of-a-new-day dr-sugiyama edu-nsw-act-cursive engagement estonia festive "
    "fuggles grey-qo gwendolyn hurricane imperial-script ingrid-darling inspiration island-moments "
    "kapakana kolker-brush kristi la-belle-aurore leckerli-one love-light lovers-quarrel luxurious-script "
    "mea-culpa meddon meie-script meow-script molle montez moon-dance mr-bedfort mr-dafoe "
    "mrs-saint-delafield my-soul niconne norican passions-conflict petit-formal-script playwrite-es "
    "playwrite-us-trad playwrite-fr-moderne playwrite-it-moderna playwrite-nl playwrite-mx "
    "playwrite-dk-loopet princess-sofia puppies-play qwigley qwitcher-grypen ruge-boogie ruthie "
    "sassy-frass send-flowers sofia stalemate style-script the-nautigal updock vujahday-script "
    "water-brush waterfall windsong yesteryear"
).split()


@dataclass(frozen=True)
class DebFont:
    """A Chinese font taken from a Debian package."""

    id: str
    package: str
    file: str  # path inside the package
    index: int  # face index inside a .ttc
    group: str  # look-alike family: fonts of one group stay on one side of the split
    license: str


ZH_DEB = (
    DebFont("lxgw-wenkai", "fonts-lxgw-wenkai", "usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0, "wenkai", "OFL-1.1"),
    DebFont("ukai", "fonts-arphic-ukai", "usr/share/fonts/truetype/arphic/ukai.ttc", 0, "arphic-kai", "Arphic-1999"),
    DebFont("gkai00mp", "fonts-arphic-gkai00mp", "usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0, "arphic-kai", "Arphic-1999"),
    DebFont("tw-kai", "fonts-cns11643-kai", "usr/share/fonts/truetype/cns11643/TW-Kai-98_1.ttf", 0, "arphic-kai", "OGDL-TW-1.0"),
    # A standard (print) face: not a writer itself, only a skeleton source for pen writers.
    DebFont("wqy-microhei", "fonts-wqy-microhei", "usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "standard-sans",
            "Apache-2.0 OR GPL-3.0-with-font-exception"),
)
# Chinese fonts that are skeleton sources only (no font writer of their own).
ZH_SKELETON_ONLY = ("wqy-microhei",)
# Chinese fonts from npm @fontsource: id -> look-alike group.
ZH_NPM = {"ma-shan-zheng": "brush-kai", "long-cang": "running", "zcool-kuaile": "marker",
          "zhi-mang-xing": "running-brush", "liu-jian-mao-cao": "grass"}
# Chinese fonts whose glyphs are thinned into pen skeletons (``bench.data.build.skeletons``): each
# becomes a stroke source of its own, on the same side of the split as the font's look-alike group.
ZH_SKELETONS = ("lxgw-wenkai", "ma-shan-zheng", "zhi-mang-xing", "wqy-microhei", "long-cang", "liu-jian-mao-cao")

# Single-line SVG fonts from hersheytext, usable as pen skeletons for Latin: id -> (file, group).
# Left out: EMS Nixish (typewriter-like), Hershey Serif and Gothic (not handwriting).
HERSHEY = {
    "ems-allure": ("EMSAllure.svg", "script"),
    "ems-felix": ("EMSFelix.svg", "italic-print"),
    "ems-elfin": ("EMSElfin.svg", "print"),
    "ems-readability": ("EMSReadability.svg", "print"),
    "ems-readability-italic": ("EMSReadabilityItalic.svg", "italic-print"),
    "ems-tech": ("EMSTech.svg", "print"),
    "ems-osmotron": ("EMSOsmotron.svg", "print"),
    "hershey-script-1": ("HersheyScript1.svg", "script"),
    "hershey-script-med": ("HersheyScriptMed.svg", "script"),
    "hershey-sans-1": ("HersheySans1.svg", "print"),
    "hershey-sans-med": ("HersheySansMed.svg", "print"),
}

# Characters every Latin font and Hershey skeleton must carry beyond the lexicon's own.
LATIN_EXTRA = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúüñÁÉÍÓÚÜÑ¿¡?! -'.,;:()\""
)


# ----------------------------------------------------------------------------- character sets


def lexicon_charsets(path: Path = LEXICON) -> tuple[dict[str, set[str]], bool]:
    """Characters each language needs; provisional (common sets) while the lexicon is missing."""
    if path.exists():
        need: dict[str, set[str]] = {}
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                for lang in ("en", "es", "zh"):
                    word = unicodedata.normalize("NFC", row.get(lang) or "")
                    need.setdefault(lang, set()).update(word)
        for chars in need.values():
            chars.discard(" ")
        return need, False
    latin = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-'")
    gb2312_l1 = set()
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                gb2312_l1.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return {"en": latin, "es": latin | set("áéíóúüñÁÉÍÓÚÜÑ¿¡"), "zh": gb2312_l1}, True


# ----------------------------------------------------------------------------- fetching


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def npm_package(spec: str, cache: Path) -> Path:
    """``npm pack`` a package once into the cache and return its unpacked ``package/`` folder."""
    slug = spec.lstrip("@").replace("/", "-").split("@")[0]
    tgz = sorted(cache.glob(f"{slug}-[0-9]*.tgz"))
    if "@" in spec.lstrip("@"):
        version = spec.rsplit("@", 1)[1]
        tgz = [t for t in tgz if t.name == f"{slug}-{version}.tgz"]
    if not tgz:
        _run(["npm", "pack", spec], cache)
        tgz = sorted(cache.glob(f"{slug}-[0-9]*.tgz"))
    out = cache / "unpacked" / tgz[-1].name[: -len(".tgz")]
    if not (out / "package").exists():
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz[-1]) as tf:
            tf.extractall(out, filter="data")
    return out / "package"


def deb_package(name: str, cache: Path) -> Path:
    """``apt-get download`` a package once into the cache and return its extracted root."""
    debs = sorted(cache.glob(f"{name}_*.deb"))
    if not debs:
        _run(["apt-get", "download", name], cache)
        debs = sorted(cache.glob(f"{name}_*.deb"))
    out = cache / "unpacked" / debs[-1].stem
    if not out.exists():
        _run(["dpkg-deb", "-x", str(debs[-1]), str(out)], cache)
    return out


# ----------------------------------------------------------------------------- fonts


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


def _npm_font_pieces(pkg: Path, name: str) -> tuple[list[Path], str]:
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


def _fontsource_meta(pkg: Path) -> tuple[str, str, str]:
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
        version, lic_text, lic = _fontsource_meta(pkg)
        pieces, weight = _npm_font_pieces(pkg, name)
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


# ----------------------------------------------------------------------------- stroke data


def build_skeletons(fonts: list[dict], zh_chars: set[str], out: Path, cache: Path, log) -> dict:
    """Traced pen skeletons of the ``ZH_SKELETONS`` fonts (already subset into ``out``).

    Tracing takes about a minute per font, so results are kept in ``cache`` keyed by the subset
    font's bytes, the characters and the tracing code.
    """
    from . import skeletons
    from .skeletons import font_skeletons

    by_id = {f["id"]: f for f in fonts}
    code = hashlib.sha1(Path(skeletons.__file__).read_bytes()).hexdigest()[:10]
    index = {}
    for fid in ZH_SKELETONS:
        entry = by_id[fid]
        key = hashlib.sha1((out / entry["file"]).read_bytes() + "".join(sorted(zh_chars)).encode()).hexdigest()[:16]
        hit = cache / "skeletons" / f"{fid}-{key}-{code}.json"
        if hit.is_file():
            strokes, missing = json.loads(hit.read_text(encoding="utf-8"))
        else:
            strokes, missing = font_skeletons(out / entry["file"], zh_chars)
            hit.parent.mkdir(parents=True, exist_ok=True)
            hit.write_text(json.dumps([strokes, missing], ensure_ascii=False), encoding="utf-8")
        rel = f"strokes/zh_skel_{fid}.json"
        (out / rel).write_text(json.dumps(strokes, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        index[fid] = {"file": rel, "from_font": fid, "group": entry["group"], "source": entry["source"],
                      "license": entry["license"], "license_file": entry["license_file"],
                      "method": "skimage thinning of the glyph at 160 px, traced and simplified (RDP 0.8 px)",
                      "chars": len(strokes), "missing": missing, "box": 1024, "y_axis": "up",
                      "bytes": (out / rel).stat().st_size}
        log(f"skeletons {fid}: {len(strokes)} characters, {index[fid]['bytes'] // 1024} KB")
    return index


def build_medians(zh_chars: set[str], cache: Path, out: Path) -> dict:
    """Per-character stroke medians (1024 box, y up) of hanzi-writer-data, lexicon characters only."""
    pkg = npm_package("hanzi-writer-data@2.0.1", cache)
    medians, missing = {}, []
    for ch in sorted(zh_chars):
        f = pkg / f"{ch}.json"
        if not f.exists():
            missing.append(ch)
            continue
        data = json.loads(f.read_text(encoding="utf-8"))
        medians[ch] = [[[int(x), int(y)] for x, y in stroke] for stroke in data["medians"]]
    rel = "strokes/zh_medians.json"
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_text(json.dumps(medians, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    lic = "licenses/hanzi-writer-data.txt"
    (out / lic).write_text(
        (pkg / "ARPHICPL.TXT").read_text(encoding="utf-8", errors="replace")
        + "\n\n----- README of hanzi-writer-data -----\n\n" + (pkg / "README.md").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return {"file": rel, "source": "npm:hanzi-writer-data@2.0.1", "license": "Arphic-1999",
            "license_file": lic, "chars": len(medians), "missing": "".join(missing),
            "box": 1024, "y_axis": "up", "bytes": (out / rel).stat().st_size}


_PATH_TOKEN = re.compile(r"[MLCZmlcz]|-?\d*\.?\d+(?:[eE][-+]?\d+)?")


def parse_polylines(d: str) -> list[list[list[float]]]:
    """Polylines of an SVG path (absolute M, L, C, Z: what the Hershey single-line glyphs use).

    Cubic curves are flattened to 8 points; Z closes back to the subpath's first point.
    """
    toks = _PATH_TOKEN.findall(d)
    if any(t in "mlcz" for t in toks):
        raise ValueError(f"relative path commands are not supported: {d[:40]!r}")
    lines: list[list[list[float]]] = []
    i, cmd = 0, "M"

    def num(k: int) -> float:
        return float(toks[i + k])

    while i < len(toks):
        t = toks[i]
        if t in "MLCZ":
            cmd = t
            i += 1
            if t == "Z" and lines:
                lines[-1].append(list(lines[-1][0]))
            continue
        if cmd == "M":
            lines.append([[num(0), num(1)]])
            cmd, i = "L", i + 2
        elif cmd == "L":
            lines[-1].append([num(0), num(1)])
            i += 2
        elif cmd == "C":
            p0 = lines[-1][-1]
            c1, c2, p3 = (num(0), num(1)), (num(2), num(3)), (num(4), num(5))
            for k in range(1, 9):
                u = k / 8.0
                a, b, c, e = (1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u * u * (1 - u), u ** 3
                lines[-1].append([a * p0[0] + b * c1[0] + c * c2[0] + e * p3[0],
                                  a * p0[1] + b * c1[1] + c * c2[1] + e * p3[1]])
            i += 6
        else:
            raise ValueError(f"unexpected token {t!r} in {d[:40]!r}")
    return [[[round(x, 1), round(y, 1)] for x, y in line] for line in lines if line]


def build_hershey(latin: set[str], cache: Path, out: Path) -> dict:
    """Single-line glyphs (units of 1000 per em, y up) of the chosen hersheytext SVG fonts."""
    import html

    pkg = npm_package("hersheytext@2.0.0", cache)
    fonts, licences = {}, []
    for hid, (file, group) in HERSHEY.items():
        svg = (pkg / "svg_fonts" / file).read_text(encoding="utf-8")
        meta = re.search(r"<metadata>(.*?)</metadata>", svg, flags=re.S).group(1).strip()
        licences.append(f"----- {file} -----\n{meta}\n")
        default_adv = float(re.search(r'<font[^>]*horiz-adv-x="([\d.]+)"', svg).group(1))
        glyphs, missing = {}, []
        for m in re.finditer(r"<glyph\s+([^>]*?)/>", svg, flags=re.S):
            attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
            ch = html.unescape(attrs.get("unicode", ""))
            if len(ch) != 1 or ch not in latin:
                continue
            lines = parse_polylines(attrs.get("d", ""))
            glyphs[ch] = {"adv": float(attrs.get("horiz-adv-x", default_adv)), "lines": lines}
        for ch in sorted(latin):
            if not ch.isspace() and not (ch in glyphs and any(len(l) > 1 for l in glyphs[ch]["lines"])):
                missing.append(ch)
        fonts[hid] = {"group": group, "file_in_package": file, "glyphs": glyphs,
                      "missing": "".join(missing),
                      "license": "OFL-1.1" if "Open Font License" in meta else "Hershey (public domain, see licence)"}
    rel = "strokes/hershey.json"
    (out / rel).write_text(json.dumps(fonts, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    lic = "licenses/hersheytext.txt"
    (out / lic).write_text(
        (pkg / "LICENSE").read_text(encoding="utf-8") + "\n\n" + "\n".join(licences), encoding="utf-8"
    )
    return {"file": rel, "source": "npm:hersheytext@2.0.0", "license_file": lic, "em": 1000,
            "y_axis": "up",
            "fonts": {k: {kk: v[kk] for kk in ("group", "license", "missing")} for k, v in fonts.items()},
            "bytes": (out / rel).stat().st_size}


# ----------------------------------------------------------------------------- main


def du_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def build(out: Path = ASSETS_DIR, cache: Path = SRC_CACHE, lexicon: Path = LEXICON, log=print) -> dict:
    """Rebuild all assets into ``out`` (replacing fonts/, strokes/, licenses/, assets.json)."""
    need, provisional = lexicon_charsets(lexicon)
    if provisional:
        log(f"warning: {lexicon} not found; using a provisional character set (rerun later)")
    cache.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".assets-stage-", dir=out.parent))
    try:
        for sub in ("fonts", "strokes", "licenses"):
            (stage / sub).mkdir()
        fonts = build_fonts(need, cache, stage, log, provisional)
        latin = need["en"] | need["es"] | set(LATIN_EXTRA)
        index = {
            "version": 1,
            "provisional_charset": provisional,
            "charset_sha1": {l: hashlib.sha1("".join(sorted(c)).encode()).hexdigest() for l, c in need.items()},
            "fonts": fonts,
            "zh_medians": build_medians(need["zh"], cache, stage),
            "zh_skeletons": build_skeletons(fonts, need["zh"], stage, cache, log),
            "hershey": build_hershey(latin, cache, stage),
        }
        (stage / "assets.json").write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        for sub in ("fonts", "strokes", "licenses", "assets.json"):
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
            elif (out / sub).exists():
                (out / sub).unlink()
            shutil.move(str(stage / sub), str(out / sub))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    size = du_mb(out)
    log(f"assets: {len(fonts)} fonts, {size:.1f} MB in {out}")
    if size > SIZE_LIMIT_MB:
        raise SystemExit(f"assets are {size:.1f} MB, over the {SIZE_LIMIT_MB} MB budget")
    for f in fonts:
        for lang, chars in f["missing"].items():
            log(f"  {f['id']}: {len(chars)} {lang} characters not drawn: {chars[:40]}")
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ASSETS_DIR)
    ap.add_argument("--cache", type=Path, default=SRC_CACHE, help="where downloaded packages are kept")
    ap.add_argument("--lexicon", type=Path, default=LEXICON)
    args = ap.parse_args(argv)
    build(args.out, args.cache, args.lexicon)
    return 0


if __name__ == "__main__":
    sys.exit(main())
