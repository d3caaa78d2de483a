"""The PyTorch legacy reader: real file, round trip, and hostile or damaged files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from legacy_torch_writer import write_legacy_state_dict

from helpers.pretrained import source_weights_path
from helpers.torch_weights import UnsafeOrCorruptWeights, read_legacy_state_dict


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
    }
    path = tmp_path / "small.pth"
    write_legacy_state_dict(path, state)
    loaded = read_legacy_state_dict(path)
    assert list(loaded) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded[name], value)


def _legacy_header() -> bytes:
    return b"".join(
        pickle.dumps(obj, protocol=2)
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True})
    )


def test_a_disallowed_global_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "exploit.pth"
    path.write_bytes(_legacy_header() + pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(UnsafeOrCorruptWeights, match=r"refusing to load (posix|os)\.system"):
        read_legacy_state_dict(path)
    assert not marker.exists()


def test_a_plain_pickle_with_a_disallowed_global_is_refused_too(tmp_path):
    path = tmp_path / "eval.pth"
    path.write_bytes(pickle.dumps(eval, protocol=2))
    with pytest.raises(UnsafeOrCorruptWeights, match=r"refusing to load (__builtin__|builtins)\.eval"):
        read_legacy_state_dict(path)


def test_truncated_file_is_a_clear_error(tmp_path):
    raw = source_weights_path().read_bytes()
    for cut in (10, 5_000, len(raw) // 2, len(raw) - 1):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(raw[:cut])
        with pytest.raises(UnsafeOrCorruptWeights, match="truncated"):
            read_legacy_state_dict(path)


def test_trailing_bytes_and_wrong_magic_are_errors(tmp_path):
    path = tmp_path / "trailing.pth"
    path.write_bytes(source_weights_path().read_bytes() + b"\0")
    with pytest.raises(UnsafeOrCorruptWeights, match="unexpected bytes"):
        read_legacy_state_dict(path)
    path.write_bytes(pickle.dumps(12345, protocol=2))
    with pytest.raises(UnsafeOrCorruptWeights, match="wrong magic"):
        read_legacy_state_dict(path)
