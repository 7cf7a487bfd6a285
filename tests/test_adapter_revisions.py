"""Pinned revisions must hold weights the harness can load (safetensors only).

The harness refuses pickle checkpoints (``bench.registry.availability.model_weight_kwargs``), so a card pinned to
a commit that carries only ``pytorch_model.bin`` cannot load at all: that was Chinese CLIP B/L/H and
AltCLIP. No hub is reachable from the test machines, so the file listings below are data, recorded
from the hub's "Files and versions" pages of each revision (URLs given), and the test checks every
card against them: a re-pin must come with its listing.
"""
from __future__ import annotations

import re

import pytest

from bench import registry
from bench.registry.adapter import AdapterOptions

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
        # only the conversion ref refs/pr/1 (head 83a96f8, full hash not found) holds safetensors: unpinned
        "503e16b560aff94c1922f13a86a7693d36957a4f": ("clip_cn_vit-h-14.pt", "pytorch_model.bin"),
    },
    "BAAI/AltCLIP": {
        # only the conversion ref refs/pr/7 (head 118841d, full hash not found) holds safetensors: unpinned
        # {HUB}/BAAI/AltCLIP/tree/b989a7bc9f73809acc4df8265e63174c74791ba6 (what main served)
        "b989a7bc9f73809acc4df8265e63174c74791ba6": ("pytorch_model.bin",),
    },
    "florence-community/Florence-2-large": {
        # the native transformers conversion; public projects that pin 4271c66 record this file's SHA-256
        # (7715423d6549bf1e71188bdd84f4ac960cc0597886af24a5ef7b66f128660685, 1,553,541,016 bytes)
        "4271c66b88cdbc05735372ec13b2360108de5317": ("model.safetensors",),
    },
    "nvidia/MM-Embed": {
        # {HUB}/nvidia/MM-Embed/tree/main at a2542c2
        "a2542c237b5b700ed01b829689756425441cef97": tuple(f"model-0000{i}-of-00004.safetensors" for i in range(1, 5)),
    },
}
FIXED = ["chinese-clip-vit-b16", "chinese-clip-vit-l14"]
# Hub repositories whose commit could not be found offline: left unpinned (None) and refused.
UNPINNED = {"janus-pro-7b", "chinese-clip-vit-h14", "altclip"}


def _has_safetensors(files) -> bool:
    return any(f.endswith(".safetensors") for f in files)


@pytest.mark.parametrize("name", [n for n, c in registry.all_adapters().items()
                                  if c.card.model_id in LISTINGS and c.card.revision])
def test_pinned_revision_carries_safetensors(name):
    card = registry.get(name).card
    listing = LISTINGS[card.model_id]
    assert card.revision in listing, f"{name}: pinned {card.revision}, but no listing recorded for it"
    assert _has_safetensors(listing[card.revision]), f"{name}: {card.revision} holds no safetensors"


def test_the_once_unloadable_rows_are_pinned_and_say_where_from():
    for name in FIXED:
        card = registry.get(name).card
        assert card.revision and card.model_id in LISTINGS, name
        assert "safetensors" in card.notes, name
        old = [r for r, files in LISTINGS[card.model_id].items() if not _has_safetensors(files)]
        assert old and card.revision not in old, name  # a pickle-only revision would fail to load


