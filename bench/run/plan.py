"""What a run is made of: its settings (``RunConfig``), its jobs and the units a cluster schedules.

Planning reads the dataset and the registry only; it never loads an adapter or touches the
results store. A job is (store name, split, task); a unit is one adapter's jobs for one split and
query language, or the split's geometry step.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import registry
from ..dataset import Dataset
from ..errors import BenchError
from ..registry.adapter import Adapter, AdapterOptions, EmbeddingAdapter, TranscriberAdapter
from ..scoring.metrics import DEFAULT_TIES
from ..scoring.protocols import Task, tasks_for

SCHEMA_VERSION = 1  # of the run identity (changing it changes every run id)
BRIDGE_SUFFIX = "+lexicon"


@dataclass(frozen=True)
class ScoringOptions:
    """The settings that turn adapter outputs into numbers, passed down as one object."""

    strict: bool = False  # compare raw strings instead of normalized ones
    topk: int = 5  # candidates kept per query in the predictions
    ties: str = DEFAULT_TIES  # tie rule for Acc@K and MRR (bench/scoring/metrics.py)


@dataclass
class RunConfig:
    """Everything that decides a run's numbers, plus how to execute it."""

    dataset: str | None = None  # a manifest folder; None = the built-in benchmark
    scale: float = 1.0  # size of the built-in benchmark
    splits: list[str] | None = None  # None: every split except "train"
    adapters: str = "all"
    langs: list[str] | None = None
    cross: bool = True
    strict: bool = False  # compare raw strings instead of normalized ones
    seed: int = 0
    limit: int | None = None  # at most this many queries per (split, language), sampled with seed
    topk: int = 5
    ties: str = DEFAULT_TIES  # tie rule for Acc@K and MRR (bench/scoring/metrics.py): expected, pessimistic, optimistic
    device: str = "cpu"
    dtype: str | None = None
    batch_size: int | None = None
    threads: int = 1
    workers: int | None = None  # processes encoding a CPU adapter's images; None: every core (not identity)
    allow_download: bool = False
    trust_remote_code: bool = False
    model_paths: dict[str, str] = field(default_factory=dict)
    latency_samples: int = 20
    bridge: bool = True  # also rank cross-language tasks of transcribers through the lexicon
    geometry: bool = True  # compute R, D (Table 4) for embedding adapters
    results_dir: str = "results"
    run_id: str | None = None
    use_cache: bool = True
    cache_dir: str | None = None
    progress: bool = True
    executor: str = "local"  # "local" or "ray"
    address: str | None = None  # Ray cluster address; None starts a local cluster
    job_timeout: float | None = None  # seconds per unit on Ray (overrides the card's timeout_s)
    max_retries: int = 1  # Ray retries of a unit that raised, died or timed out
    redo: list[str] = field(default_factory=list)  # adapters whose finished jobs are run again (a retrained model)
    labels: dict[str, Any] = field(default_factory=dict)  # free-form provenance kept in the manifest (e.g. an ablation variant)

    def identity(self, ds: Dataset) -> dict[str, Any]:
        """The fields that make two invocations the same run (adapters and splits may be added)."""
        return {"dataset": ds.name, "fingerprint": ds.fingerprint, "strict": self.strict,
                "seed": self.seed, "limit": self.limit, "topk": self.topk, "ties": self.ties,
                "schema": SCHEMA_VERSION}

    def default_run_id(self, ds: Dataset) -> str:
        h = hashlib.sha256(json.dumps(self.identity(ds), sort_keys=True).encode()).hexdigest()[:8]
        return f"{ds.name}-{h}"

    def scoring(self) -> ScoringOptions:
        return ScoringOptions(strict=self.strict, topk=self.topk, ties=self.ties)

    def adapter_options(self, name: str) -> AdapterOptions:
        """How adapter ``name`` is loaded in this run (device, dtype, weights, threads)."""
        mp = self.model_paths.get(name)
        return AdapterOptions(device=self.device, dtype=self.dtype, batch_size=self.batch_size,
                              model_path=Path(mp) if mp else None, allow_download=self.allow_download,
                              trust_remote_code=self.trust_remote_code, threads=self.threads)


