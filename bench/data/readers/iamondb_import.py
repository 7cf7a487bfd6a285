"""``bench data import iam-ondb``: IAM-OnDB lines split into words, drawn with the imported-traces pen.

Rendering is the InkML/UNIPEN importers' (``ink_import``: one fixed pen, per-form scale so the form's
median word height is one em); the word split and its checks are ``iamondb.split_line``. With
``--holdout real:0.3`` about 30% of the writers go to split ``real`` and the rest to ``--split``, so a
model trained on one split never saw a writer of the other (``holdout.Holdout``).
"""
from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.progress import progress_bar

from .convert import ImportOptions, _check_out, _finish, _staging, _warn, load_lexicon
from .holdout import Holdout
from .importing import Labels
from .iamondb import read_form_writers, read_iamondb
from .ink_import import EM, file_scale, pen_writer, prepare
from .layout_import import safe_name

LICENCE = ("IAM-OnDB terms of use: non-commercial research; no redistribution of the data "
           "(https://fki.tic.heia-fr.ch/databases/iam-on-line-handwriting-database)")


def import_iamondb(src: str | Path, writers_src: str | Path, out: str | Path, opts: ImportOptions,
                   level: str = "word", holdout: Holdout | None = None, seed: int = 0) -> Path:
    """Import an IAM-OnDB folder (``lineStrokes/`` + ``ascii/``) with writers from ``writers_src``
    (the original form XMLs, a folder or one file) into the dataset folder ``out``."""
    from bench.data.synth.traces import render_strokes

    try:
        import lxml  # noqa: F401
    except ImportError:
        raise BenchError("importing IAM-OnDB needs lxml: pip install 'xscript-bench[formats]'") from None
    src, writers_src = Path(src).expanduser(), Path(writers_src).expanduser()
    if not writers_src.exists():
        raise BenchError(f"--writers not found: {writers_src}")
    writers = read_form_writers(writers_src)
    if not writers:
        raise BenchError(f"no <Form id=.. writerID=..> tags in the XML files under {writers_src}")
    inks, stats = read_iamondb(src, writers, level)
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    part = "images/iam-ondb"
    _check_out(out, opts, lexicon, [part])
    labels = Labels(lexicon)
    pen = pen_writer("en")
    notes: dict[str, int] = dict(stats.reasons)
    with _staging(out, opts.append) as stage:
        rows: list[dict] = []
        bar = progress_bar(sum(len(i.words) for i in inks), "iam-ondb words", opts.progress, unit="word")
        for ink in inks:
            for reason, n in ink.notes.items():
                notes[reason] = notes.get(reason, 0) + n
            scale = file_scale(ink)
            for w in ink.words:
                bar.update()
                text, sid = labels.label(w.text, "en")
                if sid < 0 and opts.lexicon_only:
                    notes["not in the lexicon"] = notes.get("not in the lexicon", 0) + 1
                    continue
                ident = f"iam-ondb/{safe_name(w.id)}"
                img = render_strokes(prepare(w.strokes, scale, False), ident, pen, seed, False)
                path = f"{part}/{w.id[:3]}/{w.id[:8]}/{safe_name(w.id)}.png"
                (stage / path).parent.mkdir(parents=True, exist_ok=True)
                img.save(stage / path, compress_level=1)
                split = holdout.split_of(w.writer, opts.split) if holdout else opts.split
                rows.append({"id": ident, "path": path, "text": text, "semantic_id": sid, "lang": "en",
                             "style": f"iam-ondb-{w.writer}", "split": split})
        bar.close()
        if notes:
            _warn("left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(notes.items())))
        if not rows:
            raise BenchError(f"no IAM-OnDB words imported from {src}")
        _warn(f"word split: {stats.split} of {stats.lines} lines split at their pen gaps; {labels.summary()}")
        source = {"format": "iam-ondb", "path": str(src.resolve()), "writers": str(writers_src.resolve()),
                  "forms": len(inks), "imported": len(rows), "level": level, "lines": stats.lines,
                  "lines_split": stats.split, "left_out": notes, "pen": pen.id, "em": EM, "seed": seed,
                  "lang": "en", "licence": LICENCE, "labels": labels.record(),
                  **({"holdout": holdout.record()} if holdout else {})}
        return _finish(out, stage, rows, lexicon, opts, source, "iam-ondb",
                       "IAM-OnDB pen trajectories split into words at pen gaps, imported by bench data import iam-ondb")
