"""``--dataset iam:PATH`` / ``hwdb:PATH[,PATH...]``: import a real dataset into the cache on first use.

The cached folder is named by a key over the source files' sizes and times, the lexicon's bytes and
the importer version, so a changed download or lexicon makes a new import and an unchanged one is
reused. Imports land in a temporary folder first and are renamed into place, so an interrupted
import is never mistaken for a finished one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from bench.errors import BenchError
from bench.dataset.lexicon import BUILTIN_LEXICON

from .hwdb import find_sources
from .iam import locate
from .convert import IMPORTER_VERSION, ImportOptions, import_hwdb, import_iam

SCHEMES = ("iam", "hwdb")


def cache_root() -> Path:
    """``$XSB_DATA_DIR`` or ``~/.cache/xscript-bench/data`` (shared with the built-in benchmark)."""
    env = os.environ.get("XSB_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "xscript-bench" / "data"


def split_scheme(spec: str) -> tuple[str | None, str]:
    """``"iam:/data/iam"`` -> ``("iam", "/data/iam")``; a plain path -> ``(None, spec)``."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in SCHEMES and rest:
        return head.lower(), rest
    return None, spec


def resolve_dataset(spec: str | os.PathLike, progress: bool = True, lexicon: Path | None | str = "builtin",
                    root: Path | None = None) -> Path:
    """The dataset folder for ``--dataset``: a plain path as given, a scheme imported (once) into the cache.

    ``lexicon`` defaults to the built-in one (looked up at call time); None imports without one."""
    scheme, rest = split_scheme(os.fspath(spec))
    if scheme is None:
        return Path(rest)
    if lexicon == "builtin":
        lexicon = BUILTIN_LEXICON
    paths = [p for p in rest.split(",") if p] if scheme == "hwdb" else [rest]
    key = cache_key(scheme, paths, lexicon)
    parent = Path(root) if root is not None else cache_root()
    final = parent / f"{scheme}-{key}"
    if (final / "manifest.csv").is_file():
        return final
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".importing-{scheme}-", dir=parent))
    try:
        opts = ImportOptions(lexicon=lexicon, progress=progress)
        out = tmp / "ds"
        if scheme == "iam":
            import_iam(paths[0], out, opts)
        else:
            import_hwdb(paths, out, opts)
        try:
            os.rename(out, final)
        except OSError:
            if not (final / "manifest.csv").is_file():  # lost a race to a finished import: use that one
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def cache_key(scheme: str, paths: list[str], lexicon: Path | None) -> str:
    """Hash of what decides the import's content: source file stats, lexicon bytes, importer version."""
    files: list[Path]
    if scheme == "iam":
        layout = locate(paths[0])
        files = [layout.words_txt, layout.images] + ([layout.forms_txt] if layout.forms_txt else [])
    else:
        files = sorted({s.path for s in find_sources(paths)})
    stats = []
    for f in files:
        st = f.stat()
        stats.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    lex = None
    if lexicon is not None:
        if not Path(lexicon).is_file():
            raise BenchError(f"lexicon not found: {lexicon} (the built-in lexicon is not built yet?)")
        lex = hashlib.sha256(Path(lexicon).read_bytes()).hexdigest()
    blob = json.dumps({"scheme": scheme, "files": stats, "lexicon": lex, "v": IMPORTER_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
