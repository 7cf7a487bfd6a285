"""Writing a run's records: job outcomes that are not results, and adapter records with their
lexicon-bridged twins. Every record goes through ``bench.results.records`` (typed, versioned)."""
from __future__ import annotations

import dataclasses

from ..registry.adapter import Adapter, TranscriberAdapter
from ..results import provenance
from ..results.records import AdapterRecord, JobRecord
from .context import RunContext
from .plan import BRIDGE_SUFFIX, Job, Unit


def write_status(ctx: RunContext, job: Job, status: str, reason: str, attempts: int | None = None) -> None:
    """A job that did not finish: failed (with its attempts), skipped or unavailable, and why."""
    if status == "failed":
        attempts = 1 if attempts is None else attempts
    else:
        attempts = None
    ctx.store.write_job_record(JobRecord(adapter=job.name, split=job.split, task=job.key, status=status,
                                         reason=reason, finished=provenance.now(), attempts=attempts))


def fail_unit(ctx: RunContext, unit: Unit, reason: str, attempts: int | None = None) -> None:
    """Record ``reason`` on every unfinished job of a unit that died or ran out of time."""
    for job in ctx.unit_jobs(unit):
        if not ctx.is_done(job):
            write_status(ctx, job, "failed", reason, attempts)


def write_adapter(ctx: RunContext, record: AdapterRecord, cls: type[Adapter] | None = None) -> None:
    """Merge the adapter's record into the store; with ``cls``, also its lexicon-bridged row's."""
    ctx.store.update_adapter_record(record)
    if cls is not None:
        _write_variant_records(ctx, cls, record)


def _write_variant_records(ctx: RunContext, cls: type[Adapter], record: AdapterRecord) -> None:
    """The lexicon-bridged row shares the engine's card, size and latency under its own name."""
    if not (issubclass(cls, TranscriberAdapter) and ctx.cfg.bridge and ctx.ds.lexicon is not None):
        return
    card = dict(record.card or cls.card.as_dict())
    card.update({"name": cls.card.name + BRIDGE_SUFFIX, "row_name": f"{cls.card.row_name} + lexicon",
                 "notes": "transcription -> nearest query-language lexicon word (NES) -> its semantic "
                          "id -> the target-language word (cross-language only)"})
    ctx.store.update_adapter_record(dataclasses.replace(record, adapter=cls.card.name + BRIDGE_SUFFIX, card=card,
                                                        bridge_of=cls.card.name))
