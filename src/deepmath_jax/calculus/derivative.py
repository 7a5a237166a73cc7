"""Derivatives of functions of one variable — chapter 1 *Dérivée* (Derivative), book lines 156–1059.

- the difference quotient and its limit f'(x₀) (L176–230), the first-order approximation
  f(x₀ + h) ≈ f(x₀) + h f'(x₀) (L228–282) and the tangent y = (x − x₀) f'(x₀) + f(x₀) (L284–306);
- the table of usual derivatives (L308–323) and the rules of Proposition 1 (sum, scalar,
  product, quotient; L325–351) and Proposition 2 (composition, L384–398), each as a hand-written
  pair (f, f') beside ``jax.grad`` (tests check that they agree);
- critical points and the second-derivative test (Propositions 7 and 8, L931–1059), with the
  book's two minimisation problems: the point M(x, x) closest to A, B, C (E(x) = 6x² − 22x + 27,
  minimum 41/6 at 11/6, L880–906) and the point of the parabola y = x² closest to A(1, 2)
  (L952–992).

Functions take and return JAX arrays (float64 when ``jax_enable_x64`` is on); the polynomial
helpers use exact :class:`fractions.Fraction` arithmetic where the book gives fractions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

Fn = Callable[[ArrayLike], Array]

# --------------------------------------------------------------------------------------------
# Difference quotient, first-order approximation, tangent
# --------------------------------------------------------------------------------------------


def difference_quotient(f: Fn, x0: ArrayLike, h: ArrayLike) -> Array:
    """Taux d'accroissement (f(x₀ + h) − f(x₀)) / h (L180, L232); → f'(x₀) as h → 0.

    Raises:
      ValueError: if some ``h`` is 0 (the quotient is the limit, not the value at h = 0).
    """
    h = jnp.asarray(h)
    if np.any(np.asarray(h) == 0):
        raise ValueError("difference_quotient needs h ≠ 0 (f'(x₀) is the limit as h → 0)")
    return (f(x0 + h) - f(x0)) / h


def symmetric_difference_quotient(f: Fn, x0: ArrayLike, h: ArrayLike) -> Array:
    """(f(x₀ + h) − f(x₀ − h)) / (2h): error O(h²) instead of O(h) (not in the book; used to
    check derivatives numerically)."""
    h = jnp.asarray(h)
    if np.any(np.asarray(h) == 0):
        raise ValueError("symmetric_difference_quotient needs h ≠ 0")
    return (f(x0 + h) - f(x0 - h)) / (2 * h)


def derivative(f: Fn, df: Fn | None = None) -> Fn:
    """f' — the hand-written ``df`` when given, else ``jax.grad`` (elementwise on arrays)."""
    return df if df is not None else jnp.vectorize(jax.grad(f))


def linear_approximation(f: Fn, x0: ArrayLike, h: ArrayLike, df: Fn | None = None) -> Array:
    """f(x₀ + h) ≈ f(x₀) + h f'(x₀) (L238): sin(0.01) ≈ 0.01, √1.1 ≈ 1.05 (L248–275)."""
    return f(x0) + h * derivative(f, df)(x0)


def tangent(f: Fn, x0: ArrayLike, df: Fn | None = None) -> tuple[Array, Array]:
    """The tangent at x₀, y = (x − x₀) f'(x₀) + f(x₀) (L292), as (slope, intercept):
    for √x at 1, y = x/2 + 1/2 (L298–302); for σ at 0, y = x/4 + 1/2 (L835)."""
    slope = derivative(f, df)(x0)
    return slope, f(x0) - x0 * slope


def second_derivative(f: Fn) -> Fn:
    """f'' = (f')' (L1000–1012), by ``jax.grad`` twice (elementwise on arrays)."""
    return jnp.vectorize(jax.grad(jax.grad(f)))


# --------------------------------------------------------------------------------------------
# Usual derivatives and the rules (hand-written beside jax.grad)
# --------------------------------------------------------------------------------------------

