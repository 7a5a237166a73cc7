"""``results/site/``: the report as static web pages, to browse from ``file://`` offline.

The same ``results.json`` files as ``REPORT.md`` (read by
:func:`deepmath_jax.book.report.load_results`), written as

* ``index.html`` — one line per chapter: its counts per status, time, quick or full sizes,
  device, and the totals;
* ``chNN_<slug>.html`` — one page per chapter: its summary line, the book's numbers grouped by
  row kind (``compare``, ``range``, ``claim``, ``explain``, ``skip``), the checks of our code
  against a reference (``agree`` rows) in their own table, the figures inline, links to the
  chapter's notebook, experiment script and library modules, and the exception if it raised;
* ``style.css`` — the one hand-written style sheet.

No server, no network: no CDN, no web font, no external script. The figures stay where the
experiments wrote them (``results/chNN_<slug>/*.png``) and are linked relatively. Every page
carries a few lines of inline script that, once the page has loaded, write a verdict into a
hidden ``<pre id="selfcheck">`` — the images that loaded, the rows per status counted in the
page, the numbers its summaries print — so that a headless browser (``chromium --dump-dom``)
can check the page as a reader sees it. The pages read the same without JavaScript.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deepmath_jax.book.experiment import (
    BOOK_STATUSES,
    CHECK_STATUSES,
    STATUSES,
    parse_book_number,
    status_counts,
)
from deepmath_jax.book.report import _tolerance_cell, chapter_ok, is_check, load_results

__all__ = ["write_site", "format_value", "SITE_DIRNAME"]

#: The folder of the site inside the results folder.
SITE_DIRNAME = "site"

#: How each status reads: a symbol and a word, so that colour is never the only cue.
_LABEL = {
    "match": "✓ match",
    "explained": "✎ explained",
    "skipped": "– skipped",
    "mismatch": "✗ MISMATCH",
    "agrees": "✓ agrees",
    "disagrees": "✗ DISAGREES",
}

#: The book rows' kinds, in the order their tables appear, with a heading and what they are.
_KIND_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("compare", "Numbers the book prints",
     "Each number beside ours: a match is within one unit of the last digit the book printed "
     "(exact for counts), or the tolerance shown."),
    ("range", "Bounds the book states in words",
     "The book says \u201cmoins de 50 %\u201d or \u201centre 80 % et 85 %\u201d: ours must lie in the band shown "
     "as the tolerance."),
    ("claim", "Statements of the book, checked on our numbers",
     "The book's words beside the numbers of our run that decide them."),
    ("explain", "Where the book is wrong or computes another way",
     "The reason says what the mathematics gives; where the right value is known, ours is "
     "checked against it."),
    ("skip", "Not reproduced here",
     "The data (or the weights) is not available on this machine; the reason says how to "
     "supply it."),
)
_KIND_TITLE = {kind: title for kind, title, _ in _KIND_SECTIONS}

#: Widths beyond which a value is folded (``<details>``): the start shows, a click shows all.
_VALUE_WIDTH = 90
_NAME_PATTERN = re.compile(r"ch[0-9]{2}_[A-Za-z0-9_]+")


# --------------------------------------------------------------------------------------------
# Values, as report.py's cells write them
# --------------------------------------------------------------------------------------------


def format_value(x: Any) -> str:
    """A value as ``REPORT.md``'s cells write it, whole: ``—`` for none, floats to 10
    significant digits, lists of floats to 6, anything else as JSON (words as they are) —
    except that a list of the book's printed numbers reads ``[1.2, -0.2]``, without the JSON
    quotes of ``["1.2", "-0.2"]``.

    The Markdown report also escapes ``|`` and cuts long cells; a web page needs neither (the
    page folds long values instead)."""
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.10g}"
    if isinstance(x, str):
        return x
    if isinstance(x, list) and x and all(isinstance(v, float) for v in x):
        return "[" + ", ".join(f"{v:.6g}" for v in x) + "]"
    if isinstance(x, list) and x and all(isinstance(v, str) and _is_printed_number(v) for v in x):
        return "[" + ", ".join(x) + "]"
    return json.dumps(x, ensure_ascii=False)


def _is_printed_number(text: str) -> bool:
    try:
        parse_book_number(text)
    except (ValueError, ZeroDivisionError):
        return False
    return True


def _e(text: Any) -> str:
    """HTML-escaped text (quotes too: the same text may go into an attribute)."""
    return html.escape(str(text), quote=True)


def _value_html(x: Any, width: int = _VALUE_WIDTH) -> str:
    """A value cell: the whole value, folded behind its first ``width`` characters if longer;
    numbers in a monospace font, the book's words (a ``claim``, a ``range``) as text."""
    text = format_value(x)
    words = isinstance(x, str) and not _is_printed_number(x)
    cls = ("words" if words else "mono") + (" nowrap" if len(text) <= 28 else "")  # short: one line
    if len(text) <= width:
        return f'<span class="{cls}">{_e(text)}</span>'
    return f'<details class="{cls}"><summary>{_e(text[: width - 1])}…</summary>{_e(text)}</details>'


