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
commit, fetched into the book's cache (:func:`cache_dir`), checked by sha256,
extracted atomically (:mod:`helpers.downloads`), checked image by image
against the dataset's content hash, and loaded with Keras's
``image_dataset_from_directory``.  A manifest of the extracted images lets
every later load notice, in a fraction of a second, an image that was
deleted, added or changed since, and restore the folder from the archive.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np

from helpers.downloads import (
    CacheWriteError,
    DownloadError,
    Manifest,
    cache_write_error,
    content_sha256,
    extract_zip_atomically,
    fetch,
    read_manifest,
    record_files,
    remove_stale_scratch,
    sha256_of,
    write_manifest,
)

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
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _with_cache_advice(
            cache_write_error(err, path.parent) or CacheWriteError(f"cannot create the data cache {path} ({err})")
        ) from err
    return path


def _with_cache_advice(err: CacheWriteError) -> CacheWriteError:
    """``err`` with the way to move the cache: every cache write error gets the same advice."""
    return CacheWriteError(
        f"{err}. The book's data cache is chosen by the environment variable "
        "DEEP_CNNS_DATA: set it to a writable folder with about 250 MB free."
    )


# --- clothing-dataset-small (chapters 4–6) -------------------------------------------------

CLOTHING_COMMIT = "11961516512414bf9f6c150a832cfd21b54a6b54"
CLOTHING_TOP_FOLDER = f"clothing-dataset-small-{CLOTHING_COMMIT}"
CLOTHING_URL = f"https://github.com/alexeygrigorev/clothing-dataset-small/archive/{CLOTHING_COMMIT}.zip"
#: sha256 of the archive as mirrored for this book; GitHub may re-pack it (see clothing_dir).
CLOTHING_ZIP_SHA256 = "1715ee7f4b4b9efa75af0b390a930fa960fc7c548eb4e589edad3b585217471f"
#: sha256 of the dataset's images however the archive is packed: in the extracted folder,
#: ``find train validation test -type f | LC_ALL=C sort | xargs sha256sum | sha256sum``.
CLOTHING_CONTENT_SHA256 = "f8667cfe4a397f1be854d7d6c56118e4eaf6e9654ac37940e443dec3b4e55721"
#: Images per split and class (train / validation / test), checked after every extraction.
CLOTHING_COUNTS = {
    "dress": (241, 32, 15),
    "hat": (123, 14, 12),
    "longsleeve": (455, 49, 72),
    "outwear": (184, 24, 38),
    "pants": (468, 49, 42),
    "shirt": (290, 29, 26),
    "shoes": (198, 26, 73),
    "shorts": (202, 25, 30),
    "skirt": (112, 12, 12),
    "t-shirt": (795, 81, 52),
}
CLOTHING_SPLITS = ("train", "validation", "test")
CLOTHING_CLASSES = tuple(sorted(CLOTHING_COUNTS))
#: The file name endings ``keras.utils.image_dataset_from_directory`` loads (any case); it skips all other files.
KERAS_IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def clothing_images(folder: Path) -> list[str]:
    """The images Keras's loader would read from ``folder``, as paths relative to it, sorted.

    Found as the loader finds them — every file with an image ending anywhere
    below a split's class folder, hidden or not — so that what is checked is
    what is loaded, and a ``.DS_Store`` or ``Thumbs.db`` beside the photos is
    ignored.
    """
    found = []
    for split in CLOTHING_SPLITS:
        for name in CLOTHING_CLASSES:
            for root, _, files in os.walk(os.path.join(folder, split, name)):
                relative = Path(os.path.relpath(root, folder)).as_posix()  # per folder: pathlib per file is slow
                found += [f"{relative}/{f}" for f in files if f.lower().endswith(KERAS_IMAGE_SUFFIXES)]
    return sorted(found)


def verify_clothing_folder(folder: Path) -> None:
    """Raise unless ``folder`` holds exactly the expected number of images per split and class."""
    images = clothing_images(folder)
    problems = []
    for index, split in enumerate(CLOTHING_SPLITS):
        for name, counts in CLOTHING_COUNTS.items():
            found = sum(1 for image in images if image.startswith(f"{split}/{name}/"))
            if found != counts[index]:
                problems.append(f"{split}/{name}: {found} images, expected {counts[index]}")
    if problems:
        raise DownloadError(f"{folder} does not hold clothing-dataset-small as expected: " + "; ".join(problems[:5]))


