"""Chapter 15 — tensors: vocabulary, reshaping identities, gradients of tensor functions."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepmath_jax.probability.tensors import derivative, gradient, gradient_field, memory_bytes, vocabulary


@given(t=hnp.arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4)))
def test_reshape_keeps_the_flattening(t):
    voc = vocabulary(t)
    assert voc.size == math.prod(t.shape) == t.size and voc.ndim == t.ndim
    flat = jnp.asarray(t).flatten()
    for shape in ((t.size,), (1, t.size), (t.size, 1, 1), (-1, 1)):
        np.testing.assert_array_equal(jnp.reshape(jnp.asarray(t), shape).flatten(), flat)
    np.testing.assert_array_equal(jnp.reshape(flat, t.shape), t)


@given(a=hnp.arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 4))))
def test_concatenate_shapes(a):
    n, p = a.shape
    assert jnp.concatenate((a, a), axis=0).shape == (2 * n, p)
    assert jnp.concatenate((a, a), axis=1).shape == (n, 2 * p)


def test_book_gradients(x64):
    assert float(jax.grad(lambda x: x**2)(3.0)) == 6.0
    x = jnp.arange(1, 4, 0.5)
    f = lambda x: 2 * jnp.log(x) + jnp.exp(-x)  # noqa: E731
    np.testing.assert_allclose(derivative(f)(x), 2 / x - jnp.exp(-x), rtol=1e-14)
    assert [float(g) for g in gradient(lambda x, y: x * y**2, 2.0, 3.0)] == [9.0, 12.0]


@given(x=st.floats(-3, 3), y=st.floats(-3, 3))
def test_saddle_gradient_is_orthogonal_to_its_level_line(x64, x, y):
    # f = x² − y²: grad = (2x, −2y); the level line through (x, y) has tangent (y, x)
    # (the hyperbola x² − y² = c is parametrised with velocity ∝ (y, x)).
    u, v = gradient_field(lambda x, y: x**2 - y**2, jnp.array([x]), jnp.array([y]))
    assert (float(u[0]), float(v[0])) == (pytest.approx(2 * x), pytest.approx(-2 * y))
    assert float(u[0] * y + v[0] * x) == pytest.approx(0, abs=1e-12)


def test_memory_and_errors():
    assert memory_bytes((50_000, 32, 32, 3)) == 153_600_000
    assert memory_bytes((10, 10), jnp.float32) == 400
    with pytest.raises(TypeError, match="floating-point points"):
        derivative(jnp.sin)(jnp.arange(3))
    with pytest.raises(ValueError, match="same shape"):
        gradient_field(lambda x, y: x * y, jnp.ones(3), jnp.ones(4))
    with pytest.raises(ValueError, match="coordinates"):
        gradient(lambda x: x)
    with pytest.raises(ValueError, match="non-negative"):
        memory_bytes((3, -1))
