"""Two-stage training of our model, resumable, deterministic under a seed.

Stage 1 pre-trains on words rendered on the fly with the synthetic ``train`` writers. Stage 2
fine-tunes at a lower rate on real data when a manifest folder is given (IAM, HWDB, ...), otherwise
on a synthetic split of pen-model writers disjoint from the OOD writers. Each stage ends with an
inference checkpoint (``stage1/`` = "Ours w/o fine-tuning", ``stage2/`` = "Ours") holding the image
tower and the lexicon anchor table.

Run folder layout:
  config.json            the resolved configuration (ours.config.TrainConfig.to_dict)
  ckpt/train.safetensors model (with CTC head) + AdamW state flattened to tensors (no pickle)
  ckpt/state.json        stage, step, images seen, wall time: a rerun resumes from here
  text_cache.safetensors frozen text-encoder outputs for the lexicon (recomputed if absent)
  log.csv, loss.png      loss curves; metrics.json: end-of-stage evaluation
  stage1/, stage2/       inference checkpoints (ours.model.load_checkpoint)

Reproducibility: a batch's contents and rendering seeds are pure functions of (seed, stage, step),
and the torch RNG is re-seeded every step, so a resumed run continues exactly as an uninterrupted one.

This module is the loop; the config, budget probe, checkpoints, log, plot and model card live in
their own modules (``ours.config``, ``ours.budget``, ``ours.checkpoint``, ``ours.train_log``,
``ours.train_plots``, ``ours.model_card``).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_train_tensors, read_state, save_train_state, warm_start
from .config import ConfigLike, TrainConfig, load_config, read_config, run_identity
from .distill import Teacher, record_teacher
from .data import FnSource, Item, ManifestSource, RenderDataset, Source, collate, sample_seed
from .errors import BenchError
from .hardware import device_name, pick_device, set_train_threads, worker_count
from .losses import LossConfig, ctc_loss, lexicon_loss, total_loss
from .model import OursModel, save_checkpoint
from .model_card import write_model_card
from .optim import load_optimizer_tensors, lr_at, make_optimizer
from .quick_eval import quick_eval
from .sampler import SemanticBatchSampler
from .text_cache import cached_text_tower, load_text_cache, save_text_cache
from .texttower import TextTower
from .real_data import MixSource, mixed_sampler
from .train_data import StepBatches, make_source
from .train_log import append_log, progress_bar, trim_log
from .train_plots import plot_log
from .vocab import anchor_vocab, ctc_targets, lexicon_words, make_charset, spellable, spelled

# names this module exported before the split (load_config, lr_at, quick_eval, FnSource, Item moved)
__all__ = ["train", "load_config", "build_model", "lr_at", "quick_eval", "step_loss", "finish_stage",
           "FnSource", "Item"]


@dataclass
class Session:
    """One call of ``train``: what every stage shares, and where training stands."""

    cfg: TrainConfig
    run: Path
    model: OursModel
    device: torch.device
    words: dict[str, list[str]]
    ids: dict[str, list[int]]
    progress: bool
    stop_after_steps: int | None
    images: int = 0  # images seen so far, over both stages
    wall: float = 0.0  # training seconds before the current stage
    steps_done: int = 0  # steps taken by this call (for stop_after_steps)
    teacher: Teacher | None = None  # cfg.distill's frozen checkpoint


def build_model(cfg: ConfigLike, words: dict, text_tower: TextTower | None = None) -> OursModel:
    """A fresh model under the config's seed (a CTC head when the CTC loss is on)."""
    cfg = read_config(cfg)
    torch.manual_seed(cfg.seed)
    charset = make_charset(words) if cfg.loss.ctc else ""
    tower = text_tower or TextTower(replace(cfg.text))
    return OursModel(replace(cfg.image), tower.cfg, charset=charset, text_tower=tower)


def train(cfg: ConfigLike, run_dir: str | Path, resume: bool = True,
          sources: dict[int, Source] | None = None, text_tower: TextTower | None = None,
          progress: bool = True, stop_after_steps: int | None = None) -> Path:
    """Run (or resume) both stages; returns the run folder. ``sources`` overrides data per stage."""
    cfg = read_config(cfg)
    run = Path(run_dir)
    state = _open_run(cfg, run, resume)
    device = pick_device(cfg)
    set_train_threads(cfg, device)
    s = _start_session(cfg, run, device, text_tower, progress, stop_after_steps)
    if s.cfg.init:
        s.model.meta["init"] = warm_start(s.model, cfg.init) if state is None else \
            json.loads((run / "init.json").read_text(encoding="utf-8"))
        (run / "init.json").write_text(json.dumps(s.model.meta["init"], indent=1), encoding="utf-8")
    if cfg.distill is not None:
        s.teacher = Teacher(cfg.distill, s.model.charset, device, s.model.text.cfg if s.model.text else cfg.text)
        s.model.meta["teacher"] = record_teacher(s.teacher, run, resumed=state is not None)

    start_stage, start_step, tensors = 1, 0, {}
    if state is not None:
        tensors = _restore(s, state)
        start_stage, start_step = state["stage"], state["step"]
        if state.get("done"):
            return run

    for stage in (1, 2):
        if stage < start_stage or not cfg.stage(stage).images:
            continue
        source = (sources or {}).get(stage) or make_source(cfg.stage(stage).source, s.words, s.ids, stage)
        first = start_step if stage == start_stage else 0
        resumed = (tensors, state["optimizer"]) if state is not None and stage == start_stage and first > 0 else None
        if not _train_stage(s, stage, source, first, resumed):
            return run
    return run


