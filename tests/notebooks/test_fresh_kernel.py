"""A chapter's first cell, run in a fresh kernel on this machine, writes nothing to stderr.

TensorFlow's C++ logging and oneDNN notices depend on the CPU (AVX-512 VNNI/BF16 machines print
"oneDNN custom operations are on" even with ``TF_CPP_MIN_LOG_LEVEL=3``), so the stored outputs
cannot show whether a learner's first cell turns red: only running it here can.  The kernel gets
the environment without any ``TF_*`` variable, so the notebook's own settings are what is tested,
not the Makefile's.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_first_cell_in_a_fresh_kernel_writes_nothing_to_stderr(notebook_path: Path, monkeypatch):
    for name in [name for name in os.environ if name.startswith("TF_")]:
        monkeypatch.delenv(name)
    notebook = nbformat.read(notebook_path, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    single = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first.source)], metadata=notebook.metadata)
    NotebookClient(
        single,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "chapters")}},
        allow_errors=False,
    ).execute()
    stderr = [
        output.text for output in single.cells[0].outputs if output.output_type == "stream" and output.name == "stderr"
    ]
    assert not stderr, f"{notebook_path.name}: the first cell wrote to stderr in a fresh kernel:\n{''.join(stderr)}"
