"""Read the chapters' plain-Markdown exercises and citations as the book's MyST.

A chapter is opened in three places: this book, JupyterLab and Colab. Only the
book understands MyST directives; JupyterLab and Colab show ``:label:`` lines,
fenced ``{exercise}`` blocks and ``{cite}`` roles as raw text, with each
solution in plain view under its exercise. So the notebooks hold a form every
Markdown renderer reads cleanly, and this module, registered as myst-nb's
reader for ``.ipynb`` (``nb_custom_formats`` in ``_config.yml``), turns it into
MyST as the book is built:

- an exercise is a Markdown cell tagged ``exercise`` that starts with
  ``**Exercise C.N.**`` (chapter C, its Nth exercise), its label in ``metadata["exercise"]``; it becomes an
  ``{exercise}`` directive (which numbers it, so the bold prefix is dropped);
- the cells after it tagged ``solution`` are its solution: each Markdown one is
  wrapped in ``<details><summary>…</summary> … </details>`` (closed until the
  reader clicks, in JupyterLab, Colab and on GitHub) and each code one is
  collapsed by the standard ``jupyter.source_hidden`` / ``outputs_hidden``
  metadata, and its first line, ``# @title Solution to Exercise C.N: code``, is
  what JupyterLab shows of it collapsed and what Colab's form view
  (``cellView: form``) shows instead of the code; in the book the run becomes a
  ``{solution-start}`` … ``{solution-end}`` dropdown, code cells inside;
- a citation is a link ``[Author, year](#cite-key)`` (several keys: comma
  separated); it becomes ``{cite}`key```.

The stored outputs are untouched: only Markdown cells are rewritten.
"""

from __future__ import annotations

import re

import nbformat

EXERCISE_PREFIX = re.compile(r"^\*\*Exercise (\d+)\.(\d+)\.\*\*\s*")
DETAILS = re.compile(r"^\s*<details>\s*<summary>.*?</summary>\s*\n(.*?)\n\s*</details>\s*$", re.DOTALL)
FORM_TITLE = re.compile(r"\A# @title [^\n]*\n")
CITATION = re.compile(r"\[[^\]]+\]\(#cite-([\w,:-]+)\)")


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def exercises(notebook) -> list[tuple[int, list[int]]]:
    """(exercise cell index, indices of its solution cells) for each exercise, in order."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if "exercise" in tags(cell):
            found.append((index, []))
        elif "solution" in tags(cell) and found:
            found[-1][1].append(index)
    return found


def _markdown(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source)


def solution_text(source: str) -> str:
    """A solution cell's Markdown without its ``<details>`` wrapper."""
    match = DETAILS.match(source)
    if not match:
        raise ValueError("a solution's Markdown cell must be one <details><summary>…</summary> … </details> block")
    return match.group(1).strip()


def to_myst(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The same notebook with its exercises, solutions and citations written as MyST."""
    cells = [dict(cell) for cell in notebook.cells]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            cell["source"] = CITATION.sub(lambda m: "{cite}`" + m.group(1) + "`", cell["source"])
    out = []
    ranges = {start: solution for start, solution in exercises(notebook)}
    skip: set[int] = set()
    for index, cell in enumerate(cells):
        if index in skip:
            continue
        if index not in ranges:
            out.append(nbformat.from_dict(cell))
            continue
        label = cell["metadata"].get("exercise")
        if not label or not EXERCISE_PREFIX.match(cell["source"]):
            raise ValueError(f"cell {index}: an exercise needs metadata 'exercise' (its label) and **Exercise N.**")
        body = EXERCISE_PREFIX.sub("", cell["source"], count=1)
        out.append(_markdown(f"```{{exercise}}\n:label: {label}\n\n{body}\n```"))
        solution = ranges[index]
        if not solution:
            continue
        out.append(_markdown(f"```{{solution-start}} {label}\n:class: dropdown\n```"))
        for part in solution:
            piece = dict(cells[part])
            if piece["cell_type"] == "markdown":
                piece["source"] = solution_text(piece["source"])
            else:  # the book's dropdown says whose solution it is; the form title would repeat it
                piece["source"] = FORM_TITLE.sub("", piece["source"], count=1)
            out.append(nbformat.from_dict(piece))
            skip.add(part)
        out.append(_markdown("```{solution-end}\n```"))
    converted = nbformat.from_dict(dict(notebook))
    converted.cells = out
    return converted


def read_notebook(text: str) -> nbformat.NotebookNode:
    """myst-nb's reader for ``.ipynb``: parse, then write the exercises and citations as MyST."""
    return to_myst(nbformat.reads(text, as_version=4))
