"""Chapter 6: the Flax NNX dense network with hand-set weights (the book's keras_facile)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_jax.neurons import dense as D
from deepmath_jax.calculus.activations import sigmoid
from deepmath_jax.neurons.perceptron import EXERCISE_NETWORK, RELU_H_NETWORK, apply_network
from deepmath_jax.neurons.universal import DOUBLE_CRENEAU, SQUARE_NETWORK, step_approximation
from helpers import assert_float32_close


def net1():
    """Book L2938–3074: Dense(2, relu) (1, −1), (−0.5, 1); Dense(1, relu) (1, 1), 0."""
    m = D.DenseNetwork(1, [(2, "relu"), (1, "relu")], rngs=nnx.Rngs(0))
    D.set_neuron(m, 0, 0, 1, -1)
    D.set_neuron(m, 0, 1, -0.5, 1)
    D.set_neuron(m, 1, 0, [1, 1], 0)
    return m


def test_net1_book_values():
    m = net1()
    kernel, bias = D.layer_weights(m, 0)
    np.testing.assert_array_equal(kernel, [[1.0, -0.5]])  # get_weights (L3037)
    np.testing.assert_array_equal(bias, [-1.0, 1.0])
    assert D.evaluate(m, 3) == 2.0  # F(3) = 2 (L3052, L3200)
    xs = np.linspace(-2, 3, 11)
    want = np.maximum(0, np.maximum(0, xs - 1) + np.maximum(0, -0.5 * xs + 1))
    np.testing.assert_allclose(np.asarray(D.predict(m, xs[:, None]))[:, 0], want, rtol=1e-6)
    text = D.describe_layer(m, 0)
    assert "Neurons: 2" in text and "coefficients [-0.5]  bias 1.0" in text


def test_set_weights_by_input_layout():
    """Book L3096–3114: set_weights takes the kernel *by input*; F(7, −5) ≈ 0.123."""
    m = D.DenseNetwork(2, [(3, "sigmoid"), (1, "sigmoid")], rngs=nnx.Rngs(1))
    D.set_layer_weights(m, 0, [[1.0, 3.0, -5.0], [2.0, -4.0, -6.0]], [-1.0, 0.0, 1.0])
    D.set_layer_weights(m, 1, [[1.0], [1.0], [1.0]], [-3.0])
    x, y = 7.0, -5.0
    s = sigmoid(jnp.array([x + 2 * y - 1, 3 * x - 4 * y, -5 * x - 6 * y + 1]))
    want = float(sigmoid(jnp.sum(s) - 3))
    # float32 (helpers), each sum's error carried to F by σ': F's pre-activation sums 3 + 1
    # terms (Σ|·| = Σs + 3), the hidden ones 2 + 1 (Σ|·| = 18, 41, 66) passed on by σ'(zᵢ);
    # 2 more roundings for each σ
    reach = float(jnp.sum(s) + 3 + jnp.sum(s * (1 - s) * jnp.array([18.0, 41.0, 66.0])))
    assert_float32_close(D.evaluate(m, x, y), want, reduction=(3 + 1 + 2) + (2 + 1 + 2),
                         scale=want * (1 - want) * reach + want)
    assert abs(D.evaluate(m, [x, y]) - 0.123) < 1e-3


def test_single_neurons_book_values():
    m = D.DenseNetwork(2, [(1, "sigmoid")], rngs=nnx.Rngs(0))
    D.set_neuron(m, 0, 0, [1, 2], -1)
    assert D.evaluate(m, [2.0, 1.0]) == pytest.approx(float(sigmoid(3.0)), rel=1e-6)  # ≈ 0.952 (L3306)
    m3 = D.DenseNetwork(3, [(1, "relu")], rngs=nnx.Rngs(0))
    D.set_neuron(m3, 0, 0, [1, -1, 1], -1)
    assert D.evaluate(m3, [2.0, 3.0, 4.0]) == 2.0  # L3363
    mh = D.DenseNetwork(1, [(1, "heaviside")], rngs=nnx.Rngs(0))
    D.set_neuron(mh, 0, 0, -0.5, 1)  # H(−0.5x + 1) = 1 for x ≤ 2 (L3232)
    np.testing.assert_array_equal(np.asarray(D.predict(mh, jnp.array([[-5.0], [2.0], [2.01], [5.0]])))[:, 0], [1, 1, 0, 0])


def test_sector_and_cube_networks():
    sector = D.DenseNetwork(2, [(2, "heaviside"), (1, "heaviside")], rngs=nnx.Rngs(0))
    D.set_neuron(sector, 0, 0, [-1, 3], 0)
    D.set_neuron(sector, 0, 1, [2, 1], 0)
    D.set_neuron(sector, 1, 0, [1, 1], -2)
    pts = np.random.default_rng(0).uniform(-5, 5, (400, 2))
    want = ((-pts[:, 0] + 3 * pts[:, 1] >= 0) & (2 * pts[:, 0] + pts[:, 1] >= 0)).astype(float)
    np.testing.assert_array_equal(np.asarray(D.predict(sector, pts))[:, 0], want)

    for act in ("sigmoid", "heaviside"):
        cube = D.DenseNetwork(3, [(6, act), (1, act)], rngs=nnx.Rngs(0))
        for j, c in enumerate([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]):
            D.set_neuron(cube, 0, j, c, 1)
        D.set_neuron(cube, 1, 0, [1] * 6, -6)
        pts = np.random.default_rng(1).uniform(-3, 3, (500, 3))
        out = np.asarray(D.predict(cube, pts))[:, 0]
        if act == "heaviside":  # with H: the indicator of [−1, 1]³ (L3376)
            np.testing.assert_array_equal(out, np.all(np.abs(pts) <= 1, axis=1).astype(float))
        else:  # σ smooths the steps: largest at the centre, smaller away from the cube
            centre = D.evaluate(cube, 0.0, 0.0, 0.0)
            want = float(sigmoid(6 * sigmoid(1.0) - 6))
            # float32 (helpers): σ(1)·1 six times, then the bias −6, in another order (Σ|·| =
            # 6σ(1) + 6, carried to F by σ'), and the roundings of the two σ
            assert_float32_close(centre, want, reduction=6 + 1 + 2 + 2,
                                 scale=want * (1 - want) * (6 * float(sigmoid(1.0)) + 6) + want)
            assert np.all(out <= centre + 1e-7)


def test_set_neuron_changes_only_its_column():
    """§15 item 38: neuron `rank` is column `rank` of the (n_inputs, n_neurons) kernel."""
    m = D.DenseNetwork(3, [(4, "relu")], rngs=nnx.Rngs(2))
    before_k, before_b = D.layer_weights(m, 0)
    D.set_neuron(m, 0, 2, [7, 8, 9], -3)
    k, b = D.layer_weights(m, 0)
    np.testing.assert_array_equal(k[:, 2], [7, 8, 9])
    assert b[2] == -3
    np.testing.assert_array_equal(np.delete(k, 2, axis=1), np.delete(before_k, 2, axis=1))
    np.testing.assert_array_equal(np.delete(b, 2), np.delete(before_b, 2))
    D.zero_layer(m, 0)
    k, b = D.layer_weights(m, 0)
    assert not k.any() and not b.any()


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**31 - 1),
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    acts=st.lists(st.sampled_from(["relu", "sigmoid", "tanh", "heaviside", "linear"]), min_size=3, max_size=3),
)
def test_flax_model_equals_hand_written_forward(seed, sizes, acts):
    """§15 item 38: DenseNetwork(x) = φ(x @ W + b) layer by layer (perceptron.apply_network)."""
    m = D.DenseNetwork(sizes[0], [(n, a) for n, a in zip(sizes[1:], acts, strict=False)], rngs=nnx.Rngs(seed))
    for k, lin in enumerate(m.layers):  # random biases too (Keras/Flax start them at 0)
        D.set_layer_weights(m, k, lin.kernel[...], jax.random.normal(jax.random.key(seed + k), lin.bias.shape))
    x = jax.random.normal(jax.random.key(seed), (5, sizes[0]))
    # float32 (helpers): per layer n_inputs products, the bias and 2 roundings of φ; Σ|terms|
    # bounded layer by layer by the network on |x| with |W|, |b| and |φ(z)| ≤ |z| + 1, every φ
    # 1-Lipschitz but H (exact, unless a pre-activation lies within round-off of 0)
    scale = jnp.abs(x)
    for lin in m.layers:
        scale = scale @ jnp.abs(lin.kernel[...]) + jnp.abs(lin.bias[...])[None, :] + 1
    reduction = sum(n + 1 + 2 for n in sizes[: len(m.layers)])
    assert_float32_close(m(x), apply_network(D.to_layers(m), x), reduction=reduction, scale=scale)


@pytest.mark.parametrize("network", [RELU_H_NETWORK, EXERCISE_NETWORK, DOUBLE_CRENEAU, SQUARE_NETWORK])
def test_from_layers_round_trip(network):
    m = D.from_layers(network)
    back = D.to_layers(m)
    for a, b in zip(network, back, strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.activation == b.activation
    x = np.random.default_rng(0).uniform(-1, 11, (50, network[0].n_inputs))
    np.testing.assert_array_equal(np.asarray(D.predict(m, x)), np.asarray(apply_network(network, x)))


def test_set_step_approximation_is_the_book_construction():
    def f(x):
        return jnp.cos(2 * x) + x * jnp.sin(3 * x) + jnp.sqrt(x)

    m = D.DenseNetwork(1, [(2 * 10, "heaviside"), (1, "linear")], rngs=nnx.Rngs(0))
    D.set_step_approximation(m, f, 2, 10, 10)
    for got, want in zip(D.to_layers(m), step_approximation(f, 2, 10, 10), strict=True):
        np.testing.assert_allclose(got.kernel, want.kernel, rtol=1e-7)
        np.testing.assert_allclose(got.bias, want.bias, rtol=1e-7)
    # neuron 2i = H(x/xᵢ − 1), neuron 2i + 1 = H(−x/xᵢ₊₁ + 1) (keras_facile)
    k, b = D.layer_weights(m, 0)
    np.testing.assert_allclose(k[0, :4], [1 / 2, -1 / 2.8, 1 / 2.8, -1 / 3.6], rtol=1e-6)
    np.testing.assert_array_equal(b[:4], [-1, 1, -1, 1])
    with pytest.raises(ValueError, match="Dense\\(10, heaviside\\)"):
        D.set_step_approximation(m, f, 2, 10, 5)
    with pytest.raises(ValueError, match="0 < a < b"):
        D.set_step_approximation(m, f, 0, 10, 10)


def test_plots_draw_the_network():
    m = net1()
    fig, ax = D.plot_one_var(m, -2, 3)
    x, y = ax.lines[0].get_data()
    assert len(x) == 100 and y[np.argmin(np.abs(x - 3))] == pytest.approx(2.0, abs=0.05)
    plt.close(fig)
    fig, ax = D.plot_approximation(m, lambda x: x, -2, 3, num=20)
    assert len(ax.lines) == 2
    plt.close(fig)
    m2 = D.DenseNetwork(2, [(1, "sigmoid")], rngs=nnx.Rngs(0))
    for plot in (D.plot_two_var_3d, D.plot_two_var_2d):
        fig, _ = plot(m2, -5, 5, -5, 5, num=6)
        plt.close(fig)
    m3 = D.DenseNetwork(3, [(1, "relu")], rngs=nnx.Rngs(0))
    fig, _ = D.plot_three_var(m3, -5, 5, -5, 5, -5, 5, num=3)
    plt.close(fig)
    with pytest.raises(ValueError, match="2 inputs"):
        D.plot_two_var_3d(m3, -1, 1, -1, 1)
    with pytest.raises(ValueError, match="3 inputs"):
        D.plot_three_var(m2, -1, 1, -1, 1, -1, 1)


def test_errors():
    m = net1()
    with pytest.raises(ValueError, match="need 1 coefficients; got 2"):
        D.set_neuron(m, 0, 0, [1, 2], 0)
    with pytest.raises(ValueError, match="need 2 coefficients; got 1"):
        D.set_neuron(m, 1, 0, 1, 0)
    with pytest.raises(ValueError, match=r"2 neurons \(ranks 0 to 1\), got rank 2"):
        D.set_neuron(m, 0, 2, 1, 0)
    with pytest.raises(ValueError, match="ranks 0 to 0"):
        D.set_neuron(m, 1, -1, [1, 1], 0)
    with pytest.raises(ValueError, match=r"2 layers \(numbered 0 to 1\), got layer 5"):
        D.set_neuron(m, 5, 0, 1, 0)
    with pytest.raises(ValueError, match="one bias"):
        D.set_neuron(m, 0, 0, 1, [1, 2])
    with pytest.raises(ValueError, match=r"shape \(n_inputs, n_neurons\) = \(1, 2\)"):
        D.set_layer_weights(m, 0, [[1.0], [2.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="one bias per neuron"):
        D.set_layer_weights(m, 0, [[1.0, 2.0]], [0.0])
    with pytest.raises(ValueError, match="takes 1 input"):
        D.evaluate(m, 1.0, 2.0)
    with pytest.raises(ValueError, match="unknown activation"):
        D.DenseNetwork(2, [(1, "softsign")], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="integer ≥ 1"):
        D.DenseNetwork(2, [(0, "relu")], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="at least one layer"):
        D.DenseNetwork(2, [], rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="by name"):
        D.DenseNetwork(2, [(1, jax.nn.relu)], rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="DenseNetwork"):
        D.layer_weights(nnx.Linear(1, 1, rngs=nnx.Rngs(0)), 0)
