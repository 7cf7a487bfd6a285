"""Turn IAM words and CASIA-HWDB characters into the harness's dataset folder format.

Output layout (everything inside the folder, so ``Dataset`` path checks hold):
``images/iam/<a01>/<a01-000u>/<word id>.png`` (hard links to the IAM files where the filesystem
allows, else copies), ``images/hwdb/<file stem>/<n>.png`` (decoded records), ``manifest.csv``,
``lexicon.csv`` (a copy of the lexicon used) and ``dataset.json`` declaring it. A word found in the
lexicon (after the harness's text normalization, so case-insensitive for English) takes the
lexicon's spelling and semantic_id; any other word keeps its transcription and semantic_id -1.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from bench.dataset import NO_CONCEPT, write_dataset
from bench.dataset.manifest import read_meta
from bench.errors import BenchError
from bench.dataset.lexicon import BUILTIN_LEXICON, Lexicon
from bench.textnorm import normalize

from .hwdb import find_sources, writer_of
from .iam import locate, read_form_writers, read_words_txt
from bench.progress import progress_bar

IMPORTER_VERSION = 1
LEXICON_NAME = "lexicon.csv"
DEFAULT_NAMES = ("iam-words", "casia-hwdb")


@dataclass
class LexiconMatcher:
    """Normalized word -> (semantic_id, lexicon spelling) for one language."""

    lang: str
    index: dict[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, lexicon: Lexicon | None, lang: str) -> "LexiconMatcher":
        m = cls(lang)
        if lexicon is not None and lang not in lexicon.languages:
            _warn(f"lexicon {lexicon.path} has no {lang} column: every word gets semantic_id -1")
        if lexicon is not None and lang in lexicon.languages:
            for word, sid in zip(lexicon.words(lang), lexicon.ids(lang)):
                m.index.setdefault(normalize(word), (sid, word))
        return m

    def match(self, text: str) -> tuple[int, str]:
        """(semantic_id, text to store): the lexicon's word if found, else (-1, text)."""
        key = normalize(text)
        if key and key in self.index:
            return self.index[key]
        return NO_CONCEPT, text


@dataclass
class ImportOptions:
    """Choices shared by the importers."""

    split: str = "ood"
    lexicon: Path | None = BUILTIN_LEXICON  # None: no lexicon (every word within-language only)
    lexicon_only: bool = False  # keep only words that are in the lexicon
    keep_err: bool = False  # IAM: also keep words whose segmentation was marked err
    name: str | None = None
    append: bool = False
    progress: bool = True
    include: tuple[str, ...] = ()  # PAGE/ALTO/InkML/UNIPEN: only files matching one of these globs
    exclude: tuple[str, ...] = ()  # ... and none of these
    limit: int | None = None  # ... the first N files (sorted) only


def load_lexicon(path: Path | None) -> Lexicon | None:
    if path is None:
        return None
    if not Path(path).is_file():
        hint = " (the built-in lexicon is not built yet)" if Path(path) == BUILTIN_LEXICON else ""
        raise BenchError(f"lexicon not found: {path}{hint}; pass --lexicon CSV or --no-lexicon")
    return Lexicon.load(path)


def import_iam(src: str | Path, out: str | Path, opts: ImportOptions) -> Path:
    """Import IAM words (``ok`` only unless ``opts.keep_err``) into the folder ``out``."""
    layout = locate(src)
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    _check_out(out, opts, lexicon, ["images/iam"])
    matcher = LexiconMatcher.build(lexicon, "en")
    writers = read_form_writers(layout.forms_txt) if layout.forms_txt else {}
    words = list(read_words_txt(layout.words_txt, keep_err=opts.keep_err))
    with _staging(out, opts.append) as stage:
        rows, missing, not_in_lex = [], 0, 0
        bar = progress_bar(len(words), "IAM words", opts.progress, unit="word")
        for w in words:
            bar.update()
            sid, text = matcher.match(w.text)
            if sid == NO_CONCEPT and opts.lexicon_only:
                not_in_lex += 1
                continue
            srcfile = layout.images / w.rel_image
            rel = f"images/iam/{w.rel_image}"
            if not srcfile.is_file():
                missing += 1
                continue
            _link_or_copy(srcfile, stage / rel)
            writer = writers.get(w.form_id)
            rows.append({"id": f"iam/{w.word_id}", "path": rel, "text": text, "semantic_id": sid, "lang": "en",
                         "style": f"iam-w{writer}" if writer else f"iam-{w.form_id}", "split": opts.split})
        bar.close()
        if not rows:
            lex_note = f", {not_in_lex} are not in the lexicon" if not_in_lex else ""
            raise BenchError(f"no IAM word images imported from {src}: {missing} listed words have no image "
                             f"under {layout.images}{lex_note}")
        if missing:
            _warn(f"{missing} words listed in {layout.words_txt} have no image under {layout.images}; left out")
        source = {"format": "iam-words", "path": str(Path(src).resolve()), "words": len(words),
                  "imported": len(rows), "missing_images": missing, "not_in_lexicon_left_out": not_in_lex,
                  "keep_err": opts.keep_err, "writers_from": str(layout.forms_txt) if layout.forms_txt else None}
        return _finish(out, stage, rows, lexicon, opts, source, "iam-words",
                       "IAM Handwriting Database words (English), imported by bench data import iam")


