"""results/site: the report as static pages — every page written, every link resolving, the
counts on the pages those of results.json; then the pages as a real browser shows them
(Debian's headless chromium, from file://): no error, every figure loaded, the same counts."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from deepmath_jax.book.experiment import STATUSES, Chapter, Experiment, status_counts
from deepmath_jax.book.report import _cell
from deepmath_jax.book.site import format_value, write_site

# --------------------------------------------------------------------------------------------
# A synthetic checkout: results/ with two chapters, experiments/, notebooks/, src/
# --------------------------------------------------------------------------------------------

_ERROR = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: the <dataset> is & missing\n'


def _figure(exp: Experiment, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 4])
    exp.savefig(fig, name, dpi=50)


def _checkout(root: Path) -> Path:
    """Two chapters holding every status once at least (chapter 2 also raised), the first
    with its notebook, script and a library module it imports; the second's script named
    after another slug and its notebook absent."""
    results = root / "results"
    one = Experiment(Chapter(1, "derivative", "Dérivée / Derivative", book_lines=(156, 1194)), results)
    with one.section("§1 derivative"):
        one.compare("f'(1)", book_line=200, book_value=2, value=2.0)
        one.compare("F'(3)", book_line=560, book_value="9.0118", value=9.0119)
        one.compare("wrong on purpose <b>bold</b> & co", book_line=561, book_value="1.5", value=2.5)
    one.compare_range("accuracy", book_line=6297, book_claim="moins de 50 %", value=44.0, low=15, high=50)
    one.claim("over-fitting", book_line=5331, book_claim="test % regresses", holds=True, value=[90.0, 85.0])
    one.explain("W_Q", book_line=9699, book_value="65536", value=49152, expected=49152, reason="misprint: r n")
    one.skip("MNIST", book_line=5621, book_value="90.0", reason="dataset absent.\nTo supply it:\n - download it")
    one.agree("σ'", ours=[0.25], reference=[0.25], tolerance=1e-15, reference_name="jax.grad")
    _figure(one, "line")
    _figure(one, "parabola")
    one.write(1.5)

    two = Experiment(Chapter(2, "gradient", "Gradient / Gradient"), results, quick=True)
    two.compare("E(P_0)", book_line=5125, book_value="0.2961", value=0.29612)
    two.agree("sgd", ours=[1.0], reference=[2.0], tolerance=1e-12, reference_name="optax.sgd")
    _figure(two, "descent")
    two.write(2.25, error=_ERROR)

    (root / "experiments").mkdir()
    (root / "experiments" / "ch01_derivative.py").write_text(
        "from deepmath_jax.calculus import derivative\nfrom deepmath_jax.book.experiment import Chapter\n")
    (root / "experiments" / "ch02_keras.py").write_text("import _helpers\n")
    (root / "experiments" / "_helpers.py").write_text("")
    (root / "src" / "deepmath_jax" / "calculus").mkdir(parents=True)
    (root / "src" / "deepmath_jax" / "calculus" / "derivative.py").write_text("")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "ch01_derivative.ipynb").write_text("{}")
    return results


class _Page(HTMLParser):
    """Links, images, rows per status and the counts a page prints (``data-count``)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.rows: dict[str, int] = {}
        self.shown: dict[str, dict[str, int]] = {}
        self._count: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            (self.images if tag == "img" else self.links).append(a["src"])
        if tag == "tr" and "data-status" in a:
            self.rows[a["data-status"]] = self.rows.get(a["data-status"], 0) + 1
        if "data-count" in a:
            self._count = (a["data-chapter"], a["data-count"])

    def handle_data(self, data):
        if self._count is not None:
            chapter, status = self._count
            self.shown.setdefault(chapter, {})[status] = int(data)
            self._count = None


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _expected_counts(results: Path) -> dict[str, dict[str, int]]:
    """Per chapter id, the rows per status, read from the results.json files themselves."""
    counts = {}
    for path in sorted(results.glob("ch*/results.json")):
        data = json.loads(path.read_text())
        counts[data["chapter"]] = status_counts(r["status"] for r in data["rows"])
    counts["all"] = {s: sum(c[s] for c in counts.values()) for s in STATUSES}
    return counts


