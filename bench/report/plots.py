"""Figures 3-5 of the paper, drawn from a run's stored results only (never from a live model).

- Figure 3 (``figures.accuracy_cost``): accuracy against parameters and latency.
- Figure 4 (``figures.embedding_map``): a 2-D map of the shared space for the featured model and the
  best embedding baseline.
- Figure 5 (``figures.int8_fp32``): our model in fp32 against int8, from a ``bench perf ours`` record.
Each figure is saved as PNG and SVG under ``results/runs/<id>/figures/``. matplotlib is imported
inside functions so that importing this module (and ``bench list``) stays light.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..results.store import RunStore
from . import tables
from .figures.accuracy_cost import figure3
from .figures.embedding_map import MapPanel, figure4, map_panels, project_2d  # noqa: F401
from .figures.int8_fp32 import figure5, find_perf_record
from .figures.style import FigureResult  # noqa: F401  (what plot_run returns)

FIGURES_DIR = "figures"


def _hardware_label(manifest: dict) -> str:
    inv = (manifest.get("invocations") or [{}])[-1]
    hw = inv.get("hardware", {}) or {}
    gpu = ", ".join(hw.get("gpu", []) or [])
    where = gpu if inv.get("device", "cpu") != "cpu" and gpu else hw.get("cpu", "")
    return f"{where}, {inv.get('threads', '?')} thread(s)" if where else ""


def plot_run(results_dir: Path, run_id: str, split: str = "ood",
             reported_dir: Path | None = None) -> list[FigureResult]:
    """Every figure of one stored run, written under its ``figures/`` folder."""
    results_dir = Path(results_dir)
    store = RunStore.open(results_dir, run_id, create=False)
    jobs, adapters = tables.collect(results_dir, [run_id])
    out = store.root / FIGURES_DIR
    within = tables.within_table(jobs, adapters) if not jobs.empty else pd.DataFrame()
    reported = tables.load_reported(Path(reported_dir) if reported_dir else results_dir / "reported",
                                    "table2_within.csv")
    manifest = store.read_manifest() or {}
    figs = [figure3(within, reported, split, out, _hardware_label(manifest), adapters)]
    panels = map_panels(store, jobs, adapters, split) if not jobs.empty else []
    seed = int(manifest.get("identity", {}).get("seed", 0) or 0)
    figs.append(figure4(panels, out, seed))
    figs.append(figure5(find_perf_record(results_dir), out))
    return figs
