"""Pen skeletons: a stroke source's characters, resampled and pre-smoothed for vectorized drawing."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .polyline import resample, smooth
from .store import hershey, is_zh_pen, zh_strokes


class Skeleton:
    """One character's strokes, resampled at even spacing, concatenated for vectorized drawing.

    ``pts[k]`` holds the points smoothed with a moving window of k (0 = raw) in glyph units (y
    down); ``stroke`` the stroke index of each point, ``t`` its position along its stroke (0..1).
    """

    __slots__ = ("adv", "pts", "stroke", "t", "starts", "n_strokes")

    def __init__(self, adv: float, lines: list[np.ndarray], step: float) -> None:
        lines = [resample(l, step) for l in lines if len(l) >= 2]
        self.adv = adv
        self.n_strokes = len(lines)
        if not lines:
            self.pts = [np.zeros((0, 2), np.float32)] * 3
            self.stroke = np.zeros(0, np.int32)
            self.t = np.zeros(0, np.float32)
            self.starts = np.zeros(0, np.int64)
            return
        self.pts = [np.concatenate([smooth(l, k) for l in lines]).astype(np.float32) for k in range(3)]
        self.stroke = np.concatenate([np.full(len(l), i, np.int32) for i, l in enumerate(lines)])
        self.t = np.concatenate([np.linspace(0.0, 1.0, len(l), dtype=np.float32) for l in lines])
        self.starts = np.cumsum([0] + [len(l) for l in lines])


class _Skeletons(dict):
    """Characters' skeletons, built on first use (a process touches only the characters it draws)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        if is_zh_pen(source):
            self.raw = {ch: (1024.0, lines) for ch, lines in zh_strokes(source).items()}
            self.step = 1024.0 / 28.0
        else:
            self.raw = hershey()[source]
            self.step = 700.0 / 28.0

    def __missing__(self, ch: str) -> Skeleton | None:
        if ch not in self.raw:
            return None
        adv, lines = self.raw[ch]
        sk = self[ch] = Skeleton(adv, lines, self.step)
        return sk


@lru_cache(maxsize=None)
def skeletons(source: str) -> dict[str, Skeleton | None]:
    """Pen skeletons of a source ("hanzi-writer", "skel:<font id>" or a Hershey font id), keyed by character."""
    return _Skeletons(source)
