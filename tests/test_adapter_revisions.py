"""Pinned revisions must hold weights the harness can load (safetensors only).

The harness refuses pickle checkpoints (``bench.availability.model_weight_kwargs``), so a card pinned to
a commit that carries only ``pytorch_model.bin`` cannot load at all: that was Chinese CLIP B/L/H and
AltCLIP. No hub is reachable from the test machines, so the file listings below are data, recorded
from the hub's "Files and versions" pages of each revision (URLs given), and the test checks every
card against them: a re-pin must come with its listing.
"""
from __future__ import annotations

import pytest

from bench import registry

HUB = "https://huggingface.co"
# model id -> revision -> weight files listed at that revision (non-weight files omitted)
LISTINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "OFA-Sys/chinese-clip-vit-base-patch16": {
        # {HUB}/OFA-Sys/chinese-clip-vit-base-patch16/tree/f2a455dcf33a4efd2db7c1e02f7f431a70a4b0cd
        "f2a455dcf33a4efd2db7c1e02f7f431a70a4b0cd": ("clip_cn_vit-b-16.pt", "model.safetensors", "pytorch_model.bin"),
        # the previous pin (Dec 2022 model-card commit): pickles only
        "36e679e65c2a2fead755ae21162091293ad37834": ("clip_cn_vit-b-16.pt", "pytorch_model.bin"),
    },
    "OFA-Sys/chinese-clip-vit-large-patch14": {
        # {HUB}/OFA-Sys/chinese-clip-vit-large-patch14/tree/cc2eeb803885adc11690654a6e55fde2feeb7420 (= refs/pr/2)
        "cc2eeb803885adc11690654a6e55fde2feeb7420": ("clip_cn_vit-l-14.pt", "model.safetensors", "pytorch_model.bin"),
        "660941af70c6ff89ce658a1735404c0f3e536c38": ("clip_cn_vit-l-14.pt", "pytorch_model.bin"),
    },
    "OFA-Sys/chinese-clip-vit-huge-patch14": {
        # {HUB}/OFA-Sys/chinese-clip-vit-huge-patch14/tree/refs%2Fpr%2F1 (head 83a96f8)
        "refs/pr/1": ("clip_cn_vit-h-14.pt", "model.safetensors", "pytorch_model.bin"),
        "503e16b560aff94c1922f13a86a7693d36957a4f": ("clip_cn_vit-h-14.pt", "pytorch_model.bin"),
    },
    "BAAI/AltCLIP": {
        # {HUB}/BAAI/AltCLIP/tree/refs%2Fpr%2F7 (head 118841d)
        "refs/pr/7": ("model.safetensors", "pytorch_model.bin"),
        # {HUB}/BAAI/AltCLIP/tree/b989a7bc9f73809acc4df8265e63174c74791ba6 (what main served)
        "b989a7bc9f73809acc4df8265e63174c74791ba6": ("pytorch_model.bin",),
    },
    "nvidia/MM-Embed": {
        # {HUB}/nvidia/MM-Embed/tree/main at a2542c2
        "a2542c237b5b700ed01b829689756425441cef97": tuple(f"model-0000{i}-of-00004.safetensors" for i in range(1, 5)),
    },
}
FIXED = ["chinese-clip-vit-b16", "chinese-clip-vit-l14", "chinese-clip-vit-h14", "altclip"]


def _has_safetensors(files) -> bool:
    return any(f.endswith(".safetensors") for f in files)


@pytest.mark.parametrize("name", [n for n, c in registry.all_adapters().items() if c.card.model_id in LISTINGS])
def test_pinned_revision_carries_safetensors(name):
    card = registry.get(name).card
    listing = LISTINGS[card.model_id]
    assert card.revision in listing, f"{name}: pinned {card.revision}, but no listing recorded for it"
    assert _has_safetensors(listing[card.revision]), f"{name}: {card.revision} holds no safetensors"


def test_the_four_once_unloadable_rows_are_pinned_and_say_where_from():
    for name in FIXED:
        card = registry.get(name).card
        assert card.revision and card.model_id in LISTINGS, name
        assert "safetensors" in card.notes, name
        old = [r for r, files in LISTINGS[card.model_id].items() if not _has_safetensors(files)]
        assert old and card.revision not in old, name  # a pickle-only revision would fail to load


def test_a_ref_pin_resolves_in_the_local_cache(tmp_path, monkeypatch):
    """H/14 and AltCLIP pin a hub ref (refs/pr/N): `hf download --revision refs/pr/1` records it under
    refs/refs/pr/1 in the cache, and the offline lookup must find that snapshot (not another one)."""
    hub = pytest.importorskip("huggingface_hub.constants")
    from bench.adapter import AdapterOptions
    from bench.availability import hf_local_snapshot

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    card = registry.get("chinese-clip-vit-h14").card
    repo = tmp_path / ("models--" + card.model_id.replace("/", "--"))
    for commit in ("a" * 40, "b" * 40):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs" / "refs" / "pr").mkdir(parents=True)
    (repo / "refs" / "refs" / "pr" / "1").write_text("b" * 40)
    (repo / "refs" / "main").write_text("a" * 40)
    assert hf_local_snapshot(card.model_id, card.revision) == repo / "snapshots" / ("b" * 40)
    assert registry.get("chinese-clip-vit-h14").availability(AdapterOptions()).ok


def test_another_cached_revision_does_not_stand_in_for_the_pinned_one(tmp_path, monkeypatch):
    """Only `main` is cached, the card pins another commit: the adapter is unavailable with the
    download fix, rather than loading a different model and caching its outputs under the pin."""
    hub = pytest.importorskip("huggingface_hub.constants")
    from bench.adapter import AdapterOptions
    from bench.availability import hf_local_snapshot

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    card = registry.get("chinese-clip-vit-h14").card
    repo = tmp_path / ("models--" + card.model_id.replace("/", "--"))
    (repo / "snapshots" / ("a" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("a" * 40) / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    assert hf_local_snapshot(card.model_id, None) == repo / "snapshots" / ("a" * 40)
    assert hf_local_snapshot(card.model_id, card.revision) is None
    status = registry.get("chinese-clip-vit-h14").availability(AdapterOptions())
    assert not status.ok and f"--revision {card.revision}" in status.reason
