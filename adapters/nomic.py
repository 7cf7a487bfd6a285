"""Nomic Embed Vision v1.5 with its text twin Nomic Embed Text v1.5 (remote code for the vision tower).

The vision encoder was trained (LiT-style, text tower locked) into the embedding space of
nomic-embed-text-v1.5, so images go through ``nomic-embed-vision-v1.5`` (CLS token of the last
hidden state) and words through ``nomic-embed-text-v1.5`` (mean pooling, layer norm, as its card
does). The text model needs a task prefix; its multimodal instructions say to embed texts with
``search_query: `` when they are compared with images, because that is the prefix the vision tower
was aligned to. We follow that for the gallery words; ``search_document: `` is kept for reference.
The vision tower has no native transformers class (``NomicVisionModel`` is remote code), so the
whole adapter needs ``--trust-remote-code``; both repositories are pinned.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.availability import Availability
from bench.registry import register

from ._hf_embed import HFEmbeddingAdapter, mean_pool
from ._hf_load import check_weights_with, load_processor, load_weights, model_source, record_snapshot
from ._torch import count_parameters, to_device

QUERY_PREFIX = "search_query: "
DOCUMENT_PREFIX = "search_document: "
TEXT_MODEL_ID = "nomic-ai/nomic-embed-text-v1.5"
TEXT_REVISION = "a03db6748c80237063eb0546ac6b627eca2318cb"
# Both towers' configs map AutoConfig/AutoModel to modules in another repository
# ("nomic-ai/nomic-bert-2048--modeling_hf_nomic_bert...."): transformers fetches that code at
# ``code_revision``, which would otherwise be that repository's moving main. Pinned to the snapshot
# 7710840 that a public project records loading these towers with (its config's CODE_REVISION).
CODE_MODEL_ID = "nomic-ai/nomic-bert-2048"
CODE_REVISION = "7710840340a098cfb869c4f65e87cf2b1b70caca"


def nomic_text_prompt(word: str, prefix: str = QUERY_PREFIX) -> str:
    """A gallery word with the task prefix nomic-embed-text-v1.5 requires."""
    return f"{prefix}{word}"


def nomic_text_pool(hidden, attention_mask):
    """The card's text pooling: masked mean, then layer norm over the features (no affine)."""
    import torch.nn.functional as F

    emb = mean_pool(hidden, attention_mask)
    return F.layer_norm(emb, normalized_shape=(emb.shape[1],))


@register
class NomicEmbedVisionAdapter(HFEmbeddingAdapter):
    card = AdapterCard(
        name="nomic-embed-vision-v15",
        row_name="Nomic-Embed-Vision",
        family="embedding",
        source="Nussbaum et al. (2024)",
        citation="Z. Nussbaum, B. Duderstadt, A. Mulyar, Nomic Embed Vision: Expanding the Latent Space, "
                 "arXiv:2406.18587 (2024)",
        model_id="nomic-ai/nomic-embed-vision-v1.5",
        revision="af2246fffdab78d8458418480e4886a8e48b70a7",
        license="apache-2.0 (text) / cc-by-nc-4.0 (vision card)",
        languages=("en",),
        extra="embed-remote",
        params_note="both towers: nomic-embed-vision-v1.5 (92.9M) + nomic-embed-text-v1.5 (136.7M)",
        params_m=229.68,
        trust_remote_code=True,
        native_class=None,
        gpu=0.25,
        memory_gb=2.0,
        homepage="https://huggingface.co/nomic-ai/nomic-embed-vision-v1.5",
        notes=f"Text tower {TEXT_MODEL_ID}@{TEXT_REVISION[:10]} with prefix 'search_query: '; image CLS "
              f"token. Remote code (NomicVisionModel) from {CODE_MODEL_ID}@{CODE_REVISION[:10]} (code_revision); "
              "--model-path DIR must hold vision/ and text/.",
    )
    requires_modules = ("einops",)  # imported by Nomic's remote modeling code
    hub_repos = {TEXT_MODEL_ID: TEXT_REVISION, CODE_MODEL_ID: CODE_REVISION}

    @classmethod
    def check_weights(cls, options) -> Availability:
        return check_weights_with(cls, options, {TEXT_MODEL_ID: TEXT_REVISION}, {CODE_MODEL_ID: CODE_REVISION})

    def load(self) -> None:
        vision = model_source(self, subfolder="vision")
        text = model_source(self, TEXT_MODEL_ID, TEXT_REVISION, subfolder="text")
        code = {"code_revision": CODE_REVISION}  # the auto_map's other repository, pinned
        record_snapshot(self, CODE_MODEL_ID, CODE_REVISION)
        self.vision = self.place(load_weights(self, "AutoModel", vision, **code))
        self.image_processor = load_processor(self, "AutoImageProcessor", vision)
        self.text = self.place(load_weights(self, "AutoModel", text, **code))
        self.tokenizer = load_processor(self, "AutoTokenizer", text)

    def embed_images(self, images: list):
        inputs = to_device(self.image_processor(images=images, return_tensors="pt"), self)
        return self.vision(**inputs).last_hidden_state[:, 0]

    def embed_texts(self, texts: list[str], lang: str):
        batch = self.tokenizer([nomic_text_prompt(t) for t in texts], padding=True, truncation=True,
                               return_tensors="pt")
        batch = to_device(batch, self)
        hidden = self.text(**batch).last_hidden_state
        return nomic_text_pool(hidden, batch["attention_mask"])

    def num_parameters(self) -> int | None:
        return count_parameters(self.vision) + count_parameters(self.text)

    def close(self) -> None:
        self.vision = self.text = self.image_processor = None
        super().close()
