"""clothing-dataset-small: cached download, verification, atomic and concurrent extraction."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import helpers.data as data
from helpers.downloads import DownloadError, extract_zip_atomically, fetch

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
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
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
