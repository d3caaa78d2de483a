"""The PyTorch legacy reader: real file, round trip, and hostile or damaged files."""

from __future__ import annotations

import pickle
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from legacy_torch_writer import (
    TensorView,
    legacy_file_bytes,
    legacy_header,
    write_legacy_state_dict,
)

from helpers.pretrained import source_weights_path
from helpers.torch_weights import (
    MAX_MEMO_ENTRIES,
    MAX_NESTING,
    MAX_PICKLE_BYTES,
    UnsafeOrCorruptWeights,
    read_legacy_state_dict,
)

REPOSITORY = Path(__file__).resolve().parents[2]


def test_reads_the_efficientnet_lite0_file():
    state = read_legacy_state_dict(source_weights_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_conv_stem.weight"].dtype == np.float32
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].shape == ()
    assert np.isfinite(state["_fc.weight"]).all()


def test_round_trip_of_a_crafted_file(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "conv.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        "fc.weight": np.asfortranarray(rng.normal(size=(5, 2)).astype(np.float32)),
        "empty": np.zeros((0, 5), dtype=np.float16),
        "mask": np.array([True, False, True]),
    }
    path = tmp_path / "small.pth"
    write_legacy_state_dict(path, state)
    loaded = read_legacy_state_dict(path)
    assert list(loaded) == list(state)
    for name, value in state.items():
        assert loaded[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded[name], value)


def test_a_state_dicts_metadata_is_read_past(tmp_path):
    path = tmp_path / "with-metadata.pth"
    path.write_bytes(legacy_file_bytes({"s": np.arange(4, dtype=np.float32)}, {"w": TensorView("s")}, metadata=True))
    np.testing.assert_array_equal(read_legacy_state_dict(path)["w"], np.arange(4, dtype=np.float32))


# -- hostile and damaged files: every refusal is an UnsafeOrCorruptWeights that names the file --


def _refusal(path: Path) -> str:
    """The message reading ``path`` is refused with, checked to name the file."""
    with pytest.raises(UnsafeOrCorruptWeights) as info:
        read_legacy_state_dict(path)
    message = str(info.value)
    assert str(path) in message
    return message


