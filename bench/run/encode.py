"""Adapter outputs: a split's image outputs and gallery-word embeddings, through the output cache.

Why a module of its own: this is the only step that calls a model on the data (the latency probe
aside), so caching, worker processes and progress live here, and everything after it (scores,
ranks, metrics) is pure. Cached outputs are keyed by image content and the adapter's cache key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dataset import Dataset, decoder_fingerprint
from ..progress import progress_bar
from ..registry.adapter import Adapter, EmbeddingAdapter, TranscriberAdapter
from ..results.cache import OutputCache
from . import workers


@dataclass
class SplitOutputs:
    """Image outputs of some languages of one split, by sample id (None: no output, see ``errors``)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # sample id -> why it has no output
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # lang -> computed, cached
    throughput: dict[str, float] = field(default_factory=dict)  # "split/lang" -> images/s of one process

    def total_counts(self) -> dict[str, int]:
        """Computed and cached image outputs summed over languages (the geometry step uses them all)."""
        out = {"computed": 0, "cached": 0}
        for c in self.counts.values():
            out["computed"] += c["computed"]
            out["cached"] += c["cached"]
        return out


def split_outputs(adapter: Adapter, ds: Dataset, cache: OutputCache, pool: "workers.WorkerPool | None",
                  split: str, langs: list[str], progress: bool = True) -> SplitOutputs:
    """Image outputs of ``langs`` in one split, through the output cache (keyed by image content),
    in worker processes when ``pool`` is given; unhashable or unreadable images get a reason."""
    is_tr = isinstance(adapter, TranscriberAdapter)
    requests, sample_ids, refused_by_lang = [], [], []
    key = f"{adapter.cache_key()}|images|{{lang}}|{decoder_fingerprint()}"
    for lang in langs:
        rows = ds.select(split, lang)
        refused: dict[str, str] = {}
        if cache.enabled:  # cached outputs are keyed by image content; unhashable files are skipped
            hashes, reasons = ds.content_hashes(rows["path"].tolist(), cache.root / "content")
            refused = {sid: reasons[p] for sid, p in zip(rows["id"], rows["path"]) if p in reasons}
            rows = rows[~rows["id"].isin(list(refused))]
            item_ids = [hashes[p] for p in rows["path"]]
        else:
            item_ids = rows["id"].tolist()
        requests.append(workers.Request(key.format(lang=lang), item_ids, rows["path"].tolist(), lang,
                                        "text" if is_tr else "array", max(adapter.batch_size, 64)))
        sample_ids.append(rows["id"].tolist())
        refused_by_lang.append(refused)

    def local(req: workers.Request, idx: list[int]):
        return workers.encode_items(adapter, ds.load_image, [req.paths[i] for i in idx], req.lang, is_tr)

    bar = progress_bar(sum(len(r.ids) for r in requests) + sum(len(r) for r in refused_by_lang),
                       f"{adapter.card.name} {split}", progress)
    bar.update(sum(len(r) for r in refused_by_lang))
    results = workers.compute(cache, requests, local, pool, bar.update)
    bar.close()
    out = SplitOutputs()
    for req, sids, refused, res in zip(requests, sample_ids, refused_by_lang, results):
        out.outputs.update(zip(sids, res.outputs))
        out.errors.update({sid: res.errors[item] for sid, item in zip(sids, req.ids) if item in res.errors})
        out.outputs.update({sid: None for sid in refused})
        out.errors.update(refused)
        out.counts[req.lang] = {"computed": res.computed, "cached": res.cached}
        if res.computed and res.seconds > 0:  # images/s of one process, whatever the worker count
            out.throughput[f"{split}/{req.lang}"] = res.computed / res.seconds
    return out


def text_outputs(adapter: EmbeddingAdapter, cache: OutputCache, words: list[str], lang: str) -> np.ndarray:
    """Embeddings of ``words`` (gallery or concept words), cached by the word list's content."""
    key = f"{adapter.cache_key()}|texts|{lang}|{hashlib.sha256(chr(0).join(words).encode()).hexdigest()}"

    def encode(idx):
        out = []
        for b in range(0, len(idx), adapter.batch_size):
            out.extend(adapter.encode_texts([words[i] for i in idx[b:b + adapter.batch_size]], lang))
        return out, {}

    outs, _, _ = cache.get_or_compute(key, words, encode, "array", chunk=1024)
    return np.stack([np.asarray(o, dtype=np.float32) for o in outs])
