"""``bench data import inkml|unipen``: render recorded pen traces into word images.

Each sample's strokes are drawn with the synthesizer's pen (``bench.data.synth.traces.render_strokes``)
by one fixed writer: the same pen width and ink for every sample, no slant of its own, plain paper,
so the images show what was written and nothing the renderer made up; ``--augment`` adds the
synthesizer's scan effects, seeded per sample. Coordinates are scaled per file so that the file's
median word height is the pen's character height (a file is one session of one tablet, so the
relative sizes of its words are kept). Output: ``images/<inkml|unipen>/<source>/<file>/<n>.png``.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.progress import progress_bar

from .convert import ImportOptions, _check_out, _finish, _staging, _warn, load_lexicon
from .importing import Labels, langs_line, pick_lang, select_files, writers_line
from .inkml import InkFile, read_inkml
from .layout_import import safe_name
from .unipen import read_unipen

EXTENSIONS = {"inkml": (".inkml",), "unipen": (".dat", ".pen", ".unp", ".unipen")}
EM = 56.0  # character height in pixels of the fixed pen
MAX_HEIGHT_EMS = 3.0  # a sample taller than this (after the per-file scale) is shrunk to it


def pen_writer(lang: str):
    """The one fixed pen every trace is drawn with."""
    from bench.data.synth.writers import WriterSpec

    return WriterSpec(id="pen:imported-traces", kind="pen", langs=(lang,), source="traces", group="traces",
                      em=EM, slant=0.0, tracking=0.0, wobble=0.0, weight=0.05, pressure=0.2, ink=0.1)


def find_files(src: Path, fmt: str) -> list[Path]:
    """``src`` itself, or the files under it with the format's extensions (UNIPEN: not those in an
    ``include/`` folder, which the data files pull in)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise BenchError(f"{fmt} source not found: {src}")
    found = [p for p in sorted(src.rglob("*")) if p.is_file() and p.suffix.lower() in EXTENSIONS[fmt]
             and not (fmt == "unipen" and "include" in p.relative_to(src).parts[:-1])]
    if not found:
        raise BenchError(f"no {fmt} files ({', '.join('*' + e for e in EXTENSIONS[fmt])}) under {src}")
    return found


def prepare(strokes: list[np.ndarray], scale: float, y_up: bool) -> list[np.ndarray]:
    """File units -> pen pixels (y down), each stroke at least two points (a dot stays a dot)."""
    out = []
    for s in strokes:
        p = np.asarray(s, dtype=np.float32) * scale
        if y_up:
            p[:, 1] = -p[:, 1]
        if len(p) == 1:
            p = np.concatenate([p, p + 0.5])
        out.append(p)
    allp = np.concatenate(out)
    h = float(allp[:, 1].max() - allp[:, 1].min())
    if h > MAX_HEIGHT_EMS * EM:
        out = [p * (MAX_HEIGHT_EMS * EM / h) for p in out]
    return out


def file_scale(ink: InkFile) -> float:
    """Pixels per file unit: the file's median sample height becomes one em."""
    heights = []
    for w in ink.words:
        ys = np.concatenate([s[:, 1] for s in w.strokes])
        heights.append(float(ys.max() - ys.min()))
    ref = float(np.median(heights)) if heights else 0.0
    return EM / ref if ref > 0 else 1.0


