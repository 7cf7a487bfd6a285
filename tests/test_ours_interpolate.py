"""Weight interpolation of two checkpoints (ours/interpolate.py, `ours interpolate`): the ends are the
parents, the middle is the average, the anchors are what the averaged text tower says, lineage recorded."""
import json

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from ours.config import load_config
from ours.interpolate import interpolate, weights_sha256
from ours.model import load_checkpoint, save_checkpoint
from ours.train import train
from tests.test_ours_distill import FROZEN
from tests.test_ours_train import _render, _source, _tiny_tower

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def parents(tmp_path_factory):
    """A tiny trained checkpoint and a fine-tune of it (warm-started, another seed, a high rate)."""
    root = tmp_path_factory.mktemp("parents")
    base = train(load_config(FROZEN), root / "base", sources={1: _source()}, text_tower=_tiny_tower(0),
                 progress=False) / "stage1"
    ft_cfg = load_config({**FROZEN, "seed": 11, "init": str(base), "stage1": {**FROZEN["stage1"], "lr": 0.05, "text_lr": 0.05}})
    ft = train(ft_cfg, root / "ft", sources={1: _source()}, text_tower=_tiny_tower(0), progress=False) / "stage1"
    return base, ft


def _images():
    return [_render(w, "en", 900 + i) for i, w in enumerate(["dog", "cat", "sun", "tree"])]


def _tensors(folder):
    return {k: v for k, v in load_checkpoint(folder).tensors().items() if k != "anchors"}


def test_the_ends_are_the_parents_and_the_middle_is_their_average(parents, tmp_path):
    base, ft = parents
    tb, tf = _tensors(base), _tensors(ft)
    assert any(not torch.equal(tb[k], tf[k]) for k in tb)  # the fine-tune moved the weights
    for alpha, want in ((0.0, tb), (1.0, tf)):
        got = _tensors(interpolate(base, ft, alpha, tmp_path / f"a{alpha}", text_tower=_tiny_tower(0)))
        for k in want:
            ref = want[k] if want[k].is_floating_point() else tf[k]  # counters come from the fine-tune
            assert torch.allclose(got[k].float(), ref.float(), atol=1e-6), k
        ims = _images()
        assert np.allclose(load_checkpoint(tmp_path / f"a{alpha}").encode_images(ims),
                           load_checkpoint(base if alpha == 0 else ft).encode_images(ims), atol=1e-5)
    mid = _tensors(interpolate(base, ft, 0.25, tmp_path / "mid", text_tower=_tiny_tower(0)))
    for k in tb:
        if tb[k].is_floating_point():
            assert torch.allclose(mid[k], 0.75 * tb[k] + 0.25 * tf[k], atol=1e-6), k
    assert any(k.startswith("ctc.") for k in mid)  # the reader is kept


def test_anchors_are_re_encoded_by_the_interpolated_text_tower(parents, tmp_path):
    base, ft = parents
    folder = interpolate(base, ft, 0.5, tmp_path / "m", text_tower=_tiny_tower(0))
    m = load_checkpoint(folder)
    m.text = _tiny_tower(0)
    m.text.load_trainable_state(m._pending_text_state)
    words = m.anchors.words["en"]
    want = m.encode_texts(words)
    got = m.anchors.matrix[: len(words)]
    assert np.allclose(got, want, atol=1e-5)
    # not the average of the parents' tables: that would not be unit-norm nor what the tower says
    avg = 0.5 * load_checkpoint(base).anchors.matrix + 0.5 * load_checkpoint(ft).anchors.matrix
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(got, avg[: len(words)], atol=1e-4)


def test_lineage_and_card_record_both_parents(parents, tmp_path):
    base, ft = parents
    folder = interpolate(base, ft, 0.7, tmp_path / "w", text_tower=_tiny_tower(0))
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))["meta"]["wise_ft"]
    assert meta["alpha"] == 0.7
    assert meta["base"]["sha256"] == weights_sha256(base) and meta["finetuned"]["sha256"] == weights_sha256(ft)
    assert meta["finetuned"]["meta"]["init"]["from"]  # the fine-tune's own lineage travels with it
    assert meta["base"]["meta"] == load_checkpoint(base).meta and meta["base"]["meta"]  # and the base's
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert weights_sha256(base)[:16] in card and weights_sha256(ft)[:16] in card and "0.3 x base" in card


def test_other_models_and_bad_alphas_are_refused(parents, tmp_path):
    base, ft = parents
    with pytest.raises(BenchError, match="alpha"):
        interpolate(base, ft, 1.5, tmp_path / "x", text_tower=_tiny_tower(0))
    other = load_checkpoint(ft)
    other.charset = other.charset[::-1]
    save_checkpoint(other, tmp_path / "other", include_ctc=True)
    with pytest.raises(BenchError, match="character sets"):
        interpolate(base, tmp_path / "other", 0.5, tmp_path / "y", text_tower=_tiny_tower(0))
    assert not (tmp_path / "y").exists()


def test_the_cli_refuses_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    from ours.cli import main

    rc = main(["interpolate", str(tmp_path / "nope"), str(tmp_path / "nope2"), "--alpha", "0.5",
               "--out", str(tmp_path / "o")])
    assert rc != 0 and "not an 'ours' checkpoint" in capsys.readouterr().err


def test_it_never_writes_into_an_existing_checkpoint_or_leaves_a_partial_one(parents, tmp_path, monkeypatch):
    import ours.interpolate as mod

    base, ft = parents
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "image_int8.onnx").write_bytes(b"old export")
    for out in (taken, base, ft):
        with pytest.raises(BenchError, match="--out"):
            interpolate(base, ft, 0.5, out, text_tower=_tiny_tower(0))
    assert (taken / "image_int8.onnx").read_bytes() == b"old export"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mod, "write_card", broken)
    with pytest.raises(OSError):
        interpolate(base, ft, 0.5, tmp_path / "new", text_tower=_tiny_tower(0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no folder, no temporary left


def test_the_default_path_loads_the_encoder_by_name_and_gives_the_same_checkpoint(parents, tmp_path, monkeypatch):
    # what `ours interpolate` does: the text encoder is loaded by the name the checkpoint's config gives
    # (here that loader hands back the tests' tiny encoder); the result equals the injected-tower one
    import ours.texttower as tt

    base, ft = parents
    tiny = _tiny_tower(0)
    monkeypatch.setattr(tt, "load_encoder", lambda name: (tiny.encoder, tiny.tokenizer))
    by_name = interpolate(base, ft, 0.6, tmp_path / "by-name")
    injected = interpolate(base, ft, 0.6, tmp_path / "injected", text_tower=_tiny_tower(0))
    a, b = load_checkpoint(by_name), load_checkpoint(injected)
    ta, tb = a.tensors(), b.tensors()
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.allclose(ta[k].float(), tb[k].float(), atol=1e-6), k
