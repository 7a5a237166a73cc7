"""Chapter 5 §1–3: perceptrons, logic gates, XOR impossibility, linear separability and the
worked networks."""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from deepmath_jax.neurons import perceptron as P
from deepmath_jax.calculus.activations import relu, sigmoid
from helpers import assert_float32_close


def test_first_perceptron_book_values():
    # a = 2, b = 3 (L2217–2241): f(4, −1) = 5 → 1, f(−3, 1) = −3 → 0, f(6, −4) = 0 → 1 (H(0) = 1)
    pts = jnp.array([[4.0, -1], [-3, 1], [6, -4]])
    np.testing.assert_array_equal(P.pre_activation(P.FIRST_PERCEPTRON, pts), [5, -3, 0])
    np.testing.assert_array_equal(P.perceptron(P.FIRST_PERCEPTRON, pts), [1, 0, 1])


def test_separating_line_4x_minus_y():
    assert all(float(P.perceptron(P.SEPARATING_13, jnp.array(p, float))) == 1 for p in P.SQUARES_13)
    assert all(float(P.perceptron(P.SEPARATING_13, jnp.array(p, float))) == 0 for p in P.ROUNDS_13)


def test_gates_truth_tables():
    # §15 item 31
    assert P.truth_table(P.OR) == {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 1}
    assert P.truth_table(P.AND) == {(0, 0): 0, (0, 1): 0, (1, 0): 0, (1, 1): 1}
    assert P.truth_table(P.AND_ROBUST) == P.truth_table(P.AND)
    assert P.truth_table(P.NOT) == {(0,): 1, (1,): 0}
    xor = P.truth_table(P.XOR_NETWORK)
    assert xor == {(x, y): x ^ y for x, y in itertools.product((0, 1), repeat=2)}
    # x XOR y = (x AND NOT y) OR (NOT x AND y)
    for (x, y), v in xor.items():
        assert v == int((x and not y) or (not x and y))
    assert P.truth_table(P.OR3) == {k: int(any(k)) for k in itertools.product((0, 1), repeat=3)}
    assert P.truth_table(P.AND3) == {k: int(all(k)) for k in itertools.product((0, 1), repeat=3)}


def test_robust_and_on_real_inputs():
    # L2404: 0.9 + 0.9 − 2 = −0.2 → 0, but 0.9 + 0.9 − 1.5 = 0.3 → 1
    x = jnp.array([0.9, 0.9])
    assert float(P.pre_activation((1, 1), x, -2)) == pytest.approx(-0.2, abs=1e-6)
    assert float(P.perceptron((1, 1), x, -2)) == 0
    assert float(P.pre_activation((1, 1), x, -1.5)) == pytest.approx(0.3, abs=1e-6)
    assert float(P.perceptron((1, 1), x, -1.5)) == 1


@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6), c=st.floats(-1e6, 1e6))
def test_no_perceptron_realises_xor(a, b, c):
    """§15 item 32 (Proposition 1): the four inequalities never hold together, and the
    perceptron H(ax + by + c) differs from XOR somewhere on {0, 1}²."""
    ineq = P.xor_inequalities(a, b, c)
    assert not ineq.all_hold
    table = {(x, y): int(a * x + b * y + c >= 0) for x, y in itertools.product((0, 1), repeat=2)}
    assert table != {(x, y): x ^ y for x, y in table}


def test_xor_is_not_linearly_separable_but_or_is():
    assert P.separating_perceptron([(1, 0), (0, 1)], [(0, 0), (1, 1)]) is None
    w, c = P.separating_perceptron([(1, 0), (0, 1), (1, 1)], [(0, 0)])
    for p, want in (((0, 0), 0), ((1, 0), 1), ((0, 1), 1), ((1, 1), 1)):
        assert float(P.perceptron(w, jnp.array(p, float), c)) == want


@given(
    w=st.tuples(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3)),
    c=st.floats(-2, 2),
    pts=st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5)), min_size=2, max_size=12),
)
def test_proposition_2_separable_iff_a_perceptron_separates(w, c, pts):
    """§15 item 33: points split by a random hyperplane are separated by the perceptron the LP
    finds (F = 1 on A, 0 on B)."""
    w = np.asarray(w)
    assume(np.linalg.norm(w) > 0.1)
    pts = np.asarray(pts)
    side = pts @ w + c
    assume(np.all(np.abs(side) > 1e-3))
    a_pts, b_pts = pts[side > 0], pts[side < 0]
    assume(len(a_pts) and len(b_pts))
    found = P.separating_perceptron(a_pts, b_pts)
    assert found is not None
    coef, bias = found
    np.testing.assert_array_equal(np.asarray(P.perceptron(coef, a_pts, bias)), 1)
    np.testing.assert_array_equal(np.asarray(P.perceptron(coef, b_pts, bias)), 0)


def test_exercise_18_has_a_separating_perceptron():
    coef, bias = P.separating_perceptron(P.SQUARES_18, P.ROUNDS_18)
    np.testing.assert_array_equal(P.perceptron(coef, jnp.array(P.SQUARES_18, float), bias), 1)
    np.testing.assert_array_equal(P.perceptron(coef, jnp.array(P.ROUNDS_18, float), bias), 0)


