"""Florence-2-large with its ``<OCR>`` task, on transformers' native Florence2 class.

The native class reads the converted checkpoint ``florence-community/Florence-2-large`` (same weights
as ``microsoft/Florence-2-large``, whose own repo needs remote code), so no remote code runs.
"""
from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf import HFTranscriber, generation_kwargs, load_model
from ._hf_load import load_processor
from ._torch import to_device

TASK = "<OCR>"
MAX_NEW_TOKENS = 24
# The model card's OCR example decodes with 3 beams (do_sample off). Florence-2 is an OCR row, read
# the way its authors run it; the uniform greedy protocol is for the chat VLLMs, whose cards differ.
NUM_BEAMS = 3
DECODING = f"beam search, num_beams={NUM_BEAMS}, no sampling (the model card's <OCR> example)"


@register
class Florence2Adapter(HFTranscriber):
    card = AdapterCard(
        name="florence2-large",
        row_name="Florence-2-Large (OCR)",
        family="ocr",
        source="Xiao et al. (2024)",
        citation="B. Xiao et al., Florence-2: Advancing a Unified Representation for a Variety of Vision "
                 "Tasks, CVPR 2024",
        model_id="florence-community/Florence-2-large",
        revision="4271c66b88cdbc05735372ec13b2360108de5317",
        license="MIT",
        languages=("en",),
        extra="vllm",
        requires=("transformers>=4.56",),  # the native Florence2 class arrived in 4.56
        params_m=776.47,
        native_class="Florence2ForConditionalGeneration",
        gpu=0.25,
        memory_gb=4.0,
        homepage="https://huggingface.co/florence-community/Florence-2-large",
        notes=f"Task prompt <OCR>, {DECODING}. No language hint: "
              "the task takes none. Revision: 4271c66, the converted repo's commit with model.safetensors "
              "that several public projects pin (some also record that file's SHA-256, 7715423d...).",
    )
    default_batch_size = 16

    def load(self) -> None:
        self._processor = load_processor(self, "AutoProcessor")
        self._model = load_model(self, "Florence2ForConditionalGeneration")

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import torch

        batch = self._processor(text=[TASK] * len(images), images=[im.convert("RGB") for im in images],
                                return_tensors="pt")
        inputs = to_device(batch, self)
        tok = self._processor.tokenizer
        with torch.inference_mode():
            ids = self._model.generate(**inputs, **{**generation_kwargs(MAX_NEW_TOKENS, tok.pad_token_id),
                                                    "num_beams": NUM_BEAMS})
        return [t.strip() for t in tok.batch_decode(ids, skip_special_tokens=True)]

    def run_notes(self) -> dict:
        return {**super().run_notes(), "decoding": DECODING}
