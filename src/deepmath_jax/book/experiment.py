"""Experiment runner: every book number beside the reproduced one.

Each chapter script in ``experiments/`` builds an :class:`Experiment` and records one
:class:`Row` per check, of one of these kinds:

* ``exp.compare`` — a number (or list, or word) the book prints, beside ours: ``match`` within
  the tolerance, ``mismatch`` otherwise;
* ``exp.compare_range`` — a bound or band the book states in words ("moins de 50 %", "entre
  80 % et 85 %"): ``match`` when our value lies in ``[low, high]``;
* ``exp.claim`` — a statement the book makes ("le pourcentage plafonne à 90 %"), checked on our
  numbers: ``match`` when it holds;
* ``exp.agree`` — our code against another implementation or a closed form (``jax.grad``, optax,
  the book's hand formula): ``agrees`` / ``disagrees``, counted apart from the book's numbers;
* ``exp.explain`` — the book is wrong (a misprint) or computes the number another way: the
  reason says what the mathematics gives, and, where ``expected=`` gives that right value, our
  value is checked against it (``mismatch`` when it differs);
* ``exp.skip`` — the data cannot be had here; the reason says how to supply it.

A ``mismatch`` or a ``disagrees`` fails the chapter (and ``nox -s experiments``)::

    from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter

    CHAPTER = Chapter(1, "derivative", "Dérivée / Derivative", book_lines=(156, 1194))

    def run(exp: Experiment) -> None:
        value = float(jax.grad(lambda x: jnp.cos(2 * x**2))(3.0))
        exp.compare("F'(3) for F = cos(2x²)", book_line=560, book_value="9.0118", value=value)

    if __name__ == "__main__":
        run_chapter(CHAPTER, run)

Tolerances follow what the book says. A book value given as a string is a printed decimal:
``"9.0118"`` matches a value within one unit of its last digit (1e-4), since the book truncates
or rounds its tables — and so is an integer string (``"85"`` for a slope read "à l'unité
près": ±1). A book value given as a Python ``int`` is an exact count or value (a number of
weights, ``a = −1``): it matches only an equal value; ``exact=True`` says the same of printed
strings (``"130 394"``). Each element of a list gets its own tolerance. Values are always
computed by the experiment; the book value is only the reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

Status = Literal["match", "mismatch", "explained", "skipped", "agrees", "disagrees"]
Kind = Literal["compare", "range", "claim", "agree", "explain", "skip"]
#: Statuses of the rows about the book's numbers and statements, in the order they are counted.
BOOK_STATUSES: tuple[str, ...] = ("match", "explained", "skipped", "mismatch")
#: Statuses of the rows that check our code against another implementation or a closed form.
CHECK_STATUSES: tuple[str, ...] = ("agrees", "disagrees")
STATUSES: tuple[str, ...] = BOOK_STATUSES + CHECK_STATUSES
#: The statuses that do not fail a chapter.
STATUSES_OK: frozenset[str] = frozenset({"match", "agrees", "explained", "skipped"})


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many rows have each status of :data:`STATUSES` (zeros included, in that order)."""
    counts = dict.fromkeys(STATUSES, 0)
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return counts


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
    """One check of a chapter (a row of ``results.json``).

    ``book_value`` is the book's number (``compare``, ``explain``, ``skip``) or its words
    (``range``, ``claim``); ``value`` is ours (for ``agree`` rows: the largest
    ``|ours − reference|``); ``tolerance`` is absolute, one number or one per element;
    ``bounds`` is ``[low, high]`` of a ``range`` row; ``reference`` names what an ``agree`` row
    compares our code with; ``expected`` is the mathematically right value an ``explain`` row
    checks our value against, where the book's is wrong.
    """

    name: str
    book_line: int | None
    book_value: Any
    value: Any
    tolerance: float | list[float] | None
    status: Status
    reason: str = ""
    kind: Kind = "compare"
    bounds: tuple[float | None, float | None] | None = None
    reference: str | None = None
    expected: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "book_line": self.book_line,
            "book_value": _jsonable(self.book_value),
            "value": _jsonable(self.value),
            "tolerance": _jsonable(self.tolerance),
            "bounds": _jsonable(self.bounds),
            "reference": self.reference,
            "expected": _jsonable(self.expected),
            "status": self.status,
            "reason": self.reason,
        }


# --------------------------------------------------------------------------------------------
# Book values and tolerances
# --------------------------------------------------------------------------------------------


