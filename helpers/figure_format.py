"""How the chapters' figures reach the page: legible text, light photos, and a record that shows both.

The book's column is 720 px wide on a desktop, so a wide figure is shrunk to fit it, and its text
shrinks with it.  Whether a label stays readable therefore depends on two things no single place
knows: the size Matplotlib drew it at, and the size the page shows the image at.  So each figure a
chapter displays carries, in its output metadata, the height in image pixels of its smallest text
and the number of text labels that overlap another label or another panel; the browser test
(``tests/book/test_site.py``) multiplies the first by the page's shrink factor and wants at least
10 px, and wants the second to be zero.

Figures that show photos or feature maps are stored as JPEG (a quarter of the bytes of PNG for a
photo grid, with no visible loss at quality 85); line plots stay PNG, whose sharp edges JPEG would
blur.
"""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.spines import Spine
from matplotlib.text import Text

__all__ = ["BOOK_FONT_SIZES", "figure_legibility", "use_book_figures"]

#: Font sizes in points. At Matplotlib's 100 dpi, 11 pt is 15.3 px, which stays ≥ 10 px on the
#: page for any figure up to about 11 inches wide.
BOOK_FONT_SIZES = {
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 13,
}


def _visible_texts(artist: Artist) -> list[Text]:
    """Every text the reader sees: titles, axis labels, tick labels, legends, annotations.

    Walks the artist tree rather than ``findobj``, because a panel switched off with
    ``ax.axis("off")`` keeps its (unseen) tick labels marked visible.
    """
    if not artist.get_visible():
        return []
    if isinstance(artist, Text):
        return [artist] if artist.get_text().strip() else []
    children = artist.get_children()
    if isinstance(artist, Axis):
        # An axis keeps Tick objects from earlier draws, labels and all; only these are drawn now.
        drawn = artist._update_ticks()
        children = [artist.label, artist.offsetText] + [t for tick in drawn for t in (tick.label1, tick.label2)]
    if isinstance(artist, Axes) and not artist.axison:
        children = [c for c in children if not isinstance(c, (Axis, Spine))]
    return [text for child in children for text in _visible_texts(child)]


def figure_legibility(fig: Figure) -> dict[str, float | int]:
    """The smallest text's height in image pixels, and how many texts overlap another text or panel.

    A text overlaps when its box crosses another text's box, or crosses a panel (axes) other than
    the one it belongs to — a subplot's title running into the image above it, say — by more than
    one pixel.  Texts placed inside their own panel (annotations, legends) are the author's choice.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = _visible_texts(fig)
    boxes = [t.get_window_extent(renderer).padded(-1.0) for t in texts]
    # a switched-off, empty panel (the unused end of a grid) shows nothing to run into
    panels = [ax for ax in fig.axes if ax.get_visible() and (ax.axison or ax.has_data())]
    overlapping = 0
    for i, (text, box) in enumerate(zip(texts, boxes)):
        hits_text = any(box.overlaps(other) for other in boxes[i + 1 :])
        hits_panel = any(box.overlaps(ax.get_window_extent(renderer)) for ax in panels if ax is not text.axes)
        overlapping += hits_text or hits_panel
    smallest_points = min((t.get_fontsize() for t in texts), default=0.0)
    return {
        "smallest_text_px": round(smallest_points * fig.dpi / 72, 1),
        "overlapping_texts": int(overlapping),
    }


def _shows_images(fig: Figure) -> bool:
    return any(isinstance(artist, AxesImage) for ax in fig.axes for artist in ax.get_images())


def _encode(fig: Figure, fmt: str) -> tuple[str, dict] | None:
    """The figure as base64 ``fmt`` with its legibility record, as IPython's formatters expect."""
    if not fig.axes and not fig.texts:
        return None
    record = figure_legibility(fig)
    buffer = io.BytesIO()
    options = {"pil_kwargs": {"quality": 85}} if fmt == "jpeg" else {}
    fig.savefig(buffer, format=fmt, bbox_inches="tight", facecolor="white", **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii"), record


def use_book_figures() -> None:
    """Set the book's font sizes and store each figure as JPEG (photos) or PNG (plots) with its record.

    A no-op outside IPython, so scripts and tests that import a chapter's code still work.
    """
    plt.rcParams.update(BOOK_FONT_SIZES)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python
        return
    shell = get_ipython()
    if shell is None:
        return
    # The inline backend installs its own figure formatters when it first loads, which is when the
    # first figure is made: load it now, so that ours come after and stay.
    plt.close(plt.figure())
    formatters = shell.display_formatter.formatters
    for formatter in formatters.values():
        formatter.pop(Figure, None)
    formatters["image/jpeg"].for_type(Figure, lambda fig: _encode(fig, "jpeg") if _shows_images(fig) else None)
    formatters["image/png"].for_type(Figure, lambda fig: None if _shows_images(fig) else _encode(fig, "png"))
