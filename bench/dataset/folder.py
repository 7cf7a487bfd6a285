"""``Dataset``: one validated manifest folder, its splits, its query limit, its fingerprint and its images."""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import BenchError
from ..results.store import check_name
from .content_hash import hash_file, read_sidecar, sidecar_path, write_sidecar
from .decode import DECODER_FUNCTIONS, MAX_WORD_PIXELS, ImageLoadError, decode_image, load_image, max_word_pixels
from .embedded import EmbeddedImages
from .lexicon import Lexicon
from .manifest import MANIFEST_NAMES, inside_folder, read_manifest, read_meta, validate_manifest


@dataclass
class Dataset:
    """A validated manifest folder. ``samples`` is a DataFrame with one row per word image.

    ``full`` holds every sample when ``samples`` is a seeded subset of the queries (``--limit``):
    galleries are built from it, so a limit cuts queries, never the candidates they rank.
    """

    root: Path
    samples: pd.DataFrame
    name: str
    lexicon: Lexicon | None
    meta: dict
    embedded: EmbeddedImages | None = None  # images stored in manifest.parquet's image column
    full: pd.DataFrame | None = None
    _hashes: dict = field(default_factory=dict, repr=False, compare=False)  # rel -> ("ok"|"refused", value)

    @classmethod
    def load(cls, root: str | Path, check_concepts: bool = True) -> "Dataset":
        """Load and validate a folder; ``check_concepts=False`` leaves the manifest-against-lexicon
        check (``check_ids``) to a caller that reports it instead of refusing (``bench data validate``)."""
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise BenchError(f"dataset folder not found: {root}")
        meta = read_meta(root)
        manifest, image_column = read_manifest(root)
        samples = validate_manifest(manifest, root)
        embedded = None
        if image_column is not None:
            embedded = EmbeddedImages(root / "manifest.parquet", image_column, samples["path"].tolist())
        lexicon = None
        if meta.get("lexicon"):
            lex_path = inside_folder(root, str(meta["lexicon"]), "dataset.json lexicon")
            lexicon = Lexicon.load(lex_path)
            if check_concepts:
                check_ids(samples, lexicon, next((root / n for n in MANIFEST_NAMES if (root / n).is_file()), root))
        name = meta.get("name") or root.name
        check_name(name, f"dataset name in {root / 'dataset.json'}" if meta.get("name") else "dataset folder name")
        return cls(root=root, samples=samples, name=name, lexicon=lexicon, meta=meta, embedded=embedded)

    @property
    def splits(self) -> list[str]:
        return sorted(self.samples["split"].unique().tolist())

    def languages(self, split: str | None = None) -> list[str]:
        s = self.samples if split is None else self.select(split)
        return sorted(s["lang"].unique().tolist())

    def select(self, split: str, lang: str | None = None) -> pd.DataFrame:
        """Rows of one split (and language), in manifest order."""
        split = split.strip().lower()
        if split not in self.splits:
            raise BenchError(f"unknown split {split!r}: this dataset has {', '.join(self.splits) or 'none'}")
        rows = self.samples[self.samples["split"] == split]
        if lang is not None:
            rows = rows[rows["lang"] == lang]
        return rows

    def select_all(self, split: str, lang: str | None = None) -> pd.DataFrame:
        """Rows of one split (and language) before any query limit: what galleries are built from."""
        self.select(split)  # the same one-line error for an unknown split
        rows = self.full if self.full is not None else self.samples
        rows = rows[rows["split"] == split]
        if lang is not None:
            rows = rows[rows["lang"] == lang]
        return rows

    def limited(self, limit: int | None, seed: int) -> "Dataset":
        """At most ``limit`` query images per (split, language), sampled with ``seed``; galleries
        still come from every sample (``full``)."""
        if not limit:
            return self
        parts = []
        for _, grp in self.samples.groupby(["split", "lang"], sort=True):
            parts.append(grp.sample(n=limit, random_state=seed) if len(grp) > limit else grp)
        samples = pd.concat(parts).sort_index()
        full = self.full if self.full is not None else self.samples
        return dataclasses.replace(self, samples=samples, full=full)  # keeps embedded images, hash memo

    @cached_property
    def fingerprint(self) -> str:
        """The dataset's identity in run ids: the declared one if the builder wrote it (runs then
        verify it against ``content_fingerprint``), else ``content_fingerprint``."""
        if self.meta.get("fingerprint"):
            return str(self.meta["fingerprint"])
        return self.content_fingerprint

    @cached_property
    def content_fingerprint(self) -> str:
        """The manifest, the lexicon and the content hash of every image (or why it cannot be read);
        image hashes are kept in the sidecar, so only changed files are read again."""
        h = hashlib.sha256()
        for name in (*MANIFEST_NAMES, "dataset.json"):
            p = self.root / name
            if p.is_file():
                with open(p, "rb") as f:  # in chunks: a Parquet manifest may hold every image
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
        if self.lexicon is not None:
            h.update(self.lexicon.fingerprint.encode())
        rels = (self.full if self.full is not None else self.samples)["path"].tolist()
        hashes, refused = self.content_hashes(rels)
        for rel in rels:
            h.update(f"{rel}:{hashes.get(rel) or 'refused ' + refused.get(rel, '?')};".encode())
        return h.hexdigest()[:16]

    def content_hashes(self, rels: Sequence[str], sidecar_dir: Path | None = None
                       ) -> tuple[dict[str, str], dict[str, str]]:
        """(hash by path, reason by path for files that cannot be hashed) for images of this folder.

        Hashes are remembered in this object and in a sidecar under ``sidecar_dir`` (default: the
        output cache's ``content/``), reused while the file's size, mtime, ctime and inode stay the same.
        """
        todo = [r for r in dict.fromkeys(rels) if r not in self._hashes]
        if todo:
            side_path = sidecar_path(self.root, sidecar_dir)
            side = read_sidecar(side_path, self.root)
            changed = False
            for rel in todo:
                embedded = self._embedded_hash(rel)
                if embedded is not None:  # bytes inside manifest.parquet: hashed as read, no sidecar
                    self._hashes[rel] = embedded
                    continue
                status, value, entry = hash_file(self.root, rel, side.get(rel))
                self._hashes[rel] = (status, value)
                if entry is not None and side.get(rel) != entry:
                    side[rel] = entry
                    changed = True
            if changed:
                write_sidecar(side_path, self.root, side)
        hashes = {r: v for r in rels for s, v in [self._hashes[r]] if s == "ok"}
        refused = {r: v for r in rels for s, v in [self._hashes[r]] if s != "ok"}
        return hashes, refused

    def _embedded_hash(self, rel: str) -> tuple[str, str] | None:
        """("ok", hash) of an image stored in the Parquet manifest, ("refused", why), or None when
        the image is a file (as ``load_image`` decides: an empty cell falls back to the file)."""
        if self.embedded is None or rel not in self.embedded.row_of:
            return None
        try:
            data = self.embedded.bytes_of(rel)
        except Exception as exc:  # noqa: BLE001 - a damaged row group is a skipped image, not a crash
            return "refused", f"cannot read the embedded image ({type(exc).__name__}: {str(exc)[:120]})"
        if data is None:
            return None
        return "ok", hashlib.blake2b(data, digest_size=16).hexdigest()

    def labels_empty_after_normalization(self) -> list[str]:
        """Distinct labels (manifest texts, lexicon words) made only of punctuation, symbols or
        spaces: normalization strips them to "", so they all become one empty gallery candidate."""
        from ..textnorm import normalize

        texts = set(self.samples["text"])
        if self.lexicon is not None:
            for lang in self.lexicon.languages:
                texts.update(self.lexicon.word_of(lang).values())
        return sorted(t for t in texts if isinstance(t, str) and t.strip() and not normalize(t))

    def mostly_lines(self, share: float = 0.5) -> list[tuple[str, int, int]]:
        """(split, multi-word samples, samples) for each split where more than ``share`` of the
        labels hold several words (a space inside after normalization): a line-level set, on which
        models that read or embed single words score near zero."""
        import re

        from ..textnorm import normalize

        rows = self.full if self.full is not None else self.samples
        out = []
        for split, grp in rows.groupby("split", sort=True):
            space = re.compile(r"\s")  # raw text first: normalizing every label of a large set costs
            multi = sum(1 for t in grp["text"] if space.search(t) and space.search(normalize(t)))
            if multi > share * len(grp):
                out.append((str(split), multi, len(grp)))
        return out

    def image_path(self, rel: str) -> Path:
        return self.root / rel

    def load_image(self, rel: str):
        """Decode one image as RGB; raise ImageLoadError with a reason instead of crashing."""
        if self.embedded is not None and rel in self.embedded.row_of:
            data = self.embedded.bytes_of(rel)
            if data is not None:
                return decode_image(io.BytesIO(data), len(data))
        try:
            path = (self.root / rel).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, odd names
            raise ImageLoadError(f"cannot resolve path ({exc})") from None
        if not path.is_relative_to(self.root):
            raise ImageLoadError("path resolves outside the dataset folder (symlink?)")
        return load_image(path)


