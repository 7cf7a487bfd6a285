"""The Ray executor: a run's units of work as Ray tasks; Ray schedules, retries and isolates them.

A unit (``bench.run.plan.Unit``) is one adapter's jobs for one split and query language; the split's
geometry step is a unit of its own, submitted once that adapter's language units of the split
have ended (it reads their cached image outputs). Each task asks for the adapter card's resources
(``num_gpus=card.gpu`` when ``--device`` is CUDA, ``memory=card.memory_gb`` GiB, ``--threads``
CPUs), opens the run from its RunConfig (``RunContext.open``) and runs the unit with the local
executor's code (``bench.run.adapter_run``),
so it writes the same files and the run resumes the same way under either executor.

Faults: a unit that raises records its failure and re-raises, a worker that dies (killed, out of
memory) cannot record anything; Ray retries both (``max_retries``, ``retry_exceptions``). Ray has no
task timeout, and a driver-side deadline cannot tell queueing from running, so the deadline
(``--job-timeout``, else the card's ``timeout_s``) is armed inside the task when it starts: the
unit runs in a thread, and when it overruns the task records "timeout" and raises, so Ray retries
it like any failure. Units with a deadline run as tasks with ``max_calls=1``: their worker process
exits after the task, which ends a thread that overran (Ray does the same for GPU tasks, to free
the GPU); other units reuse warm workers. When a unit has used all its attempts, the driver
records the last cause with the number of attempts on every unfinished job of the unit.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

from ... import registry
from ...errors import BenchError
from ..adapter_run import AdapterRun
from ..context import RunContext, log
from ..plan import RunConfig, Unit
from ..recorder import fail_unit

POLL_S = 1.0  # how often the driver wakes up from ray.wait (Ctrl-C stays responsive)
LOCAL_OBJECT_STORE = 100 * 2**20  # units return a few bytes; results go to the store on disk
PASSED_ENV_PREFIXES = ("XSB_", "HF_", "TRANSFORMERS_", "TORCH_HOME", "OMP_NUM_THREADS")


class UnitFailed(Exception):
    """Raised in a Ray task after the unit's failure is recorded, so that Ray retries the unit."""


# ---------------------------------------------------------------------------------------------
# inside a Ray worker
def run_unit_task(cfg: RunConfig, unit: Unit, latency: bool, timeout: float | None) -> str:
    """The Ray task body: the local executor's code for one unit, under an optional deadline."""
    ctx = RunContext.open(cfg)
    reason = _run_with_deadline(ctx, unit, latency, timeout)
    if reason is not None:
        raise UnitFailed(reason)
    return str(unit)


def _run_unit(ctx: RunContext, unit: Unit, latency: bool = False) -> str | None:
    """One unit with the local executor's code; the failure reason, or None."""
    return AdapterRun(ctx, unit.adapter, unit, latency).run()


def _run_with_deadline(ctx: RunContext, unit: Unit, latency: bool, timeout: float | None) -> str | None:
    if not timeout:
        return _run_unit(ctx, unit, latency)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["reason"] = _run_unit(ctx, unit, latency)
        except BaseException as exc:  # noqa: BLE001 - handed to the task's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"xsb-unit {unit}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # the worker process exits after this task (max_calls=1), ending the thread
        reason = f"timeout: {unit} ran longer than {timeout:g} s"
        fail_unit(ctx, unit, reason)
        return reason
    if "error" in box:
        raise box["error"]
    return box.get("reason")


# ---------------------------------------------------------------------------------------------
# on the driver
def require_ray():
    """The ray module, or a one-line error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs Ray: pip install 'xscript-bench[ray]'") from None
    return ray


class RayExecutor:
    """Submit every unfinished unit of the run, wait for all, record the ones that failed for good."""

    name = "ray"

    def check(self) -> None:
        require_ray()

    def invocation_fields(self) -> dict[str, Any]:
        return {"executor": "ray"}

    def run(self, ctx: RunContext) -> None:
        ray = require_ray()
        _init(ray, ctx.cfg)
        try:
            _drive(ray, ctx)
        finally:
            ray.shutdown()


def _init(ray, cfg: RunConfig) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if cfg.address:
        env = {k: v for k, v in os.environ.items()  # settings, not secrets: workers bring their own
               if k.startswith(PASSED_ENV_PREFIXES) and not any(w in k for w in ("TOKEN", "KEY", "SECRET"))}
        ray.init(address=cfg.address, runtime_env={"env_vars": env} if env else None, log_to_driver=True)
        log(f"ray: connected to {cfg.address}")
        return
    # A fresh local cluster (address="local" never joins another session's cluster); workers
    # inherit this process's environment. XSB_RAY_NUM_CPUS caps it on a shared machine.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cpus = max(cfg.threads, int(os.environ.get("XSB_RAY_NUM_CPUS") or cores))
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE,
             log_to_driver=True, configure_logging=False)
    log(f"ray: started a local cluster with {cpus} CPUs")


def worker_config(ctx: RunContext, adapter: str) -> RunConfig:
    """The run's config as a worker sees it: absolute paths, this run's id, no progress bars, one
    encoding process (Ray schedules the cores), and plain "cuda" for a unit given a GPU (Ray sets
    CUDA_VISIBLE_DEVICES to the GPU it assigned)."""
    cfg = ctx.cfg
    cache = cfg.cache_dir or os.environ.get("XSB_CACHE_DIR")
    gpu = unit_resources(registry.get(adapter).card, cfg)["num_gpus"]
    return dataclasses.replace(
        cfg, adapters=adapter, run_id=ctx.run_id, progress=False, executor="local", workers=1,
        device="cuda" if gpu else cfg.device,
        dataset=str(ctx.ds.root) if cfg.dataset else None,  # the built-in one: each node's cache
        results_dir=str(Path(cfg.results_dir).resolve()),
        cache_dir=str(Path(cache).resolve()) if cache else None)


def unit_resources(card, cfg: RunConfig) -> dict[str, Any]:
    """Ray resources of one unit: the card's GPU share only when the run uses CUDA."""
    gpu = card.gpu if str(cfg.device).startswith("cuda") else 0.0
    return {"num_cpus": cfg.threads, "num_gpus": gpu, "memory": int(card.memory_gb * 2**30)}


