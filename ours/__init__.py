"""Our model: a MobileNetV3-Small image tower aligned to a multilingual text tower.

Submodules import torch; this package file stays import-light so that
`import ours` is cheap for the harness.
"""

__all__ = ["mobilenetv3", "preprocess", "e5", "model", "losses", "sampler", "train", "export", "cli"]
