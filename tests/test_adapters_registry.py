"""Generic checks of every registered adapter, one test id per adapter (timm's ``test_models.py`` style).

The ids come from ``registry.all_adapters()`` at collection, so a new adapter is covered by adding it,
with no edit here, and one adapter's failure does not hide the others'. What only some adapters
promise (paper rows, tiny-model runs, official usage) stays in the specific test files.
"""
from __future__ import annotations

import json

import pytest
from packaging.requirements import Requirement

from bench import registry
from bench.registry.adapter import Adapter, AdapterOptions, EmbeddingAdapter, TranscriberAdapter
from bench.registry.availability import Availability
from bench.registry.card import FAMILY_GROUPS

ADAPTERS = list(registry.all_adapters())


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """Empty caches everywhere an adapter looks for weights, so availability is decided offline."""
    import sys

    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf"))
    for var, sub in [("TORCH_HOME", "torch"), ("EASYOCR_MODULE_PATH", "easyocr"), ("MODEL_CACHE_DIR", "datalab")]:
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(sys.modules, "easyocr_en_models", None)  # hide the offline English wheel


@pytest.mark.parametrize("name", ADAPTERS)
def test_card_is_well_formed(name):
    cls = registry.get(name)
    card = cls.card
    assert issubclass(cls, (TranscriberAdapter, EmbeddingAdapter))
    assert card.name == name and card.row_name and card.family in FAMILY_GROUPS
    assert card.scoring == ("nes" if issubclass(cls, TranscriberAdapter) else "cosine")
    assert card.languages and all(isinstance(lang, str) and lang for lang in card.languages)
    for text in card.requires:
        Requirement(text)  # PEP 508, or availability could not check it
    if card.trust_remote_code:
        assert card.revision, f"{name}: remote code must be pinned"
    assert card.params_m is None or card.params_m > 0
    assert card.gpu >= 0 and card.memory_gb > 0 and (card.timeout_s is None or card.timeout_s > 0)
    assert card.variant_of is None or card.variant_of in ADAPTERS
    assert all(n in ADAPTERS for n in card.perf_variants)
    json.dumps(card.as_dict())  # stored with every run


@pytest.mark.parametrize("name", ADAPTERS)
def test_availability_without_weights_is_a_reason_not_a_traceback(name, no_weights):
    cls = registry.get(name)
    for trust in (False, True):
        status = cls.availability(AdapterOptions(trust_remote_code=trust))
        assert isinstance(status, Availability)
        if not status.ok:
            assert status.reason and "Traceback" not in status.reason, (name, status.reason)
            assert "fix:" in status.reason or "--trust-remote-code" in status.reason, (name, status.reason)


@pytest.mark.parametrize("name", ADAPTERS)
def test_language_availability_answers_for_every_card_language(name, no_weights):
    cls = registry.get(name)
    for lang in cls.card.languages:
        status = cls.language_availability(lang, AdapterOptions())
        assert isinstance(status, Availability)
        assert status.ok or ("fix:" in status.reason), (name, lang, status.reason)


@pytest.mark.parametrize("name", ADAPTERS)
def test_cache_key_is_stable_and_tracks_output_settings(name):
    cls = registry.get(name)
    key = cls(AdapterOptions()).cache_key()
    assert key == cls(AdapterOptions()).cache_key()  # same settings, same key, in one process
    assert key.startswith(f"{name}|")
    assert cls(AdapterOptions(batch_size=cls.default_batch_size + 1)).cache_key() != key
    assert cls(AdapterOptions(dtype="float16")).cache_key() != key
    assert cls(AdapterOptions(device="cuda:1")).cache_key() == cls(AdapterOptions(device="cuda:0")).cache_key()


def test_cache_keys_differ_between_adapters():
    keys = {registry.get(n)(AdapterOptions()).cache_key() for n in ADAPTERS}
    assert len(keys) == len(ADAPTERS)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_class_is_importable_without_loading(name):
    cls = registry.get(name)
    adapter = cls(AdapterOptions())
    assert isinstance(adapter, Adapter) and not adapter._loaded
    assert adapter.batch_size == cls.default_batch_size


def test_bench_perf_reads_its_comparison_from_the_card():
    from bench.report.perf import selected_adapters

    lead = next(n for n in ADAPTERS if registry.get(n).card.perf_variants)
    assert selected_adapters(lead) == list(registry.get(lead).card.perf_variants)
    assert selected_adapters("ours") == ["ours-onnx", "ours-int8", "ours"]  # `bench perf ours`, as before
    assert selected_adapters("ours", "rapidocr,tesseract") == ["ours-onnx", "ours-int8", "ours", "rapidocr", "tesseract"]
    assert selected_adapters("ours,rapidocr") == ["ours", "rapidocr"]  # a list is taken as it is