def _text_html(text: str) -> str:
    """A reason or note: whole when short; a long one of several lines (how to supply a
    dataset) shows its first line, the rest a click away."""
    first, sep, rest = text.strip().partition("\n")
    if not sep or len(text) <= 160:
        return _e(text)
    return f"<details><summary>{_e(first)}</summary>{_e(rest)}</details>"


def _reason_html(r: dict[str, Any]) -> str:
    parts = []
    if r.get("expected") is not None:
        parts.append(f'<span class="expected">right value {_value_html(r["expected"], 60)}.</span> ')
    parts.append(_text_html(r.get("reason") or ""))
    return "".join(parts)


def _status_html(status: str) -> str:
    label = _LABEL.get(status, status)
    return f'<span class="badge s-{_e(status)}">{_e(label)}</span>'


def _book_line(r: dict[str, Any]) -> str:
    return _e(r["book_line"]) if r.get("book_line") is not None else "—"


def _title_html(title: str) -> str:
    """``"Dérivée / Derivative"``: the book's French title, the English one below it."""
    french, sep, english = str(title).partition(" / ")
    return _e(french) + (f'<br><span class="en">{_e(english)}</span>' if sep else "")


def _seconds(wall_s: Any) -> str:
    return f"{wall_s:.1f} s" if isinstance(wall_s, (int, float)) else "—"


def _sizes(data: dict[str, Any]) -> str:
    return "quick" if data.get("quick") else "full"


# --------------------------------------------------------------------------------------------
# Links to the chapter's notebook, script and modules
# --------------------------------------------------------------------------------------------


def _href(target: Path, site_dir: Path) -> str:
    """The link from a page in ``site_dir`` to ``target``: relative, URL-quoted."""
    try:
        rel = os.path.relpath(target, site_dir)
    except ValueError:  # another drive (Windows): an absolute file URL
        return target.resolve().as_uri()
    return quote(Path(rel).as_posix())


def _chapter_file(folder: Path, chapter_id: str, dirname: str, suffix: str) -> Path:
    """``folder/chNN_<slug><suffix>``; where the file is named after another slug (the
    script ``ch14_convolution_keras.py`` writes ``results/ch14_convolution_flax``), the one
    file of ``folder`` that starts with the chapter id."""
    named = folder / f"{dirname}{suffix}"
    if named.exists():
        return named
    others = sorted(folder.glob(f"{chapter_id}_*{suffix}")) if folder.is_dir() else []
    return others[0] if len(others) == 1 else named


