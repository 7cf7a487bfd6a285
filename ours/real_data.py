"""Stage 2 on real handwriting: real word images (a dataset folder's ``train`` split) mixed into the
synthetic batches, each batch holding a fixed number of real images per language.

Why a fixed share per batch: the sampler shows every group once per epoch, so a corpus of 10,000
distinct English words would crowd out the lexicon's 1,550 concepts, and 15 Chinese numerals would
all but vanish. Here each part has its own ``SemanticBatchSampler`` cycling at its own pace, and
batch ``b`` of an epoch is the concatenation of each part's next sub-batch: a pure function of
(seed, epoch, b), so a resumed run sees the same batches.

Real images are augmented like the synthesizer's scans (``bench.data.synth.scan``): the image is
turned into an ink mask (paper and ink levels from its percentiles), thickened or thinned a little,
then slanted, rotated, warped and laid on new paper with noise, blur and JPEG.
"""
from __future__ import annotations

from pathlib import Path
from typing import Hashable, Sequence

import numpy as np
from PIL import Image, ImageFilter

from .data import Item, ManifestSource, Source
from .errors import BenchError
from .sampler import SemanticBatchSampler
from .vocab import spellable


def ink_mask(img: Image.Image) -> Image.Image:
    """Grayscale word image -> ink coverage (0 paper .. 255 ink), levels from the image's own percentiles."""
    from .preprocess import light_on_dark

    g = np.asarray(img.convert("L"), dtype=np.float32)
    if light_on_dark(1.0 - g / 255.0):  # light ink on dark paper (Chinese-MNIST's stroke masks)
        g = 255.0 - g
    paper, ink = np.percentile(g, 90), np.percentile(g, 1)
    span = max(paper - ink, 24.0)
    a = np.clip((paper - g) / span, 0.0, 1.0)
    return Image.fromarray((a * 255).astype(np.uint8), "L")


def augment_real(img: Image.Image, key: str, seed: int) -> Image.Image:
    """A new scan of a real word image, seeded by (key, seed)."""
    from bench.data.readers.ink_import import pen_writer
    from bench.data.synth.rand import Rand
    from bench.data.synth.scan import scan

    r = Rand("real", key, int(seed))
    mask = ink_mask(img)
    h = mask.size[1]
    em = max(8.0, 0.55 * h)
    u = r.random()
    if h >= 40 and u < 0.25:
        mask = mask.filter(ImageFilter.MaxFilter(3))  # a broader pen
    elif h >= 40 and u < 0.4:
        mask = mask.filter(ImageFilter.MinFilter(3))  # a finer one
    return scan(mask, pen_writer("en"), em, True, r)


class RealSource(ManifestSource):
    """A dataset folder's rows of one split, augmented. Rows whose characters the model's CTC charset
    lacks are kept for alignment; the training step leaves them out of the reading loss."""

    def __init__(self, folder: str | Path, split: str, langs: Sequence[str], charset: set[str] | None,
                 augment: bool = True) -> None:
        super().__init__(folder, split, langs)
        keep = [i for i, it in enumerate(self.items) if it.text.strip()]
        self.items = [self.items[i] for i in keep]
        self.paths = [self.paths[i] for i in keep]
        self.keys = [p.relative_to(self.folder).as_posix() for p in self.paths]  # the seed's key: not where the folder lies
        self.unspellable = sum(charset is not None and not spellable(it.text, charset) for it in self.items)
        self.augment = augment
        if not self.items:
            raise BenchError(f"{folder}: no {split!r} rows with text")

    def load(self, i: int, seed: int) -> Image.Image:
        img = super().load(i, seed)
        return augment_real(img, self.keys[i], seed) if self.augment else img

    def describe(self) -> str:
        langs: dict[str, int] = {}
        for it in self.items:
            langs[it.lang] = langs.get(it.lang, 0) + 1
        per = ", ".join(f"{lang} {n}" for lang, n in sorted(langs.items()))
        return f"real {self.folder} split {self.split!r} ({per}; {self.unspellable} aligned but not spelled)"


class MixSource(Source):
    """The synthetic source's items followed by the real source's; ``load`` dispatches."""

    def __init__(self, synth: Source, real: RealSource) -> None:
        self.synth, self.real = synth, real
        self.n_synth = len(synth.items)
        self.items: list[Item] = [*synth.items, *real.items]

    def load(self, i: int, seed: int) -> Image.Image:
        if i < self.n_synth:
            return self.synth.load(i, seed)
        return self.real.load(i - self.n_synth, seed)

    def describe(self) -> str:
        return f"{self.synth.describe()} + {self.real.describe()}"


class MixedSampler:
    """Batches made of parts: (sampler over a subset, that subset's row indices). The first part
    sets the epoch's length; the others cycle through their own epochs as far as needed."""

    def __init__(self, parts: list[tuple[SemanticBatchSampler, list[int]]]) -> None:
        if not parts:
            raise ValueError("MixedSampler needs at least one part")
        self.parts = parts
        self.batch_size = sum(s.batch_size for s, _ in parts)
        self._cache: dict[tuple[int, int], list[list[int]]] = {}

    def __len__(self) -> int:
        return len(self.parts[0][0])

    def _sub(self, k: int, epoch: int) -> list[list[int]]:
        key = (k, epoch)
        if key not in self._cache:
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[key] = self.parts[k][0].batches(epoch)
        return self._cache[key]

    def batches(self, epoch: int) -> list[list[int]]:
        n = len(self)
        out: list[list[int]] = [[] for _ in range(n)]
        for k, (sampler, index) in enumerate(self.parts):
            m = len(sampler)
            for b in range(n):
                ep, j = divmod(epoch * n + b if k else b, m)
                out[b].extend(index[i] for i in self._sub(k, ep if k else epoch)[j])
        return out


def mixed_sampler(source: MixSource, groups: Sequence[Hashable], batch_size: int, instances: int, seed: int,
                  slots: dict[str, int], rotate: Sequence[Hashable] = (), per_epoch: int | None = None
                  ) -> MixedSampler:
    """Synthetic rows fill what the real slots leave of each batch; real rows per language get
    ``slots[lang]`` places (a multiple of ``instances`` is best)."""
    real_total = sum(slots.values())
    if real_total >= batch_size:
        raise BenchError(f"real slots ({real_total}) must leave room in the batch ({batch_size})")
    langs = [it.lang for it in source.items]
    synth_idx = list(range(source.n_synth))
    parts = [(SemanticBatchSampler([groups[i] for i in synth_idx], [langs[i] for i in synth_idx],
                                   batch_size - real_total, instances, seed=seed, rotate=rotate,
                                   per_epoch=per_epoch), synth_idx)]
    for k, (lang, n) in enumerate(sorted(slots.items())):
        idx = [i for i in range(source.n_synth, len(source.items)) if langs[i] == lang]
        if not idx or n <= 0:
            raise BenchError(f"real slots name {lang} but the real source has no {lang} rows")
        parts.append((SemanticBatchSampler([groups[i] for i in idx], [lang] * len(idx), n, instances,
                                           seed=seed + 7919 * (k + 1)), idx))
    return MixedSampler(parts)
