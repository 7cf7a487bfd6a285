"""Batch-1 latency: one measurement for ``bench run`` (adapter records) and ``bench perf``.

Why one function: the two commands used to warm up differently (3 and 5 calls) and so reported
different latencies for the same model. Latency is the median of batch-1 calls on real word images,
after ``WARMUP`` calls, in the calling process (never in worker processes).
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

from ..dataset import Dataset, ImageLoadError
from ..registry.adapter import Adapter, TranscriberAdapter

WARMUP = 5  # batch-1 calls before timing (model caches, lazy initialisation, allocator)


def image_call(adapter: Adapter) -> Callable[[list, str], Any]:
    """The call that turns images into outputs: ``transcribe`` or ``encode_images``."""
    return adapter.transcribe if isinstance(adapter, TranscriberAdapter) else adapter.encode_images


def batch1_times(adapter: Adapter, images: list[tuple[Any, str]], warmup: int = WARMUP) -> list[float]:
    """Milliseconds of one batch-1 call per (image, language), after ``warmup`` untimed calls."""
    call = image_call(adapter)
    for im, lang in images[:warmup]:
        call([im], lang)
    times = []
    for im, lang in images:
        t0 = time.perf_counter()
        call([im], lang)
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def sample_images(ds: Dataset, split: str, n: int, skip_langs: set[str] = frozenset()) -> list[tuple[Any, str]]:
    """Up to ``n`` readable images of ``split``, spread evenly over its languages (but ``skip_langs``)."""
    rows = ds.select(split)
    rows = rows[~rows["lang"].isin(skip_langs)]
    if n <= 0 or rows.empty:
        return []
    picked = rows.groupby("lang", sort=True).head(-(-n // rows["lang"].nunique()))
    images = []
    for rel, lang in zip(picked["path"], picked["lang"]):
        try:
            images.append((ds.load_image(rel), lang))
        except ImageLoadError:
            continue
    return images[:n]


def measure_latency(adapter: Adapter, images: list[tuple[Any, str]]) -> dict[str, Any]:
    """``latency_ms`` (median) and ``latency_n`` over the languages the adapter can run; a
    language whose first call raises is left out (its jobs report the failure, not the latency)."""
    if not images:
        return {}
    call = image_call(adapter)
    broken: set[str] = set()
    for lang in dict.fromkeys(lang for _, lang in images):
        try:
            call([next(im for im, l in images if l == lang)], lang)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - reported by that language's jobs
            broken.add(lang)
    images = [(im, lang) for im, lang in images if lang not in broken]
    if not images:
        return {}
    times = batch1_times(adapter, images)
    return {"latency_ms": statistics.median(times), "latency_n": len(times)}
