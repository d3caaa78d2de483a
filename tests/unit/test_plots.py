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
