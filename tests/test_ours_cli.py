"""The `ours` console script: argument parsing and one-line user errors."""
from ours.cli import ABLATIONS, build_parser, main


def test_parser_and_user_errors(tmp_path, capsys):
    args = build_parser().parse_args(["train", "--config", "quick", "--resume"])
    assert args.resume and callable(args.func)
    assert main(["train", "--config", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ours: error:") and err.count("\n") == 1
    assert main(["ablate", "--variants", "nope", "--out", str(tmp_path / "a")]) == 2
    assert "unknown ablation variant" in capsys.readouterr().err
    assert {"i2t", "i2t+t2i+sca"} <= set(ABLATIONS)
