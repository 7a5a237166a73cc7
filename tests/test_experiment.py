"""The experiment runner and report: tolerances from printed digits, statuses, files."""

from __future__ import annotations

import json

import jax.numpy as jnp
import pytest

from deepmath_jax.experiment import (
    Chapter,
    Experiment,
    compare_values,
    parse_book_number,
    printed_tolerance,
    run_chapter,
)
from deepmath_jax.report import load_results, render_report, write_report


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
    assert set(data["rows"][0]) == {"name", "book_line", "book_value", "value", "tolerance", "status", "reason"}
    assert (tmp_path / "ch01_derivative" / "line.png").stat().st_size > 0
    report = write_report(tmp_path).read_text()
    assert "ch01_derivative/line.png" in report and "1 match, 1 explained, 1 skipped, 0 mismatch" in report


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
