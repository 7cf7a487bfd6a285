"""CASIA-HWDB1.0/1.1 isolated characters: ``.gnt`` files of back-to-back binary records.

A record is, little-endian: uint32 sample size (the whole record, header included), 2-byte tag
code (the label in GBK, high byte first as stored), uint16 width, uint16 height, then width*height
uint8 pixels, row-major, background 255. Files are named by writer (``1001-c.gnt``); downloads are
zip archives of them, which are read in place.
"""
from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from bench.errors import BenchError

HEADER = struct.Struct("<I2sHH")


@dataclass(frozen=True)
class GntSample:
    """One character image; ``offset`` is the record's byte offset in its file."""

    label: str
    width: int
    height: int
    pixels: bytes
    offset: int

    def image(self):
        """The bitmap as a PIL image in mode "L" (dark ink on white)."""
        from PIL import Image

        return Image.frombytes("L", (self.width, self.height), self.pixels)


def decode_label(tag: bytes, where: str) -> str:
    """GBK tag code -> character (a few releases store ASCII as ``char, 0``)."""
    if tag[1] == 0 and 0 < tag[0] < 0x80:
        return chr(tag[0])
    try:
        label = tag.decode("gbk")
    except UnicodeDecodeError:
        raise BenchError(f"{where}: label bytes {tag.hex()} are not a GBK character") from None
    if len(label) != 1:
        raise BenchError(f"{where}: label bytes {tag.hex()} are not a GBK character")
    return label


def read_gnt(stream: BinaryIO, name: str) -> Iterator[GntSample]:
    """Records of one ``.gnt`` stream; corrupt or cut records raise BenchError naming file and offset."""
    offset = 0
    while True:
        head = stream.read(HEADER.size)
        if not head:
            return
        if len(head) < HEADER.size:
            raise BenchError(f"{name}: truncated record header at byte offset {offset} "
                             f"({len(head)} of {HEADER.size} bytes; file cut short?)")
        size, tag, width, height = HEADER.unpack(head)
        where = f"{name}: record at byte offset {offset}"
        if width == 0 or height == 0 or size != HEADER.size + width * height:
            raise BenchError(f"{where} is corrupt (size field {size}, {width}x{height} pixels; "
                             "not a CASIA-HWDB1.x .gnt file?)")
        pixels = stream.read(width * height)
        if len(pixels) < width * height:
            raise BenchError(f"{where} is truncated ({len(pixels)} of {width * height} pixel bytes; "
                             "file cut short?)")
        yield GntSample(decode_label(tag, where), width, height, pixels, offset)
        offset += size


@dataclass(frozen=True)
class GntSource:
    """One ``.gnt`` file, on disk or inside a zip; ``stem`` names its writer (``1001-c``)."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def stem(self) -> str:
        return Path(self.member).stem if self.member else self.path.stem

    def samples(self) -> Iterator[GntSample]:
        if self.member is None:
            try:
                with open(self.path, "rb") as f:
                    yield from read_gnt(f, self.name)
            except OSError as exc:
                raise BenchError(f"cannot read {self.path}: {exc.strerror or exc}") from None
            return
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as f:
                yield from read_gnt(f, self.name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise BenchError(f"cannot read {self.name}: {exc} (zip archive damaged?)") from None


def writer_of(stem: str) -> str:
    """Writer id from a file stem: ``1001-c`` -> ``1001``; other names stay whole."""
    head = stem.split("-")[0]
    return head if head.isdigit() else stem


def find_sources(paths: Iterable[str | Path]) -> list[GntSource]:
    """Expand files, folders (searched recursively) and zip archives into ``.gnt`` sources."""
    out: list[GntSource] = []
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (".gnt", ".zip"))
            if not files:
                raise BenchError(f"no .gnt files or zip archives in {p}")
        elif p.is_file():
            files = [p]
        else:
            raise BenchError(f"HWDB path not found: {p}")
        for f in files:
            if f.suffix.lower() == ".zip":
                out += _zip_members(f)
            else:
                out.append(GntSource(f))
    if not out:
        raise BenchError("no .gnt files found in " + ", ".join(str(p) for p in paths))
    return out


def _zip_members(path: Path) -> list[GntSource]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = sorted(n for n in zf.namelist() if n.lower().endswith(".gnt"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise BenchError(f"cannot read zip archive {path}: {exc}") from None
    if not members:
        raise BenchError(f"zip archive {path} holds no .gnt files")
    return [GntSource(path, m) for m in members]