def _fits_a_node(ray, res: dict[str, Any]) -> bool:
    need = {"CPU": res["num_cpus"], "GPU": res["num_gpus"], "memory": res["memory"]}
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    return any(all(node.get(k, 0) >= v for k, v in need.items() if v) for node in nodes)


def _drive(ray, ctx: RunContext) -> None:
    cfg = ctx.cfg
    reusable = ray.remote(retry_exceptions=True)(run_unit_task)
    fresh = ray.remote(retry_exceptions=True, max_calls=1)(run_unit_task)  # ends threads that overran
    inflight: dict[Any, Unit] = {}
    geometry: dict[tuple[str, str], Unit] = {}  # (adapter, split) -> its geometry unit, held back

    def languages_running(adapter: str, split: str) -> bool:
        return any(u.adapter == adapter and u.split == split and u.lang for u in inflight.values())

    def submit(unit: Unit, latency: bool = False) -> None:
        cls = registry.get(unit.adapter)
        res = unit_resources(cls.card, cfg)
        if not _fits_a_node(ray, res):
            _not_schedulable(ctx, unit, res)
            return
        timeout = cfg.job_timeout or cls.card.timeout_s
        ref = (fresh if timeout else reusable).options(**res, max_retries=cfg.max_retries, name=f"xsb {unit}").remote(
            worker_config(ctx, unit.adapter), unit, latency, timeout)
        inflight[ref] = unit

    for name in ctx.plan.adapter_names:
        units = ctx.units_for(name)
        if not units:
            log(f"{name}: all jobs already done, skipped")
        stored = ctx.store.read_adapter_record(name)
        latency = stored is None or stored.latency_ms is None  # measured by one unit
        for unit in units:
            if unit.lang is None and languages_running(name, unit.split):
                geometry[(name, unit.split)] = unit
                continue
            submit(unit, latency)
            latency = False
    log(f"ray: {len(inflight)} unit(s) submitted")
    try:
        while inflight:
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
            for ref in ready:
                unit = inflight.pop(ref)
                cause = _failure(ray, ref)
                if cause is None:
                    log(f"ray: {unit}: done")
                else:
                    attempts = cfg.max_retries + 1
                    log(f"ray: {unit}: failed after {attempts} attempt(s): {cause.splitlines()[0]}")
                    fail_unit(ctx, unit, cause, attempts)
                key = (unit.adapter, unit.split)
                if key in geometry and not languages_running(*key):
                    submit(geometry.pop(key))
    except BaseException:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise


def _not_schedulable(ctx: RunContext, unit: Unit, res: dict[str, Any]) -> None:
    """No node can ever run this unit: record why instead of waiting forever (an adapter that is
    unavailable here is recorded as such, through the local code, which loads nothing then)."""
    cls = registry.get(unit.adapter)
    if not cls.availability(ctx.cfg.adapter_options(unit.adapter)).ok:
        _run_unit(ctx, unit)
        return
    need = f"{res['num_cpus']} CPU, {res['num_gpus']:g} GPU, {res['memory'] / 2**30:.1f} GiB memory"
    reason = f"no node of the Ray cluster has the resources the card asks for ({need})"
    log(f"ray: {unit}: {reason}")
    fail_unit(ctx, unit, reason, attempts=0)


def _failure(ray, ref) -> str | None:
    """None if the unit's task succeeded, else its last cause in one readable line (+ details)."""
    exc_mod = ray.exceptions
    try:
        ray.get(ref)
        return None
    except exc_mod.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, UnitFailed):
            return str(cause)
        return f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    except exc_mod.OutOfMemoryError as exc:
        return f"out of memory: Ray's memory monitor killed the worker ({_first_line(exc)})"
    except exc_mod.WorkerCrashedError as exc:
        return f"worker died: {_first_line(exc)}"
    except exc_mod.TaskCancelledError:
        return "cancelled"
    except exc_mod.RayError as exc:
        return f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

