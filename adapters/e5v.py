"""E5-V (royokong/e5-v): LLaVA-NeXT-8B prompted to summarise its input in one word.

E5-V embeds any input as the last hidden state of the last prompt token after asking the model to
summarise it "in one word"; images and texts get the two prompts of the model card, wrapped in the
Llama-3 chat template. It runs on the native ``LlavaNextForConditionalGeneration`` (its language
model only: the LM head is not needed). Its processor uses the PIL image processor, so unlike
Qwen2-VL it needs no torchvision. Padding is on the right, so every row keeps positions
0..n-1 exactly as when encoded alone, and the last real token is found from the attention mask.
"""
from __future__ import annotations

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf_embed import LastTokenEmbedder, last_token_pool
from ._hf_load import load_processor, load_weights
from ._torch import to_device

LLAMA3_TEMPLATE = ("<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n \n")
IMAGE_PROMPT = LLAMA3_TEMPLATE.format("<image>\nSummary above image in one word: ")
TEXT_PROMPT = LLAMA3_TEMPLATE.format("<sent>\nSummary above sentence in one word: ")


def e5v_text_prompt(word: str) -> str:
    """The model card's sentence prompt with the gallery word in place of ``<sent>``."""
    return TEXT_PROMPT.replace("<sent>", word)


def e5v_image_prompt() -> str:
    return IMAGE_PROMPT


def configure_processor(processor, config) -> None:
    """Give the processor the image-token arithmetic of the model it serves.

    E5-V's hub processor predates ``patch_size`` and ``vision_feature_select_strategy`` in the
    processor config; from transformers 4.52 the processor expands ``<image>`` itself and needs both
    (without them it raises). They are facts of the model, so they come from its config: the vision
    tower's patch size, the feature strategy, and one extra (CLS) token for a CLIP vision tower.
    """
    vision = config.vision_config
    processor.patch_size = vision.patch_size
    processor.vision_feature_select_strategy = config.vision_feature_select_strategy
    processor.num_additional_image_tokens = 1 if vision.model_type == "clip_vision_model" else 0


@register
class E5VAdapter(LastTokenEmbedder):
    card = AdapterCard(
        name="e5-v",
        row_name="E5-V",
        family="embedding",
        source="Jiang et al. (2024)",
        citation="T. Jiang, M. Song, Z. Zhang, H. Huang, W. Deng, F. Sun, Q. Zhang, D. Wang, F. Zhuang, "
                 "E5-V: Universal Embeddings with Multimodal Large Language Models, arXiv:2407.12580 (2024)",
        model_id="royokong/e5-v",
        revision="0c1f22679417b3ae925d779442221c40cd1861ab",
        license="unknown (LLaVA-NeXT-Llama3 base; see the model card)",
        languages=("en",),
        extra=None,
        requires=("transformers>=4.52",),  # self.model.model (LlavaNextModel) exists from 4.52
        params_note="vision tower + projector + language model, without the unused LM head "
                    "(the paper's 8355M includes the head)",
        params_m=8355.28,
        native_class="LlavaNextForConditionalGeneration",
        gpu=1.0,
        memory_gb=18.0,
        homepage="https://huggingface.co/royokong/e5-v",
        notes="One-word summarising prompts of the model card (Llama-3 template); last-token pooling. "
              "The processor's patch_size / feature strategy are set from the model config (the hub "
              "processor lacks them); needs transformers >= 4.52 (LlavaNextModel as model.model).",
    )
    default_batch_size = 8

    def load(self) -> None:
        self.model = self.place(load_weights(self, "LlavaNextForConditionalGeneration"))
        self.processor = load_processor(self, "AutoProcessor")
        self.processor.tokenizer.padding_side = "right"
        configure_processor(self.processor, self.model.config)

    def image_prompt(self) -> str:
        return e5v_image_prompt()

    def text_prompt(self, word: str) -> str:
        return e5v_text_prompt(word)

    def _last_token(self, inputs: dict):
        inputs = to_device(inputs, self)
        out = self.model.model(**inputs)
        return last_token_pool(out.last_hidden_state, inputs["attention_mask"])

