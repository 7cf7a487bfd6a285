"""Prompt templates and pooling functions of the embedding adapters, as plain functions."""
from __future__ import annotations

import numpy as np
import pytest

from adapters import e5v, gme, mm_embed, nomic
from adapters._hf_embed import last_token_pool, mean_pool
from adapters._torch import count_parameters
from bench.results.cache import folder_identity

torch = pytest.importorskip("torch")


# -- pooling -------------------------------------------------------------------------------------
def _hidden(batch: int, length: int, dim: int = 3):
    return torch.arange(batch * length * dim, dtype=torch.float32).reshape(batch, length, dim)


def test_last_token_pool_right_padding():
    h = _hidden(2, 4)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    out = last_token_pool(h, mask)
    assert torch.equal(out[0], h[0, 3]) and torch.equal(out[1], h[1, 1])


def test_last_token_pool_left_padding():
    h = _hidden(2, 4)
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    out = last_token_pool(h, mask)
    assert torch.equal(out, h[:, -1])


def test_last_token_pool_mixed_rows_and_no_padding():
    h = _hidden(3, 4)
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]])
    out = last_token_pool(h, mask)
    assert torch.equal(out[0], h[0, 3]) and torch.equal(out[1], h[1, 2]) and torch.equal(out[2], h[2, 0])
    assert torch.equal(last_token_pool(h, torch.ones(3, 4, dtype=torch.long)), h[:, -1])


def test_mean_pool_ignores_padding():
    h = _hidden(2, 3)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    out = mean_pool(h, mask)
    assert torch.allclose(out[0], h[0, :2].mean(0)) and torch.allclose(out[1], h[1, 0])
    # An all-padding row gives zeros, not NaN.
    assert torch.isfinite(mean_pool(h, torch.zeros(2, 3, dtype=torch.long))).all()


def test_nomic_text_pool_is_mean_then_layer_norm():
    h = _hidden(1, 3)
    mask = torch.tensor([[1, 1, 0]])
    out = nomic.nomic_text_pool(h, mask)[0]
    m = h[0, :2].mean(0)
    expected = (m - m.mean()) / torch.sqrt(m.var(unbiased=False) + 1e-5)
    assert torch.allclose(out, expected, atol=1e-5)


def test_count_parameters_dedups_tied_and_excludes_head():
    emb = torch.nn.Embedding(10, 4)
    model = torch.nn.Module()
    model.embed, model.body, model.lm_head = emb, torch.nn.Linear(4, 4), torch.nn.Linear(4, 10, bias=False)
    assert count_parameters(model) == 40 + 20 + 40
    assert count_parameters(model, exclude_prefixes=("lm_head",)) == 60
    model.lm_head.weight = emb.weight  # tied, as in Qwen2-VL-2B: counted once
    assert count_parameters(model) == 60 and count_parameters(model, exclude_prefixes=("lm_head",)) == 60


# -- prompts ------------------------------------------------------------------------------------
def test_e5v_prompts_follow_the_model_card():
    assert e5v.e5v_image_prompt() == ("<|start_header_id|>user<|end_header_id|>\n\n<image>\nSummary above image "
                                      "in one word: <|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n \n")
    t = e5v.e5v_text_prompt("perro")
    assert t.startswith("<|start_header_id|>user<|end_header_id|>\n\nperro\nSummary above sentence in one word: ")
    assert "<sent>" not in t and "<image>" not in t


def test_gme_prompts():
    img = gme.gme_image_prompt()
    assert img.startswith("<|im_start|>system\nFind an image caption describing the following everyday image."
                          "<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>")
    assert img.endswith("<|im_start|>assistant\n<|endoftext|>")
    txt = gme.gme_text_prompt("狗")
    assert txt == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n狗<|im_end|>\n"
                   "<|im_start|>assistant\n<|endoftext|>")
    assert "Do it.<|im_end|>" in gme.gme_prompt("x", "Do it")  # instructions end with a period


def test_nomic_prefixes():
    assert nomic.nomic_text_prompt("gato") == "search_query: gato"
    assert nomic.nomic_text_prompt("gato", nomic.DOCUMENT_PREFIX) == "search_document: gato"


def test_mm_embed_inputs():
    assert mm_embed.mm_embed_candidate("dog") == {"txt": "dog"}
    assert mm_embed.mm_embed_query("IMG") == {"img": "IMG"}
    assert mm_embed.IMAGE_QUERY_INSTRUCTION == gme.IMAGE_QUERY_INSTRUCTION


def test_sigmoid_scores_rank_like_cosine():
    """SigLIP's sigmoid(t * cos + b) is increasing in cos: same ranking for any t > 0, b."""
    rng = np.random.default_rng(0)
    cos = rng.uniform(-1, 1, size=(4, 50))
    for t, b in ((10.0, -10.0), (3.0, -1.0), (0.5, 3.0)):  # moderate t: float64 sigmoid saturates past ~36
        sig = 1.0 / (1.0 + np.exp(-(t * cos + b)))
        assert (np.argsort(-sig, axis=1, kind="stable") == np.argsort(-cos, axis=1, kind="stable")).all()


def test_folder_identity_changes_with_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    a = folder_identity(tmp_path)
    assert folder_identity(tmp_path) == a
    (tmp_path / "model.safetensors").write_bytes(b"123")
    assert folder_identity(tmp_path) != a


def test_folder_identity_sees_every_file_the_processor_reads(tmp_path):
    """A changed chat template (or any other file a processor reads) changes the key, even when its
    size and mtime are kept (``cp -p`` of another template); hidden metadata does not."""
    import os

    (tmp_path / "config.json").write_text("{}")
    tmpl = tmp_path / "chat_template.jinja"
    tmpl.write_text("{{ messages[0].content }}A")
    stamp = tmpl.stat().st_mtime_ns
    a = folder_identity(tmp_path)
    tmpl.write_text("{{ messages[0].content }}B")  # same size
    os.utime(tmpl, ns=(stamp, stamp))  # same mtime
    b = folder_identity(tmp_path)
    assert b != a
    (tmp_path / "tokenizer.tiktoken").write_text("x")
    assert folder_identity(tmp_path) != b
    c = folder_identity(tmp_path)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "download.lock").write_text("meta")
    assert folder_identity(tmp_path) == c


def test_model_path_identity_is_in_the_cache_key(tmp_path):
    from bench.registry.adapter import AdapterOptions
    from bench.registry import get

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "chat_template.jinja").write_text("A")
    cls = get("qwen3-vl-4b")
    key = cls(AdapterOptions(model_path=tmp_path)).cache_key()
    (tmp_path / "chat_template.jinja").write_text("B")
    assert cls(AdapterOptions(model_path=tmp_path)).cache_key() != key
