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
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator

__all__ = ["plot_history", "show_feature_maps", "show_images"]


def _history_dict(history: object) -> Mapping[str, Sequence[float]]:
    """Accept a Keras ``History`` or the plain ``history.history`` dict."""
    return getattr(history, "history", history)  # type: ignore[return-value]


def _is_loss(metric: str) -> bool:
    return "loss" in metric


def _draw_run(
    ax: Axes,
    values: Mapping[str, Sequence[float]],
    metric: str,
    *,
    validation: bool,
    mark_best: bool,
    colours: tuple[object, object],
    label: str = "",
) -> None:
    """One run's training (dashed) and validation (solid) curves of ``metric`` on ``ax``."""

    def named(part: str) -> str:
        return f"{label} ({part})" if label else part

    epochs = np.arange(1, len(values[metric]) + 1)
    ax.plot(epochs, values[metric], "--", color=colours[0], label=named("training"))
    key = f"val_{metric}"
    if validation and key in values:
        curve = np.asarray(values[key], dtype=float)
        ax.plot(epochs, curve, "-", color=colours[1], label=named("validation"))
        if mark_best:
            best = int(np.argmin(curve) if _is_loss(metric) else np.argmax(curve))
            ax.plot(
                epochs[best], curve[best], "o", color=colours[1], markersize=7, label=named("best validation epoch")
            )


def plot_history(
    histories: Mapping[str, object],
    metric: str | Sequence[str] = "accuracy",
    *,
    title: str | None = None,
    validation: bool = True,
    per_run: bool = False,
    mark_best: bool = False,
) -> Figure:
    """Plot training (dashed) and validation (solid) curves by epoch.

    ``histories`` maps a run's label to its Keras ``History`` (or its ``history`` dict).  Epochs are
    numbered from 1, as Keras's log prints them.

    - One ``metric`` (the default): one panel, one colour per run — fine for two or three runs.
    - Several metrics, e.g. ``("loss", "accuracy")``: one panel per metric, side by side, because a
      validation loss can turn upwards while the validation accuracy still looks level (chapter 2).
    - ``per_run=True``: small multiples, one column per run (one row per metric, the rows sharing
      their y axis), so that many runs can be compared without a tangle of overlapping lines.

    Where a panel shows one run, training and validation differ in colour as well as in line style;
    where it shows several, each run has a colour of its own.  ``mark_best`` puts a dot on each
    validation curve's best epoch: the lowest for a loss, the highest otherwise.  Several panels
    share one legend, under the figure, and ``title`` goes above them.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    runs = list({label: _history_dict(history) for label, history in histories.items()}.items())
    palette = matplotlib.colormaps["tab10"]

    def colours(i: int) -> tuple[object, object]:
        """Training and validation colours of run ``i``."""
        return (palette(0), palette(1)) if per_run or len(runs) == 1 else (palette(i % 10),) * 2

    def draw_runs(ax: Axes, name: str, chosen: list[tuple[str, Mapping[str, Sequence[float]]]]) -> None:
        for i, (label, values) in enumerate(chosen):
            named = label if len(chosen) > 1 or (len(metrics) == 1 and not per_run) else ""
            _draw_run(ax, values, name, validation=validation, mark_best=mark_best, colours=colours(i), label=named)

    if len(metrics) == 1 and not per_run:
        fig, ax = plt.subplots(figsize=(7, 4))
        draw_runs(ax, metrics[0], runs)
        _label_axes(ax, metrics[0], xlabel=True, ylabel=True)
        ax.set_title(title or f"{metrics[0]} by epoch")
        ax.legend()
        fig.tight_layout()
        _ticks_inside(fig)
        return fig

    rows, columns = (len(metrics), len(runs)) if per_run else (1, len(metrics))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(0.4 + 3.1 * columns, 0.9 + 2.7 * rows),
        squeeze=False,
        sharex=True,
        sharey="row" if per_run else False,
        layout="constrained",
    )
    for r in range(rows):
        for c in range(columns):
            ax = axes[r, c]
            if per_run:
                draw_runs(ax, metrics[r], [runs[c]])
                if r == 0:
                    ax.set_title(runs[c][0])
                _label_axes(ax, metrics[r], xlabel=r == rows - 1, ylabel=c == 0)
            else:
                draw_runs(ax, metrics[c], runs)
                ax.set_title(metrics[c])
                _label_axes(ax, metrics[c], xlabel=True, ylabel=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # matplotlib fills a legend column by column: with several runs a panel, one column per run
    legend_columns = len(runs) if len(runs) > 1 and not per_run else len(handles)
    fig.legend(handles, labels, loc="outside lower center", ncols=legend_columns)
    if title:
        fig.suptitle(title)
    _ticks_inside(fig)
    return fig


def _ticks_inside(fig: Figure) -> None:
    """Keep only the ticks inside each panel's range.

    Matplotlib's locators also place a tick beyond each end of the range, which it does not draw
    but which still holds a label, outside its panel; in a grid of panels that label sits on the
    neighbouring panel's labels, and the book's figure check (``helpers.figure_format``) counts it
    as an overlap.
    """
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            margin = 1e-9 * max(1.0, abs(high - low))
            ticks = axis.get_major_locator().tick_values(low, high)
            axis.set_major_locator(FixedLocator([t for t in ticks if low - margin <= t <= high + margin]))


def _label_axes(ax: Axes, metric: str, *, xlabel: bool, ylabel: bool) -> None:
    """Axis labels where asked (the outer panels of a grid), whole-number epochs, a light grid."""
    if xlabel:
        ax.set_xlabel("epoch")
    if ylabel:
        ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


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
