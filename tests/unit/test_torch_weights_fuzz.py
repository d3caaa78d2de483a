"""Seeded mutation fuzzing of the PyTorch legacy reader.

A small valid legacy file (written by the test writer: several dtypes, a
scalar, an empty tensor, a transposed view sharing another's storage, a ``_metadata``
BUILD) is mutated: bits flipped, bytes inserted, deleted, spliced and cut,
and the integers (shapes, strides, offsets, declared sizes, storages' counts)
replaced by extreme values.  For every case the reader must return a dict of
arrays no larger than the module's bound, or raise ``UnsafeOrCorruptWeights``:
no other error, no hang, no unbounded memory, no crash.

The cases run in a child interpreter, so that a segfault fails the test
instead of ending pytest; the child caps its own address space and each
case's time.  Every case is built from ``(SEED, case)`` alone:
``python tests/unit/test_torch_weights_fuzz.py SEED FIRST LAST PATH`` reruns
cases FIRST to LAST-1, leaving the last one in PATH.
"""

from __future__ import annotations

import json
import os
import pickle
import pickletools
import random
import resource
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from legacy_torch_writer import TensorView, legacy_file_bytes

from helpers.torch_weights import MAX_OUTPUT_RATIO, UnsafeOrCorruptWeights, read_legacy_state_dict

SEED = 20_240_612
CASES = 4_000
#: A case takes about a millisecond; this only stops a hang, on however busy a machine.
CASE_TIME_LIMIT_S = 10
#: Address space of the child: a few times what Python and NumPy need, far below what an unbounded allocation wants.
MEMORY_LIMIT_BYTES = 1 << 30
#: The whole child, for a hang the per-case alarm cannot interrupt (one inside C code).
RUN_TIME_LIMIT_S = 300

REPOSITORY = Path(__file__).resolve().parents[2]

#: Values no honest shape, stride, offset or size holds, and the edges around them.
EXTREME_INTS = (0, 1, -1, 2, 255, 2**31 - 1, -(2**31), 2**32, 2**62, 2**63 - 1, -(2**63), 2**64, -(2**100), 2**2000)


def _seed_storages() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "0": rng.normal(size=(2, 1, 3, 3)).astype(np.float32),
        "1": np.array(3, dtype=np.int64),
        "2": rng.normal(size=(2, 3)).astype(np.float16),
        "3": np.array([True, False, True, True]),
        "4": np.zeros((0, 5), dtype=np.float64),
    }


def seed_file() -> bytes:
    """The valid file every case mutates."""
    views = {
        "conv.weight": TensorView("0"),
        "bn.num_batches_tracked": TensorView("1"),
        "fc.weight": TensorView("2"),
        "fc.weight_t": TensorView("2", 0, (3, 2), (1, 3)),
        "mask": TensorView("3", 1, (3,), (1,)),
        "empty": TensorView("4"),
    }
    return legacy_file_bytes(_seed_storages(), views, metadata=True)


_INT_OPCODES = {"BININT", "BININT1", "BININT2", "LONG1"}


