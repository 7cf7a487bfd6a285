"""A third-party adapter package used by the tests, registered only through an entry point."""
from __future__ import annotations

import os
import time

import numpy as np

from bench.adapter import AdapterCard, EmbeddingAdapter, TranscriberAdapter

CALLS_FILE_ENV = "XSB_TEST_CALLS_FILE"


def _count(n: int) -> None:
    path = os.environ.get(CALLS_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{n}\n")


class InkTranscriber(TranscriberAdapter):
    """Transcribes every image as the same string: the plainest possible engine, for plumbing tests."""

    card = AdapterCard(name="plugin-const", row_name="Constant (plug-in)", family="ocr",
                       languages=("en", "zh", "es"))
    default_batch_size = 4

    def load(self) -> None:
        self.delay = float(os.environ.get("XSB_TEST_DELAY", "0"))

    def transcribe(self, images, lang):
        _count(len(images))
        time.sleep(self.delay * len(images))
        text = os.environ.get("XSB_TEST_CONST", "dog")
        return [text for _ in images]


class BrokenTranscriber(TranscriberAdapter):
    card = AdapterCard(name="plugin-broken", row_name="Broken (plug-in)", family="ocr")

    def load(self) -> None:
        pass

    def transcribe(self, images, lang):
        raise RuntimeError("engine exploded")


class MissingExtraAdapter(EmbeddingAdapter):
    card = AdapterCard(name="plugin-missing", row_name="Missing (plug-in)", family="embedding",
                       extra="nonexistent-extra")
    requires_modules = ("xsb_no_such_module",)

    def load(self) -> None:
        import xsb_no_such_module  # noqa: F401

    def encode_images(self, images, lang):
        raise AssertionError("never called")

    def encode_texts(self, texts, lang):
        raise AssertionError("never called")


class PixelEmbedder(EmbeddingAdapter):
    """Embeds an image by its downsampled pixels and a text by character codes: deterministic, cheap."""

    card = AdapterCard(name="plugin-pixels", row_name="Pixels (plug-in)", family="embedding")

    def load(self) -> None:
        pass

    def encode_images(self, images, lang):
        _count(len(images))
        out = [np.asarray(im.convert("L").resize((8, 4)), dtype=np.float32).ravel() + 1.0 for im in images]
        return np.stack(out)

    def encode_texts(self, texts, lang):
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, t in enumerate(texts):
            for j, ch in enumerate(t[:32]):
                out[i, j] = (ord(ch) % 97) + 1
        return out
