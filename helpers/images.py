"""Read a photo file of any common kind as an RGB array, or say clearly why not.

Chapter 5 turns the clothing classifier into a function that takes a file
path.  Users send whatever they have: JPEG from a phone (rotated by an EXIF
tag), PNG with transparency, 16-bit scans, CMYK print files, WebP, BMP,
animated GIFs, a 1-pixel icon or a 24-megapixel photo, and now and then a
file that is not an image at all.  This module turns every image into the
same thing the training data was — RGB, 8 bits per channel, no alpha — and
every non-image into an :class:`UnreadableImage` that names the file and the
problem, instead of a stack trace from deep inside an image library.
"""

from __future__ import annotations

import codecs
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["UnreadableImage", "read_rgb"]

#: Transparent pixels are shown on white, the usual background of product photos.
BACKGROUND = (255, 255, 255)


class UnreadableImage(ValueError):
    """A file could not be read as an image; the message says which file and why."""


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file decode as UTF-8 (a character cut off at the end is allowed)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode to an (h, w, 3) uint8 array; alpha composited onto :data:`BACKGROUND`."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # High bit depths: Pillow's own conversion to 8 bits clips instead of scaling.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(np.round(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, (*BACKGROUND, 255))
        image = Image.alpha_composite(canvas, image)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """The image at ``path`` as an ``(height, width, 3)`` uint8 RGB array.

    Applies the EXIF orientation, takes the first frame of an animation, and
    flattens transparency onto white.  Raises :class:`FileNotFoundError` for a
    missing file and :class:`UnreadableImage` for anything that is not a
    complete image (empty, truncated, text, unknown format, too many pixels
    to decode safely).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not path.is_file():
        raise UnreadableImage(f"{path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableImage(f"{path} is empty (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.seek(0)  # first frame of an animated GIF or WebP
                image.load()  # decode now: a truncated file fails here, not later
                image = ImageOps.exif_transpose(image)
                return _to_rgb(image)
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(512)
        kind = "a text file" if _looks_like_text(head) else "not in an image format Pillow can read"
        raise UnreadableImage(f"{path} is {kind}, not an image ({size:,} bytes)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise UnreadableImage(f"{path} has too many pixels to decode safely: {err}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise UnreadableImage(f"{path} is truncated or corrupt and cannot be decoded: {err}") from None
