"""Activations: the hand-written derivatives equal jax.grad; the book's conventions hold."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.calculus.activations import ACTIVATIONS, get_activation, heaviside, keras_heaviside

finite = st.floats(-20, 20, allow_nan=False)


def test_heaviside_book_convention_h0_is_1():
    x = jnp.array([-2.0, -1e-30, 0.0, 1e-30, 3.0])
    np.testing.assert_array_equal(heaviside(x), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(keras_heaviside(x), heaviside(x))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(x=finite)
def test_hand_derivative_equals_jax_grad(name, x):
    act = get_activation(name)
    if name == "ln":
        x = abs(x) + 0.1  # domain u > 0
    if name in ("relu", "heaviside") and abs(x) < 1e-6:
        return  # no derivative at 0
    with jax.enable_x64(True):
        expected = jax.grad(act.fn)(jnp.float64(x))
        np.testing.assert_allclose(act.derivative(jnp.float64(x)), expected, rtol=1e-12, atol=1e-12)


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown activation 'softplus'.*sigmoid"):
        get_activation("softplus")
