"""Notebook conventions a reader relies on: setup cell, Colab install, exercises."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import types

import pytest
from portable_notebooks import solution_text, tags, to_myst


def _setup_cell(notebook) -> str:
    return next(c.source for c in notebook.cells if c.cell_type == "code")


def _colab_block(notebook) -> ast.Module:
    """The ``if "google.colab" in sys.modules:`` statement of the first code cell."""
    tree = ast.parse(_setup_cell(notebook))
    for node in tree.body:
        if isinstance(node, ast.If) and "google.colab" in ast.unparse(node.test):
            return ast.fix_missing_locations(
                ast.Module(body=[ast.Import(names=[ast.alias("sys")]), node], type_ignores=[])
            )
    pytest.fail('the first code cell has no `if "google.colab" in sys.modules:` install block')


def _run_colab_block(notebook, monkeypatch, *, in_colab: bool, helpers_installed: bool) -> list:
    calls: list = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a[0]))
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: calls.append(a[0]))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: real_find_spec(name, *a) if helpers_installed or name != "helpers" else None,
    )
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(_colab_block(notebook), "<colab cell>", "exec"), {})
    return calls


def test_setup_cell_quiets_tensorflow_before_importing_it_and_seeds_once(notebook):
    source = _setup_cell(notebook)
    first_import = min(i for i in (source.find("import keras"), source.find("import tensorflow")) if i >= 0)
    for setting in ('os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"', 'os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"'):
        assert 0 <= source.find(setting) < first_import, f"the setup cell sets {setting} before importing Keras"
    assert source.count("keras.utils.set_random_seed(") == 1


def test_colab_install_is_a_no_op_outside_colab(notebook, monkeypatch):
    assert _run_colab_block(notebook, monkeypatch, in_colab=False, helpers_installed=False) == []


def test_colab_install_is_a_no_op_when_helpers_is_present(notebook, monkeypatch):
    assert _run_colab_block(notebook, monkeypatch, in_colab=True, helpers_installed=True) == []


def test_colab_installs_helpers_from_the_configured_repository(notebook, monkeypatch, book_config):
    calls = _run_colab_block(notebook, monkeypatch, in_colab=True, helpers_installed=False)
    assert len(calls) == 1
    command = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert f"git+{book_config['repository']['url']}" in command


def test_no_colab_only_apis(notebook):
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "files.upload" not in code and "drive.mount" not in code


INDENTED_CODE = re.compile(r"\n\n(    \S.*\n?)+")


def test_at_least_three_exercises_each_with_a_hidden_solution(notebook):
    """In the book: each exercise an {exercise}, its solution a dropdown right after it."""
    book = to_myst(notebook)
    text = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    exercises = text.count("```{exercise}")
    assert exercises >= 3 and text.count("```{solution-start}") == exercises == text.count("```{solution-end}")
    assert text.count(":class: dropdown") == exercises, "solutions are hidden until the reader opens them"


def test_solution_code_runs_as_executed_cells(notebook):
    """A solution's code lives in code cells tagged ``solution``, not in its prose.

    Those cells run with the chapter (under nbval and ``make execute``), so a solution
    that raises fails the suite; code pasted into a solution's prose would not run.
    """
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and "solution" in tags(cell):
            body = solution_text(cell.source)
            assert "```python" not in body and "```{code" not in body, f"cell {index}: code in a solution's text"
            assert not INDENTED_CODE.search("\n\n" + body), (
                f"cell {index}: an indented code block in a solution; make it a code cell tagged solution"
            )


def test_no_claim_is_checked_where_readers_cannot_see_it(notebook):
    hidden = {"hide-output", "remove-output", "hide-cell", "remove-cell"}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and hidden & set(cell.metadata.get("tags", [])):
            assert not re.search(r"\bcheck(_close|_difference)?\(", cell.source), (
                f"cell {index} checks a claim in a cell whose output is hidden"
            )
