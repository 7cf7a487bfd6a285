"""ABINet and PARSeq: the pretrained scene-text recognizers published with PARSeq's hub code (strhub).

strhub is not on PyPI; its models come through ``torch.hub`` from the ``baudm/parseq`` repository
(code, pinned to a commit) and its v1.0.0 release (checkpoints). Running hub code is running a
repository's own code, so these adapters need ``--trust-remote-code``. Offline they load from the
torch hub cache (the folder of the pinned commit only) or from ``--model-path NAME=DIR`` (a checkout
of that repository, optionally holding the checkpoint file; every file in it is hashed into the key).

Which code: the v1.0.0 tag (the initial commit) was written for torch 1.10, pytorch-lightning 1.4.9
and timm 0.4.12 (its setup.py), which do not import on torch 2; its encoder deletes timm's
``head_dist``/``dist_token`` and ABINet imports ``add_weight_decay``, both changed by timm 0.6.5.
So the code is pinned to ``HUB_COMMIT``, the repository's head when fetched (April 2024; its strhub
code is that of 056c792, "Fix training on PyTorch 2+"), whose own lock (requirements/core.txt)
is torch 2.2, pytorch-lightning 2.2.0.post0, timm 0.9.16 and nltk 3.8.1; the extra pins that set.
That code still loads the v1.0.0 release checkpoints (``strhub/models/utils.py``: ``_WEIGHTS_URL``),
into ``model.model`` for PARSeq (the model was split from its training module) and into the module
itself for ABINet, which is what ``load`` does with a checkpoint found on disk.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

from bench.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.availability import Availability, download_allowed
from bench.registry import register

from ._torch import count_parameters

HUB_REPO = "baudm/parseq"
HUB_COMMIT = "1902db043c029a7e03a3818c616c06600af574be"  # code (see the module docstring)
WEIGHTS_RELEASE = "v1.0.0"  # the release that published the checkpoints below


def hub_dir() -> Path:
    """torch.hub's cache folder without importing torch (TORCH_HOME, XDG_CACHE_HOME, ~/.cache)."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub"


def repo_dir() -> Path:
    """torch.hub's folder for the pinned commit (``owner_name_ref``). No other checkout counts: a
    ``main`` one is whatever main was when it was downloaded, and would be cached under this pin."""
    owner, name = HUB_REPO.split("/")
    return hub_dir() / f"{owner}_{name}_{HUB_COMMIT}"