def check_ids(samples: pd.DataFrame, lexicon: Lexicon, where: Path) -> None:
    """Every semantic_id >= 0 must be a lexicon concept, and a row whose language the lexicon has must
    carry that concept's word (compared normalized): a 1-based or shifted id column would otherwise
    score every cross-language query against the wrong word, and an unknown id drop it silently."""
    from ..textnorm import normalize

    words = {lang: {i: normalize(w) for i, w in lexicon.word_of(lang).items()} for lang in lexicon.languages}
    known = set(lexicon.table["semantic_id"].tolist())
    unknown, wrong = [], []
    for row, (sid, lang, text) in enumerate(zip(samples["semantic_id"], samples["lang"], samples["text"])):
        if sid < 0:
            continue
        if sid not in known:
            unknown.append((row + 2, int(sid), text))
        elif lang in words and sid in words[lang] and words[lang][sid] != normalize(text):
            wrong.append((row + 2, int(sid), text, lang, lexicon.word_of(lang)[sid]))
    if wrong:
        r, sid, text, lang, word = wrong[0]
        raise BenchError(f"{where}: {len(wrong)} row(s) do not match the lexicon word of their semantic_id "
                         f"(rows {_rows(wrong)}; e.g. row {r}: {text!r} has id {sid}, which is {lang} {word!r}); "
                         "are the ids shifted (1-based)?")
    if unknown:
        r, sid, text = unknown[0]
        raise BenchError(f"{where}: {len(unknown)} row(s) have a semantic_id that is not in the lexicon "
                         f"(rows {_rows(unknown)}; e.g. row {r}: {sid} for {text!r}); use -1 for a word "
                         "without a concept")

def _rows(items: list[tuple]) -> str:
    shown = ", ".join(str(i[0]) for i in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def decoder_fingerprint() -> str:
    """What turns image files into the RGB images adapters see: a hash of the decoding code, plus the
    pixel limit when ``XSB_MAX_IMAGE_PIXELS`` changes it (an image refused under one limit decodes
    under another). Outputs cached under one decoder are not reused under another."""
    limit = max_word_pixels()
    return _decoder_code_hash() + ("" if limit == MAX_WORD_PIXELS else f"-px{limit}")


@cache
def _decoder_code_hash() -> str:
    src = "".join(inspect.getsource(f) for f in (Dataset.load_image, *DECODER_FUNCTIONS))
    return hashlib.sha256(src.encode("utf-8")).hexdigest()[:12]
