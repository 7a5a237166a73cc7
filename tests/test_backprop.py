"""The layered backpropagation by hand (the recursion (4)–(6) in matrix form) equals jax.grad,
and agrees with the neuron-by-neuron smile engine."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from deepmath_jax.autodiff.backprop import (
    forward,
    gradient_descent,
    init_mlp,
    jax_value_and_grad,
    layer_sizes,
    loss_value,
    manual_value_and_grad,
)
from deepmath_jax.autodiff.smile import layered_network, recursion_partials, smile_partials

ARCHITECTURES = [
    ([1, 1], ("sigmoid",), "mse"),
    ([2, 2, 1], ("sigmoid", "sigmoid"), "mse"),  # the chapter-9 XOR network
    ([3, 5, 4, 2], ("tanh", "relu", "identity"), "mse"),
    ([2, 4, 4, 4, 1], ("sin", "square", "cos", "exp"), "mse"),
    ([4, 6, 3], ("tanh", "identity"), "cross_entropy"),
    ([3, 5, 5, 4], ("sigmoid", "relu", "identity"), "cross_entropy"),
]


def _tree_close(a, b, rtol):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol * (1 + float(jnp.max(jnp.abs(v)))))


@pytest.mark.parametrize(("sizes", "acts", "loss"), ARCHITECTURES)
def test_manual_gradients_equal_jax_grad(x64, sizes, acts, loss):
    key = jax.random.key(len(sizes) * 10 + sizes[0])
    kp, kx, ky = jax.random.split(key, 3)
    params = init_mlp(kp, sizes)
    for p in params:  # non-zero biases, so that they matter
        p["b"] = p["b"] + 0.1
    X = jax.random.normal(kx, (9, sizes[0]))
    if loss == "mse":
        Y = jax.random.normal(ky, (9, sizes[-1]))
    else:
        Y = jax.random.randint(ky, (9,), 0, sizes[-1])
    E1, g1 = manual_value_and_grad(params, X, Y, activations=acts, loss=loss)
    E2, g2 = jax_value_and_grad(params, X, Y, activations=acts, loss=loss)
    assert float(E1) == pytest.approx(float(E2), rel=1e-14)
    _tree_close(g1, g2, 1e-12)
    assert [(g["W"].shape, g["b"].shape) for g in g1] == [(p["W"].shape, p["b"].shape) for p in params]


def test_losses_equal_the_library_definitions(x64):
    """MSE = Keras' mean_squared_error (mean over all entries); cross-entropy =
    optax.softmax_cross_entropy averaged over the rows, integer labels = one-hot labels."""
    params = init_mlp(jax.random.key(1), [3, 4, 5])
    X = jax.random.normal(jax.random.key(2), (6, 3))
    F = forward(params, X, ("tanh", "identity"))
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    onehot = jax.nn.one_hot(labels, 5)
    ce = loss_value(params, X, labels, activations=("tanh", "identity"), loss="cross_entropy")
    assert float(ce) == pytest.approx(float(jnp.mean(optax.softmax_cross_entropy(F, onehot))), rel=1e-14)
    assert float(loss_value(params, X, onehot, activations=("tanh", "identity"), loss="cross_entropy")) == float(ce)
    Y = jax.random.normal(jax.random.key(3), (6, 5))
    mse = loss_value(params, X, Y, activations=("tanh", "identity"))
    assert float(mse) == pytest.approx(float(jnp.mean(optax.l2_loss(F, Y)) * 2), rel=1e-14)


def test_matches_the_smile_engine_on_one_sample(x64):
    """The dense network of the smile engine (one neuron per unit, named weights) and the
    matrix form give the same ∂F/∂W and ∂F/∂b: the matrix form is the recursion (4)–(6)."""
    sizes, acts = [2, 3, 2, 1], ("tanh", "sin", "identity")
    params = init_mlp(jax.random.key(5), sizes)
    params = [{"W": p["W"], "b": p["b"] + 0.2} for p in params]
    net = layered_network(2, sizes[1:], list(acts))
    x = jnp.array([[0.4, -1.3]])
    values = {}
    for l, p in enumerate(params, start=1):
        src = [f"x{i + 1}" for i in range(sizes[0])] if l == 1 else [f"l{l - 1}n{i + 1}" for i in range(sizes[l - 1])]
        for j in range(sizes[l]):
            tgt = f"l{l}n{j + 1}"
            values[f"b:{tgt}"] = float(p["b"][j])
            for i, s in enumerate(src):
                values[f"w:{s}>{tgt}"] = float(p["W"][i, j])
    inputs = {"x1": 0.4, "x2": -1.3}
    # E = F with "mse" against 0 would square it; compare ∂F/∂W via a linear loss: E = mean((F − Y)²)
    # has ∂E/∂W = 2(F − Y)∂F/∂W (L3922), so divide out 2(F − Y) with Y = F − 1/2
    F = forward(params, x, acts)
    _, grads = manual_value_and_grad(params, x, F - 0.5, activations=acts)  # 2(F − Y) = 1
    for p in (smile_partials(net, inputs, values), recursion_partials(net, inputs, values)):
        assert float(p.value) == pytest.approx(float(F[0, 0]), rel=1e-14)
        for l in range(len(sizes) - 1):
            for j in range(sizes[l + 1]):
                tgt = f"l{l + 1}n{j + 1}"
                assert float(grads[l]["b"][j]) == pytest.approx(float(p.params[f"b:{tgt}"]), rel=1e-12)
                for i in range(sizes[l]):
                    src = f"x{i + 1}" if l == 0 else f"l{l}n{i + 1}"
                    assert float(grads[l]["W"][i, j]) == pytest.approx(float(p.params[f"w:{src}>{tgt}"]), rel=1e-12)


def test_gradient_descent_manual_equals_library(x64):
    """Full-batch descent with the hand gradients = with jax.grad = an optax.sgd loop; errors
    are recorded before each update (Keras' train_on_batch)."""
    params = init_mlp(jax.random.key(0), [2, 2, 1])
    X = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = jnp.array([[0.0], [1.0], [1.0], [0.0]])
    acts = ("sigmoid", "sigmoid")
    p1, h1 = gradient_descent(params, X, Y, activations=acts, learning_rate=1.0, steps=200)
    p2, h2 = gradient_descent(params, X, Y, activations=acts, learning_rate=1.0, steps=200, manual=False)
    np.testing.assert_allclose(h1, h2, rtol=1e-12)
    _tree_close(p1, p2, 1e-11)
    assert float(h1[0]) == pytest.approx(float(loss_value(params, X, Y, activations=acts)), rel=1e-15)
    tx = optax.sgd(1.0)
    p, state = params, tx.init(params)
    for _ in range(200):
        _, g = jax_value_and_grad(p, X, Y, activations=acts)
        updates, state = tx.update(g, state)
        p = optax.apply_updates(p, updates)
    _tree_close(p1, p, 1e-11)
    assert float(h1[-1]) < float(h1[0])


def test_init_and_layer_sizes():
    p1 = init_mlp(jax.random.key(3), [4, 8, 2])
    p2 = init_mlp(jax.random.key(3), [4, 8, 2])
    assert layer_sizes(p1) == [4, 8, 2]
    _tree_close(p1, p2, 0)
    limit = (6 / (4 + 8)) ** 0.5  # glorot_uniform
    assert float(jnp.max(jnp.abs(p1[0]["W"]))) <= limit and float(jnp.max(jnp.abs(p1[0]["b"]))) == 0
    assert init_mlp(jax.random.key(3), [4, 8, 2], kernel_init="lecun_normal")[0]["W"].shape == (4, 8)


def test_bad_input_is_rejected():
    params = init_mlp(jax.random.key(0), [2, 3, 1])
    X, Y = jnp.ones((5, 2)), jnp.ones((5, 1))
    acts = ("tanh", "identity")
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        forward(params, jnp.ones((5, 3)), acts)
    with pytest.raises(ValueError, match=r"Y must have shape \(N, n_L\) = \(5, 1\), got \(5, 2\)"):
        manual_value_and_grad(params, X, jnp.ones((5, 2)), activations=acts)
    with pytest.raises(ValueError, match="2 layers but 1 activations"):
        manual_value_and_grad(params, X, Y, activations=("tanh",))
    with pytest.raises(ValueError, match="unknown activation 'softsign'"):
        manual_value_and_grad(params, X, Y, activations=("softsign", "identity"))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        manual_value_and_grad(params, X, Y, activations=acts, loss="hinge")
    with pytest.raises(TypeError, match="labels of shape \\(N,\\) must be integers"):
        manual_value_and_grad(params, X, jnp.ones(5), activations=acts, loss="cross_entropy")
    with pytest.raises(ValueError, match="layer 2: W has 4 input rows but layer 1 has 3 neurons"):
        forward([params[0], {"W": jnp.ones((4, 1)), "b": jnp.ones(1)}], X, acts)
    with pytest.raises(ValueError, match=r"sizes must list at least"):
        init_mlp(jax.random.key(0), [3])
    with pytest.raises(ValueError, match="learning rate δ must be > 0"):
        gradient_descent(params, X, Y, activations=acts, learning_rate=0.0, steps=3)
    with pytest.raises(ValueError, match=r"non-finite at step \d+ .* δ = 1e\+30"):
        gradient_descent(params, X, 1e3 * Y, activations=("identity", "identity"), learning_rate=1e30, steps=50)
