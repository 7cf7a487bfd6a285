"""Shared loading code for the adapters built on Hugging Face ``transformers``.

Where the weights come from (``--model-path``, else the local HF cache at the card's revision, and the
network only when the user allows it), which device and dtype, remote code only when both the card
needs it and the user allowed it, and parameter counts from the loaded model. Heavy imports happen
inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from bench.adapter import TranscriberAdapter
from bench.availability import download_allowed, hf_local_snapshot, model_weight_kwargs

if TYPE_CHECKING:
    from bench.adapter import Adapter

HF_MODULES = ("torch", "transformers")
# The band of transformers the pinned remote code of MM-Embed, DeepSeek-OCR, Phi-3.5-Vision and
# MiniCPM-o was written for (their cards name 4.42-4.46); later releases renamed the cache and
# generation internals that code calls. Their extras pin transformers 4.46.3 (DeepSeek-OCR's own pin).
REMOTE_CODE_TRANSFORMERS = "transformers<4.47"


def model_source(adapter: "Adapter") -> tuple[str, dict[str, Any]]:
    """(path or id, from_pretrained kwargs) for an adapter's model.

    ``--model-path`` wins. Otherwise, offline, load the cached snapshot folder directly (the pinned
    revision when cached, else whichever one is); with downloads allowed, the id at the revision.
    """
    card, opts = adapter.card, adapter.options
    kwargs: dict[str, Any] = {}
    if card.trust_remote_code and opts.trust_remote_code:
        kwargs["trust_remote_code"] = True
    if opts.model_path is not None:
        return str(opts.model_path), {**kwargs, "local_files_only": True}
    assert card.model_id, f"{card.name} has no model_id"
    if not download_allowed(opts):
        snap = hf_local_snapshot(card.model_id, card.revision)
        if snap is not None:
            return str(snap), {**kwargs, "local_files_only": True}
        return card.model_id, {**kwargs, "local_files_only": True, "revision": card.revision}
    return card.model_id, {**kwargs, "revision": card.revision}


def load_model(adapter: "Adapter", class_name: str, **extra: Any):
    """``transformers.<class_name>.from_pretrained`` on the user's device and dtype, in eval mode."""
    import transformers

    from ._hf_embed import dtype_kwarg

    src, kwargs = model_source(adapter)
    cls = getattr(transformers, class_name)
    model = cls.from_pretrained(src, **dtype_kwarg(adapter.options.torch_dtype()), **kwargs,
                                 **{**model_weight_kwargs(), **extra})
    return model.to(adapter.options.device).eval()


def load_processor(adapter: "Adapter", class_name: str = "AutoProcessor", **extra: Any):
    import transformers

    src, kwargs = model_source(adapter)
    return getattr(transformers, class_name).from_pretrained(src, **kwargs, **extra)


def count_parameters(model: Any) -> int | None:
    """All parameters of a loaded torch model (tied weights counted once)."""
    if model is None:
        return None
    if hasattr(model, "num_parameters"):
        return int(model.num_parameters())
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return int(total)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), max(1, size)):
        yield items[i:i + size]


def release(device: str) -> None:
    """Give memory back after a model is dropped (CUDA caches otherwise keep it)."""
    gc.collect()
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def to_device(batch: Any, adapter: "Adapter") -> Any:
    """Move a processor's output to the device, casting floating tensors (pixels) to the dtype."""
    import torch

    dtype = adapter.options.torch_dtype()
    out = {}
    for k, v in dict(batch).items():
        if isinstance(v, torch.Tensor):
            v = v.to(adapter.options.device)
            if v.is_floating_point():
                v = v.to(dtype)
        out[k] = v
    return out


class HFTranscriber(TranscriberAdapter):
    """Base of the transformers transcribers: holds model and processor, counts, frees."""

    requires_modules = HF_MODULES
    default_batch_size = 8

    _model: Any = None
    _processor: Any = None

    def num_parameters(self) -> int | None:
        return count_parameters(self._model)

    def close(self) -> None:
        self._model = None
        self._processor = None
        release(self.options.device)


def generation_kwargs(max_new_tokens: int, pad_token_id: int | None = None) -> dict[str, Any]:
    """Greedy decoding with a small budget: the same settings for every generative adapter."""
    kw: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1}
    if pad_token_id is not None:
        kw["pad_token_id"] = pad_token_id
    return kw


class ChatTranscriber(HFTranscriber):
    """A vision LLM on a native transformers class, asked with the chat template of its processor.

    One prompt per language (``adapters._prompts``), left padding so a batch generates together,
    greedy decoding with a small budget, and the shared post-processor on the new tokens only.
    """

    model_class: str = "AutoModelForImageTextToText"
    processor_class: str = "AutoProcessor"
    generate_extra: dict[str, Any] = {}

    def load(self) -> None:
        self._processor = load_processor(self, self.processor_class)
        tok = self.tokenizer
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self._model = load_model(self, self.model_class)

    @property
    def tokenizer(self):
        return getattr(self._processor, "tokenizer", self._processor)

    def messages(self, lang: str) -> list[dict[str, Any]]:
        from ._prompts import prompt_for

        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt_for(lang)}]}]

    def inputs(self, images: Sequence[Any], lang: str):
        """Token ids as ``apply_chat_template(tokenize=True)`` makes them: a template that already
        starts with the BOS token (Llama 3's does) is tokenized without adding special tokens again,
        else every prompt would start with two BOS tokens."""
        text = self._processor.apply_chat_template(self.messages(lang), add_generation_prompt=True, tokenize=False)
        bos = getattr(self.tokenizer, "bos_token", None)
        extra = {"add_special_tokens": False} if bos and text.startswith(bos) else {}
        return self._processor(text=[text] * len(images), images=[[im.convert("RGB")] for im in images],
                               return_tensors="pt", padding=True, **extra)

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import torch

        from ._prompts import MAX_NEW_TOKENS, clean_transcription

        inputs = to_device(self.inputs(images, lang), self)
        with torch.inference_mode():
            out = self._model.generate(**inputs, **generation_kwargs(MAX_NEW_TOKENS, self.tokenizer.pad_token_id),
                                       **self.generate_extra)
        new = out[:, inputs["input_ids"].shape[1]:]
        return [clean_transcription(t, lang) for t in self.tokenizer.batch_decode(new, skip_special_tokens=True)]
