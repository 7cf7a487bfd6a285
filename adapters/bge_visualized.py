"""BGE-Visualized (VISTA) on BGE-M3: EVA-CLIP image tokens fed into the BGE-M3 text encoder.

The model is the ``Visualized_BGE`` class of FlagEmbedding's ``visual_bge`` research package (EVA-CLIP
code, needs torchvision, timm, einops, ftfy), plus the ``Visualized_m3.pth`` weights and BGE-M3
itself. ``visual_bge`` is not published on PyPI (the ``FlagEmbedding`` wheel does not contain it), so
here the adapter reports exactly what to install. Images are embedded with an empty text prompt
(``encode_image``), words as plain text (``encode_text``), both CLS-pooled and normalized, as in the
VISTA README; BGE-M3 uses no instruction for candidates.
"""
from __future__ import annotations

from pathlib import Path

from bench.adapter import AdapterCard, AdapterOptions
from bench.availability import Availability, check_modules, download_allowed, hf_local_snapshot, is_commit, unpinned
from bench.registry import register

from ._hf_embed import HFEmbeddingAdapter
from ._hf_load import record_snapshot
from ._torch import count_parameters, to_device

WEIGHT_FILE = "Visualized_m3.pth"
TEXT_MODEL_ID = "BAAI/bge-m3"
# BGE-M3's snapshot, pinned (many public projects record this snapshots/<commit> in their HF cache);
# any cached revision would otherwise do, and its outputs would be cached under this adapter's key.
TEXT_REVISION = "5617a9f61b028005a4858fdac845db406aefb181"
INSTALL = ("the Visualized-BGE code is not on PyPI; fix: `git clone https://github.com/FlagOpen/FlagEmbedding "
           "&& pip install -e FlagEmbedding/research/visual_bge && pip install torchvision timm einops ftfy "
           "sentencepiece` (in an environment where torch and torchvision match)")


def weight_file(options: AdapterOptions, revision: str | None) -> Path | None:
    """``DIR/Visualized_m3.pth`` for --model-path DIR, else the file in the HF cache."""
    if options.model_path is not None:
        p = Path(options.model_path) / WEIGHT_FILE
        return p if p.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    if not is_commit(revision):
        return None
    hit = try_to_load_from_cache("BAAI/bge-visualized", WEIGHT_FILE, revision=revision)  # this commit only
    return Path(hit) if isinstance(hit, str) else None


def text_model_dir(options: AdapterOptions) -> Path | None:
    """``DIR/bge-m3`` for --model-path DIR, else BGE-M3's pinned snapshot in the HF cache."""
    if options.model_path is not None and (Path(options.model_path) / "bge-m3").is_dir():
        return Path(options.model_path) / "bge-m3"
    return hf_local_snapshot(TEXT_MODEL_ID, TEXT_REVISION)


@register
class BGEVisualizedAdapter(HFEmbeddingAdapter):
    card = AdapterCard(
        name="bge-visualized",
        row_name="BGE-Visualized",
        family="embedding",
        source="Zhou et al. (2024)",
        citation="J. Zhou, Z. Liu, S. Xiao, B. Zhao, Y. Xiong, VISTA: Visualized Text Embedding for "
                 "Universal Multi-Modal Retrieval, ACL 2024",
        model_id="BAAI/bge-visualized",
        revision="98db10b10d22620010d06f11733346e1c98c34aa",
        license="mit (BGE-M3); see the bge-visualized card",
        languages=("en", "zh", "es"),
        extra=None,
        params_note="EVA-CLIP-L vision tower + BGE-M3 encoder + visual projection",
        params_m=872.91,
        native_class=None,
        gpu=0.5,
        memory_gb=5.0,
        homepage="https://huggingface.co/BAAI/bge-visualized",
        notes="Weights Visualized_m3.pth + BAAI/bge-m3; code from FlagEmbedding/research/visual_bge (not on "
              "PyPI). --model-path DIR: DIR/Visualized_m3.pth and optionally DIR/bge-m3/.",
    )
    requires_modules = ("visual_bge", "torchvision", "timm", "einops", "ftfy", "sentencepiece")
    hub_repos = {TEXT_MODEL_ID: TEXT_REVISION}

    @classmethod
    def availability(cls, options: AdapterOptions | None = None) -> Availability:
        options = options or AdapterOptions()
        if not check_modules(("visual_bge",), None).ok:
            return Availability(False, f"missing Python package visual_bge: {INSTALL}")
        status = check_modules(cls.requires_modules, None)
        if not status.ok:
            return status
        for repo, rev in cls.hub_pins().items():
            if not is_commit(rev):
                return unpinned(repo, rev, cls.card.name)
        if download_allowed(options):
            return Availability(True)
        if weight_file(options, cls.card.revision) is None:
            return Availability(False, f"{WEIGHT_FILE} is not in the Hugging Face cache; fix: `hf download "
                                       f"BAAI/bge-visualized {WEIGHT_FILE} --revision {cls.card.revision}`, or "
                                       f"--model-path {cls.card.name}=DIR with DIR/{WEIGHT_FILE}")
        if text_model_dir(options) is None:
            return Availability(False, f"{TEXT_MODEL_ID} is not in the Hugging Face cache; fix: "
                                       f"`hf download {TEXT_MODEL_ID} --revision {TEXT_REVISION}`, or put it in "
                                       f"DIR/bge-m3 of --model-path")
        return Availability(True)

    def load(self) -> None:
        from visual_bge.modeling import Visualized_BGE

        weights, text_dir = weight_file(self.options, self.card.revision), text_model_dir(self.options)
        if (weights is None or text_dir is None) and download_allowed(self.options):
            from huggingface_hub import hf_hub_download, snapshot_download

            weights = weights or Path(hf_hub_download("BAAI/bge-visualized", WEIGHT_FILE, revision=self.card.revision))
            text_dir = text_dir or Path(snapshot_download(TEXT_MODEL_ID, revision=TEXT_REVISION))
        record_snapshot(self, self.card.model_id, self.card.revision)
        record_snapshot(self, TEXT_MODEL_ID, text_dir.name if self.options.model_path is None else str(text_dir))
        # Visualized_BGE picks the EVA tower from the name, which must contain "bge-m3".
        model = Visualized_BGE(model_name_bge=str(text_dir), model_weight=str(weights), from_pretrained=str(text_dir))
        self.model = self.place(model)
        self.model.device, self.model.dtype = self.device, self.dtype()  # read by its mask code

    def embed_images(self, images: list):
        import torch

        pixels = torch.stack([self.model.preprocess_val(im) for im in images]).to(self.device, self.dtype())
        return self.model.encode_image(pixels)

    def embed_texts(self, texts: list[str], lang: str):
        batch = self.model.tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True)
        return self.model.encode_text(to_device(batch, self))

    def num_parameters(self) -> int | None:
        return count_parameters(self.model)
