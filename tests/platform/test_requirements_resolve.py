"""The pinned environments install on every Python and platform the README promises, and no other.

Each case resolves a requirements file for one Python version and one platform against the
package registry with uv, from package metadata alone: nothing is downloaded whole, built or
installed, so a platform this machine is not can be checked too. This book's own package comes in
through the `-e .` line, whose dependencies uv reads from pyproject.toml without building it.
Wheels only, because a learner's install must not compile anything: a package that publishes only
a source archive fails here, and would need a deliberate exception.

The edges are checked as well, the Python just below and just above the range and the Intel Mac,
so that the range stated in the Makefile (and the README) cannot drift wrong in either direction.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uv

ROOT = Path(__file__).resolve().parents[2]
INDEX = os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or "https://pypi.org/simple"

#: The supported platforms, as uv names them: glibc 2.28 or later (TensorFlow needs 2.27) and
#: macOS from version 12, the oldest that TensorFlow's arm64 wheels run on.
PLATFORMS = {
    "linux-x86_64": "x86_64-manylinux_2_28",
    "linux-aarch64": "aarch64-manylinux_2_28",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-x86_64": "x86_64-pc-windows-msvc",
}
INTEL_MAC = "x86_64-apple-darwin"
OLDEST_MACOS = "12.0"


def _makefile_list(name: str) -> list[str]:
    """A list the Makefile states, e.g. its SUPPORTED_PYTHONS: the single source of the range."""
    match = re.search(rf"^{name} := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"the Makefile sets no {name}"
    return match.group(1).split()


def _neighbours(versions: list[str]) -> list[str]:
    """The minor versions just below and just above a contiguous range such as 3.10–3.13."""
    minors = sorted(int(v.split(".")[1]) for v in versions)
    return [f"3.{minors[0] - 1}", f"3.{minors[-1] + 1}"]


SUPPORTED = _makefile_list("SUPPORTED_PYTHONS")
COLAB_SUPPORTED = _makefile_list("COLAB_SUPPORTED_PYTHONS")


@dataclass(frozen=True)
class Case:
    requirements: str
    python: str
    target: str


@dataclass(frozen=True)
class Resolution:
    returncode: int
    pins: dict[str, str]
    error: str

    def version(self, package: str) -> str:
        return self.pins.get(package, "")


SUPPORTED_CASES = {
    (python, platform): Case("requirements.txt", python, target)
    for python in SUPPORTED
    for platform, target in PLATFORMS.items()
}
OUTSIDE_CASES = {
    python: Case("requirements.txt", python, PLATFORMS["linux-x86_64"]) for python in _neighbours(SUPPORTED)
}
INTEL_MAC_CASE = Case("requirements.txt", SUPPORTED[-1], INTEL_MAC)
COLAB_CASES = {python: Case("requirements-colab.txt", python, PLATFORMS["linux-x86_64"]) for python in COLAB_SUPPORTED}
ALL_CASES = [*SUPPORTED_CASES.values(), *OUTSIDE_CASES.values(), INTEL_MAC_CASE, *COLAB_CASES.values()]


def resolve(case: Case) -> Resolution:
    """uv's resolution of one case: the pinned versions it chose, or its explanation of failure."""
    command = [
        uv.find_uv_bin(), "pip", "compile", case.requirements,
        "--python-version", case.python, "--python-platform", case.target,
        "--only-binary", ":all:", "--default-index", INDEX,
        "--python", sys.executable, "--no-python-downloads", "--no-config",
        "--no-header", "--no-annotate", "--quiet",
    ]  # fmt: skip
    environment = {**os.environ, "MACOSX_DEPLOYMENT_TARGET": OLDEST_MACOS}
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    pins = dict(line.split("==", 1) for line in done.stdout.splitlines() if "==" in line)
    return Resolution(done.returncode, pins, done.stderr)


@pytest.fixture(scope="module")
def resolutions() -> dict[Case, Resolution]:
    """Every case, resolved side by side (each is mostly waiting on the registry)."""
    try:
        urllib.request.urlopen(f"{INDEX.rstrip('/')}/pip/", timeout=20).close()
    except (urllib.error.URLError, OSError) as error:
        pytest.skip(f"the package registry {INDEX} cannot be reached ({error}); these checks read it")
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(ALL_CASES, pool.map(resolve, ALL_CASES), strict=True))


@pytest.mark.parametrize(("python", "platform"), list(SUPPORTED_CASES), ids=[f"{p}-{q}" for p, q in SUPPORTED_CASES])
def test_resolves_with_keras_3_and_numpy_2(resolutions, python, platform):
    resolution = resolutions[SUPPORTED_CASES[python, platform]]
    assert resolution.returncode == 0, (
        f"requirements.txt does not install on Python {python}, {platform}:\n{resolution.error}"
    )
    tensorflow = "tensorflow-cpu" if platform == "linux-x86_64" else "tensorflow"
    assert resolution.version(tensorflow).startswith("2.21."), resolution.pins
    assert resolution.version("keras").startswith("3."), "the chapters are written for Keras 3"
    assert resolution.version("numpy").startswith("2."), "the chapters are written for NumPy 2"


@pytest.mark.parametrize("python", list(OUTSIDE_CASES))
def test_pythons_just_outside_the_range_do_not_resolve(resolutions, python):
    resolution = resolutions[OUTSIDE_CASES[python]]
    assert resolution.returncode != 0, f"Python {python} resolves now: add it to SUPPORTED_PYTHONS and the README"
    assert "No solution found" in resolution.error, resolution.error


def test_intel_macs_do_not_resolve_for_want_of_tensorflow(resolutions):
    resolution = resolutions[INTEL_MAC_CASE]
    assert resolution.returncode != 0, "Intel Macs resolve now: the Makefile and the README turn them away"
    assert "No solution found" in resolution.error and "tensorflow" in resolution.error, resolution.error


@pytest.mark.parametrize("python", list(COLAB_CASES))
def test_colab_lane_resolves_to_colabs_versions(resolutions, python):
    resolution = resolutions[COLAB_CASES[python]]
    assert resolution.returncode == 0, (
        f"requirements-colab.txt does not install on Python {python}:\n{resolution.error}"
    )
    chosen = {name: resolution.version(name) for name in ("tensorflow-cpu", "keras", "numpy", "pandas")}
    assert chosen == {"tensorflow-cpu": "2.19.0", "keras": "3.10.0", "numpy": "2.0.2", "pandas": "2.2.2"}
