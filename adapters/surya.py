"""Surya OCR (surya-ocr 0.17): its recognition model on one box covering the whole word crop.

Pinned to the 0.17 series: the paper is from 2025, and from 0.20 on surya moved recognition to a
served VLM (vLLM or a llama.cpp server), a different model. Weights live in surya's own cache
(``~/.cache/datalab/models``), not the Hugging Face cache.

Task and math mode, read in surya-ocr 0.17.1's own code (the wheel): ``RecognitionPredictor.__call__``
falls back to ``TaskNames.ocr_with_boxes`` when no task is given and defaults ``math_mode=True``,
and the ``surya_ocr`` command passes ``--task_name`` default ``ocr_with_boxes`` and
``math_mode=not --disable_math``. The paper runs Surya as an off-the-shelf OCR engine with no
stated options, so its protocol implies those defaults: ``ocr_with_boxes`` (text with per-character
boxes, which we ignore) and math mode on. (0.14.x also defaulted to ``ocr_with_boxes``.) Its task
settings (``FoundationPredictor.tasks``) give both OCR tasks the same 1024x512 input and 224-token cap.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

from bench.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.availability import Availability, download_allowed
from bench.registry import register

from ._torch import count_parameters

CHECKPOINT = "text_recognition/2025_09_23"  # surya 0.17.1's FOUNDATION_MODEL_CHECKPOINT (s3://...)
TASK = "ocr_with_boxes"  # 0.17.1's default task (RecognitionPredictor and the surya_ocr command)
MATH_MODE = True  # 0.17.1's default (RecognitionPredictor; surya_ocr without --disable_math)
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>")


def surya_cache() -> Path:
    """surya's MODEL_CACHE_DIR, computed without importing surya (it imports torch)."""
    if os.environ.get("MODEL_CACHE_DIR"):
        return Path(os.environ["MODEL_CACHE_DIR"])
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("datalab")) / "models"
    except ImportError:
        return Path(os.path.expanduser("~/.cache/datalab/models"))


@register
class SuryaAdapter(TranscriberAdapter):
    card = AdapterCard(
        name="surya",
        row_name="Surya",
        family="ocr",
        source="Paruchuri and Team (2025)",
        citation="V. Paruchuri and Datalab Team, Surya: a lightweight document OCR and analysis toolkit, "
                 "https://github.com/datalab-to/surya",
        model_id=f"surya-ocr 0.17 ({CHECKPOINT})",
        revision="0.17.1",
        license="GPL-3.0 (code), AI Pubs Open Rail-M (weights)",
        languages=("en", "zh", "es"),
        extra="surya",
        requires=("surya-ocr>=0.17,<0.18",),  # later releases serve another model
        params_m=38.42,
        params_note="all parameters of surya's recognition (foundation) model",
        gpu=0.5,
        memory_gb=4.0,
        homepage="https://github.com/datalab-to/surya",
        notes="Recognition only, on one box spanning the crop, with 0.17.1's defaults: task ocr_with_boxes "
              "(its RecognitionPredictor and surya_ocr default), math mode on; HTML tags in the output are removed. Surya detects the script itself (no language "
              "hint). Revision is the package version. Not exercised offline.",
    )
    requires_modules = ("surya", "torch")
    default_batch_size = 16

    @classmethod
    def check_weights(cls, options: AdapterOptions) -> Availability:
        if options.model_path is not None:
            ok = Path(options.model_path).is_dir()
            return Availability(ok, "" if ok else f"--model-path surya={options.model_path} is not a folder")
        if (surya_cache() / CHECKPOINT / "manifest.json").is_file() or download_allowed(options):
            return Availability(True)
        return Availability(False, f"surya's recognition weights are not in {surya_cache() / CHECKPOINT}; fix: "
                                   "run `python -c \"from surya.foundation import FoundationPredictor; "
                                   "FoundationPredictor()\"` once online, or pass --allow-download, "
                                   "or --model-path surya=DIR")

    def load(self) -> None:
        from surya.foundation import FoundationPredictor
        from surya.recognition import RecognitionPredictor

        ckpt = str(self.options.model_path) if self.options.model_path else None
        self._foundation = FoundationPredictor(checkpoint=ckpt, device=self.options.device,
                                               dtype=self.options.torch_dtype())
        self._rec = RecognitionPredictor(self._foundation)

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        from surya.common.surya.schema import TaskNames

        images = [im.convert("RGB") for im in images]
        results = self._rec(images, task_names=[getattr(TaskNames, TASK)] * len(images),
                            bboxes=[[[0, 0, im.width, im.height]] for im in images],
                            recognition_batch_size=self.batch_size, math_mode=MATH_MODE, sort_lines=False)
        return [_TAGS.sub("", " ".join(line.text for line in r.text_lines)).strip() for r in results]

    def num_parameters(self) -> int | None:
        model = getattr(getattr(self, "_foundation", None), "model", None)
        return count_parameters(model)

    def close(self) -> None:
        self._rec = None
        self._foundation = None
