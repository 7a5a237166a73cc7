"""Tensors — chapter 15 *Tenseurs* (Tensors), book lines 7783–8015.

A tensor is an array of numbers with n indices (L7794–7821). Its vocabulary (L7827–7845):

- **dimension** (English *rank*, ``T.ndim``): the number of indices, one per **axis**;
- **taille** (*shape*, ``T.shape``): the length of each axis;
- **nombre d'éléments** (*size*, ``T.size``): the product of the lengths.

The chapter's automatic derivatives (``tf.GradientTape``, L7948–8011) are ``jax.grad``: of a
scalar function at one point, at many points at once (``jax.vmap``), and the gradient of a
function of two variables, also over a whole grid (the gradient field of the saddle x² − y²).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike


class Vocabulary(NamedTuple):
    """The three words of L7827–7845 for one tensor."""

    ndim: int
    shape: tuple[int, ...]
    size: int


def vocabulary(t: ArrayLike) -> Vocabulary:
    """``(ndim, shape, size)`` of a tensor; size = ℓ₁ × … × ℓₙ (L7840)."""
    shape = tuple(np.shape(t))
    return Vocabulary(len(shape), shape, math.prod(shape))


def memory_bytes(shape: tuple[int, ...], dtype: jnp.dtype | type = jnp.uint8) -> int:
    """Bytes needed to store a tensor of ``shape`` (L7851: CIFAR-10 in uint8 is 153.6 MB)."""
    if any(int(n) < 0 for n in shape):
        raise ValueError(f"a shape has non-negative lengths, got {shape}")
    return math.prod(shape) * jnp.dtype(dtype).itemsize


def derivative(f: Callable[[Array], Array]) -> Callable[[ArrayLike], Array]:
    """x ↦ f'(x) for a scalar function, applied to every element of an array of points.

    The book's ``tape.gradient(y, x)`` over ``x = tf.range(1, 4, 0.5)`` (L7964–7987): since each
    y_i depends on x_i only, the gradient of Σ y_i is the vector of the f'(x_i); here it is
    written as ``jax.vmap(jax.grad(f))``, which does not rely on that accident.
    """
    scalar = jax.grad(f)

    def f_prime(x: ArrayLike) -> Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"derivatives need floating-point points, got dtype {x.dtype} (use 1.0, not 1)")
        return jnp.vectorize(scalar)(x)

    return f_prime


def gradient(f: Callable[..., Array], *point: float) -> tuple[Array, ...]:
    """(∂f/∂x₁, …, ∂f/∂xₙ) at ``point`` — the book's gradient of x·y² at (2, 3) (L7991–8011)."""
    if not point:
        raise ValueError("gradient needs the point's coordinates, e.g. gradient(f, 2.0, 3.0)")
    args = tuple(jnp.asarray(p, dtype=jnp.result_type(float)) for p in point)
    return jax.grad(f, argnums=tuple(range(len(args))))(*args)


def gradient_field(f: Callable[[Array, Array], Array], x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """The gradient of f(x, y) at every point of the grids ``x``, ``y`` (same shape, e.g. from
    ``jnp.meshgrid``): arrays (∂f/∂x, ∂f/∂y) of that shape (the figure of L8013)."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y grids must have the same shape, got {x.shape} and {y.shape}")
    return jnp.vectorize(jax.grad(f, argnums=(0, 1)))(x, y)
