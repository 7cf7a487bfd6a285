"""The six general vision LLMs of Table 2, asked to transcribe each word image.

Four run on classes that transformers ships (Qwen3-VL, InternVL 3.5 -HF, Llama 3.2 Vision, Janus-Pro)
through ``ChatTranscriber``; Phi-3.5-Vision and MiniCPM-o 2.6 have no native class and run their
repositories' own code, pinned to a revision, only with ``--trust-remote-code``. Every model gets
the same per-language prompt and post-processor (``adapters._prompts``) and greedy decoding.
"""
from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import AdapterCard
from bench.registry import register

from ._hf import ChatTranscriber, HFTranscriber, generation_kwargs, load_model
from ._hf_load import load_processor
from ._torch import to_device

LANGS = ("en", "zh", "es")
PROMPT_NOTE = "Prompt per language and post-processing: adapters/_prompts.py; greedy decoding."
# InternVL's original chat() (modeling_internvl_chat.py) always opens with its conversation
# template's system message: template "internvl2_5" (internvl/conversation.py), unless the config
# names another. transformers' converted -HF chat template (convert_internvl_weights_to_hf.py) writes
# a system turn only when one is given, so the adapter gives this one.
INTERNVL_SYSTEM = ("你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
                   "多模态大语言模型。")


@register
class Qwen3VLAdapter(ChatTranscriber):
    card = AdapterCard(
        name="qwen3-vl-4b",
        row_name="QWen3-VL-4B",
        family="vllm",
        source="Bai et al. (2025)",
        citation="S. Bai et al., Qwen3-VL Technical Report, arXiv:2511.21631",
        model_id="Qwen/Qwen3-VL-4B-Instruct",
        revision="ebb281ec70b05090aa6165b016eac8ec08e71b17",
        license="Apache-2.0",
        languages=LANGS,
        extra="vllm-tv",
        requires=("transformers>=4.57",),  # Qwen3-VL's native class arrived in 4.57
        params_m=4437.82,
        native_class="Qwen3VLForConditionalGeneration",
        gpu=0.5,
        memory_gb=12.0,
        homepage="https://huggingface.co/Qwen/Qwen3-VL-4B-Instruct",
        notes=PROMPT_NOTE + " Its processor builds a video processor, which needs torchvision.",
    )
    requires_modules = ("torch", "transformers", "torchvision")
    model_class = "Qwen3VLForConditionalGeneration"


@register
class InternVL35Adapter(ChatTranscriber):
    card = AdapterCard(
        name="internvl35-8b",
        row_name="InternVL3.5-8B",
        family="vllm",
        source="Wang et al. (2025)",
        citation="W. Wang et al., InternVL3.5: Advancing Open-Source Multimodal Models in Versatility, "
                 "Reasoning, and Efficiency, arXiv:2508.18265",
        model_id="OpenGVLab/InternVL3_5-8B-HF",
        revision="741a7d03020411e666c6109218ab71e08151ef86",
        license="Apache-2.0",
        languages=LANGS,
        extra="vllm-tv",
        requires=("transformers>=4.52",),  # InternVL's native (-HF) class arrived in 4.52
        params_m=8528.32,
        native_class="InternVLForConditionalGeneration",
        gpu=1.0,
        memory_gb=20.0,
        homepage="https://huggingface.co/OpenGVLab/InternVL3_5-8B-HF",
        notes=PROMPT_NOTE + " The -HF conversion of OpenGVLab/InternVL3_5-8B (same weights, native class). "
              "Revision: the snapshot several public projects record in their HF cache (741a7d0). The "
              "original chat()'s system message (template internvl2_5) is sent as a system turn, which the "
              "-HF template omits otherwise. Its processor builds a video processor, which needs torchvision.",
    )
    requires_modules = ("torch", "transformers", "torchvision")
    model_class = "InternVLForConditionalGeneration"
    system_prompt = INTERNVL_SYSTEM


