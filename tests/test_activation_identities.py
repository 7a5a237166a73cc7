"""The activation functions' stated identities (chapter 1 §3.2, L753–877; inventory §15
items 10–13): σ' = σ(1 − σ) = e^{−x}/(1 + e^{−x})², σ(0) = ½, σ'(0) = ¼, σ''(0) = 0, 0 < σ < 1,
σ increasing with limits 0 and 1, σ(−x) = 1 − σ(x); th = 2σ(2x) − 1, odd, −1 < th < 1;
H(x) = 1 ⇔ x ≥ 0; affine ∘ affine is affine."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.calculus.activations import (
    heaviside,
    keras_heaviside,
    relu,
    sigmoid,
    sigmoid_prime,
    tanh,
    tanh_prime,
)
from deepmath_jax.calculus.derivative import second_derivative, tangent

moderate = st.floats(-30, 30, allow_subnormal=False)  # XLA on CPU flushes subnormals to 0
anything = st.floats(-1e6, 1e6, allow_subnormal=False)


@given(moderate)
def test_sigmoid_derivative_formulas(x):
    with jax.enable_x64(True):
        e = jnp.exp(-x)
        expected = jax.grad(sigmoid)(x)
        # 1 − σ(x) cancels for large x: the forms agree to float64 round-off of σ ≤ 1 (absolute).
        for form in (sigmoid_prime(x), sigmoid(x) * (1 - sigmoid(x)), e / (1 + e) ** 2):
            np.testing.assert_allclose(form, expected, rtol=1e-12, atol=1e-15)


def test_sigmoid_at_zero(x64):
    assert float(sigmoid(0.0)) == 0.5
    assert float(sigmoid_prime(0.0)) == 0.25 == float(jax.grad(sigmoid)(0.0))
    assert float(second_derivative(sigmoid)(0.0)) == 0.0  # inflexion (L851)
    slope, intercept = tangent(sigmoid, 0.0)
    assert (float(slope), float(intercept)) == (0.25, 0.5)  # y = x/4 + 1/2 (L835)


@given(moderate, moderate)
def test_sigmoid_bounds_monotone_and_symmetric(x, y):
    with jax.enable_x64(True):
        s = float(sigmoid(x))
        assert 0 < s < 1
        if x < y:  # strictly increasing; floats can tell only well-separated points apart
            assert float(sigmoid(x)) <= float(sigmoid(y))
            if y - x > 1e-3 and max(abs(x), abs(y)) <= 20:
                assert float(sigmoid(x)) < float(sigmoid(y))
        assert float(jax.grad(sigmoid)(x)) > 0
        np.testing.assert_allclose(sigmoid(-x), 1 - sigmoid(x), rtol=1e-12, atol=1e-15)  # 1 − σ cancels


def test_sigmoid_limits(x64):
    assert float(sigmoid(-800.0)) == 0.0 and float(sigmoid(800.0)) == 1.0
    xs = -jnp.logspace(0, 2.5, 20)
    assert np.all(np.diff(np.asarray(sigmoid(xs))) < 0)  # decreasing to 0 as x → −∞


@given(moderate)
def test_tanh_identities(x):
    with jax.enable_x64(True):
        th = float(tanh(x))
        np.testing.assert_allclose(th, 2 * sigmoid(2 * x) - 1, atol=1e-15)  # Proposition 6
        np.testing.assert_allclose(th, (jnp.exp(x) - jnp.exp(-x)) / (jnp.exp(x) + jnp.exp(-x)), atol=1e-15)
        assert float(tanh(-x)) == -th  # odd
        assert -1 <= th <= 1 and (abs(x) > 20 or -1 < th < 1)
        np.testing.assert_allclose(tanh_prime(x), jax.grad(tanh)(x), rtol=1e-12, atol=1e-15)  # 1 − th² cancels


@given(anything)
def test_heaviside_and_relu(x):
    with jax.enable_x64(True):
        h = float(heaviside(x))
        assert h == (1.0 if x >= 0 else 0.0)  # H(0) = 1 (L775)
        assert float(keras_heaviside(x)) == h
        assert float(relu(x)) == max(0.0, x)
        if x != 0:
            assert float(jax.grad(relu)(x)) == h  # ReLU' = H away from 0


@given(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10))
def test_affine_composition_is_affine(a, b, c, d, x):
    """g∘f with f = ax + b, g = cx + d is (ca)x + (cb + d) (L789): identity-only networks are affine."""
    with jax.enable_x64(True):
        composed = c * (a * x + b) + d
        np.testing.assert_allclose(composed, (c * a) * x + (c * b + d), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(second_derivative(lambda t: c * (a * t + b) + d)(x), 0.0, atol=1e-12)
