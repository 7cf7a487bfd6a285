"""Our dual encoder and its checkpoint format.

Inference needs only the image tower and the anchor table (every lexicon word encoded once by the
text tower after training), so a shipped checkpoint is ~5 MB of image weights plus anchors, and
the text tower's fine-tuned top layers for open-vocabulary queries (the base encoder is referenced
by name, never copied).

Checkpoint folder:
  model.safetensors  image.* (tower + projector), text.* (top layers + projector), temp.log_scale,
                     anchors (N x 128, float32), ctc.* (training only, optional)
  config.json        format, image/text configs, anchor words and semantic ids per language, charset,
                     training provenance
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .errors import BenchError
from .losses import Temperature
from .mobilenetv3 import FEATURE_CHANNELS, MobileNetV3Small, count_parameters  # noqa: F401 - re-exported
from .preprocess import HEIGHT, WIDTH, batch as preprocess_batch
from .texttower import TextTower, TextTowerConfig

FORMAT = "xsb-ours/1"


@dataclass
class ImageTowerConfig:
    dim: int = 128
    hidden: int = 512
    height: int = HEIGHT
    width: int = WIDTH


class ImageTower(nn.Module):
    """MobileNetV3-Small (1-channel stem) -> global average pool -> 576-512-128 MLP -> L2 normalize."""

    def __init__(self, cfg: ImageTowerConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ImageTowerConfig()
        self.backbone = MobileNetV3Small(in_channels=1)
        self.proj = nn.Sequential(nn.Linear(FEATURE_CHANNELS, self.cfg.hidden), nn.Hardswish(),
                                  nn.Linear(self.cfg.hidden, self.cfg.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.backbone(x).mean((2, 3))), dim=-1)

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedding plus the stride-16 feature map (for the CTC head)."""
        feat, mid = self.backbone.forward_with_mid(x)
        return F.normalize(self.proj(feat.mean((2, 3))), dim=-1), mid


class CTCHead(nn.Module):
    """Training-only character head: stride-16 map pooled over height -> per-column logits."""

    def __init__(self, n_chars: int, channels: int = MobileNetV3Small.MID_CHANNELS) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, n_chars + 1)  # 0 = blank

    def forward(self, mid: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (w, B, n_chars + 1) log-probabilities."""
        cols = mid.float().mean(2).permute(2, 0, 1)
        return F.log_softmax(self.fc(cols), dim=-1)


@dataclass
class AnchorTable:
    """Per language: lexicon words, their semantic ids, and rows of the (N, dim) anchor matrix."""

    words: dict[str, list[str]] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))

    def offsets(self) -> dict[str, tuple[int, int]]:
        out, start = {}, 0
        for lang, ws in self.words.items():
            out[lang] = (start, start + len(ws))
            start += len(ws)
        return out

    def of(self, lang: str) -> tuple[list[str], list[int], np.ndarray]:
        a, b = self.offsets()[lang]
        return self.words[lang], self.ids[lang], self.matrix[a:b]

    @property
    def languages(self) -> list[str]:
        return list(self.words)


class OursModel(nn.Module):
    """Image tower + optional text tower + temperature (+ CTC head while training) + anchor table."""

    def __init__(self, image_cfg: ImageTowerConfig | None = None, text_cfg: TextTowerConfig | None = None,
                 charset: str = "", text_tower: TextTower | None = None, tau: float = 0.07) -> None:
        super().__init__()
        self.image = ImageTower(image_cfg)
        self.text_cfg = text_cfg
        self.text: TextTower | None = text_tower
        self.temp = Temperature(tau)
        self.charset = charset
        self.ctc = CTCHead(len(charset)) if charset else None
        self.anchors = AnchorTable()
        self.meta: dict = {}

    # -- text tower (lazy: inference never needs it) ------------------------------------------
    def ensure_text_tower(self) -> TextTower:
        if self.text is None:
            if self.text_cfg is None:
                raise BenchError("this checkpoint has no text tower; only lexicon anchors are available")
            self.text = TextTower(self.text_cfg)
            pending = getattr(self, "_pending_text_state", None)
            if pending:
                self.text.load_trainable_state(pending)
            self.text.to(self.temp.log_scale.device)
        return self.text

    # -- inference API used by the harness adapter ---------------------------------------------
    @torch.inference_mode()
    def encode_images(self, images: Sequence, batch_size: int = 64) -> np.ndarray:
        """PIL images (any mode) -> (N, dim) float32, L2-normalized."""
        self.image.eval()
        dev = self.temp.log_scale.device
        out = []
        for i in range(0, len(images), batch_size):
            x = preprocess_batch(images[i:i + batch_size], self.image.cfg.height, self.image.cfg.width)
            x = x.to(dev).contiguous(memory_format=torch.channels_last)
            out.append(self.image(x).float().cpu())
        if not out:
            return np.zeros((0, self.image.cfg.dim), np.float32)
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Open-vocabulary text embeddings (loads the base encoder on first use)."""
        tower = self.ensure_text_tower()
        tower.eval()
        out = [tower(list(texts[i:i + batch_size])).float().cpu() for i in range(0, len(texts), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, tower.cfg.dim), np.float32)

    def anchor_lookup(self, texts: Sequence[str], lang: str) -> tuple[np.ndarray, np.ndarray]:
        """Anchor rows for texts of one language, and a bool mask of those found in the table."""
        words, _, mat = self.anchors.of(lang)
        index = {w: i for i, w in enumerate(words)}
        found = np.array([t in index for t in texts], dtype=bool)
        out = np.zeros((len(texts), mat.shape[1]), np.float32)
        for j, t in enumerate(texts):
            if t in index:
                out[j] = mat[index[t]]
        return out, found

    @torch.no_grad()
    def build_anchors(self, words: dict[str, list[str]], ids: dict[str, list[int]]) -> None:
        """Encode every lexicon word once with the text tower."""
        tower = self.ensure_text_tower()
        was = tower.training
        tower.eval()
        mats = [self.encode_texts(words[lang]) for lang in words]
        tower.train(was)
        self.anchors = AnchorTable({k: list(v) for k, v in words.items()}, {k: list(v) for k, v in ids.items()},
                                   np.concatenate(mats).astype(np.float32) if mats else np.zeros((0, 128), np.float32))

    # -- (de)serialization -----------------------------------------------------------------
    def tensors(self, include_ctc: bool = True) -> dict[str, torch.Tensor]:
        sd = {f"image.{k}": v for k, v in self.image.state_dict().items()}
        if self.text is not None:
            sd.update({f"text.{k}": v for k, v in self.text.trainable_state().items()})
        elif getattr(self, "_pending_text_state", None):
            sd.update({f"text.{k}": v for k, v in self._pending_text_state.items()})
        sd["temp.log_scale"] = self.temp.log_scale.data
        if include_ctc and self.ctc is not None:
            sd.update({f"ctc.{k}": v for k, v in self.ctc.state_dict().items()})
        sd["anchors"] = torch.from_numpy(np.ascontiguousarray(self.anchors.matrix, dtype=np.float32))
        return {k: v.detach().cpu().contiguous() for k, v in sd.items()}

    def config_dict(self) -> dict:
        return {
            "format": FORMAT,
            "image": asdict(self.image.cfg),
            "text": self.text_cfg.to_dict() if self.text_cfg else None,
            "charset": self.charset,
            "anchors": {"words": self.anchors.words, "ids": self.anchors.ids},
            "meta": self.meta,
        }

    def load_tensors(self, sd: dict[str, torch.Tensor], strict: bool = True) -> None:
        self.image.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith("image.")}, strict=strict)
        text_sd = {k[5:]: v for k, v in sd.items() if k.startswith("text.")}
        if text_sd:
            if self.text is not None:
                self.text.load_trainable_state(text_sd)
            else:
                self._pending_text_state = text_sd
        if "temp.log_scale" in sd:
            self.temp.log_scale.data.copy_(sd["temp.log_scale"])
        ctc_sd = {k[4:]: v for k, v in sd.items() if k.startswith("ctc.")}
        if self.ctc is not None and ctc_sd:
            self.ctc.load_state_dict(ctc_sd)
        if "anchors" in sd:
            self.anchors.matrix = sd["anchors"].float().numpy()


