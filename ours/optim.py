"""AdamW for a stage (parameter groups, learning-rate schedule) and its state as flat tensors."""
from __future__ import annotations

import math

import torch

from .config import StageConfig
from .model import OursModel


def lr_at(step: int, total: int, stage_cfg: StageConfig, base: float) -> float:
    """Linear warm-up then cosine decay to min_lr_ratio * base."""
    warm = max(1, int(stage_cfg.warmup * total))
    if step < warm:
        return base * (step + 1) / warm
    floor = base * stage_cfg.min_lr_ratio
    t = (step - warm) / max(1, total - warm)
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(model: OursModel, stage_cfg: StageConfig) -> torch.optim.AdamW:
    """Image tower (decayed weights, undecayed norms and biases with the temperature), CTC head, and
    the text tower's trainable layers and projector at their own rate."""
    wd = stage_cfg.weight_decay
    img = [p for p in model.image.parameters() if p.requires_grad]
    decay = [p for p in img if p.ndim > 1]
    no_decay = [p for p in img if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": wd, "base_lr": stage_cfg.lr},
              {"params": no_decay + [model.temp.log_scale], "weight_decay": 0.0, "base_lr": stage_cfg.lr}]
    if model.ctc is not None:
        groups.append({"params": list(model.ctc.parameters()), "weight_decay": wd, "base_lr": stage_cfg.lr})
    if model.text is not None:
        txt = [p for n, p in model.text.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
        groups.append({"params": txt, "weight_decay": wd, "base_lr": stage_cfg.text_lr})
    for g in groups:
        g["lr"] = g["base_lr"]
    return torch.optim.AdamW(groups, betas=(0.9, 0.98), eps=1e-6)


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """AdamW state as flat tensors + JSON-able param groups (safetensors, no pickle)."""
    sd = opt.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"opt.{pid}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu().contiguous()
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups}


def load_optimizer_tensors(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """The inverse of ``optimizer_tensors``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
