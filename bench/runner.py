"""Run adapters over a dataset's splits and protocols, writing each job to the results store.

The flow is one-way: dataset -> adapter outputs (cached) -> scores -> ranks -> metrics -> store.
A job is (adapter, split, task). Finished jobs are never recomputed; an adapter that is
unavailable or raises is recorded with its reason and the run goes on.

Executors: "local" runs every adapter here, one after another. "ray" (bench/executor_ray.py) sends
units of work (``Unit``: adapter x split x query language, then the split's geometry step) to a Ray
cluster; each Ray task builds a Runner from the same RunConfig and calls ``run_unit``, which runs
the very code the local executor runs, restricted to that unit's jobs.
"""
from __future__ import annotations


import hashlib
import json
import os
import statistics
import sys
import time
import traceback
import uuid
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from . import provenance, registry, summary, workers
from .adapter import Adapter, AdapterOptions, EmbeddingAdapter, TranscriberAdapter
from .availability import explain_load_error, recorded_env
from .cache import OutputCache
from .dataset import Dataset, ImageLoadError, decoder_fingerprint
from .errors import BenchError, ResultsNotWritable
from .metrics import DEFAULT_TIES, LEGACY_TIES, summarize
from .protocols import Task, TaskData, build_task, tasks_for
from .scoring import nes_matrix, rank_targets
from .store import RunStore
from .textnorm import normalize_all
from .progress import progress_bar

SCHEMA_VERSION = 1


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
    ties: str = DEFAULT_TIES  # tie rule for Acc@K and MRR (bench/metrics.py): expected, pessimistic, optimistic
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


BRIDGE_SUFFIX = "+lexicon"


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

    def __str__(self) -> str:
        return f"{self.adapter} {self.split}/{self.lang or 'geometry'}"


def load_dataset(cfg: RunConfig, progress: bool = True) -> Dataset:
    """The user's manifest folder, or the built-in benchmark (built on first use)."""
    if cfg.dataset:
        from .data.readers import resolve_dataset  # plain paths unchanged; iam:PATH / hwdb:PATH imported once

        return Dataset.load(resolve_dataset(cfg.dataset, progress=progress))
    try:
        from .data.builtin import ensure_built
    except ImportError as exc:
        raise BenchError(f"the built-in benchmark is not available ({exc}); pass --dataset PATH") from None
    return Dataset.load(ensure_built(scale=cfg.scale, progress=progress))


