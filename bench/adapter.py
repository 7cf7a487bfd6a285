"""Plugin-facing path of the adapter interface, kept stable: adapters (``adapters/``, third-party
plug-ins) write ``from bench.adapter import AdapterCard, TranscriberAdapter``. The interface lives in
``bench.registry.adapter`` (card and options beside it); this module only re-exports it."""
from .registry.adapter import Adapter, EmbeddingAdapter, TranscriberAdapter, device_available
from .registry.availability import Availability
from .registry.card import FAMILY_GROUPS, AdapterCard, Family
from .registry.options import AdapterOptions

__all__ = ["FAMILY_GROUPS", "Adapter", "AdapterCard", "AdapterOptions", "Availability", "EmbeddingAdapter", "Family",
           "TranscriberAdapter", "device_available"]
