"""Activation functions and their derivatives — chapter 1 *Dérivée* (Derivative), §
*Fonctions d'activation* (book lines 753–877), used from chapter 5 *Réseau de neurones* on.

Each activation comes with its derivative written by hand as the book states it (tested against
``jax.grad``), so that the hand-written backpropagation of chapters 7 and 9 (*formule du
sourire*) can use the book's formulas:

- Heaviside H(x) = 0 for x < 0, 1 for x ≥ 0 — the book's convention **H(0) = 1** (L775);
  H' = 0 wherever it is defined (a step is never trained by gradient, only set by hand).
- sigmoid σ(x) = 1 / (1 + e^{−x}), σ' = σ(1 − σ) (Proposition 5, L812–857).
- tanh th(x) = (eˣ − e^{−x}) / (eˣ + e^{−x}) = 2σ(2x) − 1 (Proposition 6, L859–877), th' = 1 − th².
- ReLU(x) = max(0, x) (L802–806), ReLU'(x) = H(x) (the value 1 at 0, as Keras and JAX do not;
  see :func:`relu_prime`).
- The smooth elementary functions that label the chapter-7 networks: u ↦ u², ln, exp, cos,
  sin, identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def heaviside(x: ArrayLike) -> Array:
    """H(x) = 1 if x ≥ 0 else 0, with H(0) = 1 (book L753–775)."""
    x = jnp.asarray(x)
    return jnp.where(x >= 0, 1.0, 0.0).astype(jnp.result_type(x, float))


def keras_heaviside(x: ArrayLike) -> Array:
    """The book's Keras helper ``heaviside(x) = 1 − max(0, sign(−x))`` (L3150–3224): equals H."""
    x = jnp.asarray(x)
    return 1 - jnp.maximum(0, jnp.sign(-x))


def sigmoid(x: ArrayLike) -> Array:
    """σ(x) = 1 / (1 + e^{−x}) (book L812)."""
    return 1 / (1 + jnp.exp(-jnp.asarray(x)))


def sigmoid_prime(x: ArrayLike) -> Array:
    """σ'(x) = σ(x)(1 − σ(x)) = e^{−x} / (1 + e^{−x})² (Proposition 5, L830–857)."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: ArrayLike) -> Array:
    """th(x) = (eˣ − e^{−x}) / (eˣ + e^{−x}) (book L859); computed as ``jnp.tanh``."""
    return jnp.tanh(x)


def tanh_prime(x: ArrayLike) -> Array:
    """th'(x) = 1 − th(x)²."""
    t = jnp.tanh(x)
    return 1 - t * t


def relu(x: ArrayLike) -> Array:
    """ReLU(x) = max(0, x) (book L802–806)."""
    return jnp.maximum(jnp.asarray(x), 0)


def relu_prime(x: ArrayLike) -> Array:
    """ReLU'(x) = H(x): 0 for x < 0, 1 for x > 0, and the book's H(0) = 1 at 0.

    ReLU has no derivative at 0; ``jax.grad(jax.nn.relu)(0.) = 0``. Tests compare away from 0.
    """
    return heaviside(x)


def identity(x: ArrayLike) -> Array:
    """x ↦ x (the 'linear' activation of an output neuron)."""
    return jnp.asarray(x)


def _one(x: ArrayLike) -> Array:
    return jnp.ones_like(jnp.asarray(x, dtype=jnp.result_type(x, float)))


def _zero(x: ArrayLike) -> Array:
    return jnp.zeros_like(jnp.asarray(x, dtype=jnp.result_type(x, float)))


class Activation(NamedTuple):
    """An activation φ, its derivative φ' (by hand), and its domain for clear errors."""

    name: str
    fn: Callable[[ArrayLike], Array]
    derivative: Callable[[ArrayLike], Array]
    domain: str = "all reals"


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", identity, _one),
        Activation("square", lambda u: jnp.square(u), lambda u: 2 * jnp.asarray(u)),
        Activation("ln", jnp.log, lambda u: 1 / jnp.asarray(u), domain="u > 0"),
        Activation("exp", jnp.exp, jnp.exp),
        Activation("cos", jnp.cos, lambda u: -jnp.sin(u)),
        Activation("sin", jnp.sin, jnp.cos),
        Activation("sigmoid", sigmoid, sigmoid_prime),
        Activation("tanh", tanh, tanh_prime),
        Activation("relu", relu, relu_prime),
        Activation("heaviside", heaviside, _zero),
    )
}


def get_activation(name: str) -> Activation:
    """The activation called ``name`` (``"sigmoid"``, ``"relu"``, ``"ln"``, …).

    Raises:
      ValueError: naming the unknown activation and listing the known ones.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; known activations: {known}") from None
