"""The adapter registry: built-ins register with a decorator, third parties via entry points.

A new baseline is one class in one file. Built-in modules live in the ``adapters`` package and are
discovered by listing it; third-party packages declare an entry point in the group
``xscript_bench.adapters`` pointing at their adapter class (or at a module that registers it).
Module imports must stay light: heavy libraries are imported inside the adapter's methods.

The package holds what an adapter is made of: the interface (``adapter``), its card (``card``), the
options it is loaded with (``options``) and the checks that say whether it can run (``availability``).
Plug-ins import them through the stable paths ``bench.adapter`` and ``bench.availability``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import pkgutil
from typing import TypeVar

from ..errors import BenchError
from .adapter import Adapter

ENTRY_POINT_GROUP = "xscript_bench.adapters"
A = TypeVar("A", bound=type[Adapter])

_REGISTRY: dict[str, type[Adapter]] = {}
_BROKEN: dict[str, str] = {}  # plug-ins that failed to import: name -> reason
_discovered = False


def register(cls: A) -> A:
    """Class decorator: add an adapter class to the registry under its card's name."""
    card = getattr(cls, "card", None)
    if card is None:
        raise TypeError(f"{cls.__name__} has no card")
    existing = _REGISTRY.get(card.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"adapter name {card.name!r} registered twice ({existing.__module__}, {cls.__module__})")
    _REGISTRY[card.name] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    import adapters

    for mod in sorted(pkgutil.iter_modules(adapters.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"adapters.{mod.name}")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the harness
            _BROKEN[ep.name] = f"plug-in {ep.value} failed to import: {type(exc).__name__}: {exc}"
            continue
        if isinstance(obj, type) and issubclass(obj, Adapter):
            register(obj)


def all_adapters() -> dict[str, type[Adapter]]:
    """Registered adapters by name, in registration order."""
    _discover()
    return dict(_REGISTRY)


def broken_plugins() -> dict[str, str]:
    _discover()
    return dict(_BROKEN)


def get(name: str) -> type[Adapter]:
    """Look an adapter up by name, with a one-line error that suggests close names."""
    reg = all_adapters()
    if name in reg:
        return reg[name]
    if name in _BROKEN:
        raise BenchError(f"adapter {name!r} is broken: {_BROKEN[name]}")
    close = difflib.get_close_matches(name, list(reg), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `bench list` shows them all"
    raise BenchError(f"unknown adapter {name!r}{hint}")


def resolve(spec: str) -> list[str]:
    """'all', a comma list of names, or family:<family> selectors, in registry order."""
    reg = all_adapters()
    names: list[str] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part == "all":
            names += list(reg)
        elif part.startswith("family:"):
            fam = part.split(":", 1)[1]
            hits = [n for n, c in reg.items() if c.card.family == fam]
            if not hits:
                raise BenchError(f"no adapters of family {fam!r}")
            names += hits
        else:
            get(part)
            names.append(part)
    if not names:
        raise BenchError("no adapters selected (use --adapters all or a comma list)")
    return list(dict.fromkeys(names))
