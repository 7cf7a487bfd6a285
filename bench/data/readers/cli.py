"""``bench data import iam|hwdb``: convert a real dataset into a manifest folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from bench.lexicon import BUILTIN_LEXICON


def register_import(data_subparsers) -> None:
    """Add ``import`` to the ``bench data`` command group (its subparsers object)."""
    p = data_subparsers.add_parser("import", help="convert IAM words or CASIA-HWDB .gnt files into a dataset folder")
    sub = p.add_subparsers(dest="import_format", required=True)
    a = sub.add_parser("iam", help="IAM words: words.txt + words/ PNG tree (forms.txt names writers)")
    a.add_argument("path", type=Path, help="IAM folder (with words.txt or ascii/words.txt, and words/), or words.txt")
    a.add_argument("--keep-err", action="store_true", help="also keep words whose segmentation is marked err")
    a.set_defaults(func=cmd_import)
    h = sub.add_parser("hwdb", help="CASIA-HWDB1.0/1.1 isolated characters (.gnt files, folders or zips of them)")
    h.add_argument("path", type=Path, nargs="+", help=".gnt files, folders holding them, or the download zips")
    h.set_defaults(func=cmd_import, keep_err=False)
    for q in (a, h):
        q.add_argument("--out", type=Path, required=True, help="dataset folder to write (new or empty)")
        q.add_argument("--split", default="ood", help="split name for every sample (default ood)")
        q.add_argument("--lexicon", type=Path, default=BUILTIN_LEXICON,
                       help="concept lexicon CSV (default: the built-in bench/data/lexicon.csv)")
        q.add_argument("--no-lexicon", action="store_true", help="no lexicon: every word is within-language only")
        q.add_argument("--lexicon-only", action="store_true", help="keep only words that are in the lexicon")
        q.add_argument("--name", default=None, help="dataset name (default iam-words / casia-hwdb)")
        q.add_argument("--append", action="store_true",
                       help="add to a folder made by an earlier import (e.g. IAM + HWDB for cross-language)")
        q.add_argument("--no-progress", action="store_true")


def cmd_import(args: argparse.Namespace) -> int:
    from bench.errors import BenchError

    from .convert import ImportOptions, import_hwdb, import_iam

    if not args.split.strip():
        raise BenchError("--split must not be empty")
    opts = ImportOptions(split=args.split.strip(), lexicon=None if args.no_lexicon else args.lexicon,
                         lexicon_only=args.lexicon_only, keep_err=args.keep_err, name=args.name,
                         append=args.append, progress=not args.no_progress)
    if args.import_format == "iam":
        out = import_iam(args.path, args.out, opts)
    else:
        out = import_hwdb(args.path, args.out, opts)
    print(out)
    return 0
