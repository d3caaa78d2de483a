"""clothing-dataset-small: cached download, verification, atomic and concurrent extraction, repair.

Most scenarios run on a small dataset of real JPEGs in an archive of its own
(the ``tiny`` fixture points the module's dataset constants at it); the real
archive is used where it is present.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fault_folders import read_only, small_disk
from PIL import Image

import helpers.data as data
from helpers.downloads import CacheWriteError, DownloadError, extract_zip_atomically, fetch

SHARED_ZIP = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / f"{data.CLOTHING_TOP_FOLDER}.zip"
needs_archive = pytest.mark.skipif(not SHARED_ZIP.is_file(), reason="no offline copy of the clothing archive")
CLOSED_PORT_URL = "http://127.0.0.1:9/clothing.zip"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEEP_CNNS_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def seed_archive(cache: Path) -> Path:
    target = cache / "downloads" / SHARED_ZIP.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(SHARED_ZIP)
    return target


@needs_archive
def test_extracts_verifies_and_loads(cache):
    seed_archive(cache)
    folder = data.clothing_dir()
    assert folder == cache / "clothing-dataset-small"
    assert sorted(p.name for p in (folder / "train").iterdir()) == list(data.CLOTHING_CLASSES)
    assert not [p for p in cache.iterdir() if p.name.startswith(".")], "no scratch folders left behind"
    test_split = data.load_clothing("test", image_size=(64, 64), batch_size=16)
    assert test_split.class_names == list(data.CLOTHING_CLASSES)
    images, labels = next(iter(test_split))
    assert tuple(images.shape) == (16, 64, 64, 3) and float(images.numpy().max()) > 1.0


@needs_archive
def test_two_processes_extracting_at_once_both_succeed(cache):
    seed_archive(cache)
    code = "import helpers.data as d; print(d.clothing_dir())"
    env = dict(os.environ, DEEP_CNNS_DATA=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert {out.strip().splitlines()[-1] for out, _ in outputs} == {str(cache / "clothing-dataset-small")}
    data.verify_clothing_folder(cache / "clothing-dataset-small")
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_a_cached_file_with_the_wrong_hash_is_reported_and_kept(cache):
    archive = cache / "downloads" / SHARED_ZIP.name
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not the archive")
    with pytest.raises(DownloadError, match=f"{archive}.*sha256.*expected {data.CLOTHING_ZIP_SHA256}"):
        data.clothing_dir()
    assert archive.read_bytes() == b"not the archive"


def test_a_truncated_archive_is_a_clear_error_and_leaves_no_folder(cache, tmp_path):
    archive = cache / "downloads" / SHARED_ZIP.name
    archive.parent.mkdir(parents=True)
    source = SHARED_ZIP if SHARED_ZIP.is_file() else None
    archive.write_bytes(source.read_bytes()[:50_000] if source else b"PK\x03\x04truncated")
    with pytest.raises(DownloadError, match="not a readable zip archive"):
        data.clothing_dir(verify_archive_hash=False)
    assert not (cache / "clothing-dataset-small").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_offline_without_the_file_names_url_and_path(cache, monkeypatch):
    monkeypatch.setattr(data, "CLOTHING_URL", CLOSED_PORT_URL)
    with pytest.raises(DownloadError) as info:
        data.clothing_dir()
    message = str(info.value)
    assert CLOSED_PORT_URL in message
    assert str(cache / "downloads" / SHARED_ZIP.name) in message
    assert not any((cache / "downloads").iterdir())


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_wrong_content_is_refused_before_it_reaches_the_cache(tmp_path):
    archive = _zip(tmp_path / "small.zip", {"top/train/dress/a.jpg": b"x", "top/README.md": b"hi"})
    destination = tmp_path / "out"
    with pytest.raises(DownloadError, match="train/dress: 1 images, expected 241"):
        extract_zip_atomically(archive, destination, "top", data.verify_clothing_folder)
    assert not destination.exists()


def test_members_escaping_the_folder_are_refused(tmp_path):
    archive = _zip(tmp_path / "evil.zip", {"top/ok.txt": b"ok", "../escaped.txt": b"no"})
    with pytest.raises(DownloadError, match="points outside"):
        extract_zip_atomically(archive, tmp_path / "out", "top", lambda folder: None)
    assert not (tmp_path / "escaped.txt").exists()


def test_fetch_downloads_verifies_and_renames(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    target = tmp_path / "cache" / "payload.bin"
    sha = __import__("hashlib").sha256(b"payload").hexdigest()
    assert fetch(source.as_uri(), target, sha) == target
    assert target.read_bytes() == b"payload"
    with pytest.raises(DownloadError, match="expected 0+"):
        fetch(source.as_uri(), tmp_path / "cache" / "other.bin", "0" * 64)
    assert not (tmp_path / "cache" / "other.bin").exists()
    assert [p.name for p in target.parent.iterdir()] == ["payload.bin"]
    shutil.rmtree(target.parent)


@pytest.mark.parametrize(
    "folder_that_fails,reason", [(small_disk, "no space left on the disk"), (read_only, "cannot write")]
)
def test_fetch_into_a_full_or_read_only_folder_says_so_and_leaves_nothing(tmp_path, folder_that_fails, reason):
    source = tmp_path / "source.bin"
    source.write_bytes(np.random.default_rng(0).bytes(1 << 20))
    folder = tmp_path / "cache"
    folder.mkdir()
    with folder_that_fails(folder):
        with pytest.raises(CacheWriteError, match=reason):
            fetch(source.as_uri(), folder / "payload.bin", None)
        assert list(folder.iterdir()) == []


# --- a small dataset of real JPEGs, published as its own archive -----------------------------

TINY_COUNTS = {"hat": (2, 1, 1), "shirt": (3, 1, 1)}
TINY_TOP = "tiny-clothing-0000"


def _jpeg(seed: int, side: int = 160) -> bytes:
    """A noise photo: incompressible, so the archive is as big on disk as its images."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _listing_sha256(images: dict[str, bytes]) -> str:
    listing = "".join(f"{hashlib.sha256(images[name]).hexdigest()}  {name}\n" for name in sorted(images))
    return hashlib.sha256(listing.encode()).hexdigest()


