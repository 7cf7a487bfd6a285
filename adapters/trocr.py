"""TrOCR (base, handwritten): a ViT encoder and a text decoder, read with transformers' native class."""
from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf import HFTranscriber, generation_kwargs, load_model
from ._hf_load import load_processor
from ._torch import to_device

MAX_NEW_TOKENS = 24  # TrOCR's tokens are BPE pieces; a long word is under 10


@register
class TrOCRAdapter(HFTranscriber):
    card = AdapterCard(
        name="trocr",
        row_name="TrOCR",
        family="ocr",
        source="Li et al. (2023)",
        citation="M. Li et al., TrOCR: Transformer-based Optical Character Recognition with Pre-trained "
                 "Models, AAAI 2023",
        model_id="microsoft/trocr-base-handwritten",
        revision="bad90c41e8b5a5cd03f658fbd568b44b2ee047c5",
        license="MIT",
        languages=("en",),
        extra="vllm",
        params_m=333.92,
        native_class="VisionEncoderDecoderModel",
        gpu=0.25,
        memory_gb=2.0,
        homepage="https://huggingface.co/microsoft/trocr-base-handwritten",
        notes="English-only (IAM fine-tuned); Chinese and Spanish images are read with the same model, "
              "as in the paper. Greedy decoding, no language hint.",
    )
    default_batch_size = 16

    def load(self) -> None:
        self._processor = load_processor(self, "TrOCRProcessor")
        self._model = load_model(self, "VisionEncoderDecoderModel")

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import torch

        pixels = self._processor(images=[im.convert("RGB") for im in images], return_tensors="pt")
        inputs = to_device(pixels, self)
        tok = self._processor.tokenizer
        with torch.inference_mode():
            ids = self._model.generate(inputs["pixel_values"],
                                       **generation_kwargs(MAX_NEW_TOKENS, tok.pad_token_id))
        return [t.strip() for t in tok.batch_decode(ids, skip_special_tokens=True)]
