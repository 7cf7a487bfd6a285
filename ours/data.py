"""Training data sources: rendered lexicon words (synthetic writers) or a manifest folder of real images.

A source is a list of ``Item``s plus ``load(i, seed) -> PIL image``. Rendering is a pure function of
(item, seed), so a run is reproducible and resumable from the step number alone, and DataLoader
workers can render in parallel.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np
import torch
from PIL import Image

from .errors import BenchError
from .preprocess import HEIGHT, WIDTH, to_array


@dataclass(frozen=True)
class Item:
    text: str
    lang: str
    semantic_id: int

    @property
    def group(self) -> Hashable:
        """Sampler/loss group: the concept, or the text itself outside the lexicon."""
        return self.semantic_id if self.semantic_id >= 0 else ("text", self.lang, self.text)


class Source(ABC):
    """Base: items plus a deterministic loader."""

    items: list[Item]

    @abstractmethod
    def load(self, i: int, seed: int) -> Image.Image:
        """Image of item ``i``, rendered or read deterministically from ``seed``."""

    def describe(self) -> str:
        return type(self).__name__


class FnSource(Source):
    """Items rendered by a plain function ``render(text, lang, seed)`` (tests, custom data)."""

    def __init__(self, items: Sequence[Item], render: Callable[[str, str, int], Image.Image]) -> None:
        self.items = list(items)
        self.render = render

    def load(self, i: int, seed: int) -> Image.Image:
        it = self.items[i]
        return self.render(it.text, it.lang, seed)


class SynthSource(Source):
    """Lexicon words rendered on the fly by the built-in synthesizer with one split's writers, plus
    ``extra`` words outside the lexicon (semantic id -1: each its own group)."""

    def __init__(self, words: dict[str, list[str]], ids: dict[str, list[int]], split: str,
                 augment: bool = True, writer_kind: str | None = None, cases: bool = True,
                 extra: dict[str, list[str]] | None = None, running: float = 0.0,
                 train_fonts: float = 0.0) -> None:
        from bench.data import builtin

        if not 0.0 <= running <= 1.0 or not 0.0 <= train_fonts <= 1.0:
            raise BenchError(f"running and train_fonts are shares between 0 and 1, not {running} and {train_fonts}")
        self.split = split
        self.running = running
        self.train_fonts = train_fonts
        self.augment = augment
        self.cases = cases
        self.writer_kind = writer_kind
        self.items = [Item(w, lang, sid) for lang in words for w, sid in zip(words[lang], ids[lang])]
        self.n_extra = sum(len(v) for lang, v in (extra or {}).items() if lang in words)
        self.items += [Item(w, lang, -1) for lang, ws in (extra or {}).items() if lang in words for w in ws]
        self.writers = {lang: [w for w in builtin.split_writers(split, lang)
                               if writer_kind is None or w.kind == writer_kind] for lang in words}
        # Per item, the writers whose glyph set covers the word (fonts/stroke data are subset).
        try:
            from bench.data.synth.render import can_draw
        except ImportError:  # an older synthesizer: every writer is assumed able
            def can_draw(text, writer):  # noqa: ARG001
                return True
        self.capable = [tuple(k for k, w in enumerate(self.writers[it.lang]) if can_draw(it.text, w))
                        for it in self.items]
        # Each glyph source (a font, a stroke set) weighs the same whatever number of pen writers
        # draw from it: otherwise the many pen writers of one stroke set crowd out the fonts.
        self.weights = {lang: _source_weights(ws) for lang, ws in self.writers.items()}
        self.undrawable = [it for it, c in zip(self.items, self.capable) if not c]
        keep = [j for j, c in enumerate(self.capable) if c]
        self.items = [self.items[j] for j in keep]
        self.capable = [self.capable[j] for j in keep]
        # Training-only fonts (in no split): per item, those that draw the word; used at ``train_fonts``.
        self.extra_writers: list = []
        self.extra_capable: list[tuple[int, ...]] = [()] * len(self.items)
        if train_fonts > 0:
            from bench.data.synth.writers import train_only_writers

            if split != "train":
                raise BenchError(f"train_fonts mixes training-only writers into the train split, not {split!r}")
            self.extra_writers = [w for w in train_only_writers() if writer_kind is None or w.kind == writer_kind]
            if not self.extra_writers:
                raise BenchError("train_fonts > 0 but there are no training-only "
                                 f"{writer_kind or 'font'} writers (bench/data/train_assets; "
                                 "python -m bench.data.build.train_fonts)")
            self.extra_capable = [tuple(k for k, w in enumerate(self.extra_writers)
                                        if it.lang in w.langs and can_draw(it.text, w)) for it in self.items]
        empty = [lang for lang, ws in self.writers.items() if not ws]
        if empty:
            kind = f" {writer_kind}" if writer_kind else ""
            raise BenchError(f"the synthesizer has no {split!r}{kind} writers for {', '.join(empty)}")

    def load(self, i: int, seed: int) -> Image.Image:
        from bench.data.synth import render_word

        it = self.items[i]
        capable = self.capable[i]
        rng = random.Random(seed)
        wts = self.weights[it.lang]
        writer = self.writers[it.lang][rng.choices(capable, weights=[wts[k] for k in capable])[0]]
        extra = self.extra_capable[i]
        if self.train_fonts > 0 and extra and rng.random() < self.train_fonts:  # no draw at 0: batches unchanged
            writer = self.extra_writers[extra[rng.randrange(len(extra))]]
        if self.running > 0 and writer.kind == "pen" and it.lang == "zh" and rng.random() < self.running:
            from bench.data.synth.writers import with_params

            writer = with_params(writer, run=round(rng.uniform(0.3, 1.0), 3),
                                 speed=max(writer.speed, round(rng.uniform(0.3, 0.8), 3)))
        text = it.text
        if self.augment and self.cases:  # Capitalized and CAPITAL renderings of the same word
            from bench.data.synth import cased_for

            text = cased_for(it.text, writer, rng.random())
        return render_word(text, it.lang, writer, seed, augment=self.augment)

    def describe(self) -> str:
        n = sum(len(v) for v in self.writers.values())
        kind = f" {self.writer_kind}" if self.writer_kind else ""
        skipped = f", {len(self.undrawable)} undrawable words skipped" if self.undrawable else ""
        extra = f", {self.n_extra} of them outside the lexicon" if self.n_extra else ""
        extra += f", {self.running:.0%} of Chinese pen renderings in running script" if self.running else ""
        if self.train_fonts:
            extra += (f", {self.train_fonts:.0%} of the Chinese words they draw by {len(self.extra_writers)} "
                      "training-only fonts")
        return (f"synthetic split {self.split!r}{kind} writers ({n} writer-languages, {len(self.items)} "
                f"words{extra}{skipped})")


def _source_weights(writers: list) -> list[float]:
    """Sampling weight per writer: 1 / (writers sharing its glyph source and kind)."""
    from collections import Counter

    from bench.data.builtin import glyph_source

    keys = [(glyph_source(w), w.kind) for w in writers]
    count = Counter(keys)
    return [1.0 / count[k] for k in keys]


def held_out_splits(folder: Path) -> set[str]:
    """Splits a dataset folder's imports recorded as writer holdouts (``--holdout``): never training data."""
    from bench.dataset.manifest import read_meta

    sources = read_meta(folder).get("sources", [])
    return {s["holdout"]["split"] for s in sources if isinstance(s, dict) and isinstance(s.get("holdout"), dict)}


