"""Bases of the Hugging Face embedding adapters: batching, pooling, and the two usual model shapes.

Every embedding baseline loads through ``adapters._hf_load`` (the one loading path, shared with the
transcribers), runs in ``torch.inference_mode`` on the chosen device and dtype, and hands the harness
float32 L2-normalized rows. Pooling functions are plain functions so the tests can check them
without a model. Heavy imports stay inside functions.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, Sequence

import numpy as np

from bench.adapter import EmbeddingAdapter
from bench.vectors import l2_normalize

from ._hf_load import HF_CACHE_PACKAGES, HF_MODULES, HubPinned, load_processor, load_weights
from ._torch import count_parameters, to_device


def last_token_pool(hidden, attention_mask):
    """Hidden state of each row's last real token, for left or right padding.

    With left padding every row ends at the last position; with right padding the last real
    token sits at ``sum(mask) - 1``. Decoder embedders (E5-V, GME) read that token.
    """
    import torch

    mask = attention_mask.to(torch.long)
    if bool((mask[:, -1] == 1).all()):
        return hidden[:, -1]
    lengths = mask.sum(dim=1) - 1
    # Rows that are left-padded but shorter than the batch still end at the final position.
    last_pos = torch.where(mask[:, -1] == 1, torch.full_like(lengths, mask.shape[1] - 1), lengths)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last_pos]


def mean_pool(hidden, attention_mask):
    """Mean of the hidden states of real tokens (padding excluded)."""
    import torch

    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / torch.clamp(m.sum(dim=1), min=1e-9)


def to_unit_rows(t) -> np.ndarray:
    """A torch tensor (any dtype, any device) as float32 L2-normalized numpy rows."""
    return l2_normalize(t.detach().float().cpu().numpy())


def pooled(output) -> Any:
    """``get_image_features``/``get_text_features`` return a tensor (transformers 4) or an output
    object whose ``pooler_output`` is the projected embedding (transformers 5)."""
    return output if hasattr(output, "shape") else output.pooler_output


class HFEmbeddingAdapter(HubPinned, EmbeddingAdapter):
    """Base of the Hugging Face embedding adapters: device and dtype, batching, unit rows."""

    default_batch_size = 16
    requires_modules = HF_MODULES  # subclasses add theirs (bench.cache_identity.declared_modules)
    cache_packages = HF_CACHE_PACKAGES

    @property
    def device(self) -> str:
        return str(self.options.device)

    def dtype(self):
        return self.options.torch_dtype()

    def place(self, model):
        """Move to device/dtype, eval mode."""
        return model.to(device=self.device, dtype=self.dtype()).eval()

    def _run(self, fn: Callable[[list], Any], items: Sequence[Any]) -> np.ndarray:
        """``fn`` on batches of ``items`` under no_grad; float32 unit rows."""
        import torch

        self.ensure_loaded()
        rows = []
        with torch.inference_mode():
            for b in range(0, len(items), self.batch_size):
                rows.append(to_unit_rows(fn(list(items[b:b + self.batch_size]))))
        if not rows:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(rows, axis=0)

    def encode_images(self, images: Sequence[Any], lang: str) -> np.ndarray:
        return self._run(lambda batch: self.embed_images([im.convert("RGB") for im in batch]), images)

    def encode_texts(self, texts: Sequence[str], lang: str) -> np.ndarray:
        return self._run(lambda batch: self.embed_texts(batch, lang), texts)

    @abstractmethod
    def embed_images(self, images: list) -> Any:
        """One batch of RGB PIL images -> (B, D) torch tensor (not yet normalized)."""

    @abstractmethod
    def embed_texts(self, texts: list[str], lang: str) -> Any:
        """One batch of words -> (B, D) torch tensor (not yet normalized)."""

    def close(self) -> None:
        for attr in ("model", "processor", "tokenizer"):
            if hasattr(self, attr):
                setattr(self, attr, None)
        self._loaded = False


class DualEncoderAdapter(HFEmbeddingAdapter):
    """CLIP-style two-tower models: ``get_image_features`` / ``get_text_features`` on a native class.

    The projected features are what CLIP-style models compare (cosine), so they are what we return.
    """

    model_class = "AutoModel"  # transformers class name resolved at load time
    text_kwargs: dict[str, Any] = {"padding": True, "truncation": True}

    def load(self) -> None:
        self.model = self.place(load_weights(self, self.model_class))
        self.processor = load_processor(self, "AutoProcessor")

    def text_prompt(self, word: str, lang: str) -> str:
        """The text the model sees for a gallery word (plain word unless a subclass says otherwise)."""
        return word

    def embed_images(self, images: list):
        inputs = self.processor(images=images, return_tensors="pt")
        return pooled(self.model.get_image_features(**to_device(inputs, self)))

    def embed_texts(self, texts: list[str], lang: str):
        prompts = [self.text_prompt(t, lang) for t in texts]
        inputs = self.processor(text=prompts, return_tensors="pt", **self.text_kwargs)
        inputs = {k: v for k, v in dict(inputs).items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        return pooled(self.model.get_text_features(**to_device(inputs, self)))

    def num_parameters(self) -> int | None:
        return count_parameters(getattr(self, "model", None))


class LastTokenEmbedder(HFEmbeddingAdapter):
    """Decoder models that embed an input as the last hidden state of its last real token (E5-V,
    GME): one prompt for every image, one per word, right padding, the LM head never run."""

    @abstractmethod
    def image_prompt(self) -> str:
        """The prompt every word image is embedded with."""

    @abstractmethod
    def text_prompt(self, word: str) -> str:
        """The prompt a gallery word is embedded with."""

    @abstractmethod
    def _last_token(self, inputs: dict):
        """Processor outputs -> (B, D) last-token states."""

    def embed_images(self, images: list):
        inputs = self.processor(text=[self.image_prompt()] * len(images), images=images, return_tensors="pt",
                                padding=True)
        return self._last_token(inputs)

    def embed_texts(self, texts: list[str], lang: str):
        inputs = self.processor(text=[self.text_prompt(t) for t in texts], return_tensors="pt", padding=True)
        return self._last_token(inputs)

    def num_parameters(self) -> int | None:
        return count_parameters(self.model, exclude_prefixes=("lm_head",))
