"""Claims on units of work, so that runs sharing a results folder never compute the same job.

Jobs run one unit (split x query language, then the split's geometry) at a time, each while this
process holds the unit's claim (an flock under the run folder, see ``bench.results.store``).
"""
from __future__ import annotations

from typing import Iterator

from .context import RunContext, log
from .plan import Job, Unit


def claimed_units(ctx: RunContext, adapter: str, pending: list[Job]) -> Iterator[list[Job]]:
    """Yield the pending jobs unit by unit, each while this process holds the unit's claim.
    Units another process holds are waited for after the free ones, then re-checked (that
    process has usually finished them). A split's geometry unit comes after its language
    units, whose claims it waits for, so it reads their cached outputs instead of recomputing
    them."""
    store = ctx.store
    groups: dict[Unit, list[Job]] = {}
    for job in pending:
        groups.setdefault(ctx.plan.unit_of(adapter, job), []).append(job)
    order = sorted(groups, key=ctx.plan.unit_order)
    busy: list[Unit] = []
    for wait in (False, True):
        for unit in (order if not wait else busy):
            key = unit.claim_key
            if unit.lang is None:  # geometry: the split's language units must end first
                langs = [o.claim_key for o in groups if o.split == unit.split and o.lang is not None]
                if not wait and any(store.claim_busy(k) for k in langs):
                    busy.append(unit)
                    continue
                for k in langs:
                    store.claim(k).release()  # returns at once unless another run holds it
            claim = store.try_claim(key)
            if claim is None and not wait:
                busy.append(unit)
                continue
            if claim is None:
                log(f"{unit}: being computed by another run ({store.claim_holder(key)}); waiting for it")
                claim = store.claim(key)
            try:
                redo = adapter in ctx.redo
                todo = [j for j in groups[unit] if redo or not ctx.is_done(j)]
                if todo:
                    yield todo
                elif wait:
                    log(f"{unit}: finished by another run, kept")
            finally:
                claim.release()


def claimed_elsewhere(ctx: RunContext, adapter: str, job: Job) -> bool:
    """Whether another process holds the claim on the unit of ``job`` (it is computing it)."""
    return ctx.store.claim_busy(ctx.plan.unit_of(adapter, job).claim_key)
