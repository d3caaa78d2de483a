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
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

__all__ = [
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


class DatasetUnavailable(RuntimeError):
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
