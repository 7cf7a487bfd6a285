"""Weight-space interpolation of two checkpoints of one model (WiSE-FT, Wortsman et al., CVPR 2022).

Why: fine-tuning on real handwriting buys real reading and costs some of what the synthetic stage
taught (Chinese reading on unseen writers). Averaging the fine-tuned weights with the ones they started
from, ``(1 - alpha) * base + alpha * finetuned`` for every tensor, keeps much of both without any
training, when both lie in one basin (one is a fine-tune of the other).

The anchors are not averaged: they are re-encoded through the averaged text projection, so the table
is exactly what the interpolated text tower says of the lexicon. BatchNorm running statistics are
averaged like the weights, an approximation of the averaged network's own statistics that WiSE-FT also
makes; the benchmark run of the result, not this module, says whether it holds. ``ours interpolate``
writes a new checkpoint folder (never into an existing one, whose ONNX exports would then describe
other weights) with its lineage (both parents' paths, weight hashes and meta, alpha) in
``config.json``'s meta and in its model card.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import torch

from .errors import BenchError
from .model import OursModel, load_checkpoint, save_checkpoint


def weights_sha256(folder: Path) -> str:
    """sha256 of a checkpoint folder's ``model.safetensors`` (the identity its lineage records)."""
    h = hashlib.sha256()
    with open(Path(folder) / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_compatible(base: OursModel, ft: OursModel) -> None:
    """Refuse parents that are not one model: other shapes, character set, text encoder or lexicon."""
    if base.image.cfg != ft.image.cfg:
        raise BenchError(f"the image towers differ ({base.image.cfg} vs {ft.image.cfg}): not one model")
    if base.charset != ft.charset:
        raise BenchError("the CTC character sets differ: the heads' rows would not mean the same characters")
    if (base.text_cfg.to_dict() if base.text_cfg else None) != (ft.text_cfg.to_dict() if ft.text_cfg else None):
        raise BenchError("the text encoders differ: the projections map different inputs")
    if base.anchors.words != ft.anchors.words or base.anchors.ids != ft.anchors.ids:
        raise BenchError("the anchor lexicons differ: the interpolated table would answer another vocabulary")


def interpolate(base: str | Path, finetuned: str | Path, alpha: float, out: str | Path,
                text_tower=None) -> Path:
    """Write ``(1 - alpha) * base + alpha * finetuned`` as a checkpoint folder at ``out``.

    ``text_tower`` replaces the base encoder the checkpoints name (a test's tiny one); by default it is
    loaded by name, as training does."""
    if not 0.0 <= alpha <= 1.0:
        raise BenchError(f"--alpha must lie in [0, 1] (0 = the base, 1 = the fine-tuned weights), got {alpha}")
    base, finetuned, out = Path(base).resolve(), Path(finetuned).resolve(), Path(out).resolve()
    if out in (base, finetuned):
        raise BenchError(f"--out {out} is one of the parents: write the interpolation to a new folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"--out {out} already exists and is not an empty folder: choose a new one (files "
                         "left beside new weights, such as ONNX exports, would describe other weights)")
    a = load_checkpoint(base)
    b = load_checkpoint(finetuned)
    _check_compatible(a, b)
    sa, sb = a.tensors(), b.tensors()  # before a text tower is attached: the stored projections
    if sa.keys() != sb.keys():
        raise BenchError(f"the checkpoints hold different tensors: {sorted(set(sa) ^ set(sb))[:5]}")
    mixed = {}
    for k, vb in sb.items():
        if k == "anchors":
            continue
        va = sa[k]
        if va.shape != vb.shape:
            raise BenchError(f"tensor {k} has shape {tuple(va.shape)} in the base and {tuple(vb.shape)} fine-tuned")
        # counters (BatchNorm's num_batches_tracked) are not weights: the fine-tune's are kept
        mixed[k] = torch.lerp(va.float(), vb.float(), alpha).to(vb.dtype) if vb.is_floating_point() else vb
    if text_tower is not None:
        b.text = text_tower
    b.ensure_text_tower()
    b.load_tensors(mixed)
    b.build_anchors(b.anchors.words, b.anchors.ids)
    b.meta = {"wise_ft": {"alpha": alpha,
                          "base": {"from": str(base), "sha256": weights_sha256(base), "meta": a.meta},
                          "finetuned": {"from": str(finetuned), "sha256": weights_sha256(finetuned),
                                        "meta": b.meta}}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # the folder appears whole or not at all
        save_checkpoint(b, tmp, include_ctc=b.ctc is not None)
        write_card(tmp, base, finetuned, alpha, name=out.name, out=out)
        if out.exists():
            out.rmdir()  # empty (checked above)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_card(folder: Path, base: Path, finetuned: Path, alpha: float, name: str | None = None,
               out: Path | None = None) -> Path:
    """MODEL_CARD.md: the recipe, both parents' hashes, and the parents' cards (sources and licences)."""
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))["meta"]["wise_ft"]
    lines = [f"# {name or folder.name} (weight interpolation of two checkpoints)", "",
             f"- recipe: `ours interpolate {base} {finetuned} --alpha {alpha} --out {out or folder}`",
             f"- weights = {1 - alpha:g} x base + {alpha:g} x fine-tuned, every tensor (BatchNorm statistics "
             "too); anchors re-encoded through the interpolated text projection",
             f"- base: `{base}` (weights sha256 {meta['base']['sha256'][:16]})",
             f"- fine-tuned: `{finetuned}` (weights sha256 {meta['finetuned']['sha256'][:16]})",
             "- no training: its data, and the licences that bind these weights, are the union of both parents' "
             "(below); research-only data in either parent makes these weights research-only.", ""]
    for role, src in (("base", base), ("fine-tuned", finetuned)):
        card = src / "MODEL_CARD.md"
        lines += [f"## The {role} checkpoint's card", ""]
        if card.is_file():
            text = card.read_text(encoding="utf-8", errors="replace")
            lines += [("#" + l if l.startswith("#") else l) for l in text.splitlines()]
        else:
            lines.append(f"(no MODEL_CARD.md in `{src}`)")
        lines.append("")
    path = folder / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
