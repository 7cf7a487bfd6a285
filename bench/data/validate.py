"""``bench data validate DATASET``: what a run would trip over, found before the run, as a report.

The checks of a dataset load (manifest columns, paths inside the folder, ids and paths unique, a
lexicon that loads; a failure there is the usual one-line error), then, over every sample: the image
is there and decodes; the label is stored in Unicode NFC; a sample's semantic_id names a lexicon word equal
to its text after the harness's normalization; no two samples hold byte-identical images (the same
crop imported twice); no label is empty after normalization; no split is mostly multi-word lines.
Last, what the import recorded in dataset.json about what it left out or decided. Errors make the
exit status 1; warnings and notes do not.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.textnorm import normalize


@dataclass
class Report:
    root: Path
    samples: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.root}: {self.samples} samples; {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        lines = [head] + [f"error: {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines + ["ok" if not self.errors else "not ok"])


def _some(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (" ..." if len(items) > n else "")


def validate(root: str | Path) -> Report:
    from bench.dataset import Dataset
    from bench.dataset.manifest import read_manifest

    ds = Dataset.load(root, check_concepts=False)
    rep = Report(ds.root, len(ds.samples))
    s = ds.samples
    bad_images, digests = [], {}
    dup_images = []
    for rel in s["path"]:
        try:
            ds.load_image(rel)
            data = ds.embedded.bytes_of(rel) if ds.embedded is not None else ds.image_path(rel).read_bytes()
        except Exception as exc:  # noqa: BLE001 - any decoder error is this sample's problem, reported
            bad_images.append(f"{rel} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
            continue
        digest = hashlib.blake2b(data or b"", digest_size=16).hexdigest()
        if digest in digests:
            dup_images.append(f"{rel} = {digests[digest]}")
        digests.setdefault(digest, rel)
    if bad_images:
        rep.errors.append(f"{len(bad_images)} image(s) missing or unreadable: {_some(bad_images)}")
    raw, _ = read_manifest(ds.root)
    not_nfc = [t for t in raw["text"].astype(str) if unicodedata.normalize("NFC", t) != t]
    if not_nfc:
        rep.warnings.append(f"{len(not_nfc)} label(s) not stored in Unicode NFC (e.g. {not_nfc[0]!r}): loading "
                            f"normalizes them, other tools may not (the importers store NFC)")
    if ds.lexicon is not None:
        wrong = []
        for text, sid, lang in zip(s["text"], s["semantic_id"], s["lang"]):
            if sid < 0 or lang not in ds.lexicon.languages:
                continue
            word = ds.lexicon.word_of(lang).get(int(sid))
            if word is None or normalize(word) != normalize(text):
                wrong.append(f"{text!r} -> {sid} ({word!r})" if word is not None else f"{text!r} -> {sid} (none)")
        if wrong:
            rep.errors.append(f"{len(wrong)} sample(s) whose semantic_id names another word in the lexicon: "
                              f"{_some(wrong)}")
        n_concept = int((s["semantic_id"] >= 0).sum())
        rep.notes.append(f"{n_concept} of {len(s)} samples have a lexicon concept")
    if dup_images:
        rep.warnings.append(f"{len(dup_images)} image(s) byte-identical to another sample's (imported twice?): "
                            f"{_some(dup_images)}")
    empty = ds.labels_empty_after_normalization()
    if empty:
        rep.warnings.append(f"{len(empty)} label(s) empty after normalization: {_some([repr(e) for e in empty])}")
    for split, multi, n in ds.mostly_lines():
        rep.warnings.append(f"split {split!r} is mostly multi-word lines ({multi} of {n}): models that read or "
                            f"embed single words score near zero on it")
    for split, grp in s.groupby("split", sort=True):
        langs = ", ".join(f"{l} {n}" for l, n in sorted(Counter(grp["lang"]).items()))
        rep.notes.append(f"split {split!r}: {len(grp)} samples ({langs}), {grp['style'].nunique()} writers")
    for src in ds.meta.get("sources", []):
        rep.notes.append(_source_note(src))
    return rep


def _source_note(src: dict) -> str:
    """What an import recorded about itself, in one line."""
    parts = [f"import {src.get('format', '?')}: {src.get('imported', '?')} samples from {src.get('files', '?')} file(s)"]
    if src.get("produced"):
        parts.append(", ".join(f"{n} {k}s" for k, n in sorted(src["produced"].items())))
    for key, what in (("missing_images", "page image(s) missing"), ("files_unreadable", "file(s) unreadable"),
                      ("other_extension_images", "page image(s) found under another extension")):
        if src.get(key):
            parts.append(f"{src[key]} {what}")
    for what, n in sorted((src.get("counts") or {}).items()):
        parts.append(f"{n} {what}")
    if src.get("left_out"):
        parts.append("left out: " + ", ".join(f"{n} {r}" for r, n in sorted(src["left_out"].items())))
    lab = src.get("labels") or {}
    if lab.get("changed to NFC"):
        parts.append(f"{lab['changed to NFC']} labels normalized to NFC")
    return "; ".join(parts)
