"""The manifest format: ``manifest.csv`` / ``manifest.parquet`` and ``dataset.json``, read, validated
and written. Validation refuses, with one line naming the row, what would otherwise be silently coerced.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import unicodedata
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import BenchError
from ..results.store import check_name

REQUIRED_COLUMNS: tuple[str, ...] = ("path", "text", "semantic_id", "lang", "style", "split")
IMAGE_COLUMNS: tuple[str, ...] = ("image", "img")  # manifest.parquet columns that may hold image bytes
MANIFEST_NAMES: tuple[str, ...] = ("manifest.csv", "manifest.parquet")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
NO_CONCEPT = -1
MAX_SEMANTIC_ID = 2**31 - 1
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


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
    """Write beside the target, then rename: a reader never sees half a manifest."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_meta(root: Path) -> dict:
    """``dataset.json`` as a dict ({} when the folder has none)."""
    p = root / "dataset.json"
    if not p.is_file():
        return {}
    inside_folder(root.resolve(), "dataset.json", "dataset.json")
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchError(f"{p}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise BenchError(f"{p}: expected a JSON object")
    return meta


def read_manifest(root: Path) -> tuple[pd.DataFrame, str | None]:
    """The manifest's rows, and the name of the Parquet column holding image bytes (None: files)."""
    for name in MANIFEST_NAMES:
        p = root / name
        if not p.is_file():
            continue
        inside_folder(root.resolve(), name, name)  # a symlink may not lead outside the folder (as for the lexicon)
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


def _first_bad_utf8(path: Path) -> str:
    """Where the first non-UTF-8 byte is (pandas reports offsets within its read buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f"bad byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}"
    return "undecodable text"


def inside_folder(root: Path, rel: str, what: str) -> Path:
    """Resolve ``rel`` under ``root`` and refuse anything that escapes it."""
    p = (root / rel).resolve()
    try:
        p.relative_to(root)
    except ValueError:
        raise BenchError(f"{what} points outside the dataset folder: {rel!r}") from None
    return p


def validate_manifest(df: pd.DataFrame, root: Path) -> pd.DataFrame:
    """The manifest's rows, checked and normalized (NFC text, lower-case splits, normalized paths, ids)."""
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
