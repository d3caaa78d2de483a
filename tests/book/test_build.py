"""`jupyter-book build -W -n --keep-going` succeeds and produces a page per chapter."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_book_builds_without_warnings(book_build):
    assert book_build.returncode == 0, book_build.stdout[-4000:] + book_build.stderr[-4000:]


def test_every_toc_entry_has_a_page(site: Path):
    for name in _toc_files():
        assert (site / f"{name}.html").is_file(), f"{name}.html missing from the built site"


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(_toc_files())
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert f"chapters/{notebook.stem}" in listed, f"{notebook.name} is not in _toc.yml"
