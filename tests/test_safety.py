"""Safety: no remote model code without --trust-remote-code, and a dataset folder cannot make the
harness read files outside it, not even through symlinks."""
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from bench import registry
from bench.registry.adapter import AdapterOptions
from bench.cli import main
from bench.dataset import Dataset, ImageLoadError
from bench.results.store import RunStore
from tests.helpers import make_dataset


def _run(results: Path, *args: str) -> int:
    return main(["run", *args, "--results-dir", str(results), "--run-id", "r", "--no-progress", "--quiet",
                 "--latency-samples", "1", "--no-cache"])


def test_remote_code_adapter_needs_the_flag(tmp_path, with_plugin, monkeypatch):
    loads = tmp_path / "loads.txt"
    monkeypatch.setenv("XSB_TEST_LOADS_FILE", str(loads))
    cls = registry.get("plugin-remote")
    weights = tmp_path / "weights"
    weights.mkdir()
    status = cls.availability(AdapterOptions(model_path=weights))
    assert not status.ok and "--trust-remote-code" in status.reason
    assert cls.availability(AdapterOptions(model_path=weights, trust_remote_code=True)).ok

    ds = make_dataset(tmp_path / "ds", n_words=2)
    args = ["--adapters", "plugin-remote", "--dataset", str(ds), "--no-cross", "--lang", "en",
            "--model-path", f"plugin-remote={weights}"]
    assert _run(tmp_path / "r", *args) == 0
    rec = RunStore(tmp_path / "r" / "runs" / "r").read_job("plugin-remote", "ood", "within-en")
    assert rec["status"] == "unavailable" and "--trust-remote-code" in rec["reason"]
    assert not loads.exists()  # the model's code was never run
    assert _run(tmp_path / "r", *args, "--trust-remote-code") == 0
    assert RunStore(tmp_path / "r" / "runs" / "r").read_job("plugin-remote", "ood", "within-en")["status"] == "done"
    assert loads.read_text().split()[0] == "plugin-remote"


def test_symlink_out_of_the_dataset_is_not_followed(tmp_path, with_plugin):
    ds = make_dataset(tmp_path / "ds", n_words=3)
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    Image.new("RGB", (64, 32), "white").save(secret)  # readable: only the check keeps it out
    victim = sorted((ds / "images/ood/en").glob("*.png"))[0]
    victim.unlink()
    victim.symlink_to(secret)
    (ds / "images/ood/es").rename(tmp_path / "outside" / "es")  # a whole folder, linked back in
    (ds / "images/ood/es").symlink_to(tmp_path / "outside" / "es", target_is_directory=True)

    d = Dataset.load(ds)
    with pytest.raises(ImageLoadError, match="outside the dataset folder"):
        d.load_image(str(victim.relative_to(ds)))
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(ds), "--no-cross") == 0
    store = RunStore(tmp_path / "r" / "runs" / "r")
    en = store.read_job("plugin-const", "ood", "within-en")
    assert en["status"] == "done" and en["metrics"]["n"] == 2 and en["n_skipped"] == 1
    assert "outside the dataset folder" in en["skipped"][0]["reason"]
    es = store.read_job("plugin-const", "ood", "within-es")
    assert es["status"] == "skipped" and "no readable query images" in es["reason"]


def test_lexicon_symlinked_out_of_the_dataset_is_refused(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds", n_words=2)
    outside = tmp_path / "lexicon.csv"
    (ds / "lexicon.csv").rename(outside)
    os.symlink(outside, ds / "lexicon.csv")
    assert main(["run", "--adapters", "rapidocr", "--dataset", str(ds), "--results-dir", str(tmp_path / "r"),
                 "--no-progress", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "points outside the dataset folder" in err[0], err
    assert not (tmp_path / "r").exists()
    meta = json.loads((ds / "dataset.json").read_text())
    assert meta["lexicon"] == "lexicon.csv"
