"""Pin the math and image libraries of this process to ``n`` threads.

Why a module of its own: one-thread latency and one-thread-per-worker encoding are only true if
every library an engine uses obeys. The environment variables cover OpenMP/MKL/OpenBLAS when set
before import; torch and OpenCV keep their own pools and are set through their APIs once imported
(OpenCV's default pool uses every core, which made a "one-thread" RapidOCR use two, and two
workers oversubscribe two cores).
"""
from __future__ import annotations

import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_THREAD_LIMIT",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_thread_env(n: int) -> None:
    """The environment variables libraries read at import."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)


def pin_loaded_libraries(n: int) -> None:
    """torch and OpenCV, if this process has imported them: ``n`` threads each."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setNumThreads"):
        cv2.setNumThreads(n)


def set_threads(n: int) -> None:
    """Both: before loading an engine (environment) and after (the pools already built)."""
    set_thread_env(n)
    pin_loaded_libraries(n)
