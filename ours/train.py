"""Two-stage training of our model, resumable, deterministic under a seed.

Stage 1 pre-trains on words rendered on the fly with the synthetic ``train`` writers. Stage 2
fine-tunes at a lower rate on real data when a manifest folder is given (IAM, HWDB, ...), otherwise
on a synthetic split of pen-model writers disjoint from the OOD writers. Each stage ends with an
inference checkpoint (``stage1/`` = "Ours w/o fine-tuning", ``stage2/`` = "Ours") holding the image
tower and the lexicon anchor table.

Run folder layout:
  config.json            the resolved configuration
  ckpt/train.safetensors model (with CTC head) + AdamW state flattened to tensors (no pickle)
  ckpt/state.json        stage, step, images seen, wall time: a rerun resumes from here
  text_cache.safetensors frozen text-encoder outputs for the lexicon (recomputed if absent)
  log.csv, loss.png      loss curves; metrics.json: end-of-stage evaluation
  stage1/, stage2/       inference checkpoints (ours.model.load_checkpoint)

Reproducibility: a batch's contents and rendering seeds are pure functions of (seed, stage, step),
and the torch RNG is re-seeded every step, so a resumed run continues exactly as an uninterrupted one.
"""
from __future__ import annotations

import copy
import csv
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from .data import FnSource, Item, ManifestSource, RenderDataset, Source, SynthSource, collate, sample_seed
from .losses import LossConfig, ctc_loss, lexicon_loss, total_loss
from .model import ImageTowerConfig, OursModel, save_checkpoint
from .sampler import SemanticBatchSampler
from .texttower import TextTower, TextTowerConfig

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 0,
    "init": None,  # warm start: an inference checkpoint folder whose image tower (and projectors) to start from
    "threads": "auto",  # CPU: cores minus rendering workers
    "device": "auto",
    "bf16": True,
    "workers": "auto",
    "lexicon": None,
    "languages": None,
    "concepts": "builtin",  # builtin: the built-in benchmark's concepts; all: whole lexicon
    "max_concepts": None,
    "image": {},
    "text": {},
    "loss": {},
    "batch_size": 128,
    "instances": 3,
    "log_every": 10,
    "lexicon_refresh": 100,  # steps between re-encodings of the lexicon bank (trainable text layers only)
    "checkpoint_every_s": 300,
    "stage1": {"source": {"kind": "synth", "split": "train"}, "images": 100000, "lr": 2e-3,
               "text_lr": 1e-4, "weight_decay": 0.05, "warmup": 0.05, "min_lr_ratio": 0.02},
    "stage2": {"source": {"kind": "auto"}, "images": 20000, "lr": 2e-4, "text_lr": 1e-5,
               "weight_decay": 0.05, "warmup": 0.05, "min_lr_ratio": 0.02},
    "eval": {"split": "id", "per_lang": 100},
}


