"""The results store: ``results/runs/<run-id>/`` with atomic writes; a job is the unit of resume.

Layout of a run folder:
  run.json                        the run's fixed config and every invocation's provenance
  adapters/<adapter>.json         status, card, parameters, latency of each adapter in the run
  jobs/<adapter>/<split>/<task>.json              metrics (written last: its presence = done)
  jobs/<adapter>/<split>/<task>.predictions.jsonl.gz   per-query top-k, scores, target rank
A file is written to a temporary name (``.<name>.<random>.tmp``, never matched by the readers'
globs) and renamed into place, so a crash never leaves a half-written file under a final name, and
a job counts as finished only when its metrics exist. Adapter records are read-merge-written under
a lock because the units of one adapter may run at once on a cluster (bench/run/executors/ray.py).

Several processes may share a run folder (two `bench run`s at once, Ray workers): ``run.json`` is
read-modified-written under a lock, so every invocation is recorded, and a unit of work is
*claimed* (``try_claim``/``claim``) by one process at a time. Claims and locks are ``flock``s on
files under ``.claims/``: the kernel drops them when their process dies, even by ``kill -9``, so a
killed run never leaves a job stuck. Every name that becomes a path component (run id, adapter,
split, task) is checked by ``check_name``: nothing is ever written outside the results folder.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import BenchError, ResultsNotWritable
from .records import AdapterRecord, JobRecord, RecordError

DEFAULT_RESULTS_DIR = Path("results")
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename; a disk that is full or
    read-only raises ResultsNotWritable (one line) and leaves no temporary file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ResultsNotWritable(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)  # mkstemp's 0600 hides results from other users
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ResultsNotWritable(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable: without this a power loss can forget a finished job."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: object, what: str) -> str:
    """``name`` if it is safe as one path component, else a one-line BenchError saying why: no
    absolute names, no ``/`` or ``\\`` (which would split or escape the folder), no leading dot
    (``.``, ``..``, hidden files), no control characters, at most 120 characters."""
    if not isinstance(name, str):
        raise BenchError(f"{what} must be a string, got {type(name).__name__} {name!r}")
    why = ""
    if not name.strip():
        why = "it is empty"
    elif name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        why = "it is an absolute path"
    elif "/" in name or "\\" in name:
        why = "it contains a path separator (/ or \\)"
    elif name.startswith("."):
        why = "it starts with '.' (., .. and hidden names are refused)"
    elif _CONTROL.search(name):
        why = "it contains control characters"
    elif name != name.strip():
        why = "it starts or ends with whitespace"
    elif len(name) > 120:
        why = "it is longer than 120 characters"
    if why:
        raise BenchError(f"{what} {name!r} cannot name a folder: {why}")
    return name


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) between processes sharing the results folder."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: single-process use only
        yield
        return
    with open(lock_path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class Claim:
    """An exclusive claim on one unit of work, held as an flock until ``release`` (or death)."""

    def __init__(self, path: Path, blocking: bool) -> None:
        import fcntl

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a+b")
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BaseException:  # BlockingIOError when held elsewhere, or an interrupt while waiting
            self._f.close()
            raise
        self._f.seek(0)
        self._f.truncate()
        self._f.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}".encode())
        self._f.flush()

    def release(self) -> None:
        if not self._f.closed:
            self._f.close()  # closing the descriptor drops the flock


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=2, default=_jsonable).encode("utf-8"))


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_record(path: Path) -> Any:
    """Parsed JSON of a stored record. Writes are atomic, so a file that does not parse was damaged
    afterwards (a copy cut short, a disk error): a RecordError naming it, never silently skipped."""
    try:
        return read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"damaged record {path} ({type(exc).__name__}: {str(exc)[:80]}); restore it, "
                          "or delete it to recompute what it held") from None


@dataclass
class RunStore:
    """One run folder."""

    root: Path

    @classmethod
    def open(cls, results_dir: Path, run_id: str, create: bool = True) -> "RunStore":
        check_name(run_id, "run id")
        root = Path(results_dir) / "runs" / run_id
        if not create and not (root / "run.json").is_file():
            raise BenchError(f"no run {run_id!r} under {Path(results_dir) / 'runs'}")
        return cls(root)

    @property
    def run_id(self) -> str:
        return self.root.name

    # run manifest -------------------------------------------------------------------------
    def read_manifest(self) -> dict | None:
        p = self.root / "run.json"
        man = read_record(p) if p.is_file() else None
        if man is not None and not isinstance(man, dict):
            raise RecordError(f"damaged record {p}: expected a JSON object, got {type(man).__name__}")
        return man

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.root / "run.json", manifest)

    def add_invocation(self, invocation: dict, new_manifest: Callable[[], dict],
                       check: Callable[[dict], None]) -> dict:
        """Append ``invocation`` to run.json under the run's lock (creating run.json with
        ``new_manifest()`` when absent, else ``check``ing it), so concurrent runs lose no record."""
        with _locked(self.root / ".claims" / "run.json.lock"):
            manifest = self.read_manifest()
            if manifest is None:
                manifest = new_manifest()
            else:
                check(manifest)
            manifest.setdefault("invocations", []).append(invocation)
            self.write_manifest(manifest)
        return manifest

    def update_invocation(self, invocation_id: str, fields: dict) -> None:
        """Merge ``fields`` (e.g. the end time) into this run's invocation ``invocation_id``."""
        with _locked(self.root / ".claims" / "run.json.lock"):
            manifest = self.read_manifest() or {}
            for inv in manifest.get("invocations", []):
                if inv.get("id") == invocation_id:
                    inv.update(fields)
            self.write_manifest(manifest)

    # claims: one process at a time per unit of work ---------------------------------------------
    def _claim_path(self, key: str) -> Path:
        parts = [check_name(p, "claim key part") for p in key.split("/")]
        return self.root.joinpath(".claims", *parts[:-1], f"{parts[-1]}.lock")

    def try_claim(self, key: str) -> Claim | None:
        """The claim on ``key`` ("adapter/split/lang"), or None when another process holds it."""
        try:
            return Claim(self._claim_path(key), blocking=False)
        except BlockingIOError:
            return None

    def claim(self, key: str) -> Claim:
        """The claim on ``key``, waiting for the process that holds it to release it (or die)."""
        return Claim(self._claim_path(key), blocking=True)

    def claim_holder(self, key: str) -> str:
        """Who holds ``key`` (as written by the holder), for messages."""
        try:
            return self._claim_path(key).read_text(encoding="utf-8", errors="replace").strip() or "another process"
        except OSError:
            return "another process"

    def claim_busy(self, key: str) -> bool:
        claim = self.try_claim(key)
        if claim is None:
            return True
        claim.release()
        return False

    # adapters -----------------------------------------------------------------------------
    def adapter_path(self, adapter: str) -> Path:
        return self.root / "adapters" / f"{check_name(adapter, 'adapter name')}.json"

    def read_adapter(self, adapter: str) -> dict | None:
        p = self.adapter_path(adapter)
        return read_record(p) if p.is_file() else None

    def write_adapter(self, adapter: str, record: dict) -> None:
        atomic_write_json(self.adapter_path(adapter), record)

    def update_adapter(self, adapter: str, record: dict) -> dict:
        """Merge ``record`` into the stored one (``throughput`` entries are merged too), so units
        of one adapter running at once never drop each other's keys. Returns the merged record."""
        path = self.adapter_path(adapter)
        with _locked(path.parent / f".{adapter}.lock"):
            merged = self.read_adapter(adapter) or {}
            throughput = {**merged.get("throughput", {}), **record.get("throughput", {})}
            merged.update(record)
            if throughput:
                merged["throughput"] = throughput
            atomic_write_json(path, merged)
        return merged

    def read_adapter_record(self, adapter: str) -> AdapterRecord | None:
        """The typed adapter record (RecordError naming the file when it is not one), or None."""
        rec = self.read_adapter(adapter)
        return None if rec is None else AdapterRecord.from_disk(rec, str(self.adapter_path(adapter)))

    def update_adapter_record(self, record: AdapterRecord) -> None:
        """Merge a typed adapter record into the stored one (see ``update_adapter``)."""
        self.update_adapter(record.adapter, record.to_disk())

    def iter_adapter_records(self) -> Iterator[AdapterRecord]:
        """Every adapter record of this run, by file name."""
        for p in sorted((self.root / "adapters").glob("*.json")):
            rec = self.read_adapter_record(p.stem)
            if rec is not None:
                yield rec

    # jobs -----------------------------------------------------------------------------------
    def job_path(self, adapter: str, split: str, task: str) -> Path:
        check_name(adapter, "adapter name"), check_name(split, "split name"), check_name(task, "task")
        return self.root / "jobs" / adapter / split / f"{task}.json"

    def read_job(self, adapter: str, split: str, task: str) -> dict | None:
        """A job's record, or None when there is none; a damaged one is a RecordError naming it."""
        p = self.job_path(adapter, split, task)
        if not p.is_file():
            return None
        rec = read_record(p)
        JobRecord.from_disk(rec, str(p))  # checks it is a job record
        return rec

    def is_done(self, adapter: str, split: str, task: str) -> bool:
        rec = self.read_job(adapter, split, task)
        return rec is not None and rec.get("status") == "done"

    def write_job(self, adapter: str, split: str, task: str, record: dict,
                  predictions: list[dict] | None = None) -> None:
        p = self.job_path(adapter, split, task)
        if predictions is not None:
            lines = "".join(json.dumps(r, ensure_ascii=False, default=_jsonable) + "\n" for r in predictions)
            atomic_write_bytes(p.with_suffix(".predictions.jsonl.gz"),
                               gzip.compress(lines.encode("utf-8"), mtime=0))
        atomic_write_json(p, record)

    def read_job_record(self, adapter: str, split: str, task: str) -> JobRecord | None:
        """The typed job record, or None when there is none (RecordError naming a damaged one)."""
        rec = self.read_job(adapter, split, task)
        return None if rec is None else JobRecord.from_disk(rec)

    def write_job_record(self, record: JobRecord, predictions: list[dict] | None = None) -> None:
        """Write a typed job record (and its predictions) under its adapter, split and task."""
        self.write_job(record.adapter, record.split, record.task, record.to_disk(), predictions)

    def iter_job_records(self) -> Iterator[JobRecord]:
        """Every job record of this run as typed records; a file that is not one raises
        RecordError naming it."""
        for p, rec in self._job_files():
            yield JobRecord.from_disk(rec, str(p))

    def write_embedding_sample(self, adapter: str, split: str, arrays: dict) -> None:
        """A small sample of embeddings (for the embedding map), beside the geometry job."""
        import io

        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(self.job_path(adapter, split, "geometry").with_name("geometry.sample.npz"), buf.getvalue())

    def read_embedding_sample(self, adapter: str, split: str) -> dict | None:
        import numpy as np

        p = self.root / "jobs" / adapter / split / "geometry.sample.npz"
        if not p.is_file():
            return None
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def read_predictions(self, adapter: str, split: str, task: str) -> list[dict]:
        p = self.job_path(adapter, split, task).with_suffix(".predictions.jsonl.gz")
        with gzip.open(p, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def iter_jobs(self) -> Iterator[dict]:
        """Every job record of this run (finished, failed or skipped)."""
        for _, rec in self._job_files():
            rec.setdefault("run_id", self.run_id)
            yield rec

    def _job_files(self) -> Iterator[tuple[Path, Any]]:
        """(path, parsed JSON) of every job file, in path order; a damaged file is a RecordError naming it."""
        base = self.root / "jobs"
        if not base.is_dir():
            return
        for p in sorted(base.glob("*/*/*.json")):
            yield p, read_record(p)


def list_runs(results_dir: Path) -> list[RunStore]:
    base = Path(results_dir) / "runs"
    if not base.is_dir():
        return []
    return [RunStore(p) for p in sorted(base.iterdir()) if (p / "run.json").is_file()]
