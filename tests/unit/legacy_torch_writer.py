"""Write PyTorch legacy ``.pth`` files without PyTorch, to craft test inputs.

Stand-in ``torch`` modules are registered only while a file is pickled, so
that pickle records the same global names a real ``torch.save`` does.  Tests
of hostile input describe tensors with :class:`TensorView`, whose fields are
pickled as given (a negative stride, a shape that is a string…).
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import struct
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_NAMES = {
    np.dtype(name): storage
    for name, storage in [
        ("float32", "FloatStorage"),
        ("float64", "DoubleStorage"),
        ("float16", "HalfStorage"),
        ("int64", "LongStorage"),
        ("int32", "IntStorage"),
        ("int16", "ShortStorage"),
        ("int8", "CharStorage"),
        ("uint8", "ByteStorage"),
        ("bool", "BoolStorage"),
    ]
}


@dataclass
class TensorView:
    """A tensor as the file describes it: a view into one storage.  ``None`` means "as the array is"."""

    storage: str
    offset: Any = 0
    shape: Any = None
    stride: Any = None


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The strides, in elements, PyTorch gives a contiguous tensor: sizes of 0 count as 1 (NumPy would write 0)."""
    return tuple(int(np.prod([max(n, 1) for n in shape[i + 1 :]], dtype=np.int64)) for i in range(len(shape)))


def _fresh(value: Any) -> Any:
    """A new tuple equal to ``value``: pickle would write a back-reference to a tuple it already wrote,
    which torch.save, building each tensor's size and stride anew, never does."""
    return tuple([*value]) if isinstance(value, tuple) else value


def legacy_header() -> bytes:
    """The three pickles every legacy file starts with: magic number, protocol, system information."""
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    return b"".join(pickle.dumps(obj, protocol=2) for obj in (LEGACY_MAGIC, 1001, info))


@contextlib.contextmanager
def _stand_in_torch() -> Iterator[types.SimpleNamespace]:
    """Fake ``torch`` and ``torch._utils`` modules, so that pickle writes the real global names."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage_types = {name: type(name, (), {"__module__": "torch"}) for name in STORAGE_NAMES.values()}
    for name, kind in storage_types.items():
        setattr(torch, name, kind)

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    saved = sys.modules.get("torch"), sys.modules.get("torch._utils")
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        yield types.SimpleNamespace(storage_types=storage_types, rebuild=_rebuild_tensor_v2)
    finally:
        for name, module in zip(("torch", "torch._utils"), saved):
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def legacy_file_bytes(
    storages: dict[str, np.ndarray],
    tensors: dict[str, TensorView],
    declared_sizes: dict[str, Any] | None = None,
    metadata: bool = False,
) -> bytes:
    """A legacy file holding ``storages`` (flattened) and the ``tensors`` that view them.

    ``declared_sizes`` replaces the element count a storage's persistent id
    declares (the count written before its bytes stays the true one).
    ``metadata`` attaches the per-layer versions ``model.state_dict()`` carries
    as its ``_metadata`` attribute, which pickle writes with a BUILD opcode.
    """
    flat = {key: np.array(array, order="C").reshape(-1) for key, array in storages.items()}
    declared = {key: array.size for key, array in flat.items()} | (declared_sizes or {})
    out = io.BytesIO()
    with _stand_in_torch() as torch:

        class Storage:
            def __init__(self, key: str) -> None:
                self.key = key

        class Tensor:
            def __init__(self, view: TensorView) -> None:
                self.view = view

            def __reduce__(self):
                array = storages[self.view.storage]
                shape = array.shape if self.view.shape is None else self.view.shape
                stride = contiguous_strides(shape) if self.view.stride is None else self.view.stride
                args = (
                    Storage(self.view.storage),
                    self.view.offset,
                    _fresh(shape),
                    _fresh(stride),
                    False,
                    collections.OrderedDict(),
                )
                return (torch.rebuild, args)

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, Storage):
                    kind = torch.storage_types[STORAGE_NAMES[flat[obj.key].dtype]]
                    return ("storage", kind, obj.key, "cpu", declared[obj.key], None)
                return None

        state = collections.OrderedDict((name, Tensor(view)) for name, view in tensors.items())
        if metadata:
            state._metadata = collections.OrderedDict([("", {"version": 1}), ("fc", {"version": 1})])
        out.write(legacy_header())
        Pickler(out, protocol=2).dump(state)
    pickle.dump(list(flat), out, protocol=2)
    for array in flat.values():
        out.write(struct.pack("<q", array.size))
        out.write(array.astype(array.dtype.newbyteorder("<")).tobytes())
    return out.getvalue()


def state_dict_bytes(state: dict[str, np.ndarray]) -> bytes:
    """A legacy file of ``state``, one storage per tensor, as ``torch.save(model.state_dict())`` writes it."""
    storages = {str(i): np.asarray(array) for i, array in enumerate(state.values())}
    return legacy_file_bytes(storages, {name: TensorView(key) for name, key in zip(state, storages)})


def write_legacy_state_dict(path: Path, state: dict[str, np.ndarray]) -> None:
    Path(path).write_bytes(state_dict_bytes(state))
