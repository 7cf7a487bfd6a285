"""One progress-bar factory for long work (tqdm; ``enabled=False`` gives tqdm's own no-op bar)."""
from __future__ import annotations

import sys


def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "img"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, mininterval=0.5,
                disable=not enabled)
