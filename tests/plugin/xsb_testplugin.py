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
    path = os.environ.get("XSB_TEST_PIDS_FILE")  # which process encoded (bench run --workers)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {n}\n")


class InkTranscriber(TranscriberAdapter):
    """Transcribes every image as the same string: the plainest possible engine, for plumbing tests."""

    card = AdapterCard(name="plugin-const", row_name="Constant (plug-in)", family="ocr",
                       languages=("en", "zh", "es"))
    default_batch_size = 4

    def load(self) -> None:
        self.delay = float(os.environ.get("XSB_TEST_DELAY", "0"))

    def transcribe(self, images, lang):
        _count(len(images))
        main = os.environ.get("XSB_TEST_DIE_OUTSIDE_PID")  # a worker process crashing (bench run --workers)
        if main and str(os.getpid()) != main:
            os._exit(3)
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


def _note_load(name: str) -> None:
    path = os.environ.get("XSB_TEST_LOADS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{name} {os.getpid()}\n")


class HangingTranscriber(InkTranscriber):
    """Sleeps XSB_TEST_HANG_S seconds per call (default 0): a unit that outlives its card's timeout."""

    card = AdapterCard(name="plugin-hang", row_name="Hanging (plug-in)", family="ocr",
                       languages=("en", "zh", "es"), timeout_s=4.0)

    def load(self) -> None:
        _note_load(self.card.name)
        self.delay = 0.0
        self.hang = float(os.environ.get("XSB_TEST_HANG_S", "0"))

    def transcribe(self, images, lang):
        time.sleep(self.hang)
        return super().transcribe(images, lang)


class CrashingTranscriber(InkTranscriber):
    """SIGKILLs its own process on the first load when XSB_TEST_CRASH_MARKER names a file that does
    not exist yet (creating it): a worker that dies once, as an OOM-kill or a lost node would."""

    card = AdapterCard(name="plugin-crash", row_name="Crashing (plug-in)", family="ocr",
                       languages=("en", "zh", "es"))

    def load(self) -> None:
        _note_load(self.card.name)
        marker = os.environ.get("XSB_TEST_CRASH_MARKER")
        if marker and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), 9)
        super().load()


class RemoteCodeEmbedder(PixelEmbedder):
    """Stands for a model whose code ships with its weights: must need --trust-remote-code."""

    card = AdapterCard(name="plugin-remote", row_name="Remote code (plug-in)", family="embedding",
                       model_id="xsb-test/remote-code-model", revision="0" * 40, trust_remote_code=True)

    def load(self) -> None:
        _note_load(self.card.name)


def _install_write_faults() -> None:
    """Crash tests (tests/test_faults.py): log every atomic write of the results store and cache
    (XSB_TEST_WRITES_LOG), and SIGKILL this process at the Nth one (XSB_TEST_KILL_AT_WRITE="N:phase"):
    "partial" leaves the temporary file half-written, "before-rename" complete but not renamed,
    "after-rename" renamed but the folder not yet synced. Only files named like bench.store's
    temporaries (.<name>.<random>.tmp) count."""
    log_path = os.environ.get("XSB_TEST_WRITES_LOG")
    spec = os.environ.get("XSB_TEST_KILL_AT_WRITE")
    if not (log_path or spec):
        return
    kill_at, phase = (int(spec.split(":")[0]), spec.split(":")[1]) if spec else (0, "")
    real_fsync, real_replace = os.fsync, os.replace
    state = {"n": 0, "armed": None}
    t0 = time.time()

    def is_temp(path: str) -> bool:
        base = os.path.basename(path)
        return base.startswith(".") and base.endswith(".tmp")

    def fsync(fd):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if not is_temp(path):
            return real_fsync(fd)
        state["n"] += 1
        if log_path:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(f"{time.time() - t0:.3f} {path}\n")
        if state["n"] == kill_at and phase == "partial":
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            real_fsync(fd)
            os.kill(os.getpid(), 9)
        real_fsync(fd)
        if state["n"] == kill_at:
            state["armed"] = phase

    def replace(src, dst, *args, **kwargs):
        if state["armed"] == "before-rename" and is_temp(str(src)):
            os.kill(os.getpid(), 9)
        real_replace(src, dst, *args, **kwargs)
        if state["armed"] == "after-rename" and is_temp(str(src)):
            os.kill(os.getpid(), 9)

    os.fsync, os.replace = fsync, replace


_install_write_faults()
