"""Read-only access to the shipped assets (fonts, stroke medians, Hershey glyphs), loaded once per process."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"


@lru_cache(maxsize=1)
def index() -> dict:
    """The ``assets.json`` index written by ``bench.data.build.assets``."""
    path = ASSETS_DIR / "assets.json"
    if not path.exists():
        from bench.errors import BenchError

        raise BenchError(f"synthesizer assets missing ({path}); run python -m bench.data.build.assets")
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def font_entry(font_id: str) -> dict:
    """The assets.json entry of one font."""
    for entry in index()["fonts"]:
        if entry["id"] == font_id:
            return entry
    raise KeyError(font_id)


@lru_cache(maxsize=4096)
def font(font_id: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType face at a pixel size; basic layout because glyphs are placed one by one."""
    path = ASSETS_DIR / font_entry(font_id)["file"]
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=1)
def zh_medians() -> dict[str, list[np.ndarray]]:
    """Stroke medians per Chinese character, as float32 arrays in a 1024 box with y pointing down."""
    raw = json.loads((ASSETS_DIR / index()["zh_medians"]["file"]).read_text(encoding="utf-8"))
    out = {}
    for ch, strokes in raw.items():
        arrs = []
        for s in strokes:
            a = np.asarray(s, dtype=np.float32)
            a[:, 1] = 900.0 - a[:, 1]  # hanzi-writer: y up with the baseline at 900 - 1024
            arrs.append(a)
        out[ch] = arrs
    return out


@lru_cache(maxsize=1)
def hershey() -> dict[str, dict[str, tuple[float, list[np.ndarray]]]]:
    """Single-line glyphs per Hershey font: char -> (advance, polylines) in em=1000 units, y down."""
    raw = json.loads((ASSETS_DIR / index()["hershey"]["file"]).read_text(encoding="utf-8"))
    out: dict[str, dict[str, tuple[float, list[np.ndarray]]]] = {}
    for fid, data in raw.items():
        glyphs = {}
        for ch, g in data["glyphs"].items():
            lines = []
            for line in g["lines"]:
                a = np.asarray(line, dtype=np.float32).reshape(-1, 2)
                a[:, 1] = -a[:, 1]
                lines.append(a)
            glyphs[ch] = (float(g["adv"]), lines)
        out[fid] = glyphs
    return out


def fingerprint() -> str:
    """Hash of every shipped asset file, so cached datasets rebuild when assets change."""
    h = hashlib.sha256()
    for path in sorted(p for p in ASSETS_DIR.rglob("*") if p.is_file()):
        h.update(path.relative_to(ASSETS_DIR).as_posix().encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]