def _open_run(cfg: TrainConfig, run: Path, resume: bool) -> dict[str, Any] | None:
    """The saved state to resume from (None: a fresh start, which wipes earlier outputs); writes config.json."""
    state = read_state(run) if resume else None
    if state is None and run.exists() and not resume:  # a fresh start wipes the previous run's outputs
        for name in ("ckpt", "stage1", "stage2"):
            shutil.rmtree(run / name, ignore_errors=True)
        for name in ("log.csv", "loss.png", "metrics.json"):
            (run / name).unlink(missing_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    if state is not None and run_identity(read_config(run / "config.json")) != run_identity(cfg):
        raise BenchError(f"{run} holds a run with a different config; use another --out or drop --resume")
    (run / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    return state


def _start_session(cfg: TrainConfig, run: Path, device: torch.device, text_tower: TextTower | None,
                   progress: bool, stop_after_steps: int | None) -> Session:
    """The model on its device, its text cache filled (and saved to the run folder when it grew)."""
    words, ids = lexicon_words(cfg)
    cache_path = run / "text_cache.safetensors"
    model = build_model(cfg, words, text_tower or cached_text_tower(cfg, cache_path))
    tower = model.text
    assert tower is not None
    load_text_cache(tower, cache_path)
    n_cached = len(tower.cache)
    # the anchor vocabulary too: a run folder's cache then lets a machine without the encoder train
    tower.fill_cache([w for ws in words.values() for w in ws] + [w for ws in anchor_vocab(cfg)[0].values() for w in ws])
    if len(tower.cache) != n_cached:
        save_text_cache(tower, run / "text_cache.safetensors")
    model.to(device)
    model.image.to(memory_format=torch.channels_last)
    model.meta = {"config": cfg.name, "seed": cfg.seed, "images_seen": 0, "wall_s": 0.0,
                  "device": device_name(device), "threads": torch.get_num_threads()}
    return Session(cfg, run, model, device, words, ids, progress, stop_after_steps)


def _restore(s: Session, state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Load the training checkpoint into ``s`` (finishing a stage interrupted between its save and its
    export); returns the checkpoint's tensors for the optimizer and lexicon bank."""
    run, model = s.run, s.model
    tensors = load_train_tensors(run)
    model.load_tensors({k: v for k, v in tensors.items() if not k.startswith("opt.") and k != "lexbank"})
    start_stage, start_step = state["stage"], state["step"]
    s.images, s.wall = state["images"], state["elapsed_s"]
    trim_log(run / "log.csv", start_stage, start_step)
    if (run / "stage1" / "config.json").is_file():  # keep provenance written before the interruption
        done_meta = json.loads((run / "stage1" / "config.json").read_text(encoding="utf-8")).get("meta", {})
        model.meta.update({k: v for k, v in done_meta.items() if k.startswith(("stage_data", "quick_eval"))})
    model.meta.update(images_seen=s.images, wall_s=s.wall)
    for s_done in range(1, 3 if state.get("done") else start_stage):
        if start_step == 0 and s.cfg.stage(s_done).images \
                and not (run / f"stage{s_done}" / "config.json").is_file():
            finish_stage(model, run, s_done, s.words, s.ids, s.cfg)  # interrupted between save and export
    return tensors


def _train_stage(s: Session, stage: int, source: Source, first: int,
                 resumed: tuple[dict[str, torch.Tensor], dict] | None) -> bool:
    """Steps ``first``.. of one stage, checkpointing as it goes, then its inference checkpoint.
    ``resumed`` is the checkpoint (tensors, optimizer meta) to continue from. False: stopped early."""
    cfg, model, device, run = s.cfg, s.model, s.device, s.run
    scfg, loss_cfg, tower = cfg.stage(stage), cfg.loss, model.text
    assert tower is not None
    total = max(1, math.ceil(scfg.images / cfg.batch_size))
    opt = make_optimizer(model, scfg)
    if resumed is not None:
        load_optimizer_tensors(opt, {k: v for k, v in resumed[0].items() if k.startswith("opt.")}, resumed[1])
    groups = [it.group for it in source.items]
    gindex = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    per_epoch = scfg.source.extra_per_epoch
    rotate = ([it.group for it in source.items if it.semantic_id < 0]
              if per_epoch is not None and scfg.source.extra_words else ())  # the extra words only, never real rows
    if isinstance(source, MixSource):
        sampler = mixed_sampler(source, groups, cfg.batch_size, cfg.instances, cfg.seed + 1000 * stage,
                                dict(scfg.source.real_slots or {}), rotate=rotate, per_epoch=per_epoch)
    else:
        sampler = SemanticBatchSampler(groups, [it.lang for it in source.items], cfg.batch_size,
                                       cfg.instances, seed=cfg.seed + 1000 * stage, rotate=rotate,
                                       per_epoch=per_epoch)
    tower.fill_cache(sorted({it.text for it in source.items}))
    lex = None
    kd = None
    if s.teacher is not None and loss_cfg.lexicon <= 0:
        raise BenchError("distill needs the lexicon bank (loss.lexicon > 0)")
    # the rows the teacher judges: the synthetic part of a mix; none of a dataset folder's (real) rows
    n_synth = source.n_synth if isinstance(source, MixSource) else \
        0 if isinstance(source, ManifestSource) else len(source.items)
    if loss_cfg.lexicon > 0:
        lex_items = list({(it.text, it.group): it for it in source.items}.values())
        lex_texts = [it.text for it in lex_items]
        lex = (lex_texts, torch.tensor([gindex[it.group] for it in lex_items]), None,
               tower.to(device).pooled_matrix(lex_texts))
        if s.teacher is not None:
            if lex[3] is None:
                raise BenchError("distill needs the frozen text encoder's pooled outputs (text.trainable_layers 0)")
            kd = (s.teacher, s.teacher.bank(lex[3]))
        if resumed is not None and "lexbank" in resumed[0]:
            lex = (lex[0], lex[1], resumed[0]["lexbank"], None)  # exact resume: the bank in use when saved
    loader = torch.utils.data.DataLoader(
        RenderDataset(source, model.image.cfg.height, model.image.cfg.width),
        batch_sampler=StepBatches(sampler, first, total, cfg.seed, stage),
        collate_fn=collate, num_workers=worker_count(cfg, device), pin_memory=device.type == "cuda")
    print(f"stage {stage}: {source.describe()}; steps {first}..{total} of batch {sampler.batch_size}"
          + (f"; {s.teacher.describe()}" if s.teacher is not None else ""), file=sys.stderr)
    model.train()
    bar = progress_bar(s.progress, total, first, f"stage {stage}")
    t_last_ckpt = time.time()
    t0 = time.time()
    win_imgs, win_t = 0, time.time()
    for step, (x, idx) in enumerate(loader, start=first):
        torch.manual_seed(sample_seed(cfg.seed, stage, step, 99991))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, scfg, g["base_lr"])
        items = [source.items[i] for i in idx.tolist()]
        if lex is not None and tower.n_trainable > 0 and (lex[2] is None or step % cfg.lexicon_refresh == 0):
            lex = (lex[0], lex[1], _encode_bank(tower, lex[0]), None)
        loss, logs = step_loss(model, x, items, gindex, loss_cfg, device, cfg.bf16, lex,
                               None if kd is None else (*kd, idx < n_synth))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 5.0)
        opt.step()
        s.images += len(items)
        win_imgs += len(items)
        s.steps_done += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.3f}")
        if (step + 1) % cfg.log_every == 0 or step + 1 == total:
            now = time.time()
            rate = win_imgs / max(1e-9, now - win_t)
            win_imgs, win_t = 0, now
            append_log(run / "log.csv", {"stage": stage, "step": step + 1, "images": s.images,
                                         "lr": opt.param_groups[0]["lr"], **logs,
                                         "tau": float(1 / model.temp.scale().detach()), "img_per_s": round(rate, 1),
                                         "elapsed_s": round(s.wall + now - t0, 1)})
        stop = s.stop_after_steps is not None and s.steps_done >= s.stop_after_steps
        if step + 1 == total or stop or time.time() - t_last_ckpt > cfg.checkpoint_every_s:
            st = {"stage": stage, "step": step + 1, "images": s.images,
                  "elapsed_s": round(s.wall + time.time() - t0, 1)}
            if step + 1 == total:  # stage finished: resume starts the next stage
                st.update(stage=stage + 1, step=0)
                st["done"] = stage == 2 or not cfg.stage2.images
            bank = {"lexbank": lex[2]} if lex is not None and lex[2] is not None else None
            save_train_state(run, model, opt, st, bank)
            plot_log(run)
            t_last_ckpt = time.time()
        if stop:
            if bar is not None:
                bar.close()
            return False
    if bar is not None:
        bar.close()
    s.wall += time.time() - t0
    model.meta.update(images_seen=s.images, wall_s=round(s.wall, 1), stage=stage,
                      stage_data={**model.meta.get("stage_data", {}), str(stage): source.describe()})
    finish_stage(model, run, stage, s.words, s.ids, cfg)
    return True


