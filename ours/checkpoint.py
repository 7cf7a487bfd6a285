"""Training-state checkpoints in a run folder (``ckpt/``) and warm starts from published checkpoints.

``ckpt/train.safetensors`` holds the model (with its CTC head), the AdamW state flattened to tensors
and the lexicon bank in use (no pickle); ``ckpt/state.json`` the stage, step, images seen and wall
time. Both are written to temporary names and renamed, so an interruption leaves the previous pair.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from .errors import BenchError
from .model import OursModel
from .optim import optimizer_tensors


def read_state(run: Path) -> dict[str, Any] | None:
    """The saved training state, or None for a run not yet checkpointed."""
    p = run / "ckpt" / "state.json"
    return json.loads(p.read_text()) if p.is_file() else None


def load_train_tensors(run: Path) -> dict[str, torch.Tensor]:
    """Everything in ``ckpt/train.safetensors``: model weights, ``opt.*`` state, ``lexbank``."""
    from safetensors.torch import load_file

    return load_file(str(run / "ckpt" / "train.safetensors"))


def save_train_state(run: Path, model: OursModel, opt: torch.optim.Optimizer, state: dict[str, Any],
                     extra: dict[str, torch.Tensor] | None = None) -> None:
    """Model, optimizer and ``extra`` tensors plus ``state`` (with the optimizer's param groups)."""
    from safetensors.torch import save_file

    d = run / "ckpt"
    d.mkdir(parents=True, exist_ok=True)
    tensors = model.tensors(include_ctc=True)
    ot, ometa = optimizer_tensors(opt)
    tensors.update(ot)
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    save_file(tensors, str(d / "train.safetensors.tmp"))
    (d / "state.json.tmp").write_text(json.dumps({**state, "optimizer": ometa}, indent=1))
    (d / "train.safetensors.tmp").replace(d / "train.safetensors")
    (d / "state.json.tmp").replace(d / "state.json")


def warm_start(model: OursModel, folder: str | Path) -> dict[str, Any]:
    """Start from a published checkpoint: image tower, text projector and temperature (and the CTC
    head when it was kept and the character sets agree). Anchors are rebuilt when a stage ends.

    Returns the provenance recorded in the model card: where from, and the weights' hash.
    """
    from safetensors.torch import load_file

    path = Path(folder)
    st = path / "model.safetensors"
    if not st.is_file():
        raise BenchError(f"--init {path}: no model.safetensors there (a published checkpoint folder is expected)")
    sd = load_file(str(st))
    src_cfg = json.loads((path / "config.json").read_text(encoding="utf-8")) if (path / "config.json").is_file() else {}
    if src_cfg.get("charset", "") != model.charset:
        sd = {k: v for k, v in sd.items() if not k.startswith("ctc.")}
    sd = {k: v for k, v in sd.items() if k != "anchors"}
    try:
        model.load_tensors(sd)
    except RuntimeError as exc:
        raise BenchError(f"--init {path}: weights do not fit this model ({str(exc).splitlines()[0]})") from None
    return {"from": str(path), "sha256": hashlib.sha256(st.read_bytes()).hexdigest()[:16],
            "ctc_head": any(k.startswith("ctc.") for k in sd),
            "images_seen_before": (src_cfg.get("meta") or {}).get("images_seen")}
