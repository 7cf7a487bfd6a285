"""Refit a checkpoint's text projection on real handwriting, the image tower frozen.

The anchors are ``normalize(W e5(word) + b)``: a linear map of frozen e5 vectors. Trained on synthetic
writers, that map places real hands' words badly: on the real dataset's training writers the image
tower tells words apart (a nearest-mean-image probe reads 0.52 of held-out writers' English) while the
anchors read 0.22. This refits only W and b on the image embeddings of real training writers, a softmax
over each language's whole training vocabulary plus lexicon, with a term that keeps every lexicon anchor
(all languages) near where it was, since synthetic writers and cross-language retrieval rely on them.
The image tower, and so its ONNX exports, latency and size, is unchanged.

``python -m ours.refit_text CHECKPOINT REAL_DATASET --out DIR [--keep 1 10 100] [--keep-anchors]``: with
several keep weights, each is fitted on four fifths of the training writers and scored on the rest, the
best (mean over languages) is refitted on all of them and written to ``--out``. ``--keep-anchors`` keeps
the base's lexicon anchors, so only words outside the lexicon use the refit (what ``ours`` ships).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

KEEPS = (1.0, 10.0, 100.0)
STEPS, BATCH, LR, SEED = 600, 1024, 1e-3, 0
COPIED = ("image_fp32.onnx", "image_int8.onnx", "onnx.json")  # the image tower's exports stay valid


@dataclass
class RealSet:
    """Image embeddings of one language's real training words, their word index into ``vocab``, writers."""

    lang: str
    emb: np.ndarray
    target: np.ndarray
    writer: np.ndarray
    vocab: list[str]


def held_out(writers: np.ndarray, fold: int = 5) -> np.ndarray:
    """A fixed fifth of the writers (those whose id hashes to 0 mod 5), as a mask over samples; where
    that leaves no writer on one side (a handful of writers), the writer with the smallest hash."""
    hashes = np.array([zlib.crc32(str(w).encode()) for w in writers])
    mask = hashes % fold == 0
    if (mask.all() or not mask.any()) and len(set(hashes.tolist())) > 1:
        mask = hashes == hashes.min()
    return mask


def fit_projection(x: dict[str, "torch.Tensor"], sets: Sequence[RealSet], masks: Sequence[np.ndarray],
                   w0, b0, scale: float, lexicon: "torch.Tensor", keep: float,
                   steps: int = STEPS, batch: int = BATCH, lr: float = LR, seed: int = SEED):
    """Adam on (W, b) from (w0, b0): per step, a batch of each language's real samples (``masks``)
    against that language's vocabulary, plus ``keep`` * mean(1 - cos) of the lexicon anchors to theirs
    under (w0, b0). ``x[lang]`` holds the e5 vectors of ``sets``' vocabularies."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    w, b = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(b0.clone())
    opt = torch.optim.Adam([w, b], lr=lr)
    ref = F.normalize(lexicon @ w0.T + b0, dim=-1)
    pools = [(s, torch.from_numpy(np.flatnonzero(m))) for s, m in zip(sets, masks)]
    embs = {s.lang: torch.from_numpy(s.emb) for s in sets}
    targets = {s.lang: torch.from_numpy(s.target) for s in sets}
    for _ in range(steps):
        loss = torch.zeros(())
        for s, pool in pools:
            pick = pool[torch.randint(len(pool), (min(batch, len(pool)),), generator=gen)]
            anchors = F.normalize(x[s.lang] @ w.T + b, dim=-1)
            loss = loss + F.cross_entropy(scale * embs[s.lang][pick] @ anchors.T, targets[s.lang][pick])
        kept = F.normalize(lexicon @ w.T + b, dim=-1)
        loss = loss + keep * (1.0 - (kept * ref).sum(-1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), b.detach()


def top1(s: RealSet, mask: np.ndarray, x, w, b) -> float:
    """Acc@1 of the masked samples over their language's whole vocabulary (ties against the target)."""
    import torch.nn.functional as F

    anchors = F.normalize(x @ w.T + b, dim=-1).numpy()
    scores = s.emb[mask] @ anchors.T
    t = s.target[mask]
    own = scores[np.arange(len(t)), t]
    return float(np.mean((scores >= own[:, None]).sum(1) == 1))


