"""Small torch helpers every model adapter shares: device placement, parameter counts, memory.

One definition each, so a transcriber and an embedder count, move and free the same way. torch is
imported inside the functions, so importing this module stays cheap (``bench list`` imports it).
"""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from bench.adapter import Adapter


def to_device(batch: Any, adapter: "Adapter") -> dict[str, Any]:
    """A processor's output on the adapter's device, floating tensors (pixels) cast to its dtype."""
    import torch

    dtype = adapter.options.torch_dtype()
    out = {}
    for k, v in dict(batch).items():
        if isinstance(v, torch.Tensor):
            v = v.to(str(adapter.options.device))
            if v.is_floating_point():
                v = v.to(dtype)
        out[k] = v
    return out


def count_parameters(module: Any, exclude_prefixes: Sequence[str] = ()) -> int | None:
    """Unique parameters of a loaded torch module (tied weights once), skipping the submodules
    named by ``exclude_prefixes`` (e.g. an LM head an embedder never runs); None without a module."""
    if module is None:
        return None
    seen: set[int] = set()
    total = 0
    for name, p in module.named_parameters(remove_duplicate=False):
        if any(name == pre or name.startswith(pre + ".") for pre in exclude_prefixes):
            continue
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
    return int(total)


def release(device: str) -> None:
    """Give memory back after a model is dropped (CUDA caches otherwise keep it)."""
    gc.collect()
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
