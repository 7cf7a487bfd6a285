"""Chinese CLIP ViT-B/16, ViT-L/14 and ViT-H/14 (OFA-Sys) on the native ``ChineseCLIPModel``.

Image and text go through the projected CLIP features and are compared by cosine, as the model was
trained. Gallery words are passed as they are (no prompt template): the model card's examples
encode bare words and short phrases, and a handwritten word has no caption to wrap it in.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf_embed import DualEncoderAdapter

CITATION = ("A. Yang, J. Pan, J. Lin, R. Men, Y. Zhang, J. Zhou, C. Zhou, Chinese CLIP: Contrastive "
            "Vision-Language Pretraining in Chinese, arXiv:2211.01335 (2022)")


def _card(name: str, row: str, model_id: str, revision: str, params_m: float, memory_gb: float,
          vision: str) -> AdapterCard:
    return AdapterCard(
        name=name, row_name=row, family="embedding", source="Yang et al. (2022)", citation=CITATION,
        model_id=model_id, revision=revision, license="apache-2.0", languages=("zh", "en"),
        extra=None, params_note="both towers (vision + RoBERTa text encoder + projections)",
        params_m=params_m, native_class="ChineseCLIPModel", gpu=0.25, memory_gb=memory_gb,
        homepage=f"https://huggingface.co/{model_id}",
        notes=f"{vision} image tower; bare gallery words as text; projected features, cosine. "
              "Revision: last model-card commit on the hub (Dec 2022); the weights predate it.")


class _ChineseCLIP(DualEncoderAdapter):
    model_class = "ChineseCLIPModel"
    text_kwargs = {"padding": True, "truncation": True, "max_length": 52}  # the model's context length


@register
class ChineseCLIPBase(_ChineseCLIP):
    card = _card("chinese-clip-vit-b16", "Chinese CLIP ViT Base", "OFA-Sys/chinese-clip-vit-base-patch16",
                 "36e679e65c2a2fead755ae21162091293ad37834", 188.26, 2.0, "ViT-B/16")


@register
class ChineseCLIPLarge(_ChineseCLIP):
    card = _card("chinese-clip-vit-l14", "Chinese CLIP ViT Large", "OFA-Sys/chinese-clip-vit-large-patch14",
                 "660941af70c6ff89ce658a1735404c0f3e536c38", 406.23, 3.0, "ViT-L/14 (224 px)")


@register
class ChineseCLIPHuge(_ChineseCLIP):
    card = _card("chinese-clip-vit-h14", "Chinese CLIP ViT Huge", "OFA-Sys/chinese-clip-vit-huge-patch14",
                 "503e16b560aff94c1922f13a86a7693d36957a4f", 957.60, 5.0, "ViT-H/14")
