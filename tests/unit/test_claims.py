"""The "checked on this run" lines: a claim that holds prints, one that fails raises."""

import numpy as np
import pytest

from helpers.claims import ClaimFailed, check, check_close


def test_passing_claim_prints_one_line_with_value_and_bound(capsys):
    assert check("convnet test accuracy", 0.9123, ">=", 0.90) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "✔ Checked on this run: convnet test accuracy: measured 0.9123, claimed ≥ 0.9" in out


def test_integers_print_exactly_with_thousands_separators(capsys):
    check("parameters", 1_199_882, "==", 1_199_882)
    assert "measured 1,199,882, claimed = 1,199,882" in capsys.readouterr().out


def test_failing_claim_raises_with_the_same_facts_and_prints_nothing(capsys):
    with pytest.raises(ClaimFailed, match=r"convnet test accuracy: measured 0\.85, claimed ≥ 0\.9"):
        check("convnet test accuracy", 0.85, ">=", 0.90)
    assert capsys.readouterr().out == ""


def test_claim_failure_is_an_assertion_so_nbval_reports_it():
    assert issubclass(ClaimFailed, AssertionError)


@pytest.mark.parametrize("op,ok", [(">", True), ("<", False), ("<=", False), ("==", False)])
def test_every_comparison(op, ok):
    if ok:
        check("x", 2, op, 1)
    else:
        with pytest.raises(ClaimFailed):
            check("x", 2, op, 1)


def test_unknown_comparison_is_a_usage_error():
    with pytest.raises(ValueError, match="unknown comparison"):
        check("x", 1, "~", 1)


def test_nan_never_satisfies_a_claim():
    with pytest.raises(ClaimFailed):
        check("loss", float("nan"), "<=", 1.0)


def test_check_close_reports_largest_difference(capsys):
    a = np.zeros((2, 3))
    b = a.copy()
    b[1, 2] = 1e-7
    check_close("NumPy vs Keras", a, b, atol=1e-5)
    assert "largest difference 1e-07 over 6 values, claimed ≤ 1e-05" in capsys.readouterr().out


def test_check_close_fails_on_large_difference_or_shape_mismatch():
    with pytest.raises(ClaimFailed, match="largest difference 0.5"):
        check_close("x", [0.0, 1.0], [0.0, 0.5], atol=1e-3)
    with pytest.raises(ClaimFailed, match="shapes differ"):
        check_close("x", np.zeros((2, 2)), np.zeros((4,)), atol=1)


def test_in_a_notebook_a_check_is_shown_as_html_with_the_plain_line_kept(monkeypatch, capsys):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw: shown.append(obj))
    check("accuracy", 0.95, ">=", 0.9)
    assert capsys.readouterr().out == ""
    assert shown[0]["text/plain"] == "✔ Checked on this run: accuracy: measured 0.95, claimed ≥ 0.9"
    assert "<strong>✔ Checked on this run:</strong> accuracy: measured 0.95" in shown[0]["text/html"]
