"""Every stored figure is legible on a desktop page, names what it shows, and is in the right format.

``helpers.figure_format.use_book_figures`` stores with each figure the height of its smallest text
(in image pixels) and how many texts overlap another text or panel.  A figure wider than the page
column is shrunk to it, so the text the reader sees is that height × column / image width; the
browser test measures the column on the built page, and this test uses the column measured there
(719 px at 1280 px) so that a chapter's author learns of a shrunken label without building the book.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

#: Width of a chapter's output column at a 1280-px window (sphinx-book-theme 1.3), in CSS px.
DESKTOP_COLUMN_PX = 719
SMALLEST_READABLE_PX = 10.0
FIGURE_TYPES = ("image/png", "image/jpeg")


def _figures(notebook):
    """(cell index, cell, MIME type, image bytes, record) for each image a code cell shows."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            for mime in FIGURE_TYPES:
                if mime in output.get("data", {}):
                    record = output.get("metadata", {}).get(mime, {})
                    yield index, cell, mime, base64.b64decode(output["data"][mime]), record


def shown_text_px(image: bytes, record: dict, column_px: float = DESKTOP_COLUMN_PX) -> float:
    """Height of the figure's smallest text as the page shows it, in CSS px."""
    width = Image.open(io.BytesIO(image)).width
    return record["smallest_text_px"] * min(1.0, column_px / width)


def test_every_figure_is_stored_through_the_books_figure_format(notebook):
    missing = [i for i, _, _, _, record in _figures(notebook) if "smallest_text_px" not in record]
    assert not missing, f"cells {missing} show a figure without use_book_figures()' record"


def test_figure_text_is_at_least_10_px_on_a_desktop(notebook):
    small = [
        f"cell {i}: {shown_text_px(image, record):.1f} px"
        for i, _, _, image, record in _figures(notebook)
        if "smallest_text_px" in record and shown_text_px(image, record) < SMALLEST_READABLE_PX
    ]
    assert not small, f"text below {SMALLEST_READABLE_PX} px at 1280 px: {small}"


def test_no_figure_text_overlaps_another_text_or_panel(notebook):
    overlapping = [
        f"cell {i}: {record['overlapping_texts']} texts"
        for i, _, _, _, record in _figures(notebook)
        if record.get("overlapping_texts", 0)
    ]
    assert not overlapping, f"overlapping titles or labels: {overlapping}"


def test_every_figure_has_alt_text(notebook):
    bare = sorted(
        {
            i
            for i, cell, _, _, _ in _figures(notebook)
            if not cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "").strip()
        }
    )
    assert not bare, f"cells {bare} show a figure with no metadata.mystnb.image.alt"
