"""Plots render with titles and labels on every axis that carries data."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from helpers.plots import plot_history, show_feature_maps, show_images  # noqa: E402


def test_plot_history_draws_training_and_validation_per_run():
    histories = {
        "dense": {"accuracy": [0.8, 0.85], "val_accuracy": [0.79, 0.82]},
        "convnet": {"accuracy": [0.85, 0.9], "val_accuracy": [0.84, 0.88]},
    }
    fig = plot_history(histories, title="Accuracy")
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "accuracy"
    assert ax.get_title() == "Accuracy"
    assert list(ax.lines[0].get_xdata()) == [1, 2]


def test_plot_history_accepts_a_keras_history_like_object():
    class FakeHistory:
        history = {"loss": [1.0, 0.5, 0.3]}

    fig = plot_history({"run": FakeHistory()}, metric="loss")
    assert len(fig.axes[0].lines) == 1


def test_plot_history_puts_loss_and_accuracy_side_by_side_and_marks_the_best_epoch():
    history = {
        "loss": [1.0, 0.6, 0.4],
        "val_loss": [1.1, 0.8, 0.9],
        "accuracy": [0.6, 0.8, 0.9],
        "val_accuracy": [0.55, 0.7, 0.72],
    }
    fig = plot_history({"baseline": history}, ("loss", "accuracy"), title="Baseline", mark_best=True)
    loss, accuracy = fig.axes
    assert (loss.get_title(), accuracy.get_title()) == ("loss", "accuracy")
    assert (loss.get_ylabel(), accuracy.get_ylabel()) == ("loss", "accuracy")
    assert fig.get_suptitle() == "Baseline"
    # training, validation and the dot on the best validation epoch: the lowest loss, the highest accuracy
    assert len(loss.lines) == len(accuracy.lines) == 3
    assert (list(loss.lines[2].get_xdata()), list(loss.lines[2].get_ydata())) == ([2], [0.8])
    assert (list(accuracy.lines[2].get_xdata()), list(accuracy.lines[2].get_ydata())) == ([3], [0.72])
    # one legend for the figure, outside the panels
    assert not loss.get_legend() and [t.get_text() for t in fig.legends[0].get_texts()] == [
        "training",
        "validation",
        "best validation epoch",
    ]


def test_plot_history_per_run_draws_small_multiples_that_share_each_rows_scale():
    runs = {
        name: {"loss": [1.0, 0.5 * k], "val_loss": [1.2, 0.9], "accuracy": [0.5, 0.9], "val_accuracy": [0.5, 0.7]}
        for k, name in enumerate(("baseline", "dropout", "spatial dropout"), start=1)
    }
    fig = plot_history(runs, ("loss", "accuracy"), per_run=True)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["baseline", "dropout", "spatial dropout"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "", "", "accuracy", "", ""]
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "", "", "epoch", "epoch", "epoch"]
    assert len({ax.get_ylim() for ax in fig.axes[:3]}) == 1
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    # training and validation differ in colour as well as in line style
    training, validation = fig.axes[0].lines
    assert training.get_color() != validation.get_color()
    assert (training.get_linestyle(), validation.get_linestyle()) == ("--", "-")


def test_plot_history_with_several_runs_and_metrics_labels_each_run():
    runs = {"a": {"loss": [1.0, 0.5]}, "b": {"loss": [0.9, 0.4]}}
    fig = plot_history(runs, ["loss", "loss"], validation=False)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a (training)", "b (training)"]


def test_show_images_grid_titles_and_blank_cells():
    images = np.random.default_rng(0).random((5, 28, 28))
    fig = show_images(images, [f"img {i}" for i in range(5)], ncols=3, title="Samples")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:5]] == [f"img {i}" for i in range(5)]
    assert fig.get_suptitle() == "Samples"


def test_show_images_cells_follow_the_aspect_and_titles_the_size_asked_for():
    images = [np.zeros((160, 240, 3), "uint8")] * 3
    fig = show_images(images, ["a", "b", "c"], ncols=3, size=4.0, aspect=160 / 240, title_size=14)
    width, height = fig.get_size_inches()
    assert width == 12.0 and height == 4.0 * 160 / 240 + 0.4
    assert {ax.title.get_fontsize() for ax in fig.axes} == {14}


def test_show_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(0).random((13, 13, 10))
    fig = show_feature_maps(maps, title="conv1", ncols=4)
    assert len(fig.axes) == 12
    assert sum(1 for ax in fig.axes if ax.images) == 10
    assert "13×13 pixels, 10 channels" in fig.get_suptitle()


def test_show_feature_maps_can_share_one_colour_scale_and_says_which():
    maps = np.random.default_rng(0).random((5, 5, 3)) * np.array([1.0, 0.1, 2.0])
    shared = show_feature_maps(maps, title="conv1", shared_scale=True)
    assert {ax.images[0].get_clim() for ax in shared.axes if ax.images} == {(0.0, maps.max())}
    assert "one colour scale for all channels" in shared.get_suptitle()
    own = show_feature_maps(maps, title="conv1")
    assert len({ax.images[0].get_clim() for ax in own.axes if ax.images}) == 3
    assert "each channel scaled on its own" in own.get_suptitle()


def test_plot_history_grids_stay_legible_and_free_of_overlaps_on_the_page():
    """Three runs × two metrics fit the 719-px column with text ≥ 10 px and no label on another.

    Matplotlib's locators keep an undrawn tick beyond each end of a panel's range, with a label
    that would sit on the neighbouring panel's labels: plot_history keeps only the ticks inside.
    """
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from helpers.figure_format import BOOK_FONT_SIZES, figure_legibility

    curve = list(np.linspace(1.0, 0.2, 25))
    history = {"loss": curve, "val_loss": curve[::-1], "accuracy": curve, "val_accuracy": curve[::-1]}
    with plt.rc_context(BOOK_FONT_SIZES):
        fig = plot_history(
            {"baseline": history, "dropout 0.3, dense": history, "spatial dropout, conv": history},
            ("loss", "accuracy"),
            per_run=True,
            title="Dropout after the dense layer or after the convolutions",
        )
        record = figure_legibility(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
    width = Image.open(buffer).width
    assert record["overlapping_texts"] == 0
    assert record["smallest_text_px"] * min(1.0, 719 / width) >= 10
