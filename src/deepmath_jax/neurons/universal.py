"""The universal approximation construction — chapter 5 *Réseau de neurones* (Neural network),
§ 5 *Théorème d'approximation universelle* (book lines 2747–2907).

Hidden neurons use the Heaviside step H (H(0) = 1), the output neuron the identity (L2757–2767):

- step neurons (*fonctions marches*, L2769–2814): H(ax + 1) = 1 for x ≥ −1/a, H(ax − 1) for
  x ≥ 1/a, H(−bx + 1) for x ≤ 1/b, H(−bx − 1) for x ≤ −1/b (a, b > 0) — :func:`step_neuron`;
- the *créneau* (L2816–2832): H(x/α − 1) + H(−x/β + 1) − 1 = 1 on [α, β], 0 elsewhere, times k
  for height k — :func:`creneau`;
- step functions (*fonctions en escalier*, Proposition 6, L2834–2863) by 2n + 1 neurons — the
  double créneau of height 4 on [2, 3] and 6 on [5, 10] (L2834–2844) is :data:`DOUBLE_CRENEAU`;
- Theorem 2 (L2865–2895): a continuous f on [a, b] is uniformly approximated by the step
  function equal to f(xᵢ) on [xᵢ, xᵢ₊₁] — :func:`step_approximation` is the construction of the
  book's ``calcul_approximation`` (chapter 6, L3252–3285): neuron 2i = H(x/xᵢ − 1), neuron
  2i + 1 = H(−x/xᵢ₊₁ + 1), output weights f(xᵢ), f(xᵢ) and bias −Σ f(xᵢ). Its coefficients are
  1/xᵢ, so it needs 0 < a < b;
- Theorem 3 (L2897–2907): the indicator of the square [0, 1]² by four H neurons and an AND
  neuron — :data:`SQUARE_NETWORK`.

At an interior grid point the two créneaux meet and F = f(xᵢ₋₁) + f(xᵢ) (the junction artefact
of L2849); :func:`approximation_error` therefore measures the error at points inside the cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.neurons.perceptron import Layer, Network, apply_network, neurons


def step_neuron(threshold: float, up: bool = True) -> Layer:
    """One H neuron of the book's form (L2769–2814): for ``up`` it is 1 for x ≥ t, else for
    x ≤ t, with t = ``threshold``.

    t > 0: H(x/t − 1) (up) or H(−x/t + 1) (down); t < 0: H(−x/t + 1) = H(ax + 1) with a = −1/t > 0
    (up) or H(x/t − 1) = H(−bx − 1) (down); t = 0: H(x) or H(−x).
    """
    t = float(threshold)
    if not np.isfinite(t):
        raise ValueError(f"the step threshold must be finite, got {threshold!r}")
    if t == 0:
        coef, bias = (1.0, 0.0) if up else (-1.0, 0.0)
    elif (t > 0) == up:  # H(x/t − 1): x/t ≥ 1 ⇔ x ≥ t (t > 0) or x ≤ t (t < 0)
        coef, bias = 1 / t, -1.0
    else:  # H(−x/t + 1): x/t ≤ 1 ⇔ x ≤ t (t > 0) or x ≥ t (t < 0)
        coef, bias = -1 / t, 1.0
    return neurons([(coef,)], [bias])


def _check_positive_intervals(intervals: Sequence[Sequence[float]], what: str) -> np.ndarray:
    iv = np.asarray(intervals, dtype=np.float64)
    if iv.ndim != 2 or iv.shape[1] != 2 or len(iv) == 0:
        raise ValueError(f"{what} must be a non-empty list of intervals (α, β), got shape {iv.shape}")
    if not np.all(np.isfinite(iv)) or np.any(iv[:, 0] >= iv[:, 1]):
        raise ValueError(f"each interval (α, β) of {what} must be finite with α < β, got {iv.tolist()}")
    if np.any(iv[:, 0] <= 0):
        raise ValueError(
            f"the book's créneau neurons H(x/α − 1), H(−x/β + 1) divide by the end points, so they need "
            f"0 < α < β; got {iv.tolist()} (shift the variable x ↦ x − c to work on positive numbers)"
        )
    return iv


def staircase(intervals: Sequence[Sequence[float]], heights: Sequence[float]) -> Network:
    """A step function of height hᵢ on [αᵢ, βᵢ] by 2n + 1 neurons (Proposition 6, L2857–2863):
    créneau pairs H(x/αᵢ − 1), H(−x/βᵢ + 1) in the first layer, then the identity output
    Σ hᵢ (s₂ᵢ + s₂ᵢ₊₁) − Σ hᵢ (each pair adds hᵢ on [αᵢ, βᵢ] and 0 elsewhere).

    Raises:
      ValueError: for an interval with α ≤ 0 (the book's neurons divide by α and β), α ≥ β, or
        heights that do not match the intervals.
    """
    iv = _check_positive_intervals(intervals, "intervals")
    h = np.asarray(heights, dtype=np.float64)
    if h.shape != (len(iv),):
        raise ValueError(f"{len(iv)} intervals need {len(iv)} heights, got shape {h.shape}")
    coefs, biases = [], []
    for alpha, beta in iv:
        coefs += [(1 / alpha,), (-1 / beta,)]
        biases += [-1.0, 1.0]
    return (neurons(coefs, biases), neurons([np.repeat(h, 2)], [-float(np.sum(h))], "identity"))


def creneau(alpha: float, beta: float, height: float = 1.0) -> Network:
    """The créneau of height k on [α, β] (L2816–2832): H(x/α − 1), H(−x/β + 1), then the identity
    k·s₁ + k·s₂ − k. Needs 0 < α < β."""
    return staircase([(alpha, beta)], [height])


# Height 4 on [2, 3] and 6 on [5, 10] (L2834–2844, fig_neurones_85): hidden (1/2, −1), (−1/3, 1),
# (1/5, −1), (−1/10, 1); output (4, 4, 6, 6) with bias −4 − 6 = −10.
DOUBLE_CRENEAU: Network = staircase([(2, 3), (5, 10)], [4, 6])


def grid(a: float, b: float, n: int) -> np.ndarray:
    """The n + 1 points xᵢ = a + i (b − a)/n (float64; x_n = b exactly)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of sub-intervals) must be an integer ≥ 1, got {n!r}")
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise ValueError(f"the interval [a, b] must be finite with a < b, got [{a}, {b}]")
    return np.linspace(a, b, n + 1)