def _imported_modules(script: Path, repo_root: Path) -> list[Path]:
    """The library modules (``src/deepmath_jax/...``) and experiment helpers
    (``experiments/_*.py``) that ``script`` imports, sorted by path; the harness
    (``deepmath_jax.book``) is left out. Empty when the script is absent or does not parse."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    src = repo_root / "src"

    def module_file(dotted: str) -> Path | None:
        base = src.joinpath(*dotted.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    found: list[Path] = []
    for node in ast.walk(tree):
        dotted: list[str] = []
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from pkg import mod`` names a module when pkg/mod.py exists, else pkg itself
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            dotted = [s for s in subs if module_file(s) is not None] or [node.module]
        for name in dotted:
            if name.startswith("deepmath_jax.") and not name.startswith("deepmath_jax.book"):
                path = module_file(name)
            elif name.startswith("_") and "." not in name:
                path = script.parent / f"{name}.py"
                path = path if path.is_file() else None
            else:
                path = None
            if path is not None and path not in found:
                found.append(path)
    return sorted(found, key=lambda p: p.as_posix())


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------

#: Inline on every page: once loaded, the page writes what a reader would see into
#: ``<pre id="selfcheck">`` — images that loaded (or not), rows per status counted in the
#: tables, the counts the summaries print, the style sheet applied, and any error event
#: (a script error, a file that failed to load).
_SELFCHECK = """\
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    errors.push(t && t !== window ? "failed to load " + (t.currentSrc || t.src || t.href)
                                  : String(e.message));
  }, true);
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var rows = {}, shown = {};
    document.querySelectorAll("tr[data-status]").forEach(function (tr) {
      rows[tr.dataset.status] = (rows[tr.dataset.status] || 0) + 1;
    });
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var c = el.dataset.chapter;
      shown[c] = shown[c] || {};
      shown[c][el.dataset.count] = parseInt(el.textContent, 10);
    });
    var css = getComputedStyle(document.documentElement).getPropertyValue("--site-css").trim();
    document.getElementById("selfcheck").textContent = JSON.stringify({
      page: document.body.dataset.page,
      images: images.length,
      broken: images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                    .map(function (i) { return i.getAttribute("src"); }),
      rows: rows, shown: shown, styled: css === "1", errors: errors
    });
  });
})();"""


def _page(title: str, page: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f"<script>\n{_SELFCHECK}\n</script>\n"
        '<link rel="stylesheet" href="style.css">\n'
        f'</head>\n<body data-page="{_e(page)}">\n<main>\n{body}\n</main>\n'
        '<pre id="selfcheck" hidden></pre>\n</body>\n</html>\n'
    )


def _counts_html(chapter: str, counts: dict[str, int]) -> str:
    """``90 match, 0 explained, …; 14 agrees, 0 disagrees``, each number tagged for the
    self-check; the non-zero failures stand out."""

    def one(s: str) -> str:
        bad = " bad" if s in ("mismatch", "disagrees") and counts[s] else ""
        return (f'<span class="count s-{s}{bad}"><span data-chapter="{_e(chapter)}" data-count="{s}">'
                f"{counts[s]}</span> {s}</span>")

    return (", ".join(one(s) for s in BOOK_STATUSES) + " · "
            + ", ".join(one(s) for s in CHECK_STATUSES))


def _chapter_state(data: dict[str, Any]) -> tuple[str, str]:
    """(css class, word) of a chapter: ok, MISMATCH (a failed row) or ERROR (it raised)."""
    if data.get("error"):
        return "s-mismatch", "✗ ERROR"
    return ("s-match", "✓ ok") if chapter_ok(data) else ("s-mismatch", "✗ MISMATCH")


def _legend() -> str:
    items = [
        ("match", "within the tolerance the book's words give, inside the band a bound states, "
                  "or a statement of the book that holds on our numbers"),
        ("explained", "the book is wrong or computes it another way (the reason says which)"),
        ("skipped", "the data is not available here (the reason says how to supply it)"),
        ("mismatch", "the reproduction differs from the book: fails the run"),
        ("agrees", "our code against another implementation or a closed form, within round-off"),
        ("disagrees", "our code differs from its reference: fails the run"),
    ]
    return '<dl class="legend">' + "".join(
        f"<dt>{_status_html(s)}</dt><dd>{_e(text)}</dd>" for s, text in items) + "</dl>"


def _index_html(chapters: list[dict[str, Any]], pages: dict[str, str], report: str | None) -> str:
    total = status_counts(r["status"] for d in chapters for r in d["rows"])
    n_book = sum(total[s] for s in BOOK_STATUSES)
    n_checks = sum(total[s] for s in CHECK_STATUSES)
    failed = [d for d in chapters if _chapter_state(d)[1] != "✓ ok"]
    verdict = (f'<p class="verdict s-match">✓ All {len(chapters)} chapters ok.</p>' if not failed else
               f'<p class="verdict s-mismatch">✗ {len(failed)} of {len(chapters)} chapters failed: '
               + ", ".join(f'<a href="{pages[d["_dir"]]}">{_e(d["chapter"])}</a>' for d in failed) + ".</p>")
    head = "".join(f'<th class="n" scope="col">{s}</th>' for s in STATUSES)
    lines = []
    for d in chapters:
        counts = status_counts(r["status"] for r in d["rows"])
        cls, word = _chapter_state(d)
        cells = "".join(
            f'<td class="n{" zero" if not counts[s] else ""}{" bad" if s in ("mismatch", "disagrees") and counts[s] else ""}">'
            f'<span data-chapter="{_e(d["chapter"])}" data-count="{s}">{counts[s]}</span></td>'
            for s in STATUSES)
        lines.append(
            f'<tr><th scope="row"><a href="{pages[d["_dir"]]}">{_e(d["chapter"])}</a></th>'
            f'<td class="title"><a href="{pages[d["_dir"]]}">{_title_html(d.get("title", ""))}</a></td>{cells}'
            f'<td><span class="badge {cls}">{_e(word)}</span></td>'
            f'<td class="n">{_seconds(d.get("wall_s"))}</td><td>{_sizes(d)}</td>'
            f'<td class="device">{_e(d.get("device", "—"))}</td></tr>')
    foot_cells = "".join(
        f'<td class="n{" bad" if s in ("mismatch", "disagrees") and total[s] else ""}">'
        f'<span data-chapter="all" data-count="{s}">{total[s]}</span></td>' for s in STATUSES)
    wall = sum(d.get("wall_s") or 0 for d in chapters)
    sizes = sorted({_sizes(d) for d in chapters})
    versions = sorted({json.dumps(d.get("versions") or {}, sort_keys=True) for d in chapters})
    versions_html = ""
    if len(versions) == 1 and versions[0] != "{}":
        versions_html = "<p class=\"meta\">Versions: " + ", ".join(
            f"{_e(k)} {_e(v)}" for k, v in json.loads(versions[0]).items()) + ".</p>"
    elif len(versions) > 1:
        versions_html = '<p class="meta">The chapters ran with different package versions: see each page.</p>'
    seeds = sorted({str(d.get("seed")) for d in chapters})
    report_link = f' The same as text: <a href="{report}">REPORT.md</a>.' if report else ""
    body = f"""<header>
