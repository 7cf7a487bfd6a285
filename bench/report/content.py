"""What the ``bench report`` page shows, as plain records: gathered by ``gather``, laid out by
``page``. Kept apart from both so the page depends on the records, never on the gathering."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from . import plots

WORST_N = 20  # worst queries listed per adapter


@dataclass
class Table:
    """A table ready for the page: its title, a note, the frame and its column order."""

    title: str
    df: pd.DataFrame
    columns: list[str] | None = None
    note: str = ""
    floatfmt: str = ".4f"


@dataclass
class WorstQuery:
    split: str
    lang: str
    path: str
    thumb: str | None  # data URI, or None when the image cannot be read
    thumb_error: str
    target: str
    transcription: str | None
    rank: int
    gallery_size: int | None
    topk: list[tuple[str, float | None]]


@dataclass
class AdapterWorst:
    adapter: str
    method: str
    acc1: float | None
    n: int
    misses: int = 0  # queries whose target was not ranked first
    queries: list[WorstQuery] = field(default_factory=list)


@dataclass
class ReportContent:
    """Everything the page shows, gathered from the store."""

    run_id: str
    manifest: dict
    split: str
    summary: list[tuple[str, str]]
    provenance: list[dict]
    tables: list[Table]
    reported_tables: list[Table]
    per_language: list[Table]
    adapters: Table
    not_run: Table
    figures: list[plots.FigureResult]
    figure_uris: dict[str, str]
    worst: list[AdapterWorst]
