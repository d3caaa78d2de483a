"""Fetch a file once, verify it, and unpack archives atomically.

The book's datasets are downloaded on first use and cached; this module is
the careful part of that.  A download goes to a temporary file and is renamed
into place only once complete and verified, so an interrupted or corrupt
download never poisons the cache.  An archive is extracted into a temporary
folder beside its destination, checked, then renamed into place in one step:
a second process extracting the same archive at the same time either wins
that rename or finds the finished folder, and never sees half a dataset.
Offline with no cached copy, the error names the URL and the path to put the
file at by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["DownloadError", "fetch", "sha256_of", "extract_zip_atomically"]


class DownloadError(RuntimeError):
    """A file could not be fetched, verified or unpacked; the message says what to do."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, destination: Path, sha256: str | None) -> Path:
    """Return ``destination``, downloading ``url`` there first if it is not cached.

    A cached file is trusted only if its sha256 matches (when one is given);
    a mismatching cached file is an error rather than silently replaced, so a
    hand-placed file with the wrong content is reported, not lost.
    """
    destination = Path(destination)
    if destination.is_file():
        if sha256 and (actual := sha256_of(destination)) != sha256:
            raise DownloadError(
                f"{destination} has sha256 {actual}, expected {sha256}: the file is corrupt or a "
                f"different version. Delete it to download {url} again, or replace it by hand."
            )
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    print(f"Downloading {url}", flush=True)
    fd, partial = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        if sha256 and (actual := sha256_of(Path(partial))) != sha256:
            raise DownloadError(f"download of {url} has sha256 {actual}, expected {sha256}")
        os.replace(partial, destination)
    except (urllib.error.URLError, OSError) as err:
        raise DownloadError(
            f"could not download {url} ({err}). Without network access, download it elsewhere "
            f"and put it at {destination}."
        ) from err
    finally:
        Path(partial).unlink(missing_ok=True)
    return destination


def _safe_members(archive: zipfile.ZipFile, root: Path) -> list[zipfile.ZipInfo]:
    """Refuse members that would land outside the extraction folder."""
    members = archive.infolist()
    for member in members:
        target = (root / member.filename).resolve()
        if root.resolve() not in target.parents and target != root.resolve():
            raise DownloadError(f"refusing archive member {member.filename!r}: it points outside the folder")
    return members


def extract_zip_atomically(archive_path: Path, destination: Path, top_folder: str,
                           verify: Callable[[Path], None]) -> Path:
    """Extract ``top_folder`` of a zip to ``destination``, all or nothing.

    ``verify`` is called on the extracted folder before it is moved into
    place and raises if the content is wrong.  If ``destination`` already
    exists it is verified and returned.
    """
    destination = Path(destination)
    if destination.is_dir():
        verify(destination)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}."))
    try:
        try:
            with zipfile.ZipFile(archive_path) as archive:
                archive.extractall(scratch, members=_safe_members(archive, scratch))
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise DownloadError(
                f"{archive_path} is not a readable zip archive ({err}); delete it and fetch it again"
            ) from err
        extracted = scratch / top_folder
        if not extracted.is_dir():
            raise DownloadError(f"{archive_path} has no folder {top_folder!r}")
        verify(extracted)
        try:
            os.rename(extracted, destination)
        except OSError:
            if not destination.is_dir():  # not a lost race with another process: a real failure
                raise
        verify(destination)
        return destination
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
