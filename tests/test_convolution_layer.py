"""Chapter 12 — convolution neuron and layer (Flax NNX), and backpropagation through shared
weights written by hand (L7013) against ``jax.grad``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_jax.calculus.activations import tanh, tanh_prime
from deepmath_jax.convolution.conv2d import convolve2d, convolve_channels, correlate_channels
from deepmath_jax.convolution.layer import (
    BookConv,
    conv_backward,
    conv_forward,
    conv_layer_weight_count,
    conv_neuron2d,
    dense_layer_weight_count,
    inputs_facing_weight,
    motif_gradient_by_weight,
    shared_weight_derivative,
)


def test_neuron_formula_and_weight_counts():
    a = np.arange(1.0, 10).reshape(3, 3)
    m = np.array([[1.0, 0, 2], [2, 1, 0], [1, 0, 3]])
    # s = a11·m33 + a12·m32 + … + a33·m11 (L6712)
    expected = sum(a[i, j] * m[2 - i, 2 - j] for i in range(3) for j in range(3))
    assert float(conv_neuron2d(a, m)) == expected
    assert float(conv_neuron2d(a, m, jnp.tanh)) == pytest.approx(np.tanh(expected))
    assert dense_layer_weight_count(100, 100) == 100_000_000  # L6741
    assert conv_layer_weight_count(3) == 9
    assert conv_layer_weight_count(3, 3, 32, bias=True) == 32 * (9 * 3 + 1)
    with pytest.raises(ValueError, match="window"):
        conv_neuron2d(np.ones((2, 3)), m)


def test_book_conv_module_shapes_counts_and_nnx_conv():
    layer = BookConv(3, 4, (3, 3), rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, 7, 6, 3))
    y = layer(x)
    assert y.shape == (2, 7, 6, 4) and layer(x[0]).shape == (7, 6, 4)  # (n, p, ℓ), L6780
    n_params = sum(v.size for v in jax.tree.leaves(nnx.state(layer, nnx.Param)))
    assert layer.weight_count == n_params == 4 * (9 * 3 + 1)
    np.testing.assert_allclose(y, layer.to_nnx_conv()(x), atol=1e-5)
    # The module is the book's convolution of every input channel, summed, plus the bias.
    manual = convolve_channels(x, layer.motifs[...]) + layer.bias[...].reshape(1, 1, 1, 4)
    np.testing.assert_allclose(y, manual, atol=1e-6)
    strided = BookConv(
        3,
        2,
        (2, 3),
        strides=2,
        padding="valid",
        dilation=(1, 2),
        use_bias=False,
        activation=jax.nn.relu,
        rngs=nnx.Rngs(2),
    )
    out = strided(x)
    np.testing.assert_allclose(out, jax.nn.relu(strided.to_nnx_conv()(x)), atol=1e-5)
    assert strided.weight_count == 2 * 2 * 3 * 3


@pytest.mark.parametrize("kernel, strides", [((2, 2), 1), ((2, 3), 2), ((4, 4), 1), ((3, 3), 2)])
def test_book_conv_even_kernels_same_padding(kernel, strides):
    # "same" is the book's convention (extra zero top / left for an even side, L6642); the
    # equal nnx.Conv gets explicit pads (its own "SAME" is XLA's: bottom / right).
    layer = BookConv(2, 3, kernel, strides=strides, rngs=nnx.Rngs(5))
    x = jax.random.normal(jax.random.key(6), (2, 7, 6, 2))
    y = layer(x)
    np.testing.assert_allclose(y, layer.to_nnx_conv()(x), atol=1e-5)
    x1 = x[0, :, :, 0]
    expected = convolve2d(x1, layer.motifs[...][:, :, 0, 0], stride=strides) + convolve2d(
        x[0, :, :, 1], layer.motifs[...][:, :, 1, 0], stride=strides
    )
    np.testing.assert_allclose(y[0, ..., 0], expected + layer.bias[...][0], atol=1e-5)


@pytest.mark.parametrize("kernel", [(2, 2), (2, 3), (4, 4), (3, 3)])
def test_input_gradient_is_the_same_correlation_for_even_kernels(kernel):
    # ∂F/∂x = correlation of delta with the motifs (channels swapped), the libraries' "same"
    # (extra zero bottom / right): the adjoint of the book's "same" (top / left).
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (2, 6, 5, 3)).astype(np.float32)
    motifs = rng.integers(-3, 4, (*kernel, 3, 2)).astype(np.float32)
    delta = rng.integers(-3, 4, (2, 6, 5, 2)).astype(np.float32)
    grads = conv_backward(x, motifs, delta)
    np.testing.assert_array_equal(
        grads.x, correlate_channels(delta, motifs.swapaxes(2, 3), padding="same")
    )
    _, vjp = jax.vjp(lambda x: convolve_channels(x, motifs), jnp.asarray(x))
    np.testing.assert_array_equal(grads.x, vjp(jnp.asarray(delta))[0])


def test_book_conv_trains_with_nnx_grad():
    # The layer's parameters are nnx.Params: nnx.grad gives ∂loss/∂motifs equal to ours by hand.
    layer = BookConv(1, 1, 3, use_bias=False, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(3), (5, 5, 1))
    target = jax.random.normal(jax.random.key(4), (5, 5, 1))

    def loss(model):
        return 0.5 * jnp.sum((model(x) - target) ** 2)

    grads = nnx.grad(loss)(layer)
    delta = layer(x) - target
    np.testing.assert_allclose(
        grads.motifs[...], conv_backward(x, layer.motifs[...], delta).motifs, atol=1e-5
    )


def test_shared_weight_formula_two_neurons(x64):
    # L6965–7003: F = ψ(g1, g2), g_i = tanh(a f_i + c_i), ∂F/∂a = Σ f_i,* g'_i,* ∂F/∂g_i.
    f = jnp.array([0.7, -1.3])
    c = jnp.array([0.25, -0.4])

    def psi(g):
        return g[0] ** 2 * g[1] + jnp.sin(g[1])

    def F(a):
        return psi(tanh(a * f + c))

    a = 0.8
    z = a * f + c
    g = tanh(z)
    dF_dg = jax.grad(psi)(g)
    by_hand = shared_weight_derivative(f, tanh_prime(z), dF_dg)
    assert float(by_hand) == pytest.approx(float(jax.grad(F)(a)), rel=1e-14)
    # Identity activation (L7007): g'_* = 1.
    assert float(shared_weight_derivative(f, None, dF_dg)) == pytest.approx(
        float(f @ dF_dg), rel=1e-14
    )
    with pytest.raises(ValueError, match="one input per neuron"):
        shared_weight_derivative(f, None, jnp.ones(3))


def test_motif_gradient_weight_by_weight_equals_jax_grad(x64):
    A = jax.random.normal(jax.random.key(0), (5, 6))
    for shape, mode in [((3, 3), "same"), ((2, 3), "full")]:
        M = jax.random.normal(jax.random.key(1), shape)
        out = convolve2d(A, M, mode)
        G = jax.random.normal(jax.random.key(2), out.shape)
        gp = tanh_prime(out)
        ref = jax.grad(lambda M, m=mode, w=G * gp: jnp.sum(w * convolve2d(A, M, m)))(M)
        np.testing.assert_allclose(
            motif_gradient_by_weight(A, M, G, gp, mode), ref, rtol=1e-12, atol=1e-12
        )
        # f_{i,*} for weight m_uv: output of the convolution by the unit motif at (u, v).
        unit = jnp.zeros(shape).at[1, 0].set(1.0)
        np.testing.assert_allclose(
            inputs_facing_weight(A, shape, 1, 0, mode), convolve2d(A, unit, mode)
        )


backward_cases = st.tuples(
    st.sampled_from([(5, 6), (6, 4)]),
    st.sampled_from([(1, 1), (2, 3)]),
    st.sampled_from([(3, 3), (2, 3)]),
    st.sampled_from([1, 2]),
    st.sampled_from([1, 2]),
    st.sampled_from(["same", "full", "valid", ((0, 1), (2, 0))]),
    st.booleans(),  # batched input
)


@settings(max_examples=10)  # each example compiles; pytest -m slow runs more
@given(backward_cases)
def test_conv_backward_equals_jax_grad(case):
    check_backward(case)


@pytest.mark.slow
@settings(max_examples=100)
@given(backward_cases)
def test_conv_backward_equals_jax_grad_many_cases(case):
    check_backward(case)


def check_backward(case):
    (n, p), (k, l), (kh, kw), stride, dilation, padding, batched = case
    rng = np.random.default_rng(n * 100 + k * 10 + kh)  # numpy draws: nothing to compile
    x = rng.normal(size=((2,) if batched else ()) + (n, p, k)).astype(np.float32)
    motifs = rng.normal(size=(kh, kw, k, l)).astype(np.float32)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    try:
        out = convolve_channels(x, motifs, **kwargs)
    except ValueError:
        return  # the dilated motif does not fit in valid mode
    G = rng.normal(size=out.shape).astype(np.float32)
    grads = conv_backward(x, motifs, G, **kwargs)
    loss = jax.jit(lambda x, m: jnp.sum(G * convolve_channels(x, m, **kwargs)))
    gx, gm = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, motifs)
    np.testing.assert_allclose(grads.motifs, gm, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads.x, gx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads.bias, G.reshape(-1, l).sum(axis=0), rtol=1e-5, atol=1e-4)


def test_two_layer_network_backprop_by_hand(x64):
    # tanh(A * M1 + b1) * M2, squared error: the book's formula layer after layer = jax.grad.
    A = jax.random.normal(jax.random.key(0), (6, 6))
    M1, M2 = (
        jax.random.normal(jax.random.key(1), (3, 3)),
        jax.random.normal(jax.random.key(2), (3, 3)),
    )
    T = jax.random.normal(jax.random.key(3), (6, 6))

    def loss(M1, b1, M2):
        _, g = conv_forward(A[..., None], M1[..., None], b1, activation=tanh)
        return 0.5 * jnp.sum((convolve2d(g, M2) - T) ** 2)

    z, g = conv_forward(A[..., None], M1[..., None], 0.3, activation=tanh)
    second = conv_backward(g[..., None], M2[..., None], convolve2d(g, M2) - T)
    first = conv_backward(A[..., None], M1[..., None], tanh_prime(z) * second.x[..., 0])
    ref = jax.grad(loss, argnums=(0, 1, 2))(M1, 0.3, M2)
    np.testing.assert_allclose(first.motifs[..., 0], ref[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(first.bias, ref[1], rtol=1e-12)
    np.testing.assert_allclose(second.motifs[..., 0], ref[2], rtol=1e-12, atol=1e-12)


def test_bad_inputs():
    layer = BookConv(3, 2, 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="mismatched channels: the input has 1 channels"):
        layer(jnp.ones((5, 5, 1)))
    with pytest.raises(ValueError, match="strides must be ≥ 1"):
        BookConv(1, 1, 3, strides=0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="in_features must be ≥ 1"):
        BookConv(0, 1, 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="delta must have the layer output's shape"):
        conv_backward(jnp.ones((5, 5, 1)), jnp.ones((3, 3, 1, 2)), jnp.ones((5, 5)))
    with pytest.raises(ValueError, match="mismatched channels"):
        conv_backward(jnp.ones((5, 5, 2)), jnp.ones((3, 3, 1, 2)), jnp.ones((5, 5, 2)))
