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

from typing import TYPE_CHECKING, Any

from bench.availability import Availability, check_hf_weights, download_allowed, hf_local_snapshot, model_weight_kwargs

if TYPE_CHECKING:
    from bench.adapter import Adapter, AdapterOptions

HF_MODULES = ("torch", "transformers")
# Run every forward pass of a transformers adapter without being imported by name: the fast
# tokenizers (tokenizers) and the weights' reader (safetensors). Keyed with HF_MODULES.
HF_CACHE_PACKAGES = ("tokenizers", "safetensors")
# The band of transformers the pinned remote code of MM-Embed, DeepSeek-OCR, Phi-3.5-Vision and
# MiniCPM-o was written for (their cards name 4.42-4.46); later releases renamed the cache and
# generation internals that code calls. Their extras pin transformers 4.46.3 (DeepSeek-OCR's own pin).
REMOTE_CODE_TRANSFORMERS = "transformers<4.47"

_UNSET: Any = object()


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
    if opts.model_path is not None:
        folder = opts.model_path / subfolder if subfolder else opts.model_path
        return str(folder), kwargs
    model_id = model_id or card.model_id
    revision = card.revision if revision is _UNSET else revision
    assert model_id, f"{card.name} has no model_id"
    if kwargs["local_files_only"]:
        snap = hf_local_snapshot(model_id, revision)
        if snap is not None:
            return str(snap), kwargs
    return model_id, {**kwargs, "revision": revision}


def check_weights_with(cls: type["Adapter"], options: "AdapterOptions", model_id: str,
                       revision: str | None) -> Availability:
    """``check_weights`` of an adapter that loads a second model beside its card's: the card's
    weights, then (unless ``--model-path`` holds both) the second model's in the cache."""
    for mid, rev in ((cls.card.model_id, cls.card.revision), (model_id, revision)):
        status = check_hf_weights(cls.card.name, mid, rev, options)
        if not status.ok or options.model_path is not None:
            return status
    return status


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