def _crafted(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "crafted.pth"
    path.write_bytes(data)
    return path


def _outcome_in_child(path: Path, timeout_s: float = 60) -> str:
    """How reading ``path`` ends in a fresh interpreter, so that a crash or hang fails the test, not pytest."""
    code = (
        "import sys\n"
        "from helpers.torch_weights import UnsafeOrCorruptWeights, read_legacy_state_dict\n"
        "try:\n    read_legacy_state_dict(sys.argv[1])\n"
        "except UnsafeOrCorruptWeights as err:\n    print('refused:', err)\n"
        "else:\n    print('returned')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"still running after {timeout_s} s"
    if done.returncode:
        return f"died with status {done.returncode}: {done.stderr[-300:]}"
    return done.stdout.strip()


def test_a_disallowed_global_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    message = _refusal(_crafted(tmp_path, legacy_header() + pickle.dumps(Exploit(), protocol=2)))
    assert re.search(r"refusing to load (posix|os)\.system", message)
    assert not marker.exists()


def test_a_plain_pickle_with_a_disallowed_global_is_refused_too(tmp_path):
    path = _crafted(tmp_path, pickle.dumps(eval, protocol=2))
    assert re.search(r"refusing to load (__builtin__|builtins)\.eval", _refusal(path))


def test_truncated_file_is_a_clear_error(tmp_path):
    raw = source_weights_path().read_bytes()
    for cut in (10, 5_000, len(raw) // 2, len(raw) - 1):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(raw[:cut])
        assert "truncated" in _refusal(path)


def test_trailing_bytes_and_wrong_magic_are_errors(tmp_path):
    path = _crafted(tmp_path, source_weights_path().read_bytes() + b"\0")
    assert "unexpected bytes" in _refusal(path)
    path.write_bytes(pickle.dumps(12345, protocol=2))
    assert "wrong magic" in _refusal(path)


def test_the_zip_format_is_named_with_what_to_do_instead(tmp_path):
    path = tmp_path / "new-style.pth"
    with zipfile.ZipFile(path, "w") as archive:  # how torch.save has written files since PyTorch 1.6
        archive.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
        archive.writestr("archive/version", "3\n")
    message = _refusal(path)
    assert "zip-format" in message
    assert "_use_new_zipfile_serialization=False" in message


_STORAGE = np.arange(8, dtype=np.float32)

#: Tensors that view an 8-element storage in ways no PyTorch file does, and the reason each is refused.
HOSTILE_VIEWS = {
    "negative stride (reads before the storage)": (TensorView("s", 0, (4,), (-1,)), "stride of 0 or less"),
    "negative stride on a size-1 dimension": (TensorView("s", 0, (1, 4), (-1, 1)), "stride of 0 or less"),
    "stride 0, 2**28 elements (1 GiB from 32 bytes)": (TensorView("s", 0, (2**28,), (0,)), "stride of 0 or less"),
    "strides 0, 2**20 x 2**20": (TensorView("s", 0, (2**20, 2**20), (0, 0)), "stride of 0 or less"),
    "more elements than stored, overlapping": (TensorView("s", 0, (4, 4), (1, 1)), "reaches past"),
    "past the end": (TensorView("s", 5, (4,), (1,)), "reaches past"),
    "stride 2**62": (TensorView("s", 0, (2,), (2**62,)), "reaches past"),
    "offset past the end of an empty view": (TensorView("s", 9, (0,), (1,)), "offset"),
    "negative size": (TensorView("s", 0, (-1,), (1,)), "negative sizes"),
    "shape as a string": (TensorView("s", 0, "ab", (1, 1)), "shape is not a tuple"),
    "shape of bools": (TensorView("s", 0, (True, True), (1, 1)), "shape is not a tuple"),
    "shape as a list": (TensorView("s", 0, [2], (1,)), "shape is not a tuple"),
    "stride of bools": (TensorView("s", 0, (2,), (True,)), "stride is not a tuple"),
    "offset as a string": (TensorView("s", "1", (2,), (1,)), "offset"),
    "offset as a bool": (TensorView("s", True, (2,), (1,)), "offset"),
    "shape and stride of different lengths": (TensorView("s", 0, (2, 2), (1,)), "does not match its strides"),
    "33 dimensions": (TensorView("s", 0, (1,) * 33, (1,) * 33), "at most 32"),
    "empty, but too large for NumPy": (TensorView("s", 0, (0, 2**62), (1, 1)), "too large"),
}


@pytest.mark.parametrize("view, reason", HOSTILE_VIEWS.values(), ids=HOSTILE_VIEWS)
def test_a_view_outside_what_pytorch_writes_is_refused(tmp_path, view, reason):
    path = _crafted(tmp_path, legacy_file_bytes({"s": _STORAGE}, {"w": view}))
    message = _refusal(path)
    assert "entry w" in message and reason in message


def test_mixed_huge_strides_neither_crash_nor_read_out_of_bounds(tmp_path):
    view = TensorView("s", 0, (2, 2), (2**40, -(2**40)))  # they sum to 0, so a naive bound check passes
    path = _crafted(tmp_path, legacy_file_bytes({"s": _STORAGE}, {"w": view}))
    assert _outcome_in_child(path).startswith("refused:")


def test_strides_of_size_0_and_size_1_dimensions_address_nothing_and_may_be_0(tmp_path):
    views = {
        "row": TensorView("s", 2, (1, 4), (0, 1)),  # PyTorch writes 0 for an expanded singleton
        "empty": TensorView("s", 0, (0, 4), (0, 1)),
        "scalar": TensorView("s", 7, (), ()),
    }
    loaded = read_legacy_state_dict(_crafted(tmp_path, legacy_file_bytes({"s": _STORAGE}, views)))
    np.testing.assert_array_equal(loaded["row"], [[2, 3, 4, 5]])
    assert loaded["empty"].shape == (0, 4)
    assert loaded["scalar"] == 7


@pytest.mark.parametrize(
    "declared, reason",
    [(-1, "declares a size"), (True, "declares a size"), (2**40, "declares a size"), (9, "different number")],
    ids=["negative", "bool", "beyond the file", "differs from the data"],
)
def test_a_storage_size_that_is_not_its_data_is_refused(tmp_path, declared, reason):
    data = legacy_file_bytes({"s": _STORAGE}, {"w": TensorView("s")}, declared_sizes={"s": declared})
    assert reason in _refusal(_crafted(tmp_path, data))


def test_a_storage_listed_twice_is_refused(tmp_path):
    data = legacy_file_bytes({"s": _STORAGE}, {"w": TensorView("s")})
    data = data.replace(pickle.dumps(["s"], protocol=2), pickle.dumps(["s", "s"], protocol=2))
    assert "disagree" in _refusal(_crafted(tmp_path, data))


def test_tied_tensors_share_a_storage_but_cannot_multiply_it_without_bound(tmp_path):
    tied = {"a": TensorView("s"), "b": TensorView("s")}
    loaded = read_legacy_state_dict(_crafted(tmp_path, legacy_file_bytes({"s": _STORAGE}, tied)))
    np.testing.assert_array_equal(loaded["a"], loaded["b"])
    many = {f"t{i}": TensorView("s") for i in range(5)}
    assert "more than 4 times" in _refusal(_crafted(tmp_path, legacy_file_bytes({"s": _STORAGE}, many)))


# -- pickles written opcode by opcode --


def _pickle(*ops: bytes) -> bytes:
    return pickle.PROTO + b"\x02" + b"".join(ops) + pickle.STOP


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    return pickle.BINUNICODE + struct.pack("<I", len(text.encode())) + text.encode()


def _put(index: int) -> bytes:
    return pickle.BINPUT + bytes([index])


def _get(index: int) -> bytes:
    return pickle.BINGET + bytes([index])


def _storage_id(storage: str, key: bytes, size: int) -> bytes:
    """The opcodes of a persistent id ``("storage", torch.<storage>, key, "cpu", size, None)``."""
    return b"".join(
        [
            pickle.MARK,
            _str("storage"),
            _global("torch", storage),
            key,
            _str("cpu"),
            pickle.BININT1 + bytes([size]),
            pickle.NONE,
            pickle.TUPLE,
            pickle.BINPERSID,
        ]
    )


def _self_sharing_lists(levels: int) -> bytes:
    """A list holding the same list twice, which holds the same list twice, …: 2**levels leaves in ~9 bytes a level."""
    ops = [pickle.EMPTY_LIST, _put(0)]
    for level in range(1, levels + 1):
        ops += [pickle.EMPTY_LIST, pickle.MARK, _get(level - 1), _get(level - 1), pickle.APPENDS, _put(level)]
    return b"".join(ops)


def test_a_self_sharing_persistent_id_is_refused_at_once(tmp_path):
    path = _crafted(tmp_path, legacy_header() + _pickle(_self_sharing_lists(40), pickle.BINPERSID))
    outcome = _outcome_in_child(path)
    assert outcome.startswith("refused:") and "refers back to a list" in outcome


def test_a_self_sharing_storage_key_is_refused_at_once(tmp_path):
    path = _crafted(tmp_path, legacy_header() + _pickle(_storage_id("FloatStorage", _self_sharing_lists(40), 1)))
    outcome = _outcome_in_child(path)
    assert outcome.startswith("refused:") and "refers back to a list" in outcome


_ORDERED_DICT = _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE

#: Pickles (read as the state dict, after a valid header) that torch.save never writes, and why each is refused.
HOSTILE_PICKLES = {
    "BUILD on a storage type": (
        _pickle(
            _global("torch", "FloatStorage"),
            pickle.EMPTY_DICT,
            _str("dtype"),
            _str("int8"),
            pickle.SETITEM,
            pickle.BUILD,
        ),
        "BUILD",
    ),
    "BUILD on the tensor-rebuilding function": (
        _pickle(
            _global("torch._utils", "_rebuild_tensor_v2"),
            pickle.EMPTY_DICT,
            _str("x"),
            pickle.NONE,
            pickle.SETITEM,
            pickle.BUILD,
        ),
        "BUILD",
    ),
    "BUILD setting a state dict's attribute other than _metadata": (
        _pickle(_ORDERED_DICT, pickle.EMPTY_DICT, _str("items"), pickle.NONE, pickle.SETITEM, pickle.BUILD),
        "BUILD",
    ),
    "OrderedDict built from items, hashed unchecked": (
        _pickle(
            _global("collections", "OrderedDict"),
            pickle.EMPTY_LIST,
            pickle.MARK,
            _str("a"),
            pickle.NONE,
            pickle.TUPLE2,
            pickle.APPENDS,
            pickle.TUPLE1,
            pickle.REDUCE,
        ),
        "arguments",
    ),
    "a dictionary key that is not a string": (
        _pickle(pickle.EMPTY_DICT, _str("a"), pickle.TUPLE1, pickle.NONE, pickle.SETITEM),
        "key is not a string",
    ),
    "a storage type called as a function": (
        _pickle(_global("torch", "FloatStorage"), pickle.EMPTY_TUPLE, pickle.REDUCE),
        "calls an object of type _StorageType",
    ),
    "a storage key that is not a string": (
        _pickle(_storage_id("FloatStorage", pickle.BININT1 + b"\x05", 1)),
        "key or location",
    ),
    "one storage declared with two types": (
        _pickle(
            pickle.EMPTY_LIST,
            pickle.MARK,
            _storage_id("FloatStorage", _str("s"), 2),
            _storage_id("LongStorage", _str("s"), 1),
            pickle.APPENDS,
        ),
        "declared twice",
    ),
    "an opcode torch.save does not write": (_pickle(pickle.BINFLOAT + struct.pack(">d", 1.0)), "opcode 0x47"),
    "two values left on the stack": (_pickle(pickle.NONE, pickle.NONE), "other than one value"),
    "lists nested deeper than the bound": (
        _pickle(pickle.EMPTY_LIST * (MAX_NESTING + 1), pickle.APPEND * MAX_NESTING),
        f"nest more than {MAX_NESTING}",
    ),
    "MARKs nested deeper than the bound": (_pickle(pickle.MARK * (MAX_NESTING + 1)), "MARKs nest"),
    "more memo entries than the bound": (
        _pickle(pickle.NONE, *(pickle.LONG_BINPUT + struct.pack("<I", i) for i in range(MAX_MEMO_ENTRIES + 1))),
        f"more than {MAX_MEMO_ENTRIES} objects",
    ),
    "a pickle longer than the bound": (
        _pickle(pickle.BINUNICODE + struct.pack("<I", MAX_PICKLE_BYTES) + b"a" * MAX_PICKLE_BYTES),
        f"longer than {MAX_PICKLE_BYTES} bytes",
    ),
}


@pytest.mark.parametrize("state_pickle, reason", HOSTILE_PICKLES.values(), ids=HOSTILE_PICKLES)
def test_a_pickle_outside_what_torch_save_writes_is_refused(tmp_path, state_pickle, reason):
    assert reason in _refusal(_crafted(tmp_path, legacy_header() + state_pickle))


def test_a_file_in_another_pickle_protocol_is_refused_with_its_number(tmp_path):
    assert "pickle protocol 4" in _refusal(_crafted(tmp_path, pickle.dumps(0x1950A86A20F9469CFC6C, protocol=4)))


def test_messages_never_show_what_the_file_holds(tmp_path):
    secret = "SECRET" * 1000
    path = _crafted(
        tmp_path, legacy_header() + _pickle(pickle.EMPTY_LIST, _str(secret), pickle.APPEND, pickle.BINPERSID)
    )
    message = _refusal(path)
    assert "SECRET" not in message and len(message) < len(str(path)) + 200


def test_the_genuine_file_still_loads_after_hostile_files(tmp_path):
    before = read_legacy_state_dict(source_weights_path())
    for state_pickle, _ in HOSTILE_PICKLES.values():
        with pytest.raises(UnsafeOrCorruptWeights):
            read_legacy_state_dict(_crafted(tmp_path, legacy_header() + state_pickle))
    after = read_legacy_state_dict(source_weights_path())
    assert list(after) == list(before)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value)
