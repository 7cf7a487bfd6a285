"""SigLIP 2 ViT-B, Large, So400m and Giant (Google), the 256-px patch-16 checkpoints.

Which checkpoints: the paper's parameter counts (375.23M, 881.53M, 1135.67M, 1871.39M) match the
``*-patch16-256`` checkpoints exactly (both towers), not the 224/384/512-px ones. They load as the
native ``SiglipModel`` (their config says ``model_type: siglip``); the NaFlex checkpoints load as
``Siglip2Model`` through the same code (``AutoModel``) when given with ``--model-path``.

Scoring: SigLIP is trained with a sigmoid over ``t * cos(img, txt) + b`` with a learned scale
``t > 0`` and bias ``b``. For one query image both are constants, and the sigmoid is strictly
increasing, so ranking the gallery by cosine gives exactly the ranking by SigLIP's probabilities.
Texts are padded to 64 tokens (``padding="max_length"``), as the model card requires: the model
was trained that way and shorter padding changes the text embedding. Gallery words are bare and
lowercased: SigLIP 2 was trained on lowercased text (its model card asks for the same preprocessing),
so "Paris" and "paris" must reach the text tower alike.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf_embed import DualEncoderAdapter

CITATION = ("M. Tschannen et al., SigLIP 2: Multilingual Vision-Language Encoders with Improved Semantic "
            "Understanding, Localization, and Dense Features, arXiv:2502.14786 (2025)")


def _card(name: str, row: str, size: str, revision: str, params_m: float, memory_gb: float) -> AdapterCard:
    model_id = f"google/siglip2-{size}-patch16-256"
    return AdapterCard(
        name=name, row_name=row, family="embedding", source="Tschannen et al. (2025)", citation=CITATION,
        model_id=model_id, revision=revision, license="apache-2.0", languages=("en", "zh", "es"),
        extra=None, requires=("transformers>=4.49",),  # SigLIP 2's Gemma tokenizer setup: 4.49
        params_note="both towers (vision + Gemma-tokenizer text encoder + heads)",
        params_m=params_m, native_class="SiglipModel", gpu=0.25, memory_gb=memory_gb,
        homepage=f"https://huggingface.co/{model_id}",
        notes="Sigmoid scores are monotone in cosine for fixed scale and bias: cosine ranking is "
              "identical. Texts lowercased and padded to max_length 64 as trained.")


class _SigLIP2(DualEncoderAdapter):
    model_class = "AutoModel"  # SiglipModel for the fixed-resolution checkpoints, Siglip2Model for NaFlex
    text_kwargs = {"padding": "max_length", "max_length": 64, "truncation": True}

    def text_prompt(self, word: str, lang: str) -> str:
        """Lowercased, as SigLIP 2's training text was (``str.lower``: accents and ß kept)."""
        return word.lower()


@register
class SigLIP2Base(_SigLIP2):
    card = _card("siglip2-base", "SigLIP 2 ViT-B", "base", "3f9f96cb90da5dbc758b01813f2f6f1aee24c1ab", 375.23, 2.0)


@register
class SigLIP2Large(_SigLIP2):
    card = _card("siglip2-large", "SigLIP 2 Large", "large", "787800c8990e6f058423089178e718139608408c",
                 881.53, 4.0)


@register
class SigLIP2So400m(_SigLIP2):
    card = _card("siglip2-so400m", "SigLIP 2 So400m", "so400m", "e8708ab72d125807e45b36fb7d4e0aacbb59f379",
                 1135.67, 5.0)


@register
class SigLIP2Giant(_SigLIP2):
    card = _card("siglip2-giant", "SigLIP 2 Giant", "giant-opt", "46d7129e1aa1527cc5a44d86fb35250df3abf0aa",
                 1871.39, 8.0)