<h1>Deep Math reproduced with JAX</h1>
<p class="lead">Every number the book <i>Deep Math</i> (Bodin &amp; Recher) prints, beside the value
this package computes, chapter by chapter; and, apart from them, the checks of our code against
another implementation or a closed form.{report_link}</p>
</header>
{verdict}
<p class="totals"><strong>{n_book} book rows</strong>: {", ".join(f"{total[s]} {s}" for s in BOOK_STATUSES)}.
<strong>{n_checks} checks against a reference</strong>: {", ".join(f"{total[s]} {s}" for s in CHECK_STATUSES)}.</p>
<p class="meta">{len(chapters)} chapters, {wall:.0f} s in all; sizes: {_e(" and ".join(sizes))};
seed {_e(", ".join(seeds))}.</p>
<div class="scroll">
<table class="summary">
<thead><tr class="over"><td colspan="2"></td><th scope="colgroup" colspan="{len(BOOK_STATUSES)}">book rows</th>
<th scope="colgroup" colspan="{len(CHECK_STATUSES)}">checks</th><td colspan="4"></td></tr>
<tr><th scope="col">chapter</th><th scope="col">title</th>{head}<th scope="col">status</th>
<th scope="col" class="n">time</th><th scope="col">sizes</th><th scope="col">device</th></tr></thead>
<tbody>
{chr(10).join(lines)}
</tbody>
<tfoot><tr><th scope="row">total</th><td></td>{foot_cells}<td></td><td class="n">{wall:.1f} s</td><td></td><td></td></tr></tfoot>
</table>
</div>
<h2>What the statuses mean</h2>
{_legend()}
{versions_html}"""
    return _page("Deep Math reproduced with JAX — results", "index", body)


def _sections(rows: list[dict[str, Any]]) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(section, short name, row) for each row: consecutive rows whose names share the
    prefix ``exp.section`` gave them (``"§1 derivative: f'(1)"``) are shown under one
    heading row; a row alone with its prefix keeps its whole name."""
    prefixes = [r["name"].split(": ", 1)[0] if ": " in r["name"] else None for r in rows]
    out: list[tuple[str | None, str, dict[str, Any]]] = []
    for i, (r, p) in enumerate(zip(rows, prefixes, strict=True)):
        shared = p is not None and ((i > 0 and prefixes[i - 1] == p) or (i + 1 < len(rows) and prefixes[i + 1] == p))
        out.append((p, r["name"][len(p) + 2:], r) if shared else (None, r["name"], r))
    return out


