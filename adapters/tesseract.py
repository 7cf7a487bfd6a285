"""Tesseract 5 (LSTM engine) through tesserocr, with the language pack of the query language."""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

from bench.adapter import AdapterCard, TranscriberAdapter
from bench.availability import Availability
from bench.registry import register

LANG_PACKS = {"en": "eng", "zh": "chi_sim", "es": "spa"}
APT_PACKS = {"eng": "tesseract-ocr-eng", "chi_sim": "tesseract-ocr-chi-sim", "spa": "tesseract-ocr-spa"}


def tessdata_dir() -> Path | None:
    """TESSDATA_PREFIX if set, else Debian's tessdata folder."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += sorted((str(p) for p in Path("/usr/share/tesseract-ocr").glob("*/tessdata")), reverse=True)
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).glob("*.traineddata")):
            return Path(c)
    return None


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """Content hash of one file (size and mtime only key this memo: a replaced file is re-read)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def traineddata_identity(data: Path) -> str:
    """Which language models Tesseract reads: a content hash per traineddata file it uses. The
    files come from the system's packages, not from tesserocr, so the package versions in the
    cache key do not cover them: a new tesseract-ocr-eng must not reuse the old one's outputs."""
    parts = []
    for pack in sorted(LANG_PACKS.values()):
        f = data / f"{pack}.traineddata"
        if f.is_file():
            st = f.stat()
            parts.append(f"{pack}={_file_digest(str(f), st.st_size, st.st_mtime_ns)}")
    return ",".join(parts)


@register
class TesseractAdapter(TranscriberAdapter):
    card = AdapterCard(
        name="tesseract",
        row_name="Tesseract",
        family="ocr",
        source="Smith (2007)",
        citation="R. Smith, An Overview of the Tesseract OCR Engine, ICDAR 2007",
        model_id="tesseract 5 LSTM (eng, chi_sim, spa traineddata)",
        license="Apache-2.0",
        languages=("en", "zh", "es"),
        extra="ocr",
        params_note="not counted (LSTM traineddata, no parameter table)",
        homepage="https://github.com/tesseract-ocr/tesseract",
        notes="Not in the paper's Table 2; an offline reference engine. Single-word page mode for "
              "Latin, single-line for Chinese.",
    )
    requires_modules = ("tesserocr",)
    default_batch_size = 16

    @classmethod
    def check_weights(cls, options) -> Availability:
        """The traineddata files of the three language packs."""
        data = tessdata_dir()
        if data is None:
            return Availability(False, "no tessdata folder found; fix: apt-get install tesseract-ocr "
                                       "tesseract-ocr-chi-sim tesseract-ocr-spa (or set TESSDATA_PREFIX)")
        missing = [p for p in LANG_PACKS.values() if not (data / f"{p}.traineddata").is_file()]
        if missing:
            return Availability(False, f"tessdata {data} lacks {', '.join(missing)}; fix: apt-get install "
                                       + " ".join(APT_PACKS[m] for m in missing))
        return Availability(True)

    def model_identity(self) -> str:
        data = tessdata_dir()
        return f"{super().model_identity()}|tessdata:{traineddata_identity(data) if data else 'none'}"

    def load(self) -> None:
        import tesserocr

        self._tesserocr = tesserocr
        self._data = str(tessdata_dir())
        self._apis: dict[str, Any] = {}

    def _api(self, lang: str):
        pack = LANG_PACKS.get(lang)
        if pack is None:
            raise ValueError(f"tesseract adapter has no language pack for {lang!r}")
        if pack not in self._apis:
            t = self._tesserocr
            psm = t.PSM.SINGLE_LINE if lang == "zh" else t.PSM.SINGLE_WORD
            self._apis[pack] = t.PyTessBaseAPI(path=self._data, lang=pack, psm=psm)
        return self._apis[pack]

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        api = self._api(lang)
        out = []
        for im in images:
            api.SetImage(im.convert("RGB"))
            text = api.GetUTF8Text().strip()
            if lang == "zh":
                text = text.replace(" ", "")  # Tesseract spaces out CJK characters
            out.append(text)
        return out

    def close(self) -> None:
        for api in getattr(self, "_apis", {}).values():
            api.End()
        self._apis = {}
