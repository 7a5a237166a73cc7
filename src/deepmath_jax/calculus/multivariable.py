"""The functions of chapter 3 *Fonctions de plusieurs variables* (Functions of several variables,
book lines 1468–1826): its examples, the two "best point" problems, level sets, the quadratic
surfaces and the regression line by perpendicular distance.

Functions of (x, y) act elementwise on arrays, as in the book's numpy code, so that one call
evaluates a whole ``meshgrid``. The minimum searches themselves are in :mod:`deepmath_jax.calculus.search`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

# A(1, 2), B(3, 5), C(6, 1): the three points of the "best point" problems (L1620, L1675).
THREE_POINTS = ((1.0, 2.0), (3.0, 5.0), (6.0, 1.0))
# A1(2, 3) … A5(6, 6): the five points of the regression by perpendicular distance (L1808).
REGRESSION_POINTS = ((2.0, 3.0), (3.0, 5.0), (4.0, 4.0), (5.0, 6.0), (6.0, 6.0))


def _points(points: ArrayLike) -> Array:
    p = jnp.asarray(points, dtype=jnp.result_type(float))
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ValueError(f"points must be a non-empty list of (x, y) pairs, shape (k, 2); got {p.shape}")
    return p


def _pairs(u: ArrayLike, v: ArrayLike, p: Array) -> tuple[Array, Array, Array, Array]:
    """u, v with a trailing axis and the points' columns shaped to broadcast against them
    explicitly (same rank: the tests forbid implicit rank promotion)."""
    u, v = jnp.broadcast_arrays(jnp.asarray(u), jnp.asarray(v))
    shape = (1,) * u.ndim + (p.shape[0],)
    return u[..., None], v[..., None], p[:, 0].reshape(shape), p[:, 1].reshape(shape)


# ---------------------------------------------------------------------------------------------
# Examples of § 1–2
# ---------------------------------------------------------------------------------------------


def point_line_distance(x0: ArrayLike, y0: ArrayLike, a: float, b: float, c: float) -> Array:
    """d(M, D) = |a x0 + b y0 + c| / √(a² + b²): distance from M(x0, y0) to ax + by + c = 0 (L1510)."""
    if a == 0 and b == 0:
        raise ValueError("the line ax + by + c = 0 needs (a, b) ≠ (0, 0)")
    return jnp.abs(a * jnp.asarray(x0) + b * jnp.asarray(y0) + c) / jnp.sqrt(a * a + b * b)


def bump(x: ArrayLike, y: ArrayLike) -> Array:
    """f(x, y) = x e^{−x² − y²} (L1553): f(0, 0) = 0, f(1, 0) = 1/e, f(0, y) = 0."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    return x * jnp.exp(-(x**2) - y**2)


def x_sin_y(x: ArrayLike, y: ArrayLike) -> Array:
    """f(x, y) = x sin y, the slicing example (L1587)."""
    return jnp.asarray(x) * jnp.sin(y)


def two_minima(x: ArrayLike, y: ArrayLike) -> Array:
    """A function with two local minima and one maximum (L1611; the authors' script
    ``fonctions_surface_3.py``): f = −x e^{−(x² + y²)} − ⅓ y² e^{−((x − 2)² + (y − 1)²)}."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    return -x * jnp.exp(-(x**2 + y**2)) - y**2 / 3 * jnp.exp(-((x - 2) ** 2 + (y - 1) ** 2))


def ripple(x: ArrayLike, y: ArrayLike) -> Array:
    """f(x, y) = sin(r² − x)/r + 1 with r = √(x² + y²) (L1741); undefined (nan) at the origin."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    r = jnp.sqrt(x**2 + y**2)
    return jnp.sin(r**2 - x) / r + 1


# ---------------------------------------------------------------------------------------------
# Best point: sum of squared distances (centroid) and sum of distances (Fermat point)
# ---------------------------------------------------------------------------------------------


def squared_distance_sum(x: ArrayLike, y: ArrayLike, points: ArrayLike = THREE_POINTS) -> Array:
    """f(x, y) = Σ MAᵢ² = Σ (x − xᵢ)² + (y − yᵢ)² (L1626); for A, B, C it is
    3x² + 3y² − 20x − 16y + 76 (L1632), minimal at the centroid (10/3, 8/3) with value 64/3."""
    x, y, px, py = _pairs(x, y, _points(points))
    return jnp.sum((x - px) ** 2 + (y - py) ** 2, axis=-1)


