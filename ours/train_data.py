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
        extra = reading_words(spec.extra_words, words) if spec.extra_words else None
        synth = SynthSource(words, ids, split or "train", augment=spec.augment, writer_kind=writer_kind,
                            cases=spec.cases, extra=extra, running=spec.running,
                            train_fonts=spec.train_fonts)
        return with_real(synth, spec, words) if spec.real else synth
    if kind == "manifest":
        return ManifestSource(spec.manifest, split, list(words))
    raise BenchError(f"stage {stage}: unknown data source kind {kind!r} (synth, manifest, auto)")


def with_real(synth: Source, spec: SourceConfig, words: dict) -> Source:
    """``synth`` with the real rows of ``spec.real`` mixed in (languages the run trains only)."""
    import os

    from .real_data import MixSource, RealSource
    from .vocab import make_charset

    if not spec.real_slots:
        raise BenchError("source.real needs real_slots: real images per batch for each language, e.g. {\"en\": 24}")
    folder = os.path.expandvars(os.path.expanduser(spec.real))
    if "$" in folder:
        raise BenchError(f"source.real {spec.real!r}: an environment variable in it is not set")
    langs = [lang for lang in spec.real_slots if lang in words]
    real = RealSource(folder, spec.real_split, langs, set(make_charset(words)))
    return MixSource(synth, real)


def reading_words(ref: str, words: dict[str, list[str]]) -> dict[str, list[str]]:
    """Extra training words per language (``ref`` "builtin" or a CSV with lang and word columns):
    languages the run trains only, lexicon words left out, and only words whose every character the
    CTC charset has (a character it cannot spell would silently drop from the target)."""
    import csv
    from pathlib import Path

    from .vocab import make_charset

    if ref == "builtin":
        from bench.data import READING_WORDS as path
    else:
        path = Path(ref)
    if not Path(path).is_file():
        raise BenchError(f"extra_words: no such file {path}")
    charset = set(make_charset(words))
    lexicon = {w.casefold() for ws in words.values() for w in ws}
    out: dict[str, list[str]] = {lang: [] for lang in words}
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh)
        if not rows.fieldnames or not {"lang", "word"} <= set(rows.fieldnames):
            raise BenchError(f"extra_words: {path} needs lang and word columns")
        for r in rows:
            w = r["word"].strip()
            if r["lang"] in out and w and w.casefold() not in lexicon and set(w.casefold()) <= charset:
                out[r["lang"]].append(w)
    return {lang: list(dict.fromkeys(ws)) for lang, ws in out.items() if ws}


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
