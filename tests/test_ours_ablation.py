"""`ours ablate`: tiny variants trained for real, evaluated by the harness, Table 5 read back from the runs."""
import json

import pandas as pd
import pytest
import torch

from ours.cli import main
from tests.helpers import lexicon_frame

TEXT = {"encoder": "test-encoder-not-installed", "trainable_layers": 0, "prefix": ""}


def _prefill_text_cache(run_dir, words):
    """The variants' text towers run from a cache alone (no encoder is installed under that name)."""
    from ours.texttower import TextTower, TextTowerConfig
    from ours.text_cache import save_text_cache

    tower = TextTower(TextTowerConfig(**TEXT), hidden_size=16)
    gen = torch.Generator().manual_seed(0)
    for w in words:
        tower.cache.store[w] = torch.randn(16, generator=gen)
    run_dir.mkdir(parents=True)
    save_text_cache(tower, run_dir / "text_cache.safetensors")


def test_ablate_trains_variants_and_writes_table5_through_the_harness(rendered_dataset, tmp_path, capsys):
    lex = lexicon_frame(6)
    words = {l: lex[l].tolist() for l in ("en", "zh", "es")}
    ids = {l: lex["semantic_id"].tolist() for l in ("en", "zh", "es")}
    cfg = {"name": "tiny", "seed": 1, "threads": 1, "workers": 0, "words": words, "ids": ids, "batch_size": 9,
           "instances": 3, "checkpoint_every_s": 1e9, "eval": {"per_lang": 0}, "text": TEXT,
           "stage1": {"source": {"kind": "synth", "split": "train"}, "images": 18, "lr": 1e-3, "warmup": 0.0},
           "stage2": {"source": {"kind": "synth", "split": "train"}, "images": 9, "lr": 1e-4, "warmup": 0.0}}
    cfg_path = tmp_path / "tiny.json"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False))
    train_root, results = tmp_path / "train", tmp_path / "results"
    for slug in ("i2t", "ctc_lexicon"):
        _prefill_text_cache(train_root / slug, [w for ws in words.values() for w in ws])
    argv = ["ablate", "--config", str(cfg_path), "--variants", "i2t", "+ctc+lexicon", "--scale", "1",
            "--out", str(train_root), "--results-dir", str(results), "--dataset", str(rendered_dataset), "--quiet"]
    assert main(argv) == 0

    table = pd.read_csv(results / "table5_ablation.csv")
    assert len(table) == 4  # 2 variants x (w/o fine-tuning, fine-tuned)
    assert table[["l_i2t", "l_t2i", "l_sca", "ctc", "fine_tuned"]].values.tolist() == [
        [1, 0, 0, 0, 0], [1, 0, 0, 0, 1], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    assert table["ood:acc@1"].between(0, 1).all() and (table["ood:n"] == 18).all()  # 6 words x 3 languages
    # each variant is a harness run of its own, recording which checkpoints and losses it measured
    man = json.loads((results / "runs" / "tiny-ctc_lexicon" / "run.json").read_text())
    labels = man["config"]["labels"]
    assert labels["variant"] == "+ctc+lexicon" and labels["ctc"] == 1
    assert labels["checkpoints"]["ours"].endswith("ctc_lexicon/stage2")
    stage1 = json.loads((results / "runs" / "tiny-i2t" / "adapters" / "ours-no-ft.json").read_text())
    assert stage1["status"] == "loaded"
    # each adapter of each variant's run measured that variant's own checkpoint
    for slug in ("i2t", "ctc_lexicon"):
        for adapter, stage in (("ours", "stage2"), ("ours-no-ft", "stage1")):
            rec = json.loads((results / "runs" / f"tiny-{slug}" / "adapters" / f"{adapter}.json").read_text())
            assert rec["run_notes"]["checkpoint"] == str(train_root / slug / stage)

    # a rerun retrains nothing, re-encodes nothing and rewrites the same table
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "all jobs already done" in err and "stage 1:" not in err
    assert pd.read_csv(results / "table5_ablation.csv").equals(table)