@register
class Llama32VisionAdapter(ChatTranscriber):
    card = AdapterCard(
        name="llama32-11b-vision",
        row_name="Llama-3.2-11B-Vision",
        family="vllm",
        source="AI (2024)",
        citation="Meta AI, Llama 3.2 11B Vision Instruct model card (2024)",
        model_id="meta-llama/Llama-3.2-11B-Vision-Instruct",
        revision="9eb2daaa8597bf192a8b0e73f848f3a102794df5",
        license="Llama 3.2 Community License (gated)",
        languages=LANGS,
        extra="vllm",
        requires=("transformers>=4.45",),  # Mllama's native class arrived in 4.45
        params_m=10670.22,
        native_class="MllamaForConditionalGeneration",
        gpu=1.0,
        memory_gb=24.0,
        homepage="https://huggingface.co/meta-llama/Llama-3.2-11B-Vision-Instruct",
        notes=PROMPT_NOTE + " Gated repository: accept the licence and `hf auth login` before "
              "downloading. Revision: the snapshot several public projects record in their HF cache (9eb2daa).",
    )
    model_class = "MllamaForConditionalGeneration"


@register
class JanusProAdapter(ChatTranscriber):
    card = AdapterCard(
        name="janus-pro-7b",
        row_name="Janus-Pro-7B",
        family="vllm",
        source="Chen et al. (2025)",
        citation="X. Chen et al., Janus-Pro: Unified Multimodal Understanding and Generation with Data and "
                 "Model Scaling, arXiv:2501.17811",
        model_id="deepseek-community/Janus-Pro-7B",
        revision=None,
        license="MIT (code), DeepSeek Model License (weights)",
        languages=LANGS,
        extra="vllm",
        requires=("transformers>=4.52",),  # Janus's native class arrived in 4.52
        params_m=7420.43,
        native_class="JanusForConditionalGeneration",
        gpu=1.0,
        memory_gb=18.0,
        homepage="https://huggingface.co/deepseek-community/Janus-Pro-7B",
        notes=PROMPT_NOTE + " The transformers conversion of deepseek-ai/Janus-Pro-7B; text generation "
              "mode, with the original VLChatProcessor's system prompt (use_default_system_prompt on). "
              "Not pinned: no commit hash of the converted repo was found offline, so it is refused "
              "(unavailable, with the fix) until a commit is pinned or --model-path names a snapshot folder.",
    )
    model_class = "JanusForConditionalGeneration"
    generate_extra = {"generation_mode": "text"}

    def load(self) -> None:
        """The original VLChatProcessor (janus/models/processing_vlm.py) always prefixes its
        ``system_prompt`` and "\n\n"; JanusProcessor adds that same text in text mode only when
        ``use_default_system_prompt`` is set, which the adapter sets rather than trust the hub config."""
        super().load()
        self._processor.use_default_system_prompt = True


