"""loss.png: the loss curves of a run's log.csv against images seen, stages split by a dashed line."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def plot_log(run: Path) -> None:
    """loss.png from log.csv (matplotlib is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    p = run / "log.csv"
    if not p.is_file():
        return
    with p.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.array([float(r["images"]) for r in rows])
    for key in ("loss", "i2t", "t2i", "sca", "ctc", "lex", "kd", "kd_ctc"):
        y = [float(r[key]) if r.get(key) not in ("", None) else np.nan for r in rows]
        if not np.all(np.isnan(y)):
            ax.plot(x, y, label=key, lw=1)
    for s in sorted({r["stage"] for r in rows})[1:]:
        first = next(float(r["images"]) for r in rows if r["stage"] == s)
        ax.axvline(first, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("images seen")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run / "loss.png", dpi=100)
    plt.close(fig)
