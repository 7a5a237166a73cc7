"""Dropout — chapter 16 *Probabilités* (Probabilities), §4 *Dropout* (book lines 8277–8357).

In training, each neuron of a layer is kept with probability p (a Bernoulli(p) draw, L8308–8312)
and switched off (output 0) with probability 1 − p; a kept neuron's output is multiplied by 1/p
(L8333–8345), so that the expected output is unchanged: E[m·x/p] = x ("inverted dropout").
At test time every neuron is active and nothing is scaled.

The book's p is the probability of **keeping** a neuron; Keras' and Flax's ``rate`` is the
probability of dropping it: rate = 1 − p.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from jax import Array
from jax.typing import ArrayLike


def _check_keep(p: float) -> float:
    p = float(p)
    if not 0 < p <= 1:
        raise ValueError(f"the keep probability p must satisfy 0 < p ≤ 1 (book L8316), got {p}")
    return p


def bernoulli_mask(key: Array, p: float, shape: tuple[int, ...]) -> Array:
    """i.i.d. Bernoulli(p) draws: 1 with probability p, 0 with probability 1 − p (L8308)."""
    return jax.random.bernoulli(key, _check_keep(p), shape)


def dropout(key: Array, x: ArrayLike, p: float, *, training: bool = True) -> Array:
    """Inverted dropout: m·x/p with m ~ Bernoulli(p) in training, x unchanged at test time."""
    x = jnp.asarray(x)
    p = _check_keep(p)
    if not training or p == 1.0:
        return x
    mask = bernoulli_mask(key, p, x.shape)
    return jnp.where(mask, x / p, jnp.zeros_like(x))


class Dropout(nnx.Module):
    """A dropout layer with the book's keep probability ``p`` (Flax's ``rate`` is 1 − p).

    ``deterministic=True`` (test time) returns the input unchanged. Random draws come from the
    ``dropout`` stream of ``rngs``, so the same seed gives the same masks.
    """

    def __init__(self, p: float, *, deterministic: bool = False, rngs: nnx.Rngs) -> None:
        self.p = _check_keep(p)
        self.deterministic = deterministic
        self.rngs = rngs.fork() if hasattr(rngs, "fork") else rngs

    def __call__(self, x: Array, *, deterministic: bool | None = None) -> Array:
        det = self.deterministic if deterministic is None else deterministic
        if det:
            return x
        return dropout(self.rngs.dropout(), x, self.p, training=True)
