"""Fetch a file once, verify it, unpack archives atomically, and keep a record of what was unpacked.

The book's datasets are downloaded on first use and cached; this module is
the careful part of that.  A download goes to a temporary file and is renamed
into place only once complete and verified, so an interrupted or corrupt
download never poisons the cache.  An archive is extracted into a scratch
folder beside its destination, checked, then renamed into place in one step:
a second process extracting the same archive at the same time either wins
that rename or finds the finished folder, and never sees half a dataset.
Each scratch folder is locked while in use, so that the scratch folder of an
extraction that was killed midway can be told from a live one and removed.

What was extracted is recorded in a *manifest* inside the folder: the sha256,
size and times of every file.  Checking a folder against its manifest costs a
``stat`` per file; only a file whose size or times changed is read and hashed
again (the times include the inode change time, which no program can set
back), so a changed, missing or extra file is found by its content in a
fraction of a second.

Errors say what to do.  Offline with no cached copy, the error names the URL
and the path to put the file at by hand.  A full disk or a folder this
process may not write is a :class:`CacheWriteError`, whose advice is about
the cache folder, never to delete a good download.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows has no flock: scratch folders are then never judged stale
    fcntl = None

__all__ = [
    "CacheWriteError",
    "DownloadError",
    "FileRecord",
    "Manifest",
    "cache_write_error",
    "content_sha256",
    "extract_zip_atomically",
    "fetch",
    "read_manifest",
    "record_files",
    "remove_stale_scratch",
    "scratch_folder",
    "sha256_of",
    "write_manifest",
]

MANIFEST_NAME = ".manifest.json"
MANIFEST_FORMAT = 1
#: A scratch folder younger than this is never removed: it covers the instant between creating it and locking it.
STALE_AFTER_S = 60.0
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


class DownloadError(RuntimeError):
    """A file could not be fetched, verified or unpacked; the message says what to do."""


class CacheWriteError(DownloadError):
    """The cache folder could not be written (disk full, read-only, no permission); what was fetched is intact."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_write_error(err: OSError, folder: Path) -> CacheWriteError | None:
    """``err`` as a :class:`CacheWriteError` with its own advice if it is a full disk or a refused write, else None.

    Why: these are faults of the cache folder, not of the file being written;
    the advice must not be to delete a download that is fine.
    """
    where = err.filename or folder
    if err.errno in _DISK_FULL:
        return CacheWriteError(
            f"no space left on the disk of {folder} while writing {where}: free some space there, "
            f"or put the cache on another disk; what was already downloaded is intact"
        )
    if err.errno in _NOT_WRITABLE:
        return CacheWriteError(
            f"cannot write {where} ({err.strerror}): make {folder} writable, or put the cache in a folder you can write"
        )
    return None


def _expected_hashes(sha256: str | Collection[str] | None) -> tuple[str, ...]:
    return () if sha256 is None else (sha256,) if isinstance(sha256, str) else tuple(sha256)


def _expectation(accepted: tuple[str, ...]) -> str:
    return f"expected {accepted[0]}" if len(accepted) == 1 else f"expected one of {', '.join(accepted)}"


def fetch(url: str, destination: Path, sha256: str | Collection[str] | None) -> Path:
    """Return ``destination``, downloading ``url`` there first if it is not cached.

    ``sha256`` is the expected hash, or several accepted ones, or None for no
    check.  A cached file is trusted only if its sha256 matches; a mismatching
    cached file is an error rather than silently replaced, so a hand-placed
    file with the wrong content is reported, not lost.
    """
    destination = Path(destination)
    accepted = _expected_hashes(sha256)
    if destination.is_file():
        if accepted and (actual := sha256_of(destination)) not in accepted:
            raise DownloadError(
                f"{destination} has sha256 {actual}, {_expectation(accepted)}: the file is corrupt or a "
                f"different version. Delete it to download {url} again, or replace it by hand."
            )
        return destination
    print(f"Downloading {url}", flush=True)
    try:
        _download(url, destination, accepted)
    except OSError as err:  # urllib's URLError is an OSError too
        raise cache_write_error(err, destination.parent) or DownloadError(
            f"could not download {url} ({err}). Without network access, download it elsewhere "
            f"and put it at {destination}."
        ) from err
    return destination


