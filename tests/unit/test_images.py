"""read_rgb: every image a user might send becomes RGB uint8; everything else a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers.images import UnreadableImage, read_rgb

RED = (200, 30, 40)


def save(image: Image.Image, path, **options):
    image.save(path, **options)
    return path


def assert_rgb(array, shape):
    assert array.dtype == np.uint8
    assert array.shape == (*shape, 3)


@pytest.mark.parametrize("suffix, options", [
    (".jpg", {"quality": 95}), (".png", {}), (".webp", {"lossless": True}), (".bmp", {}), (".tiff", {}),
])
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
    with pytest.raises(UnreadableImage, match="is not a file"):
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
