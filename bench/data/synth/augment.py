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
    fine = Image.fromarray((rng.random((TILE[0] // 6, TILE[1] // 6)) * 255).astype(np.uint8))
    low = np.asarray(coarse.resize(TILE[::-1], Image.BICUBIC), dtype=np.float32)
    mid = np.asarray(fine.resize(TILE[::-1], Image.BICUBIC), dtype=np.float32)
    # mostly smooth blotches: fine paper grain costs PNG bytes and hardly changes what a model sees
    paper = (0.8 * low + 0.2 * mid) / 127.5 - 1.0
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
    # forward map (about the centre): rotation @ shear [[1, -slant], [0, 1]]; plain floats, the
    # matrices are too small for numpy to pay off
    a, b, d, e = c, -c * slant - s, s, -s * slant + c
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    xs_c = [a * x + b * y for x, y in ((-cx, -cy), (cx, -cy), (-cx, cy), (cx, cy))]
    ys_c = [d * x + e * y for x, y in ((-cx, -cy), (cx, -cy), (-cx, cy), (cx, cy))]
    lo_x, lo_y = min(xs_c), min(ys_c)
    ml, mt, mr, mb = margins
    out_w = max(4, int(math.ceil(max(xs_c) - lo_x + ml + mr)))
    out_h = max(4, int(math.ceil(max(ys_c) - lo_y + mt + mb)))
    ox, oy = lo_x - ml, lo_y - mt  # output (u, v) -> source: inv @ (u + ox, v + oy) + centre
    if elastic <= 0:
        coeffs = (ia, ib, ia * ox + ib * oy + cx, id_, ie, id_ * ox + ie * oy + cy)
        return ink.transform((out_w, out_h), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=0)
    nx = max(1, min(6, int(round(out_w / cell))))  # few cells: PIL pays a Python call per cell
    ny = max(1, min(2, int(round(out_h / cell))))
    us = [out_w * i / nx for i in range(nx + 1)]
    vs = [out_h * j / ny for j in range(ny + 1)]
    jit = r.gen.normal(0.0, elastic, size=(ny + 1, nx + 1, 2)).tolist()
    src = [[(ia * (u + ox) + ib * (v + oy) + cx + jit[j][i][0], id_ * (u + ox) + ie * (v + oy) + cy + jit[j][i][1])
            for i, u in enumerate(us)] for j, v in enumerate(vs)]
    mesh = []
    for j in range(ny):
        for i in range(nx):
            box = (int(us[i]), int(vs[j]), int(us[i + 1]), int(vs[j + 1]))
            mesh.append((box, (*src[j][i], *src[j + 1][i], *src[j + 1][i + 1], *src[j][i + 1])))
    return ink.transform((out_w, out_h), Image.MESH, mesh, resample=Image.BILINEAR, fillcolor=0)


def compose(alpha_img: Image.Image, ink_level: float, paper_level: float, texture: float, grain: float,
            noise: float, r: Rand) -> np.ndarray:
    """Paper with texture, ink laid on by coverage, grain that breaks pencil strokes, sensor noise."""
    paper_tile, noise_tile = _tiles()
    alpha = np.asarray(alpha_img, dtype=np.float32)
    alpha *= 1.0 / 255.0
    h, w = alpha.shape
    if grain > 0:
        alpha *= np.clip(1.0 - grain * np.abs(_crop(noise_tile, h, w, r)), 0.0, 1.0)
    paper = _crop(paper_tile, h, w, r) * texture
    paper += paper_level
    out = ink_level - paper  # out = paper + alpha * (ink - paper), in place
    out *= alpha
    out += paper
    if noise > 0:
        out += noise * _crop(noise_tile, h, w, r)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


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
