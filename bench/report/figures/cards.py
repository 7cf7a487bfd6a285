"""How figures present an adapter, read from its card: featured (drawn as a star, mapped first) and
which model it is a variant of. The harness never tests an adapter's name for this.

A run stores each adapter's card; a run stored before a presentation field existed gets that field
from the registered adapter of the same name, so old runs draw as they always did.
"""
from __future__ import annotations

from typing import Any, Iterable

from ... import registry
from ...registry.card import FAMILY_GROUPS, AdapterCard

PRESENTATION_FIELDS = ("featured", "variant_of")


def presented_cards(names: Iterable[str], adapters: list[dict]) -> dict[str, dict[str, Any]]:
    """Card fields per adapter name: the run's stored card, completed from the registry."""
    stored = {rec["adapter"]: rec.get("card", {}) for rec in adapters if rec.get("adapter")}
    known = registry.all_adapters()
    out = {}
    for name in dict.fromkeys(str(n) for n in names):
        card = dict(stored.get(name, {}))
        if name in known:
            live = known[name].card
            for key in PRESENTATION_FIELDS:
                card.setdefault(key, getattr(live, key))
        out[name] = card
    return out


def is_featured(card: dict[str, Any]) -> bool:
    return bool(card.get("featured"))


def featured_groups() -> list[str]:
    """Table groups that hold a featured adapter (legends draw them as stars), in family order."""
    families = {cls.card.family for cls in registry.all_adapters().values() if cls.card.featured}
    return [group for family, group in FAMILY_GROUPS.items() if family in families]


def featured_card(name: str) -> AdapterCard | None:
    """The registered card of ``name`` if it is featured (perf records name adapters only)."""
    cls = registry.all_adapters().get(name)
    return cls.card if cls is not None and cls.card.featured else None
