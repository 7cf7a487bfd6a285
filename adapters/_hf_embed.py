"""Shared pieces of the Hugging Face embedding adapters: where weights come from, pooling, counting.

Every embedding baseline loads from ``--model-path NAME=DIR`` or the local Hugging Face cache at its
pinned revision (downloads only when allowed), runs in ``torch.inference_mode`` on the chosen device and
dtype, and hands the harness float32 L2-normalized rows. Pooling functions are plain functions so
the tests can check them without a model. Heavy imports stay inside functions.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, Sequence

import numpy as np

from bench.cache import folder_identity  # noqa: F401  (re-exported for adapters)
from bench.adapter import EmbeddingAdapter, l2_normalize
from bench.availability import download_allowed, model_weight_kwargs



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


def count_parameters(module, exclude_prefixes: Sequence[str] = ()) -> int:
    """Unique parameters (tied weights once), skipping submodules named by ``exclude_prefixes``."""
    seen: set[int] = set()
    total = 0
    for name, p in module.named_parameters(remove_duplicate=False):
        if any(name == pre or name.startswith(pre + ".") for pre in exclude_prefixes):
            continue
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
    return int(total)


def pooled(output) -> Any:
    """``get_image_features``/``get_text_features`` return a tensor (transformers 4) or an output
    object whose ``pooler_output`` is the projected embedding (transformers 5)."""
    return output if hasattr(output, "shape") else output.pooler_output


class HFEmbeddingAdapter(EmbeddingAdapter):
    """Base of the Hugging Face embedding adapters: source resolution, cache key, batching."""

    default_batch_size = 16

    # -- where the weights come from ------------------------------------------------------------
    def source(self) -> str:
        """``--model-path`` folder if given, else the hub id (resolved in the local cache)."""
        return str(self.options.model_path) if self.options.model_path else str(self.card.model_id)

    def hub_kwargs(self, revision: str | None = None, remote_code: bool | None = None) -> dict[str, Any]:
        """Keyword arguments for ``from_pretrained``: pinned revision, offline unless allowed."""
        kw: dict[str, Any] = {"local_files_only": not download_allowed(self.options)}
        if not self.options.model_path:
            rev = revision if revision is not None else self.card.revision
            if rev:
                kw["revision"] = rev
        trust = self.card.trust_remote_code if remote_code is None else remote_code
        if trust:
            kw["trust_remote_code"] = True
        return kw

    # -- devices ---------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return str(self.options.device)

    def dtype(self):
        return self.options.torch_dtype()

    def place(self, model):
        """Move to device/dtype, eval mode."""
        return model.to(device=self.device, dtype=self.dtype()).eval()

    def to_device(self, batch: dict) -> dict:
        """Tensors to the device; floating tensors (pixels) to the model dtype."""
        import torch

        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device)
                if v.is_floating_point():
                    v = v.to(self.dtype())
            out[k] = v
        return out

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


def dtype_kwarg(dtype) -> dict[str, Any]:
    """``from_pretrained`` takes ``dtype`` since transformers 4.56 and ``torch_dtype`` before."""
    import importlib.metadata

    from packaging.version import Version

    return {"dtype": dtype} if Version(importlib.metadata.version("transformers")) >= Version("4.56") \
        else {"torch_dtype": dtype}


class DualEncoderAdapter(HFEmbeddingAdapter):
    """CLIP-style two-tower models: ``get_image_features`` / ``get_text_features`` on a native class.

    The projected features are what CLIP-style models compare (cosine), so they are what we return.
    """

    model_class = "AutoModel"  # transformers class name resolved at load time
    text_kwargs: dict[str, Any] = {"padding": True, "truncation": True}

    def load(self) -> None:
        import transformers

        cls = getattr(transformers, self.model_class)
        kw = self.hub_kwargs()
        self.model = self.place(cls.from_pretrained(self.source(), **dtype_kwarg(self.dtype()), **kw,
                                                         **model_weight_kwargs()))
        self.processor = transformers.AutoProcessor.from_pretrained(self.source(), **kw)

    def text_prompt(self, word: str, lang: str) -> str:
        """The text the model sees for a gallery word (plain word unless a subclass says otherwise)."""
        return word

    def embed_images(self, images: list):
        inputs = self.processor(images=images, return_tensors="pt")
        return pooled(self.model.get_image_features(**self.to_device(dict(inputs))))

    def embed_texts(self, texts: list[str], lang: str):
        prompts = [self.text_prompt(t, lang) for t in texts]
        inputs = self.processor(text=prompts, return_tensors="pt", **self.text_kwargs)
        inputs = {k: v for k, v in dict(inputs).items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        return pooled(self.model.get_text_features(**self.to_device(inputs)))

    def num_parameters(self) -> int | None:
        return count_parameters(self.model) if getattr(self, "model", None) is not None else None

