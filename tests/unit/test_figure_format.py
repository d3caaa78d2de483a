"""The legibility record finds small and overlapping text, and ignores what the reader cannot see."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from helpers.figure_format import _encode, figure_legibility


def test_smallest_text_is_measured_in_image_pixels():
    fig, ax = plt.subplots(dpi=100)
    ax.plot([1, 2])
    ax.set_title("big", fontsize=20)
    ax.set_xlabel("small", fontsize=7.2)
    assert figure_legibility(fig)["smallest_text_px"] == 10.0


def test_a_title_running_into_the_panel_above_counts_as_overlap():
    fig, axes = plt.subplots(2, 1, figsize=(3, 3))
    for ax in axes:
        ax.imshow(np.zeros((10, 10)))
        ax.set_title("one\ntwo\nthree\nfour")
    assert figure_legibility(fig)["overlapping_texts"] >= 1
    fig.set_size_inches(3, 9)
    fig.tight_layout()
    assert figure_legibility(fig)["overlapping_texts"] == 0


def test_tick_labels_of_a_switched_off_panel_are_not_counted():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    ax.tick_params(labelsize=3)
    ax.axis("off")
    ax.set_title("photo", fontsize=12)
    assert figure_legibility(fig)["smallest_text_px"] == round(12 * fig.dpi / 72, 1)


def test_the_figure_is_encoded_with_its_record():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    data, record = _encode(fig, "jpeg")
    assert data.startswith("/9j/")  # base64 of a JPEG's first bytes
    assert set(record) == {"smallest_text_px", "overlapping_texts"}


def test_tick_labels_left_over_from_an_earlier_draw_are_not_counted():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.arange(1000))
    figure_legibility(fig)  # draws ticks 0–1000
    ax.set_xlim(0, 10)  # fewer ticks now; the axis keeps the old Tick objects
    ax.set_title("zoomed")
    assert figure_legibility(fig)["overlapping_texts"] == 0