# ----------------------------------------------------------------------------- configuration
def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(ref: str | Path | dict) -> dict:
    """A dict, a JSON path, or the name of a bundled config (quick, default)."""
    from .errors import BenchError

    if isinstance(ref, dict):
        return _merge(DEFAULTS, ref)
    p = Path(ref)
    if not p.is_file():
        p = CONFIG_DIR / f"{ref}.json"
    if not p.is_file():
        names = ", ".join(sorted(x.stem for x in CONFIG_DIR.glob("*.json")))
        raise BenchError(f"no config {ref!r} (bundled: {names})")
    try:
        return _merge(DEFAULTS, json.loads(p.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise BenchError(f"config {p} is not valid JSON: {exc}") from None


def _dc(cls, d: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


# ----------------------------------------------------------------------------- setup helpers
def pick_device(cfg: dict) -> torch.device:
    want = cfg.get("device", "auto")
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(want)


def lexicon_words(cfg: dict) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """Words and semantic ids per language, optionally a deterministic subset of concepts."""
    if "words" in cfg:  # inline vocabulary (tests)
        return ({k: list(v) for k, v in cfg["words"].items()}, {k: list(v) for k, v in cfg["ids"].items()})
    from bench.lexicon import BUILTIN_LEXICON, Lexicon

    lex = Lexicon.load(cfg["lexicon"] or BUILTIN_LEXICON)
    langs = cfg["languages"] or lex.languages
    keep = None
    if cfg.get("concepts", "builtin") == "builtin" and not cfg["lexicon"]:
        from bench.data import builtin

        rows = builtin._load_lexicon(builtin.LEXICON)
        keep = {int(r["semantic_id"]) for r in builtin._concepts(rows, builtin.ID_WORDS, 0)}
    if cfg.get("max_concepts"):
        all_ids = sorted({i for lang in langs for i in lex.ids(lang) if keep is None or i in keep})
        keep = set(random.Random(cfg["seed"]).sample(all_ids, min(cfg["max_concepts"], len(all_ids))))
    words, ids = {}, {}
    for lang in langs:
        pairs = [(w, i) for w, i in zip(lex.words(lang), lex.ids(lang)) if keep is None or i in keep]
        words[lang] = [w for w, _ in pairs]
        ids[lang] = [i for _, i in pairs]
    return words, ids


def anchor_vocab(cfg: dict) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """Every lexicon word (not just the trained subset): the anchor table covers the whole lexicon."""
    if "words" in cfg:
        return lexicon_words(cfg)
    return lexicon_words({**cfg, "concepts": "all", "max_concepts": None})


def make_charset(words: dict[str, list[str]]) -> str:
    """Characters of the (case-folded) lexicon, for the CTC head; index 0 is the blank."""
    return "".join(sorted({c for ws in words.values() for w in ws for c in w.casefold() if not c.isspace()}))


def ctc_targets(texts: list[str], charset: str) -> list[list[int]]:
    index = {c: i + 1 for i, c in enumerate(charset)}
    return [[index[c] for c in t.casefold() if c in index] for t in texts]


def make_source(spec: dict, words: dict, ids: dict, stage: int) -> Source:
    from .errors import BenchError

    kind = spec.get("kind", "synth")
    if kind == "auto":  # real data when given, else pen writers of the train split (disjoint from OOD)
        if spec.get("manifest"):
            kind = "manifest"
        else:
            kind, spec = "synth", {"split": "train", "writer_kind": "pen", **spec}
    if kind == "synth":
        return SynthSource(words, ids, spec.get("split", "train"), augment=spec.get("augment", True),
                           writer_kind=spec.get("writer_kind"), cases=spec.get("cases", True))
    if kind == "manifest":
        return ManifestSource(spec["manifest"], spec.get("split"), list(words))
    raise BenchError(f"stage {stage}: unknown data source kind {kind!r} (synth, manifest, auto)")


def lr_at(step: int, total: int, stage_cfg: dict, base: float) -> float:
    """Linear warm-up then cosine decay to min_lr_ratio * base."""
    warm = max(1, int(stage_cfg.get("warmup", 0.05) * total))
    if step < warm:
        return base * (step + 1) / warm
    floor = base * stage_cfg.get("min_lr_ratio", 0.02)
    t = (step - warm) / max(1, total - warm)
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(model: OursModel, stage_cfg: dict) -> torch.optim.AdamW:
    wd = stage_cfg.get("weight_decay", 0.05)
    img = [p for p in model.image.parameters() if p.requires_grad]
    decay = [p for p in img if p.ndim > 1]
    no_decay = [p for p in img if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": wd, "base_lr": stage_cfg["lr"]},
              {"params": no_decay + [model.temp.log_scale], "weight_decay": 0.0, "base_lr": stage_cfg["lr"]}]
    if model.ctc is not None:
        groups.append({"params": list(model.ctc.parameters()), "weight_decay": wd, "base_lr": stage_cfg["lr"]})
    if model.text is not None:
        txt = [p for n, p in model.text.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
        groups.append({"params": txt, "weight_decay": wd, "base_lr": stage_cfg.get("text_lr", 1e-4)})
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
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


# ----------------------------------------------------------------------------- text cache on disk
def load_text_cache(tower: TextTower, path: Path) -> None:
    from safetensors.torch import load_file
    from safetensors import safe_open

    if not path.is_file():
        return
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("key") != tower.cache_key:
        return
    texts = json.loads(meta["texts"])
    tensors = load_file(str(path))
    for i, t in enumerate(texts):
        tower.cache.store[t] = tensors[str(i)]


def cached_text_tower(cfg: dict, path: Path) -> TextTower | None:
    """An all-frozen text tower that runs from ``path`` without loading its encoder (None otherwise)."""
    from safetensors import safe_open

    text_cfg = _dc(TextTowerConfig, cfg["text"])
    if text_cfg.trainable_layers != 0 or not path.is_file():
        return None
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
        if not keys:
            return None
        hidden = f.get_slice(keys[0]).get_shape()[-1]
    return TextTower(text_cfg, hidden_size=int(hidden))


def save_text_cache(tower: TextTower, path: Path) -> None:
    from safetensors.torch import save_file

    texts = sorted(tower.cache.store)
    tensors = {str(i): tower.cache.store[t].contiguous() for i, t in enumerate(texts)}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"key": tower.cache_key, "texts": json.dumps(texts, ensure_ascii=False)})
    tmp.replace(path)


# ----------------------------------------------------------------------------- the loop
class StepBatches:
    """Batch sampler over training steps [start, total): each batch is a list of (item, seed) keys."""

    def __init__(self, sampler: SemanticBatchSampler, start: int, total: int, seed: int, stage: int) -> None:
        self.sampler, self.start, self.total, self.seed, self.stage = sampler, start, total, seed, stage
        self._epoch, self._batches = -1, []

    def __len__(self) -> int:
        return self.total - self.start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        n = len(self.sampler)
        for step in range(self.start, self.total):
            epoch, b = divmod(step, n)
            if epoch != self._epoch:
                self._epoch, self._batches = epoch, self.sampler.batches(epoch)
            yield [(i, sample_seed(self.seed, self.stage, step, pos)) for pos, i in enumerate(self._batches[b])]


def _workers(cfg: dict, device: torch.device) -> int:
    """Rendering processes: all spare cores beside a GPU; on CPU one, overlapping rendering with the step."""
    w = cfg.get("workers", "auto")
    if w == "auto":
        n = os.cpu_count() or 1
        return max(1, n - 1) if device.type == "cuda" else (1 if n >= 2 else 0)
    return int(w)


def probe_rates(cfg: dict, seconds: float = 10.0) -> dict[str, float]:
    """Images per second this machine sustains: rendering (the run's DataLoader workers) and training
    steps (image tower and CTC head, forward and backward, on the run's device). Worker start-up is
    counted in, so the rendering rate errs low."""
    cfg = load_config(cfg)
    device = pick_device(cfg)
    words, ids = lexicon_words(cfg)
    source = make_source(cfg["stage1"]["source"], words, ids, 1)
    sampler = SemanticBatchSampler([it.group for it in source.items], [it.lang for it in source.items],
                                   cfg["batch_size"], cfg["instances"], seed=cfg["seed"])
    loader = torch.utils.data.DataLoader(RenderDataset(source), batch_sampler=StepBatches(sampler, 0, 10 ** 6, cfg["seed"], 1),
                                         collate_fn=collate, num_workers=_workers(cfg, device))
    n, t0 = 0, time.time()
    for x, _ in loader:
        n += len(x)
        if time.time() - t0 > seconds:
            break
    render = n / (time.time() - t0)
    del loader
    model = OursModel(_dc(ImageTowerConfig, cfg["image"]), charset=make_charset(words)).to(device)
    model.image.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(cfg["batch_size"], 1, model.image.cfg.height, model.image.cfg.width, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    timed, t0 = 0, 0.0
    for k in range(13):
        if k == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.time()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.get("bf16", True)):
            z, mid = model.image.forward_train(x)
            loss = z.float().square().mean() + model.ctc(mid).float().square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        timed += len(x) if k >= 3 else 0
        if k >= 3 and device.type != "cuda" and time.time() - t0 > seconds:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"render_img_per_s": round(render, 1), "step_img_per_s": round(timed / (time.time() - t0), 1),
            "workers": _workers(cfg, device), "device": _device_name(device)}


def fit_to_budget(cfg: dict | str | Path, seconds: float, probe_s: float = 10.0, overhead_s: float = 45.0,
                  margin: float = 0.85) -> dict:
    """The config with both stages' image counts set so the run fits in ``seconds`` on this machine.

    The two stages keep the config's ratio of images; ``overhead_s`` covers loader start-up, anchors
    and the end-of-stage evaluations. The probe and the resolved counts are recorded in the config
    (``budget``), so the run itself stays a pure function of its config.
    """
    cfg = load_config(cfg)
    rates = probe_rates(cfg, probe_s)
    rate = margin * min(rates["render_img_per_s"], rates["step_img_per_s"])
    total = max(cfg["batch_size"], int(rate * max(1.0, seconds - overhead_s - 2 * probe_s)))
    s1, s2 = cfg["stage1"].get("images") or 0, cfg["stage2"].get("images") or 0
    share2 = s2 / (s1 + s2) if s1 + s2 else 0.0
    cfg["stage2"]["images"] = int(total * share2) if s2 else 0
    cfg["stage1"]["images"] = total - cfg["stage2"]["images"]
    cfg["budget"] = {"seconds": seconds, "probe": rates, "img_per_s_assumed": round(rate, 1)}
    return cfg


def budgeted_config(cfg: dict, run: Path) -> dict:
    """For resuming: the run's saved config if a budget probe resolved its image counts and it is
    otherwise the same run (the probe's counts, not the config file's, define the run)."""
    p = Path(run) / "config.json"
    if not p.is_file():
        return cfg
    saved = json.loads(p.read_text(encoding="utf-8"))
    if not saved.get("budget"):
        return cfg
    mine = _strip(cfg)
    for key in ("stage1", "stage2"):
        mine[key] = {**mine[key], "images": saved[key].get("images")}
    return saved if mine == _strip(saved) else cfg


def _read_state(run: Path) -> dict | None:
    p = run / "ckpt" / "state.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _save_train_ckpt(run: Path, model: OursModel, opt: torch.optim.Optimizer, state: dict,
                     extra: dict[str, torch.Tensor] | None = None) -> None:
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


