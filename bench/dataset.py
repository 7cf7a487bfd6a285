"""Datasets in the one on-disk interchange format: a folder with a manifest and its images.

``manifest.csv`` (or ``manifest.parquet``) has the columns path, text, semantic_id, lang, style,
split (optional: id). ``semantic_id`` >= 0 names a cross-language concept; -1 (or empty) marks a
word that counts for within-language retrieval only. An optional ``dataset.json`` gives a name and
may declare a lexicon (a path inside the folder). Every path must stay inside the folder.

Images are identified by their content: a BLAKE2b hash of each file's bytes (symlinks resolved and
kept inside the folder, non-regular files such as FIFOs refused with a reason), computed once and
kept in a small sidecar beside the output cache, keyed by the file's size, mtime, ctime and inode so
a rewritten file is hashed again. The fingerprint of a dataset without a declared one, and the
output cache's keys, are built from these hashes, so an image rewritten with the same byte size is
never served another image's outputs.

Validation refuses, with one line naming the row, what would otherwise be silently coerced: null or
empty path/text/split (a Parquet null is not the word "nan"), a semantic_id below -1, two rows
naming one image (``img/./x.png`` and ``img//x.png``), split or dataset names that cannot name a
folder. Split names are case-insensitive (stored lower-case: ``OOD`` is ``ood``, ``Train`` is
``train``). Images larger than ``MAX_WORD_PIXELS`` are skipped with a reason (word crops are small;
a 9000x9000 page would cost gigabytes); ``XSB_MAX_IMAGE_PIXELS`` raises the limit.
"""
from __future__ import annotations

import bisect
import dataclasses
import hashlib
import io
import inspect
import json
import os
import posixpath
import re
import stat
import threading
import unicodedata
import warnings
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from .errors import BenchError
from .lexicon import Lexicon
from .store import check_name

REQUIRED_COLUMNS: tuple[str, ...] = ("path", "text", "semantic_id", "lang", "style", "split")
IMAGE_COLUMNS: tuple[str, ...] = ("image", "img")  # manifest.parquet columns that may hold image bytes
MANIFEST_NAMES: tuple[str, ...] = ("manifest.csv", "manifest.parquet")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
NO_CONCEPT = -1
MAX_SEMANTIC_ID = 2**31 - 1
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
MAX_WORD_PIXELS = 16_000_000  # e.g. 4000x4000; a word crop at 600 dpi is well under 1 Mpx


def max_word_pixels() -> int:
    """The pixel limit for one word image: MAX_WORD_PIXELS, or XSB_MAX_IMAGE_PIXELS when set."""
    raw = os.environ.get("XSB_MAX_IMAGE_PIXELS", "").strip()
    if not raw:
        return MAX_WORD_PIXELS
    try:
        value = int(raw)
    except ValueError:
        raise BenchError(f"XSB_MAX_IMAGE_PIXELS={raw!r} is not a whole number of pixels") from None
    if value < 4:
        raise BenchError(f"XSB_MAX_IMAGE_PIXELS={raw!r} must be at least 4")
    return value