def load_real(model, dataset_dir: Path, langs: Sequence[str], lexicon: dict[str, list[str]],
              batch_size: int = 128) -> list[RealSet]:
    """Embed every ``train`` image of each language with the checkpoint's image tower."""
    from bench.dataset import Dataset
    from bench.textnorm import normalize

    ds = Dataset.load(dataset_dir)
    man = ds.samples
    out = []
    for lang in langs:
        rows = man[(man["split"] == "train") & (man["lang"] == lang)]
        if rows.empty:
            continue
        texts = [normalize(t) for t in rows["text"]]
        keep = np.array([bool(t) for t in texts])
        rows, texts = rows[keep], [t for t in texts if t]
        vocab = sorted(set(texts) | {normalize(w) for w in lexicon.get(lang, [])} - {""})
        index = {w: i for i, w in enumerate(vocab)}
        emb = np.concatenate([model.encode_images([ds.load_image(p) for p in rows["path"].iloc[i:i + 512]],
                                                  batch_size=batch_size)
                              for i in range(0, len(rows), 512)])
        out.append(RealSet(lang, emb.astype(np.float32), np.array([index[t] for t in texts]),
                           rows["style"].to_numpy(), vocab))
    return out


def refit(checkpoint: Path, dataset_dir: Path, out: Path, keeps: Sequence[float] = KEEPS,
          langs: Sequence[str] = ("en", "zh"), text_tower=None, log=print, keep_anchors: bool = False) -> dict:
    """Choose the keep weight on held-out training writers, refit on all of them, write ``out``.

    ``keep_anchors`` keeps the base's anchor table as it is: lexicon words keep the anchors the
    synthetic writers were trained against and only words outside the lexicon (the open-vocabulary
    path) use the refitted projection. Otherwise the anchors are re-encoded through it."""
    import torch

    from ours.errors import BenchError
    from ours.interpolate import weights_sha256
    from ours.model import load_checkpoint, save_checkpoint

    checkpoint, out = Path(checkpoint).resolve(), Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"--out {out} already exists and is not an empty folder: choose a new one")
    torch.manual_seed(SEED)
    model = load_checkpoint(checkpoint)
    if text_tower is not None:  # a test's tiny encoder: it takes the checkpoint's stored projection, as
        model.text = text_tower  # ensure_text_tower gives a loaded one
        pending = getattr(model, "_pending_text_state", None)
        if pending:
            model.text.load_trainable_state(pending)
    tower = model.ensure_text_tower()
    if tower.n_trainable:
        raise BenchError("refit_text refits the projection of an all-frozen text tower; this one trains layers")
    tower.eval()
    lex_words = {lang: list(model.anchors.of(lang)[0]) for lang in model.anchors.languages}
    sets = load_real(model, dataset_dir, langs, lex_words)
    if not sets:
        raise BenchError(f"no `train` images of {', '.join(langs)} in {dataset_dir}")
    with torch.no_grad():
        x = {s.lang: torch.stack(tower.frozen_part(s.vocab)).float() for s in sets}
        lexicon = torch.stack(tower.frozen_part([w for ws in lex_words.values() for w in ws])).float()
    w0, b0 = tower.proj.weight.detach().clone(), tower.proj.bias.detach().clone()
    scale = float(model.temp.log_scale.detach().exp())
    held = [held_out(s.writer) for s in sets]
    if len(keeps) > 1 and any(h.all() or not h.any() for h in held):
        raise BenchError("choosing the keep weight needs two or more writers per language; pass one --keep")
    report = {"before": {s.lang: top1(s, h, x[s.lang], w0, b0) for s, h in zip(sets, held) if h.any()},
              "keep": {}}
    log(f"held-out training writers, before: {report['before']}")
    for keep in (keeps if len(keeps) > 1 else ()):  # one keep weight: nothing to choose
        w, b = fit_projection(x, sets, [~h for h in held], w0, b0, scale, lexicon, keep)
        report["keep"][keep] = {s.lang: top1(s, h, x[s.lang], w, b) for s, h in zip(sets, held)}
        log(f"keep {keep:g}: {report['keep'][keep]}")
    best = max(keeps, key=lambda k: (np.mean(list(report["keep"][k].values())), -k)) if len(keeps) > 1 else keeps[0]
    report["chosen_keep"] = best
    w, b = fit_projection(x, sets, [np.ones(len(s.target), bool) for s in sets], w0, b0, scale, lexicon, best)
    with torch.no_grad():
        tower.proj.weight.copy_(w)
        tower.proj.bias.copy_(b)
    if not keep_anchors:
        model.build_anchors(model.anchors.words, model.anchors.ids)
    model.meta = {"refit_text": {"keep_anchors": keep_anchors, "from": str(checkpoint), "sha256": weights_sha256(checkpoint),
                                 "dataset": str(dataset_dir), "langs": [s.lang for s in sets],
                                 "samples": {s.lang: int(len(s.target)) for s in sets},
                                 "vocab": {s.lang: len(s.vocab) for s in sets}, "steps": STEPS, "batch": BATCH,
                                 "lr": LR, "seed": SEED, "report": report},
                  "base_meta": model.meta}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # the folder appears whole or not at all
        save_checkpoint(model, tmp, include_ctc=model.ctc is not None)
        for name in COPIED:
            if (checkpoint / name).is_file():
                shutil.copy2(checkpoint / name, tmp / name)
        _card(tmp, checkpoint, dataset_dir, report, keep_anchors, name=out.name)
        if out.exists():
            out.rmdir()
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _card(folder: Path, base: Path, dataset_dir: Path, report: dict, keep_anchors: bool = False,
          name: str | None = None) -> None:
    """MODEL_CARD.md: the recipe, the choice, the real data's sources, and the base checkpoint's card."""
    sources = Path(__file__).resolve().parent.parent / "bench" / "data" / "real_sources.json"
    flag = " --keep-anchors" if keep_anchors else ""
    changed = ("the lexicon's anchor table is the base's, unchanged: only words outside the lexicon go through "
               "the refitted projection" if keep_anchors else "the anchors re-encoded through it")
    lines = [f"# {name or folder.name}: text projection refitted on real handwriting", "",
             f"- recipe: `python -m ours.refit_text {base} {dataset_dir} --out <this folder>{flag}`",
             f"- what changed: only the text projection (`text.proj`, 384 -> 128); {changed}; the image tower "
             "and CTC head are the base checkpoint's, byte for byte",
             f"- keep weight {report['chosen_keep']:g}, chosen on held-out training writers: "
             f"{json.dumps(report['keep'])} (before: {json.dumps(report['before'])})",
             "- data: the `train` split of the real dataset (`python -m bench.data.build.real`); its sources "
             "and licences are in `bench/data/real_sources.json`; IAM-OnDB is for non-commercial research, so "
             "these weights are research-only, as the base's are", ""]
    if sources.is_file():
        lines += ["## Real sources", "", "```json", sources.read_text(encoding="utf-8").strip(), "```", ""]
    card = base / "MODEL_CARD.md"
    lines += ["## The base checkpoint's card", ""]
    if card.is_file():
        lines += [("#" + l if l.startswith("#") else l) for l in card.read_text(encoding="utf-8").splitlines()]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ours.refit_text", description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("dataset", type=Path, help="the real dataset folder (its `train` split is used)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--keep", type=float, nargs="+", default=list(KEEPS))
    ap.add_argument("--langs", nargs="+", default=["en", "zh"])
    ap.add_argument("--keep-anchors", action="store_true",
                    help="keep the base's lexicon anchors; only words outside the lexicon use the refit")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    from ours.errors import BenchError

    torch.set_num_threads(args.threads)
    try:
        report = refit(args.checkpoint, args.dataset, args.out, args.keep, args.langs,
                       keep_anchors=args.keep_anchors)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"chose keep {report['chosen_keep']:g}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
