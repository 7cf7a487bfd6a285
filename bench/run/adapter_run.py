"""One adapter's pending jobs (all of them, or one unit's) in this process: the local executor's
code, which the Ray executor runs too, one unit per task.

The adapter's lifetime lives here: availability, per-language availability, loading (with the
latency probe), worker processes, and closing. Outputs come from ``bench.run.encode``, records from
``bench.run.evaluate``; a unit that raises fails its own jobs only (a language the adapter cannot
read does not stop its other languages), and an adapter that raises never stops the run.
"""
from __future__ import annotations

import traceback
from contextlib import closing

from .. import registry
from ..errors import BenchError, ResultsNotWritable
from ..registry.adapter import Adapter, EmbeddingAdapter
from ..registry.availability import explain_load_error
from ..results import provenance
from ..results.records import AdapterRecord
from ..scoring.protocols import build_task
from . import workers
from .claims import claimed_elsewhere, claimed_units
from .context import RunContext, log
from .encode import split_outputs, text_outputs
from .evaluate import TooFewConcepts, geometry_record, retrieval_record
from .latency import measure_latency, sample_images
from .plan import Job, Unit
from .recorder import write_adapter, write_status


def describe(exc: BaseException) -> tuple[str, str]:
    """(one-line reason, traceback) of an adapter's exception; user errors carry no traceback."""
    if isinstance(exc, BenchError):
        return str(exc), ""
    return explain_load_error(f"{type(exc).__name__}: {exc}"), traceback.format_exc()


