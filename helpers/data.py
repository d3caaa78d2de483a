"""Datasets for the book: download, verify, cache, load.

Fashion-MNIST (chapters 1–3) comes through Keras's own loader,
``keras.datasets.fashion_mnist.load_data()``, so that what a reader sees here
is what they would type anywhere else.  This module only makes sure that the
loader finds verified files in its cache before it runs:

* a system copy (Debian's ``dataset-fashion-mnist`` package puts the original
  files in ``/usr/share/datasets/fashion-mnist/``) is copied into the Keras cache
  through Keras's own ``get_file``, with its sha256 checked;
* with no system copy, ``get_file`` downloads from the Keras URL as usual;
* offline with neither, :class:`DatasetUnavailable` names the files, the URL and
  where to put them by hand.

The Keras cache lives under ``$KERAS_HOME`` (``~/.keras`` when unset); the
Makefile points it at this repository's ``data/keras`` folder.

clothing-dataset-small (chapters 4–6) is the GitHub archive of a pinned
commit, fetched into the book's cache (:func:`cache_dir`), checked by sha256
and by the number of images per split and class, extracted atomically
(:mod:`helpers.downloads`), and loaded with Keras's
``image_dataset_from_directory``.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from helpers.downloads import DownloadError, extract_zip_atomically, fetch

__all__ = [
    "CLOTHING_CLASSES",
    "clothing_dir",
    "load_clothing",
    "DatasetUnavailable",
    "cache_dir",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SHA256",
    "FASHION_MNIST_URL",
    "load_fashion_mnist",
]

FASHION_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
#: sha256 of the four original files (Zalando's release, as Keras serves them).
FASHION_MNIST_SHA256 = {
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
}
#: Class names in label order (from the dataset's documentation).
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class DatasetUnavailable(DownloadError):
    """A dataset could not be found, fetched or verified; the message says what to do."""


def _keras_home() -> Path:
    """The folder Keras caches downloads in: ``$KERAS_HOME``, else ``~/.keras`` (as Keras decides)."""
    return Path(os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))))


def _ensure_fashion_mnist_file(name: str, system_dir: Path) -> None:
    """Put one verified file into the Keras cache (a no-op when it is already there)."""
    import keras

    system_copy = system_dir / name
    origin = system_copy.resolve().as_uri() if system_copy.is_file() else FASHION_MNIST_URL + name
    cache_dir = _keras_home() / FASHION_MNIST_CACHE_SUBDIR
    if not (cache_dir / name).is_file():
        print(f"Fetching {name} from {origin}", flush=True)
    try:
        # Keras draws a progress bar with carriage returns and colour codes; one line above says enough.
        with contextlib.redirect_stdout(io.StringIO()):
            keras.utils.get_file(
                name,
                origin=origin,
                cache_dir=str(_keras_home()),
                cache_subdir=FASHION_MNIST_CACHE_SUBDIR,
                file_hash=FASHION_MNIST_SHA256[name],
                hash_algorithm="sha256",
            )
    except Exception as err:  # Keras raises bare Exception/ValueError for fetch and hash failures
        # Keras keeps a copy whose hash failed; remove it so the next run fetches afresh.
        (cache_dir / name).unlink(missing_ok=True)
        raise DatasetUnavailable(
            f"Fashion-MNIST file {name!r} could not be fetched or verified from {origin} "
            f"({err}). Download {FASHION_MNIST_URL + name} by hand and put it in "
            f"{cache_dir}/, or install the Debian package dataset-fashion-mnist "
            f"(which provides {FASHION_MNIST_SYSTEM_DIR}/{name})."
        ) from err


def load_fashion_mnist(
    system_dir: Path = FASHION_MNIST_SYSTEM_DIR,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)`` from Keras's own loader.

    Images are ``uint8`` arrays of shape ``(n, 28, 28)``; labels are integers
    0–9 naming :data:`FASHION_MNIST_CLASSES`.  The files are verified by sha256
    before the loader reads them.
    """
    import keras

    for name in FASHION_MNIST_SHA256:
        _ensure_fashion_mnist_file(name, Path(system_dir))
    return keras.datasets.fashion_mnist.load_data()


