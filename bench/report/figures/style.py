"""What every figure shares: its result record, a pyplot-free matplotlib set-up, colours, saving.

matplotlib is imported inside functions so that importing the figures (and ``bench list``) stays light.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...registry.card import FAMILY_GROUPS

LANG_COLOURS = {"en": "#1f77b4", "zh": "#d62728", "es": "#2ca02c"}
EXTRA_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
FAMILY_COLOURS = {"ocr": "#1f77b4", "embedding": "#2ca02c", "vllm": "#9467bd", "ours": "#d62728"}
GROUP_COLOURS = {FAMILY_GROUPS[family]: colour for family, colour in FAMILY_COLOURS.items()}
# Fonts that draw Chinese, tried in order, so labels in any benchmark language render (not boxes).
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf",
                  "/usr/share/fonts/truetype/arphic/ukai.ttc")


@dataclass
class FigureResult:
    """One figure: where it was written, or why it was not (``paths`` empty), and its caption."""

    name: str
    title: str
    paths: list[Path] = field(default_factory=list)
    caption: str = ""
    note: str = ""

    @property
    def png(self) -> Path | None:
        return next((p for p in self.paths if p.suffix == ".png"), None)


def new_figure(width: float, height: float):
    """A pyplot-free Agg figure: no global state, safe in tests and servers. Margins are set by
    hand: constrained layout doubled the drawing time of the labelled scatter plots."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def rc(cjk: bool = False) -> dict[str, Any]:
    """rc settings; with ``cjk``, a fallback font for Chinese labels (only then: fallback slows
    every text layout down)."""
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    for path in CJK_FONT_FILES if cjk else ():
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
                families.append(font_manager.FontProperties(fname=path).get_name())
                break
            except (OSError, RuntimeError):
                continue
    return {"font.family": families, "svg.hashsalt": "xscript-bench", "axes.spines.top": False,
            "axes.spines.right": False, "font.size": 9}


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """PNG and SVG, without time stamps so that unchanged results give unchanged files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    fig.savefig(png, format="png", metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]