def _table(head: list[str], rows: list[dict[str, Any]], cells: Callable[[dict[str, Any]], str]) -> str:
    """A table of rows, one ``<tr data-status>`` each, with a heading row per section."""
    lines, current = [], None
    for section, name, r in _sections(rows):
        if section is not None and section != current:
            lines.append(f'<tr class="group"><th colspan="{len(head)}" scope="rowgroup">{_e(section)}</th></tr>')
        current = section
        status = r["status"]
        lines.append(f'<tr data-status="{_e(status)}" class="row-{_e(status)}">'
                     f'<td class="name{" in-group" if section else ""}">{_e(name)}</td>{cells(r)}</tr>')
    numeric = ' class="n"'
    header = "".join(f'<th scope="col"{numeric if h == "book line" else ""}>{_e(h)}</th>' for h in head)
    return ('<div class="scroll"><table class="rows">\n<thead><tr>' + header + "</tr></thead>\n<tbody>\n"
            + "\n".join(lines) + "\n</tbody></table></div>")


def _has_reason(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("reason") or r.get("expected") is not None for r in rows)


def _book_table(rows: list[dict[str, Any]]) -> str:
    with_reason = _has_reason(rows)  # most tables of printed numbers have none: no empty column

    def cells(r: dict[str, Any]) -> str:
        return (f'<td class="val">{_value_html(r.get("book_value"))}</td>'
                f'<td class="val">{_value_html(r.get("value"))}</td>'
                f'<td class="val tol">{_e(_tolerance_cell(r))}</td>'
                f'<td>{_status_html(r["status"])}</td>'
                f'<td class="n">{_book_line(r)}</td>'
                + (f'<td class="reason">{_reason_html(r)}</td>' if with_reason else ""))

    head = ["name", "book", "ours", "tolerance", "status", "book line"] + (["reason"] if with_reason else [])
    return _table(head, rows, cells)


def _check_table(rows: list[dict[str, Any]]) -> str:
    with_note = _has_reason(rows)

    def cells(r: dict[str, Any]) -> str:
        return (f'<td>{_e(r.get("reference") or "—")}</td>'
                f'<td class="val">{_value_html(r.get("value"))}</td>'
                f'<td class="val tol">{_e(_tolerance_cell(r))}</td>'
                f'<td>{_status_html(r["status"])}</td>'
                f'<td class="n">{_book_line(r)}</td>'
                + (f'<td class="reason">{_text_html(r.get("reason") or "")}</td>' if with_note else ""))

    head = ["name", "reference", "max |ours − reference|", "tolerance", "status", "book line"]
    return _table(head + (["note"] if with_note else []), rows, cells)


def _links_html(data: dict[str, Any], site_dir: Path, repo_root: Path) -> str:
    chapter_id, dirname = data["chapter"], data["_dir"]
    notebook = _chapter_file(repo_root / "notebooks", chapter_id, dirname, ".ipynb")
    script = _chapter_file(repo_root / "experiments", chapter_id, dirname, ".py")
    items = [
        f'<li>Notebook: <a href="{_href(notebook, site_dir)}">{_e(notebook.name)}</a>'
        + ("" if notebook.exists() else ' <span class="meta">(not written yet)</span>') + "</li>",
        f'<li>Experiment: <a href="{_href(script, site_dir)}">experiments/{_e(script.name)}</a></li>',
    ]
    modules = _imported_modules(script, repo_root)
    if modules:
        items.append("<li>Modules: " + ", ".join(
            f'<a href="{_href(m, site_dir)}">{_e(m.relative_to(repo_root).as_posix())}</a>' for m in modules)
            + "</li>")
    return '<ul class="links">' + "".join(items) + "</ul>"


