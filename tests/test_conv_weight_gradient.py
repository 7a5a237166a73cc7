"""Chapter 12, §4 (backpropagation through shared weights, L7013) — the weight gradient of a
'same' convolution layer, dW[i,j,c,o] = Σ_{b,h,w} x̃[b,h+i,w+j,c] δ[b,h,w,o] (and for a
one-channel input db[o] = Σ δ[b,h,w,o]), as the compiled C++ kernels (XLA FFI custom calls)
against the definition, against ``lax``, and every place where they must fall back to the
reference forms (other dtypes, other channel counts, empty arrays, several devices)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from deepmath_jax.kernels import conv_weight_gradient as cw
from deepmath_jax.kernels import build
from helpers import assert_float32_close, float32_tolerance

TARGET = 'custom_call_target="deepmath_conv_weight_gradient"'
ONE = 'custom_call_target="deepmath_conv_weight_gradient_one_channel"'


def _hlo(f, *args) -> str:
    return jax.jit(f).lower(*args).compile().as_text()


def _random(rng, *shape):
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32))


def _lanes() -> int:
    return build.lanes() if build.available() else 16


def _by_definition(x: np.ndarray, delta: np.ndarray, k: int) -> np.ndarray:
    """The book's sum over every neuron sharing the tap (L7013), in float64 loops."""
    p = k // 2
    xp = np.pad(x.astype(np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    h, w = x.shape[1:3]
    dw = np.zeros((k, k, x.shape[3], delta.shape[3]))
    for i in range(k):
        for j in range(k):
            dw[i, j] = np.einsum("bhwc,bhwo->co", xp[:, i : i + h, j : j + w], delta)
    return dw


def test_equals_the_definition():
    rng = np.random.default_rng(0)
    lanes = _lanes()
    for b, h, w, c, o, k in ((3, 7, 6, 2 * lanes, 16, 3), (18, 5, 4, lanes, 5, 3),
                             (2, 6, 9, lanes, 8, 5), (1, 3, 3, 2 * lanes, 3, 1)):
        x, delta = _random(rng, b, h, w, c), _random(rng, b, h, w, o)
        got = np.asarray(jax.jit(cw.weight_gradient, static_argnums=2)(x, delta, k))
        want = _by_definition(np.asarray(x), np.asarray(delta), k)
        scale = _by_definition(np.abs(np.asarray(x)), np.abs(np.asarray(delta)), k)
        assert_float32_close(got, want, reduction=b * h * w, scale=scale)


@given(
    batch=st.integers(1, 20),  # below and above the kernel's 16 fixed chunks
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    cin_blocks=st.integers(1, 3),
    cout=st.integers(1, 20),
    k=st.sampled_from([1, 3, 5]),
)
def test_equals_lax(batch, height, width, cin_blocks, cout, k):
    rng = np.random.default_rng(batch * 1000 + height * 100 + width * 10 + cin_blocks + cout + k)
    cin = cin_blocks * _lanes()
    x, delta = _random(rng, batch, height, width, cin), _random(rng, batch, height, width, cout)
    want = np.asarray(cw.reference(x, delta, k))
    got = np.asarray(jax.jit(cw.weight_gradient, static_argnums=2)(x, delta, k))
    # float32 sums of B·H·W products in another order; Σ|products| from |x| and |δ|
    scale = float(np.max(cw.reference(jnp.abs(x), jnp.abs(delta), k), initial=0.0))
    assert_float32_close(got, want, reduction=batch * height * width, scale=scale)


def test_book_layer_runs_the_kernel_when_available():
    rng = np.random.default_rng(1)
    x, delta = _random(rng, 32, 28, 28, 32), _random(rng, 32, 28, 28, 16)  # ch. 14, L7380–7404
    f = lambda x, d: cw.weight_gradient(x, d, 3)  # noqa: E731
    assert (TARGET in _hlo(f, x, delta)) == build.available()
    got = np.asarray(jax.jit(f)(x, delta))
    # Each entry sums 25 088 float32 products; kernel and lax add them in different orders, so
    # both are compared with the float64 sum, relative to Σ|products| (the scale of float32
    # summation error): a few 1e-7 here, where one missed product would be ≈ 4e-5.
    want = _by_definition(np.asarray(x), np.asarray(delta), 3)
    scale = _by_definition(np.abs(np.asarray(x)), np.abs(np.asarray(delta)), 3)
    assert np.max(np.abs(got - want) / scale) < 1e-5
    assert np.max(np.abs(np.asarray(cw.reference(x, delta, 3)) - want) / scale) < 1e-5
    for _ in range(5):  # fixed chunks summed in order: the same bits whatever thread ran what
        np.testing.assert_array_equal(np.asarray(jax.jit(f)(x, delta)), got)


def test_falls_back_to_lax():
    rng = np.random.default_rng(2)
    x, delta = _random(rng, 2, 6, 6, 16), _random(rng, 2, 6, 6, 4)
    f = lambda x, d: cw.weight_gradient(x, d, 3)  # noqa: E731
    # bfloat16
    xb, db = x.astype(jnp.bfloat16), delta.astype(jnp.bfloat16)
    assert TARGET not in _hlo(f, xb, db)
    assert jax.jit(f)(xb, db).dtype == jnp.bfloat16
    # input channels that are not a multiple of the SIMD width (the RGB first layers)
    x3 = _random(rng, 2, 6, 6, 3)
    assert TARGET not in _hlo(f, x3, delta)
    assert_float32_close(jax.jit(f)(x3, delta), _by_definition(np.asarray(x3), np.asarray(delta), 3),
                         reduction=2 * 6 * 6,
                         scale=_by_definition(np.abs(np.asarray(x3)), np.abs(np.asarray(delta)), 3))
    # an empty batch: dW = 0
    assert TARGET not in _hlo(f, x[:0], delta[:0])
    np.testing.assert_array_equal(np.asarray(jax.jit(f)(x[:0], delta[:0])), 0.0)


def test_several_devices_fall_back_and_shard_map_keeps_the_kernel():
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(3)
    x, delta = _random(rng, 8, 6, 6, 16), _random(rng, 8, 6, 6, 4)
    want = np.asarray(cw.reference(x, delta, 3))
    f = lambda x, d: cw.weight_gradient(x, d, 3)  # noqa: E731
    # XLA's partitioner has no rule for the custom call: a program over 4 devices uses lax
    xs, ds = (jax.device_put(a, NamedSharding(mesh, P("data"))) for a in (x, delta))
    assert TARGET not in _hlo(f, xs, ds)
    assert_float32_close(jax.jit(f)(xs, ds), want, reduction=8 * 6 * 6)
    # a shard_map body sees one device's rows: each device runs the kernel, then a psum
    g = jax.shard_map(lambda x, d: jax.lax.psum(f(x, d), "data"), mesh=mesh,
                      in_specs=(P("data"), P("data")), out_specs=P())
    assert (TARGET in _hlo(g, x, delta)) == build.available()
    assert_float32_close(jax.jit(g)(x, delta), want, reduction=8 * 6 * 6)


def test_vmap_and_derivatives_equal_lax():
    rng = np.random.default_rng(4)
    x, delta = _random(rng, 2, 3, 5, 5, 16), _random(rng, 2, 3, 5, 5, 4)
    got = jax.vmap(lambda x, d: cw.weight_gradient(x, d, 3))(x, delta)
    want = jax.vmap(lambda x, d: cw.reference(x, d, 3))(x, delta)
    forward = 3 * 5 * 5  # terms of one dW entry
    assert_float32_close(got, want, reduction=forward)

    def loss(fn):
        return lambda x, d: jnp.sum(jnp.sin(fn(x, d, 3)) ** 2)

    # backward: an x entry meets 9·4 dW entries, a δ entry 9·16; entries near 0 are
    # cancellations, so the bound is norm-wise (the largest entry)
    for argnums, backward in ((0, 9 * 4), (1, 9 * 16)):
        got = jax.grad(loss(cw.weight_gradient), argnums)(x[0], delta[0])
        want = jax.grad(loss(cw.reference), argnums)(x[0], delta[0])
        assert_float32_close(got, want, reduction=forward + backward)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"expects images x .*got shapes \(5, 5, 2\)"):
        cw.weight_gradient(jnp.ones((5, 5, 2)), jnp.ones((1, 5, 5, 2)), 3)
    with pytest.raises(ValueError, match="must share batch, height and width"):
        cw.weight_gradient(jnp.ones((1, 5, 5, 2)), jnp.ones((1, 4, 5, 2)), 3)
    with pytest.raises(ValueError, match="odd positive int, got 2"):
        cw.weight_gradient(jnp.ones((1, 5, 5, 2)), jnp.ones((1, 5, 5, 2)), 2)


def test_one_channel_weight_and_bias_gradient():
    rng = np.random.default_rng(7)
    lanes = _lanes()
    f = jax.jit(cw.weight_and_bias_gradient_one_channel, static_argnums=2)
    for b, h, w, o, k in ((32, 28, 28, 2 * lanes, 3), (17, 5, 7, lanes, 3), (1, 1, 1, 3 * lanes, 3),
                          (3, 6, 4, 5, 3), (2, 6, 5, lanes, 5)):
        x, delta = _random(rng, b, h, w, 1), _random(rng, b, h, w, o)
        kernel_expected = build.available() and k == 3 and o % lanes == 0
        assert (ONE in _hlo(lambda x, d, k=k: cw.weight_and_bias_gradient_one_channel(x, d, k),
                            x, delta)) == kernel_expected
        dw, db = f(x, delta, k)
        want = _by_definition(np.asarray(x), np.asarray(delta), k)
        scale = _by_definition(np.abs(np.asarray(x)), np.abs(np.asarray(delta)), k)
        # element-wise Σ|t| bounds: 0 where every x̃ is padding, so those entries must be exact
        assert np.all(np.abs(np.asarray(dw) - want) <= float32_tolerance(b * h * w, 1.0) * scale)
        want_b = np.asarray(delta, np.float64).sum((0, 1, 2))
        scale_b = np.abs(np.asarray(delta, np.float64)).sum((0, 1, 2))
        assert np.all(np.abs(np.asarray(db) - want_b) <= float32_tolerance(b * h * w, 1.0) * scale_b)
    # derivatives and vmap through the reference form
    x, delta = _random(rng, 3, 2, 5, 5, 1), _random(rng, 3, 2, 5, 5, lanes)
    got = jax.vmap(lambda x, d: cw.weight_and_bias_gradient_one_channel(x, d, 3))(x, delta)
    want = jax.vmap(lambda x, d: cw.reference_one_channel(x, d, 3))(x, delta)
    for g, w in zip(got, want, strict=True):
        assert_float32_close(g, w, reduction=2 * 5 * 5)

    def loss(fn):
        return lambda x, d: sum(jnp.sum(jnp.sin(t) ** 2) for t in fn(x, d, 3))

    got = jax.grad(loss(cw.weight_and_bias_gradient_one_channel), 1)(x[0], delta[0])
    want = jax.grad(loss(cw.reference_one_channel), 1)(x[0], delta[0])
    assert_float32_close(got, want, reduction=2 * 5 * 5 + 9 + 1)
    with pytest.raises(ValueError, match=r"expects x \(B, H, W, 1\), got \(1, 5, 5, 2\)"):
        cw.weight_and_bias_gradient_one_channel(jnp.ones((1, 5, 5, 2)), jnp.ones((1, 5, 5, 4)), 3)
