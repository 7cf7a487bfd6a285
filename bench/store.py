"""The results store: ``results/runs/<run-id>/`` with atomic writes; a job is the unit of resume.

Layout of a run folder:
  run.json                        the run's fixed config and every invocation's provenance
  adapters/<adapter>.json         status, card, parameters, latency of each adapter in the run
  jobs/<adapter>/<split>/<task>.json              metrics (written last: its presence = done)
  jobs/<adapter>/<split>/<task>.predictions.jsonl.gz   per-query top-k, scores, target rank
A file is written to a temporary name (``.<name>.<random>.tmp``, never matched by the readers'
globs) and renamed into place, so a crash never leaves a half-written file under a final name, and
a job counts as finished only when its metrics exist. Adapter records are read-merge-written under
a lock because the units of one adapter may run at once on a cluster (bench/executor_ray.py).
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import BenchError

DEFAULT_RESULTS_DIR = Path("results")
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)  # mkstemp's 0600 hides results from other users
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
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


@dataclass
class RunStore:
    """One run folder."""

    root: Path

    @classmethod
    def open(cls, results_dir: Path, run_id: str, create: bool = True) -> "RunStore":
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
        return read_json(p) if p.is_file() else None

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.root / "run.json", manifest)

    # adapters -----------------------------------------------------------------------------
    def adapter_path(self, adapter: str) -> Path:
        return self.root / "adapters" / f"{adapter}.json"

    def read_adapter(self, adapter: str) -> dict | None:
        p = self.adapter_path(adapter)
        return read_json(p) if p.is_file() else None

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

    # jobs -----------------------------------------------------------------------------------
    def job_path(self, adapter: str, split: str, task: str) -> Path:
        return self.root / "jobs" / adapter / split / f"{task}.json"

    def read_job(self, adapter: str, split: str, task: str) -> dict | None:
        """A job's record, or None when there is none (or it cannot be parsed: never trusted)."""
        p = self.job_path(adapter, split, task)
        if not p.is_file():
            return None
        try:
            rec = read_json(p)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return rec if isinstance(rec, dict) else None

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

    def write_embedding_sample(self, adapter: str, split: str, arrays: dict) -> None:
        """A small sample of embeddings (for the embedding map), beside the geometry job."""
        import io

        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(self.root / "jobs" / adapter / split / "geometry.sample.npz", buf.getvalue())

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
        base = self.root / "jobs"
        if not base.is_dir():
            return
        for p in sorted(base.glob("*/*/*.json")):
            try:
                rec = read_json(p)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            rec.setdefault("run_id", self.run_id)
            yield rec


def list_runs(results_dir: Path) -> list[RunStore]:
    base = Path(results_dir) / "runs"
    if not base.is_dir():
        return []
    return [RunStore(p) for p in sorted(base.iterdir()) if (p / "run.json").is_file()]
