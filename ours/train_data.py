"""A stage's training data: its image source from the config, and the batches of each training step."""
from __future__ import annotations

from typing import Iterator

from .config import SourceConfig
from .data import ManifestSource, Source, SynthSource, sample_seed
from .errors import BenchError
from .sampler import SemanticBatchSampler


def make_source(spec: SourceConfig, words: dict, ids: dict, stage: int) -> Source:
    """The stage's source: ``auto`` is the manifest when given, else pen writers of the train split
    (disjoint from the OOD writers)."""
    kind = spec.kind
    split, writer_kind = spec.split, spec.writer_kind
    if kind == "auto":
        if spec.manifest:
            kind = "manifest"
        else:
            kind, split, writer_kind = "synth", split or "train", writer_kind or "pen"
    if kind == "synth":
        return SynthSource(words, ids, split or "train", augment=spec.augment, writer_kind=writer_kind,
                           cases=spec.cases)
    if kind == "manifest":
        return ManifestSource(spec.manifest, split, list(words))
    raise BenchError(f"stage {stage}: unknown data source kind {kind!r} (synth, manifest, auto)")


class StepBatches:
    """Batch sampler over training steps [start, total): each batch is a list of (item, seed) keys."""

    def __init__(self, sampler: SemanticBatchSampler, start: int, total: int, seed: int, stage: int) -> None:
        self.sampler, self.start, self.total, self.seed, self.stage = sampler, start, total, seed, stage
        self._epoch, self._batches = -1, []

    def __len__(self) -> int:
        return self.total - self.start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        n = len(self.sampler)
        for step in range(self.start, self.total):
            epoch, b = divmod(step, n)
            if epoch != self._epoch:
                self._epoch, self._batches = epoch, self.sampler.batches(epoch)
            yield [(i, sample_seed(self.seed, self.stage, step, pos)) for pos, i in enumerate(self._batches[b])]
