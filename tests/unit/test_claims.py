"""The "checked on this run" lines: a claim that holds prints, one that fails raises."""

import numpy as np
import pytest

from helpers.claims import ClaimFailed, check, check_close, check_difference, compare_paired


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


def test_paired_comparison_of_right_wrong_answers_uses_mcnemar():
    a = np.array([1] * 60 + [0] * 40)
    b = np.array([1] * 40 + [0] * 60)  # a is right on 20 items where b is wrong, never the reverse
    result = compare_paired(a, b)
    assert result.difference == pytest.approx(0.2)
    assert result.n == 100
    assert "McNemar" in result.method and "20 vs 0" in result.method
    assert result.p_value == pytest.approx(2 * 0.5**20)


def test_paired_comparison_of_scores_uses_a_paired_t_test():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=50)  # what both models share: pairing removes it
    result = compare_paired(shared + 0.1, shared + rng.normal(scale=0.01, size=50))
    assert result.method == "paired t"
    assert result.difference == pytest.approx(0.1, abs=0.01)
    assert result.p_value < 1e-6


def test_paired_comparison_rejects_unpaired_or_non_finite_input():
    with pytest.raises(ValueError, match="same items"):
        compare_paired([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="finite"):
        compare_paired([0.1, float("nan")], [0.2, 0.3])


def test_check_difference_passes_a_significant_lead_and_prints_d_se_p(capsys):
    a = np.array([1] * 900 + [0] * 100)
    b = np.array([1] * 850 + [0] * 150)
    check_difference("convnet minus dense", a, b, "greater", scale=100, unit=" points")
    out = capsys.readouterr().out
    assert "convnet minus dense: measured +5.00 ± 0.69 points" in out
    assert "McNemar exact, 50 vs 0 disagreements" in out
    assert "claimed greater than zero at p < 0.05" in out


def test_check_difference_fails_a_lead_that_is_within_noise():
    a = np.array([1, 0] * 500)
    b = a.copy()
    b[:6] = 1 - b[:6]  # 3 items each way, plus one more for a
    b[6] = 0
    with pytest.raises(ClaimFailed, match="claimed greater than zero"):
        check_difference("lead", a, b, "greater")


def test_check_difference_fails_a_lead_with_the_wrong_sign():
    a = np.array([1] * 800 + [0] * 200)
    b = np.array([1] * 900 + [0] * 100)
    with pytest.raises(ClaimFailed):
        check_difference("lead", a, b, "greater")
    check_difference("lead", a, b, "less")


def test_within_noise_fails_when_the_difference_is_significant(capsys):
    a = np.array([1] * 900 + [0] * 100)
    with pytest.raises(ClaimFailed, match="no significant difference"):
        check_difference("same", a, np.array([1] * 800 + [0] * 200), "within noise")
    b = a.copy()
    b[[0, 950]] = 1 - b[[0, 950]]
    check_difference("same", a, b, "within noise")
    assert "p = 1" in capsys.readouterr().out


def test_check_difference_rejects_an_unknown_expectation():
    with pytest.raises(ValueError, match="unknown expectation"):
        check_difference("x", [1, 0], [0, 1], "bigger")


def test_check_difference_returns_nothing_so_a_cell_shows_no_out_value():
    assert check_difference("lead", [1] * 20 + [0] * 5, [0] * 20 + [0] * 5, "greater") is None
