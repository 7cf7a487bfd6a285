"""Small real data for tests: words rendered with installed fonts into a manifest folder."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from bench.dataset import write_dataset

# A hand-made trilingual mini lexicon (semantic ids shared by translations).
MINI_LEXICON = [
    ("dog", "狗", "perro"), ("cat", "猫", "gato"), ("water", "水", "agua"), ("house", "房子", "casa"),
    ("tree", "树", "árbol"), ("book", "书", "libro"), ("fish", "鱼", "pez"), ("moon", "月亮", "luna"),
    ("bread", "面包", "pan"), ("heart", "心脏", "corazón"), ("river", "河", "río"), ("apple", "苹果", "manzana"),
]
LATIN_FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"]
CJK_FONTS = ["/usr/share/fonts/truetype/arphic/ukai.ttc",
             "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf"]


def fonts_for(lang: str) -> list[str]:
    fonts = [f for f in (CJK_FONTS if lang == "zh" else LATIN_FONTS) if Path(f).is_file()]
    if not fonts:
        import pytest

        pytest.skip(f"no test font for {lang}: apt-get install fonts-dejavu-core fonts-arphic-ukai")
    return fonts


def render(text: str, font_path: str, size: int = 40) -> Image.Image:
    """A clean printed word on white: something every OCR engine should read."""
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left + 24, bottom - top + 24
    im = Image.new("RGB", (max(w, 32), max(h, 32)), "white")
    ImageDraw.Draw(im).text((12 - left, 12 - top), text, fill="black", font=font)
    return im


def lexicon_frame(n: int | None = None) -> pd.DataFrame:
    rows = MINI_LEXICON[:n] if n else MINI_LEXICON
    return pd.DataFrame([{"semantic_id": i, "key": f"test:{i}", "en": en, "zh": zh, "es": es}
                         for i, (en, zh, es) in enumerate(rows)])


def make_dataset(root: Path, n_words: int = 6, styles: int = 1, splits=("ood",), with_lexicon: bool = True) -> Path:
    """Render ``n_words`` concepts x languages x styles x splits into a manifest folder."""
    root.mkdir(parents=True, exist_ok=True)
    lex = lexicon_frame(n_words)
    rows = []
    for split in splits:
        for lang in ("en", "zh", "es"):
            fonts = fonts_for(lang)
            for s in range(styles):
                font = fonts[s % len(fonts)]
                for sid, word in zip(lex["semantic_id"], lex[lang]):
                    rel = f"images/{split}/{lang}/{s}_{sid}.png"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    render(word, font).save(root / rel)
                    rows.append({"path": rel, "text": word, "semantic_id": int(sid), "lang": lang,
                                 "style": f"font{s}", "split": split})
    lexicon = None
    if with_lexicon:
        lex.to_csv(root / "lexicon.csv", index=False)
        lexicon = "lexicon.csv"
    return write_dataset(root, rows, name="testset", lexicon=lexicon)
