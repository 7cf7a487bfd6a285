"""Keeping what a checkpoint already reads while it learns real handwriting (learning without forgetting).

Why: fine-tuning the shipped model on real hands moved it away from the synthetic and font styles it
read before (the first real stage lost 1-3 points on the ``ood`` split). Here a frozen teacher (the
checkpoint to preserve) looks at the *synthetic* images of each batch, and the student is asked to
keep the teacher's answers on them while the real images teach it something new:

- ``weight``: KL between the teacher's and the student's softmax over the whole lexicon bank (each
  side scores the images against its own text projection of the same words, so the two embedding
  spaces need not coincide); both at the teacher's temperature divided by ``temperature``.
- ``ctc_weight``: KL between the two CTC heads' per-column character distributions (same charset).

Real images carry no distillation term: there the teacher is what the run should improve on.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from .errors import BenchError


@dataclass
class DistillConfig:
    """A frozen teacher checkpoint and the weights of its two terms (0 turns a term off)."""

    teacher: str  # an inference checkpoint folder with its CTC head ("$VAR/..." is expanded)
    weight: float = 1.0
    ctc_weight: float = 0.5
    temperature: float = 2.0


def _kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(teacher || student) for logits over the last axis."""
    t = F.log_softmax(teacher_logits.float(), dim=-1)
    s = F.log_softmax(student_logits.float(), dim=-1)
    return (t.exp() * (t - s)).sum(-1).mean()


class Teacher:
    """The frozen checkpoint: image tower, text projector, temperature and CTC head, on ``device``."""

    def __init__(self, cfg: DistillConfig, charset: str, device: torch.device, text_cfg: Any = None) -> None:
        from .model import load_checkpoint

        self.cfg = cfg
        path = teacher_path(cfg)
        model = load_checkpoint(path, device=str(device))
        proj = getattr(model, "_pending_text_state", None) or {}
        if "proj.weight" not in proj:
            raise BenchError(f"distill.teacher {path}: the checkpoint has no text projector")
        if text_cfg is not None and not _same_text(model.text_cfg, text_cfg):
            raise BenchError(f"distill.teacher {path}: its text encoder differs from the run's (encoder, prefix and "
                             "max_length must match, and neither may train encoder layers), so its bank cannot be "
                             "rebuilt from the run's frozen encoder")
        if cfg.ctc_weight > 0 and (model.ctc is None or model.charset != charset):
            raise BenchError(f"distill.teacher {path}: its CTC head is missing or spells another charset; "
                             "set distill.ctc_weight to 0 or pick a checkpoint saved with the same charset")
        for p in model.parameters():
            p.requires_grad_(False)
        self.model = model.eval()
        self.proj_w = proj["proj.weight"].float().to(device)
        self.proj_b = proj["proj.bias"].float().to(device) if "proj.bias" in proj else None
        self.scale = float(model.temp.scale())
        self.path = path
        self.sha256 = weights_sha256(path)

    @torch.no_grad()
    def bank(self, pooled: torch.Tensor) -> torch.Tensor:
        """The teacher's text embeddings of the lexicon bank, from the frozen encoder's pooled outputs."""
        return F.normalize(F.linear(pooled.float().to(self.proj_w.device), self.proj_w, self.proj_b), dim=-1)

    def loss(self, x: torch.Tensor, zv: torch.Tensor, student_bank: torch.Tensor, teacher_bank: torch.Tensor,
             student_ctc: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Terms for images ``x`` (the synthetic rows) whose student embeddings are ``zv`` and whose
        student CTC log-probs are ``student_ctc`` (T, B, C+1)."""
        with torch.no_grad():
            tv, tmid = self.model.image.forward_train(x)
            t_logp = self.model.ctc(tmid) if self.model.ctc is not None and student_ctc is not None else None
        k = self.scale / self.cfg.temperature
        out: dict[str, torch.Tensor] = {}
        if self.cfg.weight > 0:
            out["kd"] = _kl(k * tv.float() @ teacher_bank.t(), k * zv.float() @ student_bank.t()) \
                * self.cfg.temperature ** 2
        if self.cfg.ctc_weight > 0 and t_logp is not None and student_ctc is not None:
            out["kd_ctc"] = _kl(t_logp.float(), student_ctc.float())  # already log-probs: KL per column
        return out

    def describe(self) -> str:
        return (f"teacher {self.path} (lexicon KL x{self.cfg.weight}, CTC KL x{self.cfg.ctc_weight}, "
                f"T {self.cfg.temperature})")


def teacher_path(cfg: DistillConfig) -> Path:
    """The teacher folder, absolute (``$VAR`` and ``~`` expanded; relative to the working directory)."""
    path = Path(os.path.expandvars(os.path.expanduser(cfg.teacher)))
    if "$" in str(path):
        raise BenchError(f"distill.teacher {cfg.teacher!r}: an environment variable in it is not set")
    return path.resolve()


def weights_sha256(folder: Path) -> str:
    st = folder / "model.safetensors"
    if not st.is_file():
        raise BenchError(f"distill.teacher {folder}: no model.safetensors there (an inference checkpoint is expected)")
    return hashlib.sha256(st.read_bytes()).hexdigest()


def _same_text(a: Any, b: Any) -> bool:
    """Whether two text-tower configs give the same frozen pooled outputs (neither trains encoder layers)."""
    if a is None or b is None:
        return False
    keys = ("encoder", "prefix", "max_length")
    return all(getattr(a, k) == getattr(b, k) for k in keys) and a.trainable_layers == 0 == b.trainable_layers


def record_teacher(teacher: Teacher, run: Path, resumed: bool) -> dict[str, Any]:
    """``run/teacher.json``: where the teacher was and its weights' hash. A resumed run whose teacher
    changed on disk (say, a checkpoint published over it) is refused rather than trained on another."""
    rec = {"from": str(teacher.path), "sha256": teacher.sha256, **{k: getattr(teacher.cfg, k)
           for k in ("weight", "ctc_weight", "temperature")}}
    f = run / "teacher.json"
    if resumed and f.is_file():
        before = json.loads(f.read_text(encoding="utf-8"))
        if before.get("sha256") != rec["sha256"]:
            raise BenchError(f"{run}: its teacher {teacher.path} changed since the run began "
                             f"(sha256 {str(before.get('sha256'))[:16]} -> {rec['sha256'][:16]}); "
                             "point distill.teacher at the original weights or start a new run")
    f.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return rec
