"""Reading a results folder back for comparisons: job files without timestamps, and rewrite marks."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np


def job_files(results: Path) -> dict[str, object]:
    """Every job file of every run, as content: metrics JSON without its `finished` stamp and
    `image_outputs` counts, decoded predictions, raw bytes of anything else. Temporary files are
    left out (they are never results)."""
    out: dict[str, object] = {}
    for p in sorted(Path(results).glob("runs/*/jobs/*/*/*")):
        if p.name.endswith(".tmp"):
            continue
        key = str(p.relative_to(results))
        if p.name.endswith(".predictions.jsonl.gz"):
            out[key] = [json.loads(line) for line in gzip.decompress(p.read_bytes()).decode().splitlines()]
        elif p.suffix == ".json":
            rec = json.loads(p.read_text())
            rec.pop("finished", None)
            rec.pop("image_outputs", None)  # where the outputs came from (computed or cache), not what they are
            out[key] = rec
        else:
            out[key] = p.read_bytes()
    return out


def finished_marks(results: Path, done_only: bool = True) -> dict[str, tuple]:
    """Per job JSON: its `finished` stamp and inode (an atomic rewrite always changes the inode)."""
    marks = {}
    for p in Path(results).glob("runs/*/jobs/*/*/*.json"):
        rec = json.loads(p.read_text())
        if not done_only or rec.get("status") == "done":
            marks[str(p.relative_to(results))] = (rec.get("finished"), p.stat().st_ino)
    return marks


def assert_final_files_whole(*folders: Path) -> int:
    """Every file under a final name parses completely; returns how many temporaries lie around."""
    temps = 0
    for folder in folders:
        for p in Path(folder).rglob("*"):
            if not p.is_file() or p.name.endswith(".lock"):
                continue
            if p.name.endswith(".tmp"):
                temps += 1
            elif p.suffix == ".json":
                json.loads(p.read_text(encoding="utf-8"))
            elif p.name.endswith(".gz"):
                for line in gzip.decompress(p.read_bytes()).decode().splitlines():
                    json.loads(line)
            elif p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as z:
                    [z[k] for k in z.files]
    return temps