def cache_dir() -> Path:
    """The book's download cache, created on first use.

    ``$DEEP_CNNS_DATA`` when set (tests and CI point it at a pre-seeded copy);
    else the repository's ``data/`` folder when ``helpers`` runs from a checkout
    (``make lab``, ``make test``); else ``~/.cache/deep-cnns-hands-on`` (Colab, or
    ``helpers`` installed from the repository URL).
    """
    if os.environ.get("DEEP_CNNS_DATA"):
        path = Path(os.environ["DEEP_CNNS_DATA"])
    else:
        checkout_data = Path(__file__).resolve().parent.parent / "data"
        in_checkout = (checkout_data / "README.md").is_file()
        path = checkout_data if in_checkout else Path.home() / ".cache" / "deep-cnns-hands-on"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- clothing-dataset-small (chapters 4–6) -------------------------------------------------

CLOTHING_COMMIT = "11961516512414bf9f6c150a832cfd21b54a6b54"
CLOTHING_TOP_FOLDER = f"clothing-dataset-small-{CLOTHING_COMMIT}"
CLOTHING_URL = f"https://github.com/alexeygrigorev/clothing-dataset-small/archive/{CLOTHING_COMMIT}.zip"
#: sha256 of the archive as mirrored for this book; GitHub may re-pack it (see clothing_dir).
CLOTHING_ZIP_SHA256 = "1715ee7f4b4b9efa75af0b390a930fa960fc7c548eb4e589edad3b585217471f"
#: Images per split and class (train / validation / test), checked after every extraction.
CLOTHING_COUNTS = {
    "dress": (241, 32, 15), "hat": (123, 14, 12), "longsleeve": (455, 49, 72),
    "outwear": (184, 24, 38), "pants": (468, 49, 42), "shirt": (290, 29, 26),
    "shoes": (198, 26, 73), "shorts": (202, 25, 30), "skirt": (112, 12, 12),
    "t-shirt": (795, 81, 52),
}
CLOTHING_SPLITS = ("train", "validation", "test")
CLOTHING_CLASSES = tuple(sorted(CLOTHING_COUNTS))


def verify_clothing_folder(folder: Path) -> None:
    """Raise unless ``folder`` holds exactly the expected number of images per split and class."""
    problems = []
    for index, split in enumerate(CLOTHING_SPLITS):
        for name, counts in CLOTHING_COUNTS.items():
            class_dir = Path(folder) / split / name
            found = sum(1 for p in class_dir.iterdir() if p.is_file()) if class_dir.is_dir() else 0
            if found != counts[index]:
                problems.append(f"{split}/{name}: {found} images, expected {counts[index]}")
    if problems:
        raise DownloadError(f"{folder} does not hold clothing-dataset-small as expected: " + "; ".join(problems[:5]))


def clothing_dir(verify_archive_hash: bool = True) -> Path:
    """The extracted clothing-dataset-small (train/validation/test, one folder per class).

    Downloads the GitHub archive of the pinned commit on first use (or finds it
    in ``<cache>/downloads/``), checks its sha256, extracts it atomically and
    checks the number of images per split and class.  An archive that GitHub
    re-packed has other bytes but the same files: pass
    ``verify_archive_hash=False`` to rely on the content check alone.
    """
    archive = fetch(
        CLOTHING_URL,
        cache_dir() / "downloads" / f"{CLOTHING_TOP_FOLDER}.zip",
        CLOTHING_ZIP_SHA256 if verify_archive_hash else None,
    )
    return extract_zip_atomically(archive, cache_dir() / "clothing-dataset-small", CLOTHING_TOP_FOLDER,
                                  verify_clothing_folder)


def load_clothing(split: str, image_size: tuple[int, int] = (160, 160), batch_size: int = 32,
                  shuffle: bool | None = None, seed: int = 42):
    """One split of clothing-dataset-small as a ``tf.data`` dataset of (RGB 0–255 images, int labels).

    Uses ``keras.utils.image_dataset_from_directory`` — the loader a reader
    would point at their own folder of photos.  Only the training split is
    shuffled by default.
    """
    import keras

    if split not in CLOTHING_SPLITS:
        raise ValueError(f"split must be one of {CLOTHING_SPLITS}, not {split!r}")
    return keras.utils.image_dataset_from_directory(
        clothing_dir() / split,
        labels="inferred",
        label_mode="int",
        class_names=list(CLOTHING_CLASSES),
        image_size=image_size,
        batch_size=batch_size,
        shuffle=(split == "train") if shuffle is None else shuffle,
        seed=seed,
        verbose=False,
    )
