"""RapidOCR (PP-OCR models shipped inside the rapidocr wheel), recognition only on word crops.

The wheel decides the model: rapidocr 3.0-3.8 bundle PP-OCRv4 mobile, 3.9 and later PP-OCRv6 small, so
one row name covers different recognizers. The card's range is the band the stored runs used (3.10.0,
PP-OCRv6 small; the `ocr` extra pins it), and each run records the package version and the model.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bench.adapter import AdapterCard, TranscriberAdapter
from bench.registry import register


@register
class RapidOCRAdapter(TranscriberAdapter):
    card = AdapterCard(
        name="rapidocr",
        row_name="RapidOCR",
        family="ocr",
        source="Team (2021)",
        citation="RapidAI, RapidOCR: OCR toolbox, https://github.com/RapidAI/RapidOCR",
        model_id="rapidocr (PP-OCR recognition model bundled in the wheel)",
        license="Apache-2.0",
        languages=("en", "zh", "es"),
        extra="ocr",
        requires=("rapidocr>=3.9,<3.11",),  # PP-OCRv6 small recognizer; 3.0-3.8 bundle PP-OCRv4 mobile
        params_note="initializers of the bundled ONNX recognition model (no detector, no classifier)",
        homepage="https://github.com/RapidAI/RapidOCR",
        notes="One multilingual (Chinese + Latin) recognizer; the language hint is not used.",
    )
    requires_modules = ("rapidocr", "onnxruntime")
    default_batch_size = 32

    def load(self) -> None:
        from rapidocr import RapidOCR

        self._engine = RapidOCR(params={"Global.use_det": False, "Global.use_cls": False,
                                        "Global.log_level": "error",
                                        "EngineConfig.onnxruntime.intra_op_num_threads": self.options.threads,
                                        "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        loader = getattr(self._engine, "_load_rec_model", None)
        self._rec = loader() if callable(loader) else getattr(self._engine, "text_rec", None)

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        arrays = [np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1]) for im in images]
        if self._rec is not None:
            from rapidocr.ch_ppocr_rec.typings import TextRecInput

            out = self._rec(TextRecInput(img=arrays))
            return [str(t or "") for t in out.txts]
        texts = []
        for arr in arrays:  # public per-image API when the batch recognizer is not exposed
            res = self._engine(arr, use_det=False, use_cls=False, use_rec=True)
            texts.append("".join(res.txts or ()))
        return texts

    def run_notes(self) -> dict:
        """The package version and the recognizer it bundles: the row's model depends on both."""
        import importlib.metadata
        from pathlib import Path

        cfg = getattr(self._rec, "cfg", None) or {}
        version = cfg.get("ocr_version") if hasattr(cfg, "get") else None
        size = cfg.get("model_type") if hasattr(cfg, "get") else None
        path = _rec_model_path()
        return {"package": f"rapidocr {importlib.metadata.version('rapidocr')}",
                "rec_model": " ".join(str(getattr(v, "value", v)) for v in (version, size) if v is not None) or None,
                "rec_model_file": Path(path).name if path else None}

    def footprint_bytes(self) -> int | None:
        path = _rec_model_path()
        from pathlib import Path

        return Path(path).stat().st_size if path else None

    def num_parameters(self) -> int | None:
        path = getattr(getattr(self._rec, "session", None), "model_path", None) or _rec_model_path()
        return onnx_parameter_count(path) if path else None


def _rec_model_path() -> str | None:
    import rapidocr
    from pathlib import Path

    hits = sorted((Path(rapidocr.__file__).parent / "models").glob("*rec*.onnx"))
    return str(hits[0]) if hits else None


def onnx_parameter_count(path: str) -> int | None:
    """Sum of initializer sizes of an ONNX graph (what the model stores as weights)."""
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(path, load_external_data=False)
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))
