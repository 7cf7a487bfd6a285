"""Stroke assets for the pen writers: traced font skeletons, hanzi-writer medians and Hershey
single-line glyphs, each kept to the lexicon's characters.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .asset_catalog import HERSHEY, ZH_SKELETONS
from .asset_packages import npm_package


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
