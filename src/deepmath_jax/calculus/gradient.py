"""Partial derivatives, gradient and its geometry — chapter 7 *Gradient* (Gradient), §1–2
(book lines 3380–3725).

The book's functions take their variables one by one, ``f(x, y)`` or ``f(x, y, z)``; so do
these. Each tool comes twice: the book's formula written by hand (the limit of a difference
quotient, the sum h·∂f/∂x + k·∂f/∂y, the tangent equation…) and the library side
(``jax.grad``, ``jax.jvp``, ``jax.hessian``); the tests check they agree.

- Partial derivative (definition L3402–3410): the derivative of x ↦ f(x, y₀) at x₀;
  :func:`partial_difference_quotient` (the limit) and :func:`partial_derivative` (``jax.grad``).
- Gradient (L3479–3494): grad f = (∂f/∂x₁, …, ∂f/∂xₙ); :func:`gradient`, :func:`gradient_field`.
- Tangent to a level line (Prop. 1–2, L3505–3543) and tangent plane to a level surface
  (Prop. 4, L3607–3613): :func:`level_set_tangent`, the ellipse's :func:`ellipse_tangent`.
- Steepest ascent (Prop. 3, L3549–3596) and directional derivative D_v f = h f_x + k f_y
  = ⟨grad f | v⟩ (L3566, L3588): :func:`directional_derivative`, :func:`steepest_ascent`.
- First-order approximation f(x₀+h, y₀+k) ≈ f + h f_x + k f_y (L3624; the book's
  f = x²y at (1.002, 0.997): 1.001 against 1.000992, L3630–3642):
  :func:`first_order_approximation`, :func:`tangent_plane_to_graph`.
- Critical points (Prop. 5, L3672–3709; x² − y³ + xy at (0, 0) and (1/12, −1/6)):
  :func:`critical_points` (Newton's method on grad f = 0) and :func:`critical_point_kind`
  (the second-order criterion the book mentions without describing it, L3699).

Example — the book's approximate computation (L3630–3642)::

    f = lambda x, y: x**2 * y
    gradient(f)(1.0, 1.0)                                          # [2., 1.]
    first_order_approximation(f, (1.0, 1.0), (0.002, -0.003))     # 1.001  (exact 1.000992)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

Fn = Callable[..., Array]


def _point(point: Sequence[ArrayLike] | ArrayLike) -> Array:
    p = jnp.asarray(point)
    if p.ndim != 1 or p.shape[0] == 0:
        raise ValueError(f"a point must be a non-empty vector of coordinates (x, y, …), got shape {p.shape}")
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    return p


def _on_vector(f: Fn) -> Fn:
    """f(x, y, …) as a function of the vector (x, y, …)."""
    return lambda p: f(*(p[i] for i in range(p.shape[0])))


# --------------------------------------------------------------------------------------------
# §1 Partial derivatives and the gradient
# --------------------------------------------------------------------------------------------


def partial_difference_quotient(f: Fn, point: Sequence[ArrayLike], i: int, h: ArrayLike) -> Array:
    """(f(…, xᵢ + h, …) − f(…, xᵢ, …)) / h → ∂f/∂xᵢ as h → 0 (definition, L3402–3410).

    The other variables are frozen: the partial derivative is a derivative of one variable.
    """
    p = _point(point)
    if not 0 <= i < p.shape[0]:
        raise ValueError(f"variable index {i} out of range for a point of {p.shape[0]} coordinates")
    shifted = p.at[i].add(h)
    g = _on_vector(f)
    return (g(shifted) - g(p)) / h


def partial_derivative(f: Fn, i: int) -> Fn:
    """∂f/∂xᵢ as a function of (x₁, …, xₙ) (L3402–3431), by ``jax.grad(f, argnums=i)``.

    Method of the book (L3433): derive with respect to xᵢ, the other variables being constants.
    """
    return jax.grad(f, argnums=i)


def gradient(f: Fn) -> Callable[..., Array]:
    """grad f(x₁, …, xₙ) = (∂f/∂x₁, …, ∂f/∂xₙ) (definition L3479–3486), by ``jax.grad``.

    ``gradient(lambda x, y: x**2 * y**3)(2.0, 1.0)`` is (4, 12) (L3491).
    """

    def grad_f(*point: ArrayLike) -> Array:
        return jax.grad(_on_vector(f))(_point(point))

    return grad_f


def gradient_by_difference_quotients(f: Fn, point: Sequence[ArrayLike], h: float = 1e-6) -> Array:
    """The gradient from the definition: each coordinate a (symmetric) difference quotient.

    (f(p + h eᵢ) − f(p − h eᵢ)) / 2h; error O(h²). The hand-written counterpart of
    :func:`gradient`.
    """
    p = _point(point)
    g = _on_vector(f)
    return jnp.stack([(g(p.at[i].add(h)) - g(p.at[i].add(-h))) / (2 * h) for i in range(p.shape[0])])


def gradient_field(f: Fn, X: ArrayLike, Y: ArrayLike) -> tuple[Array, Array]:
    """(∂f/∂x, ∂f/∂y) at every point of a grid (``X``, ``Y`` from ``jnp.meshgrid``), by
    ``jax.vmap`` of ``jax.grad`` — the arrows of the book's level-line figures (L3721–3725)."""
    X, Y = jnp.asarray(X), jnp.asarray(Y)
    if X.shape != Y.shape:
        raise ValueError(f"X and Y must have the same shape (from meshgrid), got {X.shape} and {Y.shape}")
    fx, fy = jax.vmap(jax.grad(f, argnums=(0, 1)))(X.ravel(), Y.ravel())
    return fx.reshape(X.shape), fy.reshape(X.shape)


