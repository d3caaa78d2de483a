"""Real folders that fail as disks do — full, or read-only — for tests of the caches' error handling.

Both need root for a real mount; as root a plain ``chmod`` would not stop
the writes (root ignores file modes), so the read-only folder is a read-only
bind mount.  Without root, the read-only folder falls back to file modes and
the full disk is skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _unmount(folder: Path) -> None:
    """Detach the mount even if a failed test left a file open on it (lazy), so no mount outlives the test."""
    subprocess.run(["umount", "--lazy", str(folder)], capture_output=True, check=True)


@contextmanager
def small_disk(folder: Path, size: str = "256k") -> Iterator[Path]:
    """``folder`` as a fresh tmpfs of ``size``: writes past it fail with ENOSPC, as on a full disk."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)):
        pytest.skip("a small real disk needs root and mount(8)")
    try:
        yield folder
    finally:
        _unmount(folder)


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (existing, with its content), made read-only for this process until the block ends."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not (_mount("--bind", str(folder), str(folder)) and _mount("-o", "remount,bind,ro", str(folder))):
        subprocess.run(["umount", str(folder)], capture_output=True)  # the bind, if only the remount failed
        pytest.skip("a read-only folder for root needs a read-only bind mount (mount(8))")
    try:
        yield folder
    finally:
        _unmount(folder)
