"""EpochLine prints the label once, then exactly one line per epoch with time and metrics."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from helpers.training_log import EpochLine  # noqa: E402


def test_one_line_per_epoch_with_label_and_metrics(capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((32, 3)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int32")
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[EpochLine("tiny")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0] == "tiny:"
    assert lines[1].startswith("  epoch 1/3 · ")
    assert lines[3].startswith("  epoch 3/3 · ")
    for name in ("loss", "acc", "val_loss", "val_acc"):
        assert f" {name} " in lines[1]
    assert max(len(line) for line in lines) <= 88
