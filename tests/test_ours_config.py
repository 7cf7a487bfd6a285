"""Typed training configs: every shipped and stored config loads, a typo is refused by name, and
overrides (command line, --scale, ablation variants) merge as the hand-written merges did."""
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bench.errors import BenchError
from ours.ablation import ABLATIONS, variant_config
from ours.cli import _train_overrides, build_parser, main
from ours.config import (CONFIG_DIR, SourceConfig, TrainConfig, load_config, merge_config, read_config,
                         run_identity)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(CONFIG_DIR.glob("*.json"))
STORED = sorted((REPO / "ours" / "checkpoints").glob("*/train_config.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_config_loads(path):
    cfg = read_config(path.stem)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(cfg, TrainConfig) and cfg.name == raw["name"]
    assert asdict(cfg.loss) == {**asdict(TrainConfig().loss), **raw["loss"]}
    assert cfg.stage1.images == raw["stage1"]["images"] and cfg.stage2.lr == raw["stage2"]["lr"]
    assert read_config(cfg.to_dict()) == cfg  # the JSON form round-trips


@pytest.mark.parametrize("path", STORED, ids=[p.parent.name for p in STORED])
def test_every_checkpoint_train_config_loads(path):
    cfg = read_config(path)  # what `ours train --config train_config.json` reads
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert cfg.name == raw["name"] and cfg.init == raw["init"] and cfg.stage1.images == raw["stage1"]["images"]


def test_a_sparse_config_from_before_the_types_is_the_same_run():
    """Run folders written before the typed configs kept only the keys given: resuming still matches."""
    sparse = {"name": "q", "image": {}, "text": {"trainable_layers": 0}, "loss": {"ctc": True},
              "stage1": {"source": {"kind": "synth", "split": "train"}, "images": 10},
              "stage2": {"source": {"kind": "auto"}, "images": 0}}
    full = load_config(sparse)
    assert full["image"] == asdict(TrainConfig().image) and full["stage2"]["source"]["writer_kind"] is None
    assert run_identity(read_config(sparse)) == run_identity(read_config(full))


def test_a_typo_is_refused_naming_the_key_and_the_file(tmp_path):
    bad = tmp_path / "typo.json"
    bad.write_text(json.dumps({"name": "typo", "loss": {"sca_wieght": 0.3}}))
    with pytest.raises(BenchError, match=r"typo\.json.*'loss\.sca_wieght'"):
        read_config(bad)
    with pytest.raises(BenchError, match="'batchsize'"):
        read_config({"batchsize": 4})
    with pytest.raises(BenchError, match=r"'stage2\.source\.splt'"):
        load_config({"stage2": {"source": {"splt": "train"}}})


def test_a_typo_through_the_cli_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "typo.json"
    bad.write_text(json.dumps({"name": "typo", "stage1": {"imges": 10}}))
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ours: error:") and err.count("\n") == 1
    assert "'stage1.imges'" in err and str(bad) in err
    assert not (tmp_path / "r").exists()


def test_cli_overrides_merge_as_before():
    args = build_parser().parse_args(["train", "--config", "quick", "--images", "10", "20", "--lr", "0.01",
                                      "--manifest", "data/ink", "--batch-size", "4", "--threads", "2",
                                      "--device", "cpu", "--init", "ours/checkpoints/ours"])
    base = read_config("quick")
    cfg = merge_config(base, _train_overrides(args), origin="command line")
    assert (cfg.stage1.images, cfg.stage2.images, cfg.batch_size, cfg.threads, cfg.device) == (10, 20, 4, 2, "cpu")
    assert cfg.stage1.lr == 0.01 and cfg.stage2.lr == pytest.approx(0.001)
    assert cfg.stage2.source == SourceConfig("manifest", "train", "data/ink")  # replaced as a whole
    assert cfg.init == "ours/checkpoints/ours"
    # everything else as the config file has it
    assert cfg.stage1.text_lr == base.stage1.text_lr and cfg.stage1.source == base.stage1.source
    assert cfg.loss == base.loss and cfg.eval == base.eval and cfg.name == "quick"
    # no options: the config unchanged
    plain = build_parser().parse_args(["train", "--config", "quick"])
    assert merge_config(base, _train_overrides(plain)) == base


def test_nested_overrides_keep_the_rest_of_their_section():
    cfg = read_config({"stage1": {"lr": 1.0}, "stage2": {"images": 0}, "loss": {"lexicon": 2.0}})
    default = TrainConfig()
    assert cfg.stage1.lr == 1.0 and cfg.stage1.source == default.stage1.source
    assert cfg.stage1.images == default.stage1.images and cfg.stage2.lr == default.stage2.lr
    assert cfg.loss.lexicon == 2.0 and cfg.loss.sca_weight == default.loss.sca_weight


def test_ablation_variants_merge_their_loss_flags():
    base = read_config("quick")
    for name, flags in ABLATIONS.items():
        cfg = variant_config(base, name)
        assert cfg.name == f"quick-{name}"
        assert asdict(cfg.loss) == {**asdict(base.loss), **flags}
        assert cfg.stage1 == base.stage1 and cfg.text == base.text
