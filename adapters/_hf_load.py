"""The one Hugging Face loading path: where a model's files come from and how its weights load.

Every ``transformers`` adapter, transcriber or embedder, resolves its files here, by one rule:

- ``--model-path NAME=DIR`` wins (a sub-folder of it for adapters made of several models);
- otherwise, offline (the default), the cached snapshot folder is loaded directly: the pinned
  revision when it is cached, else whichever revision is (``bench.availability.hf_local_snapshot``,
  the same lookup that decides ``bench list``), else the hub id at the pinned revision from the cache;
- with ``--allow-download`` (or ``HF_HUB_OFFLINE=0``), the hub id at the pinned revision;
- files are read from the local cache only unless downloads are allowed;
- remote code runs only when the card needs it and the user allowed it (``--trust-remote-code``);
- model weights load as safetensors only (``bench.availability.model_weight_kwargs``), in the
  user's dtype (``dtype_kwarg``).

Heavy imports happen inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bench.availability import (Availability, check_hf_weights, download_allowed, hf_local_snapshot, is_commit,
                                model_weight_kwargs, unpinned)

if TYPE_CHECKING:
    from bench.adapter import Adapter, AdapterOptions

HF_MODULES = ("torch", "transformers")
# Run every forward pass of a transformers adapter without being imported by name: the fast
# tokenizers (tokenizers) and the weights' reader (safetensors). Keyed with HF_MODULES.
HF_CACHE_PACKAGES = ("tokenizers", "safetensors")
# The remote code of MM-Embed, DeepSeek-OCR, Phi-3.5-Vision and MiniCPM-o was each written for one
# transformers release, named by its own card or requirements (4.43.4, 4.46.3, 4.43.0, 4.44.2); later
# releases renamed the cache, generation and LLaVA-NeXT internals that code calls. Each card declares
# its own patch band and each extra pins the card's release (so each needs its own environment).

_UNSET: Any = object()
class HubPinned:
    """Mixin of every adapter that reads Hugging Face repositories: the card's model and, in
    ``hub_repos``, every other repository it reads (a text tower, remote code that lives in another
    repository, a model whose config the remote code builds on), each pinned to a commit.

    The pins of those other repositories are part of ``model_identity`` (so the cache key), and
    the snapshots actually loaded are recorded in ``run_notes`` (``snapshots``)."""

    hub_repos: ClassVar[dict[str, str | None]] = {}

    @classmethod
    def hub_pins(cls) -> dict[str, str | None]:
        """Every hub repository this adapter reads -> its pinned revision."""
        card = cls.card  # type: ignore[attr-defined]
        return {card.model_id: card.revision, **cls.hub_repos}

    def model_identity(self) -> str:
        base = super().model_identity()  # type: ignore[misc]
        others = "".join(f"+{repo}@{rev}" for repo, rev in sorted(self.hub_repos.items()))
        return base + others

    def run_notes(self) -> dict[str, Any]:
        notes = dict(super().run_notes())  # type: ignore[misc]
        loaded = getattr(self, "_snapshots", None)
        if loaded:
            notes["snapshots"] = dict(loaded)
        return notes


def record_snapshot(adapter: "Adapter", model_id: str, where: str) -> None:
    """Note which snapshot of ``model_id`` this adapter loaded (``HubPinned.run_notes``)."""
    snaps = getattr(adapter, "_snapshots", None)
    if snaps is None:
        snaps = {}
        adapter._snapshots = snaps  # type: ignore[attr-defined]
    snaps[model_id] = where


def model_source(adapter: "Adapter", model_id: str | None = None, revision: str | None = _UNSET,
                 subfolder: str | None = None) -> tuple[str, dict[str, Any]]:
    """(path or id, ``from_pretrained`` kwargs) for an adapter's model, by the module's one rule.

    ``model_id``/``revision`` name a second model an adapter loads beside its card's (default: the
    card's); ``subfolder`` is where that model sits inside a ``--model-path`` folder.
    """
    card, opts = adapter.card, adapter.options
    kwargs: dict[str, Any] = {"local_files_only": not download_allowed(opts)}
    if card.trust_remote_code and opts.trust_remote_code:
        kwargs["trust_remote_code"] = True
    model_id = model_id or card.model_id
    assert model_id, f"{card.name} has no model_id"
    if opts.model_path is not None:
        folder = opts.model_path / subfolder if subfolder else opts.model_path
        record_snapshot(adapter, model_id, f"--model-path {Path(folder).resolve()}")
        return str(folder), kwargs
    revision = card.revision if revision is _UNSET else revision
    if not is_commit(revision):  # availability says so first; this guards every other caller
        raise RuntimeError(unpinned(model_id, revision, card.name).reason)
    if kwargs["local_files_only"]:
        snap = hf_local_snapshot(model_id, revision)
        if snap is not None:
            record_snapshot(adapter, model_id, snap.name)  # snapshots/<commit>
            return str(snap), kwargs
    record_snapshot(adapter, model_id, revision)
    return model_id, {**kwargs, "revision": revision}


def check_weights_with(cls: type["Adapter"], options: "AdapterOptions", in_folder: dict[str, str | None],
                       outside: dict[str, str | None] | None = None) -> Availability:
    """``check_weights`` of an adapter that reads more repositories than its card's: the card's
    weights and ``in_folder`` (which a ``--model-path`` folder holds too), then ``outside`` (remote
    code or configs in other repositories, always from the cache), each pinned to a commit."""
    repos = {cls.card.model_id: cls.card.revision, **in_folder}
    if options.model_path is not None:
        repos = {}
        status = check_hf_weights(cls.card.name, cls.card.model_id, cls.card.revision, options)
        if not status.ok:
            return status
    plain = dataclasses.replace(options, model_path=None)
    for mid, rev in {**repos, **(outside or {})}.items():
        status = check_hf_weights(cls.card.name, mid, rev, plain)
        if not status.ok:
            return status
    return Availability(True)


def dtype_kwarg(dtype) -> dict[str, Any]:
    """``from_pretrained`` takes ``dtype`` since transformers 4.56 and ``torch_dtype`` before."""
    import importlib.metadata

    from packaging.version import Version

    return {"dtype": dtype} if Version(importlib.metadata.version("transformers")) >= Version("4.56") \
        else {"torch_dtype": dtype}


def load_weights(adapter: "Adapter", class_name: str, source: tuple[str, dict[str, Any]] | None = None,
                 **extra: Any):
    """``transformers.<class_name>.from_pretrained`` in the user's dtype, safetensors only (not yet
    moved to the device: transcribers and embedders place it differently)."""
    import transformers

    src, kwargs = source or model_source(adapter)
    cls = getattr(transformers, class_name)
    return cls.from_pretrained(src, **dtype_kwarg(adapter.options.torch_dtype()), **kwargs,
                               **{**model_weight_kwargs(), **extra})


def load_processor(adapter: "Adapter", class_name: str = "AutoProcessor",
                   source: tuple[str, dict[str, Any]] | None = None, **extra: Any):
    """``transformers.<class_name>.from_pretrained`` (processor, tokenizer) from the same source."""
    import transformers

    src, kwargs = source or model_source(adapter)
    return getattr(transformers, class_name).from_pretrained(src, **kwargs, **extra)
