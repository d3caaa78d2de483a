"""read_rgb: every image a user might send becomes RGB uint8; everything else a clear error."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, features

from helpers.images import UnreadableImage, read_rgb

RED = (200, 30, 40)
REPOSITORY = Path(__file__).resolve().parents[2]


def save(image: Image.Image, path, **options):
    image.save(path, **options)
    return path


def assert_rgb(array, shape):
    assert array.dtype == np.uint8
    assert array.shape == (*shape, 3)


@pytest.mark.parametrize(
    "suffix, options",
    [
        (".jpg", {"quality": 95}),
        (".png", {}),
        (".webp", {"lossless": True}),
        (".bmp", {}),
        (".tiff", {}),
    ],
)
def test_common_formats(tmp_path, suffix, options):
    path = save(Image.new("RGB", (40, 30), RED), tmp_path / f"photo{suffix}", **options)
    array = read_rgb(path)
    assert_rgb(array, (30, 40))
    assert np.abs(array.astype(int) - RED).max() <= 3  # JPEG rounding


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = save(Image.new("L", (8, 6), 77), tmp_path / "grey.png")
    array = read_rgb(path)
    assert_rgb(array, (6, 8))
    assert (array == 77).all()


def test_transparency_is_flattened_onto_white(tmp_path):
    image = Image.new("RGBA", (4, 2), (*RED, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent
    image.putpixel((1, 0), (0, 0, 0, 128))  # half transparent black
    array = read_rgb(save(image, tmp_path / "alpha.png"))
    assert_rgb(array, (2, 4))
    assert tuple(array[0, 0]) == (255, 255, 255)
    assert all(120 <= v <= 135 for v in array[0, 1])
    assert tuple(array[1, 3]) == RED


def test_palette_with_transparent_index(tmp_path):
    image = Image.new("P", (3, 3), 1)
    image.putpalette([0, 0, 0, *RED] + [0] * 762)
    image.putpixel((0, 0), 0)
    path = save(image, tmp_path / "palette.png", transparency=0)
    array = read_rgb(path)
    assert tuple(array[0, 0]) == (255, 255, 255)
    assert tuple(array[2, 2]) == RED


def test_16_bit_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    path = save(Image.fromarray(values), tmp_path / "deep.png")
    with Image.open(path) as stored:
        assert stored.mode.startswith("I")  # really a 16-bit file
    array = read_rgb(path)
    assert_rgb(array, (1, 3))
    assert list(array[0, :, 0]) == [0, 128, 255]


def test_cmyk_jpeg(tmp_path):
    path = save(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), tmp_path / "print.jpg")  # pure red ink
    array = read_rgb(path)
    assert_rgb(array, (10, 10))
    red, green, blue = array[5, 5].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (6, 6), colour) for colour in (RED, (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    array = read_rgb(path)
    assert_rgb(array, (6, 6))
    assert np.abs(array[3, 3].astype(int) - RED).max() <= 8  # GIF palette quantisation


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    array = read_rgb(save(image, tmp_path / "phone.jpg", exif=exif))
    assert_rgb(array, (40, 20))  # displayed upright: portrait


@pytest.mark.parametrize("size", [(1, 1), (6000, 4000)])
def test_tiny_and_huge_images(tmp_path, size):
    array = read_rgb(save(Image.new("RGB", size, RED), tmp_path / "size.jpg"))
    assert_rgb(array, size[::-1])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_rgb(tmp_path / "nowhere.jpg")


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(UnreadableImage, match="is a folder, not a file"):
        read_rgb(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnreadableImage, match=r"empty \(0 bytes\)"):
        read_rgb(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    with pytest.raises(UnreadableImage, match="is a text file, not an image"):
        read_rgb(path)


def test_long_text_file_with_accents(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("a" + "é" * 600)  # "é" is two bytes: the 512-byte sniff ends inside one
    with pytest.raises(UnreadableImage, match="is a text file, not an image"):
        read_rgb(path)


def test_unknown_binary(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UnreadableImage, match="not in an image format"):
        read_rgb(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file(tmp_path, suffix):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = save(Image.fromarray(noise), tmp_path / f"cut{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImage, match="truncated or corrupt"):
        read_rgb(path)


def test_too_many_pixels(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (100, 100), RED), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UnreadableImage, match="too many pixels"):
        read_rgb(path)


def test_the_file_is_left_as_it_was(tmp_path):
    path = tmp_path / "cut.jpg"
    save(Image.new("RGB", (30, 30), RED), path)
    path.write_bytes(path.read_bytes()[:100])
    before = path.read_bytes()
    with pytest.raises(UnreadableImage):
        read_rgb(path)
    assert path.read_bytes() == before


# --- where the file is the problem, not its pixels ---------------------------------------------


def test_symbolic_link_loop(tmp_path):
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(UnreadableImage, match="symbolic links form a loop"):
        read_rgb(tmp_path / "a.jpg")


def test_broken_symbolic_link_is_a_missing_file(tmp_path):
    (tmp_path / "photo.jpg").symlink_to(tmp_path / "deleted.jpg")
    with pytest.raises(FileNotFoundError, match="symbolic link to .*deleted.jpg, which does not exist"):
        read_rgb(tmp_path / "photo.jpg")


def _hang(signum, frame):
    raise TimeoutError("read_rgb waited on a named pipe")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "photo.jpg")
    signal.signal(signal.SIGALRM, _hang)
    signal.alarm(20)  # guards against a hang only: the answer takes milliseconds
    try:
        with pytest.raises(UnreadableImage, match="is a named pipe, not a regular file"):
            read_rgb(tmp_path / "photo.jpg")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="needs /dev/null")
def test_device_is_not_a_regular_file():
    with pytest.raises(UnreadableImage, match="/dev/null is a device or socket, not a regular file"):
        read_rgb("/dev/null")


def test_name_too_long_says_what_the_system_said(tmp_path):
    with pytest.raises(UnreadableImage, match="cannot be opened: File name too long"):
        read_rgb(tmp_path / ("x" * 300 + ".jpg"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX permissions")
def test_permission_denied():
    folder = Path(tempfile.mkdtemp())  # not under pytest's private folder, so that an unprivileged user can enter it
    try:
        folder.chmod(0o755)
        path = save(Image.new("RGB", (4, 4), RED), folder / "secret.png")
        path.chmod(0)
        assert _error_read_without_privileges(path) == f"UnreadableImage: {path} cannot be read: permission denied"
    finally:
        shutil.rmtree(folder)


def _error_read_without_privileges(path: Path) -> str:
    """The error read_rgb gives for ``path`` as an ordinary user: root reads any file, so root forks one."""
    if os.geteuid() != 0:
        return _error_of(path)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover — runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)  # "nobody"
            os.write(write_end, _error_of(path).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        message = answer.read().decode()
    os.waitpid(child, 0)
    return message


def _error_of(path: Path) -> str:
    try:
        read_rgb(path)
    except Exception as err:  # noqa: BLE001 — the test compares the type and message
        return f"{type(err).__name__}: {err}"
    return "no error"


# --- files that are not pixel images ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "logo.png",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>\n',
            "is an SVG vector drawing, not a pixel image",
        ),
        ("blank.jpg", bytes(3000), r"holds only zero bytes \(NUL\), not an image \(3,000 bytes\)"),
        ("wiped.jpg", bytes(10_000), r"starts with 4,096 zero bytes \(NUL\), not an image \(10,000 bytes\)"),
        (
            "scan.jpg",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            "is a PDF document, not an image",
        ),
        (
            "phone.jpg",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(range(200)),
            "HEIF-family image .brand 'heic'. .*convert it to JPEG",
        ),
    ],
)
def test_non_images_are_named_for_what_they_are(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableImage, match=message):
        read_rgb(path)


def test_eps_is_refused_without_running_ghostscript(tmp_path):
    path = save(Image.new("RGB", (8, 8), RED), tmp_path / "drawing.eps")
    with pytest.raises(UnreadableImage, match="is an EPS .PostScript. vector drawing, not a pixel image"):
        read_rgb(path)


def test_a_variant_pillow_cannot_decode_is_not_called_corrupt(tmp_path):
    data = bytearray(save(Image.new("RGB", (4, 4), RED), tmp_path / "odd.bmp").read_bytes())
    data[28:30] = (7).to_bytes(2, "little")  # 7 bits a pixel: a valid header field no BMP decoder supports
    (tmp_path / "odd.bmp").write_bytes(data)
    with pytest.raises(
        UnreadableImage, match="uses a feature of its image format that Pillow cannot decode: .*BMP pixel depth"
    ):
        read_rgb(tmp_path / "odd.bmp")


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_corrupt_avif_is_an_unreadable_image(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = save(Image.fromarray(noise), tmp_path / "photo.avif", quality=90, speed=10).read_bytes()
    coded = data.find(b"mdat") + 12  # the compressed pixels start after the box's size, name and a few bytes
    (tmp_path / "photo.avif").write_bytes(data[:coded] + bytes(len(data) - coded))
    with pytest.raises(
        UnreadableImage, match=r"photo.avif is truncated or corrupt and cannot be decoded: RuntimeError"
    ):
        read_rgb(tmp_path / "photo.avif")


# --- deep images: a stated rule, never silent black or clipping -----------------------------------


def test_float_image_in_0_to_1_is_scaled_to_0_to_255(tmp_path):
    values = np.array([[0.0, 0.25, 0.5, 1.0, 1.001]], dtype=np.float32)  # 1.001: rounding, within half a step
    path = save(Image.fromarray(values), tmp_path / "float.tiff")
    assert list(read_rgb(path)[0, :, 1]) == [0, 64, 128, 255, 255]


@pytest.mark.parametrize(
    "values, message",
    [
        ([[0.0, 100.0, 255.0]], "floating-point image with values from 0 to 255; only values from 0 to 1"),
        ([[-0.5, 0.2, 0.9]], "floating-point image with values from -0.5 to 0.9"),
        ([[0.5, np.nan, 0.2]], r"holds NaN \(not-a-number\) pixel values"),
        ([[np.nan, 0.5, 0.2]], r"holds NaN \(not-a-number\) pixel values"),
        ([[0.5, np.inf, 0.2]], "floating-point image with values from 0.2 to inf"),
    ],
)
def test_float_images_outside_0_to_1_are_refused(tmp_path, values, message):
    path = save(Image.fromarray(np.array(values, dtype=np.float32)), tmp_path / "float.tiff")
    with pytest.raises(UnreadableImage, match=message):
        read_rgb(path)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0, 128, 255], [0, 128, 255]),  # 8-bit data in a 32-bit file
        ([0, 32896, 65535], [0, 128, 255]),  # 16-bit data in a 32-bit file
    ],
)
def test_32_bit_integer_images_within_16_bits_are_scaled(tmp_path, values, expected):
    path = save(Image.fromarray(np.array([values], dtype=np.int32)), tmp_path / "deep.tiff")
    with Image.open(path) as stored:
        assert stored.mode == "I"
    assert list(read_rgb(path)[0, :, 0]) == expected


@pytest.mark.parametrize("values", [[0, 70_000, 1_000_000], [-5, 0, 255]])
def test_32_bit_integer_images_beyond_16_bits_are_refused(tmp_path, values):
    path = save(Image.fromarray(np.array([values], dtype=np.int32)), tmp_path / "deep.tiff")
    with pytest.raises(UnreadableImage, match=f"32-bit integer image with values from {values[0]:,} to {values[2]:,}"):
        read_rgb(path)


def test_16_bit_tiff_is_scaled(tmp_path):
    path = save(Image.fromarray(np.array([[0, 257, 65535]], dtype=np.uint16)), tmp_path / "deep.tiff")
    assert list(read_rgb(path)[0, :, 2]) == [0, 1, 255]


# --- max_side: a small input from a large image, at a fraction of the cost ----------------------


@pytest.mark.parametrize("size, fitted", [((400, 300), (100, 75)), ((300, 400), (75, 100)), ((1000, 3), (100, 1))])
def test_max_side_fits_the_longer_side(tmp_path, size, fitted):
    path = save(Image.new("RGB", size, RED), tmp_path / "photo.png")
    array = read_rgb(path, max_side=100)
    assert_rgb(array, fitted[::-1])
    assert (array == RED).all()


def test_max_side_leaves_a_small_image_as_it_is(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    path = save(Image.fromarray(noise), tmp_path / "small.jpg")
    assert np.array_equal(read_rgb(path, max_side=40), read_rgb(path))


def test_max_side_jpeg_matches_a_full_decode_shrunk(tmp_path):
    photo = _photo((1600, 1200))
    path = save(photo, tmp_path / "photo.jpg", quality=95)
    with Image.open(path) as full:
        expected = np.asarray(full.convert("RGB").resize((160, 120), Image.Resampling.BICUBIC, reducing_gap=2.0))
    array = read_rgb(path, max_side=160)
    assert_rgb(array, (120, 160))
    assert np.abs(array.astype(int) - expected).mean() < 2


def test_max_side_flattens_transparency_like_a_full_decode(tmp_path):
    path = save(_photo((4096, 1152), alpha=True), tmp_path / "cutout.png", compress_level=1)  # two bands of rows
    with Image.open(path) as full:
        flat = Image.alpha_composite(Image.new("RGBA", full.size, (255, 255, 255, 255)), full).convert("RGB")
    assert np.array_equal(read_rgb(path), np.asarray(flat))
    expected = np.asarray(flat.resize((512, 144), Image.Resampling.BICUBIC, reducing_gap=2.0))
    array = read_rgb(path, max_side=512)
    assert_rgb(array, (144, 512))
    assert np.abs(array.astype(int) - expected).max() <= 2  # flattened after averaging: rounding only


def test_max_side_keeps_the_deep_image_rule(tmp_path):
    values = np.tile(np.array([0, 32896, 65535], dtype=np.uint16).repeat(100), (30, 1))
    path = save(Image.fromarray(values), tmp_path / "deep.png")
    array = read_rgb(path, max_side=30)
    assert_rgb(array, (3, 30))
    assert [array[1, 5, 0], array[1, 15, 0], array[1, 25, 0]] == [0, 128, 255]


@pytest.mark.parametrize("max_side, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_max_side_must_be_a_positive_whole_number(tmp_path, max_side, error):
    path = save(Image.new("RGB", (4, 4), RED), tmp_path / "photo.png")
    with pytest.raises(error):
        read_rgb(path, max_side=max_side)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("max_side", [None, 16])
def test_every_exif_orientation_matches_pillow(tmp_path, orientation, max_side):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(_photo((48, 32)), tmp_path / "turned.png", exif=exif)
    with Image.open(path) as stored:
        upright = ImageOps.exif_transpose(stored).convert("RGB")
    if max_side is not None:
        upright.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    array = read_rgb(path, max_side=max_side)
    assert array.shape == (upright.height, upright.width, 3)
    assert np.abs(array.astype(int) - np.asarray(upright)).max() <= (0 if max_side is None else 40)
    assert np.abs(array.astype(int) - np.asarray(upright)).mean() < 3


def _photo(size, alpha=False):
    """A smooth, asymmetric test picture (gradients and a disc), with graded transparency if ``alpha``."""
    width, height = size
    y, x = np.ogrid[0:height, 0:width]
    disc = ((x - width / 3) ** 2 + (y - height / 2) ** 2 < (min(size) / 4) ** 2).astype(np.uint8) * 120 + 60
    channels = [x * 255 // max(1, width - 1) + 0 * y, y * 255 // max(1, height - 1) + 0 * x, disc]
    if alpha:
        channels.append((x + y) * 255 // max(1, width + height - 2))
    return Image.fromarray(np.stack(channels, axis=2).astype(np.uint8))


MEASURE_PEAK = """
import sys
from helpers.images import read_rgb

