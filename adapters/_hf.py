"""Bases of the transcribers built on Hugging Face ``transformers``: model and processor held,
counted and freed, and the chat-template transcriber the vision LLMs share.

Where the weights come from is ``adapters._hf_load`` (the one loading path, shared with the
embedders). Heavy imports happen inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import TranscriberAdapter

from ._hf_load import HF_CACHE_PACKAGES, HF_MODULES, HubPinned, load_processor, load_weights
from ._torch import count_parameters, release, to_device


def load_model(adapter: TranscriberAdapter, class_name: str, **extra: Any):
    """A transcriber's model (``_hf_load.load_weights``) on the user's device, in eval mode."""
    return load_weights(adapter, class_name, **extra).to(adapter.options.device).eval()


class HFTranscriber(HubPinned, TranscriberAdapter):
    """Base of the transformers transcribers: holds model and processor, counts, frees."""

    requires_modules = HF_MODULES
    cache_packages = HF_CACHE_PACKAGES
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
    # The system prompt the model's original chat() always sends, where a converted (-HF) chat
    # template leaves it out unless given (None: the template's own behaviour is the original's).
    system_prompt: str | None = None

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

        turn = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt_for(lang)}]}]
        if self.system_prompt is None:
            return turn
        return [{"role": "system", "content": [{"type": "text", "text": self.system_prompt}]}, *turn]

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
