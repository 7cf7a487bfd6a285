"""The ``bench`` command line: list, run, table, and the data/perf/report/plot groups.

Every user error is a BenchError printed as one line (exit 2); tracebacks are for bugs only.
Exit codes: 0 done (unavailable adapters and languages are listed, not failures), 1 a job failed,
2 bad input, settings or an unwritable results folder, 130 interrupted (SIGINT), 143 terminated
(SIGTERM). Both signals record the invocation's end in run.json; finished jobs are kept.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import signal
import sys
from pathlib import Path

from .argtypes import device as _device, int_at_least as _int_at_least, positive_float as _positive_float
from .errors import BenchError, Terminated

# Optional command groups living in their own modules: each has register(subparsers).
COMMAND_MODULES = ("bench.data.cli", "bench.report.perf", "bench.report.cli")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), like every other bench error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"bench: error: {message} (see `{self.prog} --help`)\n")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _model_path(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {value!r}")
    name, path = value.split("=", 1)
    if not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=DIR with both parts, got {value!r}")
    return name.strip(), path.strip()


DTYPES = ("float32", "bfloat16", "float16")


def _dtype(value: str) -> str:
    if value not in DTYPES:
        raise argparse.ArgumentTypeError(f"unknown dtype {value!r} (use {', '.join(DTYPES)})")
    return value


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that executes adapters."""
    p.add_argument("--device", type=_device, default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    p.add_argument("--dtype", type=_dtype, default=None,
                   help="float32, bfloat16, float16 (default: bf16 on GPU, fp32 on CPU)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=None)
    p.add_argument("--threads", type=_int_at_least(1), default=1, help="CPU threads for math libraries (default 1)")
    p.add_argument("--allow-download", action="store_true", help="let adapters download missing weights")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow adapters without a native transformers class to run the model's own code")
    p.add_argument("--model-path", type=_model_path, action="append", default=[], metavar="NAME=DIR",
                   help="load adapter NAME from a local folder instead of the Hugging Face cache")


def cmd_list(args: argparse.Namespace) -> int:
    from . import registry
    from .registry.adapter import AdapterOptions

    rows = []
    paths = dict(args.model_path)
    for name, cls in registry.all_adapters().items():
        if args.family and cls.card.family != args.family:
            continue
        opts = AdapterOptions(allow_download=args.allow_download, trust_remote_code=args.trust_remote_code,
                              model_path=Path(paths[name]) if name in paths else None)
        status = cls.availability(opts)
        text, langs = str(status), {}
        if status.ok:
            langs = {lang: cls.language_availability(lang, opts) for lang in cls.card.languages}
            if not all(st.ok for st in langs.values()):
                text = f"available for {', '.join(l for l, st in langs.items() if st.ok)}; " + "; ".join(
                    f"{l} unavailable: {st.reason}" for l, st in langs.items() if not st.ok)
        rows.append({"adapter": name, "family": cls.card.family, "row": cls.card.row_name,
                     "params_m": cls.card.params_m, "extra": cls.card.extra or "-", "status": text,
                     **({"card": cls.card.as_dict(), "languages": {l: str(st) for l, st in langs.items()}}
                        if args.json else {})})
    for name, reason in registry.broken_plugins().items():
        rows.append({"adapter": name, "family": "?", "row": "?", "params_m": None, "extra": "-",
                     "status": f"unavailable: {reason}"})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    from tabulate import tabulate

    table = [[r["adapter"], r["family"], r["row"], "-" if r["params_m"] is None else f"{r['params_m']:.2f}",
              r["extra"], r["status"]] for r in rows]
    print(tabulate(table, headers=["adapter", "family", "paper row", "params (M)", "extra", "status"],
                   maxcolwidths=[None, None, 24, None, None, 90]))
    return 0


def _check_run_args(args: argparse.Namespace) -> None:
    """Settings argparse cannot check alone, each refused with one line before anything runs."""
    from .results.store import check_name

    for flag, value in (("--adapters", args.adapters), ("--split", args.split), ("--lang", args.lang),
                        ("--redo", args.redo)):
        if value is not None and not _csv(value):
            raise BenchError(f"{flag} is empty; name at least one (or leave {flag} out for the default)")
    if args.run_id is not None:
        check_name(args.run_id, "--run-id")
    for name, folder in args.model_path:  # a typo would make the adapter "unavailable" and measure nothing
        if not Path(folder).expanduser().exists():
            raise BenchError(f"--model-path {name}={folder}: no such file or folder")
    results = Path(args.results_dir)
    if results.exists() and not results.is_dir():
        raise BenchError(f"--results-dir {results} is not a folder")
    existing = next((p for p in (results, *results.absolute().parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise BenchError(f"--results-dir {results} is not writable ({existing} is read-only for this user)")


def _refuse_resume_flags(args: argparse.Namespace, stored: dict) -> None:
    """--resume continues a run with its stored settings: a flag that says otherwise is refused, never
    silently ignored (the stored numbers would be presented as the flag's)."""
    for flag, given, key, stored_value in (("--strict", args.strict, "strict", True),
                                           ("--no-cross", args.no_cross, "cross", False),
                                           ("--no-bridge", args.no_bridge, "bridge", False),
                                           ("--no-geometry", args.no_geometry, "geometry", False)):
        if given and stored.get(key, not stored_value) != stored_value:
            raise BenchError(f"--resume {args.resume}: {flag} conflicts with the run's stored settings "
                             f"({key}={stored.get(key, not stored_value)}); leave {flag} out to resume it, "
                             "or start another run without --resume")


def _run_config(args: argparse.Namespace):
    from .run.runner import RunConfig
    from .results.store import RunStore

    _check_run_args(args)
    base: dict = {}
    if args.resume:
        man = RunStore.open(Path(args.results_dir), args.resume, create=False).read_manifest() or {}
        base = dict(man.get("config", {}))
        base["run_id"] = args.resume
        base.setdefault("ties", "pessimistic")  # runs stored before --ties existed ranked ties last
        _refuse_resume_flags(args, base)
        if args.adapters is None:
            invs = man.get("invocations", [])
            base["adapters"] = ",".join(dict.fromkeys(a for inv in invs for a in inv.get("adapters", [])))
    cfg = RunConfig(**{k: v for k, v in base.items() if k in RunConfig.__dataclass_fields__})
    explicit = {
        "dataset": args.dataset, "scale": args.scale, "splits": _csv(args.split) if args.split else None,
        "adapters": args.adapters, "langs": _csv(args.lang) if args.lang else None,
        "limit": args.limit, "run_id": args.run_id, "seed": args.seed, "ties": args.ties,
    }
    for k, v in explicit.items():
        if v is not None:
            setattr(cfg, k, v)
    if not args.resume:
        cfg.cross = not args.no_cross
        cfg.strict = args.strict
        cfg.bridge = not args.no_bridge
        cfg.geometry = not args.no_geometry
    cfg.adapters = cfg.adapters or "all"
    cfg.results_dir = args.results_dir
    cfg.device, cfg.dtype, cfg.batch_size, cfg.threads = args.device, args.dtype, args.batch_size, args.threads
    cfg.workers = args.workers  # None: every core; never part of the run's identity
    cfg.allow_download, cfg.trust_remote_code = args.allow_download, args.trust_remote_code
    cfg.model_paths = {**cfg.model_paths, **dict(args.model_path)}
    cfg.use_cache = not args.no_cache
    cfg.redo = _csv(args.redo) if args.redo else []
    cfg.latency_samples = args.latency_samples
    cfg.progress = not args.no_progress
    cfg.executor, cfg.address = args.executor, args.address
    if args.executor != "ray" and (args.address or args.job_timeout is not None or args.max_retries is not None):
        raise BenchError("--address, --job-timeout and --max-retries apply to --executor ray only")
    if args.job_timeout is not None and args.job_timeout <= 0:
        raise BenchError("--job-timeout must be a positive number of seconds")
    if args.max_retries is not None and args.max_retries < 0:
        raise BenchError("--max-retries must be 0 or more")
    cfg.job_timeout = args.job_timeout
    cfg.max_retries = args.max_retries if args.max_retries is not None else RunConfig.max_retries
    return cfg


def cmd_run(args: argparse.Namespace) -> int:
    from .run.runner import Runner

    runner = Runner(_run_config(args), argv=["bench", *sys.argv[1:]])
    run_id = runner.run(print_summary=False)
    if not args.quiet:
        print(_summary(Path(args.results_dir), run_id), flush=True)
    print(runner.summary.text(), file=sys.stderr)  # last: what the run did, what failed, what did not run
    counts = runner.summary.counts
    if counts.get("skipped") and not any(counts.get(s) for s in ("computed", "cached", "reused")):
        print("bench: nothing was measured: every job was skipped (reasons above)", file=sys.stderr)
        return 1
    return 1 if runner.failed_jobs else 0


def _summary(results_dir: Path, run_id: str) -> str:
    from .report import tables

    jobs, adapters = tables.collect(results_dir, [run_id])
    parts = [f"# run {run_id}", "", "## Within-language", tables.to_markdown(tables.within_table(jobs, adapters))]
    splits = sorted(jobs["split"].unique()) if not jobs.empty else []
    for split in splits:
        cross = tables.cross_table(jobs, adapters, split)
        if not cross.empty:
            parts += ["", f"## Cross-language Acc@1 (%), split {split}", tables.to_markdown(cross, ".2f")]
    return "\n".join(parts)  # adapters that did not run: in the run summary, grouped by fix


def cmd_table(args: argparse.Namespace) -> int:
    from .report import tables

    results_dir = Path(args.results_dir)
    jobs, adapters = tables.collect(results_dir, _csv(args.runs) if args.runs else None, args.dataset)
    for name, runs in sorted(jobs.attrs.get("left_out", {}).items()):
        kept = jobs.loc[jobs["adapter"] == name, "run_id"].iloc[0]
        print(f"bench table: {name}: rows from run {kept} (its latest); also in {', '.join(runs)}, "
              "left out (runs are never pooled; pass --runs to choose)", file=sys.stderr)
    if jobs.empty and not args.reported:
        raise BenchError(f"no finished jobs under {results_dir / 'runs'}; run `bench run` first")
    out = Path(args.out) if args.out else results_dir / "tables"
    within = tables.within_table(jobs, adapters) if not jobs.empty else __import__("pandas").DataFrame()
    cross = tables.cross_table(jobs, adapters, args.cross_split) if not jobs.empty else within.iloc[0:0]
    reported = Path(args.reported_dir) if args.reported_dir else results_dir / "reported"
    if args.reported:
        within = tables.with_reported(within, tables.load_reported(reported, "table2_within.csv"))
        cross = tables.with_reported(cross, tables.load_reported(reported, "table3_cross.csv"))
    written = tables.write_table(within, out, "table2_within")
    written += tables.write_table(cross, out, "table3_cross", ".2f")
    extra = getattr(tables, "extra_tables", None)
    if callable(extra):
        written += extra(jobs, adapters, out, args)
    print("## Table 2: within-language retrieval\n")
    print(tables.to_markdown(within))
    print(f"\n## Table 3: cross-language Acc@1 (%), split {args.cross_split}\n")
    print(tables.to_markdown(cross, ".2f"))
    if not jobs.empty and hasattr(tables, "geometry_table"):
        geo = tables.geometry_table(jobs, adapters, args.geometry_split or args.cross_split)
        if not geo.empty:
            print(f"\n## Table 4: embedding geometry, split {args.geometry_split or args.cross_split}\n")
            print(tables.to_markdown(geo, columns=tables.geometry_columns(geo)))
    print("\nwrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="bench", description="Handwritten-word retrieval across scripts.")
    parser.add_argument("--version", action="version", version=f"xscript-bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list adapters with their family, size and availability")
    p.add_argument("--family", choices=["ocr", "embedding", "vllm", "ours"])
    p.add_argument("--json", action="store_true")
    p.add_argument("--allow-download", action="store_true")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--model-path", type=_model_path, action="append", default=[], metavar="NAME=DIR")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="evaluate adapters (resumes finished jobs of the same run)")
    p.add_argument("--adapters", default=None, help="'all', names, or family:ocr (default all)")
    p.add_argument("--dataset", default=None, help="manifest folder (default: the built-in benchmark)")
    p.add_argument("--scale", type=_positive_float, default=None, help="size of the built-in benchmark (default 1.0)")
    p.add_argument("--split", default=None, help="split(s), comma-separated (default: all but train)")
    p.add_argument("--lang", default=None, help="languages, comma-separated (default: all)")
    p.add_argument("--no-cross", action="store_true", help="within-language retrieval only")
    p.add_argument("--no-bridge", action="store_true",
                   help="no lexicon-bridged cross-language rows for transcribers (adapter+lexicon)")
    p.add_argument("--no-geometry", action="store_true", help="skip the embedding-geometry step (Table 4)")
    p.add_argument("--limit", type=_int_at_least(1, " (leave --limit out for no limit)"), default=None,
                   help="at most N query images per split and language (default: all)")
    p.add_argument("--strict", action="store_true", help="compare raw strings (no case-folding/NFC/punctuation strip)")
    p.add_argument("--seed", type=_int_at_least(0, hi=2**32 - 1), default=None)
    p.add_argument("--ties", choices=["expected", "pessimistic", "optimistic"], default=None,
                   help="where a target tied with other candidates ranks, for Acc@K and MRR: expected "
                        "(default; mean over tie orders, McSherry & Najork 2008), pessimistic (last), optimistic (first)")
    p.add_argument("--run-id", default=None, help="name the run (default: dataset + settings hash)")
    p.add_argument("--resume", default=None, metavar="RUN_ID", help="continue a stored run with its settings")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached adapter outputs")
    p.add_argument("--redo", metavar="ADAPTERS",
                   help="run these adapters' finished jobs again (e.g. after retraining or re-exporting a model); "
                        "other adapters still resume")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes that encode a CPU adapter's images, one thread each (default: every core, "
                        "or $XSB_WORKERS); latency is still batch 1 on one thread in the main process")
    p.add_argument("--latency-samples", type=_int_at_least(0), default=20)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quiet", action="store_true", help="do not print the summary tables")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local (default): here, one adapter after another; ray: units of work as Ray tasks")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: start a local cluster); results dir must be shared")
    p.add_argument("--job-timeout", type=float, default=None, metavar="SECONDS",
                   help="Ray: fail and retry a unit running longer than this (default: the card's timeout_s)")
    p.add_argument("--max-retries", type=int, default=None, metavar="N",
                   help="Ray: retry a unit that raised, died or timed out up to N times (default 1)")
    add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("table", help="regenerate Tables 2 and 3 from stored runs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--runs", default=None, help="run ids, comma-separated (default: all runs)")
    p.add_argument("--dataset", default=None, help="only runs on this dataset name")
    p.add_argument("--cross-split", default="ood")
    p.add_argument("--geometry-split", default=None, help="split for Table 4 (default: --cross-split)")
    p.add_argument("--reported", action="store_true", help="add the paper's reported rows, labelled")
    p.add_argument("--reported-dir", default=None)
    p.add_argument("--out", default=None, help="folder for .md/.tex/.csv (default results/tables)")
    p.set_defaults(func=cmd_table)

    for mod_name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name and mod_name.startswith(exc.name):
                continue
            raise
        mod.register(sub)
    return parser


_HANDLER_PID: int | None = None  # the process whose SIGTERM handler ends the run


def _terminate(signum, frame) -> None:
    """SIGTERM in the CLI process ends the run like Ctrl-C; a forked worker (a pool closing sends its
    workers SIGTERM) dies the default way, quietly, instead of printing a traceback from the copied handler."""
    if os.getpid() != _HANDLER_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise Terminated()


def install_sigterm():
    """Route SIGTERM to ``_terminate``; returns the previous handler, or None off the main thread."""
    global _HANDLER_PID
    _HANDLER_PID = os.getpid()  # before the handler: a SIGTERM right after installing it ends the run
    try:
        return signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    # SIGTERM (kill, a job scheduler) ends the run like Ctrl-C: the invocation's end is recorded
    previous = install_sigterm()
    try:
        return int(args.func(args) or 0)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a results folder that is full, read-only or vanished: one line, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"bench: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Terminated:
        print("bench: terminated (SIGTERM); finished jobs are saved, rerun the same command to resume",
              file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("bench: interrupted; finished jobs are saved, rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
