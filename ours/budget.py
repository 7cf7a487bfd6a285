"""``--budget-minutes``: probe how fast this machine renders and trains, and size both stages to fit.

The probe and the resolved counts are recorded in the config (``budget``), so the run itself stays a
pure function of its config, and a resumed run keeps the counts it was given.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .config import BudgetRecord, ConfigLike, TrainConfig, read_config, run_identity, same_form, with_images
from .data import RenderDataset, collate
from .hardware import device_name, pick_device, set_train_threads, worker_count
from .model import OursModel
from .sampler import SemanticBatchSampler
from .train_data import StepBatches, make_source
from .vocab import lexicon_words, make_charset


def probe_rates(cfg: ConfigLike, seconds: float = 10.0) -> dict[str, Any]:
    """Images per second this machine sustains: rendering alone (the run's DataLoader workers), and
    training steps (image tower and CTC head, forward and backward) fed by that loader on the run's
    device and threads, which is what the run does: on CPU the step and the renderers share the
    cores. (An earlier probe timed the step alone on every core and assumed 515 images/s on 2 cores
    where the run sustained 310.) Worker start-up is counted in, so both rates err low."""
    cfg = read_config(cfg)
    device = pick_device(cfg)
    threads_before = torch.get_num_threads()
    set_train_threads(cfg, device)
    try:
        words, ids = lexicon_words(cfg)
        source = make_source(cfg.stage1.source, words, ids, 1)
        render = _rate(_loader(cfg, source, device), seconds)
        model = OursModel(replace(cfg.image), charset=make_charset(words)).to(device)
        model.image.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(x: torch.Tensor) -> None:
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.bf16):
                z, mid = model.image.forward_train(x)
                loss = z.float().square().mean() + model.ctc(mid).float().square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        steps = _rate(_loader(cfg, source, device), seconds, step, warmup=3)
        threads = torch.get_num_threads() if device.type == "cpu" else None
    finally:
        torch.set_num_threads(threads_before)
    return {"render_img_per_s": round(render, 1), "step_img_per_s": round(steps, 1),
            "workers": worker_count(cfg, device), "threads": threads, "device": device_name(device)}


def _loader(cfg: TrainConfig, source, device: torch.device) -> torch.utils.data.DataLoader:
    sampler = SemanticBatchSampler([it.group for it in source.items], [it.lang for it in source.items],
                                   cfg.batch_size, cfg.instances, seed=cfg.seed)
    return torch.utils.data.DataLoader(RenderDataset(source), batch_sampler=StepBatches(sampler, 0, 10 ** 6, cfg.seed, 1),
                                       collate_fn=collate, num_workers=worker_count(cfg, device))


def _rate(loader, seconds: float, step=None, warmup: int = 0) -> float:
    """Images per second through ``loader`` (and ``step`` on each batch), after ``warmup`` batches."""
    n, t0 = 0, time.time()
    for k, (x, _) in enumerate(loader):
        if step is not None:
            step(x)
        if k + 1 == warmup:
            _sync()
            n, t0 = 0, time.time()
            continue
        n += len(x)
        if k >= warmup and time.time() - t0 > seconds:
            break
    _sync()
    rate = n / max(1e-9, time.time() - t0)
    del loader
    return rate


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def fit_to_budget(cfg: ConfigLike, seconds: float, probe_s: float = 10.0, overhead_s: float = 45.0,
                  margin: float = 0.85) -> TrainConfig | dict[str, Any]:
    """The config with both stages' image counts set so the run fits in ``seconds`` on this machine.

    The two stages keep the config's ratio of images; ``overhead_s`` covers loader start-up, anchors
    and the end-of-stage evaluations. Returns a TrainConfig for a TrainConfig, else the JSON form.
    """
    typed = read_config(cfg)
    rates = probe_rates(typed, probe_s)
    rate = margin * min(rates["render_img_per_s"], rates["step_img_per_s"])
    total = max(typed.batch_size, int(rate * max(1.0, seconds - overhead_s - 2 * probe_s)))
    s1, s2 = typed.stage1.images or 0, typed.stage2.images or 0
    share2 = s2 / (s1 + s2) if s1 + s2 else 0.0
    images2 = int(total * share2) if s2 else 0
    fitted = with_images(typed, total - images2, images2)
    fitted.budget = BudgetRecord(seconds=seconds, probe=rates, img_per_s_assumed=round(rate, 1))
    return same_form(cfg, fitted)


def budgeted_config(cfg: ConfigLike, run: Path) -> TrainConfig | dict[str, Any]:
    """For resuming: the run's saved config if a budget probe resolved its image counts and it is
    otherwise the same run (the probe's counts, not the config file's, define the run)."""
    p = Path(run) / "config.json"
    if not p.is_file():
        return cfg
    saved = read_config(p)
    if saved.budget is None:
        return cfg
    mine = with_images(read_config(cfg), saved.stage1.images, saved.stage2.images)
    return same_form(cfg, saved) if run_identity(mine) == run_identity(saved) else cfg
