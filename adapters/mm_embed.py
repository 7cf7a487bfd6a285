"""MM-Embed (nvidia/MM-Embed): LLaVA-NeXT vision + NV-Embed-v1 language model with latent-attention
pooling, through its own remote code (``NVMMEmbedModel``): there is no native class for the
latent-attention pooler, so the adapter needs ``--trust-remote-code`` and is pinned to a revision.

Prompts follow its ``encode`` API: queries are ``Instruct: {instruction}\\nQuery: `` + image,
candidates are the bare text. The word images are the queries; MM-Embed uses M-BEIR's task
instructions, and ours is image -> caption ("Find an image caption describing the following
everyday image.").

Environment: the remote code subclasses ``LlavaNextForConditionalGeneration`` and calls its legacy
``_merge_input_ids_with_image_features(image_features, feature_lens, ...)`` and
``pack_image_features``, which later transformers releases removed or changed; MTEB's wrapper for this
model requires ``transformers==4.43.4`` (citing NV-Embed-v1's discussion #50), so the card's range is
4.43.x and the ``mm-embed`` extra pins 4.43.4.

Second repository: ``NVMMEmbedModel.__init__`` builds its language model from
``AutoConfig.from_pretrained(config.retriever, trust_remote_code=True)``, i.e. NV-Embed-v1's config
and remote code at that repository's moving main. We pass ``retriever=<the NV-Embed-v1 snapshot at
RETRIEVER_REVISION>`` (a config override, as MTEB's wrapper does with its ``nvembed_path``), so both
are pinned; the weights themselves are all in MM-Embed's own safetensors.
"""
from __future__ import annotations

import dataclasses

from bench.adapter import AdapterCard
from bench.availability import Availability
from bench.registry import register

from ._hf_embed import HFEmbeddingAdapter
from bench.availability import check_hf_weights, download_allowed, hf_local_snapshot

from ._hf_load import check_weights_with, load_weights, record_snapshot
from ._torch import count_parameters

IMAGE_QUERY_INSTRUCTION = "Find an image caption describing the following everyday image."
RETRIEVER_ID = "nvidia/NV-Embed-v1"  # config.retriever: the text model MM-Embed builds on
# The NV-Embed-v1 snapshot a public project records loading (its HF-cache snapshots/<commit> path).
RETRIEVER_REVISION = "8259ef97d6e2ea4b70141d025b9903a217041f3d"
TRANSFORMERS_RANGE = "transformers>=4.43.4,<4.44"  # MTEB's require_version("transformers==4.43.4")


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
        requires=(TRANSFORMERS_RANGE,),
        params_note="all parameters of the loaded NVMMEmbedModel (vision tower, projector, NV-Embed LM, "
                    "latent-attention pooler)",
        params_m=8175.51,
        trust_remote_code=True,
        native_class=None,
        gpu=1.0,
        memory_gb=20.0,
        homepage="https://huggingface.co/nvidia/MM-Embed",
        notes="Remote code (NVMMEmbedModel, latent-attention pooling) calling LLaVA-NeXT's legacy "
              "_merge_input_ids_with_image_features: transformers 4.43.x (MTEB pins 4.43.4). Needs "
              f"{RETRIEVER_ID}@{RETRIEVER_REVISION[:10]} (config and code; passed as retriever=) in the cache too. "
              "Image queries with the M-BEIR image->caption instruction; words as candidates without instruction.",
    )
    requires_modules = ("einops",)
    hub_repos = {RETRIEVER_ID: RETRIEVER_REVISION}
    default_batch_size = 8
    max_length = 512

    @classmethod
    def check_weights(cls, options) -> Availability:
        return check_weights_with(cls, options, {}, {RETRIEVER_ID: RETRIEVER_REVISION})

    def retriever_dir(self) -> str:
        """NV-Embed-v1's config and code at the pinned commit, as a local folder."""
        snap = hf_local_snapshot(RETRIEVER_ID, RETRIEVER_REVISION)
        if snap is None and download_allowed(self.options):
            from huggingface_hub import snapshot_download

            snap = snapshot_download(RETRIEVER_ID, revision=RETRIEVER_REVISION, allow_patterns=["*.json", "*.py"])
        if snap is None:
            raise RuntimeError(check_hf_weights(self.card.name, RETRIEVER_ID, RETRIEVER_REVISION,
                                                dataclasses.replace(self.options, model_path=None)).reason)
        record_snapshot(self, RETRIEVER_ID, RETRIEVER_REVISION)
        return str(snap)

    def load(self) -> None:
        self.model = self.place(load_weights(self, "AutoModel", retriever=self.retriever_dir()))

    def embed_images(self, images: list):
        out = self.model.encode([mm_embed_query(im) for im in images], is_query=True,
                                instruction=IMAGE_QUERY_INSTRUCTION, max_length=self.max_length)
        return out["hidden_states"]

    def embed_texts(self, texts: list[str], lang: str):
        out = self.model.encode([mm_embed_candidate(t) for t in texts], max_length=self.max_length)
        return out["hidden_states"]

    def num_parameters(self) -> int | None:
        return count_parameters(self.model)
