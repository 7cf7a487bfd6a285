"""MM-Embed (nvidia/MM-Embed): LLaVA-NeXT vision + NV-Embed-v1 language model with latent-attention
pooling, through its own remote code (``NVMMEmbedModel``): there is no native class for the
latent-attention pooler, so the adapter needs ``--trust-remote-code`` and is pinned to a revision.

Prompts follow its ``encode`` API: queries are ``Instruct: {instruction}\\nQuery: `` + image,
candidates are the bare text. The word images are the queries; MM-Embed uses M-BEIR's task
instructions, and ours is image -> caption ("Find an image caption describing the following
everyday image."). The remote code was written for transformers 4.42-4.43; on transformers 5 it
may fail to load, and the run then records the error for this adapter and goes on.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.availability import Availability
from bench.registry import register

from ._hf_embed import HFEmbeddingAdapter
from ._hf_load import REMOTE_CODE_TRANSFORMERS, check_weights_with, load_weights
from ._torch import count_parameters

IMAGE_QUERY_INSTRUCTION = "Find an image caption describing the following everyday image."
RETRIEVER_ID = "nvidia/NV-Embed-v1"  # config.retriever: the text model MM-Embed builds on


def mm_embed_query(image) -> dict:
    return {"img": image}


def mm_embed_candidate(word: str) -> dict:
    return {"txt": word}


@register
class MMEmbedAdapter(HFEmbeddingAdapter):
    card = AdapterCard(
        name="mm-embed",
        row_name="MM-EMBED",
        family="embedding",
        source="Lin et al. (2024)",
        citation="S.-C. Lin, C. Lee, M. Shoeybi, J. Lin, B. Catanzaro, W. Ping, MM-Embed: Universal "
                 "Multimodal Retrieval with Multimodal LLMs, arXiv:2411.02571 (2024)",
        model_id="nvidia/MM-Embed",
        revision="a2542c237b5b700ed01b829689756425441cef97",
        license="cc-by-nc-4.0",
        languages=("en",),
        extra="mm-embed",
        requires=(REMOTE_CODE_TRANSFORMERS,),
        params_note="all parameters of the loaded NVMMEmbedModel (vision tower, projector, NV-Embed LM, "
                    "latent-attention pooler)",
        params_m=8175.51,
        trust_remote_code=True,
        native_class=None,
        gpu=1.0,
        memory_gb=20.0,
        homepage="https://huggingface.co/nvidia/MM-Embed",
        notes="Remote code (NVMMEmbedModel, latent-attention pooling) written for transformers 4.42-4.43; "
              "needs nvidia/NV-Embed-v1 in the cache too. Image queries with the M-BEIR image->caption "
              "instruction; words as candidates without instruction.",
    )
    requires_modules = ("einops",)
    default_batch_size = 8
    max_length = 512

    @classmethod
    def check_weights(cls, options) -> Availability:
        return check_weights_with(cls, options, RETRIEVER_ID, None)

    def load(self) -> None:
        self.model = self.place(load_weights(self, "AutoModel"))

    def embed_images(self, images: list):
        out = self.model.encode([mm_embed_query(im) for im in images], is_query=True,
                                instruction=IMAGE_QUERY_INSTRUCTION, max_length=self.max_length)
        return out["hidden_states"]

    def embed_texts(self, texts: list[str], lang: str):
        out = self.model.encode([mm_embed_candidate(t) for t in texts], max_length=self.max_length)
        return out["hidden_states"]

    def num_parameters(self) -> int | None:
        return count_parameters(self.model)
