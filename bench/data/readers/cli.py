"""``bench data import iam|hwdb|page-xml|alto|inkml|unipen|hf``: convert a real dataset into a manifest folder;
``bench data split-words``: cut a dataset of lines into words."""
from __future__ import annotations

import argparse
from pathlib import Path

from bench.dataset.lexicon import BUILTIN_LEXICON


def register_import(data_subparsers) -> None:
    """Add ``import`` to the ``bench data`` command group (its subparsers object)."""
    p = data_subparsers.add_parser("import", help="convert real handwriting (IAM, HWDB, PAGE-XML, ALTO, InkML, "
                                                  "UNIPEN, Hugging Face) into a dataset folder")
    sub = p.add_subparsers(dest="import_format", required=True)
    a = sub.add_parser("iam", help="IAM words: words.txt + words/ PNG tree (forms.txt names writers)")
    a.add_argument("path", type=Path, help="IAM folder (with words.txt or ascii/words.txt, and words/), or words.txt")
    a.add_argument("--keep-err", action="store_true", help="also keep words whose segmentation is marked err")
    a.set_defaults(func=cmd_import)
    h = sub.add_parser("hwdb", help="CASIA-HWDB1.0/1.1 isolated characters (.gnt files, folders or zips of them)")
    h.add_argument("path", type=Path, nargs="+", help=".gnt files, folders holding them, or the download zips")
    h.set_defaults(func=cmd_import, keep_err=False)
    o = sub.add_parser("iam-ondb", help="IAM-OnDB pen trajectories (lineStrokes/ + ascii/): lines split into "
                                         "words at their pen gaps, drawn with the imported-traces pen")
    o.add_argument("path", type=Path, help="folder holding lineStrokes/ and ascii/ (or data/ with them)")
    o.add_argument("--writers", type=Path, required=True,
                   help="the original form XMLs (<Form id writerID>), a folder or a file: forms of unknown "
                        "writers are left out")
    o.add_argument("--level", choices=("word", "line"), default="word", help="words (default) or whole lines")
    o.add_argument("--holdout", default=None, metavar="SPLIT:SHARE",
                   help="send this share of the writers to SPLIT (e.g. real:0.3), the rest to --split")
    o.set_defaults(func=cmd_import, keep_err=False)
    parsers = [a, h, o]
    for fmt, what in (("page-xml", "PAGE-XML (Transkribus, eScriptorium, Kraken; HTR-United sets)"),
                      ("alto", "ALTO v2-v4 (eScriptorium, OCR-D; HTR-United sets)")):
        q = sub.add_parser(fmt, help=f"{what}: crop transcribed words (or lines) from the page images")
        q.add_argument("path", type=Path, help="an XML file, or a folder searched for them (images next to the "
                                               "XML or one folder up)")
        q.add_argument("--level", choices=("word", "line"), default="word",
                       help="crop words (default; files without a word level give lines) or lines")
        q.add_argument("--writer-by", choices=("page", "folder", "source"), default="page",
                       help="writer when the file names none: each page file (default), each folder, or one "
                            "for the whole source (a single hand)")
        q.add_argument("--line-type", default=None, metavar="TEXT",
                       help="keep only lines whose type contains TEXT, case-insensitive (eScriptorium: "
                            "handwritten keeps DefaultLine:Handwritten and InterlinearLine:Handwritten); "
                            "the others are counted as left out")
        if fmt == "page-xml":
            q.add_argument("--trust", choices=("line", "words"), default="line",
                           help="when a line's words disagree with its text (stale word HTR after a line "
                                "correction): crop the corrected line (default) or keep the words")
        parsers.append(q)
    for fmt, what in (("inkml", "InkML pen traces (W3C; CROHME-style annotations)"),
                      ("unipen", "UNIPEN pen traces (.SEGMENT labels, .WRITER_ID, .INCLUDE)")):
        q = sub.add_parser(fmt, help=f"{what}: render each word's traces with the synthesizer's pen")
        q.add_argument("path", type=Path, help="a file, or a folder searched for them")
        q.add_argument("--level", choices=("word", "line"), default="word",
                       help="render words (default; files without words give their lines or characters) or lines")
        q.add_argument("--augment", action="store_true",
                       help="scan-like augmentation (slant, rotation, paper, blur) instead of the plain fixed pen")
        q.add_argument("--y-axis", choices=("down", "up"), default="down" if fmt == "inkml" else "up",
                       help=f"direction of growing y in the file (default {'down' if fmt == 'inkml' else 'up'})")
        q.add_argument("--seed", type=int, default=0, help="render seed (with --augment)")
        parsers.append(q)
    f = sub.add_parser("hf", help="a Hugging Face dataset (save_to_disk folder, Parquet files, or the hub with "
                                  "--allow-download) -> manifest.parquet with the image bytes inside")
    f.add_argument("path", help="a local folder, or a hub dataset name (with --allow-download)")
    f.add_argument("--text-column", default=None, help="transcription column (default: text, label, transcription, "
                                                       "word, ...)")
    f.add_argument("--image-column", default=None, help="image column (default: image or img)")
    f.add_argument("--writer-column", default=None, help="writer column (default: writer, writer_id, ...; "
                                                         "none: one style for the whole dataset)")
    f.add_argument("--split-column", default=None, help="split column (default: split, else the source's "
                                                        "split names)")
    f.add_argument("--allow-download", action="store_true", help="NAME is a hub dataset: download it with the "
                                                                 "datasets library (pip install 'xscript-bench[hf-data]')")
    f.add_argument("--revision", default=None, help="hub revision (with --allow-download)")
    parsers.append(f)
    for q in parsers[3:]:
        q.add_argument("--lang", required=q is f, help="ISO 639 code of the transcriptions (en, zh, es, fr, ...)"
                       + ("" if q is f else "; a language the file names wins (needed when a file names none)"))
        q.set_defaults(func=cmd_import, keep_err=False)
        if q is not f:
            add_file_options(q)
    for q in parsers:
        q.add_argument("--out", type=Path, required=True, help="dataset folder to write (new or empty)")
        q.add_argument("--split", default=None,
                       help="split name for every sample (default ood; hf: the source's splits, else ood)")
        q.add_argument("--lexicon", type=Path, default=BUILTIN_LEXICON,
                       help="concept lexicon CSV (default: the built-in bench/data/lexicon.csv)")
        q.add_argument("--no-lexicon", action="store_true", help="no lexicon: every word is within-language only")
        q.add_argument("--lexicon-only", action="store_true", help="keep only words that are in the lexicon")
        q.add_argument("--name", default=None, help="dataset name (default: from the format and source)")
        if q is not f:
            q.add_argument("--append", action="store_true",
                           help="add to a folder made by an earlier import (e.g. IAM + HWDB for cross-language)")
        q.add_argument("--no-progress", action="store_true")


