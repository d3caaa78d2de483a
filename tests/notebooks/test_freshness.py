"""Stored outputs are the book: they must come from one clean top-to-bottom run.

A notebook fails here when its outputs are stale or out of order (execution
counts other than 1..N), when a cell errored or wrote to stderr (warnings, TF
log noise), when a progress bar left carriage returns or ANSI colour codes in
the page, or when it lacks the H1 title Jupyter Book needs.
"""

from __future__ import annotations

import re

ANSI_OR_CR = re.compile(r"\x1b\[|\r")
WARNING_TEXT = re.compile(r"\b(Warning|WARNING)\b|^W0000|^I0000", re.MULTILINE)


def _texts(output) -> list[str]:
    if output.output_type == "stream":
        return [output.text]
    data = output.get("data", {})
    return [data["text/plain"]] if "text/plain" in data else []


def test_starts_with_an_h1_title(notebook):
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# "), "the first cell must be the chapter's H1 title"


def test_every_code_cell_ran_once_in_order(notebook):
    counts = [c.execution_count for c in notebook.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: run `make execute`"


def test_no_errors_stderr_or_warnings(notebook):
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index} raised {output.get('ename')}"
            assert output.get("name") != "stderr", f"cell {index} wrote to stderr: {output.text[:300]!r}"
            for text in _texts(output):
                assert not WARNING_TEXT.search(text), f"cell {index} shows a warning: {text[:300]!r}"


def test_no_progress_bar_noise(notebook):
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            for text in _texts(output):
                assert not ANSI_OR_CR.search(text), f"cell {index} stores progress-bar noise: {text[:120]!r}"


def test_every_claim_in_the_outputs_passed(notebook):
    joined = "\n".join(t for c in notebook.cells for o in c.get("outputs", []) for t in _texts(o))
    assert "Claim failed" not in joined
    assert "✔ Checked on this run:" in joined, "a chapter checks at least one claim"
