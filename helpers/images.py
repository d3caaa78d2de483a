"""Read a photo file of any common kind as an RGB array, or say clearly why not.

Chapter 5 turns the clothing classifier into a function that takes a file
path.  Users send whatever they have: JPEG from a phone (rotated by an EXIF
tag), PNG with transparency, 16-bit scans, CMYK print files, WebP, BMP,
animated GIFs, a 1-pixel icon or a 24-megapixel photo, and now and then a
file that is not an image at all.  This module turns every image into the
same thing the training data was — RGB, 8 bits per channel, no alpha — and
every non-image into an :class:`UnreadableImage` that names the file and the
problem, instead of a stack trace from deep inside an image library.

Images deeper than 8 bits are mapped onto 0–255 by a fixed rule, never by
stretching each image's own range (that would brighten a dark photo and
darken a bright one, and the classifier learned from absolute brightness):

- 16-bit images (Pillow modes ``I;16*``): value / 65535 × 255.
- 32-bit integer images (mode ``I``): values that all fit 0–255 are taken as
  8-bit data, values that fit 0–65535 as 16-bit data; negative values or
  values beyond 16 bits are refused, because no rule maps them without a guess.
- Floating-point images (mode ``F``): values in 0–1, the usual convention,
  become value × 255 (values within half an 8-bit step outside 0–1 are
  rounding, and are clipped); any other range, or NaN, is refused.

Memory, for the largest image Pillow accepts (89.5 megapixels; more is
refused as a decompression bomb):

- At full size, Pillow's decoded image (4 bytes a pixel for colour) and the
  returned array (3 bytes a pixel) are held at once: about 0.65 GB above what
  the process held before.  That is the price of asking for every pixel (the
  array alone is 0.27 GB), so the default keeps it; conversion happens a band
  of rows at a time, so nothing beyond those two is held at full size.
- With ``max_side``, a JPEG is decoded at 1/2, 1/4 or 1/8 of its size by the
  JPEG library itself (tens of MB); any other format holds only Pillow's
  decoded image at full size (at most about 0.46 GB) and is shrunk a band at
  a time.  A caller that feeds a network a small input should pass it.
- WebP and AVIF are decoded whole by their own libraries, which keep a copy
  of their own: about 15 and 12 bytes a pixel, 1.4 and 1.0 GB at that size,
  with or without ``max_side``.
"""

from __future__ import annotations

import codecs
import errno
import operator
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["UnreadableImage", "read_rgb"]

#: Transparent pixels are shown on white, the usual background of product photos.
BACKGROUND = (255, 255, 255)

#: Images are converted to RGB this many pixels at a time (16 MB in Pillow's layout),
#: so that no full-size copy of a huge image is ever made beside the decoded one.
BAND_PIXELS = 1 << 22

#: Formats Pillow identifies that hold vector drawings, not pixels (EPS would be
#: rendered by running Ghostscript on the file, which no uploaded file should trigger).
VECTOR_FORMATS = {"EPS": "an EPS (PostScript) vector drawing", "WMF": "a Windows metafile vector drawing"}

#: Pillow modes with more than 8 bits a value, mapped onto 0–255 by the rule in the module docstring.
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

#: Modes whose alpha channel is flattened onto :data:`BACKGROUND`.
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

#: How far a floating-point value may leave 0–1 and still count as rounding: half an 8-bit step.
FLOAT_SLACK = 0.5 / 255

#: Words in Pillow's messages that mean "a kind of file this build cannot decode", not damage.
UNSUPPORTED_MARKERS = ("unsupported", "not supported", "not available")

#: The EXIF orientation tag, and the flips and quarter turns of an (h, w, 3) array that undo
#: each of its values, as :func:`PIL.ImageOps.exif_transpose` does on a Pillow image.
ORIENTATION_TAG = 0x0112
UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: a.swapaxes(0, 1)[::-1],
}


class UnreadableImage(ValueError):
    """A file could not be read as an image; the message says which file and why."""


