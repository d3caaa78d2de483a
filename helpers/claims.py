"""Claims the prose makes, checked on the run that produces them.

Every number the book states is measured in the cell above the sentence that
states it.  A chapter calls :func:`check` (or :func:`check_close`) right where
the number is produced: a claim that holds prints one line that reads well on
the rendered page; a claim that fails raises :class:`ClaimFailed` with the same
facts, so the notebook — and ``pytest --nbval-lax`` — fails loudly instead of
publishing a sentence that is no longer true.  Chapter 1 introduces the idea.
"""

from __future__ import annotations

import html
import operator
from typing import Callable

import numpy as np

__all__ = ["ClaimFailed", "check", "check_close"]

_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    ">=": (operator.ge, "≥"),
    ">": (operator.gt, ">"),
    "<=": (operator.le, "≤"),
    "<": (operator.lt, "<"),
    "==": (operator.eq, "="),
}

PASS_MARK = "✔ Checked on this run:"
FAIL_MARK = "✘ Claim failed on this run:"


class ClaimFailed(AssertionError):
    """A claim in the text did not hold on this run."""


def _report(line: str) -> None:
    """Show a passing check: as a wrapped, highlighted line in a notebook, as plain text elsewhere.

    The plain-text form is kept in the notebook too, so tests and terminals read the same line.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # helpers used without IPython
        get_ipython = None  # type: ignore[assignment]
    shell = get_ipython() if get_ipython else None
    if shell is None or not hasattr(shell, "kernel"):
        print(line)
        return
    mark, _, rest = line.partition(":")
    styled = (
        '<div class="claim-checked" style="border-left:4px solid #2e7d32;background:#eef7ee;'
        'padding:0.3em 0.7em;margin:0.2em 0;font-family:var(--pst-font-family-base, sans-serif)">'
        f"<strong>{html.escape(mark)}:</strong>{html.escape(rest)}</div>"
    )
    display({"text/plain": line, "text/html": styled}, raw=True)


def _fmt(value: float, digits: int) -> str:
    """Format integers exactly and other numbers with ``digits`` significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def check(claim: str, measured: float, op: str, bound: float, *, digits: int = 4) -> None:
    """Check ``measured <op> bound`` and report it as one line.

    ``claim`` names what was measured, in the words the prose uses
    ("convnet test accuracy", "parameter ratio without/with pooling").
    Returns nothing, so a check at the end of a cell adds no ``Out[]`` value.
    """
    if op not in _OPERATORS:
        raise ValueError(f"unknown comparison {op!r}; use one of {sorted(_OPERATORS)}")
    compare, symbol = _OPERATORS[op]
    value = float(measured)
    line = f"{claim}: measured {_fmt(value, digits)}, claimed {symbol} {_fmt(float(bound), digits)}"
    if not compare(value, float(bound)):
        raise ClaimFailed(f"{FAIL_MARK} {line}")
    _report(f"{PASS_MARK} {line}")


def check_close(claim: str, actual: object, expected: object, *, atol: float) -> None:
    """Check that two arrays agree element-wise within ``atol``.

    Used where the book writes an operation by hand and compares it with the
    library's version.  Prints (or raises with) the largest absolute difference,
    which says more than a bare "True".  Shapes must match exactly.
    """
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        raise ClaimFailed(f"{FAIL_MARK} {claim}: shapes differ, {a.shape} vs {b.shape}")
    worst = float(np.max(np.abs(a - b))) if a.size else 0.0
    line = f"{claim}: largest difference {worst:.2g} over {a.size:,} values, claimed ≤ {atol:g}"
    if not worst <= atol:
        raise ClaimFailed(f"{FAIL_MARK} {line}")
    _report(f"{PASS_MARK} {line}")
