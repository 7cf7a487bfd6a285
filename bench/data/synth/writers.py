"""Writer identities: each is a fixed style (a font or a pen skeleton plus drawn style parameters).

Writers are derived deterministically from the asset catalogue and from each writer's id, so the
same id always means the same style on every machine. ``group`` names a look-alike family: the
split keeps a whole group on one side, so out-of-domain styles are never near-copies of training
ones.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .store import SKEL_PREFIX, index, train_index, zh_skeleton_sources

LATIN = ("en", "es")


@dataclass(frozen=True)
class WriterSpec:
    """One writer's fixed style. Lengths are fractions of the em (the character box) unless noted."""

    id: str  # "font:caveat", "pen:hz-ballpoint-03", "pen:sk-long-cang-gel-01", "pen:hershey-ems-allure-quick"
    kind: str  # "font" | "pen"
    langs: tuple[str, ...]
    source: str  # glyph source: font id in assets.json, "hanzi-writer", "skel:<font id>", or a Hershey font id
    group: str  # look-alike family (a font cluster, or pen family for Chinese pens)
    em: float  # character box height in pixels
    slant: float  # shear: x += slant * (height above baseline)
    tracking: float  # extra space between characters
    wobble: float  # baseline wobble amplitude
    weight: float  # font: -1 (thin) .. 1 (bold); pen: stroke width
    pressure: float = 0.0  # pen: how much the width swells and tapers along a stroke
    jitter: float = 0.0  # pen: per-character affine jitter (scale, rotation, offset)
    noise: float = 0.0  # pen: smooth positional noise along strokes
    aspect: float = 1.0  # pen: horizontal stretch of characters
    connect: float = 0.0  # pen: probability of joining a stroke to the next with a thin trail
    speed: float = 0.0  # pen: 0 careful .. 1 hasty (rounded corners, short or overshot ends)
    ink: float = 0.15  # ink darkness (0 black .. 1 paper)
    grain: float = 0.0  # pen: broken, grainy strokes (pencil)
    run: float = 0.0  # pen: running-script hand, 0 none .. 1 strong (strokes joined without lifting, shortened)


# Pen families: parameter ranges drawn per writer. A pen family is a way of drawing, not a glyph
# source: the split keeps glyph sources (fonts, stroke sets) apart, and every family is used on both
# sides (see builtin.py).
PEN_FAMILIES: dict[str, dict[str, tuple[float, float]]] = {
    "ballpoint": dict(weight=(0.035, 0.05), pressure=(0.1, 0.3), jitter=(0.03, 0.06), noise=(0.006, 0.012),
                      slant=(-0.05, 0.15), connect=(0.0, 0.2), speed=(0.2, 0.5), aspect=(0.9, 1.1), ink=(0.05, 0.3)),
    "gel": dict(weight=(0.05, 0.07), pressure=(0.25, 0.45), jitter=(0.03, 0.06), noise=(0.005, 0.01),
                slant=(-0.05, 0.1), connect=(0.0, 0.15), speed=(0.1, 0.4), aspect=(0.92, 1.08), ink=(0.0, 0.2)),
    "felt": dict(weight=(0.06, 0.085), pressure=(0.0, 0.15), jitter=(0.04, 0.07), noise=(0.006, 0.012),
                 slant=(-0.08, 0.08), connect=(0.0, 0.1), speed=(0.0, 0.3), aspect=(0.95, 1.15), ink=(0.0, 0.15)),
    "careful": dict(weight=(0.04, 0.06), pressure=(0.1, 0.25), jitter=(0.015, 0.03), noise=(0.003, 0.006),
                    slant=(-0.03, 0.05), connect=(0.0, 0.05), speed=(0.0, 0.15), aspect=(0.95, 1.05), ink=(0.0, 0.25)),
    "quick": dict(weight=(0.035, 0.06), pressure=(0.2, 0.45), jitter=(0.06, 0.1), noise=(0.012, 0.022),
                  slant=(0.1, 0.3), connect=(0.5, 0.9), speed=(0.6, 1.0), aspect=(0.8, 1.0), ink=(0.05, 0.3)),
    "brush": dict(weight=(0.055, 0.085), pressure=(0.6, 0.9), jitter=(0.03, 0.06), noise=(0.005, 0.01),
                  slant=(-0.05, 0.1), connect=(0.0, 0.25), speed=(0.3, 0.6), aspect=(0.9, 1.1), ink=(0.0, 0.1)),
    "pencil": dict(weight=(0.03, 0.05), pressure=(0.1, 0.3), jitter=(0.04, 0.08), noise=(0.008, 0.015),
                   slant=(-0.1, 0.2), connect=(0.0, 0.4), speed=(0.2, 0.6), aspect=(0.9, 1.1), ink=(0.22, 0.42),
                   grain=(0.3, 0.6)),
    "child": dict(weight=(0.05, 0.08), pressure=(0.0, 0.2), jitter=(0.1, 0.16), noise=(0.02, 0.035),
                  slant=(-0.15, 0.1), connect=(0.0, 0.1), speed=(0.0, 0.3), aspect=(1.0, 1.25), ink=(0.05, 0.35)),
}
ALL_PEN_FAMILIES = ("ballpoint", "gel", "felt", "careful", "quick", "brush", "pencil", "child")
PENS_PER_FAMILY_ZH = 6  # hanzi-writer medians: 8 families x 6 pens
PENS_PER_FAMILY_SKEL = 2  # each font-skeleton stroke set: 8 families x 2 pens

