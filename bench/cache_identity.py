"""What identifies an adapter's outputs beyond its weights: settings, source code, package versions.

Used by ``Adapter.cache_key``: a fix to a prompt, a post-processor or a decoding setting, or an
upgrade of transformers or an OCR engine, must never reuse outputs computed before it.

- ``class_settings``: the plain-data class attributes an adapter class defines or inherits outside
  the core (``bench``): prompts, crop counts, generation settings and the like.
- ``code_identity``: a hash of the source files of the adapter's class and its bases outside the
  core, plus every module of the same top-level package they import (relative or absolute, found in
  the source, followed transitively: ``adapters/_prompts.py`` for the vision LLMs).
- ``package_versions``: the installed versions of the distributions behind ``requires_modules``,
  ``cache_packages`` and the image stack (numpy, Pillow).
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

CORE_PACKAGE = "bench"
ALWAYS_PACKAGES = ("numpy", "PIL")  # image decoding and array handling decide every adapter's inputs
SKIP_ATTRS = {"card", "requires_modules", "cache_packages"}
_IMPORT = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+\(?([\w\s,]+)\)?|^\s*import\s+([\w.]+)", re.MULTILINE)


def stable_hash(obj: Any) -> str:
    """Short hash of a JSON-able value (keys sorted; other objects by ``repr``)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, (tuple, list, frozenset, set)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _outside_core(klass: type) -> bool:
    mod = klass.__module__ or ""
    return klass is not object and mod != "builtins" and mod != "abc" and \
        mod != CORE_PACKAGE and not mod.startswith(CORE_PACKAGE + ".")


def class_settings(cls: type) -> dict[str, Any]:
    """Public plain-data class attributes of ``cls`` and its bases outside the core (subclass wins)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not _outside_core(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in SKIP_ATTRS or not _plain(value):
                continue
            out[name] = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
    return out


def _module_file(name: str) -> Path | None:
    mod = sys.modules.get(name)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imported_modules(source: str, module: str, package: str) -> set[str]:
    """Modules of the same top-level package that ``module``'s source imports (anywhere in it)."""
    top = package.split(".")[0] if package else ""
    found: set[str] = set()
    if not top:
        return found
    for frm, names, plain in _IMPORT.findall(source):
        if plain:
            candidates = [plain]
        else:
            try:
                base = importlib.util.resolve_name(frm, package) if frm.startswith(".") else frm
            except (ImportError, ValueError):
                continue
            # "from . import x" / "from .pkg import y": y may be a module or a name in base
            candidates = [base] + [f"{base}.{n.strip()}" for n in names.split(",") if n.strip()]
        for cand in candidates:
            if (cand == top or cand.startswith(top + ".")) and cand != module and _module_file(cand):
                found.add(cand)
    return found


@cache
def _code_identity(cls: type) -> str:
    modules = [k.__module__ for k in cls.__mro__ if _outside_core(k)]
    seen: dict[str, Path] = {}
    queue = list(dict.fromkeys(modules))
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None or not path.is_file():
            continue
        seen[name] = path
        mod = sys.modules.get(name)
        package = getattr(mod, "__package__", None) or (name.rpartition(".")[0] if "." in name else "")
        if (mod is not None and hasattr(mod, "__path__")) or path.name == "__init__.py":
            package = name
        queue += sorted(_imported_modules(path.read_text(encoding="utf-8", errors="replace"), name, package))
    h = hashlib.sha256()
    for name in sorted(seen):
        h.update(name.encode() + b"\0" + seen[name].read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_identity(cls: type) -> str:
    """Hash of the source files that make up adapter class ``cls`` (computed once per process)."""
    return _code_identity(cls)


@cache
def _distributions() -> dict[str, list[str]]:
    try:
        return md.packages_distributions()
    except Exception:  # noqa: BLE001 - broken metadata of one package must not stop a run
        return {}


def _version_of(module: str) -> str | None:
    top = module.split(".")[0]
    dists = _distributions().get(top) or [top]
    for dist in dists:
        try:
            return f"{dist}=={md.version(dist)}"
        except md.PackageNotFoundError:
            continue
    mod = sys.modules.get(top)
    ver = getattr(mod, "__version__", None)
    return f"{top}=={ver}" if ver else None


def package_versions(cls: type) -> dict[str, str | None]:
    """Installed versions of what the adapter runs on (None where a module has no distribution)."""
    mods = [*getattr(cls, "requires_modules", ()), *getattr(cls, "cache_packages", ()), *ALWAYS_PACKAGES]
    return {m: _version_of(m) for m in dict.fromkeys(mods)}
