"""Training configuration as typed data (open_clip style): JSON in ``ours/configs/`` loads into the
dataclasses below, and a key no field names is an error that names the key and the file.

A config file (or dict) holds only what differs from the defaults; nested sections are merged key by
key onto them. Every merge, whether a config file onto the defaults, command-line options, or an
ablation variant's loss flags, goes through ``merge_config``.

Stored configs (a run folder's ``config.json``, a checkpoint's ``train_config.json``) load under the
same strict rules: this code writes exactly the fields below, so a stored config has no unknown key.
A field retired in future goes into ``RETIRED_KEYS`` (dotted path -> why): loading then drops that
key from old configs instead of refusing them, and refuses nothing else.
"""
from __future__ import annotations

import copy
import json
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Union, get_args, get_type_hints

from .distill import DistillConfig
from .errors import BenchError
from .losses import LossConfig
from .model import ImageTowerConfig
from .texttower import TextTowerConfig

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

RETIRED_KEYS: dict[str, str] = {}  # dotted key -> why it no longer changes a run (none yet)

# fields that may change between resumes without changing the run
RUN_LOCAL_KEYS = ("threads", "workers", "checkpoint_every_s", "log_every", "device", "budget")


@dataclass
class SourceConfig:
    """Where a stage's images come from: ``synth`` (rendered), ``manifest`` (a dataset folder) or
    ``auto`` (the manifest when one is given, else the pen writers of the train split)."""

    kind: str = "synth"
    split: str | None = None  # synth: writer split (None: train); manifest: its split column (None: all)
    manifest: str | None = None
    writer_kind: str | None = None  # synth: only these writers (None: all; auto: pen)
    augment: bool = True
    cases: bool = True
    # synth: words outside the lexicon rendered beside it ("builtin": bench/data/reading_words.csv, or a
    # CSV path with lang and word columns): each is its own group, aligned to its text embedding and
    # spelled by the CTC head, so the reader learns letters rather than 1,550 words
    extra_words: str | None = None
    # synth with extra_words: at most this many extra words per epoch, a new draw each epoch (None: all), so a longer
    # word list widens what is read without shrinking the lexicon's share of the batches
    extra_per_epoch: int | None = None
    # synth: share of Chinese pen renderings drawn as a running-script hand (strokes joined without
    # lifting the pen, short strokes shortened; bench/data/synth/pen.py run_together), 0 = never
    running: float = 0.0
    # synth: share of Chinese renderings, among words they can draw, by the training-only fonts of
    # bench/data/train_assets (Japanese handwriting, marker and brush hands; in no split), 0 = never
    train_fonts: float = 0.0
    # synth: real handwriting mixed into every batch (ours/real_data.py): a dataset folder (e.g. one made
    # by python -m bench.data.build.real; "$VAR/..." is expanded), its split to train on, and the real
    # images per batch for each language; the rest of the batch stays synthetic
    real: str | None = None
    real_split: str = "train"
    real_slots: dict[str, int] | None = None


@dataclass
class StageConfig:
    """One training stage: data, image count, AdamW rates and the warm-up/cosine schedule."""

    source: SourceConfig = field(default_factory=SourceConfig)
    images: int = 100000
    lr: float = 2e-3
    text_lr: float = 1e-4
    weight_decay: float = 0.05
    warmup: float = 0.05  # fraction of the stage's steps
    min_lr_ratio: float = 0.02


def _stage1() -> StageConfig:
    return StageConfig(SourceConfig("synth", "train"), 100000, 2e-3, 1e-4)


def _stage2() -> StageConfig:
    return StageConfig(SourceConfig("auto"), 20000, 2e-4, 1e-5)


@dataclass
class EvalConfig:
    """The quick end-of-stage evaluation (not the benchmark): ``per_lang`` images of ``split``'s writers."""

    split: str = "id"
    per_lang: int = 100  # 0: skip


@dataclass
class BudgetRecord:
    """What ``--budget-minutes`` resolved: the time asked for, the machine's probe, the rate assumed."""

    seconds: float
    probe: dict[str, Any]
    img_per_s_assumed: float


