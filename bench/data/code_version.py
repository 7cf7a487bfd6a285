"""The built-in dataset's code version: a hash of the synthesizer and split sources.

A change in how images are made must rebuild the cached dataset, so the version hashes the source
files that make them. A refactor that leaves every image and the split byte-identical maps its new
hash to the version it replaces (``SAME_OUTPUT_AS``): the dataset fingerprint, and the run ids
derived from it, survive the refactor. This file is not hashed itself, so an entry can name the
hash of the sources it sits beside.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CODE_FILES = ("builtin.py", "synth/__init__.py", "synth/writers.py", "synth/render.py", "synth/pen.py",
              "synth/fontdraw.py", "synth/augment.py", "synth/store.py", "synth/casing.py",
              "synth/polyline.py", "synth/skeletons.py", "synth/scan.py")

# source hash -> the version whose images it reproduces byte for byte (checked by rendering words
# with writers of every kind in every language, and by comparing the build plan)
SAME_OUTPUT_AS: dict[str, str] = {
    "b6b629a073d7": "1e44bf3e5541",  # #16: the synthesizer split into polyline, skeletons and scan
    "7afc19f4b100": "1e44bf3e5541",  # #13: running-script pens (training only; every built image compared)
    "9f055df37066": "1e44bf3e5541",  # #13: training-only fonts (bench/data/train_assets; all 96,140 images compared)
}


def source_hash() -> str:
    """Hash of the package version and the synthesizer and split source files."""
    import bench

    h = hashlib.sha256(bench.__version__.encode())
    here = Path(__file__).resolve().parent
    for f in CODE_FILES:
        h.update((here / f).read_bytes())
    return h.hexdigest()[:12]


def code_version() -> str:
    """The code version of the built-in dataset: the source hash, or the version it reproduces."""
    version = source_hash()
    return SAME_OUTPUT_AS.get(version, version)
