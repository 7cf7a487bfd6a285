"""One run's open state: its config, dataset, plan, results store and output cache.

Built the same way by the driver and by every Ray worker (``RunContext.open``), so a unit runs with
the very code and settings wherever it runs. Which jobs are still to do is read from the store here.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import registry
from ..dataset import Dataset
from ..errors import BenchError
from ..registry.adapter import Adapter
from ..results import provenance
from ..results.cache import OutputCache
from ..results.store import RunStore
from . import workers
from .plan import Job, RunConfig, RunPlan, ScoringOptions, Unit, _subsample, load_dataset


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class RunContext:
    """Everything a job needs that is not the adapter itself."""

    cfg: RunConfig
    ds: Dataset
    run_id: str
    store: RunStore
    cache: OutputCache
    plan: RunPlan
    workers: int  # encoding processes per CPU adapter
    scoring: ScoringOptions
    redo: set[str] = field(default_factory=set)  # adapters still to redo (consumed as each is redone)

    @classmethod
    def open(cls, cfg: RunConfig) -> "RunContext":
        provenance.set_threads(cfg.threads)
        ds = _subsample(load_dataset(cfg, cfg.progress), cfg.limit, cfg.seed)
        run_id = cfg.run_id or cfg.default_run_id(ds)
        store = RunStore.open(Path(cfg.results_dir), run_id)
        cache = OutputCache(Path(cfg.cache_dir) if cfg.cache_dir else None, enabled=cfg.use_cache)
        plan = RunPlan.build(cfg, ds)
        if cfg.workers is not None and cfg.workers < 1:
            raise BenchError(f"--workers must be 1 or more (got {cfg.workers})")
        ctx = cls(cfg, ds, run_id, store, cache, plan, cfg.workers or workers.default_workers(),
                  cfg.scoring(), set(cfg.redo))
        if not cfg.strict:
            empty = ds.labels_empty_after_normalization()
            if empty:
                log(f"warning: {len(empty)} label(s) consist only of punctuation, symbols or spaces "
                    f"(e.g. {', '.join(map(repr, empty[:3]))}); normalization strips them to one empty "
                    "candidate; pass --strict to compare raw strings")
        for split, multi, n in ds.mostly_lines():
            if split in plan.splits:
                log(f"warning: split {split!r} is mostly multi-word lines ({multi} of {n} labels hold several "
                    "words): models that read or embed single words score near zero on lines; import at the "
                    "word level (--level word) where the source has words")
        return ctx

    def is_done(self, job: Job) -> bool:
        return self.store.is_done(job.name, job.split, job.key)

    def pending(self, cls: type[Adapter], unit: Unit | None = None) -> list[Job]:
        """The adapter's jobs (of one unit) not finished yet, or all of them while it is to be redone."""
        redo = cls.card.name in self.redo
        return [j for j in self.plan.jobs_for(cls) if (unit is None or unit.covers(j))
                and (redo or not self.is_done(j))]

    def units_for(self, name: str) -> list[Unit]:
        """The units of one adapter that still have unfinished jobs, language units first."""
        units: list[Unit] = []
        for job in self.pending(registry.get(name)):
            unit = self.plan.unit_of(name, job)
            if unit not in units:
                units.append(unit)
        return sorted(units, key=self.plan.unit_order)

    def unit_jobs(self, unit: Unit) -> list[Job]:
        return [j for j in self.plan.jobs_for(registry.get(unit.adapter)) if unit.covers(j)]
