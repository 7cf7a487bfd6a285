"""Refitting the text projection on real handwriting (ours/refit_text.py): only the projection and the
anchors change, the fit reads the training writers better, the choice and lineage are recorded."""
import json

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from ours.interpolate import weights_sha256
from ours.model import load_checkpoint
from ours.refit_text import held_out, refit
from tests.helpers import make_dataset
from tests.test_ours_interpolate import parents  # noqa: F401  (a tiny trained checkpoint)
from tests.test_ours_train import _tiny_tower

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def real_like(tmp_path_factory):
    """Six words in three languages by five 'writers' (fonts), all in the train split."""
    return make_dataset(tmp_path_factory.mktemp("real"), n_words=6, styles=5, splits=("train",))


def _tensors(folder):
    return {k: v for k, v in load_checkpoint(folder).tensors().items() if k != "anchors"}


def test_held_out_writers_are_a_fixed_fifth_and_never_all_or_none():
    writers = np.array([f"w{i}" for i in range(200) for _ in range(3)])
    mask = held_out(writers)
    assert 0.1 < mask.mean() < 0.3 and np.array_equal(mask, held_out(writers))
    for w in set(writers):  # a writer is wholly in or wholly out
        assert len(set(mask[writers == w])) == 1
    few = np.array(["a", "a", "b", "c"])
    assert 0 < held_out(few).sum() < len(few)


def test_only_the_projection_and_anchors_change_and_training_writers_read_better(parents, real_like, tmp_path):
    base, _ = parents
    out = tmp_path / "refit"
    report = refit(base, real_like, out, keeps=(1.0, 100.0), langs=("en", "zh"), text_tower=_tiny_tower(0),
                   log=lambda *_: None)
    before, after = _tensors(base), _tensors(out)
    assert before.keys() == after.keys()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith("text.proj") for k in moved)  # image tower and CTC head untouched
    assert report["chosen_keep"] in (1.0, 100.0) and set(report["keep"]) == {1.0, 100.0}
    assert set(report["before"]) == {"en", "zh"}
    # the anchors are what the refitted tower says
    m = load_checkpoint(out)
    m.text = _tiny_tower(0)
    m.text.load_trainable_state(m._pending_text_state)
    words = m.anchors.words["en"]
    assert np.allclose(m.anchors.matrix[: len(words)], m.encode_texts(words), atol=1e-5)
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))["meta"]["refit_text"]
    assert meta["sha256"] == weights_sha256(base) and meta["langs"] == ["en", "zh"]
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "python -m ours.refit_text" in card and "research-only" in card and "base checkpoint's card" in card


def test_the_refit_fits_its_training_writers_better(parents, real_like, tmp_path):
    """Fitted on every writer with a weak keep term, the anchors explain the training images better:
    lower cross-entropy over the vocabulary (what the fit minimizes), never lower Acc@1."""
    import torch.nn.functional as F

    from ours.refit_text import load_real, top1

    base, _ = parents
    out = tmp_path / "r"
    refit(base, real_like, out, keeps=(0.01,), langs=("en",), text_tower=_tiny_tower(0), log=lambda *_: None)
    ce, acc = [], []
    for folder in (base, out):
        m = load_checkpoint(folder)
        m.text = _tiny_tower(0)
        m.text.load_trainable_state(m._pending_text_state)
        (s,) = load_real(m, real_like, ["en"], {l: m.anchors.words[l] for l in m.anchors.languages})
        x = torch.stack(m.text.frozen_part(s.vocab)).float()
        w, b = m.text.proj.weight.detach(), m.text.proj.bias.detach()
        logits = float(m.temp.log_scale.detach().exp()) * torch.from_numpy(s.emb) @ F.normalize(x @ w.T + b, dim=-1).T
        ce.append(F.cross_entropy(logits, torch.from_numpy(s.target)).item())
        acc.append(top1(s, np.ones(len(s.target), bool), x, w, b))
    assert ce[1] < ce[0] - 0.05 and acc[1] >= acc[0]


def test_refit_refuses_a_used_folder(parents, real_like, tmp_path):
    base, _ = parents
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(BenchError):
        refit(base, real_like, tmp_path / "used", keeps=(1.0,), text_tower=_tiny_tower(0), log=lambda *_: None)


def test_keep_anchors_keeps_the_lexicon_table_and_refits_the_open_vocabulary(parents, real_like, tmp_path):
    base, _ = parents
    out = tmp_path / "ka"
    refit(base, real_like, out, keeps=(1.0,), langs=("en",), text_tower=_tiny_tower(0), log=lambda *_: None,
          keep_anchors=True)
    a, b = load_checkpoint(base), load_checkpoint(out)
    assert np.array_equal(a.anchors.matrix, b.anchors.matrix) and a.anchors.words == b.anchors.words
    moved = {k for k, v in _tensors(base).items() if not torch.equal(v, _tensors(out)[k])}
    assert moved and all(k.startswith("text.proj") for k in moved)
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))["meta"]["refit_text"]
    assert meta["keep_anchors"] is True
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "--keep-anchors" in card and card.startswith("# ka:")  # named as the folder, not its temporary
