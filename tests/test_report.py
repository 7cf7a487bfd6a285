"""Table 4 from a stored run, and the one-page HTML report, checked as text and in a real browser."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from tests.report_helpers import pixel_stats, stored_run

REPORTED = Path(__file__).resolve().parents[1] / "results" / "reported"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--disable-extensions", "--mute-audio"]


@pytest.fixture(scope="session")
def run(tmp_path_factory, plugin_env):
    return stored_run(tmp_path_factory.getbasetemp() / "report-run", plugin_env)


@pytest.fixture(scope="session")
def report(run):
    results, run_id = run
    assert main(["report", run_id, "--results-dir", str(results), "--reported-dir", str(REPORTED)]) == 0
    path = results / "runs" / run_id / "report.html"
    return path, path.read_text(encoding="utf-8")


def test_table4_from_stored_geometry_jobs(run, tmp_path, capsys):
    results, run_id = run
    assert main(["table", "--results-dir", str(results), "--reported", "--reported-dir", str(REPORTED),
                 "--out", str(tmp_path)]) == 0
    assert "table4_geometry.csv" in capsys.readouterr().err
    t4 = pd.read_csv(tmp_path / "table4_geometry.csv")
    assert list(t4.columns[:8]) == ["group", "method", "adapter", "source", "R", "D", "ood:acc@1", "R/D"]
    measured = t4[t4["source"] == "measured"].set_index("adapter")
    assert list(measured.index) == ["plugin-pixels"]  # embedding adapters and ours only: no OCR rows
    geo = json.loads((results / "runs" / run_id / "jobs" / "plugin-pixels" / "ood" / "geometry.json").read_text())
    g = geo["geometry"]
    row = measured.loc["plugin-pixels"]
    assert row["R"] == pytest.approx(g["R"]) and row["D"] == pytest.approx(g["D"])
    assert row["R/D"] == pytest.approx(g["R"] / g["D"])
    for pair, d in g["language_centre_distances"].items():
        assert row[f"centre:{pair}"] == pytest.approx(d)
    t2 = pd.read_csv(tmp_path / "table2_within.csv").set_index("adapter")
    assert row["ood:acc@1"] == pytest.approx(t2.loc["plugin-pixels", "ood:acc@1"])
    assert row["n_points"] == g["n_points"]
    reported = t4[t4["source"] == "reported"].set_index("adapter")
    assert len(reported) == 15 and reported.loc["ours", "R/D"] == 0.891
    assert reported["method"].str.endswith("(reported)").all()
    md = (tmp_path / "table4_geometry.md").read_text()
    assert "Pixels (plug-in)" in md and "Ours (reported)" in md
    assert (tmp_path / "table4_geometry.tex").read_text().count("\\\\") >= 16


def test_report_page_is_self_contained_and_complete(report, run):
    path, html = report
    results, run_id = run
    # no network: every image is a data URI, no external stylesheet, script or font
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) >= 3 + 16 and all(s.startswith("data:image/png;base64,") for s in srcs)
    # tables: within, cross, geometry, per-language, adapters, with the measured rows
    for title in ("Table 2: within-language", "Table 3: cross-language", "Table 4: embedding geometry",
                  "Per-language breakdown", "Worst queries", "Provenance"):
        assert title in html
    assert html.count("<td>Pixels (plug-in)</td>") >= 4
    assert "Constant (plug-in) + lexicon" in html
    # the unavailable adapter and its reason
    assert "plugin-missing" in html and "xsb_no_such_module" in html
    # provenance from run.json
    manifest = json.loads((results / "runs" / run_id / "run.json").read_text())
    inv = manifest["invocations"][-1]
    assert "bench run --adapters plugin-const,plugin-pixels,plugin-missing" in html
    assert (inv["git"]["commit"] or "unknown") in html and inv["start"] in html
    # worst queries: the constant "dog" engine misses 16 of its 18 within-language queries (it ranks
    # "dog" and "árbol" first); all 16 are listed, worst (rank 6) first, each with its image
    block = html.split('id="worst-plugin-const"')[1].split("</details>")[0]
    ranks = [int(r) for r in re.findall(r'<td class="num">(\d+) / 6</td>', block)]
    assert len(ranks) == 16 and ranks == sorted(ranks, reverse=True) and ranks[0] == 6 and min(ranks) > 1
    assert "16 missed" in block and "<b>dog</b>" not in block and "<b>perro</b>" in block
    assert block.count("data:image/png;base64,") == 16


def test_report_for_unknown_run_is_a_one_line_error(run, capsys):
    results, _ = run
    assert main(["report", "no-such-run", "--results-dir", str(results)]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_report_renders_in_a_headless_browser(report, tmp_path):
    path, _ = report
    url = path.resolve().as_uri()
    flags = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    # one browser start: the DOM after the load event on stdout, and a screenshot of the first screen
    dom = subprocess.run([*flags, "--window-size=1280,1800", f"--screenshot={shot}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    # the page's load handler counts images that the browser actually decoded
    body = re.search(r"<body[^>]*>", dom).group(0)
    total = int(re.search(r'data-images-total="(\d+)"', body).group(1))
    decoded = int(re.search(r'data-images-decoded="(\d+)"', body).group(1))
    assert total >= 19 and decoded == total
    assert "<td>Pixels (plug-in)</td>" in dom and "Table 4: embedding geometry" in dom
    assert shot.is_file() and shot.stat().st_size > 50_000
    std, ink = pixel_stats(shot)
    assert std > 30 and ink > 0.03  # text, tables and figures drawn, not an empty page