def read_rgb(path: str | os.PathLike, max_side: int | None = None) -> np.ndarray:
    """The image at ``path`` as an ``(height, width, 3)`` uint8 RGB array.

    Applies the EXIF orientation, takes the first frame of an animation, and
    flattens transparency onto white.  With ``max_side``, an image whose
    longer side exceeds it is shrunk (aspect ratio kept, antialiased) so that
    its longer side is ``max_side``, at a fraction of the memory and time of
    a full decode; smaller images are returned as they are.

    Raises :class:`FileNotFoundError` for a missing file and
    :class:`UnreadableImage` for anything else that is not a complete image
    (permission denied, a folder, a symbolic link loop, empty, zero bytes,
    text, SVG, unknown format, truncated or corrupt data, too many pixels to
    decode safely, values no rule maps onto colours).  A :class:`MemoryError`
    is the machine's, not the file's, and is not relabelled.
    """
    path = Path(path)
    max_side = _checked_side(max_side)
    with _open_regular_file(path) as file, _decoder_errors(path, file):
        image = Image.open(file)
        try:
            rgb, orientation = _decode(image, path, max_side)
        finally:
            image.close()  # frees the decoded pixels before the array is turned upright
    return _upright(rgb, orientation)


def _checked_side(max_side: int | None) -> int | None:
    """``max_side`` as a positive int, or None; a caller's mistake is a TypeError/ValueError, not an image error."""
    if max_side is None:
        return None
    side = operator.index(max_side)
    if side < 1:
        raise ValueError(f"max_side must be at least 1 pixel, not {side}")
    return side