#: The table of L308–323: name → (f, f'), with the domain where f' is taken.
USUAL_DERIVATIVES: dict[str, tuple[Fn, Fn, str]] = {
    "x^3": (lambda x: x**3, lambda x: 3 * x**2, "ℝ"),
    "x^-2": (lambda x: x**-2, lambda x: -2 * x**-3, "x ≠ 0"),
    "1/x": (lambda x: 1 / x, lambda x: -1 / x**2, "x ≠ 0"),
    "sqrt": (jnp.sqrt, lambda x: 0.5 / jnp.sqrt(x), "x > 0"),
    "x^1.5": (lambda x: x**1.5, lambda x: 1.5 * x**0.5, "x > 0"),
    "exp": (jnp.exp, jnp.exp, "ℝ"),
    "ln": (jnp.log, lambda x: 1 / x, "x > 0"),
    "cos": (jnp.cos, lambda x: -jnp.sin(x), "ℝ"),
    "sin": (jnp.sin, jnp.cos, "ℝ"),
    "tan": (jnp.tan, lambda x: 1 + jnp.tan(x) ** 2, "cos x ≠ 0"),
}

Pair = tuple[Fn, Fn]  # (f, f')


def sum_rule(f: Pair, g: Pair) -> Pair:
    """(f + g)' = f' + g' (Proposition 1, L333)."""
    return (lambda x: f[0](x) + g[0](x)), (lambda x: f[1](x) + g[1](x))


def scalar_rule(lam: float, f: Pair) -> Pair:
    """(λf)' = λf' (Proposition 1, L337)."""
    return (lambda x: lam * f[0](x)), (lambda x: lam * f[1](x))


def product_rule(f: Pair, g: Pair) -> Pair:
    """(f × g)' = f'g + fg' (Proposition 1, L341)."""
    return (lambda x: f[0](x) * g[0](x)), (lambda x: f[1](x) * g[0](x) + f[0](x) * g[1](x))


def quotient_rule(f: Pair, g: Pair) -> Pair:
    """(f/g)' = (f'g − fg')/g² where g ≠ 0 (Proposition 1, L345)."""
    return (lambda x: f[0](x) / g[0](x)), (lambda x: (f[1](x) * g[0](x) - f[0](x) * g[1](x)) / g[0](x) ** 2)


def chain_rule(g: Pair, f: Pair) -> Pair:
    """(g ∘ f)'(x) = g'(f(x)) · f'(x) (Proposition 2, L384–398): dz/dx = dz/dy × dy/dx."""
    return (lambda x: g[0](f[0](x))), (lambda x: g[1](f[0](x)) * f[1](x))


# --------------------------------------------------------------------------------------------
# Minimum and maximum (L878–1059)
# --------------------------------------------------------------------------------------------


def classify_critical_point(f: Fn, x0: ArrayLike, *, d2f: Fn | None = None, atol: float = 1e-12) -> str:
    """Proposition 8 (L1028–1034) at a critical point x₀ (f'(x₀) = 0): ``"local min"`` if
    f''(x₀) > 0, ``"local max"`` if f''(x₀) < 0, ``"inconclusive"`` if |f''(x₀)| ≤ ``atol``.

    Raises:
      ValueError: if x₀ is not a critical point (|f'(x₀)| > ``atol``·max(1, |f(x₀)|)).
    """
    slope = float(jax.grad(f)(jnp.asarray(x0, dtype=float)))
    if abs(slope) > atol * max(1.0, abs(float(f(x0)))):
        raise ValueError(f"x₀ = {float(x0)} is not a critical point: f'(x₀) = {slope} ≠ 0")
    second = float((d2f or second_derivative(f))(jnp.asarray(x0, dtype=float)))
    if abs(second) <= atol:
        return "inconclusive"
    return "local min" if second > 0 else "local max"


