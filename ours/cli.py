"""`ours` console script: train, publish, export, interpolate, ablate.

Each handler is ``func(args) -> int``; user-facing failures raise BenchError and print as one line.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .errors import BenchError

DEFAULT_RUNS = Path("runs")

from .ablation import ABLATIONS  # noqa: E402 - re-exported for callers of the CLI module


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import merge_config, read_config
    from .train import train

    cfg = merge_config(read_config(args.config), _train_overrides(args), origin="command line")
    out = Path(args.out) if args.out else DEFAULT_RUNS / cfg.name
    started = out.joinpath("ckpt", "state.json").is_file()
    if started and not args.resume and not args.restart:
        raise BenchError(f"{out} already holds a run: pass --resume to continue it or --restart to start over")
    if started and args.resume:
        from .budget import budgeted_config

        cfg = budgeted_config(cfg, out)  # a budget-fitted run resumes with the counts it was given
    elif args.budget_minutes:
        from .budget import fit_to_budget

        cfg = fit_to_budget(cfg, 60 * args.budget_minutes)
        print(f"budget {args.budget_minutes} min: {json.dumps(asdict(cfg.budget))}; "
              f"stage 1 {cfg.stage1.images:,} images, stage 2 {cfg.stage2.images:,}", file=sys.stderr)
    run = train(cfg, out, resume=args.resume, progress=not args.quiet)
    print(run)
    if args.publish:
        for p in publish(run, Path(args.publish)):
            print(p)
    return 0


def _train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``ours train`` that change the config, as an override of it."""
    from .config import SourceConfig

    over: dict[str, Any] = {"stage1": {}, "stage2": {}}
    if args.threads:
        over["threads"] = args.threads
    if args.device:
        over["device"] = args.device
    if args.manifest:  # replaces stage 2's source as a whole
        over["stage2"]["source"] = asdict(SourceConfig("manifest", args.manifest_split, args.manifest))
    if args.init:
        over["init"] = args.init
    if args.images:
        over["stage1"]["images"], over["stage2"]["images"] = args.images
    if args.batch_size:
        over["batch_size"] = args.batch_size
    if args.lr:
        over["stage1"]["lr"] = args.lr
        over["stage2"]["lr"] = args.lr / 10
    return over


def publish(run: Path, dest: Path, onnx: bool = True) -> list[Path]:
    """Copy a run's stage checkpoints to where the harness looks (stage1 -> ours-no-ft, stage2 -> ours)."""
    import shutil

    out = []
    for stage, name in (("stage1", "ours-no-ft"), ("stage2", "ours")):
        src = run / stage
        if not (src / "model.safetensors").is_file():
            continue
        target = dest / name
        target.mkdir(parents=True, exist_ok=True)
        for f in ("model.safetensors", "config.json", "train_config.json", "MODEL_CARD.md"):
            if (src / f).is_file():
                shutil.copy2(src / f, target / f)
        for f in ("loss.png", "log.csv", "metrics.json"):
            if (run / f).is_file():
                shutil.copy2(run / f, target / f)
        if onnx and name == "ours":  # the ONNX adapters (ours-onnx, ours-int8) read only this one
            from .export import export

            export(target, target)
        out.append(target)
    if not out:
        raise BenchError(f"{run} has no finished stage (stage1/ or stage2/) to publish")
    return out


def _cmd_publish(args: argparse.Namespace) -> int:
    for p in publish(Path(args.run), Path(args.to), onnx=not args.no_onnx):
        print(p)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    paths = export(args.checkpoint, args.out, int8=not args.no_int8, calib=args.calib)
    for kind, p in paths.items():
        print(f"{kind}\t{p}\t{p.stat().st_size / 1e6:.2f} MB")
    return 0


def _cmd_interpolate(args: argparse.Namespace) -> int:
    from .interpolate import interpolate

    print(interpolate(args.base, args.finetuned, args.alpha, args.out))
    return 0


