"""Write tiny IAM and CASIA-HWDB downloads in their real on-disk formats, from rendered words."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from tests.helpers import fonts_for, render

IAM_HEADER = """#--- words.txt ---------------------------------------------------------------#
#
# iam database word information
#
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
#
#     a01-000u-00-00  -> word id for line 00 in form a01-000u
#     ok              -> result of word segmentation
#"""

# (word id, ok/err, transcription): form a01-000u by writer 000, form b02-001 by writer 017.
IAM_WORDS = [
    ("a01-000u-00-00", "ok", "Dog"),
    ("a01-000u-00-01", "ok", "cat"),
    ("a01-000u-00-02", "err", "water"),
    ("a01-000u-01-00", "ok", "the"),
    ("a01-000u-01-01", "ok", "New York"),  # a transcription with a space
    ("b02-001-00-00", "ok", "house"),
    ("b02-001-00-01", "ok", "&quot;"),
    ("b02-001-00-02", "ok", "tree"),
]
IAM_FORMS = "# forms.txt\na01-000u 000 2 prt 7 5 52 36\nb02-001 017 3 prt 6 4 41 22\n"


def iam_line(word_id: str, result: str, text: str) -> str:
    return f"{word_id} {result} 154 408 768 27 51 NN {text}"


def write_iam(root: Path, words=IAM_WORDS, ascii_dir: bool = True, forms: bool = True) -> Path:
    """An IAM folder: ascii/words.txt (+ forms.txt) and words/<a01>/<form>/<id>.png."""
    font = fonts_for("en")[0]
    txt_dir = root / "ascii" if ascii_dir else root
    txt_dir.mkdir(parents=True, exist_ok=True)
    lines = [IAM_HEADER] + [iam_line(*w) for w in words]
    (txt_dir / "words.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    if forms:
        (txt_dir / "forms.txt").write_text(IAM_FORMS, encoding="ascii")
    for word_id, _, text in words:
        form = "-".join(word_id.split("-")[:2])
        p = root / "words" / word_id.split("-")[0] / form / f"{word_id}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        render(text, font, size=28).convert("L").save(p)
    return root


def gnt_record(label: str, pixels: np.ndarray) -> bytes:
    """One .gnt record: size, GBK tag code, width, height, uint8 pixels (background 255)."""
    h, w = pixels.shape
    tag = label.encode("gbk")
    assert len(tag) == 2
    return struct.pack("<I2sHH", 10 + w * h, tag, w, h) + pixels.astype(np.uint8).tobytes()


def char_bitmap(ch: str, size: int = 32) -> np.ndarray:
    im = render(ch, fonts_for("zh")[0], size=size).convert("L")
    return np.asarray(im)


def write_gnt(path: Path, labels: list[str]) -> list[np.ndarray]:
    """A .gnt file of rendered characters; returns the bitmaps written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bitmaps = [char_bitmap(ch) for ch in labels]
    path.write_bytes(b"".join(gnt_record(ch, b) for ch, b in zip(labels, bitmaps)))
    return bitmaps


def lexicon_csv(path: Path) -> Path:
    """A small trilingual lexicon in the built-in lexicon's format (with provenance columns)."""
    rows = [("0", "test:dog", "dog", "狗", "perro"), ("1", "test:cat", "cat", "猫", "gato"),
            ("2", "test:water", "water", "水", "agua"), ("3", "test:tree", "tree", "树", "árbol"),
            ("4", "test:house", "house", "房子", "casa")]
    text = "semantic_id,key,en,zh,es,src_zh,note\n" + "".join(",".join(r) + ",test,\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    return path
