"""The `real` dataset: real handwriting from public repositories, writer-disjoint `train` and `real` splits.

The images cannot be redistributed (``bench/data/real_sources.json`` records each source's
repository, commit, licence and what it allows), so the project ships this recipe and the stored
runs, not the images. Given checkouts of the repositories::

    python -m bench.data.build.real --out ~/real \\
        --iam-ondb CHECKOUT --iam-ondb-writers CHECKOUT --chinese-mnist CHECKOUT --george-washington CHECKOUT

writes one dataset folder: IAM-OnDB words (``bench data import iam-ondb``, 30% of the writers held
out to ``real``), Chinese-MNIST characters (30% of its 100 writers to ``real``) and the George
Washington words (one writer, ``train`` only). Every writer is in exactly one split (checked at the
end, and by ``tests/test_real_data.py``). Evaluate with ``bench run --dataset ~/real --split real``;
train on ``--split train`` only.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pandas as pd

from bench.errors import BenchError

from ..readers.convert import ImportOptions, _check_out, _finish, _link_or_copy, _staging, load_lexicon
from ..readers.holdout import Holdout
from ..readers.importing import Labels

SOURCES = Path(__file__).resolve().parents[1] / "real_sources.json"
HOLDOUT = Holdout("real", 0.3)  # the default salt, so `bench data import ... --holdout real:0.3` agrees
GW_CODES = {"pt": ".", "cm": ",", "mi": "-", "sq": ";", "qt": "'", "qo": ":", "et": "&", "bl": "(", "br": ")",
            "s": "s", "GW": "GW"}  # s_s is the long s; s_1st, s_0..s_9 are written as they read


def sources() -> dict[str, dict]:
    """The recipe's sources by name (repository, commit, licence, what the licence allows)."""
    data = json.loads(SOURCES.read_text(encoding="utf-8"))
    return {s["name"]: s for s in data["sources"]}


def decode_gw(code: str) -> str | None:
    """``L-e-t-t-e-r-s-s_cm`` -> ``Letters,``: letters joined, ``s_X`` special characters decoded
    (None for a code this table does not know: better no sample than a wrong label)."""
    out = []
    for part in code.split("-"):
        if part.startswith("s_"):
            key = part[2:]
            if key[:1].isdigit():
                out.append(key)
            elif key in GW_CODES:
                out.append(GW_CODES[key])
            else:
                return None
        else:
            out.append(part)
    return "".join(out)


def chinese_mnist_rows(root: Path, stage: Path, labels: Labels, holdout: Holdout, default: str) -> list[dict]:
    """Rows (and linked images) of a Chinese-MNIST checkout: chinese_mnist.csv names each file's
    writer (suite_id), sample and character."""
    table = root / "chinese_mnist.csv"
    if not table.is_file():
        raise BenchError(f"no chinese_mnist.csv in {root}")
    rows = []
    with open(table, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            name = f"input_{r['suite_id']}_{r['sample_id']}_{r['code']}.jpg"
            src = root / "data" / "data" / name
            if not src.is_file():
                continue
            rel = f"images/chinese-mnist/{int(r['suite_id']):03d}/{name}"
            _link_or_copy(src, stage / rel)
            text, sid = labels.label(r["character"].strip(), "zh")
            writer = f"chinese-mnist-{int(r['suite_id']):03d}"
            rows.append({"id": f"chinese-mnist/{name}", "path": rel, "text": text, "semantic_id": sid, "lang": "zh",
                         "style": writer, "split": holdout.split_of(writer, default)})
    if not rows:
        raise BenchError(f"no Chinese-MNIST images under {root / 'data' / 'data'}")
    return rows


def gw_rows(root: Path, stage: Path, labels: Labels, split: str) -> list[dict]:
    """Rows of the George Washington word crops (one writer)."""
    table = root / "data" / "ground-truth" / "transcription.txt"
    if not table.is_file():
        raise BenchError(f"no data/ground-truth/transcription.txt in {root}")
    rows = []
    for line in table.read_text(encoding="utf-8").splitlines():
        ident, _, code = line.strip().partition(" ")
        src = root / "data" / "cutouts_png" / ident.split("-")[0] / f"{ident}.png"
        text = decode_gw(code)
        if text is None or not src.is_file() or not any(c.isalpha() for c in text):
            continue
        rel = f"images/george-washington/{ident.split('-')[0]}/{ident}.png"
        _link_or_copy(src, stage / rel)
        text, sid = labels.label(text, "en")
        rows.append({"id": f"gw/{ident}", "path": rel, "text": text, "semantic_id": sid, "lang": "en",
                     "style": "george-washington", "split": split})
    return rows


def append_rows(out: Path, make, name: str, fmt: str, description: str) -> None:
    """Append one source's rows to the dataset folder ``out`` (made by the IAM-OnDB import)."""
    opts = ImportOptions(split="train", append=True, progress=False)
    lexicon = load_lexicon(opts.lexicon)
    _check_out(out, opts, lexicon, [f"images/{name}"])
    with _staging(out, True) as stage:
        rows = make(stage, Labels(lexicon))
        src = sources()[fmt]
        record = {"format": fmt, "repository": src["repository"], "commit": src["commit"], "licence": src["licence"],
                  "imported": len(rows)}
        _finish(out, stage, rows, lexicon, opts, record, name, description)


def check_writer_disjoint(out: Path) -> dict[str, int]:
    """Refuse a folder where a writer (style) is in two splits; return samples per split."""
    df = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    splits = df.groupby("style")["split"].nunique()
    shared = splits[splits > 1]
    if len(shared):
        raise BenchError(f"{out}: writers in more than one split: {', '.join(shared.index[:5])}")
    return df.groupby(["split", "lang"]).size().to_dict()


def build(out: Path, iam_ondb: Path, iam_writers: Path, chinese_mnist: Path, gw: Path | None) -> Path:
    from ..readers.iamondb_import import import_iamondb

    import_iamondb(iam_ondb, iam_writers, out, ImportOptions(split="train", name="real", progress=False),
                   holdout=Holdout(HOLDOUT.split, HOLDOUT.share, HOLDOUT.salt))
    append_rows(out, lambda st, m: chinese_mnist_rows(chinese_mnist, st, m, HOLDOUT, "train"), "chinese-mnist",
                "chinese-mnist", "Chinese-MNIST numerals")
    if gw is not None:
        append_rows(out, lambda st, m: gw_rows(gw, st, m, "train"), "george-washington", "george-washington",
                    "George Washington letters")
    counts = check_writer_disjoint(out)
    meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    meta.update(name="real", recipe="python -m bench.data.build.real", sources_record=sources())
    (out / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    print(", ".join(f"{s}/{lang} {n}" for (s, lang), n in sorted(counts.items())), file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.data.build.real", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--iam-ondb", type=Path, required=True, help="checkout holding data/lineStrokes and data/ascii")
    p.add_argument("--iam-ondb-writers", type=Path, required=True, help="checkout holding data/original*")
    p.add_argument("--chinese-mnist", type=Path, required=True)
    p.add_argument("--george-washington", type=Path, default=None)
    a = p.parse_args(argv)
    try:
        build(a.out, a.iam_ondb, a.iam_ondb_writers, a.chinese_mnist, a.george_washington)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