def _download(url: str, destination: Path, accepted: tuple[str, ...]) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        if accepted and (actual := sha256_of(Path(partial))) not in accepted:
            raise DownloadError(f"download of {url} has sha256 {actual}, {_expectation(accepted)}")
        os.replace(partial, destination)
    finally:
        Path(partial).unlink(missing_ok=True)


# --- what a folder holds -------------------------------------------------------------------


@dataclass(frozen=True)
class FileRecord:
    """A file's content hash, and the stat fields that change whenever its content does."""

    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int

    def describes(self, stat: os.stat_result) -> bool:
        """Whether ``stat`` is the file this record was made from, unchanged since."""
        return (self.size, self.mtime_ns, self.ctime_ns) == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True)
class Manifest:
    """What an extracted folder held when it was verified, and the sha256 of the archive it came from."""

    files: dict[str, FileRecord]
    archive_sha256: str | None


def record_files(folder: Path, names: list[str], known: Mapping[str, FileRecord]) -> dict[str, FileRecord]:
    """A record of each file in ``names`` (paths relative to ``folder``) that still exists.

    A file whose size and times match its record in ``known`` keeps that
    record without being read; any other file is hashed.
    """
    records = {}
    for name in names:
        path = os.path.join(folder, name)  # plain strings: a check of thousands of files should cost little
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # gone since it was listed (a concurrent repair): it is missing
            continue
        if name in known and known[name].describes(stat):
            records[name] = known[name]
        else:
            records[name] = FileRecord(sha256_of(Path(path)), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    return records


def content_sha256(records: Mapping[str, FileRecord]) -> str:
    """One hash for a whole set of files: the sha256 of ``sha256sum``'s listing of them, sorted by path.

    The same number comes from ``find … | LC_ALL=C sort | xargs sha256sum | sha256sum``
    run in the folder, so it can be checked without this code.
    """
    listing = "".join(f"{records[name].sha256}  {name}\n" for name in sorted(records))
    return hashlib.sha256(listing.encode()).hexdigest()


def write_manifest(folder: Path, records: Mapping[str, FileRecord], archive_sha256: str | None) -> None:
    """Record ``records`` in ``folder``'s manifest, replacing it atomically (raises OSError)."""
    document = {
        "format": MANIFEST_FORMAT,
        "archive_sha256": archive_sha256,
        "files": {name: list(asdict(record).values()) for name, record in sorted(records.items())},
    }
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f"{MANIFEST_NAME}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(partial, folder / MANIFEST_NAME)
    finally:
        Path(partial).unlink(missing_ok=True)


def read_manifest(folder: Path) -> Manifest | None:
    """``folder``'s manifest, or None if it has none or one that is unreadable or malformed."""
    try:
        document = json.loads((Path(folder) / MANIFEST_NAME).read_text())
        if document["format"] != MANIFEST_FORMAT:
            return None
        files = {name: FileRecord(*fields) for name, fields in document["files"].items()}
        archive_sha256 = document["archive_sha256"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    well_formed = all(
        isinstance(r.sha256, str) and all(type(v) is int for v in (r.size, r.mtime_ns, r.ctime_ns))
        for r in files.values()
    )
    return Manifest(files, archive_sha256) if well_formed and isinstance(archive_sha256, (str, type(None))) else None


# --- extraction ----------------------------------------------------------------------------


@contextmanager
def scratch_folder(destination: Path) -> Iterator[Path]:
    """A new hidden folder beside ``destination``, locked while in use and removed afterwards.

    Why the lock: a process killed midway leaves its scratch folder behind;
    :func:`remove_stale_scratch` removes only folders whose lock nobody holds,
    and the kernel drops a lock when its holder dies.
    """
    scratch = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}."))
    lock = os.open(scratch, os.O_RDONLY) if fcntl else None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def _in_use(folder: Path) -> bool:
    """Whether a live process holds ``folder``'s lock (a folder that cannot be opened counts as in use)."""
    try:
        lock = os.open(folder, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(lock)


def remove_stale_scratch(destination: Path) -> list[Path]:
    """Delete the scratch folders that killed extractions left beside ``destination``; return them.

    A scratch folder is stale when nobody holds its lock and it is older than
    :data:`STALE_AFTER_S`; one that a concurrent extraction is using is left
    alone.  Folders that cannot be deleted (a read-only cache) are skipped.
    """
    destination = Path(destination)
    if fcntl is None or not destination.parent.is_dir():
        return []
    removed = []
    for folder in destination.parent.glob(f".{destination.name}.*"):
        with suppress(OSError):
            old = time.time() - folder.stat().st_mtime > STALE_AFTER_S
            if folder.is_dir() and old and not _in_use(folder):
                shutil.rmtree(folder)
                removed.append(folder)
                print(f"Removed {folder}, left by an extraction that did not finish", flush=True)
    return removed


def _safe_members(archive: zipfile.ZipFile, root: Path) -> list[zipfile.ZipInfo]:
    """Refuse members that would land outside the extraction folder."""
    members = archive.infolist()
    for member in members:
        target = (root / member.filename).resolve()
        if root.resolve() not in target.parents and target != root.resolve():
            raise DownloadError(f"refusing archive member {member.filename!r}: it points outside the folder")
    return members


def _extract(archive_path: Path, scratch: Path, top_folder: str) -> Path:
    """Unpack the archive into ``scratch``; return its ``top_folder`` there.

    A damaged archive is a :class:`DownloadError` that says to fetch it again;
    an OSError (a full disk, a refused write) is left to the caller to explain.
    """
    try:
        with zipfile.ZipFile(archive_path) as archive:
            archive.extractall(scratch, members=_safe_members(archive, scratch))
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise DownloadError(
            f"{archive_path} is not a readable zip archive ({err}); delete it and fetch it again"
        ) from err
    extracted = scratch / top_folder
    if not extracted.is_dir():
        raise DownloadError(f"{archive_path} has no folder {top_folder!r}")
    return extracted


def _move_into_place(new: Path, destination: Path, trash: Path | None) -> bool:
    """Rename ``new`` to ``destination``; False if another process's folder got there first.

    With ``trash``, a folder already at ``destination`` is first moved there
    (into the scratch folder, which is deleted afterwards).
    """
    if trash is not None:
        with suppress(FileNotFoundError):  # a concurrent repair may have moved it already
            os.rename(destination, trash)
    try:
        os.rename(new, destination)
        return True
    except OSError as err:
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY) and destination.is_dir():
            return False
        raise


def extract_zip_atomically(
    archive_path: Path, destination: Path, top_folder: str, verify: Callable[[Path], None], replace: bool = False
) -> Path:
    """Extract ``top_folder`` of a zip to ``destination``, all or nothing.

    ``verify`` is called on the extracted folder before it is moved into
    place; it raises if the content is wrong, and may add files (a manifest).
    If ``destination`` already exists it is verified and returned, unless
    ``replace`` is true: then a fresh extraction takes its place (a repair).
    A full disk or a refused write is a :class:`CacheWriteError`.
    """
    destination = Path(destination)
    if destination.is_dir() and not replace:
        verify(destination)
        return destination
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with scratch_folder(destination) as scratch:
            extracted = _extract(Path(archive_path), scratch, top_folder)
            verify(extracted)
            placed = _move_into_place(extracted, destination, scratch / "replaced" if replace else None)
    except OSError as err:
        raise cache_write_error(err, destination.parent) or DownloadError(
            f"could not extract {archive_path} into {destination.parent} ({err})"
        ) from err
    if not placed:  # another process finished first: check what it left
        verify(destination)
    return destination