class ImageLoadError(Exception):
    """An image that cannot be decoded; recorded and skipped by the runner."""


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
    embedded: "EmbeddedImages | None" = None  # images stored in manifest.parquet's image column
    full: pd.DataFrame | None = None
    _hashes: dict = field(default_factory=dict, repr=False, compare=False)  # rel -> ("ok"|"refused", value)

    @classmethod
    def load(cls, root: str | Path) -> "Dataset":
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise BenchError(f"dataset folder not found: {root}")
        meta = _read_meta(root)
        manifest, image_column = _read_manifest(root)
        samples = _validate(manifest, root)
        embedded = None
        if image_column is not None:
            embedded = EmbeddedImages(root / "manifest.parquet", image_column, samples["path"].tolist())
        lexicon = None
        if meta.get("lexicon"):
            lex_path = _inside(root, str(meta["lexicon"]), "dataset.json lexicon")
            lexicon = Lexicon.load(lex_path)
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
        """Content fingerprint: the declared one if the builder wrote it, else the manifest, the
        lexicon and the content hash of every image (or why it cannot be read)."""
        if self.meta.get("fingerprint"):
            return str(self.meta["fingerprint"])
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
            side_path = Path(sidecar_dir or _default_sidecar_dir()) / f"{_root_key(self.root)}.json"
            side = _read_sidecar(side_path, self.root)
            changed = False
            for rel in todo:
                embedded = self._embedded_hash(rel)
                if embedded is not None:  # bytes inside manifest.parquet: hashed as read, no sidecar
                    self._hashes[rel] = embedded
                    continue
                status, value, entry = _hash_one(self.root, rel, side.get(rel))
                self._hashes[rel] = (status, value)
                if entry is not None and side.get(rel) != entry:
                    side[rel] = entry
                    changed = True
            if changed:
                _write_sidecar(side_path, self.root, side)
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
        from .textnorm import normalize

        texts = set(self.samples["text"])
        if self.lexicon is not None:
            for lang in self.lexicon.languages:
                texts.update(self.lexicon.word_of(lang).values())
        return sorted(t for t in texts if isinstance(t, str) and t.strip() and not normalize(t))

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


def load_image(path: Path):
    """Open an image file as an RGB PIL image, or raise ImageLoadError naming the problem.

    Any decoder failure becomes ImageLoadError: one bad file must never stop a run."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageLoadError("file not found") from None
    except OSError as exc:
        raise ImageLoadError(f"cannot read ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ImageLoadError("not a regular file")
    return decode_image(path, st.st_size)


def decode_image(src, size: int):
    """Decode a file path or a binary file object (``size`` bytes) as RGB, or raise ImageLoadError."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        if size == 0:
            raise ImageLoadError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                if getattr(im, "n_frames", 1) > 1:
                    im = next(iter(ImageSequence.Iterator(im)))
                w, h = im.size
                if w < 2 or h < 2:
                    raise ImageLoadError(f"image too small ({w}x{h})")
                limit = max_word_pixels()
                if w * h > limit:
                    raise ImageLoadError(f"image too large for a word crop ({w}x{h} = {w * h / 1e6:.1f} Mpx, "
                                         f"limit {limit / 1e6:g} Mpx; set XSB_MAX_IMAGE_PIXELS to raise it)")
                im.load()
                return _to_rgb(_upright(im))
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError("file not found") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"image too large: {str(exc)[:120]}") from None
    except UnidentifiedImageError as exc:
        raise ImageLoadError(f"{type(exc).__name__}: {str(exc)[:120]}") from None
    except MemoryError:
        raise ImageLoadError("out of memory decoding the image") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, ValueError, struct.error, ...
        raise ImageLoadError(f"cannot decode ({type(exc).__name__}: {str(exc)[:120]})") from None


HASH_SIDECAR_VERSION = 1
_READ_CHUNK = 1 << 20


def _default_sidecar_dir() -> Path:
    from .cache import default_cache_dir

    return default_cache_dir() / "content"


def _root_key(root: Path) -> str:
    return hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:20]


