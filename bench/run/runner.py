"""Run adapters over a dataset's splits and protocols, writing each job to the results store.

The flow is one-way, one module per step: ``plan`` (settings, jobs, units) -> ``encode`` (adapter
outputs, cached) -> ``evaluate`` (scores, ranks, metrics, records) -> ``store``. A job is
(adapter, split, task). Finished jobs are never recomputed; an adapter that is unavailable or
raises is recorded with its reason and the run goes on.

The Runner opens the run (``bench.run.context``), records the invocation in run.json, hands the
pending units to an executor (``bench.run.executors``: "local" runs every adapter here, "ray" sends
units to a Ray cluster; both run ``bench.run.adapter_run``) and summarizes what happened from the
stored records (``bench.run.summary``).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import asdict

from .. import registry
from ..errors import BenchError, ResultsNotWritable
from ..registry.adapter import Adapter
from ..registry.availability import recorded_env
from ..results import provenance
from ..scoring.metrics import LEGACY_TIES
from . import summary
from .adapter_run import AdapterRun
from .context import RunContext, log
from .executors.base import pick
from .plan import (BRIDGE_SUFFIX, SCHEMA_VERSION, Job, RunConfig, ScoringOptions, Unit, _subsample,  # noqa: F401
                   load_dataset)
from .recorder import fail_unit

__all__ = ["BRIDGE_SUFFIX", "SCHEMA_VERSION", "Job", "RunConfig", "Runner", "ScoringOptions", "Unit",
           "load_dataset", "log"]


class Runner:
    """Executes one run: resolves jobs, skips finished ones, records everything."""

    def __init__(self, cfg: RunConfig, argv: list[str] | None = None) -> None:
        self.cfg = cfg
        self.argv = argv or []
        self.ctx = RunContext.open(cfg)
        self.ds, self.run_id, self.store = self.ctx.ds, self.ctx.run_id, self.ctx.store
        self.splits, self.adapter_names = self.ctx.plan.splits, self.ctx.plan.adapter_names
        self.workers = self.ctx.workers
        self.failed_jobs: list = []
        self.summary: summary.RunSummary | None = None

    def run(self, print_summary: bool = True) -> str:
        """Run every pending job; the summary of what happened is kept in ``self.summary`` and
        logged unless ``print_summary`` is False (``bench run`` prints it after its tables)."""
        invocation = {"id": uuid.uuid4().hex[:12], "pid": os.getpid(),
                      "argv": self.argv, "start": provenance.now(), "adapters": self.adapter_names,
                      "splits": self.splits, "versions": provenance.package_versions(),
                      "git": provenance.git_revision(), "hardware": provenance.hardware(),
                      "threads": self.cfg.threads, "workers": self.workers, "device": self.cfg.device,
                      "seed": self.cfg.seed, "env": recorded_env()}
        executor = pick(self.cfg.executor)
        executor.check()
        invocation.update(executor.invocation_fields())
        self._open_manifest(invocation)
        scope = self._scope()
        reused = summary.snapshot(self.store, scope, self.cfg.redo)
        status = "interrupted"
        try:
            executor.run(self.ctx)
            status = "finished"
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM turned into one by the CLI
            status = getattr(exc, "status", status)
            raise
        except BaseException:
            status = "crashed"
            raise
        finally:  # the end time is recorded however the invocation ends, short of kill -9
            try:
                self.store.update_invocation(invocation["id"], {"end": provenance.now(), "status": status})
            except (OSError, ResultsNotWritable) as exc:
                log(f"could not record the end of this invocation in run.json: {exc}")
        self.summary = summary.collect(self.store, scope, reused)
        self.failed_jobs = self.summary.failed
        if print_summary:
            log(self.summary.text())
        return self.run_id

    def _scope(self) -> list[summary.AdapterScope]:
        return [summary.AdapterScope(name, registry.get(name).card, self.jobs_for(registry.get(name)))
                for name in self.adapter_names]

    def _open_manifest(self, invocation: dict) -> dict:
        """Record this invocation in run.json (under the run's lock: concurrent runs keep theirs)."""
        ident = self.cfg.identity(self.ds)
        # a declared fingerprint is a promise about the images; the content they have now checks it
        content = self.ds.content_fingerprint if self.ds.meta.get("fingerprint") else None

        def new() -> dict:
            man = {"run_id": self.run_id, "identity": ident, "dataset_path": str(self.ds.root),
                   "config": {k: v for k, v in asdict(self.cfg).items() if k not in ("progress",)},
                   "created": provenance.now(), "invocations": []}
            return {**man, "content_fingerprint": content} if content else man

        def check(manifest: dict) -> None:
            if {"ties": LEGACY_TIES, **manifest.get("identity", {})} != ident:  # older runs: pessimistic
                raise BenchError(f"run {self.run_id} exists with another dataset or settings; "
                                 "choose another --run-id")
            stored = manifest.setdefault("content_fingerprint", content) if content else None
            if stored != content:
                raise BenchError(f"dataset {self.ds.name}: its manifest, lexicon or images changed since run "
                                 f"{self.run_id} was stored (content {stored} -> {content}), yet dataset.json "
                                 f"declares the same fingerprint {self.ds.fingerprint!r}; change or remove the "
                                 "declared fingerprint, or pass --run-id for a new run")

        return self.store.add_invocation(invocation, new, check)

    # the public API executors and tools use ------------------------------------------------------
    def jobs_for(self, cls: type[Adapter]) -> list[Job]:
        """Every job of one adapter in this run (finished or not)."""
        return self.ctx.plan.jobs_for(cls)

    def units_for(self, name: str) -> list[Unit]:
        """The units of one adapter that still have unfinished jobs, language units first."""
        return self.ctx.units_for(name)

    def unit_jobs(self, unit: Unit) -> list[Job]:
        return self.ctx.unit_jobs(unit)

    def run_unit(self, unit: Unit, latency: bool = False) -> str | None:
        """Run one unit with the local executor's code; the failure reason, or None."""
        return AdapterRun(self.ctx, unit.adapter, unit, latency).run()

    def fail_unit(self, unit: Unit, reason: str, attempts: int | None = None) -> None:
        """Record ``reason`` on every unfinished job of a unit that died or ran out of time."""
        fail_unit(self.ctx, unit, reason, attempts)