def import_ink(fmt: str, src: str | Path, out: str | Path, opts: ImportOptions, lang: str | None,
               level: str = "word", augment: bool = False, y_up: bool = False, seed: int = 0) -> Path:
    """Import InkML or UNIPEN files (a file or a folder of them) into the folder ``out``.

    Every file is read before anything is written; a file that cannot be read is reported on its
    own line and left out (a corpus is not refused for one bad file); when none can be read, the
    first one's error stops the import."""
    from bench.data.synth.traces import render_strokes

    if fmt == "inkml":
        try:
            import lxml  # noqa: F401
        except ImportError:
            raise BenchError("importing InkML needs lxml: pip install 'xscript-bench[formats]'") from None
    src = Path(src).expanduser()
    root = src if src.is_dir() else src.parent
    files = select_files(find_files(src, fmt), root, opts.include, opts.exclude, opts.limit, fmt)
    srcname = safe_name(src.stem if src.is_file() else src.resolve().name)
    reader = read_inkml if fmt == "inkml" else read_unipen
    inks, failed = [], []
    for f in files:
        try:
            inks.append(reader(f, level))
        except BenchError as exc:
            failed.append(str(exc))
    if failed and not inks:
        raise BenchError(failed[0] + (f" (and {len(failed) - 1} more file(s) unreadable)" if len(failed) > 1 else ""))
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    part = f"images/{fmt}/{srcname}"
    _check_out(out, opts, lexicon, [part])
    labels = Labels(lexicon)
    writer_spec = pen_writer(lang or "und")
    notes: dict[str, int] = {}
    other_level = 0
    named, default, langs = Counter(), Counter(), Counter()
    fallback = 0
    with _staging(out, opts.append) as stage:
        rows: list[dict] = []
        ids: set[str] = set()
        bar = progress_bar(sum(len(i.words) for i in inks), f"{fmt} words", opts.progress, unit="word")
        for ink in inks:
            for reason, n in ink.notes.items():
                notes[reason] = notes.get(reason, 0) + n
            other_level += bool(ink.words) and ink.level != level
            doc = "/".join(safe_name(p) for p in ink.path.relative_to(root).with_suffix("").parts)
            scale = file_scale(ink)
            for n, w in enumerate(ink.words):
                bar.update()
                sample_lang = pick_lang(w.lang, lang, f"{ink.path}: {w.id}")
                fallback += w.lang is None
                langs[sample_lang] += w.lang is not None
                text, sid = labels.label(w.text, sample_lang, words=not ink.math)
                if sid < 0 and opts.lexicon_only:
                    notes["not in the lexicon"] = notes.get("not in the lexicon", 0) + 1
                    continue
                ident = f"{fmt}/{srcname}/{doc}/{safe_name(w.id)}"
                if ident in ids:  # ids repeated within a file
                    ident = f"{ident}#{n}"
                ids.add(ident)
                img = render_strokes(prepare(w.strokes, scale, y_up), ident, writer_spec, seed, augment)
                path = f"{part}/{doc}/{n:05d}.png"
                (stage / path).parent.mkdir(parents=True, exist_ok=True)
                img.save(stage / path, compress_level=1)
                style = safe_name(w.writer) if w.writer else doc
                (named if w.writer else default)[style] += 1
                rows.append({"id": ident, "path": path, "text": text, "semantic_id": sid, "lang": sample_lang,
                             "style": f"{fmt}-{style}", "split": opts.split})
        bar.close()
        langs = Counter({k: v for k, v in langs.items() if v})
        for msg in failed[:5]:
            _warn(f"file left out: {msg}")
        if len(failed) > 5:
            _warn(f"... and {len(failed) - 5} more file(s) left out")
        if other_level:
            _warn(f"{other_level} file(s) have no {level} level: their "
                  f"{'lines' if level == 'word' else 'words'} were imported")
        if notes:
            _warn("left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(notes.items())))
        if not rows:
            raise BenchError(f"no transcribed pen traces imported from {src}")
        _warn(labels.summary())
        _warn(writers_line(named, default, "one per file") + "; " + langs_line(langs, fallback, lang))
        source = {"format": fmt, "path": str(src.resolve()), "files": len(files), "imported": len(rows),
                  "files_unreadable": len(failed), "level": level, "augment": augment, "seed": seed, "y_up": y_up,
                  "pen": writer_spec.id, "em": EM, "left_out": notes, "lang": lang, "langs_from_files": dict(langs),
                  "labels": labels.record(), "include": list(opts.include), "exclude": list(opts.exclude),
                  "limit": opts.limit}
        return _finish(out, stage, rows, lexicon, opts, source, f"{fmt}-{srcname}",
                       f"{fmt} pen traces from {src.name} rendered with a fixed pen, imported by bench data import {fmt}")
