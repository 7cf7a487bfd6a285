"""Each adapter against its model's official usage, on tiny random models of the real classes.

Every test here would have caught a defect found by comparing the adapters line by line with the
model cards, the authors' inference code and the transformers sources (issue 14): processor
attributes from the model config, GME's sequential positions, SigLIP 2's lowercased text, and the
decoding settings the cards give. The chat VLLMs' token ids against the official template are checked
in test_adapters_transcribers.py, which the torchvision venv also runs (Qwen3-VL, InternVL).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench.registry.adapter import AdapterOptions  # noqa: E402
from tests import tiny_hf  # noqa: E402
from tests.test_adapters_embeddings import TEXT, VISION, build_llava_next, build_siglip, word_tokenizer  # noqa: E402


def _images(n: int = 2) -> list:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (24, 80, 3), dtype=np.uint8)) for _ in range(n)]


# -- E5-V: the processor gets patch size and feature strategy from the model config ----------------
@pytest.mark.slow
def test_e5v_processor_takes_its_image_arithmetic_from_the_model(tmp_path):
    from adapters.e5v import E5VAdapter

    d = tmp_path / "e5v"
    build_llava_next(d)
    cfg_path = d / "processor_config.json"
    cfg = json.loads(cfg_path.read_text())
    for key in ("patch_size", "vision_feature_select_strategy", "num_additional_image_tokens"):
        cfg.pop(key, None)  # like royokong/e5-v's processor, saved before these keys existed
    cfg_path.write_text(json.dumps(cfg))

    adapter = E5VAdapter(AdapterOptions(model_path=d, batch_size=2))
    emb = adapter.encode_images(_images(2), "en")  # raises without the model's patch size
    config = adapter.model.config
    assert adapter.processor.patch_size == config.vision_config.patch_size
    assert adapter.processor.vision_feature_select_strategy == config.vision_feature_select_strategy
    assert adapter.processor.num_additional_image_tokens == 1  # CLIP's CLS token
    assert emb.shape[0] == 2 and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    adapter.close()


# -- SigLIP 2: gallery words lowercased, as the model was trained ----------------------------------
@pytest.mark.slow
def test_siglip2_lowercases_gallery_words(tmp_path):
    from adapters.siglip2 import SigLIP2Base

    d = tmp_path / "siglip"
    build_siglip(d)
    adapter = SigLIP2Base(AdapterOptions(model_path=d))
    emb = adapter.encode_texts(["Dog", "dog", "DOG", "cat"], "en")
    assert np.allclose(emb[0], emb[1], atol=1e-6) and np.allclose(emb[2], emb[1], atol=1e-6)
    assert not np.allclose(emb[3], emb[1], atol=1e-3)
    assert adapter.text_prompt("Árbol", "es") == "árbol" and adapter.text_prompt("狗", "zh") == "狗"
    adapter.close()


# -- GME: image features merged into inputs_embeds, language model on positions 0..n-1 -------------
def _tiny_qwen2vl():
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    special = ["<|endoftext|>", "<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
    _, vocab = word_tokenizer(special, unk_token="<unk>", pad_token="<|endoftext|>")
    cfg = Qwen2VLConfig(
        text_config=dict(TEXT, num_hidden_layers=2, vocab_size=len(vocab), num_key_value_heads=1, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]}, pad_token_id=0,
                         bos_token_id=None, eos_token_id=vocab["<|im_end|>"]),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=16, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"])
    torch.manual_seed(0)
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # sharpen attention: at init scale q.k is ~0, softmax uniform, positions invisible
        for layer in model.model.language_model.layers:
            layer.self_attn.q_proj.weight.mul_(40)
            layer.self_attn.k_proj.weight.mul_(40)
    return model, vocab


@pytest.mark.slow
def test_gme_embeds_images_with_sequential_positions():
    """GME's forward: the language model sees positions 0..n-1 (not Qwen2-VL's 3-D image positions),
    and the image's features (not the placeholder embedding) at the image slots."""
    from adapters.gme import GME2B

    model, vocab = _tiny_qwen2vl()
    adapter = GME2B(AdapterOptions())
    adapter.model, adapter._loaded = model, True
    # <|im_start|> system ... <|vision_start|> 4 image slots (a 4x4 patch grid merged 2x2) <|vision_end|> ...
    # GME's inputs carry one <|image_pad|> per merged patch: a 2x4 grid of 14-px patches -> 2 tokens.
    body = ["<|im_start|>", "system", "<|im_end|>", "<|vision_start|>", *["<|image_pad|>"] * 2, "<|vision_end|>",
            "<|im_end|>", "<|im_start|>", "assistant", "<|endoftext|>"]
    ids = torch.tensor([[vocab[t] for t in body]])
    grid = torch.tensor([[1, 2, 4]])
    pixels = torch.randn(8, 3 * 2 * 14 * 14, generator=torch.Generator().manual_seed(1))
    seen = []
    hook = model.model.language_model.rotary_emb.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs.get("position_ids", args[1] if len(args) > 1 else None)),
        with_kwargs=True)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": pixels, "image_grid_thw": grid,
              "mm_token_type_ids": (ids == model.config.image_token_id).long()}  # as the processor returns
    with torch.inference_mode():
        e1 = adapter._last_token(dict(inputs))
        e2 = adapter._last_token({**inputs, "pixel_values": pixels.flip(0)})
    hook.remove()
    n = ids.shape[1]
    assert seen and all(p.shape[-1] == n for p in seen)
    for p in seen:  # every rotary section, every row: 0..n-1
        assert torch.equal(p.reshape(-1, n), torch.arange(n).expand(p.reshape(-1, n).shape[0], n))
    assert e1.shape == (1, model.config.text_config.hidden_size)
    assert not torch.allclose(e1, e2)  # the pixels reach the embedding


