"""Pen model: lay out stroke skeletons (Chinese medians, Hershey single-line glyphs) and draw them.

Why a pen model: Chinese has only a handful of handwriting fonts, but one set of stroke medians
drawn with varied pens (width, pressure, jitter, noise, slant, joined strokes, haste) gives as many
distinct writers as needed. Output is an ink-coverage mask (0 paper, 255 ink); slant, rotation and
scan effects are applied afterwards by ``augment``. All points of a word are transformed in one
vectorized pass; only the final rasterization loops over strokes.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .polyline import smooth
from .rand import Rand
from .skeletons import skeletons
from .store import is_zh_pen
from .writers import WriterSpec

SS = 2  # supersampling factor: PIL lines are not anti-aliased, so draw at 2x and reduce
TWO_PI = 2.0 * math.pi


def layout(text: str, w: WriterSpec, em: float, r: Rand) -> list[tuple[np.ndarray, bool]]:
    """Stroke polylines in pixels (y down) and whether each is a thin joining trail."""
    zh = is_zh_pen(w.source)
    table = skeletons(w.source)
    unit = em / 1024.0 if zh else em / 700.0
    k_smooth = min(2, int(round(w.speed * 2.5)))
    j = w.jitter
    phase, freq = r.uniform(0.0, TWO_PI), r.uniform(0.5, 1.3)
    pts, mats, offs, idx, strokes_t, stroke_id, char_of_stroke = [], [], [], [], [], [], []
    x, n_strokes = 0.0, 0
    for i, ch in enumerate(text):
        sk = table[ch]
        dy = w.wobble * em * math.sin(phase + i * freq) + r.normal(0.0, j * em * 0.15)
        if zh:
            adv = 1024.0 * w.aspect * (0.92 + w.tracking)
            origin, base = (512.0, 512.0), (x + adv * unit * 0.5, em * 0.5 + dy)
        else:
            adv = (sk.adv if sk else 300.0) * w.aspect + 1000.0 * w.tracking * 0.5
            origin, base = (0.0, 0.0), (x, em * 0.88 + dy)
        x += adv * unit * (1.0 + r.normal(0.0, j * 0.3))
        if sk is None or sk.n_strokes == 0:
            continue
        s = unit * (1.0 + r.normal(0.0, j * 0.8))
        a, sh = r.normal(0.0, j * 0.6), r.normal(0.0, j * 0.5)
        sx = s * w.aspect * (1.0 + r.normal(0.0, j * 0.5))
        c, si = math.cos(a), math.sin(a)
        mats.append(((c * sx, c * sh * s - si * s), (si * sx, si * sh * s + c * s)))
        offs.append((base[0] - (c * sx * origin[0] + (c * sh * s - si * s) * origin[1]),
                     base[1] - (si * sx * origin[0] + (si * sh * s + c * s) * origin[1])))
        pts.append(sk.pts[k_smooth])
        idx.append(np.full(len(sk.t), len(mats) - 1, np.int32))
        strokes_t.append(sk.t)
        stroke_id.append(sk.stroke + n_strokes)
        char_of_stroke += [len(mats) - 1] * sk.n_strokes
        n_strokes += sk.n_strokes
    if not pts:
        return []
    P = np.concatenate(pts)
    ci = np.concatenate(idx)
    M = np.asarray(mats, np.float32)[ci]
    Q = np.einsum("nij,nj->ni", M, P) + np.asarray(offs, np.float32)[ci]
    # smooth wander along each stroke: two sinusoids per axis and a small offset, per stroke
    t = np.concatenate(strokes_t)
    sid = np.concatenate(stroke_id)
    g = r.gen
    f = g.uniform(0.4, 1.6, size=(n_strokes, 4)).astype(np.float32)[sid]
    ph = g.uniform(0.0, TWO_PI, size=(n_strokes, 4)).astype(np.float32)[sid]
    off = g.normal(0.0, 0.6, size=(n_strokes, 2)).astype(np.float32)[sid]
    amp = w.noise * em
    ang = TWO_PI * t
    Q[:, 0] += amp * (np.sin(f[:, 0] * ang + ph[:, 0]) + 0.5 * np.sin(2.3 * f[:, 1] * ang + ph[:, 1]) + off[:, 0])
    Q[:, 1] += amp * (np.sin(f[:, 2] * ang + ph[:, 2]) + 0.5 * np.sin(2.3 * f[:, 3] * ang + ph[:, 3]) + off[:, 1])
    cuts = [0, *(np.flatnonzero(sid[1:] != sid[:-1]) + 1).tolist(), len(sid)]
    u = g.random((n_strokes, 3)).tolist()
    limit = em * (0.9 if zh else 0.6)
    out: list[tuple[np.ndarray, bool]] = []
    for k in range(n_strokes):
        lift, join_in, join_prev = u[k]
        p = Q[cuts[k] : cuts[k + 1]]
        if w.speed > 0.3 and len(p) > 4 and lift < w.speed * 0.5:
            p = p[: -max(1, int(len(p) * 0.12 * w.speed))]  # hasty: lifts the pen early
        if out:
            same_char = char_of_stroke[k] == char_of_stroke[k - 1]
            if same_char and join_in < w.connect or not same_char and join_prev < w.connect * 0.3:
                prev = out[-1][0][-1]
                if abs(p[0, 0] - prev[0]) < limit and abs(p[0, 1] - prev[1]) < limit:
                    out.append((np.stack([prev, p[0]]), True))
        out.append((p, False))
    if w.run > 0:
        return run_together(out, [char_of_stroke[k] for k in range(n_strokes)], w, em, r)
    return out


def _length(p: np.ndarray) -> float:
    return float(np.sqrt(((p[1:] - p[:-1]) ** 2).sum(1)).sum()) if len(p) > 1 else 0.0


def run_together(strokes: list[tuple[np.ndarray, bool]], chars: list[int], w: WriterSpec, em: float,
                 r: Rand) -> list[tuple[np.ndarray, bool]]:
    """Running-script deformation: the pen stays down between strokes of a character (now and then
    between characters), short strokes shrink toward a tick, and the joined path is rounded.

    Why: cursive Chinese hands (running script) join and simplify the strokes that the regular-script
    skeletons keep apart; drawing a skeleton this way gives the model joined forms that no stroke source
    here has. ``chars`` is the character of each (non-trail) stroke; the thin joining trails of
    ``connect`` are dropped, since joined strokes replace them.
    """
    g = r.gen
    pen = [p for p, trail in strokes if not trail]
    if len(pen) != len(chars) or not pen:
        return strokes
    u = g.random((len(pen), 4))
    run, reach = w.run, em * 0.75
    out: list[np.ndarray] = []
    last_char = -1
    for k, p in enumerate(pen):
        if len(p) > 1 and _length(p) < 0.2 * em and u[k, 0] < run * 0.6:  # a dot or tick, written short
            c = p.mean(0)
            p = c + (p - c) * 0.5
        joined = False
        if out:
            same = chars[k] == last_char
            gap = p[0] - out[-1][-1]
            if (u[k, 1] < run * (0.8 if same else 0.3)) and abs(gap[0]) < reach and abs(gap[1]) < reach:
                a, b = out[-1][-1], p[0]
                bend = (u[k, 2] - 0.5) * 0.6
                ctrl = (a + b) / 2.0 + bend * np.array([-(b - a)[1], (b - a)[0]])
                t = np.linspace(0.0, 1.0, 6)[1:-1, None]
                bridge = (1 - t) ** 2 * a + 2 * (1 - t) * t * ctrl + t ** 2 * b
                out[-1] = np.concatenate([out[-1], bridge.astype(np.float32), p])
                joined = True
        if not joined:
            out.append(p)
        last_char = chars[k]
    k_round = 1 + int(run > 0.6)
    return [(smooth(p, k_round).astype(np.float32), False) for p in out]


def draw_pen(strokes: list[tuple[np.ndarray, bool]], w: WriterSpec, em: float, width_scale: float, r: Rand) -> Image.Image:
    """Rasterize strokes with a pressure-varying round pen into an ink mask (mode L, ink = 255)."""
    if not strokes:
        return Image.new("L", (max(4, int(em)), max(4, int(em))), 0)
    allpts = np.concatenate([s for s, _ in strokes])
    base_w = max(1.0, w.weight * em * width_scale) * SS
    pad = base_w + 2 * SS
    lo = allpts.min(0) * SS - pad
    hi = allpts.max(0) * SS - lo + pad
    img = Image.new("L", (int(math.ceil(hi[0])), int(math.ceil(hi[1]))), 0)
    d = ImageDraw.Draw(img)
    trail_w = max(1, int(base_w * 0.35))
    caps = base_w >= 3.0
    pressure = w.pressure
    for pts, trail in strokes:
        p = pts * SS - lo
        if trail:
            d.line(p.ravel().tolist(), fill=255, width=trail_w)
            continue
        n = len(p)
        press = 1.0 + r.normal(0.0, 0.08 + 0.15 * pressure)
        if pressure < 0.08 or n < 6:
            widths, bounds = [base_w * press], (0, n - 1)
        else:
            bounds = (0, n // 4, (3 * n) // 4, n - 1)
            start = 1.1 if pressure >= 0.5 else 1.0 - pressure * 0.45  # brush: pressed hard at the start
            widths = [base_w * press * start, base_w * press, base_w * press * (1.0 - pressure * 0.55)]
        for c, width in enumerate(widths):
            a, b = bounds[c], bounds[c + 1]
            d.line(p[a : b + 1].ravel().tolist(), fill=255, width=max(1, int(round(width))))
        if caps:  # round pen tip at both ends of the stroke
            for q, width in ((p[0], widths[0]), (p[-1], widths[-1])):
                rr = max(1.0, width) / 2.0
                d.ellipse((q[0] - rr, q[1] - rr, q[0] + rr, q[1] + rr), fill=255)
    return img.reduce(SS)