def import_hwdb(srcs: Iterable[str | Path], out: str | Path, opts: ImportOptions) -> Path:
    """Import CASIA-HWDB1.x ``.gnt`` files (or folders / zips of them) into the folder ``out``."""
    srcs = list(srcs)
    sources = find_sources(srcs)
    stems = [s.stem for s in sources]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise BenchError(f"several .gnt files are named {dup[0]}.gnt; import them into separate folders")
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    _check_out(out, opts, lexicon, [f"images/hwdb/{s}" for s in stems])
    matcher = LexiconMatcher.build(lexicon, "zh")
    with _staging(out, opts.append) as stage:
        rows, not_in_lex = [], 0
        bar = progress_bar(len(sources), "HWDB files", opts.progress, unit="file")
        for src in sources:
            bar.update()
            (stage / "images" / "hwdb" / src.stem).mkdir(parents=True)
            for n, sample in enumerate(src.samples()):
                sid, text = matcher.match(sample.label)
                if sid == NO_CONCEPT and opts.lexicon_only:
                    not_in_lex += 1
                    continue
                rel = f"images/hwdb/{src.stem}/{n:06d}.png"
                sample.image().save(stage / rel, compress_level=1)
                rows.append({"id": f"hwdb/{src.stem}/{n}", "path": rel, "text": text, "semantic_id": sid,
                             "lang": "zh", "style": f"hwdb-{writer_of(src.stem)}", "split": opts.split})
        bar.close()
        if not rows:
            raise BenchError("no HWDB samples imported" + (f" ({not_in_lex} not in the lexicon)" if not_in_lex else ""))
        source = {"format": "casia-hwdb-gnt", "paths": [str(Path(p).resolve()) for p in srcs],
                  "files": len(sources), "imported": len(rows), "not_in_lexicon_left_out": not_in_lex}
        return _finish(out, stage, rows, lexicon, opts, source, "casia-hwdb",
                       "CASIA-HWDB1.x isolated characters (simplified Chinese), imported by bench data import hwdb")


def _check_out(out: Path, opts: ImportOptions, lexicon: Lexicon | None, parts: list[str]) -> None:
    """Refuse, before any work, an --out that would be overwritten or mixed inconsistently."""
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out is not a folder: {out}")
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not opts.append:
        raise BenchError(f"--out folder is not empty: {out} (use --append to add to an imported dataset)")
    if not (out / "manifest.csv").is_file():
        raise BenchError(f"--append: {out} has no manifest.csv to append to")
    meta = read_meta(out)
    declared = meta.get("lexicon")
    if lexicon is None and declared:
        raise BenchError(f"--append: {out} declares a lexicon; pass the same --lexicon")
    if lexicon is not None and not declared:
        raise BenchError(f"--append: {out} was imported without a lexicon; pass --no-lexicon")
    if lexicon is not None and _sha(out / declared) != _sha(lexicon.path):
        raise BenchError(f"--append: {out} was imported with another lexicon than {lexicon.path}")
    for part in parts:
        if (out / part).exists():
            raise BenchError(f"--append: {out / part} already exists (imported before?)")


@contextmanager
def _staging(out: Path, append: bool) -> Iterator[Path]:
    """A fresh folder to import into, removed on failure: a failed import leaves ``out`` as it was."""
    parent = out if append else out.parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".importing-", dir=parent))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _finish(out: Path, stage: Path, rows: list[dict], lexicon: Lexicon | None, opts: ImportOptions,
            source: dict, default_name: str, description: str) -> Path:
    """Write lexicon copy, manifest (merged with the old one when appending) and dataset.json,
    then move the staged import into place."""
    new = pd.DataFrame(rows).astype(str)
    meta: dict = {}
    if opts.append and (out / "manifest.csv").is_file():
        old = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        meta = read_meta(out)
        if "id" not in old.columns:
            old.insert(0, "id", old["path"])
        new = pd.concat([old, new], ignore_index=True)
        for top in (stage / "images").iterdir():  # images/iam or images/hwdb
            for part in top.iterdir():
                dest = out / "images" / top.name / part.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.rename(part, dest)
        target = out
    else:
        target = stage
    lex_rel = None
    if lexicon is not None:
        shutil.copyfile(lexicon.path, target / LEXICON_NAME)
        lex_rel = LEXICON_NAME
    sources = [*meta.get("sources", []), source]
    name = opts.name or _merged_name(meta.get("name"), default_name)
    desc = description if len(sources) == 1 else "; ".join(s["format"] for s in sources) + " (bench data import)"
    write_dataset(target, new, name=name, lexicon=lex_rel, description=desc, sources=sources,
                  importer_version=IMPORTER_VERSION)
    if target is stage:
        if out.is_dir():
            out.rmdir()  # empty (checked before the import)
        os.rename(stage, out)
    counts = new.groupby(["lang", "split"]).size().to_dict()
    n_concept = int((pd.to_numeric(new["semantic_id"]) >= 0).sum())
    _warn(f"{out}: {len(new)} samples ({', '.join(f'{l}/{s} {n}' for (l, s), n in sorted(counts.items()))}), "
          f"{n_concept} with a lexicon concept")
    return out


def _merged_name(old: str | None, new: str) -> str:
    """``iam-words`` + an HWDB import -> ``iam-words+casia-hwdb``; a name the user chose is kept."""
    if not old:
        return new
    parts = old.split("+")
    if all(p in DEFAULT_NAMES for p in parts):
        return "+".join(dict.fromkeys([*parts, new]))
    return old


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link (no extra space, stays inside the folder for the path checks), else copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _warn(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)
