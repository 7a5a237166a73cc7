"""REPORT.md: the book's numbers and the checks against a reference are counted apart."""

from __future__ import annotations

from deepmath_jax.book.experiment import Chapter, Experiment
from deepmath_jax.book.report import chapter_ok, load_results, render_report


def _results(tmp_path, fill) -> list[dict]:
    exp = Experiment(Chapter(7, "gradient", "Gradient"), tmp_path)
    fill(exp)
    exp.write(1.0)
    return load_results(tmp_path)


def test_report_counts_agrees_apart_from_the_book_rows(tmp_path):
    def fill(exp):
        exp.compare("E(P_0)", book_line=5125, book_value="0.2961", value=0.29612)
        exp.compare_range("accuracy", book_line=6297, book_claim="moins de 50 %", value=44.0, low=15, high=50)
        exp.claim("over-fitting", book_line=5331, book_claim="test % regresses at p = 20", holds=True, value=[90, 85])
        exp.explain("W_Q", book_line=9699, book_value="65536", value=49152, expected=49152, reason="misprint: r n")
        exp.skip("MNIST", book_line=5621, book_value="90.0", reason="supply --data-dir")
        exp.agree("σ'", ours=[0.25], reference=[0.25], tolerance=1e-15, reference_name="jax.grad")
        exp.agree("sgd", ours=[1.0], reference=[1.0], tolerance=1e-15, reference_name="optax.sgd")

    chapters = _results(tmp_path, fill)
    assert chapter_ok(chapters[0])
    text = render_report(chapters)
    assert "**5 book rows**: 3 match, 1 explained, 1 skipped, 0 mismatch." in text
    assert "**2 checks against a reference**: 2 agrees, 0 disagrees." in text
    assert "| 5 | 2 | ok |" in text  # the chapter line: book rows, checks, status
    checks = text[text.index("Checks of our code against a reference"):]
    assert "jax.grad" in checks and "optax.sgd" in checks and "E(P_0)" not in checks
    assert "[15, 50]" in text  # the band of the range row
    assert "right value 49152" in text


def test_report_marks_a_disagreement(tmp_path):
    chapters = _results(tmp_path, lambda exp: exp.agree(
        "jax.grad", ours=[1.0], reference=[2.0], tolerance=1e-12, reference_name="formula"))
    assert not chapter_ok(chapters[0])
    text = render_report(chapters)
    assert "**0 book rows**" in text and "0 agrees, 1 disagrees" in text
    assert "DISAGREES" in text and "**MISMATCH**" in text


def test_report_reads_results_written_before_the_row_kinds(tmp_path):
    # results.json of an older run: no "kind", "bounds", "reference", "expected"
    chapters = [{"chapter": "ch01", "number": 1, "title": "t", "_dir": "ch01_x", "seed": 0, "device": "cpu",
                 "wall_s": 1.0, "rows": [{"name": "a", "book_line": 1, "book_value": "1.0", "value": 1.0,
                                          "tolerance": 0.1, "status": "match", "reason": ""}]}]
    text = render_report(chapters)
    assert "**1 book rows**: 1 match" in text and "| compare |" in text
