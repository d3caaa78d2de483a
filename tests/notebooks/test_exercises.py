"""Exercises read cleanly where a chapter is run, not only in the book.

JupyterLab and Colab render a chapter's Markdown as plain Markdown: any MyST
directive or role would show as raw text there, and a solution would sit in plain
view under its exercise. So the notebooks hold no MyST; the book's reader
(``_ext/portable_notebooks.py``) writes it at build time. Each solution's prose is
a closed ``<details>`` block and its code cells are collapsed by the standard
``jupyter.source_hidden``/``outputs_hidden`` metadata, and their first line is a
Colab form title (``# @title …``, ``cellView: form``), which is all JupyterLab shows
of them collapsed and all Colab's form view shows of their code.
"""

from __future__ import annotations

import re

from portable_notebooks import EXERCISE_PREFIX, exercises, tags

MYST_SYNTAX = re.compile(r"```\{|\{(cite|ref|numref|doc|eq)(:\w+)?\}`|^:(label|class):", re.MULTILINE)


def _chapter_number(notebook_path) -> int:
    return int(notebook_path.name[:2])


def test_no_myst_syntax_a_plain_markdown_renderer_would_show_raw(notebook):
    raw = [
        f"cell {i}: {m.group(0)!r}"
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "markdown"
        for m in MYST_SYNTAX.finditer(cell.source)
    ]
    assert not raw, f"MyST syntax in the notebook's Markdown (JupyterLab and Colab show it raw): {raw}"


def test_exercises_are_numbered_in_order_with_a_label(notebook, notebook_path):
    found = exercises(notebook)
    assert len(found) >= 3
    for number, (index, _) in enumerate(found, start=1):
        cell = notebook.cells[index]
        match = EXERCISE_PREFIX.match(cell.source)
        assert match and match.groups() == (str(_chapter_number(notebook_path)), str(number)), (
            f"cell {index} should start **Exercise {_chapter_number(notebook_path)}.{number}.**"
        )
        assert re.fullmatch(r"ch\d-[a-z0-9-]+", cell.metadata.get("exercise", "")), f"cell {index}: no label"


def test_each_solution_follows_its_exercise_and_is_closed_until_clicked(notebook):
    for index, solution in exercises(notebook):
        assert solution and solution == list(range(index + 1, index + 1 + len(solution))), (
            f"exercise in cell {index}: its solution cells must follow it directly"
        )
        for part in solution:
            cell = notebook.cells[part]
            if cell.cell_type == "markdown":
                assert re.match(
                    r"\s*<details>\s*<summary>Solution to Exercise [\d.]+( \(continued\))?</summary>", cell.source
                )
                assert cell.source.rstrip().endswith("</details>")
            else:
                assert cell.metadata.get("jupyter", {}) == {"source_hidden": True, "outputs_hidden": True}
                assert cell.metadata.get("cellView") == "form"
                assert re.match(r"# @title Solution to Exercise [\d.]+: code\n", cell.source), f"cell {part}"


def test_solution_cells_are_only_found_after_an_exercise(notebook):
    in_solutions = {part for _, solution in exercises(notebook) for part in solution}
    stray = [i for i, cell in enumerate(notebook.cells) if "solution" in tags(cell) and i not in in_solutions]
    assert not stray, f"cells {stray} are tagged solution but belong to no exercise"