class ManifestSource(Source):
    """Real images from a dataset folder (manifest.csv/.parquet, see docs/CONTRACTS.md)."""

    def __init__(self, folder: str | Path, split: str | None = None, langs: Sequence[str] | None = None) -> None:
        import pandas as pd

        self.folder = Path(folder)
        csv, pq = self.folder / "manifest.csv", self.folder / "manifest.parquet"
        if csv.is_file():
            df = pd.read_csv(csv, dtype={"text": str, "lang": str, "split": str}, keep_default_na=False)
        elif pq.is_file():
            df = pd.read_parquet(pq)
        else:
            raise BenchError(f"no manifest.csv or manifest.parquet in {self.folder}")
        held = held_out_splits(self.folder)
        if split in held:
            raise BenchError(f"{self.folder}: split {split!r} is held out for evaluation (its writers must stay "
                             "unseen); train on another split")
        if split:
            df = df[df["split"] == split]
        else:  # every split but the held-out ones
            df = df[~df["split"].isin(held)]
        if langs:
            df = df[df["lang"].isin(list(langs))]
        if df.empty:
            raise BenchError(f"{self.folder}: no rows for split {split!r}")
        self.paths = [self.folder / p for p in df["path"]]
        self.items = [Item(t, lang, int(s)) for t, lang, s in zip(df["text"], df["lang"], df["semantic_id"])]
        self.split = split

    def load(self, i: int, seed: int) -> Image.Image:
        with Image.open(self.paths[i]) as im:
            return im.convert("L")

    def describe(self) -> str:
        return f"manifest {self.folder} split {self.split!r} ({len(self.items)} images)"


class RenderDataset(torch.utils.data.Dataset):
    """Index = (item index, seed) -> (image array, item index); used with a batch sampler of tuples."""

    def __init__(self, source: Source, height: int = HEIGHT, width: int = WIDTH) -> None:
        self.source = source
        self.height, self.width = height, width

    def __len__(self) -> int:
        return len(self.source.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[np.ndarray, int]:
        i, seed = key
        return to_array(self.source.load(i, seed), self.height, self.width), i


def collate(batch: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.stack([b[0] for b in batch])[:, None])
    return x, torch.tensor([b[1] for b in batch], dtype=torch.long)


def sample_seed(base: int, stage: int, step: int, pos: int) -> int:
    """Per-sample rendering seed: a pure function of where it sits in the run."""
    return (base * 1_000_003 + stage * 1_000_000_007 + step * 8191 + pos) % (2 ** 31 - 1)
