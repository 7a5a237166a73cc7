"""Elementary minimum search — chapter 3 *Fonctions de plusieurs variables* (Functions of several
variables), § 2.4 *Recherche élémentaire d'un minimum* (book lines 1650–1691).

The book's three techniques, valid in any dimension (L1652):

- :func:`grid_search` — evaluate f on an N × … × N grid and keep the smallest value (Nⁿ
  evaluations, L1654–1656);
- :func:`random_search` — evaluate f at K random points (an explicit PRNG key) and keep the best
  (L1660–1663);
- :func:`coordinate_search` / :func:`slice_search` — *recherche par tranches*: minimise along one
  coordinate at a time, the others fixed (L1665–1671), each one-dimensional minimum found by
  :func:`golden_section` (written here in JAX; the book's authors used Sage's
  ``find_local_minimum``, i.e. scipy's bounded Brent search: the tests check both agree).

Functions to minimise are written like the book's numpy code: ``f(x, y)`` acting elementwise on
arrays (so the grid is one vectorised call). Everything is traceable: wrap a search in
``jax.jit`` with ``f`` closed over. Golden-section search cannot resolve a minimiser closer than
about √ε relative (f is flat there): run it with float64 (``jax.enable_x64``) to get the book's
five decimals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0  # 1/φ ≈ 0.618: the golden ratio shrink of each step


class SearchResult(NamedTuple):
    """A minimum found by search: the point, f there, and how many evaluations it took."""

    point: Array  # (n,)
    value: Array  # ()
    evaluations: int


class Minimum1D(NamedTuple):
    """A one-dimensional minimum: abscissa, value, and iterations used."""

    x: Array
    value: Array
    iterations: Array


class CoordinateSearch(NamedTuple):
    """The path of a coordinate (slice) search.

    ``points[k]`` is the point after the k-th one-dimensional minimisation (``points[0]`` the
    start), ``values[k] = f(points[k])``.
    """

    points: Array  # (steps + 1, n)
    values: Array  # (steps + 1,)


def _check_bounds(bounds: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    out = []
    for k, b in enumerate(bounds):
        if len(b) != 2:
            raise ValueError(f"bounds[{k}] must be a pair (low, high), got {b!r}")
        lo, hi = float(b[0]), float(b[1])
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ValueError(f"bounds[{k}] must be finite with low < high, got ({lo}, {hi})")
        out.append((lo, hi))
    if not out:
        raise ValueError("bounds must name at least one variable: [(low, high), ...]")
    return out


def _check_count(name: str, n: int, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {n!r}")
    return n


def grid_search(f: Callable[..., ArrayLike], bounds: Sequence[Sequence[float]], num: int) -> SearchResult:
    """Minimum of ``f(x1, …, xn)`` over the grid ``linspace(lo_k, hi_k, num)`` of each variable.

    The book's *recherche sur une grille* (L1654–1656; anchor ``fonctions_surface_5.py``:
    ``meshgrid`` + ``argmin`` + ``unravel_index``): ``num**n`` evaluations. For
    g = MA + MB + MC on [0, 6]² with N = 100 the book finds (2.91, 2.97), g ≈ 7.84 (L1681).

    Args:
      f: elementwise function of n arrays (``lambda x, y: x**2 + y**2``).
      bounds: ``[(lo, hi), …]``, one pair per variable.
      num: points per axis (≥ 2).
    """
    bounds = _check_bounds(bounds)
    num = _check_count("num", num, 2)
    axes = [jnp.linspace(lo, hi, num) for lo, hi in bounds]
    grids = jnp.meshgrid(*axes, indexing="ij")
    z = jnp.asarray(f(*grids))
    if z.shape != grids[0].shape:
        raise ValueError(f"f must act elementwise: f(grid) has shape {z.shape}, expected {grids[0].shape}")
    idx = jnp.unravel_index(jnp.argmin(z), z.shape)
    point = jnp.stack([g[idx] for g in grids])
    return SearchResult(point, z[idx], num ** len(bounds))


def random_search(
    f: Callable[..., ArrayLike], bounds: Sequence[Sequence[float]], num: int, key: Array
) -> SearchResult:
    """Best of ``num`` points drawn uniformly in the box ``bounds`` (book L1660–1663).

    The book draws 1000 points in [0, 6]² and finds "for example" (2.88, 2.99), g ≈ 7.84
    (L1683) — a random result: same ``key`` → same points.
    """
    bounds = _check_bounds(bounds)
    num = _check_count("num", num, 1)
    lo = jnp.array([b[0] for b in bounds])
    hi = jnp.array([b[1] for b in bounds])
    u = jax.random.uniform(key, (num, len(bounds)), dtype=lo.dtype)
    pts = lo[None, :] + u * (hi - lo)[None, :]
    z = jnp.asarray(f(*[pts[:, k] for k in range(len(bounds))]))
    if z.shape != (num,):
        raise ValueError(f"f must act elementwise: f(points) has shape {z.shape}, expected {(num,)}")
    i = jnp.argmin(z)
    return SearchResult(pts[i], z[i], num)


def golden_section(
    f: Callable[[Array], ArrayLike],
    lo: ArrayLike,
    hi: ArrayLike,
    *,
    tol: float | None = None,
    max_iter: int = 200,
) -> Minimum1D:
    """Minimum of a unimodal ``f`` on [lo, hi] by golden-section search.

    Keeps a bracket [a, b] and two interior points c = b − (b − a)/φ, d = a + (b − a)/φ; the
    larger of f(c), f(d) discards one end, so the bracket shrinks by 1/φ ≈ 0.618 per
    evaluation. Stops when b − a ≤ ``tol`` (default 4·√ε·max(1, |lo|, |hi|) of the dtype: finer is
    meaningless because f is flat at its minimum) or after ``max_iter`` steps. Traceable (a
    ``lax.while_loop``); ``lo``/``hi`` may be traced values.

    Used for each slice of :func:`slice_search` — the book's "techniques efficaces de recherche
    de minimum" for one variable (L1689).
    """
    lo = jnp.asarray(lo, dtype=jnp.result_type(lo, hi, float))
    hi = jnp.asarray(hi, dtype=lo.dtype)
    if lo.ndim or hi.ndim:
        raise ValueError(f"golden_section needs scalar bounds, got shapes {lo.shape} and {hi.shape}")
    if tol is None:
        try:
            scale = max(1.0, abs(float(lo)), abs(float(hi)))
        except jax.errors.ConcretizationTypeError:  # traced bounds: the scale is unknown
            scale = 1.0
        tol = 4.0 * math.sqrt(float(jnp.finfo(lo.dtype).eps)) * scale

    def fx(x):
        return jnp.asarray(f(x), dtype=lo.dtype)

    c0 = hi - INV_PHI * (hi - lo)
    d0 = lo + INV_PHI * (hi - lo)

    def cond(s):
        a, b, *_, it = s
        return (b - a > tol) & (it < max_iter)

    def body(s):
        a, b, c, d, fc, fd, it = s
        left = fc < fd  # the minimum lies in [a, d]: drop (d, b]
        a2 = jnp.where(left, a, c)
        b2 = jnp.where(left, d, b)
        x_new = jnp.where(left, b2 - INV_PHI * (b2 - a2), a2 + INV_PHI * (b2 - a2))
        f_new = fx(x_new)
        c2 = jnp.where(left, x_new, d)
        d2 = jnp.where(left, c, x_new)
        fc2 = jnp.where(left, f_new, fd)
        fd2 = jnp.where(left, fc, f_new)
        return a2, b2, c2, d2, fc2, fd2, it + 1

    init = (lo, hi, c0, d0, fx(c0), fx(d0), jnp.asarray(0))
    a, b, *_, it = jax.lax.while_loop(cond, body, init)
    x = (a + b) / 2
    return Minimum1D(x, fx(x), it)


def coordinate_search(
    f: Callable[[Array], ArrayLike],
    start: ArrayLike,
    bounds: Sequence[Sequence[float]],
    *,
    order: Sequence[int] | None = None,
    sweeps: int = 5,
    tol: float | None = None,
) -> CoordinateSearch:
    """*Recherche par tranches* in n variables (book L1665–1671): minimise f along one coordinate
    at a time (the others fixed) by :func:`golden_section`, in ``order``, ``sweeps`` times.

    Args:
      f: function of a point ``p`` of shape (n,) returning a scalar.
      start: the starting point (n,); the first coordinate minimised ignores its own start value.
      bounds: the search box ``[(lo, hi), …]`` (one pair per coordinate).
      order: coordinates in the order they are minimised in each sweep (default 0, 1, …, n−1).
      sweeps: how many times every coordinate is minimised.

    Returns:
      the path: the start, then the point after each of the ``sweeps · n`` slices, and f there.
    """
    bounds = _check_bounds(bounds)
    start = jnp.asarray(start, dtype=jnp.result_type(float))
    n = len(bounds)
    if start.shape != (n,):
        raise ValueError(f"start must have shape ({n},) to match bounds, got {start.shape}")
    order = tuple(range(n)) if order is None else tuple(order)
    if sorted(set(order)) != sorted(order) or any(not 0 <= k < n for k in order):
        raise ValueError(f"order must list distinct coordinates in 0..{n - 1}, got {order}")
    sweeps = _check_count("sweeps", sweeps, 1)

    def fp(p):
        return jnp.asarray(f(p), dtype=start.dtype)

    def sweep(p, _):
        points, values = [], []
        for k in order:
            lo, hi = bounds[k]
            m = golden_section(lambda t, p=p, k=k: fp(p.at[k].set(t)), lo, hi, tol=tol)
            p = p.at[k].set(m.x)
            points.append(p)
            values.append(m.value)
        return p, (jnp.stack(points), jnp.stack(values))

    @jax.jit
    def run(p0):
        # one compiled sweep, scanned: compile time does not grow with the number of sweeps
        _, (pts, vals) = jax.lax.scan(sweep, p0, length=sweeps)
        pts = jnp.concatenate([p0[None, :], pts.reshape(-1, n)])
        return pts, jnp.concatenate([fp(p0)[None], vals.reshape(-1)])

    pts, vals = run(start)
    return CoordinateSearch(pts, vals)


def slice_search(
    f: Callable[[Array, Array], ArrayLike],
    x0: float,
    bounds: Sequence[Sequence[float]],
    *,
    steps: int = 5,
    tol: float | None = None,
) -> CoordinateSearch:
    """The book's two-variable slice search (L1665–1691): from the slice x = x0, minimise
    y ↦ f(x_i, y) to get y_i, then x ↦ f(x, y_i) to get x_{i+1}; ``steps`` double slices.

    For g = MA + MB + MC on [0, 6]² from x0 = 0 the book finds y0 ≈ 2.45, x1 ≈ 2.84 and after 5
    steps (2.90579, 2.98464), g ≈ 7.83867 (L1685–1691).

    Returns:
      the :class:`CoordinateSearch` path: ``points[0] = (x0, ·)``, ``points[1] = (x0, y0)``,
      ``points[2] = (x1, y0)``, … ``points[2·steps] = (x_steps, y_{steps−1})``.
    """
    bounds = _check_bounds(bounds)
    if len(bounds) != 2:
        raise ValueError(f"slice_search is for two variables: bounds needs 2 pairs, got {len(bounds)}")
    return coordinate_search(
        lambda p: f(p[0], p[1]),
        jnp.array([x0, (bounds[1][0] + bounds[1][1]) / 2]),
        bounds,
        order=(1, 0),
        sweeps=steps,
        tol=tol,
    )
