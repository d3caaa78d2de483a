"""Wall-clock comparisons that survive a busy machine.

A single timing of A and then of B measures whatever else the machine was doing
at the time as much as A and B.  Interleaving repeats (A, B, A, B, …) exposes
both to the same background load, and the median of each keeps one unlucky
repeat from deciding the result; a ratio of the two medians is what the chapters
claim (chapter 1 introduces it, for the cost of pooling).  Their bounds still
leave wide margin: the claims policy in :mod:`helpers.claims`.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np

__all__ = ["interleaved_seconds"]


def interleaved_seconds(
    runs: Mapping[str, Callable[[], object]], *, repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of each callable, timed in interleaved rounds.

    Each callable is first run ``warmup`` times untimed (graph tracing, caches),
    then every round times each callable once, in the order given.
    """
    if repeats < 3:
        raise ValueError("use at least 3 repeats: a median of fewer is one unlucky run")
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(ts)) for name, ts in times.items()}
