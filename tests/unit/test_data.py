"""Fashion-MNIST through Keras's own loader: system copy, cache, corrupt and missing files.

Keras reads ``$KERAS_HOME`` once, when it is imported, so each scenario runs in
a fresh interpreter with its own empty cache.  The "offline" scenarios point
the download URL at a closed local port, so they behave the same with or
without internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.data import FASHION_MNIST_SHA256, FASHION_MNIST_SYSTEM_DIR

CLOSED_PORT_URL = "http://127.0.0.1:9/"

needs_system_copy = pytest.mark.skipif(
    not FASHION_MNIST_SYSTEM_DIR.is_dir(),
    reason="Debian package dataset-fashion-mnist not installed (.ci/run installs it)",
)


def run_scenario(tmp_path: Path, system_dir: Path, body: str) -> dict:
    """Run ``body`` in a fresh interpreter with KERAS_HOME under tmp_path; return its JSON."""
    script = (
        textwrap.dedent(
            f"""
        import json, os
        from pathlib import Path
        import helpers.data as data
        data.FASHION_MNIST_URL = {CLOSED_PORT_URL!r}
        system_dir = Path({str(system_dir)!r})
        cache = Path(os.environ["KERAS_HOME"]) / "datasets" / "fashion-mnist"
        result = {{}}
        """
        )
        + textwrap.dedent(body)
        + "\nprint('RESULT' + json.dumps(result))\n"
    )
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def link_system_copy(target: Path) -> Path:
    target.mkdir()
    for name in FASHION_MNIST_SHA256:
        (target / name).symlink_to(FASHION_MNIST_SYSTEM_DIR / name)
    return target


@needs_system_copy
def test_loads_from_system_copy_then_from_cache_and_repairs_a_corrupt_cache(tmp_path):
    system_dir = link_system_copy(tmp_path / "system")
    result = run_scenario(
        tmp_path,
        system_dir,
        """
        (x, y), (xt, yt) = data.load_fashion_mnist(system_dir)
        result["shapes"] = [list(x.shape), list(y.shape), list(xt.shape), list(yt.shape)]
        result["dtype"] = str(x.dtype)
        result["labels"] = sorted(set(y.tolist()))
        first = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
        data.load_fashion_mnist(system_dir)
        result["recopied"] = first != {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
        (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
        (_, _), (_, yt2) = data.load_fashion_mnist(system_dir)
        result["repaired"] = yt2.tolist() == yt.tolist()
        """,
    )
    assert result["shapes"] == [[60000, 28, 28], [60000], [10000, 28, 28], [10000]]
    assert result["dtype"] == "uint8"
    assert result["labels"] == list(range(10))
    assert result["recopied"] is False
    assert result["repaired"] is True


def test_offline_without_any_copy_names_file_url_and_destination(tmp_path):
    system_dir = tmp_path / "no-system-copy"
    result = run_scenario(
        tmp_path,
        system_dir,
        """
        try:
            data.load_fashion_mnist(system_dir)
        except data.DatasetUnavailable as err:
            result["message"] = str(err)
        result["cached"] = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
        """,
    )
    message = result["message"]
    assert "train-labels-idx1-ubyte.gz" in message
    assert CLOSED_PORT_URL + "train-labels-idx1-ubyte.gz" in message
    assert str(tmp_path / "keras" / "datasets" / "fashion-mnist") in message
    assert "dataset-fashion-mnist" in message
    assert result["cached"] == []


@needs_system_copy
def test_truncated_system_copy_is_refused_and_leaves_nothing_behind(tmp_path):
    system_dir = link_system_copy(tmp_path / "system")
    name = "train-images-idx3-ubyte.gz"
    (system_dir / name).unlink()
    (system_dir / name).write_bytes((FASHION_MNIST_SYSTEM_DIR / name).read_bytes()[:100_000])
    result = run_scenario(
        tmp_path,
        system_dir,
        f"""
        try:
            data.load_fashion_mnist(system_dir)
        except data.DatasetUnavailable as err:
            result["message"] = str(err)
        result["partial_left"] = (cache / {name!r}).exists()
        """,
    )
    assert name in result["message"]
    assert "verified" in result["message"]
    assert result["partial_left"] is False
