"""Broken and unusual image files, generated at test time (no committed binaries).

Each case is written into a dataset folder by ``write``. ``READ`` cases are valid but unusual and
must reach the adapter as a sensible RGB image (dark ink box on light paper); ``SKIP`` cases must be
skipped and recorded with a reason containing ``needle``.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

W, H = 96, 40
INK = (slice(12, 28), slice(24, 72))  # rows, columns of the ink box


def ink_gray() -> np.ndarray:
    """8-bit grey page: paper 255, an ink box 0."""
    a = np.full((H, W), 255, np.uint8)
    a[INK] = 0
    return a


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def raw_png(width: int, height: int, bit_depth: int, color_type: int, rows: Callable[[], bytes] | None) -> bytes:
    """A PNG written chunk by chunk; ``rows`` gives one scanline (filter byte included), repeated
    ``height`` times and compressed as a stream, so a 20000x20000 image costs kilobytes, not gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if rows is not None:
        comp = zlib.compressobj(6)
        line = rows()
        block = line * max(1, (1 << 20) // len(line))
        left, parts = height, []
        per = len(block) // len(line)
        while left > 0:
            n = min(per, left)
            parts.append(comp.compress(block[: n * len(line)]))
            left -= n
        parts.append(comp.flush())
        out += chunk(b"IDAT", b"".join(parts))
    return out + chunk(b"IEND", b"")


def huge_png() -> bytes:
    """20000x20000 bilevel white page: valid, ~50 kB on disk, 400 Mpixel decoded."""
    return raw_png(20000, 20000, 1, 0, lambda: b"\x00" + b"\xff" * 2500)


def page_png() -> bytes:
    """9000x9000 bilevel page: under PIL's bomb limit, but 81 Mpx (1.8 GB and ~20 s to decode and
    convert): far over the word-crop limit, so it is refused from its header."""
    return raw_png(9000, 9000, 1, 0, lambda: b"\x00" + b"\xff" * 1125)


def png16_gray(paper: int, ink: int) -> bytes:
    a = np.full((H, W), paper, np.uint16)
    a[INK] = ink
    return png_bytes(Image.fromarray(a))


def rgb48_png() -> bytes:
    """16-bit-per-channel RGB (PIL cannot write it; raw scanlines, filter 0)."""
    a = np.full((H, W, 3), 65535, ">u2")
    a[INK] = 0
    body = b"".join(b"\x00" + a[r].tobytes() for r in range(H))
    png = raw_png(W, H, 16, 2, None)
    idat = zlib.compress(body)
    iend = png[-12:]
    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat) & 0xFFFFFFFF)
    return png[:-12] + chunk + iend


def cmyk_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(ink_gray()).convert("CMYK").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def palette_transparent_png() -> bytes:
    """Palette PNG whose background is fully transparent (index 0) and ink is opaque blue."""
    p = np.zeros((H, W), np.uint8)
    p[INK] = 1
    im = Image.fromarray(p, "P")
    im.putpalette([0, 0, 0, 0, 0, 200] + [0] * 762)
    return png_bytes(im, transparency=0)


def rgba_png() -> bytes:
    a = np.zeros((H, W, 4), np.uint8)  # transparent black paper
    a[INK] = (0, 0, 0, 255)
    return png_bytes(Image.fromarray(a, "RGBA"))


def animated_gif() -> bytes:
    """Frame 1: the ink box; frame 2: everything black. The first frame is the one to read."""
    f1 = Image.fromarray(ink_gray()).convert("P")
    f2 = Image.new("L", (W, H), 0).convert("P")
    buf = io.BytesIO()
    f1.save(buf, "GIF", save_all=True, append_images=[f2], duration=100, loop=0)
    return buf.getvalue()


def bilevel_png() -> bytes:
    return png_bytes(Image.fromarray(ink_gray()).convert("1"))


def float_tiff() -> bytes:
    """32-bit float page in 0..1 (paper 1.0, ink 0.0)."""
    buf = io.BytesIO()
    Image.fromarray(ink_gray().astype(np.float32) / 255.0, "F").save(buf, "TIFF")
    return buf.getvalue()


def rotated_jpeg() -> bytes:
    """Stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view), as phones do."""
    im = Image.fromarray(ink_gray()).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def good_png() -> bytes:
    return png_bytes(Image.fromarray(ink_gray()))


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], None]  # writes the file at the given path (suffix chosen by the case)
    suffix: str
    needle: str | None = None  # None: must be read; else: skipped with this in the reason
    paper: int = 255  # expected grey level of the paper after loading (READ cases)


def _bytes(fn: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(fn())


def _truncated(fn: Callable[[], bytes], keep: float = 0.5) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(fn()[: int(len(fn()) * keep)])


READ = [
    Case("cmyk", _bytes(cmyk_jpeg), ".jpg"),
    Case("gray16", _bytes(lambda: png16_gray(65535, 0)), ".png"),
    Case("gray16_faint", _bytes(lambda: png16_gray(60395, 30069)), ".png", paper=235),  # 235*257, 117*257
    Case("rgb48", _bytes(rgb48_png), ".png"),
    Case("palette_transparent", _bytes(palette_transparent_png), ".png"),
    Case("rgba_transparent", _bytes(rgba_png), ".png"),
    Case("animated", _bytes(animated_gif), ".gif"),
    Case("bilevel", _bytes(bilevel_png), ".png"),
    Case("float", _bytes(float_tiff), ".tif"),
    Case("exif_rotated", _bytes(rotated_jpeg), ".jpg"),
]

SKIP = [
    Case("zero_bytes", lambda p: p.write_bytes(b""), ".png", "empty file"),
    Case("truncated_png", _truncated(good_png), ".png", "truncated"),
    Case("truncated_jpeg", _truncated(cmyk_jpeg, 0.4), ".jpg", "truncated"),
    Case("garbage", lambda p: p.write_bytes(os.urandom(64)), ".png", "cannot identify"),
    Case("one_pixel", _bytes(lambda: png_bytes(Image.new("L", (1, 1), 0))), ".png", "too small (1x1)"),
    Case("huge", _bytes(huge_png), ".png", "too large"),
    Case("page_9000", _bytes(page_png), ".png", "too large for a word crop (9000x9000 = 81.0 Mpx, limit 16 Mpx; "
                                                "set XSB_MAX_IMAGE_PIXELS"),
    Case("header_only", _bytes(lambda: raw_png(W, H, 8, 0, None)), ".png", "cannot decode"),
]