def printed_tolerance(text: str) -> float:
    """One unit of the last printed digit: ``"9.0118"`` → 1e-4, ``"7.84"`` → 0.01, ``"5"`` → 1.

    A printed string is a rounded or truncated number, integers included (``"85"`` → ±1); an
    exact integer is given as an ``int`` or compared with ``exact=True``. Scientific notation is
    understood (``"1.2e-3"`` → 1e-4). Fractions (``"41/6"``) are exact and get a float64
    round-off tolerance.
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


def default_tolerance(book: Any) -> float:
    """The tolerance one book element gets when none is given.

    A printed number (a string): one unit of its last digit (:func:`printed_tolerance`). An
    ``int`` (or ``bool``): 0, an exact value. A ``float`` or a fraction: float64 round-off,
    1e-9 · max(1, |book|). Words: 0 (they must be equal).
    """
    if isinstance(book, str):
        return printed_tolerance(book) if _as_number(book) is not None else 0.0
    if isinstance(book, numbers.Integral):
        return 0.0
    number = _as_number(book)
    return 1e-9 * max(1.0, abs(number)) if number is not None and math.isfinite(number) else 0.0


def _tolerances(books: list[Any], tolerance: Any) -> list[float]:
    """One absolute tolerance per book element: inferred, one for all, or one each."""
    if tolerance is None:
        return [default_tolerance(b) for b in books]
    given = _flatten(tolerance)
    if isinstance(tolerance, (list, tuple)) or hasattr(tolerance, "shape") and np.ndim(tolerance) > 0:
        if len(given) != len(books):
            raise ValueError(f"tolerance must be one number or one per element ({len(books)}), "
                             f"got {len(given)} tolerances")
    else:
        given = given * len(books)
    tols = []
    for t in given:
        number = _as_number(t) if not isinstance(t, str) else None
        if number is None or not number >= 0:  # also rejects NaN
            raise ValueError(f"tolerance must be a number ≥ 0 (or a list of them), got {t!r}")
        tols.append(number)
    return tols


def _one_or_each(tols: list[float]) -> float | list[float]:
    """A single tolerance when all elements share it, the list otherwise."""
    return tols[0] if tols and all(t == tols[0] for t in tols) else (list(tols) if tols else 0.0)


def compare_values(
    book_value: Any, value: Any, tolerance: float | Sequence[float] | None
) -> tuple[bool, float | list[float] | None]:
    """Whether ``value`` matches ``book_value`` element-wise; returns (ok, tolerance used).

    Numbers (and book strings that parse as numbers) match within ``tolerance`` (absolute): one
    number for every element, or a sequence with one per element. A ``None`` tolerance is
    inferred element by element (:func:`default_tolerance`): the printed digits of string book
    values, 0 for ``int`` book values, float64 round-off for ``float`` ones. Anything else
    (words, token strings) must be equal. The tolerance used is one number when every element
    has the same, the list of them otherwise.
    """
    if _shape(book_value) != _shape(value):
        return False, tolerance if tolerance is None or isinstance(tolerance, (int, float)) else _flatten(tolerance)
    books, values = _flatten(book_value), _flatten(value)
    tols = _tolerances(books, tolerance)
    ok = True
    for b, v, tol in zip(books, values, tols, strict=True):
        bn, vn = _as_number(b), _as_number(v)
        if bn is not None and vn is not None and not isinstance(v, str):
            if math.isnan(bn) and math.isnan(vn):
                continue
            if math.isinf(bn) or math.isinf(vn):
                ok &= bn == vn
            else:
                ok &= abs(bn - vn) <= tol
        else:
            ok &= str(b) == str(v)
    return bool(ok), _one_or_each(tols)


def _differences(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``|ours − reference|`` element-wise: 0 for equal infinities and NaN against NaN, ``inf``
    where one side is NaN or infinite and the other is not."""
    with np.errstate(invalid="ignore"):
        d = np.abs(ours - reference)
    same = (ours == reference) | (np.isnan(ours) & np.isnan(reference))
    return np.where(same, 0.0, np.where(np.isfinite(d), d, np.inf))


