"""Interleaved timings: each callable warmed up, then timed in alternating rounds."""

import time

import pytest

from helpers.timing import interleaved_seconds


def test_interleaved_rounds_alternate_and_medians_order_the_costs():
    calls = []
    medians = interleaved_seconds(
        {"slow": lambda: (calls.append("slow"), time.sleep(0.02)), "fast": lambda: calls.append("fast")},
        repeats=3,
    )
    assert calls == ["slow", "fast"] + ["slow", "fast"] * 3  # one warm-up each, then rounds
    assert medians["slow"] >= 0.02 > medians["fast"]


def test_fewer_than_three_repeats_is_refused():
    with pytest.raises(ValueError, match="at least 3"):
        interleaved_seconds({"a": lambda: None}, repeats=2)
