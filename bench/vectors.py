"""Row-wise L2 normalization: the one definition adapters, scoring, geometry and figures share."""
from __future__ import annotations

import numpy as np


def l2_normalize(x, dtype=np.float32) -> np.ndarray:
    """Each row scaled to unit length in ``dtype`` (a zero row stays zero instead of dividing by 0)."""
    x = np.asarray(x, dtype=dtype)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
