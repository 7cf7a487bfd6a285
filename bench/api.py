"""The harness's public API for programmatic use (as MTEB's ``mteb.evaluate``): run a benchmark, read
stored runs back, and build or write tables, without reaching into the runner or the table code.

Code outside ``bench/`` (``ours``'s ablation and fusion-weight sweep) imports only this module, so the
harness may move its internals freely while these names keep their meaning.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from bench.dataset import Dataset
from bench.registry.adapter import AdapterOptions
from bench.report import tables
from bench.run.runner import RunConfig, Runner
from bench.scoring.protocols import Task, TaskData, build_task

__all__ = ["RunConfig", "run", "collect", "within_table", "write_table", "to_markdown",
           "AdapterOptions", "Dataset", "Task", "TaskData", "build_task", "builtin_dataset"]


def run(config: RunConfig, argv: list[str] | None = None) -> str:
    """Run (or resume) the benchmark described by ``config``; returns the run id in its results folder."""
    return Runner(config, argv).run()


def collect(results_dir: Path, run_ids: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """(jobs, adapters): the finished job records and adapter records of the stored runs ``run_ids``."""
    return tables.collect(Path(results_dir), run_ids)


def within_table(jobs: pd.DataFrame, adapters: list[dict], splits: list[str] | None = None) -> pd.DataFrame:
    """Within-language metrics per adapter, pooled over languages, one column group per split."""
    return tables.within_table(jobs, adapters, splits)


def write_table(df: pd.DataFrame, out_dir: Path, stem: str, columns: list[str] | None = None) -> list[Path]:
    """``stem``.md, .tex and .csv of ``df`` in ``out_dir`` (``columns`` fixes the order)."""
    return tables.write_table(df, Path(out_dir), stem, columns=columns)


def to_markdown(df: pd.DataFrame, floatfmt: str = ".4f", columns: list[str] | None = None,
                note: bool = True) -> str:
    """A Markdown table as ``bench table`` prints it (with the tie-rule note when ``note``)."""
    return tables.to_markdown(df, floatfmt, columns, note)


def builtin_dataset() -> Dataset:
    """The built-in benchmark at its default scale, built once and cached."""
    from bench.data import builtin

    return Dataset.load(builtin.ensure_built())
