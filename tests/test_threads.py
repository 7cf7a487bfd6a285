"""One thread means one thread: the libraries an engine imports are held to ``options.threads``."""
import pytest

from bench.registry.adapter import AdapterCard, TranscriberAdapter
from bench.registry.options import AdapterOptions
from bench.threads import THREAD_VARS, set_threads


class _CvEngine(TranscriberAdapter):
    card = AdapterCard(name="cv-engine", row_name="CV engine", family="ocr")

    def load(self) -> None:
        import cv2  # noqa: F401  (an engine that uses OpenCV, as RapidOCR does)

    def transcribe(self, images, lang):
        return ["" for _ in images]


def test_loading_an_engine_pins_opencv_and_torch_to_its_threads(monkeypatch):
    cv2 = pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    before = (cv2.getNumThreads(), torch.get_num_threads())
    try:
        cv2.setNumThreads(4)  # OpenCV's default pool is every core
        _CvEngine(AdapterOptions(threads=1)).ensure_loaded()
        assert cv2.getNumThreads() == 1 and torch.get_num_threads() == 1
        for var in THREAD_VARS:
            monkeypatch.delenv(var, raising=False)
        set_threads(2)
        import os

        assert all(os.environ[v] == "2" for v in THREAD_VARS)
        assert cv2.getNumThreads() == 2 and torch.get_num_threads() == 2
    finally:
        cv2.setNumThreads(before[0])
        torch.set_num_threads(before[1])