# --------------------------------------------------------------------------------------------
# §2 Geometry: tangents, steepest ascent, directional derivative, approximation
# --------------------------------------------------------------------------------------------


def level_set_tangent(f: Fn, point: Sequence[ArrayLike]) -> tuple[Array, Array]:
    """The tangent to the level set of f through ``point``, as (n, c) with n·X = c.

    Two variables (Prop. 2, L3519–3525): ∂f/∂x(x₀,y₀)(x − x₀) + ∂f/∂y(x₀,y₀)(y − y₀) = 0, the
    tangent line; three variables (Prop. 4, L3607–3613), the tangent plane; n = grad f is
    orthogonal to the level set (Prop. 1, L3505). c = ⟨n, P⟩.

    Raises:
      ValueError: grad f(P) = 0 — the book's condition "pourvu que le gradient … ne soit pas le
        vecteur nul" (L3525): there is no tangent from the gradient at a critical point.
    """
    p = _point(point)
    n = jax.grad(_on_vector(f))(p)
    if not bool(jnp.any(n != 0)):
        raise ValueError(f"grad f = 0 at {np.asarray(p).tolist()}: the gradient gives no tangent at a "
                         "critical point (Prop. 2 needs a non-zero gradient)")
    return n, n @ p


def ellipse_tangent(a: float, b: float, x0: float, y0: float, *, atol: float = 1e-9) -> tuple[float, float, float]:
    """The book's tangent to the ellipse x²/a² + y²/b² = 1 at (x₀, y₀): (x₀/a²) x + (y₀/b²) y = 1,
    returned as (x₀/a², y₀/b², 1) (L3526–3543) — the closed form that :func:`level_set_tangent`
    gives up to the factor 2.

    Raises:
      ValueError: a or b is not positive, or (x₀, y₀) is not on the ellipse.
    """
    if a <= 0 or b <= 0:
        raise ValueError(f"the half-axes a, b must be positive, got a={a}, b={b}")
    level = x0**2 / a**2 + y0**2 / b**2
    if abs(level - 1) > atol:
        raise ValueError(f"({x0}, {y0}) is not on the ellipse x²/{a}² + y²/{b}² = 1 (x²/a² + y²/b² = {level})")
    return x0 / a**2, y0 / b**2, 1.0


def directional_derivative(f: Fn, point: Sequence[ArrayLike], v: Sequence[ArrayLike]) -> Array:
    """D_v f(P) = h ∂f/∂x(P) + k ∂f/∂y(P) = ⟨grad f(P) | v⟩ for v = (h, k) (L3566, L3588);
    any number of variables. The slope of f along the slice directed by v (L3570)."""
    p, v = _point(point), _point(v)
    if v.shape != p.shape:
        raise ValueError(f"the direction v has {v.shape[0]} coordinates, the point {p.shape[0]}")
    return jnp.sum(jax.grad(_on_vector(f))(p) * v)


def directional_derivative_jvp(f: Fn, point: Sequence[ArrayLike], v: Sequence[ArrayLike]) -> Array:
    """D_v f(P) by forward-mode ``jax.jvp`` — the library side of :func:`directional_derivative`."""
    p, v = _point(point), _point(v)
    return jax.jvp(_on_vector(f), (p,), (v.astype(p.dtype),))[1]


def directional_difference_quotient(f: Fn, point: Sequence[ArrayLike], v: Sequence[ArrayLike], h: ArrayLike) -> Array:
    """(f(P + h v) − f(P)) / h → D_v f(P) as h → 0: the slope of the slice t ↦ f(P + t v)."""
    p, v = _point(point), _point(v)
    g = _on_vector(f)
    return (g(p + h * v) - g(p)) / h


def steepest_ascent(f: Fn, point: Sequence[ArrayLike]) -> Array:
    """The unit vector of steepest ascent, grad f / ‖grad f‖ (Prop. 3, L3549–3596): D_v f =
    ‖grad f‖·‖v‖·cos θ is largest for θ = 0. Its opposite is the skier's direction (L3558).

    Raises:
      ValueError: grad f(P) = 0 (a critical point: every direction has slope 0).
    """
    p = _point(point)
    g = jax.grad(_on_vector(f))(p)
    norm = jnp.linalg.norm(g)
    if not bool(norm > 0):
        raise ValueError(f"grad f = 0 at {np.asarray(p).tolist()}: no direction of steepest ascent at a critical point")
    return g / norm


