"""Experiment runner: every book number beside the reproduced one.

Each chapter script in ``experiments/`` builds an :class:`Experiment`, records one
:class:`Row` per number the book prints (``exp.compare``), per number the book gets wrong or
computes differently (``exp.explain``) and per number whose data cannot be had here
(``exp.skip``), saves its figures (``exp.savefig``) and writes ``results.json``::

    from deepmath_jax.experiment import Chapter, Experiment, run_chapter

    CHAPTER = Chapter(1, "derivative", "Dérivée / Derivative", book_lines=(156, 1194))

    def run(exp: Experiment) -> None:
        value = float(jax.grad(lambda x: jnp.cos(2 * x**2))(3.0))
        exp.compare("F'(3) for F = cos(2x²)", book_line=560, book_value="9.0118", value=value)

    if __name__ == "__main__":
        run_chapter(CHAPTER, run)

Tolerances follow the book's printed digits: a book value given as the string ``"9.0118"``
matches a value within one unit of its last digit (1e-4), since the book truncates or rounds
its tables. Values are always computed by the experiment; the book value is only the
reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

Status = Literal["match", "mismatch", "explained", "skipped"]
STATUSES_OK: frozenset[str] = frozenset({"match", "explained", "skipped"})


@dataclasses.dataclass(frozen=True)
class Chapter:
    """Identity of a book chapter: number (1–18), results slug, French / English title."""

    number: int
    slug: str
    title: str
    book_lines: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 18:
            raise ValueError(f"chapter number must be in 1..18, got {self.number}")
        if not self.slug.replace("_", "").isalnum():
            raise ValueError(f"chapter slug must be letters, digits and '_', got {self.slug!r}")

    @property
    def id(self) -> str:
        """``ch01`` … ``ch18``."""
        return f"ch{self.number:02d}"

    @property
    def dirname(self) -> str:
        """``ch01_derivative``: the results folder of the chapter."""
        return f"{self.id}_{self.slug}"


@dataclasses.dataclass
class Row:
    """One book number beside the reproduced one (a row of ``results.json``)."""

    name: str
    book_line: int | None
    book_value: Any
    value: Any
    tolerance: float | None
    status: Status
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "book_line": self.book_line,
            "book_value": _jsonable(self.book_value),
            "value": _jsonable(self.value),
            "tolerance": self.tolerance,
            "status": self.status,
            "reason": self.reason,
        }


# --------------------------------------------------------------------------------------------
# Book values and tolerances
# --------------------------------------------------------------------------------------------


def printed_tolerance(text: str) -> float:
    """One unit of the last printed digit: ``"9.0118"`` → 1e-4, ``"7.84"`` → 0.01, ``"5"`` → 1.

    Scientific notation is understood (``"1.2e-3"`` → 1e-4). Fractions (``"41/6"``) are exact
    and get a float64 round-off tolerance.
    """
    s = text.strip().replace("−", "-").replace(" ", "").replace("\u202f", "")
    if "/" in s:
        return 1e-9 * max(1.0, abs(float(Fraction(s))))
    mantissa, _, exponent = s.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def parse_book_number(text: str) -> float:
    """Parse a number as the book prints it: ``"−1.22"``, ``"41/6"``, ``"1 000"``, ``"7,5"``."""
    s = text.strip().replace("−", "-").replace("\u202f", "").replace(" ", "")
    if "," in s and "." not in s:  # French decimal comma
        s = s.replace(",", ".")
    return float(Fraction(s)) if "/" in s else float(s)


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flatten(item)]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        return _flatten(x.tolist())
    return [x]


def _as_number(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, str):
        try:
            return parse_book_number(x)
        except (ValueError, ZeroDivisionError):
            return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _jsonable(x: Any) -> Any:
    """Plain JSON types for numbers, arrays (jax/numpy), tuples and nested lists."""
    if x is None or isinstance(x, (str, bool, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if isinstance(x, Fraction):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if hasattr(x, "tolist"):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    number = _as_number(x)
    return number if number is not None else str(x)


def _shape(x: Any) -> tuple[int, ...]:
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        inner = {_shape(v) for v in x}
        if len(inner) > 1:
            raise ValueError("ragged values cannot be compared")
        return (len(x), *(inner.pop() if inner else ()))
    return ()


def compare_values(book_value: Any, value: Any, tolerance: float | None) -> tuple[bool, float | None]:
    """Whether ``value`` matches ``book_value`` element-wise; returns (ok, tolerance used).

    Numbers (and book strings that parse as numbers) match within ``tolerance`` (absolute);
    a ``None`` tolerance is inferred from the printed digits of string book values and is
    1e-9 · max(1, |book|) for exact numbers. Anything else (words, token strings) must be equal.
    """
    if _shape(book_value) != _shape(value):
        return False, tolerance
    books, values = _flatten(book_value), _flatten(value)
    if tolerance is None:
        tols = [
            printed_tolerance(b) if isinstance(b, str) and _as_number(b) is not None
            else 1e-9 * max(1.0, abs(_as_number(b) or 0.0))
            for b in books
        ]
        tolerance = max(tols) if tols else 0.0
    ok = True
    for b, v in zip(books, values, strict=True):
        bn, vn = _as_number(b), _as_number(v)
        if bn is not None and vn is not None and not isinstance(v, str):
            if math.isnan(bn) and math.isnan(vn):
                continue
            if math.isinf(bn) or math.isinf(vn):
                ok &= bn == vn
            else:
                ok &= abs(bn - vn) <= tolerance
        else:
            ok &= str(b) == str(v)
    return bool(ok), tolerance


# --------------------------------------------------------------------------------------------
# The experiment context
# --------------------------------------------------------------------------------------------


class Experiment:
    """What a chapter script writes to: rows, figures and the ``results.json`` of one chapter.

    Args:
      chapter: the chapter this experiment reproduces.
      out_dir: the results root; the chapter writes to ``out_dir / chapter.dirname``.
      seed: the seed every random draw of the experiment derives from (``exp.key()``).
      quick: small sizes, for CI; chapters that train say what they shrink.
      data_dir: where tensorflow-datasets data (and other local data) is looked for.
    """

    def __init__(
        self,
        chapter: Chapter,
        out_dir: str | os.PathLike[str] = "results",
        *,
        seed: int = 0,
        quick: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.chapter = chapter
        self.dir = Path(out_dir) / chapter.dirname
        self.dir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.quick = quick
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.options = dict(options or {})
        self.rows: list[Row] = []
        self.figures: list[str] = []
        self.artifacts: list[str] = []
        self._section = ""

    # -- rows ----------------------------------------------------------------------------------
    @contextmanager
    def section(self, title: str) -> Iterator[None]:
        """Prefix the names of the rows recorded inside with ``title``: ``"§3 Newton: x₅"``."""
        previous, self._section = self._section, title
        try:
            yield
        finally:
            self._section = previous

    def _name(self, name: str) -> str:
        return f"{self._section}: {name}" if self._section else name

    def compare(
        self,
        name: str,
        *,
        book_line: int | None,
        book_value: Any,
        value: Any,
        tolerance: float | None = None,
    ) -> Row:
        """Record a book number and the computed one; ``match`` when within ``tolerance``.

        ``tolerance`` is absolute; when omitted it is one unit of the last digit the book
        printed (pass book values as the printed strings: ``"0.4506266930"``).
        A value outside the tolerance is a ``mismatch``, which fails ``nox -s experiments``.
        """
        ok, tol = compare_values(book_value, value, tolerance)
        row = Row(self._name(name), book_line, book_value, value, tol, "match" if ok else "mismatch")
        if not ok:
            row.reason = "outside the tolerance: the reproduction differs from the book"
        self.rows.append(row)
        return row

    def explain(
        self,
        name: str,
        *,
        book_line: int | None,
        book_value: Any,
        value: Any,
        reason: str,
    ) -> Row:
        """Record a value that differs from the book on purpose: a misprint, or another method.

        ``reason`` must say why (what the mathematics gives, or what differs by construction).
        """
        if not reason.strip():
            raise ValueError(f"explain({name!r}) needs a reason")
        row = Row(self._name(name), book_line, book_value, value, None, "explained", reason)
        self.rows.append(row)
        return row

    def skip(self, name: str, *, book_line: int | None, book_value: Any, reason: str) -> Row:
        """Record a book number that cannot be reproduced here; ``reason`` says how to supply
        what is missing (the dataset, the weights, the option to pass)."""
        if not reason.strip():
            raise ValueError(f"skip({name!r}) needs a reason saying how to supply the data")
        row = Row(self._name(name), book_line, book_value, None, None, "skipped", reason)
        self.rows.append(row)
        return row

    # -- figures and files ---------------------------------------------------------------------
    def savefig(self, fig: Any, name: str, *, dpi: int = 110) -> Path:
        """Save a matplotlib figure as ``<chapter dir>/<name>.png`` and close it."""
        import matplotlib.pyplot as plt

        path = self.dir / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        if path.name not in self.figures:
            self.figures.append(path.name)
        return path

    def path(self, filename: str) -> Path:
        """A path inside the chapter's results folder, for other artifacts (CSV, text)."""
        if filename not in self.artifacts:
            self.artifacts.append(filename)
        return self.dir / filename

    def key(self, *salt: int) -> Any:
        """A JAX PRNG key derived from the experiment seed (and optional integers)."""
        import jax

        key = jax.random.key(self.seed)
        for s in salt:
            key = jax.random.fold_in(key, s)
        return key

    # -- output ----------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return all(r.status in STATUSES_OK for r in self.rows)

    def to_json(self, wall_s: float, error: str | None = None) -> dict[str, Any]:
        return {
            "chapter": self.chapter.id,
            "number": self.chapter.number,
            "slug": self.chapter.slug,
            "title": self.chapter.title,
            "book_lines": list(self.chapter.book_lines) if self.chapter.book_lines else None,
            "rows": [r.to_json() for r in self.rows],
            "figures": self.figures,
            "artifacts": self.artifacts,
            "versions": package_versions(),
            "device": device_description(),
            "seed": self.seed,
            "quick": self.quick,
            "options": _jsonable(self.options),
            "wall_s": round(wall_s, 3),
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "error": error,
        }

    def write(self, wall_s: float, error: str | None = None) -> Path:
        path = self.dir / "results.json"
        path.write_text(json.dumps(self.to_json(wall_s, error), indent=2, ensure_ascii=False))
        return path


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages the numbers depend on."""
    versions = {"python": platform.python_version()}
    for name in ("deepmath_jax", "jax", "jaxlib", "flax", "optax", "numpy", "tensorflow-datasets"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def device_description() -> str:
    """``"cpu ×4 (x86_64, 2 cores)"``: what the numbers were computed on."""
    try:
        import jax

        devices = jax.devices()
        kinds = sorted({d.device_kind for d in devices})
        return f"{jax.default_backend()} ×{len(devices)} ({', '.join(kinds)}; {platform.machine()}, {os.cpu_count()} cores)"
    except Exception as err:  # noqa: BLE001 - a description must never fail the run
        return f"unknown ({err})"


# --------------------------------------------------------------------------------------------
# Command line of one chapter
# --------------------------------------------------------------------------------------------


def chapter_argument_parser(chapter: Chapter) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{chapter.dirname}.py",
        description=f"Reproduce chapter {chapter.number} of Deep Math: {chapter.title}.",
    )
    parser.add_argument("--out", default="results", help="results root folder (default: results)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--quick", action="store_true", help="small sizes (CI); full book sizes otherwise")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("TFDS_DATA_DIR"),
        help="tensorflow-datasets data_dir / local data folder (default: $TFDS_DATA_DIR)",
    )
    return parser


def run_chapter(
    chapter: Chapter,
    run: Callable[[Experiment], None],
    argv: Sequence[str] | None = None,
    *,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse the command line, run ``run(exp)``, write ``results.json``, print a summary.

    Exits with status 1 when a row is a ``mismatch`` or the experiment raised (the traceback is
    printed and kept in ``results.json``'s ``error``), 0 otherwise. Chapter-specific options
    are added by ``add_arguments`` and reach the experiment as ``exp.options``.
    """
    parser = chapter_argument_parser(chapter)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    common = {"out", "seed", "quick", "data_dir"}
    options = {k: v for k, v in vars(args).items() if k not in common}
    exp = Experiment(
        chapter, args.out, seed=args.seed, quick=args.quick, data_dir=args.data_dir, options=options
    )
    print(f"== {chapter.id} {chapter.title}{' (quick)' if args.quick else ''} → {exp.dir}", flush=True)
    start = time.perf_counter()
    error = None
    try:
        run(exp)
    except Exception:  # noqa: BLE001 - recorded in results.json and reported, then exit 1
        error = traceback.format_exc()
        print(error, file=sys.stderr)
    wall_s = time.perf_counter() - start
    exp.write(wall_s, error)
    print(format_rows(exp.rows))
    counts = {s: sum(r.status == s for r in exp.rows) for s in ("match", "explained", "skipped", "mismatch")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(f"== {chapter.id}: {summary}; {len(exp.figures)} figures; {wall_s:.1f} s", flush=True)
    if error:
        print(f"== {chapter.id}: FAILED with an exception (see above)", file=sys.stderr)
    return 0 if (exp.ok and error is None) else 1


def _short(x: Any, width: int = 38) -> str:
    text = json.dumps(_jsonable(x), ensure_ascii=False) if not isinstance(x, str) else x
    if isinstance(x, float):
        text = f"{x:.10g}"
    return text if len(text) <= width else text[: width - 1] + "…"


def format_rows(rows: Sequence[Row]) -> str:
    """A plain-text table of rows, for the terminal."""
    lines = []
    for r in rows:
        mark = {"match": "ok ", "explained": "exp", "skipped": "skp", "mismatch": "BAD"}[r.status]
        lines.append(f"  [{mark}] {r.name[:60]:<60} book {_short(r.book_value):<22} got {_short(r.value)}")
    return "\n".join(lines)
