"""Run-time choices the user makes for every adapter (device, dtype, where weights come from).

Kept apart from the adapter interface so that the cheap availability checks can read them without
importing the adapters (``bench.registry.availability`` -> ``bench.registry.options``, never back).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class AdapterOptions:
    """Run-time choices the user makes for every adapter."""

    device: str = "cpu"
    dtype: str | None = None  # None: bf16 on CUDA, fp32 on CPU
    batch_size: int | None = None
    model_path: Path | None = None  # local weights instead of the Hugging Face cache
    allow_download: bool = False
    trust_remote_code: bool = False
    threads: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def torch_dtype(self):
        import torch

        if self.dtype:
            return getattr(torch, self.dtype)
        return torch.bfloat16 if str(self.device).startswith("cuda") else torch.float32