def register_split_words(data_subparsers) -> None:
    """Add ``split-words`` to the ``bench data`` command group: a line dataset -> a word dataset."""
    from bench.argtypes import positive_float

    from .gaps import GAP_RATIO

    p = data_subparsers.add_parser("split-words", help="cut the lines of a dataset folder into words at their "
                                                       "widest ink gaps (lines whose cut is not clear are dropped)")
    p.add_argument("src", type=Path, help="a dataset folder of lines (manifest.csv + images, as an import writes)")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to write (new or empty)")
    p.add_argument("--min-gap-ratio", type=positive_float, default=GAP_RATIO, metavar="R",
                   help="keep a line only when its narrowest word gap is at least R times its widest gap "
                        f"inside a word (default {GAP_RATIO:g}, the IAM-OnDB importer's rule)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_split_words)


def cmd_split_words(args: argparse.Namespace) -> int:
    from .split_words import split_words

    print(split_words(args.src, args.out, gap_ratio=args.min_gap_ratio, progress=not args.no_progress))
    return 0


def add_file_options(q) -> None:
    """--include/--exclude/--limit: which source files an import reads."""
    from bench.argtypes import int_at_least

    q.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files whose path below the source (or name) matches (repeatable)")
    q.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files that match, e.g. '*.chocomufin.xml' (repeatable)")
    q.add_argument("--limit", type=int_at_least(1), default=None, metavar="N",
                   help="import only the first N files (sorted), to try a large export")


def cmd_import(args: argparse.Namespace) -> int:
    from bench.dataset import LANG_CODE
    from bench.errors import BenchError

    from .convert import ImportOptions, import_hwdb, import_iam

    split = args.split.strip() if args.split is not None else None
    if split == "":
        raise BenchError("--split must not be empty")
    lang = getattr(args, "lang", None)
    if lang is not None and not LANG_CODE.match(lang):
        raise BenchError(f"--lang {lang!r} is not an ISO 639 code such as en, zh, es")
    opts = ImportOptions(split=split or "ood", lexicon=None if args.no_lexicon else args.lexicon,
                         lexicon_only=args.lexicon_only, keep_err=args.keep_err, name=args.name,
                         append=getattr(args, "append", False), progress=not args.no_progress,
                         include=tuple(getattr(args, "include", ())), exclude=tuple(getattr(args, "exclude", ())),
                         limit=getattr(args, "limit", None))
    fmt = args.import_format
    if fmt == "iam":
        out = import_iam(args.path, args.out, opts)
    elif fmt == "hwdb":
        out = import_hwdb(args.path, args.out, opts)
    elif fmt == "iam-ondb":
        from .holdout import Holdout
        from .iamondb_import import import_iamondb

        holdout = Holdout.parse(args.holdout) if args.holdout else None
        out = import_iamondb(args.path, args.writers, args.out, opts, level=args.level, holdout=holdout)
    elif fmt in ("page-xml", "alto"):
        from .layout_import import import_layout

        out = import_layout(fmt, args.path, args.out, opts, lang, level=args.level, writer_by=args.writer_by,
                            trust=getattr(args, "trust", "line"), line_type=args.line_type)
    elif fmt in ("inkml", "unipen"):
        from .ink_import import import_ink

        out = import_ink(fmt, args.path, args.out, opts, lang, level=args.level, augment=args.augment,
                         y_up=args.y_axis == "up", seed=args.seed)
    else:
        from .hf import HfColumns, import_hf

        cols = HfColumns(text=args.text_column, image=args.image_column, writer=args.writer_column,
                         split=args.split_column)
        out = import_hf(args.path, args.out, opts, lang, cols, forced_split=split,
                        allow_download=args.allow_download, revision=args.revision)
    print(out)
    return 0
