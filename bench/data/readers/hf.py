"""``bench data import hf``: a Hugging Face dataset -> ``manifest.parquet`` with the image bytes inside.

Sources: a ``save_to_disk`` folder (one dataset, or a DatasetDict with a folder per split; its
``.arrow`` files are Arrow streams that pyarrow reads), Parquet files (the hub's ``data/`` layout:
the split is the file name's prefix or its folder), or, with ``--allow-download``, a hub name
loaded by the ``datasets`` library. Columns are found by their usual names (text/label/transcription/
word, image/img, writer/writer_id, split) unless given; an integer ``ClassLabel`` text column is
mapped to its names. Rows are streamed batch by batch and image bytes are copied as they are
(PNG stays PNG, JPEG stays JPEG), so memory stays at one batch whatever the dataset's size.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.errors import BenchError

from .convert import LEXICON_NAME, ImportOptions, LexiconMatcher, _check_out, _staging, _warn, load_lexicon

TEXT_NAMES = ("text", "label", "transcription", "word", "ground_truth", "gt")
IMAGE_NAMES = ("image", "img")
WRITER_NAMES = ("writer", "writer_id", "writerid", "author", "hand", "scribe")
SPLIT_NAMES = ("split",)
KNOWN_SPLITS = re.compile(r"^(train|test|validation|valid|val|dev|eval|id|ood)$", re.I)
BATCH = 256


@dataclass
class HfColumns:
    text: str | None = None
    image: str | None = None
    writer: str | None = None
    split: str | None = None


@dataclass
class Part:
    """One stream of record batches and the split its rows belong to (None: unnamed)."""

    split: str | None
    schema: object  # pyarrow.Schema
    batches: object  # callable -> iterator of RecordBatch
    features: dict
    base: Path | None  # folder for relative image paths


def _features(schema, info_dir: Path | None) -> dict:
    """The ``datasets`` feature description: from the schema's metadata, else dataset_info.json."""
    meta = (schema.metadata or {}).get(b"huggingface")
    if meta:
        try:
            return json.loads(meta).get("info", {}).get("features", {}) or {}
        except (ValueError, AttributeError):
            pass
    if info_dir is not None and (info_dir / "dataset_info.json").is_file():
        try:
            return json.loads((info_dir / "dataset_info.json").read_text()).get("features", {}) or {}
        except ValueError:
            pass
    return {}


def _arrow_part(folder: Path, split: str | None) -> Part:
    import pyarrow as pa

    files = sorted(folder.glob("data-*.arrow")) or sorted(folder.glob("*.arrow"))
    if not files:
        raise BenchError(f"{folder}: a datasets folder without .arrow files")

    def open_(f: Path):
        try:
            return pa.ipc.open_stream(pa.memory_map(str(f)))
        except pa.ArrowInvalid:
            return pa.ipc.open_file(pa.memory_map(str(f)))

    def batches():
        for f in files:
            r = open_(f)
            yield from (r.get_batch(i) for i in range(r.num_record_batches)) if hasattr(r, "get_batch") else r

    try:
        schema = open_(files[0]).schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise BenchError(f"{files[0]}: not an Arrow file ({exc})") from None
    if split is None and (folder / "state.json").is_file():
        try:
            split = json.loads((folder / "state.json").read_text()).get("_split")
        except ValueError:
            pass
    return Part(split, schema, batches, _features(schema, folder), folder)


def _parquet_split(f: Path, root: Path) -> str | None:
    head = f.name.split("-")[0].split(".")[0]
    if KNOWN_SPLITS.match(head):
        return head
    for parent in f.relative_to(root).parts[:-1][::-1]:
        if KNOWN_SPLITS.match(parent):
            return parent
    return None


def local_parts(src: Path) -> list[Part]:
    """The parts of a local datasets folder or Parquet file(s)."""
    import pyarrow.parquet as pq

    if src.is_dir() and (src / "dataset_dict.json").is_file():
        try:
            splits = json.loads((src / "dataset_dict.json").read_text())["splits"]
        except (ValueError, KeyError):
            raise BenchError(f"{src / 'dataset_dict.json'}: not a datasets DatasetDict description") from None
        return [_arrow_part(src / s, s) for s in splits]
    if src.is_dir() and list(src.glob("*.arrow")):
        return [_arrow_part(src, None)]
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*.parquet") if p.is_file())
    if not files:
        raise BenchError(f"{src}: no datasets folder (dataset_dict.json or .arrow files) or .parquet files")
    parts = []
    for f in files:
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
            raise BenchError(f"{f}: not a Parquet file ({type(exc).__name__}: {_first_line(exc)})") from None
        parts.append(Part(_parquet_split(f, src if src.is_dir() else f.parent), pf.schema_arrow,
                          lambda pf=pf: pf.iter_batches(batch_size=BATCH), _features(pf.schema_arrow, None), f.parent))
    return parts


