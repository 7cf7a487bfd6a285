"""The run's loss log (log.csv), trimmed back on resume, and the progress bar."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

LOG_FIELDS = ["stage", "step", "images", "lr", "loss", "i2t", "t2i", "sca", "ctc", "lex", "kd", "kd_ctc", "tau", "img_per_s", "elapsed_s"]


def append_log(path: Path, row: dict[str, Any]) -> None:
    """One row of log.csv (floats rounded), with the header when the file is new. An existing file
    keeps its own columns, so a run begun before a column was added resumes with a readable log."""
    new = not path.is_file()
    fields = LOG_FIELDS
    if not new:
        with path.open(newline="") as f:
            fields = next(csv.reader(f), None) or LOG_FIELDS
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()})


def trim_log(path: Path, stage: int, step: int) -> None:
    """Drop log rows written after the checkpoint we resume from."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if (int(r["stage"]), int(r["step"])) <= (stage, step)]
    if len(keep) != len(rows) and rows:
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(keep)


def progress_bar(enabled: bool, total: int, first: int, desc: str):
    """A tqdm bar over a stage's steps, or None when disabled or tqdm is missing."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=first, desc=desc, unit="step", dynamic_ncols=True)