def peak_kb():  # this process's own peak: ru_maxrss would include the parent's, inherited across exec
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

before = peak_kb()
read_rgb(sys.argv[1], max_side=int(sys.argv[2]) if sys.argv[2:] else None)
print(peak_kb() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from Linux's /proc")
@pytest.mark.parametrize("suffix, share", [(".jpg", 0.25), (".png", 0.75)])  # measured here: 0.1 and 0.4
def test_max_side_needs_far_less_memory_than_a_full_decode(tmp_path, suffix, share):
    path = save(_photo((3000, 2000)), tmp_path / f"large{suffix}", compress_level=1)
    full, reduced = (_peak_growth_kb(path, *extra) for extra in ([], ["224"]))
    assert full > 3000 * 2000 * 6 / 1024  # decoded image and array at once: at least 6 bytes a pixel
    assert reduced < share * full, f"{reduced:,} KB with max_side, {full:,} KB without"


def _peak_growth_kb(path: Path, *arguments: str) -> int:
    """How far one read_rgb call in a fresh process raises its peak memory, in kilobytes."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_PEAK, str(path), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    return int(result.stdout)


LIMITED_READ = """
import resource, sys
from helpers.images import read_rgb
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) for line in status if line.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (size + (64 << 20), size + (64 << 20)))  # 64 MB more than now
try:
    read_rgb(sys.argv[1])
except BaseException as err:  # the test checks which type escaped
    print(type(err).__name__)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the address space from Linux's /proc")
def test_running_out_of_memory_is_not_called_a_bad_image(tmp_path):
    path = save(Image.new("RGB", (6000, 4000), RED), tmp_path / "large.jpg")  # 96 MB once decoded
    result = subprocess.run(
        [sys.executable, "-c", LIMITED_READ, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    assert result.stdout.strip() == "MemoryError"
