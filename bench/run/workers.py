"""Encode a job's images in worker processes, one thread each, through the same output-cache chunks.

Why: OCR engines and small ONNX encoders run one image at a time on one thread, so ``bench run``
left every other core idle. Here each worker process loads the adapter once (the pool's
initializer), pins its math libraries to one thread, and computes whole cache chunks with exactly
the code the main process runs with one worker (``encode_items``: same image loading, same batches),
so the outputs, and every number derived from them, do not depend on the worker count. The main
process encodes chunks too, and writes each chunk as it arrives: a kill loses only the chunks in
flight, at most one per process, i.e. at most one chunk's worth of wall time. Latency is still measured in the main process,
batch 1 on one thread, before any worker starts.

The standard library does the IPC (``concurrent.futures.ProcessPoolExecutor`` with a spawn
context); there is no scheduler here. The core never names an adapter: a card that says
``process_safe=False``, a GPU device or the Ray executor keep one worker, and the count is capped
by the memory the card says one copy needs.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from queue import SimpleQueue
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import BenchError
from ..threads import set_thread_env

WORKER_DIED = ("a worker process died (killed, out of memory, or a crash inside the engine; a Python script "
               "that starts a run without an `if __name__ == \"__main__\":` guard also does this); "
               "rerun with --workers 1 to encode in the main process")
AHEAD = 1  # chunks handed to each worker at a time: the feeder refills within milliseconds


def min_parallel_seconds() -> float:
    """Workers start only when the images left would take longer than this in one process
    (estimated from the adapter's first chunk): a worker spends a second or two starting and loading
    its model, on a core the main process would otherwise have to itself; the main process keeps
    encoding meanwhile. ``$XSB_WORKERS_MIN_SECONDS`` overrides the default of 4."""
    try:
        return max(0.0, float(os.environ.get("XSB_WORKERS_MIN_SECONDS", "4")))
    except ValueError:
        return 4.0


def available_cores() -> int:
    """Cores this process may use: the affinity mask where the OS has one, else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """``$XSB_WORKERS`` if set (a positive integer), else every available core."""
    env = os.environ.get("XSB_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return available_cores()


def _available_memory_gb() -> float | None:
    try:
        for line in open("/proc/meminfo", encoding="ascii"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


def workers_for(card, requested: int, device: str, executor: str = "local") -> tuple[int, str]:
    """How many worker processes encode this adapter's images, and why not more (for the log)."""
    if requested <= 1:
        return 1, ""
    if executor != "local":
        return 1, f"the {executor} executor schedules the work"
    if not str(device).startswith("cpu"):
        return 1, f"device {device}"
    if not card.process_safe:
        return 1, "its card says it is not process-safe"
    mem = _available_memory_gb()
    if mem is not None and card.memory_gb > 0:
        fit = max(1, int(mem // card.memory_gb))
        if fit < requested:
            return fit, f"{mem:.0f} GB available, {card.memory_gb:g} GB per copy"
    return requested, ""


# -----------------------------------------------------------------------------------------------
# the one encoding path (main process and workers)
def encode_items(adapter, load_image: Callable[[str], Any], paths: Sequence[str], lang: str,
                 is_transcriber: bool) -> tuple[list, dict[int, str]]:
    """Load ``paths`` and encode the readable ones in batches of ``adapter.batch_size``.

    Returns outputs aligned with ``paths`` (None for an unreadable image) and {position: reason}.
    Batches are formed from the readable images in order, so who runs this does not change them."""
    from ..dataset import ImageLoadError

    images, ok, errs = [], [], {}
    for i, rel in enumerate(paths):
        try:
            images.append(load_image(rel))
            ok.append(i)
        except ImageLoadError as exc:
            errs[i] = str(exc)
    outs: list = [None] * len(paths)
    bs = adapter.batch_size
    for b in range(0, len(images), bs):
        batch = images[b:b + bs]
        res = adapter.transcribe(batch, lang) if is_transcriber else adapter.encode_images(batch, lang)
        for j, r in zip(ok[b:b + bs], res):
            outs[j] = r if is_transcriber else _as_float32(r)
    return outs, errs


def _as_float32(row):
    import numpy as np

    return np.asarray(row, dtype=np.float32)


# -----------------------------------------------------------------------------------------------
# inside a worker process
_STATE: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    """Exit when the main process is gone (kill -9 leaves no one to shut the pool down)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(cls_ref: str, options_blob: bytes, ds_blob: bytes, parent: int) -> None:
    """Pool initializer: one thread, Ctrl-C left to the main process, the adapter loaded once."""
    set_thread_env(1)  # before the adapter's libraries are imported (they read these at import)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    import importlib

    module, _, qualname = cls_ref.partition(":")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    options = pickle.loads(options_blob)
    options.threads = 1
    adapter = cls(options)
    adapter.ensure_loaded()  # (pins torch and OpenCV to options.threads, here 1)
    from ..registry.adapter import TranscriberAdapter

    _STATE.update(adapter=adapter, ds=pickle.loads(ds_blob),
                  is_tr=isinstance(adapter, TranscriberAdapter))


def _encode_chunk(paths: list[str], lang: str) -> tuple[list, dict[int, str], float]:
    t0 = time.perf_counter()
    outs, errs = encode_items(_STATE["adapter"], _STATE["ds"].load_image, paths, lang, _STATE["is_tr"])
    return outs, errs, time.perf_counter() - t0


# -----------------------------------------------------------------------------------------------
# in the main process
class WorkerPool:
    """``n`` encoding processes for one adapter: the main process and ``n - 1`` workers, started on
    the first chunk that goes to them and kept for all of the adapter's units (split x language).

    Why the main process encodes too: on ``n`` cores, ``n`` workers plus an idle coordinator start one
    more copy of the engine than the cores can use, and the first chunk of every unit (timed here to
    decide whether workers pay off) ran alone. Now the workers load while the main process is already
    encoding, and the per-image time measured on the adapter's first unit decides for its later ones."""

    def __init__(self, cls: type, options, ds, n: int, label: str = "", why: str = "") -> None:
        self.cls, self.options, self.ds, self.n = cls, options, ds, n
        self.label, self.why = label or cls.card.name, why
        self.per_item: float | None = None  # seconds per image in one process, from the first chunk
        self._ex: ProcessPoolExecutor | None = None

    @property
    def processes(self) -> int:
        """Worker processes beside the main one."""
        return self.n - 1

    def submit(self, paths: list[str], lang: str) -> Future:
        if self._ex is None:
            import multiprocessing

            k = self.processes
            print(f"{self.label}: encoding in {self.n} processes (this one and {k} worker"
                  f"{'s' if k != 1 else ''}), one thread each" + (f" ({self.why})" if self.why else ""),
                  file=sys.stderr, flush=True)
            ref = f"{self.cls.__module__}:{self.cls.__qualname__}"
            self._ex = ProcessPoolExecutor(
                max_workers=k, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(ref, pickle.dumps(self.options), pickle.dumps(self.ds), os.getpid()))
        return self._ex.submit(_encode_chunk, paths, lang)

    def close(self, kill: bool = False) -> None:
        """Stop the workers: wait for idle ones to exit, or terminate them (interrupt, failure)."""
        ex, self._ex = self._ex, None
        if ex is None:
            return
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=not kill, cancel_futures=True)
        if kill:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=5)


@dataclass
class Request:
    """The images of one (split, language) to encode, and the cache key their chunks live under."""

    key: str
    ids: list[str]
    paths: list[str]
    lang: str
    kind: str  # "text" (transcriptions) or "array" (embeddings)
    chunk: int


@dataclass
class Outcome:
    outputs: list
    errors: dict[str, str] = field(default_factory=dict)  # image id -> why it was skipped
    computed: int = 0
    cached: int = 0
    seconds: float = 0.0  # compute time summed over the processes that computed (per-process rate)


def compute(cache, requests: list[Request], local: Callable[[Request, list[int]], tuple[list, dict[int, str]]],
            pool: WorkerPool | None = None, progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Outputs of every request: stored chunks are read, the others computed and written as they finish.

    ``local(request, indices)`` computes chunks here, one after another. With a pool, the adapter's
    first missing chunk is computed here and timed; if the rest would take more than
    ``min_parallel_seconds``, the chunks are shared between the workers and this process (each
    worker holds ``AHEAD`` chunk at a time, so a kill loses no more than the chunks being computed)."""
    results = [Outcome([None] * len(r.ids)) for r in requests]
    todo: list[tuple[int, list[int], Any]] = []
    for k, req in enumerate(requests):
        for idx, path in cache.chunks(req.key, req.ids, req.kind, req.chunk):
            got = cache.read_chunk(path, [req.ids[i] for i in idx], req.kind)
            if got is None:
                todo.append((k, idx, path))
                continue
            _place(results[k], idx, *got)
            results[k].cached += len(idx)
            if progress:
                progress(len(idx))

    def finish(k: int, idx: list[int], path, outs: list, errs: dict[int, str], seconds: float) -> None:
        req = requests[k]
        chunk_ids = [req.ids[i] for i in idx]
        errs_by_id = {chunk_ids[j]: e for j, e in errs.items()}
        cache.write_chunk(path, chunk_ids, outs, errs_by_id, req.kind)
        _place(results[k], idx, outs, errs_by_id)
        results[k].computed += len(idx)
        results[k].seconds += seconds
        if progress:
            progress(len(idx))

    def here(items: list) -> None:
        for k, idx, path in items:
            t0 = time.perf_counter()
            pos_outs, pos_errs = local(requests[k], idx)
            finish(k, idx, path, pos_outs, pos_errs, time.perf_counter() - t0)

    if pool is None or pool.n <= 1 or len(todo) < 2:
        here(todo)
        return results
    if pool.per_item is None:  # the adapter's first chunk, computed here, says whether workers pay off
        t0 = time.perf_counter()
        here(todo[:1])
        pool.per_item = (time.perf_counter() - t0) / max(1, len(todo[0][1]))
        todo = todo[1:]
    if len(todo) < 2 or pool.per_item * sum(len(idx) for _, idx, _ in todo) < min_parallel_seconds():
        here(todo)
        return results
    try:
        _run_parallel(requests, todo, pool, finish, here)
    except BaseException:  # a failure or an interrupt: stop the other workers now, not after their chunk
        pool.close(kill=True)
        raise
    return results


def _run_parallel(requests: list[Request], todo: list, pool: WorkerPool, finish: Callable,
                  here: Callable[[list], None]) -> None:
    """Share the chunks between the workers and this process, writing each as it completes.

    A feeder thread keeps each worker supplied: it hands out the next chunk the moment a worker's
    chunk completes, so the workers never wait for this process to finish a chunk of its own (the
    chunks of one split differ in cost: a worker once idled a quarter of the time that way). This
    process takes chunks from the same queue, and between two of them writes what the workers
    finished. Only the feeder submits and only this thread writes, so results land in one place."""
    queue: deque = deque(todo)
    lock = threading.Lock()
    finished: SimpleQueue = SimpleQueue()  # (item, future) of finished chunks; None when the feeder ends
    stop = threading.Event()

    def take():
        with lock:
            return queue.popleft() if queue else None

    def feed() -> None:
        running: dict[Future, tuple[int, list[int], Any]] = {}
        try:
            while True:
                while len(running) < pool.processes * AHEAD and not stop.is_set():
                    item = take()
                    if item is None:
                        break
                    req = requests[item[0]]
                    running[pool.submit([req.paths[i] for i in item[1]], req.lang)] = item
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    finished.put((running.pop(fut), fut))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            finished.put((None, exc))
        finally:
            finished.put(None)

    def collect(item, fut) -> None:
        if item is None:  # the feeder itself failed
            raise fut
        try:
            outs, errs, seconds = fut.result()  # an adapter's exception is raised here, in the main process
        except BrokenProcessPool:
            raise BenchError(WORKER_DIED) from None
        finish(*item, outs, errs, seconds)

    feeder = threading.Thread(target=feed, name="xsb-feeder", daemon=True)
    feeder.start()
    try:
        ended = False
        while True:
            while not finished.empty():
                got = finished.get()
                if got is None:
                    ended = True
                    continue
                collect(*got)
            item = take()
            if item is None:
                break
            here([item])
        while not ended:  # the workers' last chunks
            got = finished.get()
            if got is None:
                ended = True
            else:
                collect(*got)
    finally:
        stop.set()
        with lock:
            queue.clear()


def _place(outcome: Outcome, idx: list[int], outs: list, errs: dict[str, str]) -> None:
    for j, i in enumerate(idx):
        outcome.outputs[i] = outs[j]
    outcome.errors.update(errs)
