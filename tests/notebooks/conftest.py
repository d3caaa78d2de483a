"""Shared fixtures: the chapters as parsed notebooks, and the book's configuration."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def pytest_generate_tests(metafunc):
    if "notebook_path" in metafunc.fixturenames:
        metafunc.parametrize("notebook_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])


@pytest.fixture
def notebook(notebook_path: Path) -> nbformat.NotebookNode:
    return nbformat.read(notebook_path, as_version=4)


@pytest.fixture(scope="session")
def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())
