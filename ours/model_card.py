"""MODEL_CARD.md next to an inference checkpoint, and the command that retrains the run."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .config import TrainConfig
from .model import OursModel, count_parameters


def write_model_card(folder: Path, model: OursModel, cfg: TrainConfig, stage: int) -> None:
    """MODEL_CARD.md next to an inference checkpoint: data, config, images seen, time, hardware, metrics."""
    m = model.meta
    ev = m.get(f"quick_eval_stage{stage}", {})
    lines = [
        f"# ours ({'fine-tuned, stage 2' if stage == 2 else 'w/o fine-tuning, stage 1'})", "",
        f"- config: `{cfg.name}` (seed {cfg.seed}); the full resolved config is train_config.json",
        f"- reproduce: {reproduce_command(cfg)}",
        f"- data: {'; '.join(f'stage {k}: {v}' for k, v in sorted(m.get('stage_data', {}).items()))}",
        f"- images seen: {m.get('images_seen', 0):,}; wall time: {m.get('wall_s', 0) / 60:.1f} min",
        f"- hardware: {m.get('device')}, {m.get('threads')} threads",
        f"- image tower: {count_parameters(model.image):,} parameters (inference runs only this + anchors)",
        f"- text tower: {model.text_cfg.encoder if model.text_cfg else None}, top "
        f"{model.text_cfg.trainable_layers if model.text_cfg else 0} layers trained (base encoder not stored)",
        f"- losses: {json.dumps(asdict(cfg.loss))}",
        *_lineage(m),
        f"- anchors: {', '.join(f'{k}: {len(v)}' for k, v in model.anchors.words.items())} words",
        "",
        f"Quick evaluation (Acc@1, {cfg.eval.per_lang} images per language from the "
        f"'{cfg.eval.split}' writers, gallery = trained words; not the benchmark):",
        "", "```", json.dumps(ev, indent=1), "```", "",
        "Benchmark numbers come from `bench run` on the built-in splits.",
        "", *data_licences(cfg),
    ]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _lineage(meta: dict) -> list[str]:
    """Where the weights began and which frozen checkpoint they were distilled from (hashes: sha256)."""
    out = []
    if isinstance(meta.get("init"), dict) and meta["init"].get("from"):
        i = meta["init"]
        out.append(f"- warm start: `{i['from']}` (weights sha256 {str(i.get('sha256'))[:16]})")
    if isinstance(meta.get("teacher"), dict):
        t = meta["teacher"]
        out.append(f"- teacher (distilled on the synthetic rows): `{t['from']}` (weights sha256 {t['sha256'][:16]}; "
                   f"lexicon KL x{t['weight']}, CTC KL x{t['ctc_weight']}, temperature {t['temperature']})")
    return out


def data_licences(cfg: TrainConfig) -> list[str]:
    """The training sources, their licences and what they allow for these weights (Markdown lines)."""
    lines = ["## Training data and licences", "",
             "- synthetic writers: fonts and stroke data under `bench/data/assets/licenses` and "
             "`bench/data/train_assets` (OFL, Apache-2.0, Arphic PL; each font's licence beside it); words from "
             "`bench/data/LEXICON.md` (WordNet, CC-CEDICT CC BY-SA 4.0, FreeDict GPL-2+, wordfreq)"]
    if any(cfg.stage(k).source.real for k in (1, 2)):
        from bench.data.build.real import sources

        for s in sources().values():
            lines.append(f"- real, {s['name']}: `{s['repository']}` at {s['commit'][:12]}; licence: {s['licence']}; "
                         f"weights: {s['weights']}")
        lines += ["", "Trained on research-only real handwriting: use these weights for non-commercial research."]
    return lines


def reproduce_command(cfg: TrainConfig) -> str:
    """The command that retrains this run (a budgeted run names its probe-resolved image counts)."""
    cmd = f"`ours train --config {cfg.name}`"
    if cfg.budget:
        b = cfg.budget
        cmd = (f"`ours train --config {cfg.name} --budget-minutes {b.seconds / 60:g}` on "
               f"{b.probe.get('device')} with {b.probe.get('workers')} rendering workers; the probe resolved "
               f"it to {cfg.stage1.images:,} + {cfg.stage2.images:,} images, and "
               f"`ours train --config train_config.json` repeats exactly that")
    elif cfg.init:  # a warm start: name where from, and the image counts it ran
        cmd = (f"`ours train --config {cfg.name} --init {cfg.init} --images {cfg.stage1.images} "
               f"{cfg.stage2.images}` (or `ours train --config train_config.json`), starting from the "
               "checkpoint recorded under `init` in config.json's meta")
    return cmd