class StrHubAdapter(TranscriberAdapter):
    """One strhub model; subclasses name the hub entry point and its checkpoint file."""

    entry: ClassVar[str]
    checkpoint: ClassVar[str]
    requires_modules = ("torch", "timm", "pytorch_lightning", "yaml", "nltk")  # all imported by the hub code
    default_batch_size = 64

    @classmethod
    def _code_dir(cls, options: AdapterOptions) -> Path | None:
        if options.model_path is not None:
            return Path(options.model_path) if (Path(options.model_path) / "hubconf.py").is_file() else None
        return repo_dir() if (repo_dir() / "hubconf.py").is_file() else None

    @classmethod
    def _checkpoint_file(cls, options: AdapterOptions) -> Path | None:
        places = ([Path(options.model_path)] if options.model_path is not None else []) + [hub_dir() / "checkpoints"]
        return next((p / cls.checkpoint for p in places if (p / cls.checkpoint).is_file()), None)

    @classmethod
    def check_weights(cls, options: AdapterOptions) -> Availability:
        if download_allowed(options) or (cls._code_dir(options) and cls._checkpoint_file(options)):
            return Availability(True)
        name = cls.card.name
        return Availability(False, f"strhub code and {cls.checkpoint} are not in the torch hub cache ({hub_dir()}); "
                                   f"fix: python -c \"import torch; torch.hub.load('{HUB_REPO}:{HUB_COMMIT}', "
                                   f"'{cls.entry}', pretrained=True, trust_repo=True)\", or pass --allow-download, "
                                   f"or --model-path {name}=DIR (a checkout of {HUB_REPO} holding {cls.checkpoint})")

    def load(self) -> None:
        import torch

        code = self._code_dir(self.options)
        ckpt = self._checkpoint_file(self.options)
        if code is None:  # only reached when downloads are allowed
            model = torch.hub.load(f"{HUB_REPO}:{HUB_COMMIT}", self.entry, pretrained=ckpt is None, trust_repo=True)
        else:
            model = torch.hub.load(str(code), self.entry, source="local", pretrained=ckpt is None)
        if ckpt is not None:  # where the pinned code's create_model(pretrained=True) puts the release weights
            target = model.model if self.entry == "parseq" else model
            target.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True))  # no arbitrary unpickling
        self._model = model.to(self.options.device).eval()
        self._size = tuple(self._model.hparams.img_size)  # (height, width), 32 x 128

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import numpy as np
        import torch
        from PIL import Image

        h, w = self._size
        arrays = [np.asarray(im.convert("RGB").resize((w, h), Image.BICUBIC), dtype=np.float32) / 255.0
                  for im in images]
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        x = ((x - 0.5) / 0.5).to(self.options.device)  # strhub's Normalize(0.5, 0.5)
        with torch.inference_mode():
            probs = self._model(x).softmax(-1)
        texts, _ = self._model.tokenizer.decode(probs)
        return [str(t) for t in texts]

    def num_parameters(self) -> int | None:
        model = getattr(self, "_model", None)
        return count_parameters(model)

    def close(self) -> None:
        self._model = None


_COMMON = dict(family="ocr", revision=HUB_COMMIT,
               license="Apache-2.0", languages=("en", "es"), extra="strhub", trust_remote_code=True,
               # the pinned commit's requirements/core.in (torch>=2, pytorch-lightning>=2, timm>=0.6.5,
               # nltk>=3.7), narrowed to the series of its lock file (pytorch-lightning 2.2.0.post0, timm 0.9.16)
               requires=("pytorch-lightning>=2.0,<2.3", "timm>=0.9,<0.10", "nltk>=3.7", "torch>=2.0"),
               gpu=0.1, memory_gb=1.0, homepage="https://github.com/baudm/parseq")
_NOTE = ("Pretrained on English scene text with the 94-character Latin charset: Chinese is outside its "
         f"charset (as in the paper's numbers). Code: {HUB_REPO}@{HUB_COMMIT[:7]} (torch 2 / timm 0.9 / "
         f"lightning 2.2); weights: the {WEIGHTS_RELEASE} release checkpoints. ")


@register
class PARSeqAdapter(StrHubAdapter):
    entry, checkpoint = "parseq", "parseq-bb5792a6.pt"
    card = AdapterCard(
        name="parseq", row_name="PARSeq", model_id=f"strhub:parseq@{WEIGHTS_RELEASE}", source="Bautista and Atienza (2022)",
        citation="D. Bautista and R. Atienza, Scene Text Recognition with Permuted Autoregressive Sequence "
                 "Models, ECCV 2022",
        params_m=6.02, notes=_NOTE + "Autoregressive decoding with one refinement iteration (hub default).",
        **_COMMON)


@register
class ABINetAdapter(StrHubAdapter):
    entry, checkpoint = "abinet", "abinet-1d1e373e.pt"
    card = AdapterCard(
        name="abinet", row_name="ABINet", model_id=f"strhub:abinet@{WEIGHTS_RELEASE}", source="Fang et al. (2021)",
        citation="S. Fang et al., Read Like Humans: Autonomous, Bidirectional and Iterative Language "
                 "Modeling for Scene Text Recognition, CVPR 2021",
        params_m=36.86, notes=_NOTE + "strhub's ABINet reimplementation, 3 refinement iterations.",
        **_COMMON)
