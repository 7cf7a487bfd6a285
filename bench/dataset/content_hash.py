"""Content hashes of a dataset's image files (BLAKE2b of the bytes), kept in a sidecar per folder.

A file is hashed again when its size, mtime, ctime or inode change, so an image rewritten with the
same byte size is never taken for the old one. Files that cannot be hashed (outside the folder,
not regular, unreadable) are refused with a reason.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from ..errors import ResultsNotWritable
from ..results.store import atomic_write_bytes

HASH_SIDECAR_VERSION = 1
_READ_CHUNK = 1 << 20


def sidecar_path(root: Path, sidecar_dir: Path | None = None) -> Path:
    """The sidecar of one dataset folder: under ``sidecar_dir``, default the output cache's ``content/``."""
    from ..results.cache import default_cache_dir

    base = Path(sidecar_dir or default_cache_dir() / "content")
    return base / f"{hashlib.sha256(str(root).encode('utf-8')).hexdigest()[:20]}.json"


def read_sidecar(path: Path, root: Path) -> dict:
    """The sidecar's entries by path ({} when missing, damaged, of another version or another folder)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: hash again, never trust
    if not isinstance(data, dict) or data.get("version") != HASH_SIDECAR_VERSION or data.get("root") != str(root):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def write_sidecar(path: Path, root: Path, files: dict) -> None:
    """Replace the sidecar atomically; a cache that cannot be written is no error."""
    data = {"version": HASH_SIDECAR_VERSION, "root": str(root), "files": files}
    try:
        atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (OSError, ResultsNotWritable):  # atomic_write_bytes turns OSError into ResultsNotWritable
        pass  # a read-only or full cache only costs hashing again next time


def hash_file(root: Path, rel: str, known: list | None) -> tuple[str, str, list | None]:
    """("ok", hash, sidecar entry) or ("refused", reason, None) for one manifest path.

    The same rules as ``Dataset.load_image``: the resolved file must lie inside the folder and be a
    regular file; it is opened without blocking and checked again after opening (a file swapped for
    a FIFO between the two checks is refused, not waited on)."""
    try:
        path = os.path.realpath(os.path.join(root, rel))  # strings: pathlib costs 2x on large folders
    except (OSError, RuntimeError, ValueError) as exc:
        return "refused", f"cannot resolve path ({exc})", None
    base = str(root)
    if not path.startswith(base.rstrip(os.sep) + os.sep):
        return "refused", "path resolves outside the dataset folder (symlink?)", None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "refused", "file not found", None
    except OSError as exc:
        return "refused", f"cannot stat ({exc.strerror or exc})", None
    if not stat.S_ISREG(st.st_mode):
        return "refused", "not a regular file", None
    real = Path(os.path.relpath(path, base)).as_posix()
    stamp = [real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    if isinstance(known, list) and known[:-1] == stamp:
        return "ok", str(known[-1]), known
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return "refused", f"cannot open ({exc.strerror or exc})", None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "refused", "not a regular file", None
        h = hashlib.blake2b(digest_size=16)
        while True:
            block = os.read(fd, _READ_CHUNK)
            if not block:
                break
            h.update(block)
    except OSError as exc:
        return "refused", f"cannot read ({exc.strerror or exc})", None
    finally:
        os.close(fd)
    return "ok", h.hexdigest(), [*stamp, h.hexdigest()]
