"""The experiment runner and report: tolerances from printed digits, statuses, files.

Every kind of row can fail: a deliberately wrong value makes a ``compare`` (printed digits,
exact integers, per-element tolerances), a ``compare_range``, a ``claim``, an ``agree`` and an
``explain`` with its right value fail the chapter."""

from __future__ import annotations

import json

import jax.numpy as jnp
import pytest

from deepmath_jax.book.experiment import (
    Chapter,
    Experiment,
    compare_values,
    parse_book_number,
    printed_tolerance,
    run_chapter,
)
from deepmath_jax.book.report import load_results, render_report, write_report


@pytest.mark.parametrize(
    ("text", "tol"),
    [("9.0118", 1e-4), ("7.84", 1e-2), ("5", 1.0), ("−1.22", 1e-2), ("1.5e-3", 1e-4), ("4.6415894", 1e-7)],
)
def test_printed_tolerance_is_one_unit_of_the_last_digit(text, tol):
    assert printed_tolerance(text) == pytest.approx(tol)


def test_parse_book_number_reads_the_book_notations():
    assert parse_book_number("−1.22") == -1.22
    assert parse_book_number("41/6") == pytest.approx(41 / 6)
    assert parse_book_number("1 000") == 1000
    assert parse_book_number("7,5") == 7.5


def test_compare_values_uses_the_printed_digits():
    assert compare_values("9.0118", 9.01189, None) == (True, pytest.approx(1e-4))
    assert not compare_values("9.0118", 9.0120, None)[0]
    assert compare_values(["2.032", "−3.860"], jnp.array([2.0325, -3.8601]), None)[0]
    assert not compare_values(["2.032", "−3.860"], [2.032], None)[0]  # shape differs
    assert compare_values(["a", "b"], ["a", "b"], None)[0]
    assert not compare_values(["a", "b"], ["a", "c"], None)[0]
    assert compare_values(2, 2.0, None)[0]
    assert compare_values(float("inf"), float("inf"), None)[0]
    assert not compare_values(1.0, 1.0 + 1e-3, None)[0]


def _chapter():
    return Chapter(1, "derivative", "Dérivée / Derivative", book_lines=(156, 1194))


def test_chapter_ids():
    ch = _chapter()
    assert (ch.id, ch.dirname) == ("ch01", "ch01_derivative")
    with pytest.raises(ValueError, match="1..18"):
        Chapter(19, "x", "x")