def test_site_pages_links_and_counts(tmp_path):
    results = _checkout(tmp_path)
    index = write_site(results)
    site = results / "site"
    assert index == site / "index.html"
    pages = {p.name for p in site.iterdir()}
    assert pages == {"index.html", "ch01_derivative.html", "ch02_gradient.html", "style.css"}
    expected = _expected_counts(results)
    assert set(expected["all"].values()) != {0} and all(expected["all"][s] > 0 for s in STATUSES)

    # the index: one line per chapter and the totals, as results.json counts them
    page = _parse(index)
    assert page.shown == expected
    assert {"ch01_derivative.html", "ch02_gradient.html", "style.css", "../REPORT.md"} - set(page.links) \
        == {"../REPORT.md"}  # no REPORT.md written here: no link to it

    for name, chapter in (("ch01_derivative.html", "ch01"), ("ch02_gradient.html", "ch02")):
        page = _parse(site / name)
        assert page.shown == {chapter: expected[chapter]}
        assert page.rows == {s: n for s, n in expected[chapter].items() if n}
        for link in page.links + page.images:
            if urlparse(link).scheme or link.startswith("#"):
                assert link.startswith("#"), f"{name}: a link leaves the site: {link}"
                continue
            target = (site / unquote(link)).resolve()
            if link == "../../notebooks/ch02_gradient.ipynb":  # linked even before it is written
                assert not target.exists()
                continue
            assert target.is_file(), f"{name}: {link} does not resolve"

    one = (site / "ch01_derivative.html").read_text()
    two = (site / "ch02_gradient.html").read_text()
    assert _parse(site / "ch01_derivative.html").images == ["../ch01_derivative/line.png",
                                                            "../ch01_derivative/parabola.png"]
    assert "<figcaption>line.png</figcaption>" in one
    assert 'href="../../notebooks/ch01_derivative.ipynb"' in one
    assert 'href="../../experiments/ch01_derivative.py"' in one
    assert 'href="../../src/deepmath_jax/calculus/derivative.py"' in one  # the module it imports
    assert "deepmath_jax/book/experiment" not in one  # the harness is not the chapter's module
    assert 'href="../../experiments/ch02_keras.py"' in two  # found by chapter id
    assert 'href="../../experiments/_helpers.py"' in two
    # text is escaped; the exception is shown; the agree rows have their own table
    assert "wrong on purpose &lt;b&gt;bold&lt;/b&gt; &amp; co" in one and "<b>bold</b>" not in one
    assert "ValueError: the &lt;dataset&gt; is &amp; missing" in two and "The experiment raised" in two
    assert "The experiment raised" not in one
    assert one.index('id="agree"') > one.index('id="compare"') and "jax.grad" in one.split('id="agree"')[1]
    assert "[15, 50]" in one and "right value" in one  # the band of the range row, the explain's value


def test_values_are_written_as_the_report_writes_them():
    for x in (None, 9.0119, 2, "9.0118", "moins de 50 %", [0.25, 1.0 / 3.0], [[1, 2], [3, 4]], True, {"a": 1}):
        assert format_value(x) == _cell(x, width=10**6)
    assert format_value(["1.2", "-0.2"]) == "[1.2, -0.2]"  # the book's printed numbers, unquoted


def test_site_bad_input(tmp_path):
    with pytest.raises(TypeError, match="results_dir must be a path.*int"):
        write_site(3)
    with pytest.raises(ValueError, match="existing folder.*nowhere"):
        write_site(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no chNN_<slug>/results.json"):
        write_site(tmp_path)


def test_site_removes_pages_of_chapters_no_longer_there(tmp_path):
    results = _checkout(tmp_path)
    write_site(results)
    shutil.rmtree(results / "ch02_gradient")
    write_site(results)
    assert not (results / "site" / "ch02_gradient.html").exists()
    assert (results / "site" / "ch01_derivative.html").exists()


# --------------------------------------------------------------------------------------------
# A real browser: Debian's chromium, headless, from file://
# --------------------------------------------------------------------------------------------

_CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.access(p, os.X_OK)), None)
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]


def _browse(page: Path, profile: Path, *extra: str) -> tuple[dict, list[str]]:
    """Load ``page`` from file:// in headless chromium: the page's self-check verdict (after
    its load event) and the console lines chromium logged (uncaught errors included)."""
    profile.mkdir()
    done = subprocess.run([_CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom",
                           page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    found = re.search(r'<pre id="selfcheck"[^>]*>(.*?)</pre>', done.stdout, re.DOTALL)
    assert found and found.group(1), f"{page.name}: no self-check verdict in the DOM"
    return json.loads(html.unescape(found.group(1))), console


@pytest.mark.skipif(_CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; "
                                              ".ci/run installs it): the browser check of results/site needs it")
def test_site_in_a_headless_browser(tmp_path):
    results = _checkout(tmp_path / "checkout")
    site = write_site(results).parent
    expected = _expected_counts(results)
    figures = {"index": 0, "ch01_derivative": 2, "ch02_gradient": 1}
    for i, (name, n_images) in enumerate(figures.items()):
        verdict, console = _browse(site / f"{name}.html", tmp_path / f"profile{i}")
        assert console == [], f"{name}: console messages {console}"
        assert verdict["errors"] == [] and verdict["styled"], verdict
        assert verdict["page"] == name and verdict["images"] == n_images and verdict["broken"] == [], verdict
        if name == "index":
            assert verdict["shown"] == expected and verdict["rows"] == {}
        else:
            chapter = name[:4]
            assert verdict["shown"] == {chapter: expected[chapter]}
            assert verdict["rows"] == {s: n for s, n in expected[chapter].items() if n}

    # the checks can fail: a figure gone and a script error are seen
    (results / "ch02_gradient" / "descent.png").unlink()
    verdict, _ = _browse(site / "ch02_gradient.html", tmp_path / "profile-broken")
    assert verdict["broken"] == ["../ch02_gradient/descent.png"]
    assert any("descent.png" in e for e in verdict["errors"])
    bad = site / "bad.html"
    bad.write_text(site.joinpath("index.html").read_text().replace("</main>", "<script>noSuchName()</script></main>"))
    _, console = _browse(bad, tmp_path / "profile-bad")
    assert any("Uncaught ReferenceError" in line for line in console), console

    # screenshots as a reader sees them: the index and a chapter page
    import matplotlib.image as mpimg

    for name in ("index", "ch01_derivative"):
        shot = tmp_path / f"{name}.png"
        profile = tmp_path / f"shot-{name}"
        profile.mkdir()
        subprocess.run([_CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,2000",
                        f"--screenshot={shot}", (site / f"{name}.html").resolve().as_uri()],
                       capture_output=True, timeout=120, check=True)
        pixels = mpimg.imread(shot)
        assert pixels.shape[:2] == (2000, 1280)
        assert pixels[..., :3].std() > 0.05, f"{name}: the screenshot is blank"