def _tiny_zip(path: Path, images: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr(f"{TINY_TOP}/README.md", b"a small dataset for tests")
        for name, content in images.items():
            archive.writestr(f"{TINY_TOP}/{name}", content)
    return path


@dataclass
class Tiny:
    images: dict[str, bytes]
    archive: Path  # outside the cache, linked into it as the offline mirror is
    link: Path
    folder: Path

    def folder_images(self) -> dict[str, bytes]:
        return {name: (self.folder / name).read_bytes() for name in data.clothing_images(self.folder)}


@pytest.fixture
def tiny(cache, monkeypatch, tmp_path) -> Tiny:
    """clothing_dir and load_clothing pointed at a small dataset of real JPEGs (2 classes, 10 photos)."""
    names = [
        f"{split}/{name}/{name}{i}.jpg"
        for name, counts in TINY_COUNTS.items()
        for split, count in zip(data.CLOTHING_SPLITS, counts, strict=True)
        for i in range(count)
    ]
    images = {name: _jpeg(seed) for seed, name in enumerate(names)}
    archive = _tiny_zip(tmp_path / "tiny.zip", images)
    for name, value in {
        "CLOTHING_COUNTS": TINY_COUNTS,
        "CLOTHING_CLASSES": tuple(sorted(TINY_COUNTS)),
        "CLOTHING_TOP_FOLDER": TINY_TOP,
        "CLOTHING_URL": CLOSED_PORT_URL,
        "CLOTHING_ZIP_SHA256": hashlib.sha256(archive.read_bytes()).hexdigest(),
        "CLOTHING_CONTENT_SHA256": _listing_sha256(images),
    }.items():
        monkeypatch.setattr(data, name, value)
    link = cache / "downloads" / f"{TINY_TOP}.zip"
    link.parent.mkdir(parents=True)
    link.symlink_to(archive)
    return Tiny(images, archive, link, cache / "clothing-dataset-small")


def _scratch_folders(cache: Path) -> list[Path]:
    return [p for p in cache.iterdir() if p.name.startswith(".clothing-dataset-small.")]


def test_stray_files_beside_the_photos_are_ignored_as_keras_ignores_them(tiny, capsys):
    data.clothing_dir()
    for stray in (".DS_Store", "Thumbs.db", "notes.txt"):
        (tiny.folder / "train" / "hat" / stray).write_bytes(b"not a photo")
    capsys.readouterr()
    assert data.clothing_dir() == tiny.folder
    assert capsys.readouterr().out == ""  # nothing to repair
    assert (tiny.folder / "train" / "hat" / ".DS_Store").is_file()
    assert len(data.load_clothing("train", image_size=(32, 32)).file_paths) == 5


def _delete(folder: Path) -> str:
    (folder / "train/hat/hat0.jpg").unlink()
    return "1 missing (train/hat/hat0.jpg)"


def _add(folder: Path) -> str:
    (folder / "train/shirt/extra.jpg").write_bytes(_jpeg(99))
    return "1 extra (train/shirt/extra.jpg)"


def _replace_with_junk(folder: Path) -> str:
    (folder / "test/hat/hat0.jpg").write_bytes(b"junk")
    return "1 changed (test/hat/hat0.jpg)"


def _overwrite_keeping_size_and_mtime(folder: Path) -> str:
    """The subtlest change: same size, modification time put back; only the inode change time tells."""
    path = folder / "validation/shirt/shirt0.jpg"
    stat = path.stat()
    path.write_bytes(bytes(stat.st_size))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return "1 changed (validation/shirt/shirt0.jpg)"


@pytest.mark.parametrize("damage", [_delete, _add, _replace_with_junk, _overwrite_keeping_size_and_mtime])
def test_a_damaged_folder_is_restored_from_the_archive_saying_what_changed(tiny, capsys, damage):
    data.clothing_dir()
    expected_message = damage(tiny.folder)
    capsys.readouterr()
    assert data.clothing_dir() == tiny.folder
    said = capsys.readouterr().out
    assert expected_message in said and "Re-extracting it from" in said
    assert tiny.folder_images() == tiny.images
    assert not _scratch_folders(tiny.folder.parent)
    data.clothing_dir()
    assert capsys.readouterr().out == ""


def test_damage_with_no_archive_to_repair_from_names_the_file(tiny):
    data.clothing_dir()
    _replace_with_junk(tiny.folder)
    tiny.link.unlink()
    with pytest.raises(DownloadError, match=r"needs repair \(1 changed \(test/hat/hat0.jpg\)\).*could not download"):
        data.clothing_dir()


def test_a_folder_without_a_manifest_is_checked_in_place_and_given_one(tiny, capsys):
    data.clothing_dir()
    (tiny.folder / ".manifest.json").unlink()
    inode = tiny.folder.stat().st_ino
    capsys.readouterr()
    data.clothing_dir()
    assert capsys.readouterr().out == ""
    assert tiny.folder.stat().st_ino == inode, "an intact folder is not extracted again"
    assert (tiny.folder / ".manifest.json").is_file()


def test_a_damaged_folder_without_a_manifest_is_extracted_again(tiny, capsys):
    data.clothing_dir()
    (tiny.folder / ".manifest.json").unlink()
    _replace_with_junk(tiny.folder)
    data.clothing_dir()
    assert "no manifest" in capsys.readouterr().out
    assert tiny.folder_images() == tiny.images


HOLD_SCRATCH = """
import sys, time
from pathlib import Path
from helpers.downloads import scratch_folder
with scratch_folder(Path(sys.argv[1])) as scratch:
    (scratch / "half-extracted").mkdir()
    print(scratch, flush=True)
    time.sleep(600)
"""


def test_a_scratch_folder_is_kept_while_its_extraction_lives_and_removed_once_killed(tiny):
    extraction = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRATCH, str(tiny.folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        scratch = Path(extraction.stdout.readline().strip())
        long_ago = time.time() - 3600
        os.utime(scratch, (long_ago, long_ago))  # old enough to be stale, were it not in use
        data.clothing_dir()
        assert scratch.is_dir(), "a live extraction's folder is left alone"
    finally:
        extraction.kill()  # SIGKILL: no clean-up code runs
        extraction.wait(timeout=60)
    assert scratch.is_dir()
    data.clothing_dir()
    assert not scratch.exists()


def test_a_fresh_scratch_folder_is_left_alone(tiny):
    scratch = tiny.folder.parent / ".clothing-dataset-small.just-made"
    scratch.mkdir()
    data.clothing_dir()
    assert scratch.is_dir()


def test_a_full_disk_is_told_apart_from_a_corrupt_archive(tiny, tmp_path, monkeypatch):
    with small_disk(tmp_path / "disk", "256k") as disk:
        monkeypatch.setenv("DEEP_CNNS_DATA", str(disk))
        (disk / "downloads").mkdir()
        (disk / "downloads" / tiny.link.name).symlink_to(tiny.archive)
        with pytest.raises(CacheWriteError, match="no space left on the disk") as info:
            data.clothing_dir()
        assert sorted(p.name for p in disk.iterdir()) == ["downloads"], "no folder, no scratch left"
    message = str(info.value)
    assert "DEEP_CNNS_DATA" in message and "delete" not in message
    assert tiny.archive.is_file()


def test_a_read_only_cache_is_a_clear_error(tiny):
    with read_only(tiny.folder.parent), pytest.raises(CacheWriteError, match="cannot write.*DEEP_CNNS_DATA"):
        data.clothing_dir()


def test_an_unwritable_cache_location_is_a_clear_error(tmp_path, monkeypatch):
    parent = tmp_path / "read-only"
    parent.mkdir()
    monkeypatch.setenv("DEEP_CNNS_DATA", str(parent / "cache"))
    with read_only(parent), pytest.raises(CacheWriteError, match="cannot write.*DEEP_CNNS_DATA"):
        data.cache_dir()


def test_an_intact_folder_in_a_read_only_cache_loads(tiny):
    data.clothing_dir()
    with read_only(tiny.folder.parent):
        assert data.clothing_dir() == tiny.folder
        assert len(data.load_clothing("test", image_size=(32, 32)).file_paths) == 2


def test_a_repacked_archive_accepted_once_is_remembered_for_loads_and_repairs(tiny, tmp_path):
    repacked = _tiny_zip(tmp_path / "repacked.zip", tiny.images, zipfile.ZIP_DEFLATED)
    tiny.link.unlink()
    tiny.link.symlink_to(repacked)
    with pytest.raises(DownloadError, match="sha256"):
        data.clothing_dir()
    assert data.clothing_dir(verify_archive_hash=False) == tiny.folder
    assert len(data.load_clothing("train", image_size=(32, 32)).file_paths) == 5
    _replace_with_junk(tiny.folder)
    assert data.clothing_dir() == tiny.folder
    assert tiny.folder_images() == tiny.images


def test_an_archive_of_other_images_is_refused_even_without_the_hash_check(tiny, tmp_path):
    other = dict(tiny.images, **{"train/hat/hat0.jpg": _jpeg(12345)})
    tiny.link.unlink()
    tiny.link.symlink_to(_tiny_zip(tmp_path / "other.zip", other))
    with pytest.raises(DownloadError, match="holds other images than clothing-dataset-small"):
        data.clothing_dir(verify_archive_hash=False)
    assert not tiny.folder.exists()
