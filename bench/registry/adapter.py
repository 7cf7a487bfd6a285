"""The adapter interface: one small base per family, each carrying a card.

Transcribers (OCR engines, vision LLMs) turn each word image into a string; the harness ranks the
gallery by NES. Embedding models (and ours) encode images and texts into one space; the harness
ranks by cosine. Adapters never write results or know about runs; they import heavy libraries
only inside ``load`` and the methods that need them, so listing adapters stays cheap.
"""
from __future__ import annotations

import sys

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from ..threads import pin_loaded_libraries
from .availability import Availability, check_hf_weights, check_modules, check_versions
from .card import FAMILY_GROUPS, AdapterCard, Family  # noqa: F401  (the interface names them)
from .options import AdapterOptions


class Adapter(ABC):
    """Common base. Subclasses set ``card`` and implement ``load``."""

    card: ClassVar[AdapterCard]
    # Importable names the extra provides (checked by availability), and further modules whose
    # versions decide outputs. The cache key takes both over the class and all its bases
    # (``cache_identity.package_versions``): a subclass can add to its base's, never drop them.
    requires_modules: ClassVar[tuple[str, ...]] = ()
    cache_packages: ClassVar[tuple[str, ...]] = ()
    default_batch_size: ClassVar[int] = 16

    def __init__(self, options: AdapterOptions | None = None) -> None:
        self.options = options or AdapterOptions()
        self._loaded = False

    @property
    def batch_size(self) -> int:
        return self.options.batch_size or self.default_batch_size

    @classmethod
    def availability(cls, options: AdapterOptions | None = None) -> Availability:
        """Cheap check (no model load), in order: installed packages against the card's ranges (first,
        so a wrong environment is named before a missing package sends the user to install into it),
        the extra's packages, permission to run remote code, then the weights (``check_weights``,
        which engines with their own caches override)."""
        options = options or AdapterOptions()
        for status in (check_versions(cls.card.requires, cls.card.extra),
                       check_modules(cls.requires_modules, cls.card.extra)):
            if not status.ok:
                return status
        if cls.card.trust_remote_code and not options.trust_remote_code:
            return Availability(False, f"{cls.card.model_id} runs its own code (no native transformers "
                                       "class); fix: pass --trust-remote-code to allow it (pinned to "
                                       f"revision {cls.card.revision})")
        return cls.check_weights(options)

    @classmethod
    def language_availability(cls, lang: str, options: AdapterOptions) -> Availability:
        """Can this adapter run ``lang`` here (after ``availability`` said it runs at all)? An
        adapter whose weights come per language (EasyOCR) overrides this; the runner then runs the
        available languages and records the others as unavailable with this reason."""
        return Availability(True)

    @classmethod
    def check_weights(cls, options: AdapterOptions) -> Availability:
        """Weights present? Default: a Hugging Face model id in the local cache or --model-path."""
        if cls.card.model_id and "/" in cls.card.model_id:
            return check_hf_weights(cls.card.name, cls.card.model_id, cls.card.revision, options)
        return Availability(True)

    def ensure_loaded(self) -> None:
        """Load once; then hold the libraries it imported to ``options.threads`` (OpenCV and torch
        keep pools of their own that would otherwise use every core)."""
        if not self._loaded:
            self.load()
            self._loaded = True
            threads = getattr(self.options, "threads", None)
            if isinstance(threads, int) and threads > 0:
                pin_loaded_libraries(threads)

    @abstractmethod
    def load(self) -> None:
        """Load the model or engine (imports happen here)."""

    def num_parameters(self) -> int | None:
        """Parameters of the loaded model, as the card's ``params_note`` describes."""
        return None

    def footprint_bytes(self) -> int | None:
        """Bytes of the weights that run at inference (files on disk), if the adapter knows them."""
        return None

    def run_notes(self) -> dict[str, Any]:
        """Facts about this run the adapter wants recorded (e.g. which path encoded the texts)."""
        return {}

    def model_identity(self) -> str:
        """Which weights: model id and revision, and for ``--model-path`` the folder's identity.
        Adapters whose weights live elsewhere (a checkpoint, an engine's own files) override it."""
        from ..results.cache import folder_identity

        where = ""
        if self.options.model_path is not None:
            where = f"{Path(self.options.model_path).resolve()}#{folder_identity(Path(self.options.model_path))}"
        return f"{self.card.model_id}@{self.card.revision or 'unversioned'}:{where}"

    def output_settings(self) -> dict[str, Any]:
        """Settings that change outputs: the class's plain-data attributes (prompts, crops, decoding
        settings, ...), the batch size and the numeric setup. Adapters that keep a prompt or decoding
        setting elsewhere add it here."""
        from ..results.cache_identity import class_settings

        device = str(self.options.device).split(":")[0]  # cuda:0 and cuda:1 compute alike
        return {**class_settings(type(self)), "batch_size": self.batch_size, "device": device,
                "dtype": self.options.dtype}

    def compute_device(self) -> str:
        """Where this adapter's outputs are computed, as records state it: ``--device`` when the card
        says the adapter uses an accelerator (``gpu`` > 0) and that device exists here, else cpu (an
        engine such as Tesseract runs on the CPU whatever --device says). Override where it differs."""
        device = str(self.options.device)
        if device == "cpu" or self.card.gpu <= 0:
            return "cpu"
        return device if device_available(device) else "cpu"

    def cache_key(self) -> str:
        """Identifies this adapter's outputs for the on-disk cache: everything that decides them.

        Name, model identity (weights, revision, folder), ``output_settings()``, a hash of the
        adapter's own source (its class's modules and the package modules they import) and the
        versions of the packages it runs on. Computed once per loaded adapter."""
        if getattr(self, "_cache_key", None) and self._loaded:
            return self._cache_key
        from ..results.cache_identity import code_identity, package_versions, stable_hash

        settings = stable_hash(self.output_settings())
        code = code_identity(type(self))
        versions = stable_hash(package_versions(type(self)))
        key = f"{self.card.name}|{self.model_identity()}|settings={settings}|code={code}|packages={versions}"
        self._cache_key = key
        return key

    def close(self) -> None:
        """Free resources; the default drops references and lets GC do it."""


