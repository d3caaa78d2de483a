"""One readable line per training epoch.

Keras's ``verbose=1`` progress bar stores kilobytes of carriage returns and
colour codes in a notebook, and ``verbose=2`` spends two lines per epoch.
Chapters train with ``verbose=0`` and pass :class:`EpochLine` as a callback, so
the rendered page shows the run's label, then one line per epoch with its time and
every metric.
"""

from __future__ import annotations

import time

import keras

__all__ = ["EpochLine"]


class EpochLine(keras.callbacks.Callback):
    """Print the run's label once, then ``  epoch i/n · seconds · metric value …`` after each epoch.

    The label has a line of its own and "accuracy" is shortened to "acc", so that an epoch's line
    fits the book's 88-character code box at desktop width whatever the label.
    """

    def __init__(self, label: str = "", digits: int = 3) -> None:
        super().__init__()
        self.label = label
        self.digits = digits
        self._started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.label:
            print(f"{self.label}:", flush=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.perf_counter() - self._started
        total = self.params.get("epochs", "?")
        metrics = " · ".join(
            f"{name.replace('accuracy', 'acc')} {value:.{self.digits}f}" for name, value in (logs or {}).items()
        )
        indent = "  " if self.label else ""
        print(f"{indent}epoch {epoch + 1}/{total} · {seconds:.1f} s · {metrics}", flush=True)