# Hershey skeletons: look-alike clusters, and which side of the split each cluster is on.
HERSHEY_CLUSTERS = {
    "hershey-script-1": "hershey-script", "hershey-script-med": "hershey-script",
    "hershey-sans-1": "hershey-sans", "hershey-sans-med": "hershey-sans",
    "ems-readability": "ems-readability", "ems-readability-italic": "ems-readability",
}
HERSHEY_TRAIN = ("hershey-script-1", "hershey-script-med", "ems-readability", "ems-readability-italic",
                 "ems-tech", "ems-osmotron", "hershey-sans-1", "hershey-sans-med")
HERSHEY_OOD = ("ems-allure", "ems-felix", "ems-elfin")  # one script, one italic, one print hand

# Latin fonts that are near-copies of each other (same design, other weight or brush).
FONT_CLUSTERS = {
    "caveat-brush": "caveat",
    "patrick-hand-sc": "patrick-hand",
    "sedgwick-ave-display": "sedgwick-ave",
    "delius-unicase": "delius",
    "delius-swash-caps": "delius",
    "shadows-into-light-two": "shadows-into-light",
    "bilbo-swash-caps": "bilbo",
    "comforter-brush": "comforter",
    "birthstone-bounce": "birthstone",
}
# Families published as many regional variants of one design: each family is one cluster.
FONT_FAMILY_PREFIXES = ("playwrite-", "edu-")


def _font_cluster(fid: str) -> str:
    """The look-alike cluster of a Latin font: the split keeps a whole cluster on one side."""
    for prefix in FONT_FAMILY_PREFIXES:
        if fid.startswith(prefix):
            return prefix.rstrip("-")
    return FONT_CLUSTERS.get(fid, fid)


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode("utf-8")))


def _draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 4)


def pen_writer(wid: str, family: str, source: str, langs: tuple[str, ...], group: str) -> WriterSpec:
    """A pen writer whose parameters are drawn from its family's ranges, seeded by its id."""
    rng = _rng(wid)
    ranges = PEN_FAMILIES[family]
    params = {k: _draw(rng, *v) for k, v in ranges.items()}
    em = _draw(rng, 40, 56)
    tracking = _draw(rng, -0.02, 0.12) if langs[0] == "zh" else _draw(rng, -0.05, 0.15)
    wobble = _draw(rng, 0.0, 0.05)
    return WriterSpec(id=wid, kind="pen", langs=langs, source=source, group=group, em=em,
                      tracking=tracking, wobble=wobble, **params)


def font_writer(entry: dict) -> WriterSpec:
    """A font writer: the font plus per-writer size, slant, tracking, wobble and weight."""
    fid = entry["id"]
    rng = _rng("font:" + fid)
    cursive = entry["group"] == "cursive"
    zh = entry["script"] == "zh"
    return WriterSpec(
        id=f"font:{fid}", kind="font", langs=tuple(entry["langs"]), source=fid,
        group=_font_cluster(fid) if not zh else entry["group"],
        em=_draw(rng, 42, 56) if zh else _draw(rng, 44, 60),
        slant=_draw(rng, -0.08, 0.2) if not zh else _draw(rng, -0.06, 0.1),
        tracking=_draw(rng, -0.03, 0.03) if cursive else _draw(rng, -0.02, 0.1),
        wobble=_draw(rng, 0.0, 0.04), weight=_draw(rng, -0.5, 0.8),
        ink=_draw(rng, 0.0, 0.3),
    )


@lru_cache(maxsize=1)
def all_writers() -> tuple[WriterSpec, ...]:
    """Every writer the assets allow, fonts first, in a fixed order."""
    out = [font_writer(e) for e in index()["fonts"] if e["langs"] and e.get("writer", True)]
    if index().get("zh_medians", {}).get("chars"):
        for family in ALL_PEN_FAMILIES:
            for i in range(PENS_PER_FAMILY_ZH):
                out.append(pen_writer(f"pen:hz-{family}-{i:02d}", family, "hanzi-writer", ("zh",), "hanzi-writer"))
    for source, entry in zh_skeleton_sources().items():  # "skel:<font id>": a font's traced strokes
        fid = source.removeprefix(SKEL_PREFIX)
        for family in ALL_PEN_FAMILIES:
            for i in range(PENS_PER_FAMILY_SKEL):
                out.append(pen_writer(f"pen:sk-{fid}-{family}-{i:02d}", family, source, ("zh",), entry["group"]))
    shipped = index().get("hershey", {}).get("fonts", {})
    for hid in (h for h in HERSHEY_TRAIN + HERSHEY_OOD if h in shipped):
        cluster = HERSHEY_CLUSTERS.get(hid, hid)
        for family in ALL_PEN_FAMILIES:
            wid = f"pen:hershey-{hid.removeprefix('hershey-')}-{family}"
            out.append(pen_writer(wid, family, hid, LATIN, f"hershey-{cluster.removeprefix('hershey-')}"))
    return tuple(out)


def writers(lang: str) -> list[WriterSpec]:
    """All writers that can write ``lang`` (train and out-of-domain alike)."""
    return [w for w in all_writers() if lang in w.langs]


@lru_cache(maxsize=1)
def train_only_writers() -> tuple[WriterSpec, ...]:
    """Font writers of ``train_fonts.json``: in no split, mixed into training by a config's
    ``train_fonts`` share; each draws only the words its ``chars`` cover (``render.can_draw``)."""
    return tuple(font_writer(e) for e in train_index()["fonts"])


@lru_cache(maxsize=1)
def _by_id() -> dict[str, WriterSpec]:
    return {w.id: w for w in all_writers() + train_only_writers()}


def get_writer(writer_id: str) -> WriterSpec:
    """Look a writer up by id (KeyError if no such writer)."""
    return _by_id()[writer_id]


def with_params(writer: WriterSpec, **changes) -> WriterSpec:
    """A copy of a writer with some parameters changed (for experiments and tests)."""
    return replace(writer, **changes)