def step_heights(f: Callable[[Array], ArrayLike], a: float, b: float, n: int) -> np.ndarray:
    """f(x₀), …, f(x_{n−1}): the left end-point values the step approximation takes."""
    xs = grid(a, b, n)
    y = np.asarray(f(jnp.asarray(xs[:-1])), dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"f must act elementwise on an array of shape ({n},), got output shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"f is not finite at every grid point of [{a}, {b}]: {y.tolist()}")
    return y


def step_approximation(f: Callable[[Array], ArrayLike], a: float, b: float, n: int) -> Network:
    """The network of Theorem 2 / the book's ``calcul_approximation`` (L2883–2889, L3252–3285):
    2n Heaviside neurons H(x/xᵢ − 1), H(−x/xᵢ₊₁ + 1) and an identity output with weights f(xᵢ),
    f(xᵢ) and bias −Σ f(xᵢ), so that F = f(xᵢ) on each open cell (xᵢ, xᵢ₊₁).

    Raises:
      ValueError: when a ≤ 0 — the book's construction divides by the grid points xᵢ (a = 0 is a
        division by zero, a < 0 turns the inequalities round) — or a ≥ b, or n < 1.
    """
    if float(a) <= 0:
        raise ValueError(
            f"step_approximation needs 0 < a < b: the book's construction uses the coefficients 1/xᵢ of "
            f"the grid points, which fails for a = {a} ≤ 0 (shift the variable, e.g. approximate "
            f"t ↦ f(t + c) on [a − c, b − c] with c < a, … or use an interval of positive numbers)"
        )
    xs = grid(a, b, n)
    return staircase(np.stack([xs[:-1], xs[1:]], axis=1), step_heights(f, a, b, n))


class ApproximationError(NamedTuple):
    """The error of a step approximation, measured inside the cells."""

    max_error: float  # max |F(x) − f(x)| over the sample points
    step_bound: float  # max |f(x) − f(xᵢ)| over the same points: the left-step function's error
    points: np.ndarray  # the sample points (strictly inside the cells)


def cell_samples(a: float, b: float, n: int, per_cell: int = 50) -> np.ndarray:
    """``per_cell`` points strictly inside each cell (xᵢ, xᵢ₊₁): xᵢ + h (k + ½)/per_cell."""
    xs = grid(a, b, n)
    frac = (np.arange(per_cell) + 0.5) / per_cell
    return (xs[:-1, None] + (xs[1:] - xs[:-1])[:, None] * frac[None, :]).ravel()


def approximation_error(
    network: Sequence[Layer], f: Callable[[Array], ArrayLike], a: float, b: float, n: int, per_cell: int = 50
) -> ApproximationError:
    """Uniform error of a network F against f on [a, b], sampled inside the n cells of the grid
    (the junction points xᵢ, where F doubles, are left out: L2849).

    ``step_bound`` is the error the ideal left-step function would have at the same points; for
    the network of :func:`step_approximation` the two agree up to round-off, and both fall like
    ω_f((b − a)/n) as n grows (Theorem 2).
    """
    pts = cell_samples(a, b, n, per_cell)
    fx = np.asarray(f(jnp.asarray(pts)), dtype=np.float64)
    net_x = np.asarray(apply_network(network, jnp.asarray(pts)[:, None])[:, 0], dtype=np.float64)
    left = np.repeat(step_heights(f, a, b, n), per_cell)
    return ApproximationError(float(np.max(np.abs(net_x - fx))), float(np.max(np.abs(left - fx))), pts)


# The indicator of [0, 1]² (Theorem 3, L2897–2907, fig_neurones_90): H(x), H(1 − x), H(y), H(1 − y),
# then AND = H(s₁ + s₂ + s₃ + s₄ − 4).
SQUARE_NETWORK: Network = (
    neurons([(1, 0), (-1, 0), (0, 1), (0, -1)], [0, 1, 0, 1]),
    neurons([(1, 1, 1, 1)], [-4]),
)


def square_indicator(x: ArrayLike, y: ArrayLike) -> Array:
    """Reference: 1 on the closed square [0, 1]², 0 elsewhere (the target of :data:`SQUARE_NETWORK`;
    the authors' ``neurones_surface_1.py`` plots it)."""
    x, y = jnp.asarray(x, dtype=jnp.result_type(float)), jnp.asarray(y)
    return ((x >= 0) & (x <= 1) & (y >= 0) & (y <= 1)).astype(x.dtype)
