"""On-disk cache of adapter outputs, written in chunks so a crash loses at most one chunk.

Outputs (transcriptions or embeddings) are keyed by the adapter's cache key (model, revision,
weights folder, settings, its source code and package versions: ``Adapter.cache_key``), what kind
of input was encoded, and, per chunk, the exact items in it: the content hashes of the images (see
``bench.dataset``) or the gallery words. So a changed image, prompt, adapter file or package
version never reuses an old output, while re-runs, new tasks and the six cross-language directions
do reuse them.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import ResultsNotWritable
from .store import atomic_write_bytes

EncodeFn = Callable[[Sequence[int]], tuple[list, dict[int, str]]]


def default_cache_dir() -> Path:
    env = os.environ.get("XSB_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "xscript-bench" / "outputs"


CONTENT_HASH_BYTES = 32 * 1024 * 1024  # files up to this size are hashed by content


def folder_identity(path: Path) -> str:
    """A short hash of every file in a local model folder: new weights or a new template, new key.

    Every file counts, whatever its suffix, because processors and models read more than weights
    (``chat_template.jinja``, ``*.tiktoken``, ``spiece.model``, ``vocab.txt``, ...). Files up to
    ``CONTENT_HASH_BYTES`` are hashed by content; larger ones (weights) by size and mtime, since
    reading multi-GB weights on each run would be slow and replacing a file changes both. Hidden
    entries (``.git``, the ``.cache`` of ``hf download --local-dir``) are no model's input.
    """
    root = Path(path).resolve()
    h = hashlib.sha256(str(root).encode())
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    for f in files:
        st = f.stat()
        rel = f.relative_to(root).as_posix()
        if st.st_size <= CONTENT_HASH_BYTES:
            h.update(f"{rel}:{hashlib.sha256(f.read_bytes()).hexdigest()}".encode())
        else:
            h.update(f"{rel}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def key_hash(*parts: object) -> str:
    h = hashlib.sha256(json.dumps([str(p) for p in parts], ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()[:24]


@dataclass
class CacheStats:
    computed: int = 0
    cached: int = 0
    seconds: float = 0.0  # wall time spent computing (not loading from cache)


class OutputCache:
    """Chunked store of per-item outputs. ``kind`` is "text" (strings) or "array" (float32 rows)."""

    def __init__(self, root: Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.enabled = enabled
        self._warned = False

    def chunks(self, key: str, ids: Sequence[str], kind: str, chunk: int) -> list[tuple[list[int], Path]]:
        """The chunks of ``ids`` under ``key``: (item indices, chunk file), in order.

        A chunk's file is named by its exact items, in order; names depend on the key, the chunk
        size, the kind and the items only, never on who computes them, so one worker or many read
        and write the same chunks."""
        folder = self.root / key_hash(key, chunk, kind)
        ext = "json" if kind == "text" else "npz"
        out = []
        for start in range(0, len(ids), chunk):
            idx = list(range(start, min(start + chunk, len(ids))))
            out.append((idx, folder / f"chunk-{key_hash(*[ids[i] for i in idx])}.{ext}"))
        return out

    def read_chunk(self, path: Path, ids: list[str], kind: str):
        """(outputs, errors by id) of a stored chunk, or None when absent, damaged, or caching is off."""
        return self._read(path, ids, kind) if self.enabled else None

    def write_chunk(self, path: Path, ids: list[str], outs: list, errs: dict[str, str], kind: str) -> None:
        """Store a chunk; a cache folder that is read-only or full is said once and the run goes on
        uncached (the cache saves time, it never decides or stops a result)."""
        if not self.enabled:
            return
        try:
            self._write(path, ids, outs, errs, kind)
        except ResultsNotWritable as exc:
            if not self._warned:
                self._warned = True
                print(f"warning: output cache not written ({exc}); outputs are computed but not cached",
                      file=sys.stderr, flush=True)

    def get_or_compute(self, key: str, ids: Sequence[str], fn: EncodeFn, kind: str, chunk: int = 256,
                       progress: Callable[[int], None] | None = None) -> tuple[list, dict[str, str], CacheStats]:
        """Outputs aligned with ``ids`` (None where an item failed), errors by id, and stats.

        ``fn(indices)`` returns (outputs for those indices, {index: error} for failed items).
        """
        outputs: list = [None] * len(ids)
        errors: dict[str, str] = {}
        stats = CacheStats()
        for idx, path in self.chunks(key, ids, kind, chunk):
            chunk_ids = [ids[i] for i in idx]
            got = self.read_chunk(path, chunk_ids, kind)
            if got is None:
                t0 = time.perf_counter()
                outs, errs = fn(idx)
                stats.seconds += time.perf_counter() - t0
                stats.computed += len(idx)
                chunk_errs = {ids[i]: e for i, e in errs.items()}
                self.write_chunk(path, chunk_ids, outs, chunk_errs, kind)
                got = (outs, chunk_errs)
            else:
                stats.cached += len(idx)
            outs, errs = got
            for j, i in enumerate(idx):
                outputs[i] = outs[j]
            errors.update(errs)
            if progress:
                progress(len(idx))
        return outputs, errors, stats

    @staticmethod
    def _write(path: Path, ids: list[str], outs: list, errs: dict[str, str], kind: str) -> None:
        if kind == "text":
            data = json.dumps({"ids": ids, "outputs": outs, "errors": errs}, ensure_ascii=False)
            atomic_write_bytes(path, data.encode("utf-8"))
            return
        dim = next((len(o) for o in outs if o is not None), 0)
        arr = np.stack([np.asarray(o, dtype=np.float32) if o is not None else np.full(dim, np.nan, np.float32)
                        for o in outs]) if outs else np.zeros((0, 0), np.float32)
        buf = io.BytesIO()
        np.savez(buf, ids=np.array(ids, dtype=str), outputs=arr,
                 errors=np.array([json.dumps(errs, ensure_ascii=False)], dtype=str))
        atomic_write_bytes(path, buf.getvalue())

    @staticmethod
    def _read(path: Path, ids: list[str], kind: str):
        if not path.is_file():
            return None
        try:
            if kind == "text":
                d = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(d, dict) or d.get("ids") != ids:
                    return None
                outs, errs = d.get("outputs"), d.get("errors")
                if not isinstance(outs, list) or len(outs) != len(ids) or not isinstance(errs, dict):
                    return None
                return outs, errs
            with np.load(path, allow_pickle=False) as z:
                if z["ids"].tolist() != ids:
                    return None
                errs = json.loads(str(z["errors"][0]))
                arr = z["outputs"]
            if not isinstance(errs, dict) or arr.ndim != 2 or len(arr) != len(ids):
                return None
            outs = [None if ids[i] in errs else arr[i] for i in range(len(ids))]
            return outs, errs
        except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile):
            return None  # any damaged chunk (cut short, not a zip, wrong shape) is recomputed, never trusted