def test_another_cached_revision_does_not_stand_in_for_the_pinned_one(tmp_path, monkeypatch):
    """Only `main` is cached, the card pins another commit: the adapter is unavailable with the
    download fix, rather than loading a different model and caching its outputs under the pin."""
    hub = pytest.importorskip("huggingface_hub.constants")
    from bench.registry.adapter import AdapterOptions
    from bench.registry.availability import hf_local_snapshot

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    card = registry.get("chinese-clip-vit-l14").card
    repo = tmp_path / ("models--" + card.model_id.replace("/", "--"))
    (repo / "snapshots" / ("a" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("a" * 40) / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    assert hf_local_snapshot(card.model_id, None) == repo / "snapshots" / ("a" * 40)
    assert hf_local_snapshot(card.model_id, card.revision) is None
    status = registry.get("chinese-clip-vit-l14").availability(AdapterOptions())
    assert not status.ok and f"--revision {card.revision}" in status.reason


# -- every hub pin is a commit (issue 27) -------------------------------------------------------------
def _pinned_classes():
    from adapters._hf_load import HubPinned
    from adapters.strhub import StrHubAdapter

    return {n: c for n, c in registry.all_adapters().items() if issubclass(c, (HubPinned, StrHubAdapter))}


def _all_pins(cls) -> dict:
    from adapters._hf_load import HubPinned

    if issubclass(cls, HubPinned):
        return cls.hub_pins()
    return {"baudm/parseq": cls.card.revision}


@pytest.mark.parametrize("name", sorted(_pinned_classes()))
def test_every_hub_pin_is_a_40_hex_commit(name):
    """Branches, tags and refs/pr/N move; a commit cannot. Every repository an adapter reads (its
    card's, and text towers, remote code and configs it reads from others) is pinned to one, or is
    declared unpinned and refused."""
    cls = registry.get(name)
    for repo, rev in _all_pins(cls).items():
        if name in UNPINNED and repo == cls.card.model_id:
            assert rev is None, f"{name}: declared unpinned but pins {rev}"
            continue
        assert isinstance(rev, str) and re.fullmatch(r"[0-9a-f]{40}", rev), f"{name}: {repo} pinned to {rev!r}"


@pytest.mark.parametrize("name", sorted(UNPINNED))
def test_an_unpinned_repo_is_refused_with_how_to_pin_it(name, tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    cls = registry.get(name)
    repo = tmp_path / ("models--" + cls.card.model_id.replace("/", "--"))  # main is cached: still refused
    (repo / "snapshots" / ("a" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("a" * 40) / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    for opts in (AdapterOptions(trust_remote_code=True), AdapterOptions(trust_remote_code=True, allow_download=True)):
        status = cls.check_weights(opts)
        assert not status.ok
        assert f"{cls.card.model_id} is not pinned to a commit" in status.reason
        assert "fix: pin its 40-hex commit" in status.reason and f"--model-path {name}=DIR" in status.reason
    assert cls.check_weights(AdapterOptions(model_path=tmp_path)).ok  # a folder is keyed by its files


def test_loading_refuses_a_moving_revision_even_past_availability():
    from adapters._hf_load import model_source

    adapter = registry.get("florence2-large")(AdapterOptions(allow_download=True))
    with pytest.raises(RuntimeError, match="not pinned to a commit"):
        model_source(adapter, adapter.card.model_id, None)
    with pytest.raises(RuntimeError, match="refs/pr/1"):
        model_source(adapter, "OFA-Sys/chinese-clip-vit-huge-patch14", "refs/pr/1")


def test_the_snapshot_loaded_is_recorded(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub.constants")
    from adapters._hf_load import model_source

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    cls = registry.get("siglip2-base")
    rev = cls.card.revision
    repo = tmp_path / ("models--" + cls.card.model_id.replace("/", "--"))
    (repo / "snapshots" / rev).mkdir(parents=True)
    (repo / "snapshots" / rev / "config.json").write_text("{}")
    adapter = cls(AdapterOptions())
    src, _ = model_source(adapter)
    assert src == str(repo / "snapshots" / rev)
    assert adapter.run_notes()["snapshots"] == {cls.card.model_id: rev}


@pytest.mark.parametrize("name, repo", [("nomic-embed-vision-v15", "nomic-ai/nomic-bert-2048"),
                                        ("nomic-embed-vision-v15", "nomic-ai/nomic-embed-text-v1.5"),
                                        ("mm-embed", "nvidia/NV-Embed-v1"), ("bge-visualized", "BAAI/bge-m3")])
def test_other_repositories_are_pinned_and_keyed(name, repo, monkeypatch):
    """Nomic's towers run code from nomic-bert-2048 (auto_map), MM-Embed builds on NV-Embed-v1's config
    and code, BGE-Visualized on BGE-M3: each pin is in the model identity, so the cache key."""
    cls = registry.get(name)
    rev = cls.hub_repos[repo]
    ident = cls(AdapterOptions()).model_identity()
    assert f"{repo}@{rev}" in ident
    monkeypatch.setitem(cls.hub_repos, repo, "f" * 40)
    assert cls(AdapterOptions()).model_identity() != ident


def test_nomic_loads_its_remote_code_at_the_pinned_commit(monkeypatch):
    import adapters.nomic as nomic

    calls = []
    monkeypatch.setattr(nomic, "load_weights", lambda adapter, cls, src, **kw: calls.append(kw) or _Dummy())
    monkeypatch.setattr(nomic, "load_processor", lambda *a, **k: None)
    monkeypatch.setattr(nomic, "model_source", lambda *a, **k: ("x", {}))
    adapter = nomic.NomicEmbedVisionAdapter(AdapterOptions())
    adapter.place = lambda m: m
    adapter.load()
    assert calls == [{"code_revision": nomic.CODE_REVISION}] * 2


def test_mm_embed_passes_the_pinned_nv_embed_snapshot_as_retriever(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub.constants")
    import adapters.mm_embed as mm

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    adapter = mm.MMEmbedAdapter(AdapterOptions())
    with pytest.raises(RuntimeError, match="NV-Embed-v1"):
        adapter.retriever_dir()  # not cached, no download allowed
    snap = tmp_path / "models--nvidia--NV-Embed-v1" / "snapshots" / mm.RETRIEVER_REVISION
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    other = tmp_path / "models--nvidia--NV-Embed-v1" / "snapshots" / ("b" * 40)  # main elsewhere: not used
    other.mkdir()
    (other / "config.json").write_text("{}")
    seen = {}
    monkeypatch.setattr(mm, "load_weights", lambda a, cls, **kw: seen.update(kw) or _Dummy())
    adapter.place = lambda m: m
    adapter.load()
    assert seen == {"retriever": str(snap)}


def test_bge_visualized_reads_only_the_pinned_snapshots(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub.constants")
    import adapters.bge_visualized as bge

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    for model_id, fname in (("BAAI/bge-m3", "config.json"), ("BAAI/bge-visualized", bge.WEIGHT_FILE)):
        repo = tmp_path / ("models--" + model_id.replace("/", "--"))
        (repo / "snapshots" / ("c" * 40)).mkdir(parents=True)
        (repo / "snapshots" / ("c" * 40) / fname).write_text("x")
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("c" * 40)
    opts = AdapterOptions()
    assert bge.text_model_dir(opts) is None  # another revision of BGE-M3 does not stand in
    assert bge.weight_file(opts, bge.BGEVisualizedAdapter.card.revision) is None


class _Dummy:
    def to(self, *a, **k):
        return self

    def eval(self):
        return self
