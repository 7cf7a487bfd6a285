"""What each baseline hands its model, recorded with stand-ins for the model and processor: the
settings the model cards require and that no end-to-end run on a tiny model can tell apart (text
lengths, padding sides, token budgets, chat formats, decoding, pooling, call paths)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from bench.registry.adapter import AdapterOptions  # noqa: E402
from bench.registry import get  # noqa: E402


class Recorder:
    """Stands in for a processor, tokenizer or model: records every call, returns ``value``."""

    def __init__(self, value=None, **attrs):
        self.calls: list[tuple[tuple, dict]] = []
        self.value = value
        self.__dict__.update(attrs)

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.value() if callable(self.value) else self.value


def _features(**_):
    return torch.ones(2, 4)


@pytest.mark.parametrize("name, length", [("siglip2-base", 64), ("siglip2-giant", 64),
                                          ("chinese-clip-vit-b16", 52), ("chinese-clip-vit-h14", 52),
                                          ("altclip", 77)])
def test_dual_encoders_pad_and_cut_texts_as_trained(name, length):
    """SigLIP 2 pads every text to 64 tokens (its card: padding="max_length"); Chinese CLIP's context
    is 52 tokens, AltCLIP's 77: the processor gets exactly those settings."""
    adapter = get(name)(AdapterOptions())
    adapter.processor = Recorder({"input_ids": torch.ones(2, 3, dtype=torch.long)})
    adapter.model = Recorder(get_text_features=Recorder(torch.ones(2, 4)))
    adapter.embed_texts(["Dog", "cat"], "en")
    (_, kwargs), = adapter.processor.calls
    assert kwargs["max_length"] == length and kwargs["truncation"] is True
    assert kwargs["padding"] == ("max_length" if name.startswith("siglip2") else True)
    if name.startswith("siglip2"):
        assert kwargs["text"] == ["dog", "cat"]


def _fake_loaders(monkeypatch, module, processor):
    monkeypatch.setattr(module, "load_weights", lambda *a, **k: Recorder(config=Recorder()))
    monkeypatch.setattr(module, "load_processor", lambda *a, **k: processor)


@pytest.mark.parametrize("name", ["e5-v", "gme-qwen2vl-2b"])
def test_last_token_embedders_pad_on_the_right(name, monkeypatch):
    """E5-V and GME read the last real token and keep positions 0..n-1: right padding."""
    import adapters.e5v as e5v
    import adapters.gme as gme

    module = e5v if name == "e5-v" else gme
    proc = Recorder(tokenizer=Recorder(padding_side="left"), image_processor=Recorder(size={}))
    _fake_loaders(monkeypatch, module, proc)
    monkeypatch.setattr(module, "configure_processor", lambda *a: None, raising=False)
    adapter = get(name)(AdapterOptions())
    adapter.place = lambda m: m
    adapter.load()
    assert proc.tokenizer.padding_side == "right"


def test_gme_token_budget_is_256_to_1280_visual_tokens(monkeypatch):
    import adapters.gme as gme

    proc = Recorder(tokenizer=Recorder(padding_side="left"), image_processor=Recorder(size={}))
    _fake_loaders(monkeypatch, gme, proc)
    adapter = gme.GME2B(AdapterOptions())
    adapter.place = lambda m: m
    adapter.load()
    assert proc.image_processor.size == {"shortest_edge": 256 * 28 * 28, "longest_edge": 1280 * 28 * 28}


