"""The GELU activation — chapter 18 *ChatGPT partie 2* (ChatGPT part 2), §7 *Fonction
d'activation GELU*, book lines 9916–9979.

- f(x) = e^{−x²/2}/√(2π), Φ(x) = ∫_{−∞}^x f = (1 + erf(x/√2))/2 (L9926–9934).
- GELU(x) = x Φ(x) = (x/2)(1 + erf(x/√2)) (L9940, L9958) — equals ``jax.nn.gelu(x, approximate=False)``.
- The tanh approximation: the book prints (x/2)(1 + th(√(2/π) + 0.44715 x³)) (L9969), a misprint
  (its error reaches 0.51 on [−4, 4]). The right formula — Hendrycks & Gimpel's, used by the
  authors' ``gelu.py``, by GPT-2 and by ``jax.nn.gelu(approximate=True)`` — is
  (x/2)(1 + th(√(2/π)(x + 0.044715 x³))) (error below 5e−4 on [−4, 4]): :func:`gelu_tanh`.
  :func:`gelu_tanh_as_printed` keeps the printed one, only to measure how far it is.
- The sigmoid approximation x σ(1.702 x) (L9975), error about 0.02.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def normal_density(x: ArrayLike) -> Array:
    """f(x) = e^{−x²/2}/√(2π), the standard Gaussian (L9926)."""
    x = jnp.asarray(x)
    return jnp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def normal_cdf(x: ArrayLike) -> Array:
    """Φ(x) = P(X ≤ x) = (1 + erf(x/√2))/2 (L9930–9934, L9958)."""
    return 0.5 * (1.0 + jax.scipy.special.erf(jnp.asarray(x) / math.sqrt(2.0)))


def gelu(x: ArrayLike) -> Array:
    """GELU(x) = x Φ(x) = (x/2)(1 + erf(x/√2)) (L9940, L9958)."""
    x = jnp.asarray(x)
    return x * normal_cdf(x)


def gelu_tanh(x: ArrayLike) -> Array:
    """(x/2)(1 + th(√(2/π)(x + 0.044715 x³))) — the right form of the book's L9969 formula."""
    x = jnp.asarray(x)
    return 0.5 * x * (1.0 + jnp.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def gelu_tanh_as_printed(x: ArrayLike) -> Array:
    """The formula as printed at L9969, (x/2)(1 + th(√(2/π) + 0.44715 x³)) — a misprint, kept
    only to show its error; never use it as an activation."""
    x = jnp.asarray(x)
    return 0.5 * x * (1.0 + jnp.tanh(SQRT_2_OVER_PI + 0.44715 * x**3))


def gelu_sigmoid(x: ArrayLike) -> Array:
    """x σ(1.702 x) (L9973–9975)."""
    x = jnp.asarray(x)
    return x * jax.nn.sigmoid(1.702 * x)
