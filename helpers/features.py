"""EfficientNet-Lite0 features of clothing-dataset-small, computed once and kept on disk.

Chapter 4 shows feature extraction itself: a frozen ImageNet network run once
over every photo (``base.predict``), its outputs reused for every head trained
after.  That pass is the slowest step of chapters 4 to 6 (about 45 seconds for
the 3,781 photos at 160 px on a 2-core CPU), so this module runs it once per
image size and keeps the result in the data cache for all three chapters and
for re-runs.

One pass stores two outputs per photo:

- ``pooled``: the global-average-pooled top activations (1,280 numbers), the
  input of chapter 4's classifiers;
- ``trunk``: the output of :data:`TRUNK_LAYER`, the last layer that stays frozen
  when chapter 5 fine-tunes the top of the network.

A cache file that cannot be read or does not match what is expected (wrong
shapes, another weights file, a different number of photos) is computed again
and replaced atomically; it is derived data, so nothing is lost.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.data import CLOTHING_CLASSES, CLOTHING_COUNTS, CLOTHING_SPLITS, cache_dir, load_clothing
from helpers.pretrained import WEIGHTS_SHA256, EfficientNetLite0

__all__ = ["TRUNK_LAYER", "ClothingFeatures", "clothing_features", "features_path"]

#: Output of the last block kept frozen in chapter 5 (block 6's last repeat; a chain of layers follows it).
TRUNK_LAYER = "block6d_add"
#: Bump when the way features are computed changes, so that old cache files are not used.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClothingFeatures:
    """Features of one split, in the order of ``load_clothing(split, shuffle=False)``."""

    pooled: np.ndarray  # (photos, 1280) float32
    trunk: np.ndarray  # (photos, h, w, 192) float32, h = w = image_size / 32
    labels: np.ndarray  # (photos,) int class indices into CLOTHING_CLASSES


def features_path(split: str, image_size: int) -> Path:
    """Where the features of ``split`` at ``image_size`` pixels are cached."""
    return cache_dir() / "features" / f"efficientnet_lite0-v{FORMAT_VERSION}-{image_size}px-{split}.npz"


def _expected_count(split: str) -> int:
    index = CLOTHING_SPLITS.index(split)
    return sum(counts[index] for counts in CLOTHING_COUNTS.values())


def _read(path: Path, split: str, image_size: int) -> ClothingFeatures | None:
    """The cached features, or None if the file is missing, unreadable or not what is expected."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            found = ClothingFeatures(stored["pooled"], stored["trunk"], stored["labels"])
            weights = str(stored["weights_sha256"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    side = image_size // 32
    count = _expected_count(split)
    expected = {"pooled": (count, 1280), "trunk": (count, side, side, 192), "labels": (count,)}
    if weights != WEIGHTS_SHA256 or any(getattr(found, k).shape != shape for k, shape in expected.items()):
        return None
    return found


def _compute(split: str, image_size: int) -> ClothingFeatures:
    import keras

    base = EfficientNetLite0(include_top=False, input_shape=(image_size, image_size, 3), pooling="avg")
    both = keras.Model(base.input, [base.output, base.get_layer(TRUNK_LAYER).output])
    dataset = load_clothing(split, image_size=(image_size, image_size), shuffle=False)
    pooled, trunk = both.predict(dataset, verbose=0)  # predict uses the images and ignores the labels
    labels = np.array([CLOTHING_CLASSES.index(Path(p).parent.name) for p in dataset.file_paths])
    return ClothingFeatures(pooled, trunk, labels)


def _write(path: Path, features: ClothingFeatures) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, pooled=features.pooled, trunk=features.trunk, labels=features.labels,
                     weights_sha256=np.str_(WEIGHTS_SHA256))
        os.replace(partial, path)  # readers see the old file or the whole new one
    finally:
        Path(partial).unlink(missing_ok=True)


def clothing_features(split: str, image_size: int = 160) -> ClothingFeatures:
    """ImageNet EfficientNet-Lite0 features of one clothing split, from the cache or computed now.

    Images are resized to ``image_size`` pixels square (a multiple of 32) by
    :func:`helpers.data.load_clothing`, in its unshuffled order.
    """
    if split not in CLOTHING_SPLITS:
        raise ValueError(f"split must be one of {CLOTHING_SPLITS}, not {split!r}")
    if image_size % 32 or image_size <= 0:
        raise ValueError(f"image_size must be a positive multiple of 32, not {image_size}")
    path = features_path(split, image_size)
    cached = _read(path, split, image_size)
    if cached is not None:
        return cached
    features = _compute(split, image_size)
    _write(path, features)
    return features
