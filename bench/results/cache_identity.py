"""What identifies an adapter's outputs beyond its weights: settings, source code, package versions.

Used by ``Adapter.cache_key``: a fix to a prompt, a post-processor or a decoding setting, or an
upgrade of transformers or an OCR engine, must never reuse outputs computed before it.

- ``class_settings``: the plain-data class attributes an adapter class defines or inherits outside
  the core (``bench``): prompts, crop counts, generation settings and the like.
- ``code_identity``: a hash of the source files of the adapter's class and its bases outside the
  core, plus every module they import (found in the source, followed transitively) from the same
  top-level package or from a first-party package beside it: ``adapters/_prompts.py`` for the
  vision LLMs, ``ours/model.py`` and what it imports for our model. The core (``bench``) and
  installed distributions are covered by ``package_versions`` instead.
- ``package_versions``: the installed versions of the distributions behind ``requires_modules`` and
  ``cache_packages`` of the class and of every base (a subclass adds modules, never drops its
  base's: the embedders' torch and transformers stay keyed when one names einops) and the image
  stack (numpy, Pillow).
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import json
import os
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

CORE_PACKAGE = "bench"
ALWAYS_PACKAGES = ("numpy", "PIL")  # image decoding and array handling decide every adapter's inputs
SKIP_ATTRS = {"card", "requires_modules", "cache_packages"}
_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,]+)"
                     r"|^[ \t]*import[ \t]+([\w.]+)", re.MULTILINE)


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


@cache
def _top_locations(top: str) -> tuple[str, ...]:
    """Where top-level module ``top`` lives (its package folders, or its file), without importing it."""
    mod = sys.modules.get(top)
    spec = getattr(mod, "__spec__", None) if mod is not None else None
    if spec is None:
        try:
            spec = importlib.util.find_spec(top)  # a top-level name: finds, does not import
        except (ImportError, ValueError, AttributeError):
            return ()
    if spec is None:
        return ()
    if spec.submodule_search_locations:
        return tuple(spec.submodule_search_locations)
    return (spec.origin,) if spec.origin else ()


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``, found by path (importing nothing), or None."""
    mod = sys.modules.get(name)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if origin:
        return Path(origin) if origin.endswith(".py") else None
    top, _, rest = name.partition(".")
    for loc in _top_locations(top):
        if not rest:
            path = Path(loc) / "__init__.py" if Path(loc).is_dir() else Path(loc)
        else:
            if not Path(loc).is_dir():
                continue
            base = Path(loc).joinpath(*rest.split("."))
            path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if path.suffix == ".py" and path.is_file():
            return path
    return None


_INSTALLED = ("site-packages", "dist-packages")


@cache
def _local_top(top: str, local_root: Path | None) -> bool:
    """Is top-level package ``top`` first-party code beside the adapter's package (e.g. ``ours``
    beside ``adapters`` in this repository), not the core and not an installed distribution? Found
    without importing it."""
    if local_root is None or top == CORE_PACKAGE:
        return False
    for w in _top_locations(top):
        if not w or not os.path.isabs(w) or not os.path.exists(w):  # "frozen", "built-in"
            continue
        path = Path(w).resolve()
        if path.is_relative_to(local_root) and not set(path.parts) & set(_INSTALLED):
            return True
    return False


def _imported_modules(source: str, module: str, package: str, local_root: Path | None) -> set[str]:
    """Modules that ``module``'s source imports (anywhere in it) from its own top-level package or
    from first-party packages beside it (``_local_top``)."""
    top = package.split(".")[0] if package else ""
    found: set[str] = set()
    for frm, names, plain in _IMPORT.findall(source):
        if plain:
            candidates = [plain]
        else:
            try:
                base = importlib.util.resolve_name(frm, package) if frm.startswith(".") else frm
            except (ImportError, ValueError):
                continue
            # "from . import x" / "from .pkg import y": y may be a module or a name in base
            listed = [n.split()[0] for n in names.strip("()").split(",") if n.strip() and not n.strip().startswith("#")]
            candidates = [base] + [f"{base}.{n}" for n in listed]
        for cand in candidates:
            ctop = cand.split(".")[0]
            own = bool(top) and ctop == top
            if (own or _local_top(ctop, local_root)) and cand != module and _module_file(cand):
                found.add(cand)
    return found


def _local_root(module: str) -> Path | None:
    """The folder holding the adapter's top-level package, unless that is an install location
    (then only the adapter's own package counts)."""
    path = _module_file(module.split(".")[0])
    if path is None:
        return None
    parent = (path.parent.parent if path.name == "__init__.py" else path.parent).resolve()
    return None if parent.name in _INSTALLED else parent


@cache
def _code_identity(cls: type) -> str:
    modules = [k.__module__ for k in cls.__mro__ if _outside_core(k)]
    local_root = _local_root(cls.__module__)
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
        queue += sorted(_imported_modules(path.read_text(encoding="utf-8", errors="replace"), name, package,
                                          local_root))
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


def declared_modules(cls: type, attr: str) -> tuple[str, ...]:
    """The union of ``attr`` (``requires_modules``/``cache_packages``) over ``cls`` and its bases."""
    mods: list[str] = []
    for klass in reversed(cls.__mro__):
        mods += vars(klass).get(attr, ())
    return tuple(dict.fromkeys(mods))


def package_versions(cls: type) -> dict[str, str | None]:
    """Installed versions of what the adapter runs on (None where a module has no distribution)."""
    mods = [*declared_modules(cls, "requires_modules"), *declared_modules(cls, "cache_packages"), *ALWAYS_PACKAGES]
    return {m: _version_of(m) for m in dict.fromkeys(mods)}