def hub_parts(name: str, revision: str | None) -> list[Part]:
    """The splits of a hub dataset, downloaded by the datasets library."""
    try:
        import datasets
    except ImportError:
        raise BenchError("--allow-download needs the datasets library: pip install 'xscript-bench[hf-data]'") from None
    try:
        dd = datasets.load_dataset(name, revision=revision)
    except Exception as exc:  # noqa: BLE001 - network, auth and format errors all end the import
        raise BenchError(f"cannot load {name!r} from the hub: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}") from None
    if not isinstance(dd, dict):
        dd = {None: dd}
    parts = []
    for split, ds in dd.items():
        table = ds.with_format("arrow")
        parts.append(Part(split, ds.data.schema, lambda t=table: (b for tb in t.iter(batch_size=BATCH)
                                                                  for b in tb.to_batches()),
                          ds.features.to_dict() if hasattr(ds.features, "to_dict") else {}, None))
    return parts


def _pick(names: list[str], given: str | None, usual: tuple[str, ...], what: str, flag: str) -> str | None:
    if given:
        if given not in names:
            raise BenchError(f"{flag} {given!r} is not a column (columns: {', '.join(names)})")
        return given
    lower = {n.lower(): n for n in names}
    return next((lower[u] for u in usual if u in lower), None)


def map_columns(part: Part, cols: HfColumns) -> tuple[str, str, str | None, str | None, list[str] | None]:
    """(text, image, writer, split, ClassLabel names of text) columns, or one line saying what is missing."""
    import pyarrow as pa

    names = list(part.schema.names)
    text = _pick(names, cols.text, TEXT_NAMES, "text", "--text-column")
    image = _pick(names, cols.image, IMAGE_NAMES, "image", "--image-column")
    if text is None:
        raise BenchError(f"no transcription column among {', '.join(names)}: pass --text-column")
    if image is None:
        raise BenchError(f"no image column among {', '.join(names)}: pass --image-column")
    ttype, itype = part.schema.field(text).type, part.schema.field(image).type
    labels = None
    if pa.types.is_integer(ttype):
        feat = part.features.get(text) or {}
        labels = feat.get("names") if isinstance(feat, dict) else None
        if not labels:
            raise BenchError(f"text column {text!r} holds {ttype} without ClassLabel names: pass --text-column")
    elif not (pa.types.is_string(ttype) or pa.types.is_large_string(ttype)):
        raise BenchError(f"text column {text!r} holds {ttype}, not text: pass --text-column")
    ok_image = (pa.types.is_struct(itype) and itype.get_field_index("bytes") >= 0) or pa.types.is_binary(itype) \
        or pa.types.is_large_binary(itype) or pa.types.is_string(itype)
    if not ok_image:
        raise BenchError(f"image column {image!r} holds {itype}, not image bytes (a struct of bytes and path, "
                         "binary, or a path)")
    writer = _pick(names, cols.writer, WRITER_NAMES, "writer", "--writer-column")
    split = _pick(names, cols.split, SPLIT_NAMES, "split", "--split-column")
    return text, image, writer, split, labels


def _image_bytes(value, base: Path | None) -> tuple[bytes | None, str]:
    """(bytes, original name) of one image cell: a struct, raw bytes, or a path to read."""
    path = None
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        data, path = None, value
    if data is None and path:
        p = Path(path)
        p = p if p.is_absolute() else (base / p if base is not None else p)
        data = p.read_bytes() if p.is_file() else None
    return data, str(path or "")


def rows(parts: list[Part], cols: HfColumns, forced_split: str | None) -> Iterator[dict]:
    """Rows of every part: text, writer, split, image bytes and format (None when unreadable)."""
    from PIL import Image

    for part in parts:
        text_c, image_c, writer_c, split_c, labels = map_columns(part, cols)
        for batch in part.batches():
            d = batch.select([c for c in (text_c, image_c, writer_c, split_c) if c]).to_pydict()
            for i in range(batch.num_rows):
                t = d[text_c][i]
                data, name = _image_bytes(d[image_c][i], part.base)
                fmt = None
                if data:
                    try:
                        with Image.open(io.BytesIO(data)) as im:
                            fmt = (im.format or "").lower() or None
                    except Exception:  # noqa: BLE001 - counted and left out
                        fmt = None
                yield {"text": labels[t] if labels is not None and t is not None else t,
                       "writer": None if writer_c is None else d[writer_c][i],
                       "split": forced_split or (d[split_c][i] if split_c else None) or part.split or "ood",
                       "bytes": data if fmt else None, "name": name, "format": fmt}