@dataclass(frozen=True)
class Job:
    """One unit of resume: a store name (the adapter, or adapter+lexicon), a split and a task."""

    name: str
    split: str
    task: Task | None  # None for the geometry step
    mode: str = "plain"  # "plain", "lexicon" (bridged cross-language) or "geometry"

    @property
    def key(self) -> str:
        return self.task.key if self.task is not None else "geometry"


@dataclass(frozen=True)
class Unit:
    """The unit a cluster schedules: one adapter's jobs for one split and query language (within,
    cross and lexicon-bridged cross tasks share the encoded query images), or, with ``lang`` None,
    the split's geometry step (it needs every language, so it runs after the language units)."""

    adapter: str
    split: str
    lang: str | None

    def covers(self, job: Job) -> bool:
        if job.split != self.split:
            return False
        if self.lang is None:
            return job.mode == "geometry"
        return job.task is not None and job.task.query_lang == self.lang

    @property
    def claim_key(self) -> str:
        """The name of this unit's claim in the results store."""
        return f"{self.adapter}/{self.split}/{self.lang or 'geometry'}"

    def __str__(self) -> str:
        return f"{self.adapter} {self.split}/{self.lang or 'geometry'}"


def load_dataset(cfg: RunConfig, progress: bool = True) -> Dataset:
    """The user's manifest folder, or the built-in benchmark (built on first use)."""
    if cfg.dataset:
        from ..data.readers import resolve_dataset  # plain paths unchanged; iam:PATH / hwdb:PATH imported once

        return Dataset.load(resolve_dataset(cfg.dataset, progress=progress))
    try:
        from ..data.builtin import ensure_built
    except ImportError as exc:
        raise BenchError(f"the built-in benchmark is not available ({exc}); pass --dataset PATH") from None
    return Dataset.load(ensure_built(scale=cfg.scale, progress=progress))


def _subsample(ds: Dataset, limit: int | None, seed: int) -> Dataset:
    """Limit queries only: galleries are still built from every sample (``Dataset.full``)."""
    return ds.limited(limit, seed)


@dataclass
class RunPlan:
    """The splits, adapters and tasks of a run, and the jobs and units they make."""

    cfg: RunConfig
    ds: Dataset
    splits: list[str]
    adapter_names: list[str]
    tasks: dict[str, list[Task]]

    @classmethod
    def build(cls, cfg: RunConfig, ds: Dataset) -> "RunPlan":
        """Resolve names once (splits are case-insensitive); unknown splits and adapters are one-line errors."""
        if cfg.splits:
            splits = list(dict.fromkeys(s.strip().lower() for s in cfg.splits))
            for s in splits:
                ds.select(s)  # raises a one-line error for unknown splits
        else:
            splits = [s for s in ds.splits if s != "train"] or ds.splits
        names = registry.resolve(cfg.adapters)
        for name in [*cfg.model_paths, *cfg.redo]:
            registry.get(name)
        tasks = {s: tasks_for(ds, s, cfg.langs, cfg.cross) for s in splits}
        return cls(cfg, ds, splits, names, tasks)

    def jobs_for(self, cls: type[Adapter]) -> list[Job]:
        """Every job of one adapter in this run (finished or not)."""
        name = cls.card.name
        is_tr = issubclass(cls, TranscriberAdapter)
        lex = self.ds.lexicon
        jobs: list[Job] = []
        for split in self.splits:
            for t in self.tasks[split]:
                jobs.append(Job(name, split, t))
                if (t.kind == "cross" and is_tr and self.cfg.bridge and lex is not None
                        and {t.query_lang, t.gallery_lang} <= set(lex.languages)):
                    jobs.append(Job(name + BRIDGE_SUFFIX, split, t, "lexicon"))
            if issubclass(cls, EmbeddingAdapter) and self.cfg.geometry and self.cfg.cross:
                jobs.append(Job(name, split, None, "geometry"))
        return jobs

    @staticmethod
    def unit_of(adapter: str, job: Job) -> Unit:
        return Unit(adapter, job.split, None if job.mode == "geometry" else job.task.query_lang)

    def unit_order(self, unit: Unit) -> tuple:
        """Sort key: splits in run order, language units before the split's geometry unit."""
        return self.splits.index(unit.split), unit.lang is None, unit.lang or ""
