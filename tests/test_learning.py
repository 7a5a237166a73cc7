"""Backpropagation (chapter 9): the book's hand gradients vs jax.grad, the worked examples, the
Hebb rule, the ReLU local minimum and the parameter counts (inventory part 1 §15 items 39,
41–44)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_jax.autodiff import backprop, smile
from deepmath_jax.neurons import hebb, learning
from deepmath_jax.optim import descent


def in_x64(fn):
    """Run a hypothesis test body with float64 (a fixture would not be reset between examples)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper


BLUE = [(0, 3), (1, 1.5), (1, 4), (1.5, 2.5), (2, 2.5), (3, 3.5), (3.5, 3.25), (4, 3), (4, 4), (5, 4)]
RED = [(1, 1), (2, 0.5), (2, 2), (3, 1.5), (3, 2.75), (4, 1), (4, 2.5), (4.5, 3), (5, 1), (5, 2.25)]

_finite = st.floats(-4, 4, allow_nan=False)


# --------------------------------------------------------------------------------------------
# The logistic neuron (§1, §15 item 39)
# --------------------------------------------------------------------------------------------


@given(a=_finite, b=_finite, c=_finite)
@in_x64
def test_logistic_hand_gradient_equals_jax_grad(a, b, c):
    """∂E_i/∂a = 2x_iσ_i(1 − σ_i)(σ_i − z_i), … (L5020–5030) and the mean = jax.grad of E."""
    xy = jnp.array(BLUE + RED, dtype=float)
    z = jnp.array([0.0] * 10 + [1.0] * 10)
    p = jnp.array([a, b, c])
    np.testing.assert_allclose(learning.logistic_error_grad(p, xy, z),
                               jax.grad(learning.logistic_error)(p, xy, z), rtol=1e-12, atol=1e-15)


@given(a=_finite, b=st.floats(0.1, 4) | st.floats(-4, -0.1), c=_finite, x=_finite, side=st.floats(0.01, 3))
@in_x64
def test_logistic_half_level_is_the_line(a, b, c, x, side):
    """F(x, y) = σ(ax + by + c) = ½ exactly on ax + by + c = 0, > ½ where ax + by + c > 0 (L5093)."""
    p = jnp.array([a, b, c])
    y = -(a * x + c) / b
    assert float(learning.logistic_neuron(p, jnp.array([x, y]))) == pytest.approx(0.5, abs=1e-15)
    up = jnp.array([x, y + side * np.sign(b)])  # a step to the side where ax + by + c > 0
    down = jnp.array([x, y - side * np.sign(b)])
    assert float(learning.logistic_neuron(p, up)) > 0.5 > float(learning.logistic_neuron(p, down))


def test_logistic_table_of_the_book(x64):
    """P_1 = (0.077, 0.807, −2.005) and P_1000 = (2.032, −3.860, 3.703), E = 0.071 (L5039–5053)."""
    xy = jnp.array(BLUE + RED, dtype=float)
    z = jnp.array([0.0] * 10 + [1.0] * 10)
    h = descent.descend(lambda p: learning.logistic_error(p, xy, z), jnp.array([0.0, 1.0, -2.0]),
                        descent.gradient_descent(1.0), 1000)
    np.testing.assert_allclose(h.points[1], [0.077426, 0.8076023, -2.0058987], atol=1e-6)
    np.testing.assert_allclose(h.points[1000], [2.0328424, -3.8602521, 3.7039156], atol=1e-6)
    assert float(h.losses[0]) == pytest.approx(0.450, abs=1e-3)
    assert float(h.losses[1000]) == pytest.approx(0.071, abs=1e-3)


# --------------------------------------------------------------------------------------------
# The XOR and step networks (§2.1, §2.3)
# --------------------------------------------------------------------------------------------


