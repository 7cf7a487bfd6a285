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


def _card(name: str, row: str, model_id: str, revision: str | None, params_m: float, memory_gb: float,
          vision: str, where: str) -> AdapterCard:
    return AdapterCard(
        name=name, row_name=row, family="embedding", source="Yang et al. (2022)", citation=CITATION,
        model_id=model_id, revision=revision, license="apache-2.0", languages=("zh", "en"),
        extra=None, params_note="both towers (vision + RoBERTa text encoder + projections)",
        params_m=params_m, native_class="ChineseCLIPModel", gpu=0.25, memory_gb=memory_gb,
        homepage=f"https://huggingface.co/{model_id}",
        notes=f"{vision} image tower; bare gallery words as text; projected features, cosine. "
              f"Revision: {where} The harness loads safetensors only, and the original Dec 2022 commits "
              "hold only pytorch_model.bin.")


class _ChineseCLIP(DualEncoderAdapter):
    model_class = "ChineseCLIPModel"
    text_kwargs = {"padding": True, "truncation": True, "max_length": 52}  # the model's context length


@register
class ChineseCLIPBase(_ChineseCLIP):
    card = _card("chinese-clip-vit-b16", "Chinese CLIP ViT Base", "OFA-Sys/chinese-clip-vit-base-patch16",
                 "f2a455dcf33a4efd2db7c1e02f7f431a70a4b0cd", 188.26, 2.0, "ViT-B/16",
                 "f2a455d on main, the commit that added model.safetensors (converted from pytorch_model.bin) "
                 "and a full tokenizer.")


@register
class ChineseCLIPLarge(_ChineseCLIP):
    card = _card("chinese-clip-vit-l14", "Chinese CLIP ViT Large", "OFA-Sys/chinese-clip-vit-large-patch14",
                 "cc2eeb803885adc11690654a6e55fde2feeb7420", 406.23, 3.0, "ViT-L/14 (224 px)",
                 "cc2eeb8, the head of the hub's safetensors-conversion ref refs/pr/2 (an unmerged bot PR "
                 "that adds model.safetensors on top of the Dec 2022 weights); main has none.")


@register
class ChineseCLIPHuge(_ChineseCLIP):
    card = _card("chinese-clip-vit-h14", "Chinese CLIP ViT Huge", "OFA-Sys/chinese-clip-vit-huge-patch14",
                 None, 957.60, 5.0, "ViT-H/14",
                 "not pinned. Only the hub's safetensors-conversion ref refs/pr/1 (head 83a96f8, an unmerged "
                 "bot PR adding model.safetensors on top of the Dec 2022 weights) holds loadable weights, and "
                 "its full commit hash was not found offline; a ref moves, so the adapter is refused until "
                 "`hf download OFA-Sys/chinese-clip-vit-huge-patch14 --revision refs/pr/1` is passed as "
                 "--model-path (its snapshots/<commit> folder) or that commit is pinned here; main has none.")
