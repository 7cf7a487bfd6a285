"""MobileNetV3-Small feature extractor in plain torch.

The core install has no torchvision (its PyPI wheels break CPU torch here), so this
re-creates torchvision's ``mobilenet_v3_small().features`` with the same module
tree and parameter order: a torchvision state_dict for ``features`` maps 1:1 onto
``MobileNetV3Small.features`` (checked in tests/test_ours_mobilenet.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels the way torchvision does (keeps weights interchangeable)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """conv -> BN -> activation; indices 0/1/2 like torchvision's ops.Conv2dNormActivation."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 activation: type[nn.Module] | None = nn.ReLU, dilation: int = 1) -> None:
        padding = (kernel - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=0.001, momentum=0.01),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)
        self.out_channels = cout


class SqueezeExcitation(nn.Module):
    """SE block with torchvision's attribute names (fc1, fc2) and hardsigmoid gate."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * s


@dataclass(frozen=True)
class BlockConfig:
    cin: int
    kernel: int
    expanded: int
    cout: int
    use_se: bool
    hardswish: bool
    stride: int


# torchvision's mobilenet_v3_small settings (width 1.0, no reduced tail, no dilation).
SMALL_SETTINGS: tuple[BlockConfig, ...] = (
    BlockConfig(16, 3, 16, 16, True, False, 2),
    BlockConfig(16, 3, 72, 24, False, False, 2),
    BlockConfig(24, 3, 88, 24, False, False, 1),
    BlockConfig(24, 5, 96, 40, True, True, 2),
    BlockConfig(40, 5, 240, 40, True, True, 1),
    BlockConfig(40, 5, 240, 40, True, True, 1),
    BlockConfig(40, 5, 120, 48, True, True, 1),
    BlockConfig(48, 5, 144, 48, True, True, 1),
    BlockConfig(48, 5, 288, 96, True, True, 2),
    BlockConfig(96, 5, 576, 96, True, True, 1),
    BlockConfig(96, 5, 576, 96, True, True, 1),
)
FEATURE_CHANNELS = 576


class InvertedResidual(nn.Module):
    """MobileNetV3 bottleneck; ``self.block`` is an nn.Sequential as in torchvision."""

    def __init__(self, cfg: BlockConfig) -> None:
        super().__init__()
        self.use_res_connect = cfg.stride == 1 and cfg.cin == cfg.cout
        act = nn.Hardswish if cfg.hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if cfg.expanded != cfg.cin:
            layers.append(Conv2dNormActivation(cfg.cin, cfg.expanded, 1, activation=act))
        layers.append(Conv2dNormActivation(cfg.expanded, cfg.expanded, cfg.kernel, cfg.stride,
                                           groups=cfg.expanded, activation=act))
        if cfg.use_se:
            layers.append(SqueezeExcitation(cfg.expanded, _make_divisible(cfg.expanded // 4, 8)))
        layers.append(Conv2dNormActivation(cfg.expanded, cfg.cout, 1, activation=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cfg.cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y + x if self.use_res_connect else y


class MobileNetV3Small(nn.Module):
    """``features`` of MobileNetV3-Small; ``in_channels=1`` for grayscale word images.

    A 64x256 input yields a 576 x 2 x 8 feature map (stride 32). ``forward_with_mid``
    also returns the stride-16 map (48 channels after block 8) for the CTC head.
    """

    MID_INDEX = 8  # features[8] outputs 48 channels at stride 16
    MID_CHANNELS = 48

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, 16, 3, 2, activation=nn.Hardswish)]
        layers += [InvertedResidual(c) for c in SMALL_SETTINGS]
        layers.append(Conv2dNormActivation(96, FEATURE_CHANNELS, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's init, so from-scratch training behaves the same."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_with_mid(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mid = x
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == self.MID_INDEX:
                mid = x
        return x, mid


def load_torchvision_features(model: MobileNetV3Small, tv_state: dict[str, torch.Tensor]) -> None:
    """Load a torchvision ``mobilenet_v3_small`` state_dict (its ``features.*`` keys).

    A 3-channel stem is averaged to 1 channel when ``model`` is grayscale.
    """
    own = model.state_dict()
    new = {}
    for k, v in tv_state.items():
        if not k.startswith("features."):
            continue
        if k == "features.0.0.weight" and v.shape[1] != own[k].shape[1]:
            v = v.sum(dim=1, keepdim=True) if own[k].shape[1] == 1 else v
        new[k] = v
    model.load_state_dict(new, strict=True)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

