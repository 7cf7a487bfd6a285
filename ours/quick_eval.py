"""The quick end-of-stage evaluation recorded in the model card (not the benchmark)."""
from __future__ import annotations

import random

import numpy as np

from .data import SynthSource, sample_seed
from .model import OursModel


def quick_eval(model: OursModel, words: dict, ids: dict, split: str, per_lang: int, seed: int) -> dict[str, float]:
    """Within-language and cross-language Acc@1 on words rendered by one split's writers."""
    source = SynthSource(words, ids, split)
    rng = random.Random(seed + 77)
    by_lang: dict[str, list[int]] = {}
    for i, it in enumerate(source.items):
        by_lang.setdefault(it.lang, []).append(i)
    out: dict[str, float] = {}
    embs = {}
    for lang, rows in by_lang.items():
        pick = rng.sample(rows, min(per_lang, len(rows)))
        imgs = [source.load(i, sample_seed(seed, 9, i, 0)) for i in pick]
        z = model.encode_images(imgs)
        embs[lang] = (z, [source.items[i].semantic_id for i in pick])
    for lang, (z, y) in embs.items():
        for tl in embs:
            _, tid, mat = model.anchors.of(tl)
            keep = np.isin(np.asarray(tid), np.asarray(ids[tl]))  # gallery = the trained words
            pred = np.asarray(tid)[keep][np.argmax(z @ mat[keep].T, 1)]
            key = f"acc1_{lang}" if tl == lang else f"acc1_{lang}2{tl}"
            out[key] = round(float(np.mean(pred == np.asarray(y))), 4)
    return out
