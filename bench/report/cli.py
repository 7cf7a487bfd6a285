"""``bench report`` and ``bench plot``: pages and figures from stored runs (never a live model)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BenchError


def _run_ids(values: list[str] | None, results_dir: Path) -> list[str]:
    """Run ids from repeated/comma-separated --run options, else every stored run."""
    from ..results.store import list_runs

    ids = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    if ids:
        return ids
    runs = [r.run_id for r in list_runs(results_dir)]
    if not runs:
        raise BenchError(f"no runs under {results_dir / 'runs'}; run `bench run` first")
    return runs


def cmd_plot(args: argparse.Namespace) -> int:
    from . import plots

    results_dir = Path(args.results_dir)
    reported = Path(args.reported_dir) if args.reported_dir else None
    for run_id in _run_ids(args.runs, results_dir):
        print(f"# run {run_id}")
        for fig in plots.plot_run(results_dir, run_id, args.split, reported):
            if fig.paths:
                print(f"{fig.title}: " + ", ".join(str(p) for p in fig.paths)
                      + (f"\n  note: {fig.note}" if fig.note else ""))
            else:
                print(f"{fig.title}: skipped ({fig.note})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .gather import write_report

    results_dir = Path(args.results_dir)
    path = write_report(results_dir, args.run_id, args.split,
                        Path(args.reported_dir) if args.reported_dir else None,
                        Path(args.out) if args.out else None, args.worst)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained); open file://{path.resolve()}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="write one self-contained HTML page (tables, figures, worst queries) for a run")
    p.add_argument("run_id", help="a run id under RESULTS_DIR/runs (see `ls results/runs`)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--split", default="ood", help="split of Figure 3 and 4 (default ood)")
    p.add_argument("--reported-dir", default=None, help="the paper's numbers (default RESULTS_DIR/reported)")
    p.add_argument("--out", default=None, help="HTML file (default RESULTS_DIR/runs/RUN_ID/report.html)")
    p.add_argument("--worst", type=int, default=20, help="worst queries shown per adapter (default 20)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot", help="regenerate Figures 3-5 (PNG and SVG) from stored runs")
    p.add_argument("--run", dest="runs", action="append", metavar="RUN_ID",
                   help="run id (repeat or comma-separate; default: every stored run)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--split", default="ood", help="split of Figure 3 and 4 (default ood)")
    p.add_argument("--reported-dir", default=None, help="the paper's numbers (default RESULTS_DIR/reported)")
    p.set_defaults(func=cmd_plot)

