"""The head recipe of chapter 4: a classifier trained on cached features, chosen on validation.

Chapter 4 builds ``head_model`` and ``fit_head`` in the open, sweeps the head's learning rate and its
variants on the validation photos, and keeps the defaults below.  Chapters 5
and 6 reuse them unchanged from here, so that "feature extraction" means the
same model in all three chapters; a test keeps this code identical to the
chapter's.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from helpers.data import CLOTHING_CLASSES
from helpers.training_log import EpochLine

__all__ = ["DROPOUT", "EPOCHS", "LEARNING_RATE", "best_epoch", "correct", "fit_head", "head_model"]

EPOCHS = 12
LEARNING_RATE = 3e-3  # chosen by chapter 4's learning-rate sweep
DROPOUT = 0.5  # chosen by chapter 4's comparison of head variants


def head_model(features, learning_rate=LEARNING_RATE, inner=0, dropout=DROPOUT):
    """[Dense(inner, relu)] → [Dropout] → Dense(10, softmax) on ``features`` numbers.

    Compiled with Adam at ``learning_rate``, ready to fit.
    """
    stack = [keras.Input(shape=(features,))]
    if inner:
        stack.append(layers.Dense(inner, activation="relu"))
    if dropout:
        stack.append(layers.Dropout(dropout))
    head = keras.Sequential([*stack, layers.Dense(len(CLOTHING_CLASSES), activation="softmax")])
    head.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=16,
    )
    return head


def fit_head(training, validation, learning_rate=LEARNING_RATE, inner=0, dropout=DROPOUT, label=""):
    """Train a head_model on (features, labels) for EPOCHS epochs.

    Keeps the epoch with the best validation accuracy.
    """
    keras.utils.set_random_seed(4)  # same initial weights and batches for every variant
    head = head_model(training[0].shape[1], learning_rate, inner, dropout)
    keep_best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=EPOCHS, restore_best_weights=True
    )
    history = head.fit(
        *training,
        batch_size=32,
        epochs=EPOCHS,
        validation_data=validation,
        verbose=0,
        callbacks=[EpochLine(label), keep_best],
    )
    return head, history


def best_epoch(history):
    """The epoch (from 1) whose weights fit_head kept.

    The first with the highest validation accuracy.
    """
    return int(np.argmax(history.history["val_accuracy"])) + 1


def correct(model, features, labels):
    """1 where the model's most probable class is the true one, 0 where it is not.

    One entry per photo.
    """
    probabilities = keras.ops.convert_to_numpy(model(features, training=False))  # one call, no predict loop
    return (probabilities.argmax(axis=1) == labels).astype(int)
