"""Softmax, argmax and the Gaussian law — chapter 16 *Probabilités* (Probabilities),
book lines 8017–8357; softmax with temperature from chapter 17 *ChatGPT partie 1* (L8566–8578).

- argmax: the **rank** of the maximum, 1-based in the book (argmax(3, 1, 8, 6, 0) = 3, L8053);
  :func:`rank_of_max` returns the book's rank, ``jnp.argmax`` the 0-based index.
- softmax σ_i(X) = e^{x_i} / (e^{x_1} + … + e^{x_k}) (L8055–8061): values in (0, 1], sum 1
  (Proposition 1, L8063–8067); its partial derivatives ∂σ_i/∂x_j = σ_i(1 − σ_i) if i = j,
  −σ_iσ_j otherwise (L8075–8081) — :func:`softmax_jacobian`, tested against ``jax.jacobian``.
- softmax with temperature T: softmax(X / T) (L8566–8578).
- mean, variance (1/n, population), standard deviation, the Gaussian density
  f(x) = e^{−½((x − μ)/σ)²} / (σ√(2π)) (L8188–8242).

Every function that needs a probability distribution checks it when its input is concrete (not
traced by ``jit``) and says what is wrong: negative entries, or a sum that is not 1.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike


def _is_concrete(x: ArrayLike) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check_distribution(p: ArrayLike, name: str = "p", *, axis: int = -1, atol: float = 1e-5) -> None:
    """Raise ``ValueError`` unless ``p`` is a probability vector along ``axis``.

    Only concrete arrays are checked (inside ``jit`` the values are not known); the message
    names the argument, the offending entry or sum, and what was expected.
    """
    if not _is_concrete(p):
        return
    a = np.asarray(p, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError(f"{name} must be a vector of probabilities, got a scalar {a.item()}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values: {a[~np.isfinite(a)][:3].tolist()}")
    if np.any(a < -atol):
        raise ValueError(f"{name} has negative entries ({a.min():.4g}); probabilities are ≥ 0")
    sums = a.sum(axis=axis)
    bad = np.abs(sums - 1) > atol * max(1, a.shape[axis])
    if np.any(bad):
        first = np.asarray(sums)[bad].ravel()[0]
        raise ValueError(
            f"{name} must sum to 1 along axis {axis} (a probability distribution); "
            f"a sum is {first:.6g}"
        )


def rank_of_max(x: ArrayLike, axis: int = -1) -> Array:
    """The book's argmax: the 1-based rank where the maximum is reached (L8053).

    ``rank_of_max([3, 1, 8, 6, 0]) = 3`` while ``jnp.argmax`` gives the 0-based index 2.
    """
    return jnp.argmax(jnp.asarray(x), axis=axis) + 1


def one_hot(rank: ArrayLike, k: int) -> Array:
    """The category vector (0, …, 1, …, 0) of a 0-based class index (L8046–8051)."""
    return jax.nn.one_hot(rank, k)


def softmax(x: ArrayLike, axis: int = -1) -> Array:
    """softmax(X)_i = e^{x_i} / Σ_j e^{x_j} (book L8055–8061).

    The maximum is subtracted first: softmax(X + c) = softmax(X), and e^{x_i − max} never
    overflows. Equals ``jax.nn.softmax``.
    """
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("softmax needs a vector (at least one axis), got a scalar")
    z = x - jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    e = jnp.exp(z)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def softmax_jacobian(x: ArrayLike) -> Array:
    """The matrix (∂σ_i/∂x_j): σ_i(1 − σ_i) on the diagonal, −σ_iσ_j elsewhere (L8075–8081).

    Written as diag(σ) − σσᵀ for one vector ``x`` of shape (k,).
    """
    x = jnp.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"softmax_jacobian takes one vector of shape (k,), got shape {x.shape}")
    s = softmax(x)
    return jnp.diag(s) - jnp.outer(s, s)


def softmax_temperature(x: ArrayLike, temperature: float, axis: int = -1) -> Array:
    """softmax_T(X) = softmax(X / T) (chapter 17, L8566–8578).

    T = 1 is softmax; T → 0⁺ tends to the one-hot vector of the argmax (tied maxima share the
    mass equally), T → ∞ to the uniform distribution 1/k.

    Computed as softmax((X − max X) / T): the same distribution (softmax is invariant by
    constants), but x_i / T is never formed, so a tiny T cannot overflow it (x / 1e-308 = ±inf
    and inf − inf = NaN in ``jax.nn.softmax(x / T)``): the exponents are ≤ 0 and exactly 0 at
    the maxima. A T that is 0 in the arithmetic of x's float type (1e-308 in float32, or a
    subnormal T, which XLA flushes to zero) gives the T → 0 limit itself, whose gradient is 0.
    Differentiable in x.

    Raises:
      TypeError: if T is not a real scalar.
      ValueError: if T ≤ 0 (no distribution is defined there) or T is not finite. A T traced by
        ``jit`` is not checked.
    """
    if _is_concrete(temperature):
        if np.ndim(temperature) != 0 or isinstance(temperature, (str, bytes, bool)):
            raise TypeError(f"temperature must be a real number, got {temperature!r}")
        try:
            t = float(temperature)
        except (TypeError, ValueError):
            raise TypeError(f"temperature must be a real number, got {temperature!r}") from None
        if not (t > 0 and math.isfinite(t)):
            raise ValueError(f"temperature must be > 0 and finite, got {temperature!r}")
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("softmax_temperature needs a vector (at least one axis), got a scalar")
    x = x.astype(jnp.result_type(x.dtype, float))
    t = jnp.asarray(temperature, x.dtype)
    z = x - jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))  # ≤ 0, 0 at the maxima
    vanished = t == 0  # T below the smallest float of x's type: the T → 0 limit
    top = (z == 0).astype(x.dtype)
    limit = top / jnp.sum(top, axis=axis, keepdims=True)
    return jnp.where(vanished, limit, softmax(z / jnp.where(vanished, 1, t), axis=axis))


def mean(x: ArrayLike) -> Array:
    """μ = (1/n) Σ x_i (L8211)."""
    return jnp.mean(jnp.asarray(x))


def variance(x: ArrayLike) -> Array:
    """Var(x) = (1/n) Σ (x_i − μ)² — the population variance, 1/n as in the book (L8215)."""
    x = jnp.asarray(x)
    return jnp.mean((x - jnp.mean(x)) ** 2)


def standard_deviation(x: ArrayLike) -> Array:
    """σ = √Var(x) (L8219); equals ``jnp.std`` (ddof = 0)."""
    return jnp.sqrt(variance(x))


def gaussian_density(x: ArrayLike, mu: float = 0.0, sigma: float = 1.0) -> Array:
    """f(x) = e^{−½((x − μ)/σ)²} / (σ√(2π)) (L8199, L8226–8228); σ > 0."""
    if _is_concrete(sigma) and not float(sigma) > 0:
        raise ValueError(f"the standard deviation sigma must be > 0, got {sigma}")
    u = (jnp.asarray(x) - mu) / sigma
    return jnp.exp(-0.5 * u * u) / (sigma * math.sqrt(2 * math.pi))


def sample_categorical(key: Array, p: ArrayLike, shape: tuple[int, ...] = ()) -> Array:
    """Draw 0-based category indices with probabilities ``p`` (a checked distribution)."""
    check_distribution(p, "p")
    return jax.random.categorical(key, jnp.log(jnp.asarray(p)), shape=shape)
