"""``results/REPORT.md``: every book value beside the reproduced one, chapter by chapter.

The report gathers the ``results.json`` of every chapter found under the results folder
(written by :func:`deepmath_jax.book.experiment.run_chapter`): per chapter one table row per book
number or statement (``compare``, ``range``, ``claim``, ``explain``, ``skip`` rows), then the
checks of our code against a reference (``agree`` rows), counted apart, and links to the
chapter's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepmath_jax.book.experiment import BOOK_STATUSES, CHECK_STATUSES, STATUSES_OK, status_counts

_MARK = {"match": "✅ match", "explained": "📝 explained", "skipped": "⏭ skipped", "mismatch": "❌ MISMATCH",
         "agrees": "✅ agrees", "disagrees": "❌ DISAGREES"}


def load_results(results_dir: str | Path) -> list[dict[str, Any]]:
    """The chapters' ``results.json`` under ``results_dir``, in chapter order."""
    found = []
    for path in sorted(Path(results_dir).glob("ch[0-9][0-9]_*/results.json")):
        data = json.loads(path.read_text())
        data["_dir"] = path.parent.name
        found.append(data)
    return sorted(found, key=lambda d: (d.get("number", 0), d["_dir"]))


def _cell(x: Any, width: int = 60) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        text = f"{x:.10g}"
    elif isinstance(x, str):
        text = x
    else:
        text = json.dumps(x, ensure_ascii=False)
        if isinstance(x, list) and all(isinstance(v, float) for v in x):
            text = "[" + ", ".join(f"{v:.6g}" for v in x) + "]"
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def chapter_ok(data: dict[str, Any]) -> bool:
    """No mismatch, no disagreement and no exception."""
    return data.get("error") is None and all(r["status"] in STATUSES_OK for r in data["rows"])


def is_check(row: dict[str, Any]) -> bool:
    """An ``agree`` row: our code against a reference, not a number of the book."""
    return row.get("kind") == "agree" or row["status"] in CHECK_STATUSES


def _tolerance_cell(r: dict[str, Any]) -> str:
    if r.get("bounds"):
        low, high = r["bounds"]
        return f"[{'−∞' if low is None else f'{low:g}'}, {'∞' if high is None else f'{high:g}'}]"
    tol = r["tolerance"]
    if tol is None:
        return "—"
    if isinstance(tol, list):
        return f"per element, ≤ {max(tol):.2g}" if tol else "—"
    return f"{tol:.2g}"


def _reason_cell(r: dict[str, Any]) -> str:
    reason = r["reason"]
    if r.get("expected") is not None:
        reason = f"right value {_cell(r['expected'], 40)}. {reason}"
    return _cell(reason, 200)


def render_report(chapters: list[dict[str, Any]]) -> str:
    """The Markdown text of ``REPORT.md``."""
    total = status_counts(row["status"] for data in chapters for row in data["rows"])
    n_book = sum(total[s] for s in BOOK_STATUSES)
    n_checks = sum(total[s] for s in CHECK_STATUSES)
    lines = [
        "# Deep Math reproduced with JAX — report",
        "",
        "Every number the book prints, beside the value this package computes. "
        "`match`: within the tolerance the book's words give (one unit of the printed digits; "
        "exact for counts), inside the band a bound states (\"moins de 50 %\"), or a statement of "
        "the book that holds on our numbers; `explained`: the book is wrong or computes it another "
        "way (the reason says which; where the right value is known ours is checked against it); "
        "`skipped`: the data is not available here (the reason says how to supply it). "
        "Apart from the book's numbers, the checks of our code against another implementation or "
        "a closed form (`jax.grad`, optax, the book's formulas): `agrees` within round-off. "
        "A `mismatch` or a `disagrees` fails the run.",
        "",
        f"**{n_book} book rows**: {total['match']} match, {total['explained']} explained, "
        f"{total['skipped']} skipped, {total['mismatch']} mismatch. "
        f"**{n_checks} checks against a reference**: {total['agrees']} agrees, "
        f"{total['disagrees']} disagrees.",
        "",
        "| chapter | title | book rows | checks | status | seed | quick | device | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for data in chapters:
        status = "ok" if chapter_ok(data) else ("**ERROR**" if data.get("error") else "**MISMATCH**")
        checks = sum(is_check(r) for r in data["rows"])
        lines.append(
            f"| [{data['chapter']}](#{data['_dir'].replace('_', '-')}) | {data['title']} | "
            f"{len(data['rows']) - checks} | {checks} | {status} | {data['seed']} | {data.get('quick', False)} | "
            f"{data['device']} | {data['wall_s']:.1f} s |"
        )
    for data in chapters:
        lines += ["", f"## {data['_dir']}", "", f"**{data['chapter']} — {data['title']}**"]
        if data.get("book_lines"):
            a, b = data["book_lines"]
            lines.append(f"(book lines {a}–{b})")
        lines.append("")
        if data.get("error"):
            last = data["error"].strip().splitlines()[-1]
            lines += [f"> **The experiment raised an exception:** `{last}`", ""]
        book_rows = [r for r in data["rows"] if not is_check(r)]
        checks = [r for r in data["rows"] if is_check(r)]
        if book_rows:
            lines += [
                "| name | kind | book line | book | reproduced | tolerance | status | reason |",
                "|---|---|---|---|---|---|---|---|",
            ]
        for r in book_rows:
            lines.append(
                f"| {_cell(r['name'], 80)} | {r.get('kind', 'compare')} | {r['book_line'] or '—'} | "
                f"{_cell(r['book_value'])} | {_cell(r['value'])} | {_tolerance_cell(r)} | "
                f"{_MARK[r['status']]} | {_reason_cell(r)} |"
            )
        if checks:
            lines += [
                "",
                "Checks of our code against a reference:",
                "",
                "| name | book line | reference | max \\|ours − reference\\| | tolerance | status | note |",
                "|---|---|---|---|---|---|---|",
            ]
        for r in checks:
            lines.append(
                f"| {_cell(r['name'], 80)} | {r['book_line'] or '—'} | {_cell(r.get('reference'))} | "
                f"{_cell(r['value'])} | {_tolerance_cell(r)} | {_MARK[r['status']]} | {_cell(r['reason'], 200)} |"
            )
        if data.get("figures"):
            lines += ["", "Figures: " + " · ".join(
                f"[{Path(f).stem}]({data['_dir']}/{f})" for f in data["figures"]
            )]
    return "\n".join(lines) + "\n"


def write_report(results_dir: str | Path) -> Path:
    """Write ``REPORT.md`` in ``results_dir`` from every chapter's ``results.json`` found there."""
    results_dir = Path(results_dir)
    path = results_dir / "REPORT.md"
    path.write_text(render_report(load_results(results_dir)))
    return path
