"""Normalisation of data and of layers — chapter 16 *Probabilités* (Probabilities), §3
*Normalisation* (book lines 8170–8275).

- min–max scaling y ↦ (y − y_min)/(y_max − y_min) onto [0, 1] (L8181), and onto [a, b].
  **Erratum** (L8186): the book prints y ↦ (y − y_min)/(y_max − y_min)·(a − b) + b, which sends
  y_min to b and y_max to a (a decreasing map). :func:`min_max_scale` uses the increasing map
  ·(b − a) + a; :func:`book_min_max_scale` keeps the printed formula so the difference can be seen.
- standardisation x'_i = (x_i − μ)/σ with the population σ (1/n), which gives mean 0 and
  standard deviation 1 (L8238–8242).
- :class:`BatchNorm`: the same standardisation applied to each feature over a batch, with a
  learned scale γ and shift β and running averages for test time. The book does not cover batch
  normalisation; the layer is the standard one (Ioffe & Szegedy 2015) written by hand and tested
  equal to ``flax.nnx.BatchNorm``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from jax import Array
from jax.typing import ArrayLike


def _range(y: Array) -> tuple[Array, Array]:
    y_min, y_max = jnp.min(y), jnp.max(y)
    if not isinstance(y_min, jax.core.Tracer) and float(y_max - y_min) == 0.0:
        raise ValueError("min–max scaling needs at least two different values (y_max = y_min)")
    return y_min, y_max


def min_max_scale(y: ArrayLike, a: float = 0.0, b: float = 1.0) -> Array:
    """Affine map sending y_min to a and y_max to b: (y − y_min)/(y_max − y_min)·(b − a) + a.

    With (a, b) = (0, 1) this is the book's y ↦ (y − y_min)/(y_max − y_min) (L8181).
    """
    y = jnp.asarray(y)
    y_min, y_max = _range(y)
    return (y - y_min) / (y_max - y_min) * (b - a) + a


def book_min_max_scale(y: ArrayLike, a: float, b: float) -> Array:
    """The formula printed at L8186, (y − y_min)/(y_max − y_min)·(a − b) + b: it maps y_min to b
    and y_max to a — onto [a, b], but reversed (see the module's erratum)."""
    y = jnp.asarray(y)
    y_min, y_max = _range(y)
    return (y - y_min) / (y_max - y_min) * (a - b) + b


def standardize(x: ArrayLike, axis: int | None = None) -> Array:
    """x'_i = (x_i − μ)/σ with μ the mean and σ the population standard deviation (L8238–8242)."""
    x = jnp.asarray(x)
    mu = jnp.mean(x, axis=axis, keepdims=True)
    sigma = jnp.std(x, axis=axis, keepdims=True)
    return (x - mu) / sigma


class BatchNorm(nnx.Module):
    """Batch normalisation of the last axis: y = γ (x − μ_B)/√(σ²_B + ε) + β.

    In training (``use_running_average=False``) μ_B and σ²_B are the mean and population
    variance of the batch (every axis but the last) and the running averages are updated as
    r ← m·r + (1 − m)·batch statistic; in evaluation the running averages are used.

    Args:
      num_features: size of the last axis.
      momentum: m, the weight of the old running average (0.99 as Flax; Keras uses 0.99 too).
      epsilon: ε added to the variance.
      rngs: unused (no random initialisation), accepted for a uniform NNX signature.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.99,
        epsilon: float = 1e-5,
        use_running_average: bool = False,
        rngs: nnx.Rngs | None = None,
    ) -> None:
        if num_features <= 0:
            raise ValueError(f"num_features must be positive, got {num_features}")
        self.num_features = num_features
        self.momentum = momentum
        self.epsilon = epsilon
        self.use_running_average = use_running_average
        self.scale = nnx.Param(jnp.ones((num_features,)))
        self.bias = nnx.Param(jnp.zeros((num_features,)))
        self.mean = nnx.BatchStat(jnp.zeros((num_features,)))
        self.var = nnx.BatchStat(jnp.ones((num_features,)))

    def __call__(self, x: Array, *, use_running_average: bool | None = None) -> Array:
        if x.ndim < 2 or x.shape[-1] != self.num_features:
            raise ValueError(
                f"BatchNorm({self.num_features}) expects inputs of shape (batch, …, "
                f"{self.num_features}), got {x.shape}"
            )
        running = self.use_running_average if use_running_average is None else use_running_average
        shape = (1,) * (x.ndim - 1) + (self.num_features,)  # explicit broadcast over the batch
        if running:
            mu, var = self.mean[...], self.var[...]
        else:
            axes = tuple(range(x.ndim - 1))
            mu = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - mu.reshape(shape)), axis=axes)
            m = self.momentum
            self.mean[...] = m * self.mean[...] + (1 - m) * mu
            self.var[...] = m * self.var[...] + (1 - m) * var
        inv = (self.scale[...] / jnp.sqrt(var + self.epsilon)).reshape(shape)
        return (x - mu.reshape(shape)) * inv + self.bias[...].reshape(shape)
