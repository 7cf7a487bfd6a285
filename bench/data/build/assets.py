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
import json
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

from .asset_catalog import ASSETS_DIR, LATIN_EXTRA, LEXICON, SIZE_LIMIT_MB, SRC_CACHE
from .font_assets import build_fonts
from .stroke_assets import build_hershey, build_medians, build_skeletons


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