def _chapter_html(data: dict[str, Any], site_dir: Path, results_dir: Path, repo_root: Path,
                  neighbours: tuple[tuple[str, str] | None, tuple[str, str] | None]) -> str:
    chapter_id, dirname = data["chapter"], data["_dir"]
    rows = data["rows"]
    counts = status_counts(r["status"] for r in rows)
    cls, word = _chapter_state(data)
    book_rows = [r for r in rows if not is_check(r)]
    checks = [r for r in rows if is_check(r)]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in book_rows:
        kind = r.get("kind") or "compare"
        by_kind.setdefault(kind if kind in _KIND_TITLE else "compare", []).append(r)

    previous, following = neighbours
    nav = ['<a href="index.html">↑ All chapters</a>']
    if previous:
        nav.append(f'<a href="{previous[0]}" rel="prev">← {_e(previous[1])}</a>')
    if following:
        nav.append(f'<a href="{following[0]}" rel="next">{_e(following[1])} →</a>')
    meta = [f"{_seconds(data.get('wall_s'))}", f"{_sizes(data)} sizes", f"seed {_e(data.get('seed', '—'))}",
            _e(data.get("device", "—"))]
    if data.get("book_lines"):
        a, b = data["book_lines"]
        meta.insert(0, f"book lines {_e(a)}–{_e(b)}")
    parts = [
        f'<nav class="top">{" · ".join(nav)}</nav>',
        f'<header><h1><span class="chid">{_e(chapter_id)}</span> {_e(data.get("title", ""))}</h1>',
        f'<p class="summary"><span class="badge {cls}">{_e(word)}</span> {_counts_html(chapter_id, counts)}</p>',
        f'<p class="meta">{" · ".join(meta)}</p></header>',
        _links_html(data, site_dir, repo_root),
    ]
    if data.get("error"):
        last = data["error"].strip().splitlines()[-1] if data["error"].strip() else "(no message)"
        parts.append(
            '<section class="error"><h2>✗ The experiment raised an exception</h2>'
            f"<p><code>{_e(last)}</code></p><details><summary>Traceback</summary>"
            f"<pre>{_e(data['error'])}</pre></details>"
            "<p>The rows below are those recorded before it.</p></section>")

    sections = [(k, t, text, by_kind[k]) for k, t, text in _KIND_SECTIONS if k in by_kind]
    toc = [f'<a href="#{k}">{_e(t)} ({len(rs)})</a>' for k, t, _, rs in sections]
    if checks:
        toc.append(f'<a href="#agree">Checks against a reference ({len(checks)})</a>')
    if data.get("figures"):
        toc.append(f'<a href="#figures">Figures ({len(data["figures"])})</a>')
    if toc:
        parts.append('<nav class="toc">' + " · ".join(toc) + "</nav>")
    if not rows:
        parts.append('<p class="meta">No rows were recorded.</p>')
    for kind, title, text, rs in sections:
        parts.append(f'<section id="{kind}"><h2>{_e(title)} <span class="n-rows">({len(rs)})</span></h2>'
                     f'<p class="about">{_e(text)}</p>{_book_table(rs)}</section>')
    if checks:
        parts.append(
            '<section id="agree"><h2>Checks of our code against a reference '
            f'<span class="n-rows">({len(checks)})</span></h2>'
            '<p class="about">Not numbers of the book: our code beside another implementation or a '
            "closed form (jax.grad, optax, the book's formulas), the largest difference beside "
            "the round-off allowed.</p>" + _check_table(checks) + "</section>")
    if data.get("figures"):
        figures = []
        for name in data["figures"]:
            path = results_dir / dirname / name
            if path.is_file():
                src = _href(path, site_dir)
                figures.append(f'<figure><a href="{src}"><img src="{src}" alt="{_e(name)}"></a>'
                               f"<figcaption>{_e(name)}</figcaption></figure>")
            else:
                figures.append(f'<figure class="missing"><p>✗ file missing</p>'
                               f"<figcaption>{_e(name)}</figcaption></figure>")
        parts.append(f'<section id="figures"><h2>Figures <span class="n-rows">({len(figures)})</span></h2>'
                     + "".join(figures) + "</section>")
    others = [a for a in data.get("artifacts") or [] if (results_dir / dirname / a).is_file()]
    if others:
        parts.append('<section id="files"><h2>Other files</h2><ul class="links">' + "".join(
            f'<li><a href="{_href(results_dir / dirname / a, site_dir)}">{_e(a)}</a></li>' for a in others)
            + "</ul></section>")
    versions = data.get("versions") or {}
    foot = []
    if versions:
        foot.append("Versions: " + ", ".join(f"{_e(k)} {_e(v)}" for k, v in versions.items()) + ".")
    if data.get("finished"):
        foot.append(f"Finished {_e(data['finished'])}.")
    if foot:
        parts.append(f'<footer class="meta">{" ".join(foot)}</footer>')
    return _page(f"{chapter_id} {data.get('title', '')} — Deep Math reproduced", dirname, "\n".join(parts))


