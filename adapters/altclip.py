"""AltCLIP (BAAI): CLIP's ViT-L/14 image tower with an XLM-R text encoder, native ``AltCLIPModel``.

Bilingual (Chinese/English) by training, the XLM-R tokenizer covers Spanish too. Gallery words are
passed bare, as in the model card's examples; projected features compared by cosine.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf_embed import DualEncoderAdapter


@register
class AltCLIPAdapter(DualEncoderAdapter):
    card = AdapterCard(
        name="altclip",
        row_name="AltCLIP",
        family="embedding",
        source="Chen et al. (2023)",
        citation="Z. Chen, G. Liu, B.-W. Zhang, Q. Yang, L. Wu, AltCLIP: Altering the Language Encoder in "
                 "CLIP for Extended Language Capabilities, Findings of ACL 2023",
        model_id="BAAI/AltCLIP",
        revision=None,
        license="creativeml-openrail-m",
        languages=("zh", "en"),
        extra=None,
        params_note="both towers (CLIP ViT-L/14 + XLM-R text encoder + projections)",
        params_m=864.19,
        native_class="AltCLIPModel",
        gpu=0.25,
        memory_gb=4.0,
        homepage="https://huggingface.co/BAAI/AltCLIP",
        notes="Not pinned. Only the hub's safetensors-conversion ref refs/pr/7 (head 118841d, an unmerged bot "
              "PR adding model.safetensors on top of main's weights) holds loadable weights (the harness loads "
              "safetensors only; main holds only pytorch_model.bin), and its full commit hash was not found "
              "offline; a ref moves, so the adapter is refused until `hf download BAAI/AltCLIP --revision "
              "refs/pr/7` is passed as --model-path (its snapshots/<commit> folder) or that commit is pinned here.",
    )
    model_class = "AltCLIPModel"
    text_kwargs = {"padding": True, "truncation": True, "max_length": 77}
