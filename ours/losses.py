"""Training losses (NOTES.md eqs. 3-8) plus an optional character-level CTC auxiliary.

Duplicate texts: a batch draws several images per semantic ID, so the same text (and, across
languages, the same meaning) appears in several columns. ``positives`` chooses what InfoNCE does
with such off-diagonal pairs:
  - "diagonal" (the paper, the default): only i == j is positive; every other column is a
    negative even when it shares the semantic ID (L_SCA compensates).
  - "mask": same-ID off-diagonal columns are removed from the denominator (neither positive nor
    negative).
  - "multi": multi-positive InfoNCE, the target spread uniformly over all same-ID columns.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

POSITIVES = ("diagonal", "mask", "multi")


@dataclass
class LossConfig:
    i2t: bool = True
    t2i: bool = True
    sca: bool = True
    sca_weight: float = 0.5  # lambda; the paper's value was lost, chosen by ablation
    positives: str = "diagonal"
    ctc: bool = False
    ctc_weight: float = 0.5
    lexicon: float = 0.0  # weight of the lexicon-wide image->text softmax (0 = off, the paper)


class Temperature(nn.Module):
    """Learnable tau stored as log(1/tau), clamped so 1/tau stays in [1, 100] (CLIP's recipe)."""

    def __init__(self, init_tau: float = 0.07) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_tau)))

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(0.0, math.log(100.0)).exp()

    def forward(self) -> torch.Tensor:
        return 1.0 / self.scale()


def _infonce_rows(logits: torch.Tensor, same: torch.Tensor, positives: str) -> torch.Tensor:
    """Mean over rows of -log p(positive) for a (B, B) logit matrix."""
    B = logits.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=logits.device)
    if positives == "diagonal":
        return F.cross_entropy(logits, torch.arange(B, device=logits.device))
    if positives == "mask":
        masked = logits.masked_fill(same & ~eye, float("-inf"))
        return F.cross_entropy(masked, torch.arange(B, device=logits.device))
    if positives == "multi":
        target = same.to(logits.dtype)
        target = target / target.sum(1, keepdim=True)
        return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    raise ValueError(f"positives must be one of {POSITIVES}, got {positives!r}")


def itc_losses(zv: torch.Tensor, zt: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor,
               positives: str = "diagonal") -> tuple[torch.Tensor, torch.Tensor]:
    """(L_i2t, L_t2i) for L2-normalized image/text embeddings of paired rows; scale = 1/tau."""
    logits = scale * zv @ zt.t()  # rows: images, columns: texts
    same = labels[:, None] == labels[None, :]
    return _infonce_rows(logits, same, positives), _infonce_rows(logits.t(), same, positives)


def sca_loss(zv: torch.Tensor, zt: torch.Tensor, labels: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """L_SCA = 1 - mean cosine over all same-ID pairs (i != j) of U = [zv; zt], any modality/language."""
    u = torch.cat([zv, zt], 0)
    y = torch.cat([labels, labels], 0)
    mask = (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool, device=u.device)
    sim = u @ u.t()
    m = mask.to(sim.dtype)
    return 1.0 - (m * sim).sum() / (m.sum() + eps)


def lexicon_loss(zv: torch.Tensor, labels: torch.Tensor, anchors: torch.Tensor, anchor_labels: torch.Tensor,
                 scale: torch.Tensor) -> torch.Tensor:
    """Image -> every lexicon text (all languages): multi-positive softmax over all same-ID anchors.

    Not in the paper: with in-batch InfoNCE a batch of ~40 concepts sees ~40 negatives; scoring against
    the whole fixed lexicon gives every step all of them, like a classifier whose prototypes are the
    text tower's outputs (cheap when the text tower's output is cached).
    """
    logits = scale * zv @ anchors.t()
    target = (labels[:, None] == anchor_labels[None, :]).to(logits.dtype)
    target = target / target.sum(1, keepdim=True).clamp(min=1.0)
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def ctc_loss(log_probs: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    """CTC over feature-map columns. log_probs: (T, B, C+1) with blank = 0; targets: label ids >= 1."""
    T, B = log_probs.shape[:2]
    dev = log_probs.device
    tl = torch.tensor([min(len(t), T) for t in targets], dtype=torch.long, device=dev)
    flat = torch.tensor([c for t in targets for c in t[:T]] or [1], dtype=torch.long, device=dev)
    il = torch.full((B,), T, dtype=torch.long, device=dev)
    return F.ctc_loss(log_probs.float(), flat, il, tl, blank=0, reduction="mean", zero_infinity=True)


def total_loss(zv: torch.Tensor, zt: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor,
               cfg: LossConfig, ctc_term: torch.Tensor | None = None,
               lexicon_term: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """L = L_ITC + lambda * L_SCA (+ w * CTC + w * lexicon softmax). L_ITC averages whichever of i2t/t2i are on."""
    parts: dict[str, torch.Tensor] = {}
    if cfg.i2t or cfg.t2i:
        li2t, lt2i = itc_losses(zv, zt, labels, scale, cfg.positives)
        if cfg.i2t:
            parts["i2t"] = li2t
        if cfg.t2i:
            parts["t2i"] = lt2i
    itc = [parts[k] for k in ("i2t", "t2i") if k in parts]
    loss = torch.stack(itc).mean() if itc else zv.new_zeros(())
    if cfg.sca and cfg.sca_weight > 0:
        parts["sca"] = sca_loss(zv, zt, labels)
        loss = loss + cfg.sca_weight * parts["sca"]
    if cfg.ctc and ctc_term is not None:
        parts["ctc"] = ctc_term
        loss = loss + cfg.ctc_weight * ctc_term
    if cfg.lexicon > 0 and lexicon_term is not None:
        parts["lex"] = lexicon_term
        loss = loss + cfg.lexicon * lexicon_term
    logs = {k: float(v.detach()) for k, v in parts.items()}
    logs["loss"] = float(loss.detach())
    return loss, logs
