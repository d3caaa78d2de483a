"""EfficientNet-Lite0 features of clothing-dataset-small, computed once and kept on disk.

Chapter 4 shows feature extraction itself: a frozen ImageNet network run once
over every photo (``base.predict``), its outputs reused for every head trained
after.  That pass is the slowest step of chapters 4 to 6 (about 45 seconds for
the 3,781 photos at 160 px on a 2-core CPU, about 2 minutes at 288 px), so this
module runs it once per image size and keeps the result in the data cache for
all three chapters and for re-runs.  ``python -m helpers.features`` (``make
features``) computes every set the chapters use, with progress, ahead of time.

One pass stores two outputs per photo:

- ``pooled``: the global-average-pooled top activations (1,280 numbers), the
  input of chapter 4's classifiers;
- ``trunk``: the output of :data:`TRUNK_LAYER`, the last layer that stays frozen
  when chapter 5 fine-tunes the top of the network.

``flipped=True`` gives the same for the photos mirrored left to right: the
one augmentation that costs a single extra pass, because a frozen network's
features of a fixed transformation can be cached like any others.

A cache file that cannot be read or does not match what is expected (wrong
shapes or dtypes, another weights file, labels out of range, values that are
not finite) is computed again and replaced atomically; it is derived data, so
nothing is lost.  Array headers are checked before any array is read, so a
damaged header cannot make the reader allocate what it claims.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.data import CLOTHING_CLASSES, CLOTHING_COUNTS, CLOTHING_SPLITS, cache_dir, load_clothing
from helpers.pretrained import WEIGHTS_SHA256, EfficientNetLite0

__all__ = ["CHAPTER_FEATURES", "TRUNK_LAYER", "ClothingFeatures", "clothing_features", "features_path"]

#: Output of the last block kept frozen in chapter 5 (block 6's last repeat; a chain of layers follows it).
TRUNK_LAYER = "block6d_add"
TRUNK_CHANNELS = 192
POOLED_CHANNELS = 1280
#: Bump when the way features are computed changes, so that old cache files are not used.
FORMAT_VERSION = 1
#: (image size, flipped) of every feature set chapters 4 to 6 read: chapter 4's input-size study,
#: and the chosen size with its mirrored photos.
CHAPTER_FEATURES = ((96, False), (160, False), (224, False), (288, False), (288, True))


@dataclass(frozen=True)
class ClothingFeatures:
    """Features of one split, in the order of ``load_clothing(split, shuffle=False)``."""

    pooled: np.ndarray  # (photos, 1280) float32
    trunk: np.ndarray  # (photos, h, w, 192) float32, h = w = image_size / 32
    labels: np.ndarray  # (photos,) int class indices into CLOTHING_CLASSES


def features_path(split: str, image_size: int, flipped: bool = False) -> Path:
    """Where the features of ``split`` at ``image_size`` pixels (mirrored if ``flipped``) are cached."""
    mirrored = "-flipped" if flipped else ""
    return cache_dir() / "features" / f"efficientnet_lite0-v{FORMAT_VERSION}-{image_size}px{mirrored}-{split}.npz"


def _expected_count(split: str) -> int:
    index = CLOTHING_SPLITS.index(split)
    return sum(counts[index] for counts in CLOTHING_COUNTS.values())


def _expected_headers(split: str, image_size: int) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
    """Shape and accepted dtype kinds of every array in a cache file."""
    count, side = _expected_count(split), image_size // 32
    return {
        "pooled": ((count, POOLED_CHANNELS), ("f4",)),
        "trunk": ((count, side, side, TRUNK_CHANNELS), ("f4",)),
        "labels": ((count,), ("i8", "i4")),
        "weights_sha256": ((), ("U64",)),
    }


def _headers_match(path: Path, split: str, image_size: int) -> bool:
    """Whether every array header in the file says what is expected: read before any array is allocated."""
    expected = _expected_headers(split, image_size)
    with zipfile.ZipFile(path) as archive:
        if sorted(archive.namelist()) != sorted(f"{name}.npy" for name in expected):
            return False
        for name, (shape, dtypes) in expected.items():
            with archive.open(f"{name}.npy") as member:
                version = np.lib.format.read_magic(member)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read_header is None:
                    return False
                found_shape, fortran_order, dtype = read_header(member)
                if found_shape != shape or fortran_order or dtype.str.lstrip("<|=") not in dtypes:
                    return False
    return True


def _read(path: Path, split: str, image_size: int) -> ClothingFeatures | None:
    """The cached features, or None if the file is missing, unreadable or not what is expected."""
    try:
        if not _headers_match(path, split, image_size):
            return None
        with np.load(path, allow_pickle=False) as stored:
            found = ClothingFeatures(stored["pooled"], stored["trunk"], stored["labels"])
            weights = str(stored["weights_sha256"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    labels_valid = found.labels.min(initial=0) >= 0 and found.labels.max(initial=0) < len(CLOTHING_CLASSES)
    finite = np.isfinite(found.pooled).all() and np.isfinite(found.trunk).all()
    if weights != WEIGHTS_SHA256 or not labels_valid or not finite:
        return None
    return found


def _progress(label: str, batches: int):
    """A Keras callback that prints one line per quarter of a long prediction pass (not a progress bar)."""
    import keras

    class QuarterLines(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            self.started, self.next_quarter = time.perf_counter(), 1

        def on_predict_batch_end(self, batch, logs=None):
            while self.next_quarter <= 4 and batch + 1 >= self.next_quarter * batches / 4:
                print(
                    f"{label}: {self.next_quarter * 25}% ({time.perf_counter() - self.started:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                self.next_quarter += 1

    return QuarterLines()


def _compute(split: str, image_size: int, flipped: bool = False) -> ClothingFeatures:
    import keras

    base = EfficientNetLite0(include_top=False, input_shape=(image_size, image_size, 3), pooling="avg")
    both = keras.Model(base.input, [base.output, base.get_layer(TRUNK_LAYER).output])
    dataset = load_clothing(split, image_size=(image_size, image_size), shuffle=False)
    labels = np.array([CLOTHING_CLASSES.index(Path(p).parent.name) for p in dataset.file_paths])
    if flipped:
        dataset = dataset.map(lambda images, labels: (images[:, :, ::-1, :], labels))  # mirror the width axis
    label = f"features of the {split} photos at {image_size} px{', flipped' if flipped else ''}"
    pooled, trunk = both.predict(
        dataset,
        verbose=0,  # predict uses the images and ignores the labels
        callbacks=[_progress(label, -(-_expected_count(split) // 32))],
    )
    return ClothingFeatures(pooled, trunk, labels)


def _write(path: Path, features: ClothingFeatures) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(
                out,
                pooled=features.pooled,
                trunk=features.trunk,
                labels=features.labels,
                weights_sha256=np.str_(WEIGHTS_SHA256),
            )
        os.replace(partial, path)  # readers see the old file or the whole new one
    finally:
        Path(partial).unlink(missing_ok=True)


def clothing_features(split: str, image_size: int = 160, flipped: bool = False) -> ClothingFeatures:
    """ImageNet EfficientNet-Lite0 features of one clothing split, from the cache or computed now.

    Images are resized to ``image_size`` pixels square (a multiple of 32) by
    :func:`helpers.data.load_clothing`, in its unshuffled order, and mirrored
    left to right first if ``flipped``.  Computing prints a line per quarter
    of the pass to stderr.
    """
    if split not in CLOTHING_SPLITS:
        raise ValueError(f"split must be one of {CLOTHING_SPLITS}, not {split!r}")
    if image_size % 32 or image_size <= 0:
        raise ValueError(f"image_size must be a positive multiple of 32, not {image_size}")
    path = features_path(split, image_size, flipped)
    cached = _read(path, split, image_size)
    if cached is not None:
        return cached
    features = _compute(split, image_size, flipped)
    _write(path, features)
    return features


def main() -> None:
    """Compute every feature set the chapters read (:data:`CHAPTER_FEATURES`), timing each."""
    for image_size, flipped in CHAPTER_FEATURES:
        for split in CLOTHING_SPLITS:
            started = time.perf_counter()
            clothing_features(split, image_size, flipped)
            mirrored = ", flipped" if flipped else ""
            print(
                f"{split:>10} at {image_size} px{mirrored}: ready in {time.perf_counter() - started:.0f} s", flush=True
            )


if __name__ == "__main__":
    main()
