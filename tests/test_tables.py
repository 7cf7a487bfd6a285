"""Tables come from stored runs only; reported rows are labelled and never mixed with measured ones."""
import json
from pathlib import Path

import pandas as pd

from bench.cli import main
from bench.results.store import RunStore

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
    # the 6 Chinese words all tie at NES 0, so under the default (expected) rule each Chinese target
    # is first with probability 1/6. Pooled: (2 + 6/6) of 18.
    assert abs(measured.set_index("adapter").loc["plugin-const", "ood:acc@1"] - 3 / 18) < 1e-12
    assert set(measured["ties"]) == {"expected"}
    for ext in ("md", "tex"):
        assert "Ties (column ties): expected = " in (tmp_path / "tables" / f"table2_within.{ext}").read_text()
        assert "McSherry" in (tmp_path / "tables" / f"table3_cross.{ext}").read_text()
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
    # Acc@1 per language: "dog" reads the English "dog" (1 of 6), one Spanish word (1 of 6), and each
    # Chinese target ties 6 ways (6 x 1/6 of 6); the pooled 3/18 is their query-weighted mean
    by_lang = pd.read_csv(tmp_path / "tables" / "table2_within_by_lang.csv").set_index("adapter")
    const = by_lang.loc["plugin-const"]
    assert [const["ood:en"], const["ood:es"], const["ood:zh"]] == [1 / 6, 1 / 6, 1 / 6]
    assert const["run"] == measured.set_index("adapter").loc["plugin-const", "run"]


def test_tie_rule_is_a_run_setting_and_labels_rows(rendered_dataset, tmp_path, with_plugin, capsys):
    """--ties pessimistic is another run (own id), ranks every tied target last, and says so."""
    common = ["--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--results-dir", str(tmp_path),
              "--no-progress", "--quiet", "--latency-samples", "0", "--no-cross"]
    assert main(["run", *common, "--ties", "pessimistic"]) == 0
    assert main(["run", *common]) == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    rules = {json.loads((r / "run.json").read_text())["identity"]["ties"]: r.name for r in runs}
    assert set(rules) == {"pessimistic", "expected"}
    acc = {}
    for rule, run_id in rules.items():
        assert main(["table", "--results-dir", str(tmp_path), "--runs", run_id, "--out", str(tmp_path / rule)]) == 0
        t2 = pd.read_csv(tmp_path / rule / "table2_within.csv").set_index("adapter")
        assert t2.loc["plugin-const", "ties"] == rule
        acc[rule] = t2.loc["plugin-const", "ood:acc@1"]
        job = json.loads((tmp_path / "runs" / run_id / "jobs" / "plugin-const" / "ood" / "within-zh.json").read_text())
        assert job["ties"] == rule
        preds = RunStore(tmp_path / "runs" / run_id).read_predictions("plugin-const", "ood", "within-zh")
        assert all(p["better"] == 0 and p["tied"] == 5 for p in preds)  # every zh word ties at NES 0
    assert abs(acc["pessimistic"] - 2 / 18) < 1e-12 and abs(acc["expected"] - 3 / 18) < 1e-12
    capsys.readouterr()


def test_runs_stored_before_the_tie_rule_are_labelled_pessimistic(tmp_path, capsys):
    """The archived runs predate --ties: `bench table` still reads them and labels them pessimistic."""
    stored = REPORTED.parent / "archive"
    assert main(["table", "--results-dir", str(stored), "--runs", "xsb-builtin-1-b4c56e95,xsb-builtin-1-91c4134b",
                 "--out", str(tmp_path)]) == 0
    t2 = pd.read_csv(tmp_path / "table2_within.csv")
    assert len(t2) >= 2 and set(t2["ties"]) == {"pessimistic"}
    assert "pessimistic = the target ranked after every candidate tied with it" in \
        (tmp_path / "table2_within.md").read_text()
    assert set(pd.read_csv(tmp_path / "table3_cross.csv")["ties"]) == {"pessimistic"}
    capsys.readouterr()


def test_a_run_stored_before_the_tie_rule_resumes_as_pessimistic(rendered_dataset, tmp_path, with_plugin, capsys):
    """An old run.json has no "ties": --resume continues it with the rule it was computed under."""
    common = ["--results-dir", str(tmp_path), "--no-progress", "--quiet", "--latency-samples", "0"]
    assert main(["run", "--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--no-cross",
                 "--ties", "pessimistic", "--run-id", "old", *common]) == 0
    man_path = tmp_path / "runs" / "old" / "run.json"
    man = json.loads(man_path.read_text())
    del man["identity"]["ties"], man["config"]["ties"]
    man_path.write_text(json.dumps(man))
    assert main(["run", "--resume", "old", "--adapters", "plugin-pixels", *common]) == 0
    job = json.loads((tmp_path / "runs" / "old" / "jobs" / "plugin-pixels" / "ood" / "within-en.json").read_text())
    assert job["status"] == "done" and job["ties"] == "pessimistic"
    assert main(["run", "--resume", "old", "--ties", "expected", *common]) == 2  # another rule: another run
    capsys.readouterr()
