"""Figures the chapters draw again and again: learning curves and image grids.

Plotting is plumbing here: a chapter decides *what* to show (which histories,
which feature maps) and these functions only lay it out with titles and axis
labels, so the notebooks stay about convnets rather than Matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_history", "show_images", "show_feature_maps"]


def _history_dict(history: object) -> Mapping[str, Sequence[float]]:
    """Accept a Keras ``History`` or the plain ``history.history`` dict."""
    return getattr(history, "history", history)  # type: ignore[return-value]


def plot_history(
    histories: Mapping[str, object],
    metric: str = "accuracy",
    *,
    title: str | None = None,
    validation: bool = True,
) -> Figure:
    """Plot training (dashed) and validation (solid) curves, one colour per run.

    ``histories`` maps a run's label to its Keras ``History``.  Epochs are
    numbered from 1, as Keras's log prints them.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = matplotlib.colormaps["tab10"]
    for i, (label, history) in enumerate(histories.items()):
        values = _history_dict(history)
        epochs = np.arange(1, len(values[metric]) + 1)
        ax.plot(epochs, values[metric], "--", color=colours(i % 10), label=f"{label} (training)")
        if validation and f"val_{metric}" in values:
            ax.plot(epochs, values[f"val_{metric}"], "-", color=colours(i % 10), label=f"{label} (validation)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} by epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    title: str | None = None,
    cmap: str = "gray_r",
    size: float = 1.4,
    aspect: float = 1.0,
    title_size: str | float | None = None,
) -> Figure:
    """Show a grid of images (``(n, h, w)`` grey or ``(n, h, w, 3)`` colour), each with its title.

    Each cell is ``size`` inches wide and ``aspect`` × ``size`` high: pass the photos' height / width
    for landscape photos, so the rows are not padded with empty space.  ``title_size`` is a Matplotlib
    font size (default: the book's title size); a wide grid is shrunk to the page, so photos shown
    large need larger titles to stay legible (chapter 7).
    """
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, aspect * size * nrows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if np.ndim(images[i]) == 2 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=title_size)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_feature_maps(
    maps: np.ndarray,
    *,
    title: str,
    ncols: int = 8,
    cmap: str = "viridis",
    size: float = 1.2,
    shared_scale: bool = False,
) -> Figure:
    """Show the channels of one image's feature maps, ``(h, w, channels)``, as a grid.

    By default each channel is scaled on its own so that weak channels stay
    visible — and so a dark panel only means "dark for this channel".  With
    ``shared_scale=True`` every channel uses one colour scale, from 0 to the
    largest value in ``maps``, so that a dark panel is a channel that barely
    responds (chapter 1 compares channels this way).  The figure's title says
    which scaling was used; the caller's ``title`` should name the layer.
    """
    channels = maps.shape[-1]
    limits = {"vmin": 0.0, "vmax": float(maps.max())} if shared_scale else {}
    nrows = int(np.ceil(channels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.5), squeeze=False)
    for c, ax in enumerate(axes.flat):
        ax.axis("off")
        if c < channels:
            ax.imshow(maps[..., c], cmap=matplotlib.colormaps[cmap], **limits)
            ax.set_title(f"ch {c}", fontsize=11)
    scale = "one colour scale for all channels" if shared_scale else "each channel scaled on its own"
    fig.suptitle(f"{title} — {maps.shape[0]}×{maps.shape[1]} pixels, {channels} channels, {scale}")
    fig.tight_layout()
    return fig