def _cmd_ablate(args: argparse.Namespace) -> int:
    from . import ablation
    from .config import merge_config, read_config
    from .train import train

    base = read_config(args.config)
    base = merge_config(base, {key: {"images": int(base.stage(n).images * args.scale)}
                               for n, key in ((1, "stage1"), (2, "stage2"))}, origin="--scale")
    names = args.variants or list(ABLATIONS)
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise BenchError(f"unknown ablation variant(s) {unknown}; choose from {', '.join(ABLATIONS)}")
    root = Path(args.out) if args.out else DEFAULT_RUNS / f"ablate-{base.name}"
    results = Path(args.results_dir)
    for name in names:
        run = train(ablation.variant_config(base, name), root / ablation.slug(name), resume=True,
                    progress=not args.quiet)
        ablation.evaluate_variant(run, name, base.name, results, split=args.split, dataset=args.dataset,
                                  limit=args.limit, progress=not args.quiet, argv=sys.argv)
    table = ablation.ablation_table(results, base.name, names, args.split)
    if table.empty:
        raise BenchError(f"no finished variant runs under {results}")
    for path in ablation.write_ablation_table(table, results):
        print(path)
    from bench import api

    print(api.to_markdown(table, columns=list(table.columns)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ours", description="Train and export our handwritten-word retrieval model.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="two-stage training (resumable)")
    t.add_argument("--config", default="quick", help="bundled name (quick, default) or a JSON file")
    t.add_argument("--out", help="run folder (default runs/<config name>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--restart", action="store_true", help="discard a previous run in --out")
    t.add_argument("--threads", type=int, help="CPU threads (default from the config)")
    t.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when present)")
    t.add_argument("--manifest", help="stage 2 on real data: a dataset folder with manifest.csv")
    t.add_argument("--manifest-split", default="train", help="split of --manifest to fine-tune on")
    t.add_argument("--budget-minutes", type=float, metavar="MIN",
                   help="fit both stages into MIN minutes on this machine: a short probe of rendering and "
                        "step speed sets the image counts (kept in the run's config.json)")
    t.add_argument("--batch-size", type=int, help="override the config's batch size")
    t.add_argument("--init", metavar="DIR", help="warm start from a published checkpoint folder (e.g. ours/checkpoints/ours)")
    t.add_argument("--images", type=int, nargs=2, metavar=("STAGE1", "STAGE2"),
                   help="override the images of each stage (0 skips a stage)")
    t.add_argument("--lr", type=float, help="override stage 1's learning rate (stage 2 gets a tenth)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--publish", metavar="DIR", help="afterwards, copy the checkpoints to DIR (e.g. ours/checkpoints)")
    t.set_defaults(func=_cmd_train)

    pb = sub.add_parser("publish", help="copy a run's checkpoints where the harness finds them, with ONNX exports")
    pb.add_argument("run", help="a run folder (holding stage1/ and stage2/)")
    pb.add_argument("--to", default=str(Path(__file__).resolve().parent / "checkpoints"),
                    help="destination (default: ours/checkpoints, read by the 'ours' adapters)")
    pb.add_argument("--no-onnx", action="store_true", help="skip the ONNX fp32/int8 export")
    pb.set_defaults(func=_cmd_publish)

    e = sub.add_parser("export", help="ONNX fp32 + static int8 of the image tower")
    e.add_argument("checkpoint", help="an inference checkpoint folder (e.g. runs/quick/stage2)")
    e.add_argument("--out", help="output folder (default: the checkpoint folder)")
    e.add_argument("--no-int8", action="store_true")
    e.add_argument("--calib", type=int, default=512, help="rendered calibration images for int8")
    e.set_defaults(func=_cmd_export)

    ip = sub.add_parser("interpolate", help="(1 - alpha) * base + alpha * fine-tuned weights (WiSE-FT), no training")
    ip.add_argument("base", help="the checkpoint the fine-tuned one started from (e.g. ours/checkpoints/ours)")
    ip.add_argument("finetuned", help="a checkpoint fine-tuned from it (e.g. runs/real-distill-ctc/stage2)")
    ip.add_argument("--alpha", type=float, required=True, help="share of the fine-tuned weights, 0 to 1")
    ip.add_argument("--out", required=True, help="folder for the interpolated checkpoint")
    ip.set_defaults(func=_cmd_interpolate)

    a = sub.add_parser("ablate", help="train the Table 5 loss variants at a reduced scale")
    a.add_argument("--config", default="quick")
    a.add_argument("--scale", type=float, default=0.5, help="fraction of the config's images per stage")
    a.add_argument("--variants", nargs="*", help=f"subset of: {', '.join(ABLATIONS)}")
    a.add_argument("--out", help="folder for the variants' training runs")
    a.add_argument("--results-dir", default="results/ablation",
                   help="harness results folder for the variants' evaluation runs and table5_ablation.*")
    a.add_argument("--split", default="ood", help="split to evaluate on (default ood)")
    a.add_argument("--dataset", help="manifest folder to evaluate on (default: the built-in benchmark)")
    a.add_argument("--limit", type=int, help="at most N query images per language (faster, noisier)")
    a.add_argument("--quiet", action="store_true")
    a.set_defaults(func=_cmd_ablate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"ours: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ours: interrupted; rerun with --resume to continue from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
