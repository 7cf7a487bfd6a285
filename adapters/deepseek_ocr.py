"""DeepSeek-OCR through its repository's own code (no native transformers class for v1).

transformers ships ``deepseek_ocr2`` (DeepSeek-OCR-2, a different model) but not the paper's
DeepSeek-OCR, so this adapter runs the pinned remote code, only with ``--trust-remote-code``. That
code's ``infer`` reads an image file and calls ``.cuda()`` itself, so it needs a CUDA device.

Mode: the model card's default "Gundam" (``base_size=1024, image_size=640, crop_mode=True``). In that
code a global view with ``base_size`` above 640 is padded to a square (aspect kept), while the Tiny and
Small modes (``base_size`` 512/640, no crops) resize straight to a square: a 5:1 word would be
squashed five times. A word image within 640 px gets no local crops in Gundam mode: one padded
1024-px view (256 vision tokens), the same view as the "Base" mode; wider ones add 640-px tiles.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

from bench.adapter import AdapterCard, AdapterOptions
from bench.availability import Availability
from bench.registry import register

from ._hf import HFTranscriber, load_model
from ._hf_load import load_processor

PROMPT = "<image>\nFree OCR. "  # the model card's plain-OCR prompt (no layout grounding)
MODE = {"base_size": 1024, "image_size": 640, "crop_mode": True}  # "Gundam", the card's default: pads


@register
class DeepSeekOCRAdapter(HFTranscriber):
    card = AdapterCard(
        name="deepseek-ocr",
        row_name="DeepSeek-OCR",
        family="ocr",
        source="Wei et al. (2025)",
        citation="H. Wei et al., DeepSeek-OCR: Contexts Optical Compression, arXiv:2510.18234",
        model_id="deepseek-ai/DeepSeek-OCR",
        revision="6d2df0b94f19d2ffbe3ae58058925a26e3d4c2df",
        license="MIT",
        languages=("en", "zh", "es"),
        extra="deepseek-ocr",
        requires=("transformers>=4.46.3,<4.47",),  # the card: transformers==4.46.3, tokenizers==0.20.3
        params_m=3336.11,
        trust_remote_code=True,
        gpu=1.0,
        memory_gb=10.0,
        homepage="https://huggingface.co/deepseek-ai/DeepSeek-OCR",
        notes="Remote code (no native class for v1), prompt '<image>\\nFree OCR. ', Gundam mode (the card's "
              "default: base_size 1024, image_size 640, crop_mode; the global view is padded, not squashed), "
              "one image per call through model.infer(eval_mode=True). CUDA only: its code calls .cuda(). "
              "The card names transformers 4.46.3 and tokenizers 0.20.3 (the extra pins both); not exercised offline.",
    )
    requires_modules = ("torch", "transformers", "torchvision", "einops", "addict", "easydict")
    default_batch_size = 1

    @classmethod
    def availability(cls, options: AdapterOptions | None = None) -> Availability:
        options = options or AdapterOptions()
        status = super().availability(options)
        if status.ok and not str(options.device).startswith("cuda"):
            return Availability(False, "DeepSeek-OCR's own code runs on CUDA only (it calls .cuda()); "
                                       "fix: bench run --device cuda")
        return status

    def load(self) -> None:
        self._processor = load_processor(self, "AutoTokenizer")
        self._model = load_model(self, "AutoModel", use_safetensors=True, _attn_implementation="eager")
        self._tmp = tempfile.TemporaryDirectory(prefix="xsb-deepseek-ocr-")

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        from ._prompts import clean_transcription

        out = []
        for i, im in enumerate(images):
            path = Path(self._tmp.name) / f"word{i}.png"
            im.convert("RGB").save(path)
            text = self._model.infer(self._processor, prompt=PROMPT, image_file=str(path), output_path=self._tmp.name,
                                     save_results=False, eval_mode=True, **MODE)
            out.append(clean_transcription(str(text or ""), lang))
        return out

    def close(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
            self._tmp = None
        super().close()
