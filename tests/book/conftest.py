"""The built book, shared by the build test and the browser test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def book_build() -> subprocess.CompletedProcess:
    """Build the book once per session, as `make book` does (warnings are errors)."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def site(book_build) -> Path:
    if book_build.returncode != 0:
        pytest.fail("the book did not build:\n" + book_build.stdout[-4000:] + book_build.stderr[-4000:])
    return HTML
