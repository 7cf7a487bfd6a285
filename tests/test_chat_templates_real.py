"""The real chat templates of the chat VLLMs (issue 27), kept as fixtures in ``chat_templates/``
(where from: ``chat_templates/SOURCES.md``): with a model's own template in its snapshot, the adapter
must send that model's own prompt, not one a synthetic test template happens to accept."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.adapter import AdapterOptions
from tests import tiny_hf

TEMPLATES = Path(__file__).parent / "chat_templates"

# The real templates of the chat VLLMs whose processors the adapters use as the hub ships them
# (fixtures, where from: chat_templates/SOURCES.md) -> the prompt each model's own format gives one
# image turn with no system turn: Meta's Llama 3.2 Vision format (no system header when an image is
# sent and no system message is given) and Qwen3-VL's ChatML (Qwen3-VL-Instruct has no default system).
REAL_TEMPLATES = {
    "llama32-11b-vision": (tiny_hf.make_mllama, "llama32_vision.jinja",
                           "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
                           "<|image|>{q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
    "qwen3-vl-4b": (tiny_hf.make_qwen3vl, "qwen3_vl.jinja",
                    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{q}<|im_end|>\n"
                    "<|im_start|>assistant\n"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REAL_TEMPLATES))
def test_real_chat_template_gives_the_models_own_prompt(name, tmp_path):
    """The model's real template in the (tiny) snapshot, where the hub puts it: the adapter renders
    exactly the model's documented prompt in every language, and sends the ids the processor's own
    apply_chat_template(tokenize=True) makes (one BOS for Llama, whose template writes it too)."""
    from adapters._prompts import prompt_for
    from bench import registry

    if name == "qwen3-vl-4b":
        pytest.importorskip("torchvision")  # the Qwen3-VL processor always builds its video processor
    builder, fixture, expected = REAL_TEMPLATES[name]
    template = (TEMPLATES / fixture).read_text(encoding="utf-8")
    folder = builder(tmp_path / "m")
    (folder / "chat_template.jinja").write_text(template, encoding="utf-8")
    adapter = registry.get(name)(AdapterOptions(model_path=folder))
    adapter.ensure_loaded()
    proc, tok = adapter._processor, adapter.tokenizer
    assert proc.chat_template == template
    for lang in ("es", "en", "zh"):
        text = proc.apply_chat_template(adapter.messages(lang), add_generation_prompt=True, tokenize=False)
        assert text == expected.format(q=prompt_for(lang))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 80, 3), dtype=np.uint8))
    ours = adapter.inputs([image], "es")["input_ids"][0].tolist()
    msgs = adapter.messages("es")
    msgs[-1]["content"][0] = {"type": "image", "image": image}
    official = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                        return_tensors="pt")["input_ids"][0].tolist()
    assert ours == official
    if name == "llama32-11b-vision":
        assert ours.count(tok.bos_token_id) == 1 and ours[0] == tok.bos_token_id
    adapter.close()