def _record_verified_content(archive: Path, folder: Path) -> None:
    """Check a freshly extracted folder image by image, and write its manifest (extraction's ``verify`` step)."""
    verify_clothing_folder(folder)
    records = record_files(folder, clothing_images(folder), {})
    if (found := content_sha256(records)) != CLOTHING_CONTENT_SHA256:
        raise DownloadError(
            f"{archive} holds other images than clothing-dataset-small: their content sha256 "
            f"is {found}, expected {CLOTHING_CONTENT_SHA256}. Delete it and fetch it again."
        )
    write_manifest(folder, records, sha256_of(archive))


def _differences(found: Mapping[str, str], expected: Mapping[str, str]) -> str:
    """Which images are missing, extra or changed, a few named of each."""
    changed = sorted(name for name in found.keys() & expected.keys() if found[name] != expected[name])
    groups = (
        ("missing", sorted(expected.keys() - found.keys())),
        ("extra", sorted(found.keys() - expected.keys())),
        ("changed", changed),
    )
    return "; ".join(
        f"{len(names)} {kind} ({', '.join(names[:3])}{', …' if len(names) > 3 else ''})"
        for kind, names in groups
        if names
    )


def _damage(folder: Path, manifest: Manifest | None) -> str:
    """What is wrong with an extracted folder's images ("" when they are the dataset's).

    Checked against the manifest (a ``stat`` per image; only an image whose
    size or times changed is hashed); a folder without one, from an older
    version of this module, is hashed in full once and given one.  A
    refreshed manifest is written when it can be, to keep the next check fast.
    """
    known = manifest.files if manifest else {}
    records = record_files(folder, clothing_images(folder), known)
    if content_sha256(records) == CLOTHING_CONTENT_SHA256:
        if records != known:
            with contextlib.suppress(OSError):  # a read-only cache: correct, just slower next time
                write_manifest(folder, records, manifest.archive_sha256 if manifest else None)
        return ""
    if manifest is None:
        return "its images are not the dataset's, and it has no manifest to tell which"
    return _differences({n: r.sha256 for n, r in records.items()}, {n: r.sha256 for n, r in known.items()})


def clothing_dir(verify_archive_hash: bool = True) -> Path:
    """The extracted clothing-dataset-small (train/validation/test, one folder per class).

    Downloads the GitHub archive of the pinned commit on first use (or finds it
    in ``<cache>/downloads/``), checks its sha256, extracts it atomically and
    checks every image's content.  Later calls check the folder against the
    manifest written then, and re-extract it from the archive if an image is
    missing, extra or changed.  An archive that GitHub re-packed has other
    bytes but the same images: pass ``verify_archive_hash=False`` to rely on
    the content check alone; the archive accepted is remembered in the
    manifest, so later calls (and repairs) need no flag.
    """
    destination = cache_dir() / "clothing-dataset-small"
    remove_stale_scratch(destination)
    manifest = read_manifest(destination)
    damage = _damage(destination, manifest) if destination.is_dir() else ""
    if destination.is_dir() and not damage:
        return destination
    archive_path = cache_dir() / "downloads" / f"{CLOTHING_TOP_FOLDER}.zip"
    remembered = (manifest.archive_sha256,) if manifest and manifest.archive_sha256 else ()
    accepted = tuple(dict.fromkeys((CLOTHING_ZIP_SHA256, *remembered))) if verify_archive_hash else None
    try:
        archive = fetch(CLOTHING_URL, archive_path, accepted)
        if damage:
            print(f"{destination}: {damage}. Re-extracting it from {archive}.", flush=True)
        return extract_zip_atomically(
            archive, destination, CLOTHING_TOP_FOLDER, partial(_record_verified_content, archive), replace=bool(damage)
        )
    except CacheWriteError as err:
        raise _with_cache_advice(err) from err
    except DownloadError as err:
        if damage:
            raise DownloadError(f"{destination} needs repair ({damage}), but: {err}") from err
        raise


def load_clothing(
    split: str,
    image_size: tuple[int, int] = (160, 160),
    batch_size: int = 32,
    shuffle: bool | None = None,
    seed: int = 42,
):
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
