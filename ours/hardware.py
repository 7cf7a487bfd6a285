"""The machine a run trains on: which torch device, and how it is named in logs and model cards."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from .config import TrainConfig


def pick_device(cfg: TrainConfig) -> torch.device:
    """The config's device; ``auto`` is CUDA when present, else the CPU."""
    want = cfg.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(want)


def worker_count(cfg: TrainConfig, device: torch.device) -> int:
    """Rendering processes: all spare cores beside a GPU; on CPU one, overlapping rendering with the step."""
    w = cfg.workers
    if w == "auto":
        n = os.cpu_count() or 1
        return max(1, n - 1) if device.type == "cuda" else (1 if n >= 2 else 0)
    return int(w)


def device_name(device: torch.device) -> str:
    """GPU model, or the CPU's model name and core count (recorded in the model card)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu ({name}, {os.cpu_count()} cores)"
