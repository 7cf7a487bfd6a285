"""Word-image preprocessing shared by training, the harness adapter and ONNX export.

Grayscale, height 64, aspect kept; narrower images are padded on the right with
the paper colour, wider ones are squeezed horizontally to 256 (a long word stays
whole rather than losing letters to a crop). Ink is dark on light paper; we invert
so ink is high and padding is 0, then normalise with fixed constants. An image whose paper (its
border) is darker than the image on average, light ink on dark paper, is read with its polarity turned.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from PIL import Image

HEIGHT = 64
WIDTH = 256
MEAN = 0.1  # after inversion most pixels are background (0)
STD = 0.25


def light_on_dark(ink: np.ndarray) -> bool:
    """True when the paper is darker than the ink, for an ink-high array (1 - grey / 255). The border
    of a word image is paper, while its ink is the darker part of the whole: a tight crop of a bold
    word (more ink than paper) or dark paper with darker ink still reads as dark on light."""
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    return float(np.median(border)) > float(ink.mean())


def to_array(img: Image.Image, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """One PIL image (any mode) -> float32 array (height, width), ink high, normalised."""
    g = img.convert("L")
    w, h = g.size
    new_w = max(1, round(w * height / max(h, 1)))
    new_w = min(new_w, width)  # squeeze if too wide
    g = g.resize((new_w, height), Image.BILINEAR)
    a = 1.0 - np.asarray(g, dtype=np.float32) / 255.0
    if light_on_dark(a):  # light ink on dark paper (a slate, a negative, a stroke mask): ink high all the same
        a = 1.0 - a
    out = np.zeros((height, width), dtype=np.float32)
    out[:, :new_w] = a
    return (out - MEAN) / STD


def batch(images: Iterable[Image.Image], height: int = HEIGHT, width: int = WIDTH) -> torch.Tensor:
    """PIL images -> float32 tensor (N, 1, height, width)."""
    arrs = [to_array(im, height, width) for im in images]
    if not arrs:
        return torch.zeros((0, 1, height, width), dtype=torch.float32)
    return torch.from_numpy(np.stack(arrs)[:, None])