# --------------------------------------------------------------------------------------------
# The style sheet
# --------------------------------------------------------------------------------------------

_CSS = """\
/* results/site: written by deepmath_jax.book.site; system fonts only (works offline). */
:root {
  --site-css: 1;  /* read by the pages' self-check: the sheet applied */
  --fg: #1d2126; --muted: #5d6670; --bg: #fff; --line: #d9dee3; --head: #f3f5f7;
  --ok: #17643a; --ok-bg: #e3f4e9; --info: #1f4f8f; --info-bg: #e6eefa;
  --skip: #555d66; --skip-bg: #eceef0; --bad: #a4161a; --bad-bg: #fde4e4; --link: #1a5fb4;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e7ea; --muted: #a2abb4; --bg: #15181b; --line: #343a40; --head: #20252a;
          --ok: #7fd6a0; --ok-bg: #173526; --info: #9cc1f5; --info-bg: #1a2a40;
          --skip: #b3bac1; --skip-bg: #2a2f34; --bad: #ff9a9a; --bad-bg: #451b1d; --link: #8ab8ff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1400px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
a { color: var(--link); }
h1 { font-size: 1.7rem; margin: .4rem 0 .6rem; line-height: 1.25; }
h2 { font-size: 1.25rem; margin: 2rem 0 .3rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
.chid { color: var(--muted); font-weight: 600; margin-right: .3rem; }
.lead { max-width: 60rem; font-size: 1.05rem; }
.meta, .about { color: var(--muted); }
.about { margin: .2rem 0 .6rem; max-width: 60rem; }
.n-rows { color: var(--muted); font-weight: normal; }
nav.top { font-size: .95rem; display: flex; gap: .4rem 1.2rem; flex-wrap: wrap; }
nav.toc { margin: 1rem 0; padding: .5rem .8rem; background: var(--head); border-radius: 6px; }
ul.links { padding-left: 1.2rem; margin: .5rem 0; }
ul.links li { margin: .15rem 0; }
.verdict { font-weight: 600; font-size: 1.1rem; padding: .4rem .8rem; border-radius: 6px; display: inline-block; }
.totals { font-size: 1.05rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: var(--head); font-weight: 600; white-space: nowrap; z-index: 1; }
tbody tr:hover { background: var(--head); }
tfoot th, tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.zero { color: var(--muted); opacity: .55; }
td.bad, .count.bad { color: var(--bad); font-weight: 700; }
table.summary td.title { min-width: 14rem; }
td.device { font-size: .85rem; color: var(--muted); min-width: 9rem; }
td.title .en { font-size: .85rem; }
table.summary thead th { position: static; }
table.summary tr.over th { text-align: center; font-weight: 600; color: var(--muted); background: none;
                           border-bottom: 2px solid var(--line); }
table.summary tr.over td { border: none; }
table.summary tr:not(.over) > :nth-child(3), table.summary tr:not(.over) > :nth-child(7),
table.summary tr.over > :nth-child(2), table.summary tr.over > :nth-child(3) { border-left: 1px solid var(--line); }
td.name { min-width: 14rem; max-width: 26rem; }
td.name.in-group { padding-left: 1.2rem; }
tr.group th { background: none; font-weight: 600; padding-top: .8rem; color: var(--muted);
              border-bottom: 1px solid var(--line); }
td.tol { white-space: nowrap; }
td.val { max-width: 20rem; overflow-wrap: anywhere; }
.mono, td.tol { font-family: "DejaVu Sans Mono", "Liberation Mono", ui-monospace, monospace; font-size: .84rem; }
td.reason { min-width: 14rem; max-width: 34rem; white-space: pre-line; overflow-wrap: anywhere; }
details summary { cursor: pointer; }
.nowrap { white-space: nowrap; }
table.summary .n { width: 1%; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 4px; font-weight: 600;
         font-size: .85rem; white-space: nowrap; border: 1px solid currentColor; }
.s-match, .s-agrees { color: var(--ok); background: var(--ok-bg); }
.s-explained { color: var(--info); background: var(--info-bg); }
.s-skipped { color: var(--skip); background: var(--skip-bg); }
.s-mismatch, .s-disagrees { color: var(--bad); background: var(--bad-bg); }
.count { background: none; color: inherit; white-space: nowrap; }
.count.bad { color: var(--bad); }
tr.row-mismatch, tr.row-disagrees { background: var(--bad-bg); }
.summary .badge { margin-right: .5rem; }
p.summary { font-size: 1.05rem; margin: .3rem 0; }
section.error { border: 2px solid var(--bad); background: var(--bad-bg); border-radius: 6px; padding: .2rem 1rem 1rem; margin: 1rem 0; }
section.error h2 { color: var(--bad); border: none; }
section.error pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; }
#figures { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: flex-start; }
#figures h2 { flex-basis: 100%; }
figure { margin: 0; max-width: 100%; }
figure img { display: block; max-width: min(100%, 640px); height: auto; border: 1px solid var(--line); background: #fff; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .2rem; }
figure.missing p { color: var(--bad); font-weight: 600; border: 1px dashed var(--bad); padding: 2rem; margin: 0; }
dl.legend { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; max-width: 60rem; }
dl.legend dd { margin: 0; }
footer { margin-top: 2.5rem; font-size: .85rem; }
"""


