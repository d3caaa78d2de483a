"""The code is formatted: helpers and tests at 120 characters, the chapters at 88.

The chapters' limit is the width of the book's code boxes at desktop width (chapters/ruff.toml);
`ruff format` cannot split strings, comments or docstrings, so the browser test
(tests/book/test_site.py) checks the rendered pages as well.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_format_would_change_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"run `ruff format .` — it would reformat:\n{result.stdout}{result.stderr}"
