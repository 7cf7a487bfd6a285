"""GME-Qwen2VL 2B and 7B (Alibaba-NLP): universal multimodal embeddings from Qwen2-VL.

GME's own inference code (``gme_inference.py``, remote) wraps the native Qwen2-VL model; we
reproduce it on the native ``Qwen2VLForConditionalGeneration`` instead of running remote code:
every input is one chat turn ``<|im_start|>system\\n{instruction}<|im_end|>\\n<|im_start|>user\\n
{image and/or text}<|im_end|>\\n<|im_start|>assistant\\n<|endoftext|>``, padded on the right, and
the embedding is the last hidden state of the last real token (``<|endoftext|>``), L2-normalized.

Images: GME's ``embed`` first passes every image through its ``fetch_image``, which rounds each side
to a multiple of 28 (``smart_resize`` with 4..16384 tokens' worth of pixels and at most 200:1) and
resizes the image to that (PIL's default filter); only then does the processor scale it into its
own budget of 256-1280 visual tokens. The two roundings compound: a 160x87 word becomes 168x84 and
then 644x336 px, where the processor alone would make 616x336 (``gme_fetch_image`` reproduces the
first step). GME loads its weights in float16, so that is the dtype on GPU unless ``--dtype`` says
otherwise (CPU stays float32).

Positions: GME's forward embeds the tokens, writes the vision tower's features over the image
placeholders of ``inputs_embeds``, and calls the language model with no position ids, so every token
(image ones included) gets the sequential position 0..n-1 in all three rotary sections. Calling the
multimodal model instead would give image tokens Qwen2-VL's 3-D (t, h, w) positions, which is how
Qwen2-VL generates but not how GME embeds; we follow GME.

Prompts: the word images are the queries, so they carry a task instruction; GME (like UniIR)
uses the M-BEIR instruction of each task, and ours is image -> caption, whose instruction is
"Find an image caption describing the following everyday image." The gallery words are the
candidates and get GME's default system prompt "You are a helpful assistant.", as GME does for
every candidate. Qwen2-VL's processor needs torchvision in transformers 5 (its video processor).
"""
from __future__ import annotations

import dataclasses
import math

from bench.adapter import AdapterCard, AdapterOptions
from bench.registry import register

from ._hf_embed import LastTokenEmbedder, last_token_pool
from ._hf_load import load_processor, load_weights
from ._torch import to_device

DEFAULT_INSTRUCTION = "You are a helpful assistant."
IMAGE_QUERY_INSTRUCTION = "Find an image caption describing the following everyday image."
IMAGE_BODY = "<|vision_start|><|image_pad|><|vision_end|>"
MIN_IMAGE_TOKENS, MAX_IMAGE_TOKENS = 256, 1280  # gme_inference.py defaults; one token = 28x28 px
# fetch_image's own bounds (gme_inference.py): side multiple, pixel range, aspect cap.
FETCH_FACTOR, FETCH_MIN_PIXELS, FETCH_MAX_PIXELS, FETCH_MAX_RATIO = 28, 4 * 28 * 28, 16384 * 28 * 28, 200
GPU_DTYPE = "float16"  # GmeQwen2VL loads with torch_dtype=torch.float16


def gme_smart_resize(height: int, width: int) -> tuple[int, int]:
    """(height, width) of ``fetch_image``: each side rounded to a multiple of 28, scaled (down with
    floor, up with ceil) into the pixel range, the longer side capped at 200x the shorter."""
    f = FETCH_FACTOR
    h, w = max(f, round(height / f) * f), max(f, round(width / f) * f)
    if h * w > FETCH_MAX_PIXELS:
        scale = math.sqrt(height * width / FETCH_MAX_PIXELS)
        h, w = math.floor(height / scale / f) * f, math.floor(width / scale / f) * f
    elif h * w < FETCH_MIN_PIXELS:
        scale = math.sqrt(FETCH_MIN_PIXELS / (height * width))
        h, w = math.ceil(height * scale / f) * f, math.ceil(width * scale / f) * f
    if max(h, w) / min(h, w) > FETCH_MAX_RATIO:
        h, w = (w * FETCH_MAX_RATIO, w) if h > w else (h, h * FETCH_MAX_RATIO)
    return h, w


def gme_fetch_image(image):
    """An RGB PIL image as GME's ``fetch_image`` hands it to the processor."""
    image = image.convert("RGB")
    h, w = gme_smart_resize(image.height, image.width)
    return image.resize((w, h))  # PIL's default filter, as fetch_image calls it


