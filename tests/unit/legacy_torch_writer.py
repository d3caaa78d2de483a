"""Write PyTorch legacy ``.pth`` files without PyTorch, to craft test inputs.

Stand-in ``torch`` modules are registered only while a file is written, so
that pickle records the same global names a real ``torch.save`` does.
"""

from __future__ import annotations

import collections
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np

STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage"}


def write_legacy_state_dict(path: Path, state: dict[str, np.ndarray]) -> None:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    storage_types = {}
    for name in STORAGE_NAMES.values():
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage_types[name])

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils

    class Storage:
        def __init__(self, key: str, array: np.ndarray) -> None:
            self.key, self.array = key, np.array(array, order="C")

    class Tensor:
        def __init__(self, storage: Storage) -> None:
            self.storage = storage

        def __reduce__(self):
            shape = self.storage.array.shape
            strides = tuple(s // self.storage.array.itemsize for s in self.storage.array.strides)
            return (_rebuild_tensor_v2, (self.storage, 0, shape, strides, False, collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                kind = storage_types[STORAGE_NAMES[obj.array.dtype]]
                return ("storage", kind, obj.key, "cpu", obj.array.size, None)
            return None

    storages = [Storage(str(i), array) for i, array in enumerate(state.values())]
    saved = sys.modules.get("torch"), sys.modules.get("torch._utils")
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        with open(path, "wb") as f:
            pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
            pickle.dump(1001, f, protocol=2)
            pickle.dump({"protocol_version": 1001, "little_endian": True}, f, protocol=2)
            Pickler(f, protocol=2).dump(collections.OrderedDict(zip(state, map(Tensor, storages))))
            pickle.dump([s.key for s in storages], f, protocol=2)
            for s in storages:
                f.write(struct.pack("<q", s.array.size))
                f.write(s.array.astype(s.array.dtype.newbyteorder("<")).tobytes())
    finally:
        for name, module in zip(("torch", "torch._utils"), saved):
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
