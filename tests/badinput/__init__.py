"""The bad-input corpus: broken images, hostile paths and broken manifests, generated at test time.

``build_image_dataset`` writes one English manifest folder mixing good word images with every
image case of ``images.READ`` / ``images.SKIP`` and every path case below, and returns what each
row must come to: ``Expect("read", paper=...)`` or ``Expect("skip", needle=...)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.dataset import write_dataset
from tests.helpers import fonts_for, render

from . import images


@dataclass(frozen=True)
class Expect:
    outcome: str  # "read" or "skip"
    needle: str = ""
    paper: int = 255
    check_ink: bool = True


GOOD_WORDS = ("dog", "cat", "water")


def _path_cases(root: Path) -> dict[str, Expect]:
    """Files whose *path* is the problem; returns manifest path -> expectation."""
    out: dict[str, Expect] = {}
    good = images.good_png()
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.png").write_bytes(good)
    d = root / "paths"
    d.mkdir(parents=True, exist_ok=True)
    (d / "escape_file.png").symlink_to(outside / "secret.png")
    out["paths/escape_file.png"] = Expect("skip", "outside the dataset folder")
    (d / "escape_dir").symlink_to(outside, target_is_directory=True)
    out["paths/escape_dir/secret.png"] = Expect("skip", "outside the dataset folder")
    (d / "inside_target.png").write_bytes(good)
    (d / "inside_link.png").symlink_to("inside_target.png")
    out["paths/inside_link.png"] = Expect("read")
    (d / "loop_a.png").symlink_to("loop_b.png")
    (d / "loop_b.png").symlink_to("loop_a.png")
    out["paths/loop_a.png"] = Expect("skip", "")
    out["paths/missing.png"] = Expect("skip", "file not found")
    (d / "a_folder.png").mkdir()
    out["paths/a_folder.png"] = Expect("skip", "not a regular file")
    os.mkfifo(d / "fifo.png")  # opening it for reading would block forever
    out["paths/fifo.png"] = Expect("skip", "not a regular file")
    return out


def build_image_dataset(root: Path) -> tuple[Path, dict[str, Expect]]:
    """Write the image corpus as one dataset (split ood, language en); ids are the paths."""
    root.mkdir(parents=True, exist_ok=True)
    font = fonts_for("en")[0]
    expect: dict[str, Expect] = {}
    rows = []
    for w in GOOD_WORDS:
        rel = f"good/{w}.png"
        (root / rel).parent.mkdir(exist_ok=True)
        render(w, font).save(root / rel)
        expect[rel] = Expect("read", check_ink=False)
        rows.append((rel, w))
    (root / "cases").mkdir(exist_ok=True)
    for case in images.READ + images.SKIP:
        rel = f"cases/{case.name}{case.suffix}"
        case.make(root / rel)
        expect[rel] = (Expect("read", paper=case.paper) if case.needle is None else Expect("skip", case.needle))
    for rel, exp in _path_cases(root).items():
        expect[rel] = exp
    rows += [(rel, "dog") for rel in expect if not rel.startswith("good/")]
    write_dataset(root, [{"path": rel, "text": text, "semantic_id": -1, "lang": "en", "style": "s", "split": "ood"}
                         for rel, text in rows], name="badinput")
    return root, expect