def test_xor_network_first_steps(x64):
    xy = jnp.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    z = jnp.array([1.0, 1.0, 0.0, 0.0])
    p0 = jnp.array([1.0, 2.0, -3.0, -3.0, -2.0, 1.0, 1.0, 1.0, -1.0])
    h = descent.descend(lambda p: learning.mean_squared_error(z, learning.xor_network(p, xy)), p0,
                        descent.gradient_descent(1.0), 2)
    # The first value of the Keras train_on_batch error list (float32: 7 significant digits).
    assert float(h.losses[0]) == pytest.approx(0.29618967, rel=1e-7)
    np.testing.assert_allclose(h.grads[0], [0.00349, -0.00303, -0.00832, -0.00696, -0.01350, -0.01047,
                                            -0.00324, 0.01258, -0.04671], atol=1e-5)
    np.testing.assert_allclose(h.points[2], [0.9925, 2.0055, -2.9839, -2.9860, -1.9731, 1.0206, 1.0053,
                                             0.9738, -0.9105], atol=1e-4)


def test_step_network_order_of_weights():
    """(a1, b1, a2, b2, a3, b3, c3): F(x) = σ(a3σ(a1x + b1) + b3σ(a2x + b2) + c3) (L5215–5240)."""
    p = jnp.array([0.5, -1.0, 2.0, 0.25, 3.0, -1.5, 0.2])
    x = jnp.array([0.3, 2.0])
    s = jax.nn.sigmoid
    np.testing.assert_allclose(learning.step_network(p, x),
                               s(3.0 * s(0.5 * x - 1.0) - 1.5 * s(2.0 * x + 0.25) + 0.2), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# The same networks for the engines of chapter 7 (smile DAGs, dense layers)
# --------------------------------------------------------------------------------------------

_XY = jnp.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
_Z = jnp.array([1.0, 1.0, 0.0, 0.0])
_STEP_X = jnp.concatenate([jnp.linspace(0, 2, 4), jnp.linspace(3, 5, 4), jnp.linspace(6, 8, 4)])
_STEP_Z = jnp.concatenate([jnp.zeros(4), jnp.ones(4), jnp.zeros(4)])


def test_xor_grad_e_p0_by_the_smile_formula(x64):
    """grad E(P_0) = (1/4) Σ 2 ∂F/∂a_j (F − z_i) (L5008) with ∂F/∂a_j by the formule du sourire
    gives the book's E(P_0) = 0.2961 and grad E(P_0) (L5125–5127); (0, 0) makes ∂F/∂x undefined
    there (x = 0), which grad E does not use."""
    p0 = [1.0, 2.0, -3.0, -3.0, -2.0, 1.0, 1.0, 1.0, -1.0]
    net = learning.xor_smile_network()
    points = [{"x": float(a), "y": float(b)} for a, b in np.asarray(_XY)]
    params = dict(zip(learning.XOR_WEIGHTS, p0, strict=True))
    E, g = learning.error_gradient(net, points, [1.0, 1.0, 0.0, 0.0], params)
    assert float(E) == pytest.approx(0.2961, abs=1e-4)
    np.testing.assert_allclose([g[k] for k in learning.XOR_WEIGHTS],
                               [0.00349, -0.00303, -0.00832, -0.00696, -0.01350, -0.01047, -0.00324, 0.01258, -0.04671],
                               atol=1e-5)
    expected = jax.grad(lambda p: learning.mean_squared_error(_Z, learning.xor_network(p, _XY)))(jnp.array(p0))
    np.testing.assert_allclose([g[k] for k in learning.XOR_WEIGHTS], expected, rtol=1e-12, atol=1e-16)
    with pytest.raises(smile.SmileUndefinedError, match="the input x = 0"):
        smile.smile_partials(net, points[2], params)


_xor_value_and_grad = jax.jit(jax.value_and_grad(lambda p: learning.mean_squared_error(_Z, learning.xor_network(p, _XY))))
_step_value_and_grad = jax.jit(jax.value_and_grad(
    lambda p: learning.mean_squared_error(_STEP_Z, learning.step_network(p, _STEP_X))))


@settings(max_examples=5)  # eager per-point engines; the engines themselves are property-tested in test_smile
@given(w=st.lists(st.floats(-3, 3), min_size=9, max_size=9))
@in_x64
def test_error_gradient_three_ways_equals_jax_grad(w):
    """error_gradient with the smile formula and with the recursion = jax.grad of E written with
    the book's functions (xor_network, step_network), for the XOR and the step networks."""
    cases = ((learning.xor_smile_network(), learning.XOR_WEIGHTS, [{"x": float(a), "y": float(b)} for a, b in np.asarray(_XY)],
              _Z, _xor_value_and_grad, w),
             (learning.step_smile_network(), learning.STEP_WEIGHTS, [{"x": float(v)} for v in np.asarray(_STEP_X)],
              _STEP_Z, _step_value_and_grad, w[:7]))
    for net, names, points, z, value_and_grad, weights in cases:
        expected = value_and_grad(jnp.array(weights))
        params = dict(zip(names, weights, strict=True))
        for method in (smile.smile_partials, smile.recursion_partials):  # jax side: E of the book's functions
            e, g = learning.error_gradient(net, points, [float(v) for v in z], params, method)
            np.testing.assert_allclose(e, expected[0], rtol=1e-12)
            np.testing.assert_allclose([g[k] for k in names], expected[1], rtol=1e-9, atol=1e-13)


@given(w=st.lists(st.floats(-3, 3), min_size=9, max_size=9))
@in_x64
def test_layers_round_trip_and_forward(w):
    p = jnp.array(w)
    np.testing.assert_array_equal(learning.xor_weights(learning.xor_layers(p)), p)
    np.testing.assert_array_equal(learning.step_weights(learning.step_layers(p[:7])), p[:7])
    np.testing.assert_allclose(backprop.forward(learning.xor_layers(p), _XY, ("sigmoid", "sigmoid"))[:, 0],
                               learning.xor_network(p, _XY), rtol=1e-14)
    np.testing.assert_allclose(backprop.forward(learning.step_layers(p[:7]), _STEP_X[:, None], ("sigmoid", "sigmoid"))[:, 0],
                               learning.step_network(p[:7], _STEP_X), rtol=1e-14)


def test_hand_backprop_trains_the_xor_network_like_jax_grad(x64):
    """backprop.gradient_descent (the recursion (4)–(6) by hand, matrix form) = descent with
    jax.grad + optax, on the book's XOR network (the experiment runs the book's 1000 steps)."""
    p0 = jnp.array([1.0, 2.0, -3.0, -3.0, -2.0, 1.0, 1.0, 1.0, -1.0])
    h = descent.descend(lambda p: learning.mean_squared_error(_Z, learning.xor_network(p, _XY)), p0,
                        descent.gradient_descent(1.0), 50)
    layers, errors = backprop.gradient_descent(learning.xor_layers(p0), _XY, _Z[:, None],
                                               activations=("sigmoid", "sigmoid"), learning_rate=1.0, steps=50)
    np.testing.assert_allclose(learning.xor_weights(layers), h.points[50], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(errors, h.losses[:50], rtol=1e-12)


def test_engine_conversions_reject_bad_input():
    with pytest.raises(ValueError, match="the XOR network has 9 weights"):
        learning.xor_layers(jnp.zeros(7))
    with pytest.raises(ValueError, match=r"the XOR network has layers W \(2, 2\)"):
        learning.xor_weights(learning.step_layers(jnp.zeros(7)))
    with pytest.raises(ValueError, match=r"the step network has layers W \(1, 2\)"):
        learning.step_weights(learning.xor_layers(jnp.zeros(9)))
    with pytest.raises(ValueError, match="as many targets as points"):
        learning.error_gradient(learning.step_smile_network(), [{"x": 1.0}], [0.0, 1.0],
                                dict.fromkeys(learning.STEP_WEIGHTS, 0.5))


# --------------------------------------------------------------------------------------------
# The Hebb rule (§2.2, §15 item 41)
# --------------------------------------------------------------------------------------------


@given(w=st.lists(st.floats(-2, 2), min_size=3, max_size=3), x=st.lists(st.floats(-2, 2), min_size=3, max_size=3),
       z=st.sampled_from([0.0, 1.0]), delta=st.floats(0.01, 1.0))
@in_x64
def test_hebb_rule_cases(w, x, z, delta):
    """Unchanged when F(X) = z, −2δX when (F, z) = (1, 0), +2δX when (F, z) = (0, 1); and the same
    step as SGD through the virtual step H̃' ≡ 1 (L5180–5210)."""
    w, x = jnp.array(w), jnp.array(x)
    f = float(hebb.perceptron(w, x))
    new = hebb.hebb_step(w, x, z, delta)
    expected = w if f == z else (w - 2 * delta * x if f == 1 else w + 2 * delta * x)
    np.testing.assert_allclose(new, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(hebb.sgd_step(w, x, z, delta), expected, rtol=0, atol=1e-15)


def test_virtual_heaviside():
    x = jnp.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(hebb.virtual_heaviside(x), [0.0, 1.0, 1.0])  # H(0) = 1
    np.testing.assert_array_equal(jax.vmap(jax.grad(hebb.virtual_heaviside))(x), [1.0, 1.0, 1.0])


def test_hebb_rule_converges_on_separable_data_not_on_xor():
    key = jax.random.key(3)
    pts = np.asarray(jax.random.uniform(key, (60, 2), minval=-1.0, maxval=1.0))
    pts = pts[np.abs(pts[:, 0] + 3 * pts[:, 1]) > 0.2]
    z = (pts[:, 0] + 3 * pts[:, 1] >= 0).astype(np.float32)
    run = hebb.hebb_rule(pts, z, jnp.array([1.0, -1.0]), 0.1, 40)
    assert run.converged_pass is not None
    np.testing.assert_array_equal(hebb.perceptron(run.weights[-1], pts), z)
    # Once a pass makes no error the weights no longer change.
    start = (run.converged_pass) * len(pts)
    np.testing.assert_array_equal(run.weights[start:], np.broadcast_to(run.weights[start], run.weights[start:].shape))
    xor_x = jnp.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    xor = hebb.hebb_rule(xor_x, jnp.array([0.0, 1.0, 1.0, 0.0]), jnp.zeros(3), 0.1, 100)
    assert xor.converged_pass is None and int(jnp.min(xor.errors_per_pass)) >= 1


def test_hebb_rule_bad_input():
    with pytest.raises(ValueError, match="must be 0 or 1"):
        hebb.hebb_rule(jnp.ones((2, 2)), jnp.array([0.0, 2.0]), jnp.zeros(2), 0.1, 1)
    with pytest.raises(ValueError, match=r"x \(N, n\), z \(N,\), weights0 \(n,\)"):
        hebb.hebb_rule(jnp.ones((2, 2)), jnp.array([0.0, 1.0]), jnp.zeros(3), 0.1, 1)


# --------------------------------------------------------------------------------------------
# The ReLU local minimum (§3.2, §15 item 42)
# --------------------------------------------------------------------------------------------


@given(a=st.floats(-0.5, 1 / 3))
def test_relu_error_plateau(a):
    """E ≡ 5 on [−½, ⅓]: every ReLU(a x_i − 1) is 0 there."""
    assert float(learning.relu_neuron_error(a)) == pytest.approx(5.0, abs=1e-6)


def test_relu_local_minima(x64):
    """E(−1) = 4 (local), E(+1) = 1 (global), dE/da = 0 at ±1 on each side (L5381–5390)."""
    e = learning.relu_neuron_error
    assert float(e(-1.0)) == pytest.approx(4.0) and float(e(1.0)) == pytest.approx(1.0)
    eps = 1e-4
    for m in (-1.0, 1.0):
        assert float(e(m - eps)) > float(e(m)) < float(e(m + eps))
        for side in (-1, 1):  # one-sided slopes vanish (E is a piecewise quadratic)
            assert abs(float(e(m + side * eps)) - float(e(m))) / eps < 1e-3
    ha = descent.descend(lambda a: e(a[0]), jnp.array([-1.5]), descent.gradient_descent(0.02), 500)
    hb = descent.descend(lambda a: e(a[0]), jnp.array([2.0]), descent.gradient_descent(0.02), 500)
    assert float(ha.final[0]) == pytest.approx(-1.0, abs=1e-9)
    assert float(hb.final[0]) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(e(jnp.array([-1.0, 0.0, 1.0])), [4.0, 5.0, 1.0])


# --------------------------------------------------------------------------------------------
# Networks, data and parameter counts (§15 items 43–44)
# --------------------------------------------------------------------------------------------


@given(n=st.integers(1, 30), p=st.integers(1, 40), depth=st.integers(1, 3))
def test_parameter_count_matches_the_weights(n, p, depth):
    sizes = [n] + [p] * depth + [1]
    shapes = jax.eval_shape(lambda k: learning.mlp_init(k, sizes), jax.random.key(0))
    assert learning.parameter_count(sizes) == sum(w.size + b.size for w, b in shapes)
    assert learning.neuron_count(sizes) == depth * p + 1
    if depth == 2:  # the cells network: (n + 1)p + (p + 1)p + (p + 1)
        assert learning.parameter_count(sizes) == (n + 1) * p + (p + 1) * p + (p + 1)


def test_book_parameter_counts():
    cells = {3: 79, 5: 141, 7: 211, 10: 331, 15: 571, 20: 861}
    assert {p: learning.parameter_count([20, p, p, 1]) for p in cells} == cells
    lemniscate = {3: 37, 5: 81, 7: 141, 10: 261, 15: 541, 20: 921, 50: 5301, 100: 20601}
    assert {p: learning.parameter_count([2, p, p, p, 1]) for p in lemniscate} == lemniscate


def test_three_black_cells():
    x, h = learning.three_black_cells(20)
    assert x.shape == (1140, 20) == (math.comb(20, 3), 20)
    assert np.all(x.sum(axis=1) == 3)
    assert h.min() == 3 and h.max() == 20
    ranks = [np.flatnonzero(row) for row in x[:50]]
    assert all(hi == r[2] - r[0] + 1 for hi, r in zip(h[:50], ranks, strict=True))
    assert len({tuple(row) for row in x.astype(int)}) == 1140


def test_lemniscate_zones():
    x, z = learning.lemniscate_zones(50)
    assert x.shape == (2500, 2) and z.shape == (2500,)
    f = learning.lemniscate_ellipse(x[:, 0], x[:, 1])
    np.testing.assert_array_equal(np.asarray(z) == 1, np.asarray(f) <= 0)
    assert 0.3 < float(z.mean()) < 0.7  # red and blue areas roughly equal (L5274)
    assert float(learning.lemniscate_ellipse(2.0, 0.0)) == 0.0  # (2, 0) is on the lemniscate


def test_mlp_relu_everywhere_and_training_learns():
    params = learning.mlp_init(jax.random.key(1), [2, 8, 8, 1])
    w, b = params[0]
    limit = math.sqrt(6 / (2 + 8))
    assert float(jnp.max(jnp.abs(w))) <= limit and bool(jnp.all(b == 0))  # Keras's Glorot uniform
    x = jax.random.uniform(jax.random.key(2), (64, 2), minval=-1, maxval=1)
    assert bool(jnp.all(learning.mlp_apply(params, x) >= 0))  # ReLU on the output too
    # A ReLU output neuron may start dead (F ≡ 0, zero gradient); start it alive.
    w_out, b_out = params[-1]
    params = params[:-1] + [(w_out, b_out + 0.5)]
    target = jnp.abs(x[:, 0]) + 0.5
    h = learning.train_mlp(params, x, target, learning.keras_adam(0.01), batch_size=16, epochs=40,
                           key=jax.random.key(3))
    before = float(jnp.mean((learning.mlp_apply(params, x)[:, 0] - target) ** 2))
    assert float(h.losses[-1]) < 0.2 * before


def test_accuracies():
    assert float(learning.rounded_accuracy(jnp.array([2.6, 3.4, 5.0]), jnp.array([3.0, 3.0, 4.0]))) == pytest.approx(2 / 3)
    assert float(learning.threshold_accuracy(jnp.array([0.5, 0.49, 0.9]), jnp.array([1.0, 1.0, 0.0]))) == pytest.approx(1 / 3)


def test_bad_input():
    with pytest.raises(ValueError, match="the logistic neuron has 3 weights"):
        learning.logistic_neuron(jnp.zeros(4), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="last axis of size 2"):
        learning.xor_network(jnp.zeros(9), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be equal"):
        learning.mean_squared_error(jnp.zeros(3), jnp.zeros((3, 1)))
    with pytest.raises(ValueError, match="network has 2 inputs"):
        learning.mlp_apply(learning.mlp_init(jax.random.key(0), [2, 3, 1]), jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match="layer sizes"):
        learning.parameter_count([3])
    with pytest.raises(ValueError, match="n ≥ 3 cells"):
        learning.three_black_cells(2)