def _subsample(ds: Dataset, limit: int | None, seed: int) -> Dataset:
    """Limit queries only: galleries are still built from every sample (``Dataset.full``)."""
    return ds.limited(limit, seed)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Runner:
    """Executes one run: resolves jobs, skips finished ones, records everything."""

    def __init__(self, cfg: RunConfig, argv: list[str] | None = None) -> None:
        self.cfg = cfg
        self.argv = argv or []
        provenance.set_threads(cfg.threads)
        self.ds = _subsample(load_dataset(cfg, cfg.progress), cfg.limit, cfg.seed)
        self.run_id = cfg.run_id or cfg.default_run_id(self.ds)
        self.store = RunStore.open(Path(cfg.results_dir), self.run_id)
        self.cache = OutputCache(Path(cfg.cache_dir) if cfg.cache_dir else None, enabled=cfg.use_cache)
        self.splits = self._resolve_splits()
        self.adapter_names = registry.resolve(cfg.adapters)
        for name in [*cfg.model_paths, *cfg.redo]:
            registry.get(name)
        self._redo = set(cfg.redo)  # consumed as each adapter's jobs are redone
        self.tasks = {s: tasks_for(self.ds, s, cfg.langs, cfg.cross) for s in self.splits}
        if cfg.workers is not None and cfg.workers < 1:
            raise BenchError(f"--workers must be 1 or more (got {cfg.workers})")
        self.workers = cfg.workers or workers.default_workers()
        self._pool: workers.WorkerPool | None = None
        self.failed_jobs: list[dict] = []
        self._unavailable_langs: set[str] = set()  # of the adapter being run
        if not cfg.strict:
            empty = self.ds.labels_empty_after_normalization()
            if empty:
                log(f"warning: {len(empty)} label(s) consist only of punctuation, symbols or spaces "
                    f"(e.g. {', '.join(map(repr, empty[:3]))}); normalization strips them to one empty "
                    "candidate; pass --strict to compare raw strings")

    def _resolve_splits(self) -> list[str]:
        if self.cfg.splits:
            splits = list(dict.fromkeys(s.strip().lower() for s in self.cfg.splits))  # names are case-insensitive
            for s in splits:
                self.ds.select(s)  # raises a one-line error for unknown splits
            return splits
        splits = [s for s in self.ds.splits if s != "train"] or self.ds.splits
        return splits

    # ------------------------------------------------------------------------------------------
    def run(self, print_summary: bool = True) -> str:
        """Run every pending job; the summary of what happened is kept in ``self.summary`` and
        logged unless ``print_summary`` is False (``bench run`` prints it after its tables)."""
        invocation = {"id": uuid.uuid4().hex[:12], "pid": os.getpid(),
                      "argv": self.argv, "start": provenance.now(), "adapters": self.adapter_names,
                      "splits": self.splits, "versions": provenance.package_versions(),
                      "git": provenance.git_revision(), "hardware": provenance.hardware(),
                      "threads": self.cfg.threads, "workers": self.workers, "device": self.cfg.device,
                      "seed": self.cfg.seed, "env": recorded_env()}
        if self.cfg.executor not in ("local", "ray"):
            raise BenchError(f"unknown executor {self.cfg.executor!r} (use local or ray)")
        if self.cfg.executor == "ray":
            from .executor_ray import require_ray, run_on_ray

            require_ray()
            invocation["executor"] = "ray"
        self._open_manifest(invocation)
        reused = summary.snapshot(self)
        status = "interrupted"
        try:
            if self.cfg.executor == "ray":
                run_on_ray(self)
            else:
                for name in self.adapter_names:
                    self._run_adapter(name)
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
        self.summary = summary.collect(self, reused)
        self.failed_jobs = self.summary.failed
        if print_summary:
            log(self.summary.text())
        return self.run_id

    def report_failures(self) -> list[dict]:
        """Log every failed job of this run's adapters and splits with its cause; a rerun redoes them."""
        failed = []
        for name in self.adapter_names:
            for job in self.jobs_for(registry.get(name)):
                rec = self.store.read_job(job.name, job.split, job.key)
                if rec is not None and rec.get("status") == "failed":
                    failed.append(rec)
        if failed:
            log(f"run {self.run_id}: {len(failed)} job(s) failed; rerun the same command to retry only those:")
            for rec in failed:
                reason = (rec.get("reason") or "?").splitlines()[0]
                log(f"  {rec['adapter']} {rec['split']} {rec['task']}: {reason} "
                    f"(attempts: {rec.get('attempts', 1)})")
        return failed

    # units (the Ray executor's granularity) ------------------------------------------------------
    def units_for(self, name: str) -> list[Unit]:
        """The units of one adapter that still have unfinished jobs, language units first."""
        units: list[Unit] = []
        for job in self._pending(registry.get(name)):
            unit = Unit(name, job.split, None if job.mode == "geometry" else job.task.query_lang)
            if unit not in units:
                units.append(unit)
        return sorted(units, key=lambda u: (self.splits.index(u.split), u.lang is None, u.lang or ""))

    def unit_jobs(self, unit: Unit) -> list[Job]:
        return [j for j in self.jobs_for(registry.get(unit.adapter)) if unit.covers(j)]

    def run_unit(self, unit: Unit, latency: bool = False) -> str | None:
        """Run one unit with the local executor's code; the failure reason, or None."""
        return self._run_adapter(unit.adapter, unit, latency)

    def fail_unit(self, unit: Unit, reason: str, attempts: int | None = None) -> None:
        """Record ``reason`` on every unfinished job of a unit that died or ran out of time."""
        for job in self.unit_jobs(unit):
            if not self.store.is_done(job.name, job.split, job.key):
                self._write_status(job, "failed", reason, attempts)

    def _open_manifest(self, invocation: dict) -> dict:
        """Record this invocation in run.json (under the run's lock: concurrent runs keep theirs)."""
        ident = self.cfg.identity(self.ds)

        def new() -> dict:
            return {"run_id": self.run_id, "identity": ident, "dataset_path": str(self.ds.root),
                    "config": {k: v for k, v in asdict(self.cfg).items() if k not in ("progress",)},
                    "created": provenance.now(), "invocations": []}

        def check(manifest: dict) -> None:
            if {"ties": LEGACY_TIES, **manifest.get("identity", {})} != ident:  # older runs: pessimistic
                raise BenchError(f"run {self.run_id} exists with another dataset or settings; "
                                 "choose another --run-id")

        return self.store.add_invocation(invocation, new, check)

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

    def _pending(self, cls: type[Adapter], unit: Unit | None = None) -> list[Job]:
        redo = cls.card.name in self._redo
        return [j for j in self.jobs_for(cls) if (unit is None or unit.covers(j))
                and (redo or not self.store.is_done(j.name, j.split, j.key))]

    def _options(self, name: str) -> AdapterOptions:
        mp = self.cfg.model_paths.get(name)
        return AdapterOptions(device=self.cfg.device, dtype=self.cfg.dtype, batch_size=self.cfg.batch_size,
                              model_path=Path(mp) if mp else None, allow_download=self.cfg.allow_download,
                              trust_remote_code=self.cfg.trust_remote_code, threads=self.cfg.threads)

    def _run_adapter(self, name: str, unit: Unit | None = None, latency: bool | None = None) -> str | None:
        """Load one adapter and run its pending jobs (all, or one unit's); returns the failure
        reason (None when it ran or is unavailable). ``latency`` None: measure unless recorded.

        Jobs run one unit (split x query language, then geometry) at a time, each under the unit's
        claim, so two runs sharing the folder never compute the same job. A unit that raises fails
        its own jobs only (a language the adapter cannot read does not stop its other languages);
        languages the adapter reports unavailable (``language_availability``) are recorded as such."""
        cls = registry.get(name)
        pending = self._pending(cls, unit)
        label = name if unit is None else str(unit)
        if not pending:
            log(f"{label}: all jobs already done, skipped")
            return None
        options = self._options(name)
        status = cls.availability(options)
        record = self.store.read_adapter(name) or {}
        record.update({"adapter": name, "card": cls.card.as_dict()})
        if not status.ok:
            log(f"{name}: unavailable: {status.reason}")
            record.update({"status": "unavailable", "reason": status.reason})
            self.store.update_adapter(name, record)
            self._write_variant_records(cls, record)
            for job in pending:
                self._write_status(job, "unavailable", status.reason)
            return None
        pending = self._language_gate(cls, options, pending, record)
        if not pending:  # every language it was asked for is unavailable here
            record.update({"status": "unavailable", "reason": "; ".join(
                f"{lang}: {why}" for lang, why in record["languages"].items() if why != "available")})
            self.store.update_adapter(name, record)
            self._write_variant_records(cls, record)
            return None
        adapter = cls(options)
        errors: list[tuple[str, str]] = []
        ran = 0
        try:
            with closing(self._claimed_units(cls, pending)) as units:
                for jobs in units:
                    if not getattr(adapter, "_loaded", False):
                        self._load(adapter, record, latency)
                        self._pool = self._start_pool(cls, options, label)  # after latency: measured alone
                    try:
                        self._run_jobs(adapter, jobs, record)
                        ran += 1
                    except (KeyboardInterrupt, SystemExit, ResultsNotWritable):
                        raise
                    except Exception as exc:  # noqa: BLE001 - fails this unit's jobs, not the adapter's others
                        error, tb = _describe(exc)
                        log(f"{name} {self._unit_of(cls, jobs[0])}: failed: {error.splitlines()[0] if error else ''}")
                        errors.append((error, tb))
                        for job in jobs:
                            if not self.store.is_done(job.name, job.split, job.key):
                                self._write_status(job, "failed", error)
            if errors and not ran:  # nothing ran: the adapter failed as a whole
                return self._fail(name, record, [], *errors[0])
            if errors:
                record["failed_units"] = len(errors)
                self.store.update_adapter(name, record)
            if unit is None:
                self._redo.discard(name)
            notes = adapter.run_notes() if getattr(adapter, "_loaded", False) else {}
            if notes:
                record["run_notes"] = notes
                self.store.update_adapter(name, record)
        except (KeyboardInterrupt, SystemExit, ResultsNotWritable):
            raise
        except Exception as exc:  # noqa: BLE001 - an adapter that raises must not stop the run
            return self._fail(name, record, pending, *_describe(exc))
        finally:
            if self._pool is not None:  # (an encoding failure or interrupt has already stopped it)
                self._pool.close()
                self._pool = None
            adapter.close()
        return errors[0][0] if errors else None

    def _load(self, adapter: Adapter, record: dict, latency: bool | None) -> None:
        name = adapter.card.name
        log(f"{name}: loading")
        adapter.ensure_loaded()
        record["params"] = adapter.num_parameters()
        if latency or (latency is None and ("latency_ms" not in record or name in self._redo)):
            record.update(self._latency(adapter))
        record.update({"status": "loaded", "reason": ""})
        self.store.update_adapter(name, record)
        self._write_variant_records(type(adapter), record)

    # claims and languages -------------------------------------------------------------------------
    def _unit_of(self, cls: type[Adapter], job: Job) -> Unit:
        return Unit(cls.card.name, job.split, None if job.mode == "geometry" else job.task.query_lang)

    @staticmethod
    def _claim_key(unit: Unit) -> str:
        return f"{unit.adapter}/{unit.split}/{unit.lang or 'geometry'}"

    def _claimed_units(self, cls: type[Adapter], pending: list[Job]) -> Iterator[list[Job]]:
        """Yield the pending jobs unit by unit, each while this process holds the unit's claim.
        Units another process holds are waited for after the free ones, then re-checked (that
        process has usually finished them). A split's geometry unit comes after its language
        units, whose claims it waits for, so it reads their cached outputs instead of recomputing
        them."""
        groups: dict[Unit, list[Job]] = {}
        for job in pending:
            groups.setdefault(self._unit_of(cls, job), []).append(job)
        order = sorted(groups, key=lambda u: (self.splits.index(u.split), u.lang is None, u.lang or ""))
        busy: list[Unit] = []
        for wait in (False, True):
            for unit in (order if not wait else busy):
                key = self._claim_key(unit)
                if unit.lang is None:  # geometry: the split's language units must end first
                    langs = [self._claim_key(o) for o in groups if o.split == unit.split and o.lang is not None]
                    if not wait and any(self.store.claim_busy(k) for k in langs):
                        busy.append(unit)
                        continue
                    for k in langs:
                        self.store.claim(k).release()  # returns at once unless another run holds it
                claim = self.store.try_claim(key)
                if claim is None and not wait:
                    busy.append(unit)
                    continue
                if claim is None:
                    log(f"{unit}: being computed by another run ({self.store.claim_holder(key)}); waiting for it")
                    claim = self.store.claim(key)
                try:
                    redo = cls.card.name in self._redo
                    todo = [j for j in groups[unit] if redo or not self.store.is_done(j.name, j.split, j.key)]
                    if todo:
                        yield todo
                    elif wait:
                        log(f"{unit}: finished by another run, kept")
                finally:
                    claim.release()

    def _job_langs(self, cls: type[Adapter], job: Job) -> set[str]:
        """The languages the adapter itself must handle for ``job``: the query images' language,
        the gallery's too when the adapter encodes gallery texts, every language for geometry."""
        if job.mode == "geometry":
            return set(self.ds.languages(job.split))
        langs = {job.task.query_lang}
        if issubclass(cls, EmbeddingAdapter) and job.mode == "plain":
            langs.add(job.task.gallery_lang)
        return langs

    def _language_gate(self, cls: type[Adapter], options: AdapterOptions, pending: list[Job],
                       record: dict) -> list[Job]:
        """Record jobs needing a language the adapter reports unavailable; return the others."""
        langs = sorted({lang for job in pending for lang in self._job_langs(cls, job)})
        states = {lang: cls.language_availability(lang, options) for lang in langs}
        missing = {lang: st.reason for lang, st in states.items() if not st.ok}
        self._unavailable_langs = set(missing)  # kept out of the latency probe too
        if not missing:
            return pending
        record["languages"] = {**record.get("languages", {}), **{lang: str(st) for lang, st in states.items()}}
        self.store.update_adapter(cls.card.name, record)
        keep = []
        for job in pending:
            gone = sorted(self._job_langs(cls, job) & missing.keys())
            if gone:
                self._write_status(job, "unavailable", f"language {gone[0]} unavailable: {missing[gone[0]]}")
            else:
                keep.append(job)
        for lang, why in missing.items():
            log(f"{cls.card.name}: language {lang} unavailable: {why}")
        return keep

    def _start_pool(self, cls: type[Adapter], options: AdapterOptions, label: str) -> "workers.WorkerPool | None":
        """Worker processes for this adapter's images (started only when there is enough to encode),
        or None for in-process."""
        n, why = workers.workers_for(cls.card, self.workers, self.cfg.device, self.cfg.executor)
        if n <= 1:
            if self.workers > 1 and why:
                log(f"{label}: encoding in the main process ({why})")
            return None
        return workers.WorkerPool(cls, options, self.ds, n, label, why)  # logs when it starts

    def _fail(self, name: str, record: dict, pending: list[Job], error: str, tb: str = "") -> str:
        log(f"{name}: failed: {error.splitlines()[0] if error else ''}")
        record.update({"status": "failed", "reason": error, "traceback": tb})
        self.store.update_adapter(name, record)
        self._write_variant_records(registry.get(name), record)
        cls = registry.get(name)
        for job in pending:  # jobs a concurrent run is computing are left to it
            if not self.store.is_done(job.name, job.split, job.key) and \
                    not self.store.claim_busy(self._claim_key(self._unit_of(cls, job))):
                self._write_status(job, "failed", error)
        return error

    def _write_status(self, job: Job, status: str, reason: str, attempts: int | None = None) -> None:
        rec = {"adapter": job.name, "split": job.split, "task": job.key, "status": status,
               "reason": reason, "finished": provenance.now()}
        if status == "failed":
            rec["attempts"] = 1 if attempts is None else attempts
        self.store.write_job(job.name, job.split, job.key, rec)

    def _write_variant_records(self, cls: type[Adapter], record: dict) -> None:
        """The lexicon-bridged row shares the engine's card, size and latency under its own name."""
        if not (issubclass(cls, TranscriberAdapter) and self.cfg.bridge and self.ds.lexicon is not None):
            return
        card = dict(record.get("card", cls.card.as_dict()))
        card.update({"name": cls.card.name + BRIDGE_SUFFIX, "row_name": f"{cls.card.row_name} + lexicon",
                     "notes": "transcription -> nearest query-language lexicon word (NES) -> its semantic "
                              "id -> the target-language word (cross-language only)"})
        self.store.update_adapter(cls.card.name + BRIDGE_SUFFIX,
                                  {**record, "adapter": cls.card.name + BRIDGE_SUFFIX, "card": card,
                                   "bridge_of": cls.card.name})

    # ------------------------------------------------------------------------------------------
    def _latency_images(self) -> list:
        """Up to ``latency_samples`` readable images of the first split, spread evenly over languages."""
        n = self.cfg.latency_samples
        rows = self.ds.select(self.splits[0])
        rows = rows[~rows["lang"].isin(self._unavailable_langs)]
        if n <= 0 or rows.empty:
            return []
        picked = rows.groupby("lang", sort=True).head(-(-n // rows["lang"].nunique()))
        images = []
        for rel, lang in zip(picked["path"], picked["lang"]):
            try:
                images.append((self.ds.load_image(rel), lang))
            except ImageLoadError:
                continue
        return images[:n]

    def _latency(self, adapter: Adapter) -> dict:
        """Median ms per image at batch 1 after 3 warm-up calls, with threads and device."""
        images = self._latency_images()
        if not images:
            return {}
        call: Callable = (adapter.transcribe if isinstance(adapter, TranscriberAdapter)
                          else adapter.encode_images)
        broken: set[str] = set()  # languages the adapter cannot run: their jobs fail, not the latency
        for lang in dict.fromkeys(lang for _, lang in images):
            try:
                call([next(im for im, l in images if l == lang)], lang)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:  # noqa: BLE001 - reported by that language's jobs
                broken.add(lang)
        images = [(im, lang) for im, lang in images if lang not in broken]
        if not images:
            return {}
        for im, lang in images[:3]:
            call([im], lang)
        times = []
        for im, lang in images:
            t0 = time.perf_counter()
            call([im], lang)
            times.append((time.perf_counter() - t0) * 1000.0)
        return {"latency_ms": statistics.median(times), "latency_n": len(times),
                "latency_threads": self.cfg.threads, "latency_device": self.cfg.device}

    def _split_outputs(self, adapter: Adapter, split: str, langs: list[str], record: dict):
        """Image outputs of ``langs`` in one split, through the output cache (keyed by image content),
        in worker processes when this adapter has a pool; outputs and skip reasons by sample id, and
        per-language counts of computed and cached outputs."""
        is_tr = isinstance(adapter, TranscriberAdapter)
        requests, sample_ids, refused_by_lang = [], [], []
        key = f"{adapter.cache_key()}|images|{{lang}}|{decoder_fingerprint()}"
        for lang in langs:
            rows = self.ds.select(split, lang)
            refused: dict[str, str] = {}
            if self.cache.enabled:  # cached outputs are keyed by image content; unhashable files are skipped
                hashes, reasons = self.ds.content_hashes(rows["path"].tolist(), self.cache.root / "content")
                refused = {sid: reasons[p] for sid, p in zip(rows["id"], rows["path"]) if p in reasons}
                rows = rows[~rows["id"].isin(list(refused))]
                item_ids = [hashes[p] for p in rows["path"]]
            else:
                item_ids = rows["id"].tolist()
            requests.append(workers.Request(key.format(lang=lang), item_ids, rows["path"].tolist(), lang,
                                            "text" if is_tr else "array", max(adapter.batch_size, 64)))
            sample_ids.append(rows["id"].tolist())
            refused_by_lang.append(refused)

        def local(req: workers.Request, idx: list[int]):
            return workers.encode_items(adapter, self.ds.load_image, [req.paths[i] for i in idx], req.lang, is_tr)

        bar = progress_bar(sum(len(r.ids) for r in requests) + sum(len(r) for r in refused_by_lang),
                           f"{adapter.card.name} {split}", self.cfg.progress)
        bar.update(sum(len(r) for r in refused_by_lang))
        results = workers.compute(self.cache, requests, local, self._pool, bar.update)
        bar.close()
        outputs: dict[str, Any] = {}
        errors: dict[str, str] = {}
        counts: dict[str, dict[str, int]] = {}
        for req, sids, refused, res in zip(requests, sample_ids, refused_by_lang, results):
            outputs.update(zip(sids, res.outputs))
            errors.update({sid: res.errors[item] for sid, item in zip(sids, req.ids) if item in res.errors})
            outputs.update({sid: None for sid in refused})
            errors.update(refused)
            counts[req.lang] = {"computed": res.computed, "cached": res.cached}
            if res.computed and res.seconds > 0:  # images/s of one process, whatever the worker count
                record.setdefault("throughput", {})[f"{split}/{req.lang}"] = res.computed / res.seconds
        return outputs, errors, counts

    def _bridged_scores(self, trans: list[str], td: TaskData) -> np.ndarray:
        """Score each target-language word by the NES between the transcription and the
        query-language word of the same concept: ranking these is ranking the query language's
        lexicon and mapping each semantic id to its target-language word. Concepts without a
        query-language word score -1, below every real candidate."""
        words_a = self.ds.lexicon.word_of(td.task.query_lang)
        bridge = [words_a.get(i, "") for i in td.gallery_ids]
        scores = nes_matrix(trans, bridge, self.cfg.strict)
        missing = np.array([i not in words_a for i in td.gallery_ids])
        if missing.any():
            scores[:, missing] = -1.0
        return scores

    def _text_outputs(self, adapter: EmbeddingAdapter, words: list[str], lang: str) -> np.ndarray:
        key = f"{adapter.cache_key()}|texts|{lang}|{hashlib.sha256(chr(0).join(words).encode()).hexdigest()}"

        def encode(idx):
            out = []
            for b in range(0, len(idx), adapter.batch_size):
                out.extend(adapter.encode_texts([words[i] for i in idx[b:b + adapter.batch_size]], lang))
            return out, {}

        outs, _, _ = self.cache.get_or_compute(key, words, encode, "array", chunk=1024)
        return np.stack([np.asarray(o, dtype=np.float32) for o in outs])

    def _run_jobs(self, adapter: Adapter, pending: list[Job], record: dict) -> None:
        by_split: dict[str, list[Job]] = {}
        for job in pending:
            by_split.setdefault(job.split, []).append(job)
        for split, jobs in by_split.items():
            langs = {j.task.query_lang for j in jobs if j.task is not None}
            if any(j.mode == "geometry" for j in jobs):
                langs |= set(self.ds.languages(split))
            outputs, errors, counts = self._split_outputs(adapter, split, sorted(langs), record)
            self.store.update_adapter(adapter.card.name, record)
            for job in jobs:
                if job.mode == "geometry":
                    self._geometry(adapter, job, outputs, _sum_counts(counts.values()))
                    continue
                try:
                    td = build_task(self.ds, split, job.task, strict=self.cfg.strict)
                    rec, preds = self._score(adapter, td, outputs, errors, job.mode)
                except BenchError as exc:
                    self._write_status(job, "skipped", str(exc))
                    continue
                rec.update({"adapter": job.name, "split": split, "task": job.key, "status": "done",
                            "finished": provenance.now(), "family": adapter.card.family, "mode": job.mode,
                            "image_outputs": counts[job.task.query_lang]})
                self.store.write_job(job.name, split, job.key, rec, preds)
                m = rec["metrics"]
                log(f"{job.name} {split} {job.key}: Acc@1 {m['acc@1']:.4f} MRR {m['mrr']:.4f} (n={m['n']})")

    def _geometry(self, adapter: EmbeddingAdapter, job: Job, outputs: dict, counts: dict | None = None) -> None:
        """R, D, R/D and language-centre distances over images and words of every language."""
        from .geometry import geometry

        rows = self.ds.select(job.split)
        rows = rows[(rows["semantic_id"] >= 0) & rows["id"].map(lambda i: outputs.get(i) is not None)]
        emb, cls, langs, modality, texts = [], [], [], [], []
        for lang in sorted(rows["lang"].unique()):
            part = rows[rows["lang"] == lang]
            emb += list(adapter.embeddings(np.stack([outputs[i] for i in part["id"]])))
            cls += part["semantic_id"].tolist()
            langs += [lang] * len(part)
            modality += ["image"] * len(part)
            texts += part["text"].tolist()
            ids = sorted(set(part["semantic_id"].tolist()))
            words = self._concept_words(job.split, lang)
            ids = [i for i in ids if i in words]
            if ids:
                temb = self._text_outputs(adapter, [words[i] for i in ids], lang)
                emb += list(temb)
                cls += ids
                langs += [lang] * len(ids)
                modality += ["text"] * len(ids)
                texts += [words[i] for i in ids]
        if len(set(cls)) < 2:
            self._write_status(job, "skipped", "fewer than two concepts with embeddings")
            return
        E, C, L = np.stack(emb), np.array(cls), np.array(langs)
        rec = {"adapter": job.name, "split": job.split, "task": "geometry", "status": "done",
               "finished": provenance.now(), "family": adapter.card.family, "geometry": geometry(E, C, L),
               "image_outputs": counts or {}}
        self.store.write_embedding_sample(job.name, job.split, _sample_for_map(E, C, L, np.array(modality),
                                                                               texts, self.cfg.seed))
        self.store.write_job(job.name, job.split, "geometry", rec)
        g = rec["geometry"]
        log(f"{job.name} {job.split} geometry: R {g['R']:.4f} D {g['D']:.4f} R/D {g['R/D']:.4f}")

    def _concept_words(self, split: str, lang: str) -> dict[int, str]:
        from .protocols import _concept_words

        return _concept_words(self.ds, split, lang)

    def _score(self, adapter: Adapter, td: TaskData, outputs: dict, errors: dict, mode: str = "plain"):
        keep = [i for i, sid in enumerate(td.queries["id"]) if outputs.get(sid) is not None]
        skipped = [{"id": sid, "path": path, "reason": errors.get(sid, "no output")}
                   for sid, path in zip(td.queries["id"], td.queries["path"]) if outputs.get(sid) is None]
        if not keep:
            raise BenchError(f"no readable query images for {td.task.key}")
        q = td.queries.iloc[keep]
        targets = td.targets[keep]
        if isinstance(adapter, TranscriberAdapter):
            trans = [str(outputs[sid] or "") for sid in q["id"]]
            if mode == "lexicon":
                scores = self._bridged_scores(trans, td)
            else:
                scores = nes_matrix(trans, td.gallery, self.cfg.strict)
        else:
            emb = np.stack([outputs[sid] for sid in q["id"]])
            gal = self._text_outputs(adapter, td.gallery, td.task.gallery_lang)
            scores = adapter.similarity(emb, gal, td.gallery, td.task.query_lang, td.task.gallery_lang)
            trans = None
        ranking = rank_targets(scores, targets, self.cfg.topk, target_first=self.cfg.ties == "optimistic")
        topk = ranking.topk
        shown = ranking.optimistic if self.cfg.ties == "optimistic" else ranking.pessimistic
        top1 = [td.gallery[t[0]] for t in topk]
        # NES prediction: the transcription within-language, else the top-1 retrieved word.
        preds = trans if (trans is not None and td.task.kind == "within") else top1
        tgt_words = [td.gallery[t] for t in targets]
        metrics = summarize(ranking.optimistic, normalize_all(preds, self.cfg.strict),
                            normalize_all(tgt_words, self.cfg.strict), tied=ranking.tied, ties=self.cfg.ties)
        rows = []
        for k, (sid, r) in enumerate(zip(q["id"], shown)):
            # rank: the target's place in the top-k list shown; better/tied: any tie rule's rank
            rows.append({"id": sid, "path": q["path"].iloc[k], "target": tgt_words[k],
                         "prediction": preds[k], "rank": int(r), "better": int(ranking.better[k]),
                         "tied": int(ranking.tied[k]),
                         "topk": [td.gallery[j] for j in topk[k]],
                         "scores": [round(float(scores[k, j]), 5) for j in topk[k]]})
        if trans is not None:
            for row, t in zip(rows, trans):
                row["transcription"] = t
        rec = {"metrics": metrics, "gallery_size": len(td.gallery), "n_skipped": len(skipped),
               "skipped": skipped[:1000], "scoring": adapter.card.scoring, "ties": self.cfg.ties,
               "random_acc@1": 1.0 / len(td.gallery)}
        return rec, rows


def _sum_counts(counts) -> dict[str, int]:
    """Computed and cached image outputs summed over languages (the geometry step uses them all)."""
    out = {"computed": 0, "cached": 0}
    for c in counts:
        out["computed"] += c["computed"]
        out["cached"] += c["cached"]
    return out


def _describe(exc: BaseException) -> tuple[str, str]:
    """(one-line reason, traceback) of an adapter's exception; user errors carry no traceback."""
    if isinstance(exc, BenchError):
        return str(exc), ""
    return explain_load_error(f"{type(exc).__name__}: {exc}"), traceback.format_exc()


def _sample_for_map(emb: np.ndarray, classes: np.ndarray, langs: np.ndarray, modality: np.ndarray,
                    texts: list[str], seed: int, n_classes: int = 12, per_group: int = 8) -> dict[str, np.ndarray]:
    """A small, seeded sample of points for the embedding map (Figure 4): a few concepts present in
    every language, up to ``per_group`` images per (concept, language) and all their words."""
    rng = np.random.default_rng(seed)
    all_langs = set(langs.tolist())
    full = [c for c in np.unique(classes) if set(langs[classes == c].tolist()) == all_langs]
    chosen = set(rng.permutation(np.array(full))[:n_classes].tolist()) if full else set()
    keep = []
    for c in sorted(chosen):
        for l in sorted(all_langs):
            for m in ("image", "text"):
                idx = np.flatnonzero((classes == c) & (langs == l) & (modality == m))
                keep += idx[:per_group].tolist()
    keep = np.array(keep, dtype=np.int64)
    return {"embeddings": emb[keep].astype(np.float16), "semantic_id": classes[keep], "lang": langs[keep],
            "modality": modality[keep], "text": np.array([texts[i] for i in keep], dtype=str)}