def test_height_weight_neuron():
    m, k = P.line_through(P.HEIGHT_WEIGHT_A, P.HEIGHT_WEIGHT_B)
    assert m == pytest.approx(85) and k == pytest.approx(-77)
    assert float(P.pre_activation((85, -1), jnp.array([1.77, 75.0]), -77)) == pytest.approx(-1.55, abs=1e-4)
    out = P.apply_network(P.HEIGHT_WEIGHT_NEURON, jnp.array([[1.77, 75.0], [1.67, 64.0]]))[:, 0]
    np.testing.assert_allclose(out, sigmoid(jnp.array([-1.55, 0.95])), rtol=1e-4)
    assert abs(float(out[0]) - 0.17) < 0.01 and abs(float(out[1]) - 0.72) < 0.01  # L2353, L2355


def test_red_zone_plane():
    coef, d = P.plane_through((0.5, 0, 0), (1, 0.5, 0), (1, 0, 0.5))
    np.testing.assert_allclose(coef, [2, -2, -2])
    assert d == pytest.approx(-1)
    assert float(P.perceptron(coef, jnp.array([1.0, 0, 0]), d)) == 1  # pure red
    assert float(P.perceptron(coef, jnp.array([0.2, 0.5, 0.5]), d)) == 0


def test_relu_h_network_book_values():
    # L2523–2531: F(4, 7) = 1 (s = (1, 2), 13), F(3, 2) = 1 (s = (4, 0), 15), F(0.1, 0.1) = 0
    x = jnp.array([[4.0, 7], [3, 2], [0.1, 0.1]])
    s = P.apply_layer(P.RELU_H_NETWORK[0], x)
    np.testing.assert_allclose(s, [[1, 2], [4, 0], [0.1, 0]], atol=1e-6)
    np.testing.assert_allclose(P.apply_layer(P.RELU_H_NETWORK[1]._replace(activation="identity"), s)[:2, 0], [13, 15])
    np.testing.assert_array_equal(P.apply_network(P.RELU_H_NETWORK, x)[:, 0], [1, 1, 0])


def test_exercise_network_by_hand():
    pts = np.array([[0.0, 0, 0], [1, 0, 0], [1, -1, 1], [3, 2, 1]])
    out = np.asarray(P.apply_network(P.EXERCISE_NETWORK, pts))
    for (x, y, z), (y1, y2) in zip(pts, out, strict=True):  # scalar hand computation
        s1, s2 = max(0, x - 2 * y + 3 * z), max(0, 2 * x - 4 * y + z)
        assert (y1, y2) == (max(0, s1 - 2 * s2), max(0, 2 * s1 + s2))
    np.testing.assert_array_equal(out, [[0, 0], [0, 4], [0, 19], [2, 4]])


@given(st.tuples(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10)))
def test_exercise_network_y2_zero_forces_y1_zero(p):
    # Y2 = ReLU(2 s1 + s2) with s1, s2 ≥ 0 vanishes only when s1 = s2 = 0, and then Y1 = 0.
    y1, y2 = np.asarray(P.apply_network(P.EXERCISE_NETWORK, jnp.array(p)))
    if y2 == 0:
        assert y1 == 0


def test_apply_layer_matches_formula_and_batches():
    layer = P.neurons([(1, 2, 3), (-1, 0, 4)], [0.5, -1], "relu")
    assert layer.kernel.shape == (3, 2) and layer.n_inputs == 3 and layer.n_neurons == 2
    x = jnp.array([[1.0, -1, 2], [0.5, 0.5, -1]])
    w, b = np.array([[1, -1], [2, 0], [3, 4]]), np.array([0.5, -1])
    want = relu(np.asarray(x) @ w + b)
    scale = np.abs(np.asarray(x)) @ np.abs(w) + np.abs(b)  # Σ|terms|; ReLU is 1-Lipschitz
    # each output sums 3 products and the bias
    assert_float32_close(P.apply_layer(layer, x), want, reduction=3 + 1, scale=scale)
    assert_float32_close(P.apply_layer(layer, x[0]), want[0], reduction=3 + 1, scale=scale[0])


def test_errors():
    with pytest.raises(ValueError, match="takes 2 inputs"):
        P.apply_network(P.OR, jnp.ones(3))
    with pytest.raises(ValueError, match="2 neurons need 2 biases"):
        P.neurons([(1, 2), (3, 4)], [1.0])
    with pytest.raises(ValueError, match="unknown activation"):
        P.neurons([(1, 2)], activation="softplus")
    with pytest.raises(ValueError, match="layer 1 takes 3 inputs but layer 0 has 2 neurons"):
        P.apply_network((P.neurons([(1,), (2,)]), P.neurons([(1, 1, 1)])), jnp.ones(1))
    with pytest.raises(ValueError, match="at least one layer"):
        P.apply_network((), jnp.ones(1))
    with pytest.raises(ValueError, match="vertical"):
        P.line_through((1, 2), (1, 5))
    with pytest.raises(ValueError, match="aligned"):
        P.plane_through((0, 0, 0), (1, 1, 1), (2, 2, 2))
    with pytest.raises(ValueError, match="same dimension"):
        P.separating_perceptron([(0, 0)], [(1, 1, 1)])