def gme_prompt(body: str, instruction: str | None = None) -> str:
    """One GME input: the chat turn with its (task or default) system instruction."""
    instruction = instruction or DEFAULT_INSTRUCTION
    if not instruction.endswith("."):
        instruction += "."
    return (f"<|im_start|>system\n{instruction}<|im_end|>\n<|im_start|>user\n{body}<|im_end|>\n"
            "<|im_start|>assistant\n<|endoftext|>")


def gme_image_prompt() -> str:
    return gme_prompt(IMAGE_BODY, IMAGE_QUERY_INSTRUCTION)


def gme_text_prompt(word: str) -> str:
    return gme_prompt(word)


def _card(name: str, row: str, size: str, revision: str, params_m: float, memory_gb: float) -> AdapterCard:
    model_id = f"Alibaba-NLP/gme-Qwen2-VL-{size}-Instruct"
    return AdapterCard(
        name=name, row_name=row, family="embedding", source="Zhang et al. (2025)",
        citation="X. Zhang, Y. Zhang, W. Xie, M. Li, Z. Dai, D. Long, P. Xie, M. Zhang, W. Li, M. Zhang, "
                 "Bridging Modalities: Improving Universal Multimodal Retrieval by Multimodal Large Language "
                 "Models, CVPR 2025 (GME)",
        model_id=model_id, revision=revision, license="apache-2.0", languages=("en", "zh"),
        extra="vllm-tv", requires=("transformers>=4.52",), params_note="vision tower + language model, without the LM head (as the paper counts)",
        params_m=params_m, native_class="Qwen2VLForConditionalGeneration", gpu=1.0, memory_gb=memory_gb,
        homepage=f"https://huggingface.co/{model_id}",
        notes="GME's forward reproduced on the native class: image features merged into inputs_embeds, "
              "language model with sequential positions, last token (right padding); images: fetch_image's "
              "28-px smart_resize, then the processor's 256-1280 token budget, M-BEIR image->caption "
              "instruction; words: default system prompt; float16 on GPU (the authors' dtype). "
              "Needs torchvision (Qwen2-VL processor).")


class _GME(LastTokenEmbedder):
    default_batch_size = 8
    requires_modules = ("torchvision",)  # Qwen2-VL's processor builds a video processor that imports it

    def __init__(self, options: AdapterOptions | None = None) -> None:
        super().__init__(options)
        if self.options.dtype is None and str(self.options.device).startswith("cuda"):
            self.options = dataclasses.replace(self.options, dtype=GPU_DTYPE)  # the authors' dtype, recorded

    def embed_images(self, images: list):
        return super().embed_images([gme_fetch_image(im) for im in images])

    def load(self) -> None:
        import transformers

        self.model = self.place(load_weights(self, "Qwen2VLForConditionalGeneration"))
        self.processor = load_processor(self, "AutoProcessor")
        self.processor.tokenizer.padding_side = "right"
        ip = self.processor.image_processor
        lo, hi = MIN_IMAGE_TOKENS * 28 * 28, MAX_IMAGE_TOKENS * 28 * 28
        ip.size = {"shortest_edge": lo, "longest_edge": hi}
        from packaging.version import Version

        if Version(transformers.__version__) < Version("5"):
            ip.min_pixels, ip.max_pixels = lo, hi  # what transformers 4 reads

    def _last_token(self, inputs: dict):
        import torch

        inputs = to_device(inputs, self)
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        mm = self.model.model  # Qwen2VLModel: .visual + .language_model (transformers >= 4.52)
        embeds = mm.get_input_embeddings()(ids)
        if inputs.get("pixel_values") is not None:
            feats = mm.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"])
            feats = getattr(feats, "pooler_output", feats)  # merged patch features, split per image
            feats = torch.cat(list(feats)) if isinstance(feats, (list, tuple)) else feats
            slots = (ids == self.model.config.image_token_id).unsqueeze(-1).expand_as(embeds)
            embeds = embeds.masked_scatter(slots, feats.to(embeds.dtype))
        out = mm.language_model(inputs_embeds=embeds, attention_mask=mask)  # positions 0..n-1, as GME's code
        return last_token_pool(out.last_hidden_state, mask)

    def image_prompt(self) -> str:
        return gme_image_prompt()

    def text_prompt(self, word: str) -> str:
        return gme_text_prompt(word)


@register
class GME2B(_GME):
    card = _card("gme-qwen2vl-2b", "GME-Qwen2VL-2B", "2B", "ce765ae71b8cdb208203cd8fb64a170b1b84293a", 2208.99, 9.0)


@register
class GME7B(_GME):
    card = _card("gme-qwen2vl-7b", "GME-Qwen2VL-7B", "7B", "477027a6480f8630363be77751f169cc3434b673", 7746.38, 20.0)