def save_checkpoint(model: OursModel, folder: str | Path, include_ctc: bool = False) -> Path:
    """Write model.safetensors + config.json atomically (a rename), so an interrupted save never corrupts."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "model.safetensors.tmp"
    save_file(model.tensors(include_ctc), str(tmp), metadata={"format": FORMAT})
    (folder / "config.json.tmp").write_text(json.dumps(model.config_dict(), ensure_ascii=False, indent=1),
                                            encoding="utf-8")
    tmp.replace(folder / "model.safetensors")
    (folder / "config.json.tmp").replace(folder / "config.json")
    return folder


def load_checkpoint(path: str | Path, device: str = "cpu", text_tower: bool = False) -> OursModel:
    """Load a checkpoint folder (or its model.safetensors). The text tower loads lazily unless asked."""
    from safetensors.torch import load_file

    path = Path(path)
    folder = path.parent if path.is_file() else path
    cfg_path, st_path = folder / "config.json", folder / "model.safetensors"
    if not cfg_path.is_file() or not st_path.is_file():
        raise BenchError(f"not an 'ours' checkpoint (need config.json and model.safetensors): {folder}")
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if cfg.get("format") != FORMAT:
        raise BenchError(f"{folder}: unknown checkpoint format {cfg.get('format')!r}")
    text_cfg = TextTowerConfig(**cfg["text"]) if cfg.get("text") else None
    sd = load_file(str(st_path))
    charset = cfg.get("charset", "") if any(k.startswith("ctc.") for k in sd) else ""
    model = OursModel(ImageTowerConfig(**cfg["image"]), text_cfg, charset=charset)
    model.load_tensors(sd)
    anchors = cfg.get("anchors") or {}
    model.anchors.words = anchors.get("words", {})
    model.anchors.ids = anchors.get("ids", {})
    model.meta = cfg.get("meta", {})
    model.to(device)
    model.image.to(memory_format=torch.channels_last)
    if text_tower:
        model.ensure_text_tower()
    return model.eval()


SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"


def shipped_checkpoint(name: str = "ours") -> Path:
    """Folder of a checkpoint shipped in the repo: ``ours`` (fine-tuned) or ``ours-no-ft`` (stage 1)."""
    path = SHIPPED_DIR / name
    if not (path / "model.safetensors").is_file():
        raise BenchError(f"no shipped checkpoint {name!r} in {SHIPPED_DIR}; train one with `ours train`")
    return path