def distance_sum(x: ArrayLike, y: ArrayLike, points: ArrayLike = THREE_POINTS) -> Array:
    """g(x, y) = Σ MAᵢ = Σ √((x − xᵢ)² + (y − yᵢ)²) (L1677): the "true distance" error, minimal at
    the Fermat–Torricelli point ≈ (2.90579, 2.98464), g ≈ 7.83867 (L1691)."""
    x, y, px, py = _pairs(x, y, _points(points))
    return jnp.sum(jnp.sqrt((x - px) ** 2 + (y - py) ** 2), axis=-1)


def centroid(points: ArrayLike = THREE_POINTS) -> Array:
    """(1/k) Σ Aᵢ: the minimiser of Σ ‖M − Aᵢ‖² (L1636; (10/3, 8/3) for A, B, C)."""
    return jnp.mean(_points(points), axis=0)


# ---------------------------------------------------------------------------------------------
# Level sets and quadratic surfaces (§ 3)
# ---------------------------------------------------------------------------------------------


class LevelSet(NamedTuple):
    """The level set x² + y² = c: ``kind`` is "empty", "point" or "circle", of ``radius`` √c."""

    kind: str
    radius: float


def circle_level_set(c: float) -> LevelSet:
    """L_c of f = x² + y² (L1703–1708): empty for c < 0, {(0, 0)} for c = 0, the circle of
    centre O and radius √c for c > 0."""
    c = float(c)
    if c < 0:
        return LevelSet("empty", float("nan"))
    if c == 0:
        return LevelSet("point", 0.0)
    return LevelSet("circle", c**0.5)


def elliptic_paraboloid(x: ArrayLike, y: ArrayLike, a: float = 1.5, b: float = 1.0) -> Array:
    """x²/a² + y²/b² − 1 (L1753): parabolic slices, elliptic level lines. (The authors' figure
    script uses a = 1.5, b = 1.)"""
    return jnp.asarray(x) ** 2 / a**2 + jnp.asarray(y) ** 2 / b**2 - 1


def parabolic_cylinder(x: ArrayLike, y: ArrayLike) -> Array:
    """x² (L1765): parabolas in one direction, lines in the other; level lines are lines."""
    return jnp.asarray(x) ** 2 + 0 * jnp.asarray(y)


def saddle(x: ArrayLike, y: ArrayLike) -> Array:
    """x² − y² (L1776): the hyperbolic paraboloid (*selle de cheval*, *col*); level lines are
    hyperbolas."""
    return jnp.asarray(x) ** 2 - jnp.asarray(y) ** 2


def parabola_vertex(a: float, b: float, c: float = 0.0) -> float:
    """Abscissa −b/(2a) of the minimum of ax² + bx + c for a > 0 (the one-variable fact the
    slices of a paraboloid rest on)."""
    if not a > 0:
        raise ValueError(f"ax² + bx + c has a minimum only for a > 0, got a = {a}")
    return -b / (2 * a)


# ---------------------------------------------------------------------------------------------
# Regression line by perpendicular distance (§ 3.4)
# ---------------------------------------------------------------------------------------------


def perpendicular_regression_error(a: ArrayLike, b: ArrayLike, points: ArrayLike = REGRESSION_POINTS) -> Array:
    """f(a, b) = Σ d(Aᵢ, D)² = (1/(1 + a²)) Σ (a xᵢ − yᵢ + b)² for the line D: y = ax + b (L1800–1810)."""
    a, b, px, py = _pairs(a, b, _points(points))
    return jnp.sum((a * px - py + b) ** 2, axis=-1) / (1 + a[..., 0] ** 2)


def perpendicular_regression(points: ArrayLike = REGRESSION_POINTS) -> tuple[Array, Array]:
    """The exact minimiser (a, b) of :func:`perpendicular_regression_error`.

    Orthogonal (total) least squares: the best line passes through the centroid along the
    eigenvector of the largest eigenvalue of the scatter matrix Σ (Aᵢ − Ā)(Aᵢ − Ā)ᵀ. For the
    book's five points it is (0.7972, 1.6111) — the book's "(a, b) ≈ (0.8, 1.6)" (L1818). This is
    not the vertical least squares of chapter 8.

    Raises:
      ValueError: when the best line is vertical (no slope a) or the direction is not unique.
    """
    p = _points(points)
    m = jnp.mean(p, axis=0)
    q = p - m[None, :]
    w, v = jnp.linalg.eigh(q.T @ q)  # ascending eigenvalues
    if float(w[1] - w[0]) <= 1e-12 * max(1.0, float(w[1])):
        raise ValueError("the points have no preferred direction: every line through the centroid is optimal")
    dx, dy = v[0, 1], v[1, 1]
    if abs(float(dx)) < 1e-12:
        raise ValueError("the best line is vertical: it has no equation y = ax + b")
    a = dy / dx
    return a, m[1] - a * m[0]
