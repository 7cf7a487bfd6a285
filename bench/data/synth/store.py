"""Read-only access to the shipped assets (fonts, stroke medians, Hershey glyphs), loaded once per process."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
TRAIN_ASSETS_DIR = ASSETS_DIR.parent / "train_assets"  # training-only fonts, used by no split


@lru_cache(maxsize=1)
def index() -> dict:
    """The ``assets.json`` index written by ``bench.data.build.assets``."""
    path = ASSETS_DIR / "assets.json"
    if not path.exists():
        from bench.errors import BenchError

        raise BenchError(f"synthesizer assets missing ({path}); run python -m bench.data.build.assets")
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def train_index() -> dict:
    """``train_fonts.json`` (``bench.data.build.train_fonts``): fonts only a training config mixes in.

    Kept outside ``ASSETS_DIR`` so the benchmark's fingerprint does not depend on them; empty when absent.
    """
    path = TRAIN_ASSETS_DIR / "train_fonts.json"
    if not path.exists():
        return {"fonts": []}
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def font_entry(font_id: str) -> dict:
    """The assets.json entry of one font (or, failing that, its training-only entry)."""
    for entry in index()["fonts"]:
        if entry["id"] == font_id:
            return entry
    for entry in train_index()["fonts"]:
        if entry["id"] == font_id:
            return entry
    raise KeyError(font_id)


def font_path(font_id: str) -> Path:
    """The font file of a font id, in the folder its index lives in."""
    entry = font_entry(font_id)
    return (TRAIN_ASSETS_DIR if entry.get("role") == "train-only" else ASSETS_DIR) / entry["file"]


@lru_cache(maxsize=None)
def drawable(source: str) -> frozenset[str]:
    """Characters a font or pen skeleton source really draws (checked for ink when the assets were built)."""
    if is_zh_pen(source):
        return frozenset(zh_strokes(source))
    if source in index().get("hershey", {}).get("fonts", {}):
        return frozenset(ch for ch, (_, lines) in hershey()[source].items() if lines)
    entry = font_entry(source)
    if "chars" not in entry:  # assets from before the character list was recorded
        return frozenset()
    return frozenset(entry["chars"])


@lru_cache(maxsize=4096)
def font(font_id: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType face at a pixel size; basic layout because glyphs are placed one by one."""
    return ImageFont.truetype(str(font_path(font_id)), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=None)
def font_metrics(font_id: str) -> tuple[float, float]:
    """(size factor, stroke width / em) of a font, measured once from its own glyphs.

    Handwriting fonts differ wildly in how much of the em their letters fill (hairline scripts
    have tiny x-heights); the factor brings every font to a common letter height so that a
    writer's ``em`` means the same thing for all of them.
    """
    probe = 100
    f = font(font_id, probe)
    zh = font_entry(font_id)["script"] == "zh"
    heights = []
    for ch in ("国", "明") if zh else ("x", "o", "H", "d"):
        box = f.getbbox(ch)
        heights.append(box[3] - box[1])
    height = float(np.mean(heights))
    target = 0.86 * probe if zh else 0.55 * probe
    ch = "口" if zh else "o"
    x0, y0, x1, y1 = f.getbbox(ch)
    canvas = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 0)
    ImageDraw.Draw(canvas).text((2 - x0, 2 - y0), ch, font=f, fill=255)
    img = np.asarray(canvas) > 127
    area = float(img.sum())
    edge = img & ~(np.roll(img, 1, 0) & np.roll(img, -1, 0) & np.roll(img, 1, 1) & np.roll(img, -1, 1))
    width = 2.0 * area / max(1.0, float(edge.sum())) / probe
    return target / max(1.0, height), width


def is_zh_pen(source: str) -> bool:
    """Whether a pen source is a Chinese stroke set (hanzi-writer medians or a font's skeletons)."""
    return source == "hanzi-writer" or source.startswith(SKEL_PREFIX)


SKEL_PREFIX = "skel:"


def zh_skeleton_sources() -> dict[str, dict]:
    """The font-skeleton stroke sets in the assets: ``skel:<font id>`` -> their assets.json entry."""
    return {SKEL_PREFIX + k: v for k, v in index().get("zh_skeletons", {}).items()}


@lru_cache(maxsize=1)
def zh_medians() -> dict[str, list[np.ndarray]]:
    """Stroke medians per Chinese character, as float32 arrays in a 1024 box with y pointing down."""
    return _load_strokes(index()["zh_medians"]["file"])


@lru_cache(maxsize=None)
def zh_strokes(source: str) -> dict[str, list[np.ndarray]]:
    """Strokes of a Chinese pen source: the hanzi-writer medians or a font's traced skeletons."""
    if source == "hanzi-writer":
        return zh_medians()
    return _load_strokes(zh_skeleton_sources()[source]["file"])


def _load_strokes(rel: str) -> dict[str, list[np.ndarray]]:
    raw = json.loads((ASSETS_DIR / rel).read_text(encoding="utf-8"))
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