# -- remote code ------------------------------------------------------------------------------------
@register
class Phi35VisionAdapter(HFTranscriber):
    card = AdapterCard(
        name="phi35-vision",
        row_name="Phi-3.5-Vision",
        family="vllm",
        source="Abdin et al. (2024)",
        citation="M. Abdin et al., Phi-3 Technical Report: A Highly Capable Language Model Locally on Your "
                 "Phone, arXiv:2404.14219",
        model_id="microsoft/Phi-3.5-vision-instruct",
        revision="c69b58c1be8dfda05972fdf495be3511e3b0f61f",
        license="MIT",
        languages=LANGS,
        extra="phi35-vision",
        requires=("transformers>=4.43.0,<4.44",),  # the card's requirements: transformers==4.43.0
        params_m=4146.62,
        trust_remote_code=True,
        gpu=0.5,
        memory_gb=12.0,
        homepage="https://huggingface.co/microsoft/Phi-3.5-vision-instruct",
        notes=PROMPT_NOTE + " No native transformers class (phi3_v): runs the repository's code with "
              "--trust-remote-code, eager attention, num_crops=16 (the model card's value for single "
              "images), one image per call (its processor takes one prompt). The card names transformers "
              "4.43.0 (the extra pins it); not exercised offline.",
    )
    requires_modules = ("torch", "transformers", "torchvision")
    default_batch_size = 1

    num_crops = 16  # the model card: 16 for single-frame images, 4 for multi-frame

    def load(self) -> None:
        self._processor = load_processor(self, "AutoProcessor", num_crops=self.num_crops)
        self._model = load_model(self, "AutoModelForCausalLM", _attn_implementation="eager")

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import torch

        from ._prompts import MAX_NEW_TOKENS, clean_transcription, prompt_for

        tok = self._processor.tokenizer
        chat = [{"role": "user", "content": "<|image_1|>\n" + prompt_for(lang)}]
        prompt = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        out = []
        for im in images:
            inputs = to_device(self._processor(prompt, [im.convert("RGB")], return_tensors="pt"), self)
            with torch.inference_mode():
                ids = self._model.generate(**inputs, eos_token_id=tok.eos_token_id,
                                           **generation_kwargs(MAX_NEW_TOKENS, tok.pad_token_id))
            new = ids[:, inputs["input_ids"].shape[1]:]
            out.append(clean_transcription(tok.batch_decode(new, skip_special_tokens=True)[0], lang))
        return out


@register
class MiniCPMo26Adapter(HFTranscriber):
    card = AdapterCard(
        name="minicpm-o-26",
        row_name="MiniCPM-o 2.6",
        family="vllm",
        source="Yao et al. (2024)",
        citation="Y. Yao et al., MiniCPM-V: A GPT-4V Level MLLM on Your Phone, arXiv:2408.01800",
        model_id="openbmb/MiniCPM-o-2_6",
        revision="4923b93e298e9e97cca8b971b8696d1f6ea51531",
        license="Apache-2.0 (code), MiniCPM Model License (weights)",
        languages=LANGS,
        extra="minicpm",
        requires=("transformers>=4.44.2,<4.45",),  # the card / requirements_o2.6.txt: transformers==4.44.2
        params_m=8099.42,
        trust_remote_code=True,
        gpu=1.0,
        memory_gb=20.0,
        homepage="https://huggingface.co/openbmb/MiniCPM-o-2_6",
        notes=PROMPT_NOTE + " No native transformers class (minicpmo): runs the repository's code with "
              "--trust-remote-code, vision only (init_audio/init_tts off), model.chat(sampling=False) one "
              "image per call. The pinned commit is the earliest full hash found offline (Jan 2025); "
              "its card and requirements name transformers 4.44.2 (the extra pins it); not exercised offline.",
    )
    requires_modules = ("torch", "transformers", "torchvision", "librosa", "soundfile", "vector_quantize_pytorch",
                        "vocos")
    default_batch_size = 1

    def load(self) -> None:
        self._processor = load_processor(self, "AutoTokenizer")
        self._model = load_model(self, "AutoModel", attn_implementation="sdpa", init_vision=True,
                                 init_audio=False, init_tts=False)

    def transcribe(self, images: Sequence[Any], lang: str) -> list[str]:
        import torch

        from ._prompts import MAX_NEW_TOKENS, clean_transcription, prompt_for

        out = []
        for im in images:
            msgs = [{"role": "user", "content": [im.convert("RGB"), prompt_for(lang)]}]
            with torch.inference_mode():
                # sampling=False alone means 3 beams and a repetition penalty in its code: force greedy
                text = self._model.chat(msgs=msgs, tokenizer=self._processor, sampling=False, num_beams=1,
                                        repetition_penalty=1.0, max_new_tokens=MAX_NEW_TOKENS)
            out.append(clean_transcription(text if isinstance(text, str) else str(text), lang))
        return out