@torch.no_grad()
def _encode_bank(tower: TextTower, texts: list[str], batch_size: int = 512) -> torch.Tensor:
    was = tower.training
    tower.eval()
    out = torch.cat([tower(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)])
    tower.train(was)
    return out.float()


def step_loss(model: OursModel, x: torch.Tensor, items: list[Item], gindex: dict, loss_cfg: LossConfig,
              device: torch.device, bf16: bool = True,
              lexicon: tuple | None = None,
              distill: tuple | None = None,
              ) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one batch: images (N,1,H,W) and their items; texts are encoded once per unique text.
    ``distill`` = (Teacher, its lexicon bank, bool mask of the rows it judges) adds its terms."""
    tower = model.text
    assert tower is not None
    x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
    texts = [it.text for it in items]
    labels = torch.tensor([gindex[it.group] for it in items], device=device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and bf16):
        zv, mid = model.image.forward_train(x)
        uniq = list(dict.fromkeys(texts))
        zu = tower(uniq)
    pos = {t: i for i, t in enumerate(uniq)}
    zt = zu[torch.tensor([pos[t] for t in texts], device=device)]
    ctc_term = None
    logp_all = model.ctc(mid) if model.ctc is not None and (loss_cfg.ctc or distill is not None) else None
    if loss_cfg.ctc and model.ctc is not None:
        # a real word with a character the charset lacks is aligned, not spelled (a partial target would be wrong)
        known = set(model.charset)
        keep = [k for k, t in enumerate(texts) if spellable(t, known)]
        if keep:
            logp = logp_all
            if len(keep) < len(texts):
                logp = logp[:, torch.tensor(keep, device=logp.device)]
            ctc_term = ctc_loss(logp, ctc_targets([spelled(texts[k]) for k in keep], model.charset))
    lex_term = None
    lex_z = None
    if loss_cfg.lexicon > 0 and lexicon is not None:
        texts_all, labels_all, bank = lexicon[:3]
        # all-frozen tower: only the projector runs, so the whole lexicon is re-encoded with gradients;
        # otherwise a detached bank (refreshed by the caller) serves as the image side's prototypes
        if bank is not None:
            lex_z = bank.to(device)
        else:
            pooled = lexicon[3] if len(lexicon) > 3 and lexicon[3] is not None else tower.pooled_matrix(texts_all)
            lex_z = tower(texts_all).float() if pooled is None else tower.project(pooled)
        lex_term = lexicon_loss(zv.float(), labels, lex_z, labels_all.to(device), model.temp.scale())
    loss, logs = total_loss(zv.float(), zt.float(), labels, model.temp.scale(), loss_cfg, ctc_term, lex_term)
    if distill is not None and lex_z is not None:
        teacher, t_bank, mask = distill
        rows = torch.as_tensor(mask, dtype=torch.bool).nonzero().flatten().to(device)
        if len(rows):
            terms = teacher.loss(x[rows], zv[rows], lex_z, t_bank,
                                 None if logp_all is None else logp_all[:, rows])
            for name, term in terms.items():
                loss = loss + (teacher.cfg.weight if name == "kd" else teacher.cfg.ctc_weight) * term
                logs[name] = float(term.detach())
            logs["loss"] = float(loss.detach())
    return loss, logs


def finish_stage(model: OursModel, run: Path, stage: int, words: dict, ids: dict, cfg: TrainConfig) -> Path:
    """Anchor table from the text tower, inference checkpoint, and a small evaluation."""
    model.eval()
    model.build_anchors(*anchor_vocab(cfg))
    out = save_checkpoint(model, run / f"stage{stage}", include_ctc=True)  # the reader row (ours-read) needs it
    (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    if cfg.eval.per_lang:
        try:
            metrics = quick_eval(model, words, ids, cfg.eval.split, int(cfg.eval.per_lang), cfg.seed)
        except Exception as exc:  # noqa: BLE001 - evaluation must not lose a finished stage
            metrics = {"error": f"{type(exc).__name__}: {exc}"}
        allm = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
        allm[f"stage{stage}"] = metrics
        (run / "metrics.json").write_text(json.dumps(allm, indent=1))
        print(f"stage {stage} eval: {metrics}", file=sys.stderr)
        model.meta[f"quick_eval_stage{stage}"] = metrics
        save_checkpoint(model, out, include_ctc=True)
    write_model_card(out, model, cfg, stage)
    model.train()
    return out
