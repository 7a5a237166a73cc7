"""Step-size schedules — chapter 8 *Descente de gradient* (Gradient descent), §2.1 *Faire
varier le pas* (book lines 4475–4506).

The book lets the step δ_k (the *learning rate*) shrink along the iterations, starting from δ0:

- linear decay       δ_k = δ0 / (k + 1)            (L4487)
- quadratic decay    δ_k = δ0 / (k + 1)²           (L4491)
- exponential decay  δ_k = δ0 · e^{−βk},  β ≥ 0    (L4495)
- Keras decay        δ_k = δ0 / (αk + 1), α ≥ 0    (L4501; α = 0 gives the constant δ0)

Each function returns an optax schedule: a plain callable of the step count k = 0, 1, 2, …
(an integer array inside ``jax.jit``), usable as ``learning_rate=`` of any optax optimizer and
of :mod:`deepmath_jax.optim.descent`::

    >>> from deepmath_jax.optim import schedules
    >>> s = schedules.keras_decay(0.1, alpha=1e-4)
    >>> round(float(s(0)), 6), round(float(s(10_000)), 6)
    (0.1, 0.05)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

Schedule = Callable[[ArrayLike], Array]


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 (a step size), got {value}")
    return float(value)


def _check_non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0, got {value}")
    return float(value)


def constant(delta0: float) -> Schedule:
    """δ_k = δ0 for every k: the fixed step of the classic descent (L4459)."""
    delta0 = _check_positive("delta0", delta0)

    def schedule(count: ArrayLike) -> Array:
        return jnp.full(jnp.shape(count), delta0)

    return schedule


def linear_decay(delta0: float) -> Schedule:
    """δ_k = δ0 / (k + 1) — *décroissance linéaire* (book L4485–4487)."""
    delta0 = _check_positive("delta0", delta0)

    def schedule(count: ArrayLike) -> Array:
        return delta0 / (jnp.asarray(count) + 1)

    return schedule


def quadratic_decay(delta0: float) -> Schedule:
    """δ_k = δ0 / (k + 1)² — *décroissance quadratique* (book L4489–4491)."""
    delta0 = _check_positive("delta0", delta0)

    def schedule(count: ArrayLike) -> Array:
        k1 = jnp.asarray(count) + 1
        return delta0 / (k1 * k1)

    return schedule


def exponential_decay(delta0: float, beta: float) -> Schedule:
    """δ_k = δ0 · e^{−βk}, β ≥ 0 — *décroissance exponentielle* (book L4493–4497).

    Equal to ``optax.exponential_decay(δ0, transition_steps=1, decay_rate=e^{−β})``.
    """
    delta0 = _check_positive("delta0", delta0)
    beta = _check_non_negative("beta", beta)

    def schedule(count: ArrayLike) -> Array:
        return delta0 * jnp.exp(-beta * jnp.asarray(count))

    return schedule


def keras_decay(delta0: float, alpha: float) -> Schedule:
    """δ_k = δ0 / (αk + 1), α ≥ 0 the *decay* — the linear decay Keras used (book L4499–4503).

    α = 0 gives the constant step δ0; the book quotes 10⁻⁶ ≤ α ≤ 10⁻⁴ as usual values.
    (Keras 2's ``SGD(decay=α)``; Keras 3 calls it ``InverseTimeDecay(δ0, 1, α)``.)
    """
    delta0 = _check_positive("delta0", delta0)
    alpha = _check_non_negative("alpha", alpha)

    def schedule(count: ArrayLike) -> Array:
        return delta0 / (alpha * jnp.asarray(count) + 1)

    return schedule