def test_explain_and_skip_need_a_reason(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    with pytest.raises(ValueError, match="reason"):
        exp.explain("x", book_line=1, book_value=1, value=2, reason=" ")
    with pytest.raises(ValueError, match="reason"):
        exp.skip("x", book_line=1, book_value=1, reason="")


def test_run_chapter_writes_results_and_report(tmp_path, capsys):
    import matplotlib.pyplot as plt

    def run(exp):
        exp.compare("one", book_line=10, book_value="2.0", value=2.04)
        with exp.section("Newton"):
            exp.explain("misprint", book_line=20, book_value=1, value=2, reason="the book is wrong")
        exp.skip("data", book_line=30, book_value=0.9, reason="supply MNIST with --data-dir")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        exp.savefig(fig, "line")

    assert run_chapter(_chapter(), run, ["--out", str(tmp_path), "--seed", "3"]) == 0
    data = json.loads((tmp_path / "ch01_derivative" / "results.json").read_text())
    assert {"chapter", "title", "rows", "versions", "device", "seed", "wall_s"} <= set(data)
    assert data["seed"] == 3 and data["figures"] == ["line.png"]
    assert [r["status"] for r in data["rows"]] == ["match", "explained", "skipped"]
    assert data["rows"][1]["name"] == "Newton: misprint"
    assert set(data["rows"][0]) == {"name", "kind", "book_line", "book_value", "value", "tolerance", "bounds",
                                    "reference", "expected", "status", "reason"}
    assert (tmp_path / "ch01_derivative" / "line.png").stat().st_size > 0
    report = write_report(tmp_path).read_text()
    assert "ch01_derivative/line.png" in report and "1 match, 1 explained, 1 skipped, 0 mismatch" in report
    assert "0 agrees, 0 disagrees" in report


def test_mismatch_and_exception_fail_the_chapter(tmp_path):
    def mismatch(exp):
        exp.compare("wrong", book_line=1, book_value="1.0", value=1.5)

    def boom(exp):
        raise RuntimeError("boom")

    assert run_chapter(_chapter(), mismatch, ["--out", str(tmp_path)]) == 1
    assert run_chapter(Chapter(2, "numpy", "t"), boom, ["--out", str(tmp_path)]) == 1
    chapters = load_results(tmp_path)
    assert [c["chapter"] for c in chapters] == ["ch01", "ch02"]
    assert "boom" in chapters[1]["error"]
    text = render_report(chapters)
    assert "MISMATCH" in text and "ERROR" in text


# --------------------------------------------------------------------------------------------
# Every kind of row fails on a wrong value
# --------------------------------------------------------------------------------------------


def _status(row) -> str:
    return row.status


def test_int_book_values_are_exact_counts(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    assert _status(exp.compare("weights", book_line=1, book_value=130394, value=130394)) == "match"
    # one weight too many, or a float a hair away, is not the count the book gives
    assert _status(exp.compare("weights", book_line=1, book_value=130394, value=130395)) == "mismatch"
    assert _status(exp.compare("weights", book_line=1, book_value=130394, value=130394.0001)) == "mismatch"
    assert exp.rows[0].tolerance == 0.0
    assert compare_values([1, 0, 1], [1.0, 0.0, 1.0], None) == (True, 0.0)
    assert not compare_values([-1], [-0.999999], None)[0]


def test_exact_printed_integers_compare_exactly(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    # "5" printed is one unit of its last digit (a rounded slope, say) unless the book's number is exact
    assert _status(exp.compare("rounded", book_line=1, book_value="5", value=5.6)) == "match"
    assert _status(exp.compare("count", book_line=1, book_value="5", value=6, exact=True)) == "mismatch"
    assert _status(exp.compare("count", book_line=1, book_value="130 394", value=130394, exact=True)) == "match"
    assert _status(exp.compare("count", book_line=1, book_value="130 394", value=130393, exact=True)) == "mismatch"
    with pytest.raises(ValueError, match="not both"):
        exp.compare("x", book_line=1, book_value="5", value=5, exact=True, tolerance=1)


def test_each_element_gets_its_own_printed_tolerance():
    # one unit of "0.00012" is 1e-5: the 0.1 of "0.5" must not judge it
    assert not compare_values(["0.5", "0.00012"], [0.5, 0.0009], None)[0]
    assert compare_values(["0.5", "0.00012"], [0.52, 0.000125], None) == (True, [pytest.approx(0.1), pytest.approx(1e-5)])
    # a tolerance per element, given
    assert compare_values([1.0, 2.0], [1.05, 2.0], [0.1, 0.0])[0]
    assert not compare_values([1.0, 2.0], [1.0, 2.05], [0.1, 0.0])[0]
    with pytest.raises(ValueError, match="one per element"):
        compare_values([1.0, 2.0], [1.0, 2.0], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="≥ 0"):
        compare_values(1.0, 1.0, -1e-3)


def test_compare_range_is_a_band_a_wrong_value_leaves(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    # "moins de 50 %": a network that learns (above the 10 % of chance) and stays under 50 %
    ok = exp.compare_range("CIFAR", book_line=6297, book_claim="moins de 50 %", value=44.1, low=15, high=50)
    assert (ok.status, ok.kind, ok.bounds) == ("match", "range", (15, 50))
    for wrong in (10.2, 61.0, float("nan"), [30.0, 51.0]):  # chance, above the bound, no number, one out
        assert _status(exp.compare_range("CIFAR", book_line=1, book_claim="< 50 %", value=wrong, low=15, high=50)) == "mismatch"
    assert _status(exp.compare_range("one-sided", book_line=1, book_claim="> 60", value=61, low=60)) == "match"
    assert _status(exp.compare_range("one-sided", book_line=1, book_claim="> 60", value=59, low=60)) == "mismatch"
    with pytest.raises(ValueError, match="low, high or both"):
        exp.compare_range("x", book_line=1, book_claim="?", value=1)
    with pytest.raises(ValueError, match="above high"):
        exp.compare_range("x", book_line=1, book_claim="?", value=1, low=2, high=1)


def test_claim_fails_when_it_does_not_hold(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    train = {3: 50.0, 10: 98.0}
    rises = exp.claim("train % rises", book_line=5331, book_claim="plus il y a de neurones, mieux c'est",
                      holds=train[10] > train[3], value=train)
    assert (rises.status, rises.kind, rises.value) == ("match", "claim", train)
    assert _status(exp.claim("train % rises", book_line=5331, book_claim="…", holds=train[3] > train[10])) == "mismatch"
    assert _status(exp.claim("numpy bool", book_line=1, book_claim="…", holds=jnp.all(jnp.ones(2) > 0))) == "match"
    with pytest.raises(TypeError, match="holds must be a bool"):
        exp.claim("array", book_line=1, book_claim="…", holds=jnp.ones(3) > 0)


def test_agree_fails_beyond_the_tolerance_and_on_shapes(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    x = jnp.linspace(-3.0, 3.0, 7)
    ok = exp.agree("σ' = σ(1 − σ)", ours=x * 2, reference=2 * x, tolerance=1e-15, reference_name="2x")
    assert (ok.status, ok.kind, ok.reference, ok.value, ok.book_value) == ("agrees", "agree", "2x", 0.0, None)
    wrong = exp.agree("off by 1e-6", ours=x + 1e-6, reference=x, tolerance=1e-9, reference_name="x")
    assert wrong.status == "disagrees" and wrong.value == pytest.approx(1e-6, rel=0.05)  # float32 x
    assert _status(exp.agree("NaN", ours=[float("nan")], reference=[0.0], tolerance=1.0, reference_name="0")) == "disagrees"
    assert _status(exp.agree("shape", ours=x[:3], reference=x, tolerance=1.0, reference_name="x")) == "disagrees"
    # a tolerance per element
    assert _status(exp.agree("each", ours=[1.0, 2.5], reference=[1.0, 2.0], tolerance=[0.0, 1.0], reference_name="r")) == "agrees"
    assert _status(exp.agree("each", ours=[1.5, 2.0], reference=[1.0, 2.0], tolerance=[0.0, 1.0], reference_name="r")) == "disagrees"
    assert not exp.ok
    with pytest.raises(ValueError, match="reference_name"):
        exp.agree("x", ours=1.0, reference=1.0, tolerance=0.0, reference_name=" ")
    with pytest.raises(ValueError, match="≥ 0"):
        exp.agree("x", ours=1.0, reference=1.0, tolerance=-1.0, reference_name="r")


def test_explain_checks_our_value_against_the_right_one(tmp_path):
    exp = Experiment(_chapter(), tmp_path)
    # the book's 65 536 weights of W_Q is a misprint: r n = 64 × 768
    row = exp.explain("W_Q weights", book_line=9699, book_value="65536", value=64 * 768, expected=49152,
                      reason="r n = 64 × 768 = 49 152")
    assert (row.status, row.kind, row.expected, row.tolerance) == ("explained", "explain", 49152, 0.0)
    wrong = exp.explain("W_Q weights", book_line=9699, book_value="65536", value=65536, expected=49152,
                        reason="r n = 64 × 768 = 49 152")
    assert wrong.status == "mismatch" and "49152" in wrong.reason
    unchecked = exp.explain("draw", book_line=1, book_value=[0.2], value=[0.7], reason="a random draw")
    assert unchecked.status == "explained" and unchecked.tolerance is None
    with pytest.raises(ValueError, match="needs the expected value"):
        exp.explain("x", book_line=1, book_value=1, value=2, reason="r", tolerance=0.1)


def test_disagreement_fails_the_chapter_and_is_counted_apart(tmp_path, capsys):
    def run(exp):
        exp.compare("one", book_line=10, book_value="2.0", value=2.04)
        exp.agree("jax.grad", ours=[1.0, 2.0], reference=[1.0, 2.0], tolerance=0.0, reference_name="formula")
        exp.agree("optax", ours=[1.0], reference=[1.1], tolerance=1e-12, reference_name="optax.sgd")

    assert run_chapter(_chapter(), run, ["--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "1 match, 0 explained, 0 skipped, 0 mismatch; 1 agrees, 1 disagrees" in out
    data = json.loads((tmp_path / "ch01_derivative" / "results.json").read_text())
    assert [r["status"] for r in data["rows"]] == ["match", "agrees", "disagrees"]
    assert data["rows"][1]["reference"] == "formula" and data["rows"][1]["kind"] == "agree"