class TranscriberAdapter(Adapter):
    """OCR engines and vision LLMs: one string per image, ranked by NES."""

    @abstractmethod
    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        """Transcribe each RGB PIL image; ``lang`` is the query language hint."""


class EmbeddingAdapter(Adapter):
    """Image-text embedding models: one L2-normalized vector per image and per text."""

    @abstractmethod
    def encode_images(self, images: Sequence[Any], lang: str) -> np.ndarray:
        """(N, D) float32, L2-normalized."""

    @abstractmethod
    def encode_texts(self, texts: Sequence[str], lang: str) -> np.ndarray:
        """(N, D) float32, L2-normalized; ``lang`` is the texts' language."""

    def similarity(self, image_outputs: np.ndarray, gallery_outputs: np.ndarray, gallery_texts: Sequence[str],
                   query_lang: str, gallery_lang: str) -> np.ndarray:
        """Query x gallery scores. Cosine, unless a model defines its own (as MTEB lets a model
        declare its similarity): e.g. a reader that also scores how well an image spells each word."""
        from ..scoring import cosine_matrix

        return cosine_matrix(image_outputs, gallery_outputs)

    def embeddings(self, image_outputs: np.ndarray) -> np.ndarray:
        """The embedding part of the image outputs (for geometry and maps): all of it by default."""
        return image_outputs



def device_available(device: str) -> bool:
    """Whether an accelerator exists here, asked of torch only when something already imported it
    (an adapter that places its model on the device does; one that never imports torch runs on the CPU)."""
    torch = sys.modules.get("torch")
    kind = device.split(":")[0]
    if torch is None:
        return False
    if kind == "cuda":
        return bool(torch.cuda.is_available())
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return True  # xpu, npu: as the adapter was told
