"""``bench data build | stats | show``: make, summarize and look at the built-in benchmark."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.argtypes import int_at_least, positive_float
from bench.errors import BenchError


def register(subparsers) -> None:
    """Add the ``data`` command group to the ``bench`` CLI."""
    p = subparsers.add_parser("data", help="build, summarize and look at the built-in synthetic benchmark")
    sub = p.add_subparsers(dest="data_cmd", required=True)

    b = sub.add_parser("build", help="render the built-in dataset (cached by fingerprint)")
    b.add_argument("--scale", type=positive_float, default=1.0, help="shrink words and styles (default 1.0: Table 1 sizes)")
    b.add_argument("--out", type=Path, default=None,
                   help="build into this folder (default: the cache, $XSB_DATA_DIR or ~/.cache/xscript-bench/data)")
    b.add_argument("--seed", type=int_at_least(0), default=0)
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("stats", help="samples and styles per language and split (Table 1 layout)")
    s.add_argument("--dataset", type=Path, default=None, help="a dataset folder (default: the built-in one)")
    s.add_argument("--scale", type=positive_float, default=1.0, help="which built-in build to describe")
    s.set_defaults(func=cmd_stats)

    v = sub.add_parser("show", help="write a contact-sheet PNG per split and language")
    v.add_argument("--dataset", type=Path, default=None, help="a dataset folder (default: the built-in one)")
    v.add_argument("--scale", type=positive_float, default=1.0, help="which built-in build to show")
    v.add_argument("--split", default=None, help="one split (default: all)")
    v.add_argument("--lang", default=None, help="one language (default: all)")
    v.add_argument("--out", type=Path, default=Path("contact-sheets"))
    v.add_argument("--n", type=int_at_least(1), default=48, help="images per sheet")
    v.set_defaults(func=cmd_show)

    c = sub.add_parser("validate", help="check a dataset folder: manifest, images, labels, lexicon concepts, "
                                        "duplicates, line-level splits, and what its import left out")
    c.add_argument("dataset", type=Path, help="a dataset folder (manifest.csv or manifest.parquet)")
    c.set_defaults(func=cmd_validate)

    from .readers.cli import register_import, register_split_words  # bench data import | split-words
    register_import(sub)
    register_split_words(sub)


def _dataset_dir(args: argparse.Namespace) -> Path:
    from . import builtin

    if args.dataset is not None:
        return args.dataset
    return builtin.ensure_built(scale=args.scale)


def cmd_build(args: argparse.Namespace) -> int:
    from . import builtin

    if args.scale <= 0:
        raise BenchError("--scale must be positive")
    t0 = time.perf_counter()
    if args.out is not None:
        if args.out.exists() and any(args.out.iterdir()):
            raise BenchError(f"--out folder is not empty: {args.out}")
        path = builtin.build(args.out, scale=args.scale, seed=args.seed, progress=not args.no_progress)
    else:
        path = builtin.ensure_built(scale=args.scale, seed=args.seed, progress=not args.no_progress)
    print(f"built-in dataset: {path} ({time.perf_counter() - t0:.0f} s)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.dataset import Dataset

    ds = Dataset.load(_dataset_dir(args))
    headers, rows = table1(ds.samples)
    print(f"{ds.name} ({ds.root})")
    print(tabulate(rows, headers=headers, intfmt=","))
    by_source = source_table(ds.samples)
    if by_source is not None:
        print("\nTest splits by glyph source (a font family or a stroke set; no test source is used in training):")
        print(tabulate(by_source[1], headers=by_source[0], intfmt=","))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import validate

    report = validate(args.dataset)
    print(report.text())
    return 1 if report.errors else 0


def source_table(samples, splits: tuple[str, ...] = ("ood", "oov")) -> tuple[list[str], list[list]] | None:
    """Per test split and language: images and writers per glyph source, and whether any training
    writer shares that source. None when the styles are not built-in writers (a user's dataset)."""
    from . import builtin, synth

    part = samples[samples["split"].isin(splits)]
    if part.empty:
        return None
    try:
        writer = {s: synth.get_writer(s) for s in part["style"].unique()}
    except KeyError:
        return None
    train = {builtin.glyph_source(w) for l in builtin.LANGS for w in builtin.split_writers("train", l)}
    rows = []
    for (split, lang), grp in part.groupby(["split", "lang"], sort=True):
        src = grp["style"].map(lambda st: builtin.glyph_source(writer[st]))
        kind = grp["style"].map(lambda st: writer[st].kind)
        for (source, k), g in grp.groupby([src, kind], sort=True):
            rows.append([split, lang, source, k, g["style"].nunique(), len(g), "yes" if source in train else "no"])
    return ["split", "lang", "glyph source", "kind", "writers", "images", "in train"], rows


def cmd_show(args: argparse.Namespace) -> int:
    from bench.dataset import Dataset

    ds = Dataset.load(_dataset_dir(args))
    paths = write_sheets(ds.root, ds.samples, args.out, split=args.split, lang=args.lang, n=args.n,
                         load=ds.load_image)
    if not paths:
        raise BenchError(f"no samples for split={args.split or 'any'} lang={args.lang or 'any'} in {ds.root}")
    for p in paths:
        print(p)
    return 0


def table1(samples) -> tuple[list[str], list[list]]:
    """Table 1 of the paper: per language, samples and styles per split: in-domain, out-of-domain and
    train first (the paper's columns), then any other split the dataset has (an import's ``test``)."""
    first = ("id", "ood", "train")
    present = set(samples["split"].unique())
    splits = [s for s in first if s in present] + sorted(present - set(first))
    headers = ["lang"] + [f"{s} {what}" for s in splits for what in ("samples", "styles")]
    rows = []
    order = {"en": 0, "zh": 1, "es": 2}
    for lang in sorted(samples["lang"].unique(), key=lambda l: (order.get(l, 9), l)):
        sub = samples[samples["lang"] == lang]
        row: list = [lang]
        for split in splits:
            part = sub[sub["split"] == split]
            row += [len(part), part["style"].nunique()]
        rows.append(row)
    total: list = ["total"]
    for split in splits:  # styles do not add up across languages when shared (en/es)
        part = samples[samples["split"] == split]
        total += [len(part), part["style"].nunique()]
    return headers, rows + [total]


def write_sheets(root: Path, samples, out: Path, split: str | None = None, lang: str | None = None,
                 n: int = 48, load=None) -> list[Path]:
    """One contact-sheet PNG per (split, language): a spread of ``n`` samples over styles.

    ``load`` (a dataset's ``load_image``) reads images also when they are embedded in the manifest."""
    import pandas as pd
    from PIL import Image

    from .synth.sheet import contact_sheet

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for (sp, lg), part in samples.groupby(["split", "lang"], sort=True):
        if (split and sp != split) or (lang and lg != lang):
            continue
        styles = sorted(part["style"].unique())
        styles = [styles[i * len(styles) // min(n, len(styles))] for i in range(min(n, len(styles)))]
        per = max(1, -(-n // len(styles)))  # samples per style (rounded up), spread over its words
        groups = [g for _, g in part[part["style"].isin(styles)].groupby("style", sort=True)]
        picks = pd.concat([g.iloc[sorted({(j * len(g) // per + 37 * si) % len(g) for j in range(per)})]
                           for si, g in enumerate(groups)]).head(n)  # other words for each style
        images = [_sheet_image(root, p, load) for p in picks["path"]]
        path = out / f"{sp}-{lg}.png"
        contact_sheet(images, labels=list(picks["style"])).save(path)
        paths.append(path)
    return paths


def _sheet_image(root: Path, rel: str, load=None):
    """One image for a contact sheet; one that cannot be read is a one-line error naming it."""
    from PIL import Image

    from bench.dataset import ImageLoadError

    try:
        return (load(rel) if load else Image.open(root / rel)).convert("L")
    except (ImageLoadError, OSError) as exc:
        raise BenchError(f"cannot show {root / rel}: {exc}") from None