def _as_float_array(x: Any, argument: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{argument} must be numbers or an array of numbers, got {type(x).__name__}: "
                        f"{str(x)[:80]!r}") from err


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

    def _add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def compare(
        self,
        name: str,
        *,
        book_line: int | None,
        book_value: Any,
        value: Any,
        tolerance: float | Sequence[float] | None = None,
        exact: bool = False,
    ) -> Row:
        """Record a book number and the computed one; ``match`` when within ``tolerance``.

        ``tolerance`` is absolute, one number or one per element; when omitted each element
        gets its own from the book value (:func:`default_tolerance`): one unit of the last
        digit the book printed for strings (``"0.4506266930"``), none for ``int`` values (an
        exact count). ``exact=True`` compares printed strings exactly too (``"130 394"``
        weights: the book's number is a count, not a rounded decimal).
        A value outside the tolerance is a ``mismatch``, which fails ``nox -s experiments``.
        """
        if exact and tolerance is not None:
            raise ValueError(f"compare({name!r}): give exact=True or a tolerance, not both "
                             f"(tolerance={tolerance!r})")
        ok, tol = compare_values(book_value, value, 0.0 if exact else tolerance)
        row = Row(self._name(name), book_line, book_value, value, tol, "match" if ok else "mismatch")
        if not ok:
            row.reason = "outside the tolerance: the reproduction differs from the book"
        return self._add(row)

    def compare_range(
        self,
        name: str,
        *,
        book_line: int | None,
        book_claim: str,
        value: Any,
        low: float | None = None,
        high: float | None = None,
        reason: str = "",
    ) -> Row:
        """Record a bound or a band the book states in words, and our value: ``match`` when
        every element of ``value`` is a finite number in ``[low, high]``.

        ``book_claim`` quotes the book (``"moins de 50 %"``); ``low`` / ``high`` are the band
        that claim means (``None``: unbounded on that side, but not both) and ``reason`` says
        where a bound the book does not print comes from (the chance level a run that does
        not learn stays at, say).
        """
        if low is None and high is None:
            raise ValueError(f"compare_range({name!r}) needs low, high or both; got neither")
        for label, bound in (("low", low), ("high", high)):
            if bound is not None and not (isinstance(bound, numbers.Real) and math.isfinite(bound)):
                raise ValueError(f"compare_range({name!r}): {label} must be a finite number or None, got {bound!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"compare_range({name!r}): low = {low} is above high = {high}")
        values = [_as_number(v) if not isinstance(v, str) else None for v in _flatten(value)]
        ok = bool(values) and all(
            v is not None and math.isfinite(v) and (low is None or v >= low) and (high is None or v <= high)
            for v in values
        )
        row = Row(self._name(name), book_line, book_claim, value, None, "match" if ok else "mismatch",
                  reason, kind="range", bounds=(low, high))
        if not ok:
            band = f"[{'−∞' if low is None else f'{low:g}'}, {'∞' if high is None else f'{high:g}'}]"
            row.reason = f"outside {band}: the reproduction does not do what the book says" + (
                f" ({reason})" if reason else "")
        return self._add(row)

    def claim(
        self,
        name: str,
        *,
        book_line: int | None,
        book_claim: str,
        holds: Any,
        value: Any = None,
        reason: str = "",
    ) -> Row:
        """Record a statement of the book checked on our numbers: ``match`` when ``holds``.

        ``book_claim`` quotes or paraphrases the book; ``holds`` is the verdict (a bool, computed
        from ``value``); ``value`` is the evidence shown in the report (the numbers the verdict
        reads); ``reason`` says how the words were made a test, where that is not obvious.
        """
        if not (isinstance(holds, (bool, np.bool_)) or (np.ndim(holds) == 0 and np.asarray(holds).dtype == np.bool_)):
            raise TypeError(f"claim({name!r}): holds must be a bool, got {type(holds).__name__}: {holds!r}")
        ok = bool(holds)
        row = Row(self._name(name), book_line, book_claim, value, None, "match" if ok else "mismatch",
                  reason, kind="claim")
        if not ok:
            row.reason = "the claim does not hold for the reproduction" + (f" ({reason})" if reason else "")
        return self._add(row)

    def agree(
        self,
        name: str,
        *,
        ours: Any,
        reference: Any,
        tolerance: float | Sequence[float] | Any,
        reference_name: str,
        book_line: int | None = None,
        reason: str = "",
    ) -> Row:
        """Record our code against another implementation or a closed form: ``agrees`` when
        ``max |ours − reference| ≤ tolerance`` element-wise (same shapes), ``disagrees``
        otherwise — which fails the chapter like a ``mismatch``.

        These rows check the package, not a number the book prints: the report counts them
        apart. ``tolerance`` (absolute, one number or an array broadcast to the shape) is the
        round-off the two computations may differ by; ``reference_name`` says what ``reference``
        is (``"jax.grad"``, ``"optax.sgd"``, ``"the book's formula σ(1 − σ)"``); ``book_line``
        is where the book states the identity, if it does. The row's value is the largest
        difference.
        """
        if not reference_name.strip():
            raise ValueError(f"agree({name!r}) needs a reference_name saying what reference is")
        a, b = _as_float_array(ours, "ours"), _as_float_array(reference, "reference")
        try:
            tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), b.shape)
        except (TypeError, ValueError) as err:
            raise ValueError(f"agree({name!r}): tolerance must be a number ≥ 0 or an array broadcast to "
                             f"the shape {b.shape}, got {tolerance!r}") from err
        if not np.all(tol >= 0):  # also rejects NaN
            raise ValueError(f"agree({name!r}): tolerance must be ≥ 0, got {tolerance!r}")
        stored = _one_or_each(tol.ravel().tolist()) if tol.size else float(np.asarray(tolerance).max(initial=0.0))
        if a.shape != b.shape:
            row = Row(self._name(name), book_line, None, f"shape {a.shape} vs {b.shape}", stored, "disagrees",
                      f"ours has shape {a.shape}, {reference_name} {b.shape}", kind="agree",
                      reference=reference_name)
            return self._add(row)
        d = _differences(a, b)
        ok = bool(np.all(d <= tol))
        row = Row(self._name(name), book_line, None, float(d.max()) if d.size else 0.0, stored,
                  "agrees" if ok else "disagrees", reason, kind="agree", reference=reference_name)
        if not ok:
            row.reason = f"ours differs from {reference_name} by more than the tolerance" + (
                f" ({reason})" if reason else "")
        return self._add(row)

    def explain(
        self,
        name: str,
        *,
        book_line: int | None,
        book_value: Any,
        value: Any,
        reason: str,
        expected: Any = None,
        tolerance: float | Sequence[float] | None = None,
        exact: bool = False,
    ) -> Row:
        """Record a value that differs from the book on purpose: a misprint, or another method.

        ``reason`` must say why (what the mathematics gives, or what differs by construction).
        Where the mathematics gives the right value, pass it as ``expected``: our value is then
        compared with it (``tolerance`` / ``exact`` as in :meth:`compare`) and the row is a
        ``mismatch`` when it differs — an explained row that can fail.
        """
        if not reason.strip():
            raise ValueError(f"explain({name!r}) needs a reason")
        if expected is None and (tolerance is not None or exact):
            raise ValueError(f"explain({name!r}): a tolerance (or exact=True) needs the expected value")
        if exact and tolerance is not None:
            raise ValueError(f"explain({name!r}): give exact=True or a tolerance, not both")
        row = Row(self._name(name), book_line, book_value, value, None, "explained", reason,
                  kind="explain", expected=expected)
        if expected is not None:
            ok, row.tolerance = compare_values(expected, value, 0.0 if exact else tolerance)
            if not ok:
                row.status = "mismatch"
                row.reason = f"ours differs from the right value {_short(expected, 60)}; {reason}"
        return self._add(row)

    def skip(self, name: str, *, book_line: int | None, book_value: Any, reason: str) -> Row:
        """Record a book number that cannot be reproduced here; ``reason`` says how to supply
        what is missing (the dataset, the weights, the option to pass)."""
        if not reason.strip():
            raise ValueError(f"skip({name!r}) needs a reason saying how to supply the data")
        return self._add(Row(self._name(name), book_line, book_value, None, None, "skipped", reason, kind="skip"))

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

    Exits with status 1 when a row is a ``mismatch`` or a ``disagrees``, or the experiment
    raised (the traceback is printed and kept in ``results.json``'s ``error``), 0 otherwise.
    Chapter-specific options are added by ``add_arguments`` and reach the experiment as
    ``exp.options``.
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
    print(f"== {chapter.id}: {summary_line(r.status for r in exp.rows)}; {len(exp.figures)} figures; "
          f"{wall_s:.1f} s", flush=True)
    if error:
        print(f"== {chapter.id}: FAILED with an exception (see above)", file=sys.stderr)
    return 0 if (exp.ok and error is None) else 1


def summary_line(statuses: Iterable[str]) -> str:
    """``"12 match, 1 explained, 0 skipped, 0 mismatch; 5 agrees, 0 disagrees"``: the book's
    numbers, then the checks against a reference, counted apart."""
    counts = status_counts(statuses)
    book = ", ".join(f"{counts[s]} {s}" for s in BOOK_STATUSES)
    checks = ", ".join(f"{counts[s]} {s}" for s in CHECK_STATUSES)
    return f"{book}; {checks}"


def _short(x: Any, width: int = 38) -> str:
    text = json.dumps(_jsonable(x), ensure_ascii=False) if not isinstance(x, str) else x
    if isinstance(x, float):
        text = f"{x:.10g}"
    return text if len(text) <= width else text[: width - 1] + "…"


_MARKS = {"match": "ok ", "explained": "exp", "skipped": "skp", "mismatch": "BAD", "agrees": "agr", "disagrees": "BAD"}


def format_rows(rows: Sequence[Row]) -> str:
    """A plain-text table of rows, for the terminal."""
    lines = []
    for r in rows:
        if r.kind == "agree":
            book, got = f"≈ {r.reference}", f"max |Δ| {_short(r.value)}"
        else:
            book, got = _short(r.book_value), _short(r.value)
        lines.append(f"  [{_MARKS[r.status]}] {r.name[:60]:<60} book {book:<22} got {got}")
    return "\n".join(lines)
