"""The lexicon bridge: transcription -> nearest query-language word -> its id -> target word."""
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.results.store import RunStore


def _run(ds, results, monkeypatch, text):
    monkeypatch.setenv("XSB_TEST_CONST", text)
    assert main(["run", "--adapters", "plugin-const", "--dataset", str(ds), "--results-dir", str(results),
                 "--no-progress", "--quiet", "--latency-samples", "1", "--no-cache"]) == 0
    return RunStore(next(Path(results, "runs").iterdir()))


def test_one_edit_away_maps_to_that_concept_in_the_target_language(rendered_dataset, tmp_path, with_plugin,
                                                                   monkeypatch):
    store = _run(rendered_dataset, tmp_path, monkeypatch, "dogg")  # one insertion away from "dog"
    preds = store.read_predictions("plugin-const+lexicon", "ood", "cross-en-zh")
    assert all(p["topk"][0] == "狗" for p in preds)  # dog's semantic id, in Chinese
    by_target = {p["target"]: p["rank"] for p in preds}
    assert by_target["狗"] == 1
    # the plain mode ranks Chinese words by edit distance to "dogg": all tie at 0, targets last
    plain = store.read_predictions("plugin-const", "ood", "cross-en-zh")
    assert all(p["rank"] == 6 for p in plain)
    rec = json.loads(store.job_path("plugin-const+lexicon", "ood", "cross-en-zh").read_text())
    assert rec["mode"] == "lexicon" and rec["metrics"]["acc@1"] == pytest.approx(1 / 6)
    card = store.read_adapter("plugin-const+lexicon")["card"]
    assert card["row_name"] == "Constant (plug-in) + lexicon"


def test_second_ranked_concept_follows_query_language_similarity(rendered_dataset, tmp_path, with_plugin,
                                                                 monkeypatch):
    store = _run(rendered_dataset, tmp_path, monkeypatch, "gato")  # Spanish for cat
    preds = store.read_predictions("plugin-const+lexicon", "ood", "cross-es-en")
    assert preds[0]["topk"][0] == "cat"


def test_empty_transcription_gives_a_defined_ranking(rendered_dataset, tmp_path, with_plugin, monkeypatch):
    store = _run(rendered_dataset, tmp_path, monkeypatch, "")
    preds = store.read_predictions("plugin-const+lexicon", "ood", "cross-es-zh")
    assert [p["rank"] for p in preds] == [6] * 6  # every concept ties; the target is shown last
    assert all(p["better"] == 0 and p["tied"] == 5 for p in preds)
    m = store.read_job("plugin-const+lexicon", "ood", "cross-es-zh")["metrics"]  # expected over tie orders
    assert m["acc@1"] == pytest.approx(1 / 6) and m["acc@5"] == pytest.approx(5 / 6)
    assert m["mrr"] == pytest.approx(sum(1 / r for r in range(1, 7)) / 6)
    assert all(len(p["topk"]) == 5 for p in preds)
