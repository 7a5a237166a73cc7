"""``results/REPORT.md``: every book value beside the reproduced one, chapter by chapter.

The report gathers the ``results.json`` of every chapter found under the results folder
(written by :func:`deepmath_jax.experiment.run_chapter`), one table row per book number and
links to the chapter's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepmath_jax.experiment import STATUSES_OK

_MARK = {"match": "✅ match", "explained": "📝 explained", "skipped": "⏭ skipped", "mismatch": "❌ MISMATCH"}


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
    """No mismatch and no exception."""
    return data.get("error") is None and all(r["status"] in STATUSES_OK for r in data["rows"])


def render_report(chapters: list[dict[str, Any]]) -> str:
    """The Markdown text of ``REPORT.md``."""
    total = {s: 0 for s in ("match", "explained", "skipped", "mismatch")}
    for data in chapters:
        for row in data["rows"]:
            total[row["status"]] += 1
    lines = [
        "# Deep Math reproduced with JAX — report",
        "",
        "Every number the book prints, beside the value this package computes. "
        "`match`: within the tolerance of the book's printed digits; `explained`: the book is "
        "wrong or computes it another way (the reason says which); `skipped`: the data is not "
        "available here (the reason says how to supply it).",
        "",
        f"**{sum(total.values())} rows**: {total['match']} match, {total['explained']} explained, "
        f"{total['skipped']} skipped, {total['mismatch']} mismatch.",
        "",
        "| chapter | title | rows | status | seed | quick | device | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data in chapters:
        status = "ok" if chapter_ok(data) else ("**ERROR**" if data.get("error") else "**MISMATCH**")
        lines.append(
            f"| [{data['chapter']}](#{data['_dir'].replace('_', '-')}) | {data['title']} | "
            f"{len(data['rows'])} | {status} | {data['seed']} | {data.get('quick', False)} | "
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
        lines += [
            "| name | book line | book | reproduced | tolerance | status | reason |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in data["rows"]:
            tol = "—" if r["tolerance"] is None else f"{r['tolerance']:.1g}"
            lines.append(
                f"| {_cell(r['name'], 80)} | {r['book_line'] or '—'} | {_cell(r['book_value'])} | "
                f"{_cell(r['value'])} | {tol} | {_MARK[r['status']]} | {_cell(r['reason'], 200)} |"
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
