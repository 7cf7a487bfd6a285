"""Availability checks that never load a model or download anything.

Each failing check says what is missing and the exact fix, so ``bench list`` and ``bench run`` can
report ``unavailable: <why, how to fix>`` instead of crashing.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .options import AdapterOptions


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""

    def __str__(self) -> str:
        return "available" if self.ok else f"unavailable: {self.reason}"


def check_modules(modules: Iterable[str], extra: str | None) -> Availability:
    """All ``modules`` importable? Otherwise name the pip extra that provides them."""
    missing = [m for m in modules if importlib.util.find_spec(m.split(".")[0]) is None]
    if not missing:
        return Availability(True)
    fix = f"pip install 'xscript-bench[{extra}]'" if extra else f"pip install {' '.join(missing)}"
    return Availability(False, f"missing Python package(s) {', '.join(missing)}; fix: {fix}")


def check_versions(requirements: Iterable[str], extra: str | None) -> Availability:
    """Installed versions inside the ranges an adapter was written for (PEP 508 strings such as
    ``"transformers>=4.45,<4.47"``)? Remote model code often works with one band of a library only;
    outside it, it fails late (at load) or worse, runs and gives other numbers. A package that is
    not installed at all is left to ``check_modules``."""
    from packaging.requirements import Requirement

    for text in requirements:
        req = Requirement(text)
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if req.specifier.contains(installed, prereleases=True):
            continue
        fix = (f"pip install 'xscript-bench[{extra}]' into a separate environment (the extra installs a "
               f"version in range)" if extra else f"pip install '{req.name}{req.specifier}' into a separate environment")
        return Availability(False, f"needs {req.name} {req.specifier} (installed {installed}); fix: {fix}")
    return Availability(True)


def check_binary(name: str, apt_package: str) -> Availability:
    if shutil.which(name):
        return Availability(True)
    return Availability(False, f"{name} not found on PATH; fix: apt-get install {apt_package}")


def download_allowed(options: "AdapterOptions") -> bool:
    """Downloads happen only when the user asks: --allow-download or HF_HUB_OFFLINE=0."""
    return options.allow_download or os.environ.get("HF_HUB_OFFLINE", "").strip() == "0"


def hf_local_snapshot(model_id: str, revision: str | None) -> Path | None:
    """The cached snapshot folder of ``model_id`` at the pinned ``revision`` (the ``main`` ref when
    none is pinned), without network. Another cached revision does not count: it is another model,
    and its outputs would be cached and reported under the pinned one's name."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for rev in [revision or None]:
        for fname in ("config.json", "model_index.json", "preprocessor_config.json"):
            try:
                hit = try_to_load_from_cache(model_id, fname, revision=rev)
            except Exception:  # noqa: BLE001 - malformed cache entries count as absent
                hit = None
            if isinstance(hit, str):
                return Path(hit).parent
    return None


COMMIT = re.compile(r"[0-9a-f]{40}")


def is_commit(revision: str | None) -> bool:
    """A full 40-hex commit: the only pin that cannot move (a branch, tag or ``refs/pr/N`` can)."""
    return bool(revision) and COMMIT.fullmatch(str(revision)) is not None


def unpinned(repo: str, revision: str | None, name: str) -> Availability:
    """A hub repository not pinned to a commit: refused, with how to pin it."""
    return Availability(False, f"{repo} is not pinned to a commit (revision {revision or 'none'}): a branch or ref "
                               f"moves, and whatever it points to would be cached under one key; fix: pin its "
                               f"40-hex commit on the card (the hub's commit history, or the snapshots/<commit> "
                               f"folder that `hf download {repo}` creates), or pass --model-path {name}=DIR with "
                               f"that snapshot folder (every file in it is hashed into the cache key)")


def check_hf_weights(name: str, model_id: str, revision: str | None, options: "AdapterOptions") -> Availability:
    """Weights in a --model-path folder, or pinned to a commit and in the local HF cache (or
    downloading explicitly allowed)."""
    if options.model_path is not None:
        if Path(options.model_path).is_dir():
            return Availability(True)
        return Availability(False, f"--model-path {name}={options.model_path} is not a folder")
    if not is_commit(revision):
        return unpinned(model_id, revision, name)
    if hf_local_snapshot(model_id, revision) is not None:
        return Availability(True)
    if download_allowed(options):
        return Availability(True)
    rev = f" --revision {revision}" if revision else ""
    return Availability(False, f"weights of {model_id} are not in the Hugging Face cache; fix: "
                               f"`hf download {model_id}{rev}`, or pass --allow-download, "
                               f"or --model-path {name}=DIR")


PICKLE_ENV = "XSB_ALLOW_PICKLE_WEIGHTS"
# Environment variables that change what runs or what is loaded: recorded with every invocation.
RECORDED_ENV = (PICKLE_ENV, "XSB_MAX_IMAGE_PIXELS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def pickle_allowed() -> bool:
    return os.environ.get(PICKLE_ENV, "").strip() == "1"


def recorded_env() -> dict[str, str]:
    """The set variables of RECORDED_ENV, for run.json (e.g. that pickle weights were allowed)."""
    return {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}


def explain_load_error(message: str) -> str:
    """Add the fix to a load error caused by the safetensors-only rule: transformers says only
    that ``model.safetensors`` is missing, which does not tell the user what to do."""
    if pickle_allowed() or "safetensors" not in message or PICKLE_ENV in message:
        return message
    return (f"{message.rstrip('.')}; only safetensors weights are loaded, because a pickle checkpoint "
            f"(pytorch_model.bin) can run code when loaded; fix: if you trust these weights, set "
            f"{PICKLE_ENV}=1 (recorded in run.json), or convert them to safetensors")


def model_weight_kwargs() -> dict:
    """Keyword arguments for ``from_pretrained`` of model weights: safetensors only.

    A pickle checkpoint (``pytorch_model.bin``) can run code when loaded, so transformers must not
    fall back to one silently. XSB_ALLOW_PICKLE_WEIGHTS=1 lifts this for models that ship no
    safetensors, as an explicit, recorded decision of the user.
    """
    if pickle_allowed():
        return {}
    return {"use_safetensors": True}
