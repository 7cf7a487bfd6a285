"""Frozen text-encoder outputs for the lexicon, kept in a run folder: a rerun (or a machine without the
encoder's weights) trains from the file instead of re-encoding."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .config import ConfigLike, read_config
from .texttower import TextTower


def load_text_cache(tower: TextTower, path: Path) -> None:
    """Fill ``tower``'s cache from ``path`` when the file was written for the same encoder."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        return
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("key") != tower.cache_key:
        return
    texts = json.loads(meta["texts"])
    tensors = load_file(str(path))
    for i, t in enumerate(texts):
        tower.cache.store[t] = tensors[str(i)]


def cached_text_tower(cfg: ConfigLike, path: Path) -> TextTower | None:
    """An all-frozen text tower that runs from ``path`` without loading its encoder (None otherwise)."""
    from safetensors import safe_open

    text_cfg = replace(read_config(cfg).text)  # a copy: the tower may adjust its own
    if text_cfg.trainable_layers != 0 or not path.is_file():
        return None
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
        if not keys:
            return None
        hidden = f.get_slice(keys[0]).get_shape()[-1]
    return TextTower(text_cfg, hidden_size=int(hidden))


def save_text_cache(tower: TextTower, path: Path) -> None:
    """Write ``tower``'s cache atomically, keyed by its encoder."""
    from safetensors.torch import save_file

    texts = sorted(tower.cache.store)
    tensors = {str(i): tower.cache.store[t].contiguous() for i, t in enumerate(texts)}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"key": tower.cache_key, "texts": json.dumps(texts, ensure_ascii=False)})
    tmp.replace(path)