def _int_fields(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every integer in the seed file: each pickled int, and each storage's int64 count."""
    fields, pos = [], 0
    for _ in range(5):  # the five pickles
        ops = list(pickletools.genops(data[pos:]))
        fields += [(pos + at, pos + ops[i + 1][2]) for i, (op, _, at) in enumerate(ops) if op.name in _INT_OPCODES]
        pos += ops[-1][2] + 1
    for array in _seed_storages().values():  # the storages' data, in the order the writer puts them
        fields.append((pos, pos + 8))
        pos += 8 + array.nbytes
    assert pos == len(data)
    return fields


def _encode_int(value: int) -> bytes:
    if -(2**31) <= value < 2**31:
        return pickle.BININT + struct.pack("<i", value)
    raw = value.to_bytes(value.bit_length() // 8 + 1, "little", signed=True)
    return pickle.LONG1 + bytes([len(raw)]) + raw


Mutation = Callable[[random.Random, bytearray, list[tuple[int, int]]], None]


def _flip_bits(rng: random.Random, data: bytearray, _: list) -> None:
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _insert_bytes(rng: random.Random, data: bytearray, _: list) -> None:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.randbytes(rng.randint(1, 8))


def _delete_bytes(rng: random.Random, data: bytearray, _: list) -> None:
    at = rng.randrange(len(data))
    del data[at : at + rng.randint(1, 16)]


def _splice(rng: random.Random, data: bytearray, _: list) -> None:
    start = rng.randrange(len(data))
    chunk = bytes(data[start : start + rng.randint(1, 64)])
    at = rng.randrange(len(data) + 1)
    data[at : at + (len(chunk) if rng.random() < 0.5 else 0)] = chunk


def _cut(rng: random.Random, data: bytearray, _: list) -> None:
    del data[rng.randrange(len(data)) :]


def _extreme_int(rng: random.Random, data: bytearray, fields: list[tuple[int, int]]) -> None:
    start, end = rng.choice(fields)
    if end > len(data):
        return
    value = rng.choice(EXTREME_INTS)
    if data[start] in pickle.BININT + pickle.BININT1 + pickle.BININT2 + pickle.LONG1:
        data[start:end] = _encode_int(value)
    else:  # a storage's int64 element count
        data[start:end] = struct.pack("<q", max(-(2**63), min(value, 2**63 - 1)))


MUTATIONS: tuple[Mutation, ...] = (_flip_bits, _insert_bytes, _delete_bytes, _splice, _cut, _extreme_int, _extreme_int)


def mutated_file(seed: int, case: int, original: bytes, fields: list[tuple[int, int]]) -> bytes:
    """Case ``case`` of run ``seed``: one to three mutations of ``original``, the same every time."""
    rng = random.Random(f"{seed}:{case}")
    data = bytearray(original)
    for _ in range(rng.randint(1, 3)):
        if data:
            rng.choice(MUTATIONS)(rng, data, fields)
    return bytes(data)


class _CaseTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _CaseTimeout


def _outcome(path: Path, size: int) -> str:
    """ "returned" (a bounded dict of arrays) or "refused" (UnsafeOrCorruptWeights); else what went wrong."""
    signal.setitimer(signal.ITIMER_REAL, CASE_TIME_LIMIT_S)
    try:
        state = read_legacy_state_dict(path)
    except UnsafeOrCorruptWeights:
        return "refused"
    except _CaseTimeout:
        return f"still running after {CASE_TIME_LIMIT_S} s"
    except Exception as err:  # any other error is what the fuzzer looks for
        return f"{type(err).__name__}: {str(err)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if not isinstance(state, dict) or not all(type(k) is str and type(v) is np.ndarray for k, v in state.items()):
        return "returned something other than a dict of named arrays"
    if sum(array.nbytes for array in state.values()) > MAX_OUTPUT_RATIO * size:
        return "returned more bytes of arrays than the bound allows"
    return "returned"


def run_cases(seed: int, first: int, last: int, path: Path) -> dict:
    """Run cases ``first`` to ``last - 1``; the case about to run is written to stderr, for a crash report."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    signal.signal(signal.SIGALRM, _on_alarm)
    original = seed_file()
    fields = _int_fields(original)
    summary: dict = {"cases": 0, "returned": 0, "refused": 0, "failures": []}
    for case in range(first, last):
        data = mutated_file(seed, case, original, fields)
        path.write_bytes(data)
        print(case, file=sys.stderr, flush=True)
        outcome = _outcome(path, len(data))
        summary["cases"] += 1
        if outcome in ("returned", "refused"):
            summary[outcome] += 1
        else:
            summary["failures"].append({"case": case, "problem": outcome})
    return summary


def test_mutated_files_are_read_or_refused_and_nothing_else(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, str(SEED), "0", str(CASES), str(tmp_path / "case.pth")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIME_LIMIT_S, env=env)
    last_case = (done.stderr.split() or ["none"])[-1]
    assert done.returncode == 0, f"the reader crashed (exit status {done.returncode}) on case {last_case}"
    summary = json.loads(done.stdout)
    assert summary["failures"] == []
    assert summary["cases"] == CASES
    assert summary["returned"] > 0 and summary["refused"] > 0, "the mutations should reach both outcomes"


if __name__ == "__main__":
    seed_arg, first_arg, last_arg, path_arg = sys.argv[1:]
    print(json.dumps(run_cases(int(seed_arg), int(first_arg), int(last_arg), Path(path_arg))))