def import_hf(src: str, out: str | Path, opts: ImportOptions, lang: str, cols: HfColumns,
              forced_split: str | None = None, allow_download: bool = False, revision: str | None = None) -> Path:
    """Write a manifest.parquet dataset (images embedded) from a local folder or, if allowed, the hub."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BenchError("importing Hugging Face data needs pyarrow: pip install 'xscript-bench[hf-data]'") from None
    local = Path(src).expanduser()
    if local.exists():
        parts, label = local_parts(local), str(local.resolve())
    elif allow_download:
        parts, label = hub_parts(src, revision), src
    else:
        raise BenchError(f"{src}: no such folder or file (for a hub dataset pass --allow-download)")
    for part in parts:
        map_columns(part, cols)  # refuse before writing anything
    lexicon = load_lexicon(opts.lexicon)
    out = Path(out)
    _check_out(out, opts, lexicon, [])
    matcher = LexiconMatcher.build(lexicon, lang)
    name = opts.name or "hf-" + re.sub(r"[^A-Za-z0-9._-]+", "_", local.name if local.exists() else src).strip("_")
    schema = pa.schema([("id", pa.string()), ("path", pa.string()), ("text", pa.string()),
                        ("semantic_id", pa.int64()), ("lang", pa.string()), ("style", pa.string()),
                        ("split", pa.string()), ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))])
    skipped = {"no or undecodable image": 0, "empty text": 0, "not in the lexicon": 0}
    counts: dict[str, int] = {}
    with _staging(out, False) as stage:
        writer = pq.ParquetWriter(stage / "manifest.parquet", schema)
        buf: list[dict] = []
        n = 0
        try:
            for r in rows(parts, cols, forced_split):
                text = "" if r["text"] is None else str(r["text"]).strip()
                if not text:
                    skipped["empty text"] += 1
                    continue
                if r["bytes"] is None:
                    skipped["no or undecodable image"] += 1
                    continue
                sid, text = matcher.match(text)
                if sid < 0 and opts.lexicon_only:
                    skipped["not in the lexicon"] += 1
                    continue
                split = str(r["split"]).strip() or "ood"
                ext = {"jpeg": "jpg"}.get(r["format"], r["format"])
                buf.append({"id": f"{name}/{split}/{n}", "path": f"embedded/{split}/{n:07d}.{ext}", "text": text,
                            "semantic_id": sid, "lang": lang,
                            "style": f"{name}-{r['writer']}" if r["writer"] not in (None, "") else name,
                            "split": split, "image": {"bytes": r["bytes"], "path": r["name"] or None}})
                counts[split] = counts.get(split, 0) + 1
                n += 1
                if len(buf) >= BATCH:
                    writer.write_table(pa.Table.from_pylist(buf, schema=schema))
                    buf = []
            if buf:
                writer.write_table(pa.Table.from_pylist(buf, schema=schema))
        finally:
            writer.close()
        if not n:
            raise BenchError(f"no rows imported from {src} ({', '.join(f'{v} {k}' for k, v in skipped.items() if v)})")
        left = {k: v for k, v in skipped.items() if v}
        if left:
            _warn("left out: " + ", ".join(f"{v} {k}" for k, v in left.items()))
        meta = {"name": name, "description": f"Hugging Face dataset {src}, imported by bench data import hf",
                "sources": [{"format": "hf", "source": label, "revision": revision, "imported": n,
                             "splits": counts, "left_out": left, "lang": lang,
                             "columns": {k: v for k, v in vars(cols).items() if v}}]}
        if lexicon is not None:
            shutil.copyfile(lexicon.path, stage / LEXICON_NAME)
            meta["lexicon"] = LEXICON_NAME
        (stage / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        if out.is_dir():
            out.rmdir()
        os.rename(stage, out)
    _warn(f"{out}: {n} samples ({', '.join(f'{s} {c}' for s, c in sorted(counts.items()))}), images embedded")
    return out


def _first_line(exc: BaseException) -> str:
    """The error's first line in full (pyarrow's explanation is in its last words), spaces collapsed."""
    lines = str(exc).strip().splitlines() or [""]
    return " ".join(lines[0].split())
