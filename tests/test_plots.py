"""Figures 3-5 are drawn from stored results only, written as PNG and SVG, and are not blank."""
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from bench.report import plots
from bench.cli import main
from tests.report_helpers import PERF_RECORD, pixel_stats, stored_run

REPORTED = Path(__file__).resolve().parents[1] / "results" / "reported"


@pytest.fixture(scope="session")
def run(tmp_path_factory, plugin_env):
    return stored_run(tmp_path_factory.getbasetemp() / "report-run", plugin_env)


@pytest.fixture(scope="session")
def plotted(run):
    """`bench plot` on the stored run: (its stdout, the figures folder)."""
    results, run_id = run
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["plot", "--run", run_id, "--results-dir", str(results), "--reported-dir", str(REPORTED)]) == 0
    return out.getvalue(), results / "runs" / run_id / "figures"


NAMES = ("figure3_accuracy_cost", "figure4_embedding_map", "figure5_int8_fp32")


def test_every_figure_is_written_as_png_and_svg_and_is_not_blank(plotted):
    stdout, folder = plotted
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.{e}" for n in NAMES for e in ("png", "svg"))
    for name in NAMES:
        png, svg = folder / f"{name}.png", folder / f"{name}.svg"
        assert str(png) in stdout and str(svg) in stdout
        assert png.stat().st_size > 15_000 and svg.stat().st_size > 10_000, name
        std, ink = pixel_stats(png)
        assert std > 20 and 0.01 < ink < 0.6, (name, std, ink)  # drawn on, yet not a filled block
        assert svg.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))


def test_figure3_places_measured_points_and_says_which_it_could_not(plotted):
    stdout, folder = plotted
    # The plug-ins report no parameter count: they are on the latency panel only, and the note says so.
    assert "note: not on the parameters panel (no parameter count): Constant (plug-in), Pixels (plug-in)" in stdout
    svg = (folder / "figure3_accuracy_cost.svg").read_text(encoding="utf-8")
    assert "Pixels (plug-in)" in svg and "InternVL3.5-8B" in svg  # measured and reported labels


def test_figure4_shows_the_embedding_adapter_with_centre_distances(run, plotted):
    results, run_id = run
    svg = (plotted[1] / "figure4_embedding_map.svg").read_text(encoding="utf-8")
    geo = json.loads((results / "runs" / run_id / "jobs" / "plugin-pixels" / "ood" / "geometry.json").read_text())
    d = geo["geometry"]["language_centre_distances"]["en-zh"]
    assert "Pixels (plug-in)" in svg and f"en-zh: {d:.3f}" in svg and ("PCA" in svg or "UMAP" in svg)


def test_figure5_reads_the_perf_record_and_is_skipped_without_one(plotted, tmp_path):
    svg = (plotted[1] / "figure5_int8_fp32.svg").read_text(encoding="utf-8")
    assert "int8 / fp32 = 0.40x" in svg  # latency 0.8 / 2.0
    skipped = plots.figure5(plots.find_perf_record(tmp_path), tmp_path / "figs")
    assert skipped.paths == [] and "bench perf ours" in skipped.note
    assert not (tmp_path / "figs").exists()


def test_perf_record_choice_newest_with_both_precisions(tmp_path):
    perf = tmp_path / "perf"
    perf.mkdir()
    old = dict(PERF_RECORD, created="2025-01-01T00:00:00+00:00")
    new = dict(PERF_RECORD, created="2026-06-01T00:00:00+00:00",
               variants=[{"name": "fp32", "latency_ms": 3.0, "size_mb": 5.0, "acc@1": 0.5},
                         {"name": "int8", "latency_ms": 1.0, "size_mb": 1.5, "acc@1": 0.49}])
    fp32_only = dict(PERF_RECORD, created="2027-01-01T00:00:00+00:00", variants=PERF_RECORD["variants"][:1])
    for name, rec in (("a.json", old), ("b.json", new), ("c.json", fp32_only)):
        (perf / name).write_text(json.dumps(rec))
    (perf / "broken.json").write_text("{not json")
    path, rec = plots.find_perf_record(tmp_path)
    assert path.name == "b.json" and rec["variants"][0]["name"] == "fp32"


def test_pca_projection_keeps_the_main_direction():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 0, 0, 0]) + 0.01 * rng.standard_normal((20, 4))
    b = np.array([0, 1.0, 0, 0]) + 0.01 * rng.standard_normal((20, 4))
    xy, method = plots.project_2d(np.vstack([a, b]))
    if method == "PCA":
        assert xy.shape == (40, 2)
        first = xy[:, 0]
        assert (first[:20] > 0).all() != (first[20:] > 0).all()  # the two groups fall on either side
        assert np.abs(first).min() > 5 * np.abs(xy[:, 1]).max()


def test_bench_plot_unknown_run_is_a_one_line_error(run, capsys):
    results, _ = run
    assert main(["plot", "--run", "no-such-run", "--results-dir", str(results)]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_featured_adapters_come_from_their_cards_and_old_runs_from_the_registry():
    from bench.report.figures.cards import is_featured, presented_cards

    stored = [{"adapter": "plugin-x", "card": {"family": "embedding", "featured": True}},
              {"adapter": "ours", "card": {"family": "ours"}},  # stored before cards had the field
              {"adapter": "ours-int8", "card": {"family": "ours", "featured": False}}]
    cards = presented_cards(["ours", "ours-int8", "plugin-x", "rapidocr", "unknown"], stored)
    assert is_featured(cards["plugin-x"]) and is_featured(cards["ours"])
    assert not is_featured(cards["ours-int8"]) and not is_featured(cards["rapidocr"]) and cards["unknown"] == {}
    assert cards["ours"]["variant_of"] is None and cards["ours-int8"]["variant_of"] == "ours"