@dataclass
class TrainConfig:
    """A whole training run; ``to_dict`` is its JSON form (the run's config.json)."""

    name: str = "run"
    seed: int = 0
    init: str | None = None  # warm start: an inference checkpoint folder to start the image tower from
    threads: int | str = "auto"  # CPU: cores minus rendering workers
    device: str = "auto"
    bf16: bool = True
    workers: int | str = "auto"
    lexicon: str | None = None
    languages: list[str] | None = None
    concepts: str = "builtin"  # builtin: the built-in benchmark's concepts; all: whole lexicon
    max_concepts: int | None = None
    image: ImageTowerConfig = field(default_factory=ImageTowerConfig)
    text: TextTowerConfig = field(default_factory=TextTowerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    batch_size: int = 128
    instances: int = 3
    log_every: int = 10
    lexicon_refresh: int = 100  # steps between re-encodings of the lexicon bank (trainable text layers only)
    checkpoint_every_s: float = 300
    stage1: StageConfig = field(default_factory=_stage1)
    stage2: StageConfig = field(default_factory=_stage2)
    eval: EvalConfig = field(default_factory=EvalConfig)
    words: dict[str, list[str]] | None = None  # inline vocabulary (tests): replaces the lexicon
    ids: dict[str, list[int]] | None = None
    budget: BudgetRecord | None = None  # set by --budget-minutes
    distill: DistillConfig | None = None  # keep a frozen teacher's answers on the synthetic rows (ours/distill.py)

    def stage(self, n: int) -> StageConfig:
        return self.stage1 if n == 1 else self.stage2

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the optional ``words``, ``ids``, ``budget`` and ``distill`` appear only when set."""
        d = asdict(self)
        for key in ("words", "ids", "budget", "distill"):
            if d[key] is None:
                del d[key]
        return d


ConfigLike = Union[TrainConfig, Mapping[str, Any], str, Path]


@lru_cache(maxsize=None)
def _sections(cls: type) -> dict[str, type]:
    """Fields of ``cls`` whose values are themselves config sections (dataclasses)."""
    out = {}
    for name, hint in get_type_hints(cls).items():
        kinds = [a for a in get_args(hint) if a is not type(None)] or [hint]
        section = next((k for k in kinds if isinstance(k, type) and is_dataclass(k)), None)
        if section is not None:
            out[name] = section
    return out


def _checked(cls: type, data: Any, origin: str, path: str = "") -> dict[str, Any]:
    """``data`` with retired keys dropped; a key ``cls`` lacks raises BenchError naming it and ``origin``."""
    if not isinstance(data, Mapping):
        raise BenchError(f"{origin}: {path or 'the config'} must be a JSON object, not {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    out = {}
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else str(key)
        if dotted in RETIRED_KEYS:
            continue
        if key not in known:
            raise BenchError(f"{origin}: unknown key {dotted!r} (known{' in ' + path if path else ''}: "
                             f"{', '.join(sorted(known))})")
        sub = _sections(cls).get(key)
        optional = value is None and _defaults_to_none(cls, key)
        out[key] = _checked(sub, value, origin, dotted) if sub is not None and not optional else value
    return out


def _defaults_to_none(cls: type, key: str) -> bool:
    return next(f for f in fields(cls) if f.name == key).default is None


def _build(cls: type, data: Mapping[str, Any], origin: str, path: str = "") -> Any:
    subs = _sections(cls)
    kwargs = {k: _build(subs[k], v, origin, f"{path}.{k}" if path else k) if k in subs and v is not None
              else copy.deepcopy(v) for k, v in data.items()}
    missing = [f.name for f in fields(cls) if f.name not in kwargs
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise BenchError(f"{origin}: {path or 'the config'} lacks {', '.join(missing)}")
    return cls(**kwargs)


def _deep_merge(base: dict, over: Mapping) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def merge_config(base: TrainConfig, *overrides: Mapping[str, Any], origin: str = "config") -> TrainConfig:
    """``base`` with each override merged on, section by section (a dict merges into a section, any
    other value replaces it); a key no field names raises BenchError naming it and ``origin``."""
    merged = base.to_dict()
    for over in overrides:
        merged = _deep_merge(merged, _checked(TrainConfig, over, origin))
    return _build(TrainConfig, _checked(TrainConfig, merged, origin), origin)


def read_config(ref: ConfigLike) -> TrainConfig:
    """A TrainConfig from a dict, a JSON path, or the name of a bundled config (quick, default, ...)."""
    if isinstance(ref, TrainConfig):
        return ref
    if isinstance(ref, Mapping):
        return merge_config(TrainConfig(), ref)
    p = Path(ref)
    if not p.is_file():
        p = CONFIG_DIR / f"{ref}.json"
    if not p.is_file():
        names = ", ".join(sorted(x.stem for x in CONFIG_DIR.glob("*.json")))
        raise BenchError(f"no config {ref!r} (bundled: {names})")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchError(f"config {p} is not valid JSON: {exc}") from None
    return merge_config(TrainConfig(), data, origin=f"config {p}")


def load_config(ref: ConfigLike) -> dict[str, Any]:
    """The resolved config in its JSON form (a plain dict), checked as ``read_config`` checks it."""
    return read_config(ref).to_dict()


def same_form(given: ConfigLike, cfg: TrainConfig) -> TrainConfig | dict[str, Any]:
    """``cfg`` in the form callers passed: a TrainConfig for a TrainConfig, else the JSON form."""
    return cfg if isinstance(given, TrainConfig) else cfg.to_dict()


def run_identity(cfg: TrainConfig) -> dict[str, Any]:
    """The fields that make two configs the same run (``RUN_LOCAL_KEYS`` may differ on resume)."""
    d = cfg.to_dict()
    for key in RUN_LOCAL_KEYS:
        d.pop(key, None)
    return d


def with_images(cfg: TrainConfig, stage1: int, stage2: int) -> TrainConfig:
    """``cfg`` with both stages' image counts replaced."""
    return replace(cfg, stage1=replace(cfg.stage1, images=stage1), stage2=replace(cfg.stage2, images=stage2))