def _read_sidecar(path: Path, root: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: hash again, never trust
    if not isinstance(data, dict) or data.get("version") != HASH_SIDECAR_VERSION or data.get("root") != str(root):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_sidecar(path: Path, root: Path, files: dict) -> None:
    from .store import atomic_write_bytes

    data = {"version": HASH_SIDECAR_VERSION, "root": str(root), "files": files}
    try:
        atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except OSError:
        pass  # a read-only or full cache only costs hashing again next time


def _hash_one(root: Path, rel: str, known: list | None) -> tuple[str, str, list | None]:
    """("ok", hash, sidecar entry) or ("refused", reason, None) for one manifest path.

    The same rules as ``Dataset.load_image``: the resolved file must lie inside the folder and be a
    regular file; it is opened without blocking and checked again after opening (a file swapped for
    a FIFO between the two checks is refused, not waited on)."""
    try:
        path = os.path.realpath(os.path.join(root, rel))  # strings: pathlib costs 2x on large folders
    except (OSError, RuntimeError, ValueError) as exc:
        return "refused", f"cannot resolve path ({exc})", None
    base = str(root)
    if not path.startswith(base.rstrip(os.sep) + os.sep):
        return "refused", "path resolves outside the dataset folder (symlink?)", None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "refused", "file not found", None
    except OSError as exc:
        return "refused", f"cannot stat ({exc.strerror or exc})", None
    if not stat.S_ISREG(st.st_mode):
        return "refused", "not a regular file", None
    real = Path(os.path.relpath(path, base)).as_posix()
    stamp = [real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    if isinstance(known, list) and known[:-1] == stamp:
        return "ok", str(known[-1]), known
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return "refused", f"cannot open ({exc.strerror or exc})", None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "refused", "not a regular file", None
        h = hashlib.blake2b(digest_size=16)
        while True:
            block = os.read(fd, _READ_CHUNK)
            if not block:
                break
            h.update(block)
    except OSError as exc:
        return "refused", f"cannot read ({exc.strerror or exc})", None
    finally:
        os.close(fd)
    return "ok", h.hexdigest(), [*stamp, h.hexdigest()]


@cache
def decoder_fingerprint() -> str:
    """A hash of the code that turns image files into the RGB images adapters see: outputs cached
    under one decoder are not reused under another."""
    src = "".join(inspect.getsource(f) for f in (Dataset.load_image, load_image, decode_image, _upright,
                                                  _to_rgb, _to_8bit))
    return hashlib.sha256(src.encode("utf-8")).hexdigest()[:12]


def _upright(im):
    """Apply an EXIF orientation (phone photos are often stored sideways); ignore broken EXIF."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a bad EXIF block is no reason to drop the image
        return im


def _to_rgb(im):
    """Convert any mode (palette, CMYK, 16-bit, float, alpha) to RGB on a white background."""
    from PIL import Image
    import numpy as np

    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(_to_8bit(arr, 65535.0 if im.mode.startswith("I;16") else None), "L")
    if "A" in im.mode or "a" in im.mode or "transparency" in im.info:
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


def _to_8bit(arr, full_scale: float | None):
    """Map a high-depth grey image to 0..255 by its nominal range (16-bit: /257; float 0..1: x255),
    keeping faint ink faint; stretch min..max only when the values fit no nominal range."""
    import numpy as np

    arr = np.nan_to_num(arr, nan=255.0, posinf=255.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if full_scale is None and lo >= 0:
        full_scale = next((s for s in (1.0, 255.0, 65535.0) if hi <= s), None)
    if full_scale is not None and lo >= 0:
        out = arr * (255.0 / full_scale)
    elif hi > lo:
        out = (arr - lo) / (hi - lo) * 255.0
    else:
        out = np.full_like(arr, 255.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_dataset(root: str | Path, rows: pd.DataFrame | Iterable[dict], name: str,
                  lexicon: str | Path | None = None, **meta) -> Path:
    """Write a manifest folder (images must already be under ``root``); used by builders and tests."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    cols = [c for c in ("id", *REQUIRED_COLUMNS) if c in df.columns]
    _atomic_write_text(root / "manifest.csv", df[cols].to_csv(index=False))
    info = {"name": name, **meta}
    if lexicon is not None:
        info["lexicon"] = str(lexicon)
    _atomic_write_text(root / "dataset.json", json.dumps(info, ensure_ascii=False, indent=2))
    return root


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_meta(root: Path) -> dict:
    p = root / "dataset.json"
    if not p.is_file():
        return {}
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchError(f"{p}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise BenchError(f"{p}: expected a JSON object")
    return meta


def _read_manifest(root: Path) -> tuple[pd.DataFrame, str | None]:
    """The manifest's rows, and the name of the Parquet column holding image bytes (None: files)."""
    for name in MANIFEST_NAMES:
        p = root / name
        if not p.is_file():
            continue
        try:
            if name.endswith(".csv"):
                return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8"), None
            return _read_parquet_manifest(p)
        except UnicodeDecodeError:
            raise BenchError(f"{p}: manifest is not UTF-8 ({_first_bad_utf8(p)})") from None
        except pd.errors.EmptyDataError:
            raise BenchError(f"{p}: manifest is empty") from None
        except pd.errors.ParserError as exc:
            raise BenchError(f"{p}: malformed CSV ({str(exc).splitlines()[0]})") from None
        except ImportError:
            raise BenchError(f"{p}: reading Parquet needs pyarrow; fix: pip install 'xscript-bench[formats]'") from None
        except Exception as exc:  # noqa: BLE001 - any reader failure is a user-facing data error
            raise BenchError(f"{p}: cannot read manifest ({type(exc).__name__}: {exc})") from None
    raise BenchError(f"no manifest.csv or manifest.parquet in {root}")


def _read_parquet_manifest(p: Path) -> tuple[pd.DataFrame, str | None]:
    """Every column but the image bytes (those stay on disk until an image is asked for)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(p)
    schema = pf.schema_arrow
    image = next((c for c in IMAGE_COLUMNS if c in schema.names and _holds_bytes(schema.field(c).type)), None)
    df = pf.read(columns=[c for c in schema.names if c != image]).to_pandas()
    df = df.astype(str).where(df.notna(), "")
    if image is not None and ("path" not in df.columns or (df["path"].str.strip() == "").any()):
        df["path"] = [f"embedded/{i:07d}" for i in range(len(df))]  # display names for embedded images
    return df, image


def _holds_bytes(t) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(t):
        return t.get_field_index("bytes") >= 0
    return pa.types.is_binary(t) or pa.types.is_large_binary(t)


class EmbeddedImages:
    """Lazy access to image bytes in a Parquet column (the ``datasets`` Image struct or raw binary):
    one row group is read at a time and the last few are kept, so memory stays at a few row groups."""

    KEEP = 4

    def __init__(self, path: Path, column: str, paths: list[str]) -> None:
        import pyarrow.parquet as pq

        self.path, self.column = path, column
        self.row_of = {p: i for i, p in enumerate(paths)}
        if len(self.row_of) != len(paths):
            raise BenchError(f"{path}: paths must be unique when images are embedded")
        md = pq.ParquetFile(path).metadata
        self._starts = [0]
        for g in range(md.num_row_groups):
            self._starts.append(self._starts[-1] + md.row_group(g).num_rows)
        self._groups: dict[int, object] = {}
        self._lock = threading.Lock()
        self._file = None

    def __getstate__(self) -> dict:
        """Picklable for worker processes (`bench run --workers`): each reopens the file itself."""
        state = dict(self.__dict__)
        state.update(_groups={}, _lock=None, _file=None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def bytes_of(self, rel: str) -> bytes | None:
        """The image bytes of the row whose path is ``rel`` (None when the cell holds none)."""
        row = self.row_of[rel]
        g = bisect.bisect_right(self._starts, row) - 1
        with self._lock:
            col = self._groups.pop(g, None)
            if col is None:
                import pyarrow.parquet as pq

                if self._file is None:
                    self._file = pq.ParquetFile(self.path)
                col = self._file.read_row_group(g, columns=[self.column]).column(0).combine_chunks()
            self._groups[g] = col  # most recently used last
            while len(self._groups) > self.KEEP:
                self._groups.pop(next(iter(self._groups)))
        cell = col[row - self._starts[g]]
        value = cell.as_py()
        if isinstance(value, dict):
            value = value.get("bytes")
        return value


def _first_bad_utf8(path: Path) -> str:
    """Where the first non-UTF-8 byte is (pandas reports offsets within its read buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f"bad byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}"
    return "undecodable text"


def _inside(root: Path, rel: str, what: str) -> Path:
    """Resolve ``rel`` under ``root`` and refuse anything that escapes it."""
    p = (root / rel).resolve()
    try:
        p.relative_to(root)
    except ValueError:
        raise BenchError(f"{what} points outside the dataset folder: {rel!r}") from None
    return p


def _validate(df: pd.DataFrame, root: Path) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise BenchError(f"manifest in {root} lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(REQUIRED_COLUMNS)})")
    if df.empty:
        raise BenchError(f"manifest in {root} has no rows")
    df = df.copy()
    for col in ("path", "lang", "style", "split"):
        df[col] = df[col].astype(str).str.strip()
    df["text"] = [unicodedata.normalize("NFC", str(t)) for t in df["text"]]
    sid = pd.to_numeric(df["semantic_id"].replace("", str(NO_CONCEPT)), errors="coerce").astype(float)
    bad = sid.isna() | (sid != sid.round()) | (sid.abs() > MAX_SEMANTIC_ID)  # inf, 1e30 would wrap around
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise BenchError(f"manifest row {i + 2}: semantic_id {df['semantic_id'].iloc[i]!r} is not an integer "
                         f"in -1..{MAX_SEMANTIC_ID}")
    below = sid < NO_CONCEPT
    if below.any():
        i = int(below.to_numpy().nonzero()[0][0])
        raise BenchError(f"manifest row {i + 2}: semantic_id {df['semantic_id'].iloc[i]!r} is below -1 "
                         "(use -1 for a word without a cross-language concept)")
    df["semantic_id"] = sid.astype(int)
    bad_lang = ~df["lang"].str.match(LANG_CODE)
    if bad_lang.any():
        i = int(bad_lang.to_numpy().nonzero()[0][0])
        raise BenchError(f"manifest row {i + 2}: unknown language code {df['lang'].iloc[i]!r} "
                         "(use ISO 639-1/639-3 codes such as en, zh, es)")
    for col in ("path", "text", "split"):
        empty = df[col].str.strip() == ""
        if empty.any():
            i = int(empty.to_numpy().nonzero()[0][0])
            raise BenchError(f"manifest row {i + 2}: empty path, text or split ({col} is empty or null)")
    df["split"] = df["split"].str.lower()
    for split in df["split"].unique():
        try:
            check_name(split, "split name")
        except BenchError as exc:
            i = int((df["split"] == split).to_numpy().nonzero()[0][0])
            raise BenchError(f"manifest row {i + 2}: {exc}") from None
    for i, rel in enumerate(df["path"]):
        if rel.startswith(("/", "\\")) or ".." in Path(rel).parts or re.match(r"^[A-Za-z]:", rel):
            raise BenchError(f"manifest row {i + 2}: path {rel!r} points outside the dataset folder")
        if CONTROL_CHARS.search(rel):
            raise BenchError(f"manifest row {i + 2}: path {rel!r} contains control characters")
    raw = df["path"].tolist()
    df["path"] = [posixpath.normpath(rel) for rel in raw]  # img/./x.png and img//x.png are img/x.png
    same = df["path"].duplicated()
    if same.any():
        j = int(same.to_numpy().nonzero()[0][0])
        i = int((df["path"] == df["path"].iat[j]).to_numpy().nonzero()[0][0])
        spelled = f" (as {raw[i]!r} and {raw[j]!r})" if raw[i] != raw[j] else ""
        raise BenchError(f"manifest rows {i + 2} and {j + 2} name the same image {df['path'].iat[j]!r}{spelled}")
    if "id" not in df.columns:
        df["id"] = df["path"]
    dup = df["id"].duplicated()
    if dup.any():
        raise BenchError(f"manifest has duplicate ids, e.g. {df['id'][dup].iloc[0]!r}")
    return df.reset_index(drop=True)