def first_order_approximation(f: Fn, point: Sequence[ArrayLike], step: Sequence[ArrayLike]) -> Array:
    """f(x₀ + h, y₀ + k) ≈ f(x₀, y₀) + h ∂f/∂x(x₀, y₀) + k ∂f/∂y(x₀, y₀) (L3624), for h, k small;
    any number of variables. Book: f = x²y, (x₀, y₀) = (1, 1), (h, k) = (0.002, −0.003) gives
    1 + 2h + k = 1.001 (L3640) against f(1.002, 0.997) = 1.000992 (L3642)."""
    p, s = _point(point), _point(step)
    if s.shape != p.shape:
        raise ValueError(f"the step has {s.shape[0]} coordinates, the point {p.shape[0]}")
    g = _on_vector(f)
    return g(p) + jnp.sum(jax.grad(g)(p) * s)


def tangent_plane_to_graph(f: Fn, x0: float, y0: float) -> Callable[[ArrayLike, ArrayLike], Array]:
    """The plane tangent to the graph z = f(x, y) above (x₀, y₀) (L3626–3628):
    z = f(x₀, y₀) + (x − x₀) ∂f/∂x(x₀, y₀) + (y − y₀) ∂f/∂y(x₀, y₀), as a function of (x, y)."""
    p = _point((x0, y0))
    z0 = f(p[0], p[1])
    fx, fy = jax.grad(f, argnums=(0, 1))(p[0], p[1])
    return lambda x, y: z0 + (jnp.asarray(x) - p[0]) * fx + (jnp.asarray(y) - p[1]) * fy


# --------------------------------------------------------------------------------------------
# §2.7 Critical points
# --------------------------------------------------------------------------------------------


class CriticalPoint(NamedTuple):
    """A point where grad f = 0, the value of f there, and its kind (:func:`critical_point_kind`)."""

    point: np.ndarray
    value: float
    kind: str


def critical_points(
    f: Fn,
    starts: ArrayLike,
    *,
    steps: int = 60,
    tol: float = 1e-10,
    merge: float = 1e-6,
) -> list[CriticalPoint]:
    """The critical points of f (Prop. 5, L3672–3690: grad f = 0) reached by Newton's method on
    the system grad f(P) = 0, P ← P − Hess f(P)⁻¹ grad f(P), from each row of ``starts``.

    The book solves its example by hand (L3686–3695: 2x + y = 0, −3y² + x = 0 give (0, 0) and
    (1/12, −1/6)) and warns that in general the system is not linear and cannot be solved
    exactly (L3703); Newton's method (chapter 1) is the numerical way. Starts whose iterates do
    not reach ‖grad f‖ ≤ tol (singular Hessian, divergence) are dropped; points closer than
    ``merge`` are counted once. Sorted by coordinates.
    """
    starts = jnp.atleast_2d(jnp.asarray(starts, dtype=jnp.result_type(float)))
    g = _on_vector(f)
    grad, hess = jax.grad(g), jax.hessian(g)

    def newton(p: Array) -> Array:
        def step(_: int, q: Array) -> Array:
            return q - jnp.linalg.solve(hess(q), grad(q))

        return jax.lax.fori_loop(0, steps, step, p)

    ends = np.asarray(jax.jit(jax.vmap(newton))(starts))
    found: list[np.ndarray] = []
    for q in ends:
        if not np.all(np.isfinite(q)) or float(jnp.linalg.norm(grad(jnp.asarray(q)))) > tol:
            continue
        if all(np.linalg.norm(q - r) > merge for r in found):
            found.append(q)
    found.sort(key=lambda q: tuple(q))
    return [CriticalPoint(q, float(g(jnp.asarray(q))), critical_point_kind(f, q)) for q in found]


def critical_point_kind(f: Fn, point: Sequence[ArrayLike], *, atol: float = 1e-12) -> str:
    """``"local min"``, ``"local max"``, ``"saddle"`` or ``"degenerate"`` at a critical point,
    from the eigenvalues of the Hessian (all > 0, all < 0, both signs, some ≈ 0).

    This is the second-order criterion the book alludes to without describing it (L3699: "Il
    existe un critère (que l'on ne décrira pas ici)"); the book's own argument at (0, 0) for
    x² − y³ + xy is that f(0, y) = −y³ takes both signs (L3697), a saddle here.

    Raises:
      ValueError: ``point`` is not a critical point (grad f ≠ 0 there).
    """
    p = _point(point)
    g = _on_vector(f)
    grad = jax.grad(g)(p)
    scale = 1.0 + float(jnp.max(jnp.abs(p)))
    if float(jnp.linalg.norm(grad)) > 1e-6 * scale:
        raise ValueError(f"{np.asarray(p).tolist()} is not a critical point: grad f = {np.asarray(grad).tolist()}")
    eig = np.linalg.eigvalsh(np.asarray(jax.hessian(g)(p)))
    tol = atol * max(1.0, float(np.max(np.abs(eig))))
    if np.any(np.abs(eig) <= tol):
        return "degenerate"
    if np.all(eig > 0):
        return "local min"
    if np.all(eig < 0):
        return "local max"
    return "saddle"