def _open_regular_file(path: Path) -> BinaryIO:
    """``path`` opened for reading, if it is a regular, non-empty file.

    Opened without blocking and checked on the open file itself, so that a
    named pipe put in a photo's place is refused instead of hanging the reader.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise _unopenable(path, err) from None
    problem = _not_an_image_file(os.fstat(fd))
    if problem is not None:
        os.close(fd)
        raise UnreadableImage(f"{path} is {problem}")
    return os.fdopen(fd, "rb")


def _not_an_image_file(info: os.stat_result) -> str | None:
    """Why a file with this status cannot hold an image (a folder, a pipe, empty), or None if it can."""
    if stat.S_ISREG(info.st_mode):
        return "empty (0 bytes), not an image" if info.st_size == 0 else None
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(info.st_mode):
        return "a named pipe, not a regular file"
    return "a device or socket, not a regular file"


def _unopenable(path: Path, err: OSError) -> OSError | UnreadableImage:
    """The error to raise when ``path`` cannot be opened, saying why in words."""
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        if path.is_symlink():
            return FileNotFoundError(
                f"no such file: {path} is a symbolic link to {os.readlink(path)}, which does not exist"
            )
        return FileNotFoundError(f"no such file: {path}")
    if err.errno == errno.ELOOP:
        return UnreadableImage(f"{path} cannot be opened: its symbolic links form a loop")
    if err.errno == errno.EISDIR or (err.errno == errno.EACCES and path.is_dir()):  # Windows refuses to open folders
        return UnreadableImage(f"{path} is a folder, not a file")
    if err.errno in (errno.EACCES, errno.EPERM):
        return UnreadableImage(f"{path} cannot be read: permission denied")
    return UnreadableImage(f"{path} cannot be opened: {err.strerror or err}")


@contextmanager
def _decoder_errors(path: Path, file: BinaryIO) -> Iterator[None]:
    """Every failure of the image decoders, as one :class:`UnreadableImage` naming the file and the reason.

    The catch is broad on purpose: on damaged data Pillow's plugins raise
    OSError, SyntaxError, ValueError, RuntimeError, EOFError, struct.error,
    IndexError and more, and a caller should need one ``except`` clause.
    A MemoryError and this module's own errors pass through unchanged.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (UnreadableImage, MemoryError):
        raise
    except UnidentifiedImageError:
        raise UnreadableImage(_not_an_image(path, file)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise UnreadableImage(f"{path} has too many pixels to decode safely: {err}") from None
    except Exception as err:  # noqa: BLE001 — see the docstring
        raise UnreadableImage(_decode_failure(path, err)) from None


def _decode_failure(path: Path, err: Exception) -> str:
    """Why decoding ``path`` failed: a variant Pillow cannot decode, or damaged data."""
    reason = str(err) if isinstance(err, OSError) else f"{type(err).__name__}: {err}"
    if any(marker in reason.lower() for marker in UNSUPPORTED_MARKERS):
        return f"{path} uses a feature of its image format that Pillow cannot decode: {reason}"
    return f"{path} is truncated or corrupt and cannot be decoded: {reason}"


def _not_an_image(path: Path, file: BinaryIO) -> str:
    """What a file no image plugin recognised is, judged from its first bytes."""
    file.seek(0)
    head = file.read(4096)
    size = f"{os.fstat(file.fileno()).st_size:,} bytes"
    if not head.strip(b"\0"):
        extent = "holds only zero bytes" if len(head) < 4096 else "starts with 4,096 zero bytes"
        return f"{path} {extent} (NUL), not an image ({size})"
    if b"<svg" in head.lower():
        return f"{path} is an SVG vector drawing, not a pixel image: export it as PNG or JPEG first ({size})"
    if head.startswith(b"%PDF-"):
        return f"{path} is a PDF document, not an image ({size})"
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("ascii", "replace")
        return (
            f"{path} is a HEIF-family image (brand {brand!r}) that Pillow cannot open: damaged, or of a kind "
            f"this Pillow has no decoder for (iPhone HEIC photos need a plugin); convert it to JPEG ({size})"
        )
    if _looks_like_text(head):
        return f"{path} is a text file, not an image ({size})"
    return f"{path} is not in an image format Pillow can read ({size}, starting {head[:8].hex(' ')})"


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-8 without NUL bytes (a character cut off at the end is allowed)."""
    if b"\0" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode(image: Image.Image, path: Path, max_side: int | None) -> tuple[np.ndarray, int]:
    """The opened ``image`` decoded to RGB (shrunk to fit ``max_side``), and its EXIF orientation."""
    if image.format in VECTOR_FORMATS:
        raise UnreadableImage(
            f"{path} is {VECTOR_FORMATS[image.format]}, not a pixel image: export it as PNG or JPEG first"
        )
    fit = _fitted_size(image.size, max_side)
    if fit is not None:
        image.draft(None, (2 * fit[0], 2 * fit[1]))  # JPEG only: the library decodes at 1/2, 1/4 or 1/8 size
    image.load()  # decode now: a truncated file fails here, not later
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    rgb = _full_rgb(image, path) if fit is None else _shrunk_rgb(image, path, fit)
    return rgb, orientation if isinstance(orientation, int) else 1


def _fitted_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int] | None:
    """The (width, height) that fits ``size`` within ``max_side``, aspect ratio kept; None when it fits already."""
    width, height = size
    if max_side is None or max(width, height) <= max_side:
        return None
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _full_rgb(image: Image.Image, path: Path) -> np.ndarray:
    """The whole decoded ``image`` as an RGB array, filled a band at a time."""
    width, height = image.size
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    for top, band in _colour_bands(image, path, _band_rows(width)):
        rgb[top : top + band.height] = np.asarray(_flattened(band))
    return rgb


def _shrunk_rgb(image: Image.Image, path: Path, fit: tuple[int, int]) -> np.ndarray:
    """The decoded ``image`` shrunk to ``fit`` as an RGB array.

    Each band is box-averaged by a whole factor that keeps at least twice the
    final size, then the small image is resampled to exactly ``fit`` with an
    antialiasing filter, the two steps of :meth:`PIL.Image.Image.thumbnail`.
    Transparency is flattened after averaging (Pillow averages premultiplied
    alpha, so the result is the same as flattening first, for less work).
    """
    width, height = image.size
    factor = max(1, min(width // fit[0], height // fit[1]) // 2)
    if image.mode in ("RGB", "L"):  # their conversion to RGB commutes with averaging: no bands needed
        small = _to_colour(image.reduce(factor), path, None)
    else:
        small = Image.new(_colour_mode(image), (-(-width // factor), -(-height // factor)))
        for top, band in _colour_bands(image, path, _band_rows(width, factor)):
            small.paste(band.reduce(factor), (0, top // factor))
    return np.asarray(_flattened(small).resize(fit, Image.Resampling.BICUBIC))


def _band_rows(width: int, multiple: int = 1) -> int:
    """How many rows of ``width`` pixels make a band of about :data:`BAND_PIXELS`, as a multiple of ``multiple``."""
    rows = max(1, BAND_PIXELS // width)
    return max(multiple, rows - rows % multiple)


def _colour_bands(image: Image.Image, path: Path, rows: int) -> Iterator[tuple[int, Image.Image]]:
    """The top row and 8-bit RGB or RGBA pixels of each band of ``rows`` rows of ``image``.

    Converting a huge image whole would hold several full-size copies at once
    (premultiplied alpha, the white canvas, the composite, the RGB result).
    """
    grey_scale = _grey_scale(image, path) if image.mode in HIGH_BIT_MODES else None
    width, height = image.size
    for top in range(0, height, rows):
        yield top, _to_colour(image.crop((0, top, width, min(height, top + rows))), path, grey_scale)


def _grey_scale(image: Image.Image, path: Path) -> float:
    """The factor that maps this high-bit-depth image's values onto 0–255, by the rule in the module docstring."""
    if image.mode.startswith("I;16"):
        return 255 / 65535
    low, high = image.getextrema()
    if image.mode == "F":
        if np.isnan(low) or np.isnan(high):
            raise UnreadableImage(_nan_values(path))
        if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
            raise UnreadableImage(
                f"{path} is a floating-point image with values from {low:g} to {high:g}; only values from 0 to 1 "
                "map onto 8-bit colours without guessing: save it as an 8- or 16-bit image"
            )
        return 255.0
    if low < 0 or high > 65535:
        raise UnreadableImage(
            f"{path} is a 32-bit integer image with values from {low:,} to {high:,}, outside 0–65535; "
            "no rule maps them onto 8-bit colours without guessing: save it as an 8- or 16-bit image"
        )
    return 1.0 if high <= 255 else 255 / 65535


def _nan_values(path: Path) -> str:
    return f"{path} holds NaN (not-a-number) pixel values, which map onto no colour"


def _colour_mode(image: Image.Image) -> str:
    """ "RGBA" for an image with transparency, else "RGB": the mode :func:`_to_colour` gives it."""
    if image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        return "RGBA"
    return "RGB"


def _to_colour(band: Image.Image, path: Path, grey_scale: float | None) -> Image.Image:
    """Any Pillow mode as 8-bit RGB, or RGBA if it has transparency; deep values scaled by ``grey_scale``."""
    if grey_scale is not None:  # Pillow's own conversion of these modes to 8 bits clips instead of scaling
        values = np.asarray(band, dtype=np.float32)  # exact for every value the rule accepts (at most 16 bits)
        if not np.isfinite(values).all():
            raise UnreadableImage(_nan_values(path))
        grey = np.clip(np.rint(values * grey_scale), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    mode = _colour_mode(band)
    return band if band.mode == mode else band.convert(mode)


def _flattened(image: Image.Image) -> Image.Image:
    """An RGB or RGBA image as RGB, transparent pixels shown on :data:`BACKGROUND`."""
    if image.mode == "RGB":
        return image
    canvas = Image.new("RGBA", image.size, (*BACKGROUND, 255))
    return Image.alpha_composite(canvas, image).convert("RGB")


def _upright(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """``rgb`` turned as its EXIF ``orientation`` says it is displayed (1 or unknown: as stored)."""
    turn = UPRIGHT.get(orientation)
    return rgb if turn is None else np.ascontiguousarray(turn(rgb))
