"""What a ``bench run`` did, in a few lines: jobs computed, reused, served from the cache, failed;
images skipped and why; adapters that did not run, grouped by the fix they need.

Why: a run over every registered adapter used to end with a 41-row table of reasons and said
nothing about what was computed or reused; failures and skipped images were visible only in the job
JSON. The summary is derived from the results store (the same typed records every executor writes)
and a snapshot of the jobs that were already done when the invocation started; it needs the run's
scope (each adapter's card and jobs), never the runner.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Collection

from ..registry.adapter import AdapterCard
from ..results.records import JobRecord
from ..results.store import RunStore
from .plan import BRIDGE_SUFFIX, Job

EXAMPLES = 3  # example paths per skip reason
STATES = ("computed", "cached", "reused", "failed", "skipped", "unavailable", "not run")


@dataclass(frozen=True)
class AdapterScope:
    """One adapter of the invocation: its card and every job it has in the run."""

    name: str
    card: AdapterCard
    jobs: list[Job]


def snapshot(store: RunStore, scope: list[AdapterScope], redo: Collection[str]) -> set[tuple[str, str, str]]:
    """Jobs of this invocation already done in the store and not named in ``--redo``: they are reused."""
    done = set()
    for adapter in scope:
        if adapter.name in redo:
            continue
        for job in adapter.jobs:
            if store.is_done(job.name, job.split, job.key):
                done.add((job.name, job.split, job.key))
    return done


@dataclass
class RunSummary:
    run_id: str
    root: str
    counts: dict[str, int] = field(default_factory=dict)  # job state -> jobs
    failed: list[JobRecord] = field(default_factory=list)  # failed job records
    skipped_jobs: list[JobRecord] = field(default_factory=list)  # job records skipped with a reason
    skipped_images: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths (distinct per split)
    not_run: dict[str, list[str]] = field(default_factory=dict)  # fix -> adapters
    jobs_per: dict[tuple[str, str], int] = field(default_factory=dict)  # (adapter, split) -> jobs in scope

    def lines(self) -> list[str]:
        c = self.counts
        total = sum(c.values())
        parts = [f"{c.get('computed', 0)} computed"]
        if c.get("cached"):
            parts.append(f"{c['cached']} from the output cache")
        parts.append(f"{c.get('reused', 0)} reused from stored results (pass --redo ADAPTERS to recompute)")
        parts.append(f"{c.get('failed', 0)} failed")
        for state in ("skipped", "unavailable", "not run"):
            if c.get(state):
                parts.append(f"{c[state]} {state}")
        out = [f"run {self.run_id}: {total} job(s): " + ", ".join(parts)]
        if self.failed:
            out.append(f"failed: {len(self.failed)} job(s), by adapter and cause "
                       "(rerun the same command to retry only those):")
            out += [f"  {line}" for line in _failure_lines(self.failed, self.jobs_per)]
        for rec in self.skipped_jobs:
            out.append(f"skipped job {rec.adapter} {rec.split} {rec.task}: {'?' if rec.reason is None else rec.reason}")
        if self.skipped_images:
            n = sum(len(v) for v in self.skipped_images.values())
            out.append(f"skipped images: {n} (left out of every task that lists them):")
            for reason, paths in sorted(self.skipped_images.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                eg = ", ".join(paths[:EXAMPLES]) + (", ..." if len(paths) > EXAMPLES else "")
                out.append(f"  {len(paths)} {reason}: e.g. {eg}")
        if self.not_run:
            n = sum(len(v) for v in self.not_run.values())
            out.append(f"did not run: {n} adapter(s), by the fix they need:")
            for fix, names in sorted(self.not_run.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                out.append(f"  {fix}: {', '.join(names)}")
        out.append(f"results in {self.root}")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


def _first_line(text: str | None) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else "?"


def _failure_lines(failed: list[JobRecord], jobs_per: dict[tuple[str, str], int]) -> list[str]:
    """One line per adapter, split and cause: how many jobs, which (all, or their task keys)."""
    groups: dict[tuple[str, str, str, int], list[str]] = {}
    for rec in failed:
        adapter = rec.adapter.removesuffix(BRIDGE_SUFFIX)
        task = rec.task + (BRIDGE_SUFFIX if rec.adapter.endswith(BRIDGE_SUFFIX) else "")
        attempts = 1 if rec.attempts is None else rec.attempts
        groups.setdefault((adapter, rec.split, _first_line(rec.reason), attempts), []).append(task)
    lines = []
    for (adapter, split, reason, attempts), tasks in groups.items():
        if len(tasks) == jobs_per.get((adapter, split)):
            which = "all its jobs"
        else:
            which = ", ".join(tasks[:6]) + (f" and {len(tasks) - 6} more" if len(tasks) > 6 else "")
        lines.append(f"{adapter} {split}: {len(tasks)} job(s) ({which}): {reason} (attempts: {attempts})")
    return lines


def fix_of(reason: str, card=None) -> str:
    """The fix an unavailability reason asks for, with the adapter's own model id, revision and name
    replaced by placeholders, so that adapters needing the same kind of fix share one line (each
    adapter's record and `bench list` keep the full reason)."""
    reason = (reason or "unknown reason").strip().splitlines()[0]
    fix = reason.split("fix:", 1)[1].strip() if "fix:" in reason else reason
    if card is not None:
        if card.revision:
            fix = fix.replace(f" --revision {card.revision}", "").replace(card.revision, "<revision>")
        if card.model_id and len(card.model_id) > 2:
            fix = fix.replace(card.model_id, "<model>")
        fix = fix.replace(f"--model-path {card.name}=", "--model-path <adapter>=")
    return fix


def collect(store: RunStore, scope: list[AdapterScope], reused: set[tuple[str, str, str]]) -> RunSummary:
    """Read this invocation's jobs back from the store and sort them by what happened to them."""
    summ = RunSummary(store.run_id, str(store.root), {s: 0 for s in STATES})
    images: dict[str, set[tuple[str, str]]] = {}
    for adapter in scope:
        name = adapter.name
        unavailable = False
        for job in adapter.jobs:
            summ.jobs_per[(name, job.split)] = summ.jobs_per.get((name, job.split), 0) + 1
            rec = store.read_job_record(job.name, job.split, job.key)
            status = rec.status if rec is not None else None
            if (job.name, job.split, job.key) in reused and status == "done":
                state = "reused"
            elif status == "done":
                computed = (rec.image_outputs or {}).get("computed")
                state = "cached" if computed == 0 else "computed"
            elif status in ("failed", "skipped", "unavailable"):
                state = status
            else:
                state = "not run"
            summ.counts[state] += 1
            if state == "failed":
                summ.failed.append(rec)
            elif state == "skipped":
                summ.skipped_jobs.append(rec)
            elif state == "unavailable":
                unavailable = True
            for s in (rec.skipped if rec is not None else None) or ():
                images.setdefault(s.get("reason") or "?", set()).add((job.split, s.get("path") or s.get("id")))
        if unavailable:
            stored = store.read_adapter_record(name)
            reason = stored.reason if stored is not None and stored.reason is not None else ""
            summ.not_run.setdefault(fix_of(reason, adapter.card), []).append(name)
    summ.counts = {k: v for k, v in summ.counts.items() if v}
    summ.skipped_images = {r: [path for _, path in sorted(v)] for r, v in images.items()}
    return summ
