"""Image files to the RGB images adapters see: one bad file is an ``ImageLoadError`` with a reason,
never a crash. Images larger than ``MAX_WORD_PIXELS`` are refused (word crops are small; a 9000x9000
page would cost gigabytes); ``XSB_MAX_IMAGE_PIXELS`` raises the limit.

The source of these functions is the decoder's identity (``decoder_fingerprint``): outputs cached
under one decoder are never reused under another, so edit them only to change what they decode.
"""
from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from ..errors import BenchError

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


# the code that decides the decoded pixels, in the order decoder_fingerprint hashes it
DECODER_FUNCTIONS = (load_image, decode_image, _upright, _to_rgb, _to_8bit)