def test_phi35_vision_chat_format_and_greedy_decoding():
    """The card's single-image format: '<|image_1|>\\n' then the question, in a user turn through the
    tokenizer's chat template; the processor takes that prompt and a one-image list."""
    from adapters._prompts import prompt_for

    adapter = get("phi35-vision")(AdapterOptions())
    tok = Recorder("<|user|>\nPROMPT<|end|>\n<|assistant|>\n", eos_token_id=7, pad_token_id=0,
                   batch_decode=lambda ids, skip_special_tokens: ["perro"])
    tok.apply_chat_template = Recorder("<|user|>\nPROMPT<|end|>\n<|assistant|>\n")
    adapter._processor = Recorder({"input_ids": torch.ones(1, 5, dtype=torch.long)}, tokenizer=tok)
    adapter._model = Recorder(generate=Recorder(torch.ones(1, 7, dtype=torch.long)))
    assert adapter.transcribe([Image.new("RGB", (80, 24))], "es") == ["perro"]
    (args, kwargs), = tok.apply_chat_template.calls
    assert args[0] == [{"role": "user", "content": "<|image_1|>\n" + prompt_for("es")}]
    assert kwargs == {"tokenize": False, "add_generation_prompt": True}
    (pargs, _), = adapter._processor.calls
    assert pargs[0] == "<|user|>\nPROMPT<|end|>\n<|assistant|>\n" and len(pargs[1]) == 1
    (_, gen), = adapter._model.generate.calls
    assert gen["do_sample"] is False and gen["num_beams"] == 1 and gen["eos_token_id"] == 7


def test_minicpm_turns_off_the_repetition_penalty_its_chat_adds():
    """MiniCPM-o's chat(sampling=False) defaults to 3 beams and repetition_penalty 1.2: greedy means
    both are overridden."""
    adapter = get("minicpm-o-26")(AdapterOptions())
    adapter._model, adapter._processor = Recorder(chat=Recorder("perro")), object()
    adapter.transcribe([Image.new("RGB", (80, 24))], "es")
    (_, kw), = adapter._model.chat.calls
    assert kw["repetition_penalty"] == 1.0 and kw["num_beams"] == 1 and kw["sampling"] is False


def test_nomic_embeds_an_image_as_its_cls_token():
    adapter = get("nomic-embed-vision-v15")(AdapterOptions())
    hidden = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    adapter.image_processor = Recorder({"pixel_values": torch.zeros(2, 3, 8, 8)})
    adapter.vision = Recorder(lambda: type("Out", (), {"last_hidden_state": hidden})())
    out = adapter.embed_images([Image.new("RGB", (8, 8))] * 2)
    assert torch.equal(out, hidden[:, 0])


def test_mm_embed_call_path_queries_images_with_the_instruction_and_words_as_candidates():
    from adapters.mm_embed import IMAGE_QUERY_INSTRUCTION

    adapter = get("mm-embed")(AdapterOptions())
    adapter.model = Recorder(encode=Recorder({"hidden_states": torch.ones(1, 4)}))
    im = Image.new("RGB", (80, 24))
    adapter.embed_images([im])
    adapter.embed_texts(["perro"], "es")
    (img_args, img_kw), (txt_args, txt_kw) = adapter.model.encode.calls
    assert img_args[0] == [{"img": im}] and img_kw["is_query"] is True
    assert img_kw["instruction"] == IMAGE_QUERY_INSTRUCTION
    assert txt_args[0] == [{"txt": "perro"}] and "instruction" not in txt_kw and not txt_kw.get("is_query")


def test_bge_visualized_call_path():
    """VISTA's README: encode_image on the model's own preprocessing, encode_text on its tokenizer."""
    adapter = get("bge-visualized")(AdapterOptions())
    seen = {}
    adapter.model = Recorder(preprocess_val=lambda im: torch.zeros(3, 4, 4),
                             encode_image=lambda px: seen.setdefault("pixels", px),
                             tokenizer=Recorder({"input_ids": torch.ones(1, 2, dtype=torch.long)}),
                             encode_text=lambda batch: seen.setdefault("batch", batch))
    adapter.embed_images([Image.new("RGB", (80, 24))] * 2)
    adapter.embed_texts(["perro"], "es")
    assert tuple(seen["pixels"].shape) == (2, 3, 4, 4)
    (args, kw), = adapter.model.tokenizer.calls
    assert args[0] == ["perro"] and kw["padding"] is True and kw["truncation"] is True
    assert "input_ids" in seen["batch"]