class AdapterRun:
    """Loads one adapter and runs its pending jobs, recording every outcome."""

    def __init__(self, ctx: RunContext, name: str, unit: Unit | None = None, latency: bool | None = None) -> None:
        self.ctx, self.name, self.unit, self.latency = ctx, name, unit, latency
        self.cls = registry.get(name)
        self.options = ctx.cfg.adapter_options(name)
        self.label = name if unit is None else str(unit)
        self.pool: workers.WorkerPool | None = None
        self.unavailable_langs: set[str] = set()  # kept out of the latency probe too

    def run(self) -> str | None:
        """The failure reason, or None when it ran or is unavailable. ``latency`` None: measure
        unless recorded (or redone)."""
        ctx, name, cls = self.ctx, self.name, self.cls
        pending = ctx.pending(cls, self.unit)
        if not pending:
            log(f"{self.label}: all jobs already done, skipped")
            return None
        status = cls.availability(self.options)
        record = ctx.store.read_adapter_record(name) or AdapterRecord(adapter=name)
        record.adapter, record.card = name, cls.card.as_dict()
        if not status.ok:
            log(f"{name}: unavailable: {status.reason}")
            record.status, record.reason = "unavailable", status.reason
            write_adapter(ctx, record, cls)
            for job in pending:
                write_status(ctx, job, "unavailable", status.reason)
            return None
        pending = self._language_gate(pending, record)
        if not pending:  # every language it was asked for is unavailable here
            record.status = "unavailable"
            record.reason = "; ".join(f"{lang}: {why}" for lang, why in record.languages.items() if why != "available")
            write_adapter(ctx, record, cls)
            return None
        adapter = cls(self.options)
        try:
            return self._run_units(adapter, pending, record)
        except (KeyboardInterrupt, SystemExit, ResultsNotWritable):
            raise
        except Exception as exc:  # noqa: BLE001 - an adapter that raises must not stop the run
            return self._fail(record, pending, *describe(exc))
        finally:
            if self.pool is not None:  # (an encoding failure or interrupt has already stopped it)
                self.pool.close()
                self.pool = None
            adapter.close()

    def _run_units(self, adapter: Adapter, pending: list[Job], record: AdapterRecord) -> str | None:
        ctx, name = self.ctx, self.name
        errors: list[tuple[str, str]] = []
        ran = 0
        with closing(claimed_units(ctx, name, pending)) as units:
            for jobs in units:
                if not getattr(adapter, "_loaded", False):
                    self._load(adapter, record)
                    self.pool = self._start_pool()  # after latency: measured alone
                try:
                    self._run_jobs(adapter, jobs, record)
                    ran += 1
                except (KeyboardInterrupt, SystemExit, ResultsNotWritable):
                    raise
                except Exception as exc:  # noqa: BLE001 - fails this unit's jobs, not the adapter's others
                    error, tb = describe(exc)
                    log(f"{name} {ctx.plan.unit_of(name, jobs[0])}: failed: {error.splitlines()[0] if error else ''}")
                    errors.append((error, tb))
                    for job in jobs:
                        if not ctx.is_done(job):
                            write_status(ctx, job, "failed", error)
        if errors and not ran:  # nothing ran: the adapter failed as a whole
            return self._fail(record, [], *errors[0])
        if errors:
            record.failed_units = len(errors)
            write_adapter(ctx, record)
        if self.unit is None:
            ctx.redo.discard(name)
        notes = adapter.run_notes() if getattr(adapter, "_loaded", False) else {}
        if notes:
            record.run_notes = notes
            write_adapter(ctx, record)
        return errors[0][0] if errors else None

    def _load(self, adapter: Adapter, record: AdapterRecord) -> None:
        ctx, name = self.ctx, self.name
        log(f"{name}: loading")
        adapter.ensure_loaded()
        record.params, record.params_counted = adapter.num_parameters(), True
        if self.latency or (self.latency is None and (record.latency_ms is None or name in ctx.redo)):
            images = sample_images(ctx.ds, ctx.plan.splits[0], ctx.cfg.latency_samples, self.unavailable_langs)
            latency = measure_latency(adapter, images)
            if latency:
                latency.update({"latency_threads": ctx.cfg.threads, "latency_device": adapter.compute_device()})
            record.set_latency(latency)
        record.status, record.reason = "loaded", ""
        write_adapter(ctx, record, self.cls)

    # languages and workers --------------------------------------------------------------------
    def _job_langs(self, job: Job) -> set[str]:
        """The languages the adapter itself must handle for ``job``: the query images' language,
        the gallery's too when the adapter encodes gallery texts, every language for geometry."""
        if job.mode == "geometry":
            return set(self.ctx.ds.languages(job.split))
        langs = {job.task.query_lang}
        if issubclass(self.cls, EmbeddingAdapter) and job.mode == "plain":
            langs.add(job.task.gallery_lang)
        return langs

    def _language_gate(self, pending: list[Job], record: AdapterRecord) -> list[Job]:
        """Record jobs needing a language the adapter reports unavailable; return the others."""
        langs = sorted({lang for job in pending for lang in self._job_langs(job)})
        states = {lang: self.cls.language_availability(lang, self.options) for lang in langs}
        missing = {lang: st.reason for lang, st in states.items() if not st.ok}
        self.unavailable_langs = set(missing)
        if not missing:
            return pending
        record.languages = {**(record.languages or {}), **{lang: str(st) for lang, st in states.items()}}
        write_adapter(self.ctx, record)
        keep = []
        for job in pending:
            gone = sorted(self._job_langs(job) & missing.keys())
            if gone:
                write_status(self.ctx, job, "unavailable", f"language {gone[0]} unavailable: {missing[gone[0]]}")
            else:
                keep.append(job)
        for lang, why in missing.items():
            log(f"{self.name}: language {lang} unavailable: {why}")
        return keep

    def _start_pool(self) -> "workers.WorkerPool | None":
        """Worker processes for this adapter's images (started only when there is enough to encode),
        or None for in-process."""
        ctx = self.ctx
        n, why = workers.workers_for(self.cls.card, ctx.workers, ctx.cfg.device, ctx.cfg.executor)
        if n <= 1:
            if ctx.workers > 1 and why:
                log(f"{self.label}: encoding in the main process ({why})")
            return None
        return workers.WorkerPool(self.cls, self.options, ctx.ds, n, self.label, why)  # logs when it starts

    def _fail(self, record: AdapterRecord, pending: list[Job], error: str, tb: str = "") -> str:
        log(f"{self.name}: failed: {error.splitlines()[0] if error else ''}")
        record.status, record.reason, record.traceback = "failed", error, tb
        write_adapter(self.ctx, record, self.cls)
        for job in pending:  # jobs a concurrent run is computing are left to it
            if not self.ctx.is_done(job) and not claimed_elsewhere(self.ctx, self.name, job):
                write_status(self.ctx, job, "failed", error)
        return error

    # jobs ---------------------------------------------------------------------------------------
    def _run_jobs(self, adapter: Adapter, pending: list[Job], record: AdapterRecord) -> None:
        ctx = self.ctx
        by_split: dict[str, list[Job]] = {}
        for job in pending:
            by_split.setdefault(job.split, []).append(job)
        for split, jobs in by_split.items():
            langs = {j.task.query_lang for j in jobs if j.task is not None}
            if any(j.mode == "geometry" for j in jobs):
                langs |= set(ctx.ds.languages(split))
            outs = split_outputs(adapter, ctx.ds, ctx.cache, self.pool, split, sorted(langs), ctx.cfg.progress)
            if outs.throughput:
                record.throughput = {**(record.throughput or {}), **outs.throughput}
            write_adapter(ctx, record)

            def encode_texts(words: list[str], lang: str):
                return text_outputs(adapter, ctx.cache, words, lang)

            for job in jobs:
                if job.mode == "geometry":
                    self._geometry(adapter, job, outs.outputs, encode_texts, outs.total_counts())
                    continue
                try:
                    td = build_task(ctx.ds, split, job.task, strict=ctx.scoring.strict)
                    rec, preds = retrieval_record(adapter, job, td, outs.outputs, outs.errors, ctx.scoring,
                                                  ctx.ds.lexicon, encode_texts, outs.counts[job.task.query_lang])
                except BenchError as exc:
                    write_status(ctx, job, "skipped", str(exc))
                    continue
                rec.finished = provenance.now()
                ctx.store.write_job_record(rec, preds)
                m = rec.metrics
                log(f"{job.name} {split} {job.key}: Acc@1 {m['acc@1']:.4f} MRR {m['mrr']:.4f} (n={m['n']})")

    def _geometry(self, adapter: EmbeddingAdapter, job: Job, outputs: dict, encode_texts, counts: dict) -> None:
        ctx = self.ctx
        try:
            rec, sample = geometry_record(adapter, job, ctx.ds, outputs, encode_texts, ctx.cfg.seed, counts)
        except TooFewConcepts as exc:
            write_status(ctx, job, "skipped", str(exc))
            return
        rec.finished = provenance.now()
        ctx.store.write_embedding_sample(job.name, job.split, sample)
        ctx.store.write_job_record(rec)
        g = rec.geometry
        log(f"{job.name} {job.split} geometry: R {g['R']:.4f} D {g['D']:.4f} R/D {g['R/D']:.4f}")
