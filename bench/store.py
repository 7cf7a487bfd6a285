"""The results store: ``results/runs/<run-id>/`` with atomic writes; a job is the unit of resume.

Layout of a run folder:
  run.json                        the run's fixed config and every invocation's provenance
  adapters/<adapter>.json         status, card, parameters, latency of each adapter in the run
  jobs/<adapter>/<split>/<task>.json              metrics (written last: its presence = done)
  jobs/<adapter>/<split>/<task>.predictions.jsonl.gz   per-query top-k, scores, target rank
A file is written to a temporary name and renamed into place, so a crash never leaves a
half-written file under a final name, and a job counts as finished only when its metrics exist.
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import BenchError

DEFAULT_RESULTS_DIR = Path("results")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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

    # jobs -----------------------------------------------------------------------------------
    def job_path(self, adapter: str, split: str, task: str) -> Path:
        return self.root / "jobs" / adapter / split / f"{task}.json"

    def is_done(self, adapter: str, split: str, task: str) -> bool:
        p = self.job_path(adapter, split, task)
        if not p.is_file():
            return False
        try:
            return read_json(p).get("status") == "done"
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False

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
