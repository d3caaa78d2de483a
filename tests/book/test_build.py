"""`jupyter-book build -W -n --keep-going` succeeds and produces a page per chapter."""

from __future__ import annotations

from pathlib import Path

from book_toc import ROOT, toc_pages


def test_book_builds_without_warnings(book_build):
    assert book_build.returncode == 0, book_build.stdout[-4000:] + book_build.stderr[-4000:]


def test_every_toc_entry_has_a_page(site: Path):
    for name in toc_pages():
        assert (site / f"{name}.html").is_file(), f"{name}.html missing from the built site"


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(toc_pages())
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert f"chapters/{notebook.stem}" in listed, f"{notebook.name} is not in _toc.yml"