def _trim_log(path: Path, stage: int, step: int) -> None:
    """Drop log rows written after the checkpoint we resume from."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if (int(r["stage"]), int(r["step"])) <= (stage, step)]
    if len(keep) != len(rows) and rows:
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(keep)


LOG_FIELDS = ["stage", "step", "images", "lr", "loss", "i2t", "t2i", "sca", "ctc", "lex", "tau", "img_per_s", "elapsed_s"]


def plot_log(run: Path) -> None:
    """loss.png from log.csv (matplotlib is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    p = run / "log.csv"
    if not p.is_file():
        return
    with p.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.array([float(r["images"]) for r in rows])
    for key in ("loss", "i2t", "t2i", "sca", "ctc", "lex"):
        y = [float(r[key]) if r[key] not in ("", None) else np.nan for r in rows]
        if not np.all(np.isnan(y)):
            ax.plot(x, y, label=key, lw=1)
    for s in sorted({r["stage"] for r in rows})[1:]:
        first = next(float(r["images"]) for r in rows if r["stage"] == s)
        ax.axvline(first, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("images seen")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run / "loss.png", dpi=100)
    plt.close(fig)


def warm_start(model: OursModel, folder: str | Path) -> dict:
    """Start from a published checkpoint: image tower, text projector and temperature (and the CTC
    head when it was kept and the character sets agree). Anchors are rebuilt when a stage ends.

    Returns the provenance recorded in the model card: where from, and the weights' hash.
    """
    import hashlib

    from safetensors.torch import load_file

    from .errors import BenchError

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


def build_model(cfg: dict, words: dict, text_tower: TextTower | None = None) -> OursModel:
    torch.manual_seed(cfg["seed"])
    loss_cfg = _dc(LossConfig, cfg["loss"])
    text_cfg = _dc(TextTowerConfig, cfg["text"])
    charset = make_charset(words) if loss_cfg.ctc else ""
    tower = text_tower or TextTower(text_cfg)
    return OursModel(_dc(ImageTowerConfig, cfg["image"]), tower.cfg, charset=charset, text_tower=tower)


def train(cfg: dict | str | Path, run_dir: str | Path, resume: bool = True,
          sources: dict[int, Source] | None = None, text_tower: TextTower | None = None,
          progress: bool = True, stop_after_steps: int | None = None) -> Path:
    """Run (or resume) both stages; returns the run folder. ``sources`` overrides data per stage."""
    from .errors import BenchError

    cfg = load_config(cfg)
    run = Path(run_dir)
    state = _read_state(run) if resume else None
    if state is None and run.exists() and not resume:  # a fresh start wipes the previous run's outputs
        import shutil

        for name in ("ckpt", "stage1", "stage2"):
            shutil.rmtree(run / name, ignore_errors=True)
        for name in ("log.csv", "loss.png", "metrics.json"):
            (run / name).unlink(missing_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    if state is not None:
        saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
        if _strip(saved) != _strip(cfg):
            raise BenchError(f"{run} holds a run with a different config; use another --out or drop --resume")
    (run / "config.json").write_text(json.dumps(cfg, indent=1, ensure_ascii=False), encoding="utf-8")

    device = pick_device(cfg)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest kernels once
    if device.type == "cpu":  # pinned threads: the rendering workers get their own cores
        threads = cfg["threads"]
        if threads == "auto":
            threads = max(1, (os.cpu_count() or 1) - _workers(cfg, device))
        torch.set_num_threads(int(threads))
    words, ids = lexicon_words(cfg)
    cache_path = run / "text_cache.safetensors"
    model = build_model(cfg, words, text_tower or cached_text_tower(cfg, cache_path))
    loss_cfg = _dc(LossConfig, cfg["loss"])
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
    model.meta = {"config": cfg.get("name"), "seed": cfg["seed"], "images_seen": 0, "wall_s": 0.0,
                  "device": _device_name(device), "threads": torch.get_num_threads()}
    if cfg.get("init"):
        model.meta["init"] = warm_start(model, cfg["init"]) if state is None else \
            json.loads((run / "init.json").read_text(encoding="utf-8"))
        (run / "init.json").write_text(json.dumps(model.meta["init"], indent=1), encoding="utf-8")

    start_stage, start_step, images_total, wall = 1, 0, 0, 0.0
    if state is not None:
        from safetensors.torch import load_file

        tensors = load_file(str(run / "ckpt" / "train.safetensors"))
        model.load_tensors({k: v for k, v in tensors.items() if not k.startswith("opt.") and k != "lexbank"})
        start_stage, start_step = state["stage"], state["step"]
        images_total, wall = state["images"], state["elapsed_s"]
        _trim_log(run / "log.csv", start_stage, start_step)
        if (run / "stage1" / "config.json").is_file():  # keep provenance written before the interruption
            done_meta = json.loads((run / "stage1" / "config.json").read_text(encoding="utf-8")).get("meta", {})
            model.meta.update({k: v for k, v in done_meta.items() if k.startswith(("stage_data", "quick_eval"))})
        model.meta.update(images_seen=images_total, wall_s=wall)
        for s_done in range(1, 3 if state.get("done") else start_stage):
            if start_step == 0 and cfg[f"stage{s_done}"].get("images") \
                    and not (run / f"stage{s_done}" / "config.json").is_file():
                finish_stage(model, run, s_done, words, ids, cfg)  # interrupted between save and export
        if state.get("done"):
            return run

    steps_done = 0
    for stage in (1, 2):
        scfg = cfg[f"stage{stage}"]
        if stage < start_stage or not scfg.get("images"):
            continue
        source = (sources or {}).get(stage) or make_source(scfg["source"], words, ids, stage)
        total = max(1, math.ceil(scfg["images"] / cfg["batch_size"]))
        first = start_step if stage == start_stage else 0
        opt = make_optimizer(model, scfg)
        if state is not None and stage == start_stage and first > 0:
            load_optimizer_tensors(opt, {k: v for k, v in tensors.items() if k.startswith("opt.")}, state["optimizer"])
        groups = [it.group for it in source.items]
        gindex = {g: i for i, g in enumerate(dict.fromkeys(groups))}
        sampler = SemanticBatchSampler(groups, [it.lang for it in source.items], cfg["batch_size"],
                                       cfg["instances"], seed=cfg["seed"] + 1000 * stage)
        tower.fill_cache(sorted({it.text for it in source.items}))
        lex = None
        if loss_cfg.lexicon > 0:
            lex_items = list({(it.text, it.group): it for it in source.items}.values())
            lex_texts = [it.text for it in lex_items]
            lex = (lex_texts, torch.tensor([gindex[it.group] for it in lex_items]), None,
                   tower.to(device).pooled_matrix(lex_texts))
            if state is not None and stage == start_stage and first > 0 and "lexbank" in tensors:
                lex = (lex[0], lex[1], tensors["lexbank"], None)  # exact resume: the bank in use when saved
        loader = torch.utils.data.DataLoader(
            RenderDataset(source, model.image.cfg.height, model.image.cfg.width),
            batch_sampler=StepBatches(sampler, first, total, cfg["seed"], stage),
            collate_fn=collate, num_workers=_workers(cfg, device), pin_memory=device.type == "cuda")
        print(f"stage {stage}: {source.describe()}; steps {first}..{total} of batch {sampler.batch_size}",
              file=sys.stderr)
        model.train()
        bar = _progress(progress, total, first, f"stage {stage}")
        t_last_ckpt = time.time()
        t0 = time.time()
        win_imgs, win_t = 0, time.time()
        step = first
        for step, (x, idx) in enumerate(loader, start=first):
            torch.manual_seed(sample_seed(cfg["seed"], stage, step, 99991))
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, scfg, g["base_lr"])
            items = [source.items[i] for i in idx.tolist()]
            if lex is not None and tower.n_trainable > 0 and (lex[2] is None or step % cfg["lexicon_refresh"] == 0):
                lex = (lex[0], lex[1], _encode_bank(tower, lex[0]), None)
            loss, logs = step_loss(model, x, items, gindex, loss_cfg, device, cfg.get("bf16", True), lex)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 5.0)
            opt.step()
            images_total += len(items)
            win_imgs += len(items)
            steps_done += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{logs['loss']:.3f}")
            if (step + 1) % cfg["log_every"] == 0 or step + 1 == total:
                now = time.time()
                rate = win_imgs / max(1e-9, now - win_t)
                win_imgs, win_t = 0, now
                _append_log(run / "log.csv", {"stage": stage, "step": step + 1, "images": images_total,
                                              "lr": opt.param_groups[0]["lr"], **logs,
                                              "tau": float(1 / model.temp.scale().detach()), "img_per_s": round(rate, 1),
                                              "elapsed_s": round(wall + now - t0, 1)})
            stop = stop_after_steps is not None and steps_done >= stop_after_steps
            if step + 1 == total or stop or time.time() - t_last_ckpt > cfg["checkpoint_every_s"]:
                st = {"stage": stage, "step": step + 1, "images": images_total,
                      "elapsed_s": round(wall + time.time() - t0, 1)}
                if step + 1 == total:  # stage finished: resume starts the next stage
                    st.update(stage=stage + 1, step=0)
                    st["done"] = stage == 2 or not cfg["stage2"].get("images")
                bank = {"lexbank": lex[2]} if lex is not None and lex[2] is not None else None
                _save_train_ckpt(run, model, opt, st, bank)
                plot_log(run)
                t_last_ckpt = time.time()
            if stop:
                if bar is not None:
                    bar.close()
                return run
        if bar is not None:
            bar.close()
        wall += time.time() - t0
        model.meta.update(images_seen=images_total, wall_s=round(wall, 1), stage=stage,
                          stage_data={**model.meta.get("stage_data", {}), str(stage): source.describe()})
        finish_stage(model, run, stage, words, ids, cfg)
    return run


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
              ) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one batch: images (N,1,H,W) and their items; texts are encoded once per unique text."""
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
    if loss_cfg.ctc and model.ctc is not None:
        ctc_term = ctc_loss(model.ctc(mid), ctc_targets(texts, model.charset))
    lex_term = None
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
    return total_loss(zv.float(), zt.float(), labels, model.temp.scale(), loss_cfg, ctc_term, lex_term)


def finish_stage(model: OursModel, run: Path, stage: int, words: dict, ids: dict, cfg: dict) -> Path:
    """Anchor table from the text tower, inference checkpoint, and a small evaluation."""
    model.eval()
    model.build_anchors(*anchor_vocab(cfg))
    out = save_checkpoint(model, run / f"stage{stage}", include_ctc=True)  # the reader row (ours-read) needs it
    (out / "train_config.json").write_text(json.dumps(cfg, indent=1, ensure_ascii=False), encoding="utf-8")
    ev = cfg.get("eval") or {}
    if ev.get("per_lang"):
        try:
            metrics = quick_eval(model, words, ids, ev.get("split", "id"), int(ev["per_lang"]), cfg["seed"])
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


def write_model_card(folder: Path, model: OursModel, cfg: dict, stage: int) -> None:
    """MODEL_CARD.md next to an inference checkpoint: data, config, images seen, time, hardware, metrics."""
    from .model import count_parameters

    m = model.meta
    ev = m.get(f"quick_eval_stage{stage}", {})
    lines = [
        f"# ours ({'fine-tuned, stage 2' if stage == 2 else 'w/o fine-tuning, stage 1'})", "",
        f"- config: `{cfg.get('name')}` (seed {cfg['seed']}); the full resolved config is train_config.json",
        f"- reproduce: {reproduce_command(cfg)}",
        f"- data: {'; '.join(f'stage {k}: {v}' for k, v in sorted(m.get('stage_data', {}).items()))}",
        f"- images seen: {m.get('images_seen', 0):,}; wall time: {m.get('wall_s', 0) / 60:.1f} min",
        f"- hardware: {m.get('device')}, {m.get('threads')} threads",
        f"- image tower: {count_parameters(model.image):,} parameters (inference runs only this + anchors)",
        f"- text tower: {model.text_cfg.encoder if model.text_cfg else None}, top "
        f"{model.text_cfg.trainable_layers if model.text_cfg else 0} layers trained (base encoder not stored)",
        f"- losses: {json.dumps(asdict(_dc(LossConfig, cfg['loss'])))}",
        f"- anchors: {', '.join(f'{k}: {len(v)}' for k, v in model.anchors.words.items())} words",
        "",
        f"Quick evaluation (Acc@1, {cfg.get('eval', {}).get('per_lang')} images per language from the "
        f"'{cfg.get('eval', {}).get('split')}' writers, gallery = trained words; not the benchmark):",
        "", "```", json.dumps(ev, indent=1), "```", "",
        "Benchmark numbers come from `bench run` on the built-in splits.",
    ]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def reproduce_command(cfg: dict) -> str:
    """The command that retrains this run (a budgeted run names its probe-resolved image counts)."""
    cmd = f"`ours train --config {cfg.get('name')}`"
    if cfg.get("budget"):
        b = cfg["budget"]
        cmd = (f"`ours train --config {cfg.get('name')} --budget-minutes {b['seconds'] / 60:g}` on "
               f"{b['probe'].get('device')} with {b['probe'].get('workers')} rendering workers; the probe resolved "
               f"it to {cfg['stage1']['images']:,} + {cfg['stage2']['images']:,} images, and "
               f"`ours train --config train_config.json` repeats exactly that")
    elif cfg.get("init"):  # a warm start: name where from, and the image counts it ran
        cmd = (f"`ours train --config {cfg.get('name')} --init {cfg['init']} --images {cfg['stage1']['images']} "
               f"{cfg['stage2']['images']}` (or `ours train --config train_config.json`), starting from the "
               "checkpoint recorded under `init` in config.json's meta")
    return cmd


def quick_eval(model: OursModel, words: dict, ids: dict, split: str, per_lang: int, seed: int) -> dict:
    """Within-language and cross-language Acc@1 on words rendered by one split's writers."""
    source = SynthSource(words, ids, split)
    rng = random.Random(seed + 77)
    by_lang: dict[str, list[int]] = {}
    for i, it in enumerate(source.items):
        by_lang.setdefault(it.lang, []).append(i)
    out: dict[str, float] = {}
    embs = {}
    for lang, rows in by_lang.items():
        pick = rng.sample(rows, min(per_lang, len(rows)))
        imgs = [source.load(i, sample_seed(seed, 9, i, 0)) for i in pick]
        z = model.encode_images(imgs)
        embs[lang] = (z, [source.items[i].semantic_id for i in pick])
    for lang, (z, y) in embs.items():
        for tl in embs:
            _, tid, mat = model.anchors.of(tl)
            keep = np.isin(np.asarray(tid), np.asarray(ids[tl]))  # gallery = the trained words
            pred = np.asarray(tid)[keep][np.argmax(z @ mat[keep].T, 1)]
            key = f"acc1_{lang}" if tl == lang else f"acc1_{lang}2{tl}"
            out[key] = round(float(np.mean(pred == np.asarray(y))), 4)
    return out


def _append_log(path: Path, row: dict) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()})


def _progress(enabled: bool, total: int, first: int, desc: str):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=first, desc=desc, unit="step", dynamic_ncols=True)


def _strip(cfg: dict) -> dict:
    """Config fields that may change between resumes without changing the run."""
    c = copy.deepcopy(cfg)
    for k in ("threads", "workers", "checkpoint_every_s", "log_every", "device", "budget"):
        c.pop(k, None)
    return c


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu ({name}, {os.cpu_count()} cores)"


__all__ = ["train", "load_config", "build_model", "lr_at", "quick_eval", "FnSource", "Item"]