@pytest.mark.slow
def test_gme_positions_differ_from_the_multimodal_forward():
    """The defect this guards against: Qwen2-VL's own forward gives image tokens 3-D positions, so its
    last hidden state differs from GME's sequential one for the same inputs."""
    from adapters.gme import GME2B

    model, vocab = _tiny_qwen2vl()
    body = ["<|im_start|>", "<|vision_start|>", *["<|image_pad|>"] * 2, "<|vision_end|>", "word", "<|endoftext|>"]
    ids = torch.tensor([[vocab.get(t, 1) for t in body]])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
              "pixel_values": torch.randn(8, 3 * 2 * 14 * 14, generator=torch.Generator().manual_seed(2)),
              "image_grid_thw": torch.tensor([[1, 2, 4]]),
              "mm_token_type_ids": (ids == model.config.image_token_id).long()}
    adapter = GME2B(AdapterOptions())
    adapter.model, adapter._loaded = model, True
    with torch.inference_mode():
        ours = adapter._last_token({k: v for k, v in inputs.items() if k != "mm_token_type_ids"})
        mrope = model.model(**inputs).last_hidden_state[:, -1]
    assert (ours - mrope).abs().max() > 1e-4


# -- Phi-3.5-Vision and Florence-2: the cards' settings ---------------------------------------------
def test_phi35_vision_uses_16_crops_for_single_images(monkeypatch):
    from adapters import vllms

    seen = {}
    monkeypatch.setattr(vllms, "load_processor", lambda adapter, cls, **kw: seen.setdefault("proc", kw))
    monkeypatch.setattr(vllms, "load_model", lambda adapter, cls, **kw: seen.setdefault("model", kw))
    vllms.Phi35VisionAdapter(AdapterOptions(trust_remote_code=True)).load()
    assert seen["proc"]["num_crops"] == 16
    assert "num_crops=16" in vllms.Phi35VisionAdapter.card.notes


@pytest.mark.slow
def test_florence2_decodes_with_the_cards_three_beams_and_records_it(tmp_path):
    from adapters.florence2 import Florence2Adapter

    adapter = Florence2Adapter(AdapterOptions(model_path=tiny_hf.make_florence2(tmp_path / "f2")))
    adapter.ensure_loaded()
    calls = []
    original = adapter._model.generate
    adapter._model.generate = lambda **kw: calls.append(kw) or original(**kw)
    out = adapter.transcribe(_images(2), "en")
    assert len(out) == 2 and calls[0]["num_beams"] == 3 and calls[0]["do_sample"] is False
    assert "num_beams=3" in adapter.run_notes()["decoding"] and "num_beams=3" in adapter.card.notes
    adapter.close()


# -- GME: the authors' fetch_image before the processor, float16 on GPU (issue 27) --------------------
def test_gme_pre_resizes_like_fetch_image_then_the_processor_budget_applies():
    """The median built-in crop (160x87): fetch_image makes it 168x84, and the processor's own
    smart_resize (transformers' code, 256-1280 tokens) then gives 644x336 px, the official input;
    the processor alone would give 616x336."""
    try:  # transformers 5 keeps the PIL processor's copy apart from the torchvision one
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    except ImportError:
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    from adapters.gme import MAX_IMAGE_TOKENS, MIN_IMAGE_TOKENS, gme_fetch_image, gme_smart_resize

    budget = dict(factor=28, min_pixels=MIN_IMAGE_TOKENS * 28 * 28, max_pixels=MAX_IMAGE_TOKENS * 28 * 28)
    assert gme_smart_resize(87, 160) == (84, 168)
    assert smart_resize(84, 168, **budget) == (336, 644)
    assert smart_resize(87, 160, **budget) == (336, 616)  # what calling the processor directly gave
    im = gme_fetch_image(Image.new("L", (160, 87), 128))
    assert im.size == (168, 84) and im.mode == "RGB"
    assert gme_smart_resize(10, 10) == (56, 56)  # below 4 tokens: scaled up (ceil)
    assert gme_smart_resize(28, 28 * 300)[1] == 28 * 200  # aspect capped at 200:1


def test_gme_hands_the_processor_fetch_image_sizes():
    from adapters.gme import GME2B

    seen = []

    class Proc:
        def __call__(self, text, images=None, **kw):
            seen.extend(im.size for im in images)
            return {}

    adapter = GME2B(AdapterOptions())
    adapter.processor, adapter._last_token = Proc(), lambda inputs: None
    adapter.embed_images([Image.new("RGB", (160, 87)), Image.new("RGB", (300, 50))])
    assert seen == [(168, 84), (308, 56)]


def test_gme_runs_in_float16_on_gpu_unless_told_otherwise():
    from adapters.gme import GME2B

    assert GME2B(AdapterOptions(device="cuda")).options.dtype == "float16"
    assert GME2B(AdapterOptions(device="cuda", dtype="bfloat16")).options.dtype == "bfloat16"
    assert GME2B(AdapterOptions(device="cpu")).options.dtype is None  # float32 on CPU
    a, b = GME2B(AdapterOptions(device="cuda")), GME2B(AdapterOptions(device="cuda", dtype="bfloat16"))
    assert a.output_settings()["dtype"] != b.output_settings()["dtype"]