def squared_distances_on_diagonal(points: Sequence[tuple[float, float]]) -> tuple[Fraction, Fraction, Fraction]:
    """E(x) = Σ AᵢM² for M = (x, x) on the line y = x (L880–902), as exact (a, b, c) with
    E(x) = ax² + bx + c: each point (p, q) adds (x − p)² + (x − q)² = 2x² − 2(p + q)x + p² + q².
    For A(1, 2), B(3, 0), C(2, 3): a = 6, b = −22, c = 27."""
    if not points:
        raise ValueError("squared_distances_on_diagonal needs at least one point")
    pts = [(Fraction(p), Fraction(q)) for p, q in points]
    return (Fraction(2 * len(pts)), -2 * sum(p + q for p, q in pts), sum(p * p + q * q for p, q in pts))


def parabola_vertex(a: float | Fraction, b: float | Fraction, c: float | Fraction) -> tuple[Fraction | float, Fraction | float]:
    """The extremum of ax² + bx + c: x₀ = −b/(2a), where E'(x) = 2ax + b vanishes (L906, L944);
    a minimum when a > 0. Exact with Fractions: E = 6x² − 22x + 27 → (11/6, 41/6).

    Raises:
      ValueError: if a = 0 (a line has no vertex).
    """
    if a == 0:
        raise ValueError("parabola_vertex needs a ≠ 0 (ax² + bx + c with a = 0 is a line)")
    x0 = -b / (2 * a)
    return x0, a * x0 * x0 + b * x0 + c


@dataclasses.dataclass(frozen=True)
class CriticalPoint:
    """A root of f' with f(x), f''(x) and the verdict of Proposition 8."""

    x: float
    value: float
    second: float
    kind: str  # "local min", "local max", "inconclusive"


def polynomial_critical_points(coeffs: Sequence[float], *, atol: float = 1e-9) -> list[CriticalPoint]:
    """The real critical points of the polynomial Σ coeffs[k] x^(n−k) (highest degree first),
    sorted, each classified by its second derivative (Proposition 8).

    The parabola point closest to A(1, 2) (L952–992): f = x⁴ − 3x² − 2x + 5 has critical points
    −1 (local min, f = 5), (1 − √3)/2 (local max), (1 + √3)/2 (global min, f = (11 − 6√3)/4).
    Float64 (numpy's companion-matrix roots).
    """
    p = np.asarray(coeffs, dtype=np.float64)
    d1, d2 = np.polyder(p), np.polyder(p, 2)
    if d1.size == 0 or not np.any(d1):
        raise ValueError("a constant polynomial has no isolated critical points")
    roots = np.roots(d1)
    real = sorted({round(float(r.real), 12) for r in roots if abs(r.imag) <= atol * max(1.0, abs(r))})
    points = []
    for x in real:
        x = float(np.real(_polish_root(d1, x)))
        s = float(np.polyval(d2, x)) if d2.size else 0.0
        kind = "inconclusive" if abs(s) <= atol else ("local min" if s > 0 else "local max")
        points.append(CriticalPoint(x, float(np.polyval(p, x)), s, kind))
    return points


def _polish_root(p: np.ndarray, x: float) -> float:
    """Two Newton steps on a root from the companion matrix (to full float64 accuracy)."""
    dp = np.polyder(p)
    for _ in range(2):
        d = np.polyval(dp, x)
        if d == 0:
            break
        x = x - np.polyval(p, x) / d
    return x


def closest_point_on_parabola(point: tuple[float, float]) -> tuple[np.ndarray, list[CriticalPoint], CriticalPoint]:
    """The point M(x, x²) of the parabola y = x² closest to A(p, q) (L952–992).

    AM² = (x − p)² + (x² − q)² = x⁴ + (1 − 2q)x² − 2px + p² + q²; minimise it over its critical
    points. Returns (coefficients of AM², critical points, the global minimum among them).
    """
    p, q = point
    coeffs = np.array([1.0, 0.0, 1 - 2 * q, -2 * p, p * p + q * q])
    crit = polynomial_critical_points(coeffs)
    best = min((c for c in crit if c.kind == "local min"), key=lambda c: c.value)
    return coeffs, crit, best

