"""Turn an ink mask into a scanned-looking word image: slant, rotation, elastic warp, paper, ink, blur, noise, JPEG.

All of it is done with PIL's C paths and a few numpy ops on small arrays, because rendering runs
on the fly during training and must stay near a millisecond per image. Paper texture and sensor
noise come from tiles generated once per process (fixed seed) and cropped at random offsets.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from .rand import Rand

TILE = (512, 2048)  # rows, cols of the precomputed texture tiles


@lru_cache(maxsize=1)
def _tiles() -> tuple[np.ndarray, np.ndarray]:
    """(paper texture in [-1, 1], unit gaussian noise), both float32, made once from a fixed seed."""
    rng = np.random.default_rng(20240611)
    coarse = Image.fromarray((rng.random((TILE[0] // 16, TILE[1] // 16)) * 255).astype(np.uint8))
    fine = Image.fromarray((rng.random((TILE[0] // 3, TILE[1] // 3)) * 255).astype(np.uint8))
    low = np.asarray(coarse.resize(TILE[::-1], Image.BICUBIC), dtype=np.float32)
    mid = np.asarray(fine.resize(TILE[::-1], Image.BILINEAR), dtype=np.float32)
    paper = (0.7 * low + 0.3 * mid) / 127.5 - 1.0
    noise = rng.standard_normal(TILE, dtype=np.float32)
    return paper.astype(np.float32), noise


def _crop(tile: np.ndarray, h: int, w: int, r: Rand) -> np.ndarray:
    if h > tile.shape[0] or w > tile.shape[1]:
        tile = np.tile(tile, (h // tile.shape[0] + 1, w // tile.shape[1] + 1))
    y = r.integers(0, tile.shape[0] - h + 1)
    x = r.integers(0, tile.shape[1] - w + 1)
    return tile[y : y + h, x : x + w]


def warp(ink: Image.Image, slant: float, angle: float, elastic: float, margins: tuple[float, float, float, float],
         cell: float, r: Rand) -> Image.Image:
    """Shear by ``slant``, rotate by ``angle`` (radians), add a smooth elastic field (pixels), pad by margins.

    Without elastic warp this is one affine transform; with it, a coarse mesh whose vertices are
    displaced at random, each cell mapped bilinearly (smooth, and only a few C calls).
    """
    w, h = ink.size
    cx, cy = w / 2.0, h / 2.0
    c, s = math.cos(angle), math.sin(angle)
    fwd = np.array([[c, -s], [s, c]]) @ np.array([[1.0, -slant], [0.0, 1.0]])
    inv = np.linalg.inv(fwd)
    corners = (np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) - [cx, cy]) @ fwd.T
    lo, hi = corners.min(0), corners.max(0)
    ml, mt, mr, mb = margins
    out_w = max(4, int(math.ceil(hi[0] - lo[0] + ml + mr)))
    out_h = max(4, int(math.ceil(hi[1] - lo[1] + mt + mb)))
    if elastic <= 0:
        # output (u, v) -> source: inv @ ((u, v) - shift) + centre
        shift = np.array([ml - lo[0], mt - lo[1]])
        cst = np.array([cx, cy]) - inv @ shift
        coeffs = (inv[0, 0], inv[0, 1], cst[0], inv[1, 0], inv[1, 1], cst[1])
        return ink.transform((out_w, out_h), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=0)
    nx = max(1, min(8, int(round(out_w / cell))))  # few cells: PIL pays a Python call per cell
    ny = max(1, min(3, int(round(out_h / cell))))
    xs = np.linspace(0, out_w, nx + 1)
    ys = np.linspace(0, out_h, ny + 1)
    gx, gy = np.meshgrid(xs, ys)
    rel = np.stack([gx - ml + lo[0], gy - mt + lo[1]], -1) @ inv.T + [cx, cy]
    rel = (rel + r.gen.normal(0.0, elastic, size=rel.shape)).tolist()
    mesh = []
    for j in range(ny):
        for i in range(nx):
            box = (int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1]))
            mesh.append((box, (*rel[j][i], *rel[j + 1][i], *rel[j + 1][i + 1], *rel[j][i + 1])))
    return ink.transform((out_w, out_h), Image.MESH, mesh, resample=Image.BILINEAR, fillcolor=0)


def compose(alpha_img: Image.Image, ink_level: float, paper_level: float, texture: float, grain: float,
            noise: float, r: Rand) -> np.ndarray:
    """Paper with texture, ink laid on by coverage, grain that breaks pencil strokes, sensor noise."""
    paper_tile, noise_tile = _tiles()
    alpha = np.asarray(alpha_img, dtype=np.float32) * (1.0 / 255.0)
    h, w = alpha.shape
    if grain > 0:
        g = _crop(noise_tile, h, w, r)
        alpha = alpha * np.clip(1.0 - grain * np.abs(g), 0.0, 1.0)
    paper = paper_level + texture * _crop(paper_tile, h, w, r)
    out = paper - alpha * (paper - ink_level)
    if noise > 0:
        out += noise * _crop(noise_tile, h, w, r)
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """Round-trip through JPEG at ``quality`` for compression artefacts."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("L")


def blur(img: Image.Image, radius: float) -> Image.Image:
    """Gaussian blur, the out-of-focus or low-resolution scan."""
    return img.filter(ImageFilter.GaussianBlur(radius)) if radius > 0.05 else img
