"""Losses on hand-computed cases."""
import math

import pytest
import torch
from torch.nn import functional as F

from ours.losses import LossConfig, Temperature, ctc_loss, itc_losses, sca_loss, total_loss

torch.set_num_threads(1)


def _unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_infonce_hand_computed():
    zv = _unit([1.0, 0.0], [0.0, 1.0])
    zt = _unit([1.0, 0.0], [1.0, 0.0])
    labels = torch.tensor([0, 1])
    li2t, lt2i = itc_losses(zv, zt, labels, torch.tensor(1.0))
    # image 0: logits [1, 1] -> -log(1/2); image 1: logits [0, 0] -> -log(1/2)
    assert li2t.item() == pytest.approx(math.log(2))
    # text 0: logits [1, 0] -> -log(e/(e+1)); text 1: logits [1, 0], positive is 0 -> -log(1/(e+1))
    e = math.e
    expected = (-math.log(e / (e + 1)) - math.log(1 / (e + 1))) / 2
    assert lt2i.item() == pytest.approx(expected, rel=1e-6)


def test_infonce_symmetry():
    g = torch.Generator().manual_seed(0)
    zv = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    zt = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    y = torch.tensor([0, 0, 1, 2, 2, 3])
    s = torch.tensor(5.0)
    for mode in ("diagonal", "mask", "multi"):
        a_i2t, a_t2i = itc_losses(zv, zt, y, s, mode)
        b_i2t, b_t2i = itc_losses(zt, zv, y, s, mode)  # swapping modalities swaps the two terms
        assert a_i2t.item() == pytest.approx(b_t2i.item(), rel=1e-6)
        assert a_t2i.item() == pytest.approx(b_i2t.item(), rel=1e-6)


def test_duplicate_handling_modes():
    # two rows with the same ID and identical text columns
    zv = _unit([1.0, 0.0], [1.0, 0.0])
    zt = _unit([1.0, 0.0], [1.0, 0.0])
    y = torch.tensor([7, 7])
    s = torch.tensor(10.0)
    diag, _ = itc_losses(zv, zt, y, s, "diagonal")
    assert diag.item() == pytest.approx(math.log(2), rel=1e-6)  # paper: duplicate is a negative
    mask, _ = itc_losses(zv, zt, y, s, "mask")
    assert mask.item() == pytest.approx(0.0, abs=1e-6)
    multi, _ = itc_losses(zv, zt, y, s, "multi")
    assert multi.item() == pytest.approx(math.log(2), rel=1e-6)  # uniform target over 2 equal columns


def test_sca_mask_across_modalities_and_languages():
    # rows: en "dog" (id 0), zh "狗" (id 0), es "gato" (id 1)
    zv = _unit([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    zt = _unit([1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    y = torch.tensor([0, 0, 1])
    # U = [v0, v1, v2, t0, t1, t2]; same-ID pairs (ordered, i != j):
    # id 0 members {v0, v1, t0, t1}: 12 ordered pairs; sims: v0-v1 0, v0-t0 1, v0-t1 1,
    #   v1-t0 0, v1-t1 0, t0-t1 1 -> sum over unordered = 3, ordered = 6
    # id 1 members {v2, t2}: 2 ordered pairs, sim 0
    expected = 1.0 - 6.0 / 14.0
    assert sca_loss(zv, zt, y).item() == pytest.approx(expected, rel=1e-6)


def test_sca_zero_when_all_same_id_collapse():
    z = _unit([1.0, 2.0], [1.0, 2.0], [3.0, -1.0])
    y = torch.tensor([4, 4, 5])
    assert sca_loss(z, z, y).item() == pytest.approx(0.0, abs=1e-6)


def test_lambda_zero_equals_itc_and_switches():
    g = torch.Generator().manual_seed(1)
    zv = F.normalize(torch.randn(5, 4, generator=g), dim=1)
    zt = F.normalize(torch.randn(5, 4, generator=g), dim=1)
    y = torch.tensor([0, 1, 1, 2, 0])
    s = torch.tensor(3.0)
    li2t, lt2i = itc_losses(zv, zt, y, s)
    off, _ = total_loss(zv, zt, y, s, LossConfig(sca_weight=0.0))
    assert off.item() == pytest.approx(((li2t + lt2i) / 2).item(), rel=1e-6)
    no_sca, _ = total_loss(zv, zt, y, s, LossConfig(sca=False, sca_weight=1.0))
    assert no_sca.item() == pytest.approx(off.item(), rel=1e-6)
    only_i2t, logs = total_loss(zv, zt, y, s, LossConfig(t2i=False, sca=False))
    assert only_i2t.item() == pytest.approx(li2t.item(), rel=1e-6) and "t2i" not in logs
    full, logs = total_loss(zv, zt, y, s, LossConfig(sca_weight=0.25))
    assert full.item() == pytest.approx(off.item() + 0.25 * sca_loss(zv, zt, y).item(), rel=1e-6)


def test_temperature_is_learnable_and_clamped():
    t = Temperature(0.07)
    assert t().item() == pytest.approx(0.07, rel=1e-5)
    t.log_scale.data.fill_(10.0)
    assert t.scale().item() == pytest.approx(100.0, rel=1e-5)


def test_ctc_loss_prefers_correct_path():
    T, C = 6, 4
    good = torch.full((T, 1, C), -10.0)
    for t, c in enumerate([1, 0, 2, 0, 3, 0]):
        good[t, 0, c] = 0.0
    targets = [[1, 2, 3]]
    bad = good.roll(1, dims=2)
    assert ctc_loss(good.log_softmax(-1), targets) < ctc_loss(bad.log_softmax(-1), targets)


def test_lexicon_softmax_multi_positive():
    from ours.losses import lexicon_loss

    zv = _unit([1.0, 0.0])
    anchors = _unit([1.0, 0.0], [1.0, 0.0], [0.0, 1.0])  # dog (en), perro (es), cat (en)
    loss = lexicon_loss(zv, torch.tensor([0]), anchors, torch.tensor([0, 0, 1]), torch.tensor(1.0))
    e = math.e
    # target 1/2 on each of the two same-ID anchors: -(log(e/(2e+1)))
    assert loss.item() == pytest.approx(-math.log(e / (2 * e + 1)), rel=1e-6)
