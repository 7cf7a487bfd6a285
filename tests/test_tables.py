"""Tables come from stored runs only; reported rows are labelled and never mixed with measured ones."""
from pathlib import Path

import pandas as pd

from bench.cli import main

REPORTED = Path(__file__).resolve().parents[1] / "results" / "reported"


def test_table_from_stored_run_with_reported_rows(rendered_dataset, tmp_path, with_plugin, capsys):
    assert main(["run", "--adapters", "plugin-const,plugin-pixels", "--dataset", str(rendered_dataset),
                 "--results-dir", str(tmp_path), "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    assert main(["table", "--results-dir", str(tmp_path), "--reported", "--reported-dir", str(REPORTED)]) == 0
    out = capsys.readouterr().out
    assert "Constant (plug-in)" in out and "RapidOCR (reported)" in out
    t2 = pd.read_csv(tmp_path / "tables" / "table2_within.csv")
    measured = t2[t2["source"] == "measured"]
    assert set(measured["adapter"]) == {"plugin-const", "plugin-pixels"}
    # "dog" for every image: rank 1 for one English word and for the Spanish word closest to "dog";
    # Chinese words all tie at NES 0, so pessimistic ties rank every target last. Pooled: 2 of 18.
    assert measured.set_index("adapter").loc["plugin-const", "ood:acc@1"] == 2 / 18
    reported = t2[t2["source"] == "reported"]
    assert len(reported) == 30 and reported["method"].str.endswith("(reported)").all()
    assert reported.set_index("adapter").loc["ours", "ood:acc@1"] == 0.8605
    t3 = pd.read_csv(tmp_path / "tables" / "table3_cross.csv")
    row = t3[t3["adapter"] == "plugin-pixels"].iloc[0]
    dirs = ["en->zh", "zh->en", "zh->es", "es->zh", "es->en", "en->es"]
    assert abs(row["mean"] - row[dirs].mean()) < 1e-9
    assert t3[t3["adapter"] == "gme-qwen2vl-7b"]["mean"].iloc[0] == 42.89
    for ext in ("md", "tex", "csv"):
        assert (tmp_path / "tables" / f"table2_within.{ext}").stat().st_size > 100
