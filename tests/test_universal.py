"""Chapter 5 §5: step neurons, créneaux, step functions, the universal approximation
construction (Theorem 2) and the square indicator (Theorem 3)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.neurons import universal as U
from deepmath_jax.neurons.perceptron import apply_layer, apply_network


def book_f(x):
    return jnp.cos(2 * x) + x * jnp.sin(3 * x) + jnp.sqrt(x)


@pytest.mark.parametrize("t", [-2.5, -0.5, 0.0, 0.25, 3.0])
@pytest.mark.parametrize("up", [True, False])
def test_step_neurons(t, up):
    x = jnp.array([t - 1.0, t - 1e-3, t, t + 1e-3, t + 1.0])
    got = apply_layer(U.step_neuron(t, up), x[:, None])[:, 0]
    want = (x >= t) if up else (x <= t)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want, float))


@given(alpha=st.floats(0.1, 20), width=st.floats(0.1, 20), k=st.floats(-10, 10), x=st.floats(0.01, 50))
def test_creneau_is_k_times_the_indicator(alpha, width, k, x):
    """§15 item 35: H(x/α − 1) + H(−x/β + 1) − 1 = 1[α ≤ x ≤ β], times k (off the end points)."""
    beta = alpha + width
    if min(abs(x - alpha), abs(x - beta)) < 1e-4 * beta:
        return  # the end points themselves are decided by round-off in 1/α, 1/β
    with jax.enable_x64(True):
        out = float(apply_network(U.creneau(alpha, beta, k), jnp.array([[x]]))[0, 0])
    assert out == pytest.approx(k * float(alpha <= x <= beta), abs=1e-9)


def test_double_creneau_book_weights_and_values():
    hidden, out = U.DOUBLE_CRENEAU
    np.testing.assert_allclose(hidden.kernel[0], [1 / 2, -1 / 3, 1 / 5, -1 / 10], rtol=1e-6)
    np.testing.assert_array_equal(hidden.bias, [-1, 1, -1, 1])
    np.testing.assert_array_equal(out.kernel[:, 0], [4, 4, 6, 6])
    np.testing.assert_array_equal(out.bias, [-10])
    assert hidden.activation == "heaviside" and out.activation == "identity"
    x = jnp.array([0.5, 1.99, 2.0, 2.5, 3.0, 3.01, 4.0, 5.0, 7.5, 10.0, 10.5, 50.0])
    want = [0, 0, 4, 4, 4, 0, 0, 6, 6, 6, 0, 0]
    np.testing.assert_allclose(apply_network(U.DOUBLE_CRENEAU, x[:, None])[:, 0], want, atol=1e-5)


def test_contiguous_creneaux_add_up_at_the_junction():
    # L2849: two créneaux meeting at x = 2 give the sum of their heights there
    net = U.staircase([(1, 2), (2, 3)], [1, 5])
    np.testing.assert_allclose(apply_network(net, jnp.array([[1.5], [2.0], [2.5]]))[:, 0], [1, 6, 5], atol=1e-6)


@given(
    a=st.floats(0.5, 5),
    length=st.floats(0.5, 10),
    n=st.sampled_from([1, 3, 8, 21]),  # few shapes: few compilations
    freq=st.floats(0.1, 3),
)
def test_step_approximation_is_the_left_step_function(a, length, n, freq):
    """§15 item 36: on each open cell (xᵢ, xᵢ₊₁) the network equals f(xᵢ), hence the error is
    bounded by the oscillation of f on a cell (ω_f((b − a)/n))."""
    b = a + length

    def f(x):
        return jnp.sin(freq * x) * x

    with jax.enable_x64(True):
        net = U.step_approximation(f, a, b, n)
        assert [layer.n_neurons for layer in net] == [2 * n, 1]
        err = U.approximation_error(net, f, a, b, n, per_cell=7)
        assert err.max_error == pytest.approx(err.step_bound, abs=1e-9)
        xs = U.grid(a, b, n)
        fine = np.linspace(0, 1, 201)
        omega = max(
            np.ptp(np.asarray(f(jnp.asarray(lo + (hi - lo) * fine)))) for lo, hi in zip(xs[:-1], xs[1:], strict=True)
        )
        assert err.max_error <= omega + 1e-9


def test_step_approximation_converges_for_the_book_function():
    errs = [
        U.approximation_error(U.step_approximation(book_f, 2, 10, n), book_f, 2, 10, n, per_cell=10).max_error
        for n in (20, 50, 100, 400)
    ]
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.6


def test_step_approximation_errors():
    with pytest.raises(ValueError, match=r"0 < a < b.*1/xᵢ.*a = 0"):
        U.step_approximation(book_f, 0, 10, 5)
    with pytest.raises(ValueError, match="a = -1"):
        U.step_approximation(book_f, -1, 10, 5)
    with pytest.raises(ValueError, match="a < b"):
        U.step_approximation(book_f, 3, 2, 5)
    with pytest.raises(ValueError, match="integer ≥ 1"):
        U.step_approximation(book_f, 2, 10, 0)
    with pytest.raises(ValueError, match="divide by the end points"):
        U.creneau(-1, 2)
    with pytest.raises(ValueError, match="α < β"):
        U.creneau(3, 2)
    with pytest.raises(ValueError, match="2 intervals need 2 heights"):
        U.staircase([(1, 2), (3, 4)], [1])
    with pytest.raises(ValueError, match="not finite"):
        U.step_approximation(lambda x: jnp.log(x - 3), 2, 10, 4)
    with pytest.raises(ValueError, match="elementwise"):
        U.step_approximation(lambda x: jnp.sum(x), 2, 10, 4)
    with pytest.raises(ValueError, match="finite"):
        U.step_neuron(float("inf"))


@given(x=st.floats(-3, 3), y=st.floats(-3, 3))
def test_square_network_is_the_indicator(x, y):
    """§15 item 37: H(H(x) + H(1 − x) + H(y) + H(1 − y) − 4) = 1[(x, y) ∈ [0, 1]²]."""
    got = float(apply_network(U.SQUARE_NETWORK, jnp.array([x, y]))[0])
    assert got == float(U.square_indicator(x, y))
