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


def set_train_threads(cfg: TrainConfig, device: torch.device) -> None:
    """Torch threads for training: on CPU the config's count, ``auto`` = the cores the rendering
    workers leave (the budget probe must time steps with the same count the run will use)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest kernels once
    if device.type == "cpu":  # pinned threads: the rendering workers get their own cores
        threads = cfg.threads
        if threads == "auto":
            threads = max(1, (os.cpu_count() or 1) - worker_count(cfg, device))
        torch.set_num_threads(int(threads))


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