# --------------------------------------------------------------------------------------------
# Writing the site
# --------------------------------------------------------------------------------------------


def _neighbours(names: list[tuple[str, str]], i: int) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    return (names[i - 1] if i > 0 else None, names[i + 1] if i + 1 < len(names) else None)


def _remove_stale(site_dir: Path, keep: Iterable[str]) -> None:
    """Chapter pages of an earlier run whose chapter is no longer in the results."""
    keep = set(keep)
    for page in site_dir.glob("ch[0-9][0-9]_*.html"):
        if page.name not in keep and _NAME_PATTERN.fullmatch(page.stem):
            page.unlink()


def write_site(results_dir: str | os.PathLike[str], *, repo_root: str | os.PathLike[str] | None = None) -> Path:
    """Write ``results_dir/site/``: ``index.html``, one ``chNN_<slug>.html`` per chapter whose
    ``results.json`` is found under ``results_dir``, and ``style.css``. Returns the index.

    ``repo_root`` is the checkout whose ``notebooks/``, ``experiments/`` and ``src/`` the
    chapter pages link to (relative links); by default the folder above ``results_dir``
    (``results/`` of a checkout). Chapter pages left from an earlier run whose chapter is no
    longer there are removed.
    """
    if not isinstance(results_dir, (str, os.PathLike)):
        raise TypeError(f"results_dir must be a path (str or os.PathLike), got {type(results_dir).__name__}: "
                        f"{results_dir!r}")
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ValueError(f"results_dir must be an existing folder of chapter results, got {str(results_dir)!r}")
    chapters = load_results(results_dir)
    if not chapters:
        raise ValueError(f"results_dir {str(results_dir)!r} holds no chNN_<slug>/results.json: "
                         "run the experiments first (python experiments/run.py)")
    root = Path(repo_root) if repo_root is not None else results_dir.resolve().parent
    site_dir = results_dir / SITE_DIRNAME
    site_dir.mkdir(exist_ok=True)

    pages = {d["_dir"]: quote(f"{d['_dir']}.html") for d in chapters}
    names = [(pages[d["_dir"]], f"{d['chapter']} {d.get('title', '')}".strip()) for d in chapters]
    (site_dir / "style.css").write_text(_CSS, encoding="utf-8")
    for i, data in enumerate(chapters):
        text = _chapter_html(data, site_dir, results_dir, root, _neighbours(names, i))
        (site_dir / f"{data['_dir']}.html").write_text(text, encoding="utf-8")
    _remove_stale(site_dir, (f"{d['_dir']}.html" for d in chapters))
    report = results_dir / "REPORT.md"
    index = site_dir / "index.html"
    index.write_text(_index_html(chapters, pages, _href(report, site_dir) if report.is_file() else None),
                     encoding="utf-8")
    return index
