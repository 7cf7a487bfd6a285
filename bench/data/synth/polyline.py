"""Polyline helpers shared by the stroke skeletons and the pen: even resampling and smoothing."""

from __future__ import annotations

import numpy as np


def resample(line: np.ndarray, step: float) -> np.ndarray:
    """Points at roughly even spacing ``step`` along a polyline (at least the two ends)."""
    if len(line) < 2:
        return line
    seg = np.sqrt(((line[1:] - line[:-1]) ** 2).sum(1))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(cum[-1] / step) + 1)
    t = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(t, cum, line[:, 0]), np.interp(t, cum, line[:, 1])], 1)


def smooth(pts: np.ndarray, k: int) -> np.ndarray:
    """Moving average that keeps the ends: rounds corners the way a hasty hand does."""
    if k <= 0 or len(pts) <= 2:
        return pts
    pad = np.concatenate([np.repeat(pts[:1], k, 0), pts, np.repeat(pts[-1:], k, 0)])
    kern = np.ones(2 * k + 1) / (2 * k + 1)
    out = np.stack([np.convolve(pad[:, 0], kern, "valid"), np.convolve(pad[:, 1], kern, "valid")], 1)
    out[0], out[-1] = pts[0], pts[-1]
    return out
