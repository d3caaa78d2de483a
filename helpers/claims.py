"""Claims the prose makes, checked on the run that produces them.

Every number the book states is measured in the cell above the sentence that
states it.  A chapter calls :func:`check`, :func:`check_close` or
:func:`check_difference` right where the number is produced: a claim that holds
prints one line that reads well on the rendered page; a claim that fails raises
:class:`ClaimFailed` with the same facts, so the notebook — and
``pytest --nbval-lax`` — fails loudly instead of publishing a sentence that is
no longer true.  Chapter 1 introduces the idea.

The claims policy every chapter follows (the introduction says it to readers):

- **Selection on validation data only.**  The best regulariser, epoch, learning
  rate or head is chosen on validation data; the test set is evaluated once, on
  the very weights that were selected.
- **Differences come with their uncertainty.**  "A beats B" is checked with
  :func:`check_difference` on the same examples (McNemar's exact test for
  right/wrong answers, a paired *t* test for per-example or per-seed scores),
  and the prose says "by d ± se" or "within noise" — never a bare sign.
- **Costs.**  Hard claims on deterministic quantities (parameters,
  multiply-adds, bytes).  Wall-clock only as ratios of interleaved, repeated
  measurements (:func:`helpers.timing.interleaved_seconds`), with bounds far
  enough from the measured ratio to hold on a busy machine.
- **A check that cannot fail is not a claim**: no ✔ for arithmetic identities
  or for what a library guarantees, and no check in a cell whose output is
  hidden.
"""

from __future__ import annotations

import html
import math
import operator
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
from scipy import stats

__all__ = ["ClaimFailed", "PairedComparison", "check", "check_close", "check_difference", "compare_paired"]

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


@dataclass(frozen=True)
class PairedComparison:
    """The difference between two models measured on the same items, with its uncertainty.

    ``difference`` is ``mean(a) - mean(b)``; ``standard_error`` is that of the
    mean of the paired differences; ``p_value`` is two-sided, from ``method``.
    """

    difference: float
    standard_error: float
    p_value: float
    n: int
    method: str


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def compare_paired(a: object, b: object) -> PairedComparison:
    """Compare two models item by item: the same test examples, or the same seeds.

    Right/wrong answers (arrays of 0/1 or booleans) use McNemar's exact test,
    which looks only at the items where the two models disagree — the honest
    test for two classifiers scored on one test set.  Other scores (per-example
    losses, per-seed accuracies) use a paired *t* test.  Pairing removes the
    variation that both models share (easy and hard examples, lucky seeds),
    which is why it detects differences that two separate error bars hide.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired scores need the same items: {x.size} vs {y.size} values")
    if x.size < 2:
        raise ValueError("a paired comparison needs at least two items")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired scores must be finite")
    diff = x - y
    se = float(np.std(diff, ddof=1) / math.sqrt(diff.size))
    if _is_binary(x) and _is_binary(y):
        only_a = int(((x == 1) & (y == 0)).sum())
        only_b = int(((x == 0) & (y == 1)).sum())
        discordant = only_a + only_b
        p = 1.0 if discordant == 0 else float(stats.binomtest(only_a, discordant, 0.5).pvalue)
        method = f"McNemar exact, {only_a} vs {only_b} disagreements"
    else:
        p = 1.0 if se == 0 else float(2 * stats.t.sf(abs(diff.mean()) / se, df=diff.size - 1))
        method = "paired t"
    return PairedComparison(float(diff.mean()), se, min(p, 1.0), int(diff.size), method)


Expectation = Literal["greater", "less", "within noise"]


def check_difference(
    claim: str,
    a: object,
    b: object,
    expect: Expectation,
    *,
    alpha: float = 0.05,
    scale: float = 1.0,
    unit: str = "",
    digits: int = 2,
) -> None:
    """Check a claimed difference between two models measured on the same items.

    ``expect="greater"`` claims A beats B: the mean difference is positive *and*
    significant at ``alpha``; ``"less"`` the reverse; ``"within noise"`` claims
    the data show no difference at ``alpha`` (the line prints d ± se, so the
    reader sees how large a difference the data could still hide).
    ``scale`` and ``unit`` only format the line (``scale=100, unit=" points"``
    turns accuracies into percentage points).  Like :func:`check` it returns
    nothing, so a check at the end of a cell adds no ``Out[]`` value; use
    :func:`compare_paired` for the numbers themselves.
    """
    if expect not in ("greater", "less", "within noise"):
        raise ValueError(f"unknown expectation {expect!r}; use 'greater', 'less' or 'within noise'")
    result = compare_paired(a, b)
    d, se = scale * result.difference, scale * result.standard_error
    measured = (
        f"{d:+.{digits}f} ± {se:.{digits}f}{unit} (mean ± standard error, {result.n:,} paired items; "
        f"{result.method}, p = {result.p_value:.2g})"
    )
    if expect == "within noise":
        holds = result.p_value >= alpha
        wanted = f"no significant difference at p < {alpha:g}"
    else:
        sign_ok = result.difference > 0 if expect == "greater" else result.difference < 0
        holds = sign_ok and result.p_value < alpha
        wanted = f"{expect} than zero at p < {alpha:g}"
    line = f"{claim}: measured {measured}, claimed {wanted}"
    if not holds:
        raise ClaimFailed(f"{FAIL_MARK} {line}")
    _report(f"{PASS_MARK} {line}")
