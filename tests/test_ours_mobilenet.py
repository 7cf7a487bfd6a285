"""Our plain-torch MobileNetV3-Small: size, shapes, and (where torchvision exists) exact parity."""
import pytest
import torch

from ours.mobilenetv3 import MobileNetV3Small, count_parameters, load_torchvision_features
from ours.model import ImageTower

torch.set_num_threads(1)


def test_parameter_counts_and_shapes():
    m = MobileNetV3Small(in_channels=1)
    assert count_parameters(m) == 926_720
    assert count_parameters(ImageTower()) == 1_287_808
    m.eval()
    with torch.no_grad():
        feat, mid = m.forward_with_mid(torch.zeros(2, 1, 64, 256))
    assert feat.shape == (2, 576, 2, 8)
    assert mid.shape == (2, 48, 4, 16)
    z = ImageTower().eval()(torch.randn(3, 1, 64, 256))
    assert z.shape == (3, 128) and torch.allclose(z.norm(dim=1), torch.ones(3), atol=1e-5)


def test_matches_torchvision_exactly():
    tv = pytest.importorskip("torchvision", reason="torchvision is not installed (it is kept out of the core venv)")
    ref = tv.models.mobilenet_v3_small(weights=None).eval()
    ours = MobileNetV3Small(in_channels=3).eval()
    tv_sd = ref.state_dict()
    own = [k for k in ours.state_dict()]
    theirs = [k for k in tv_sd if k.startswith("features.")]
    assert own == theirs  # same module tree, same order
    load_torchvision_features(ours, tv_sd)
    x = torch.randn(2, 3, 64, 256)
    with torch.no_grad():
        assert torch.equal(ours(x), ref.features(x))
    gray = MobileNetV3Small(in_channels=1)
    load_torchvision_features(gray, tv_sd)  # 3-channel stem summed into one
    with torch.no_grad():
        assert torch.allclose(gray.eval()(x[:, :1]), ref.features(x[:, :1].expand(-1, 3, -1, -1)), atol=1e-5)
