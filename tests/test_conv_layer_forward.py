"""Chapter 14 (L7482–7493) — the forward pass of a Keras ``Conv2D(padding='same')`` layer,
y = act(conv(x, K) + b), as the compiled C++ kernel (XLA FFI custom call) against the definition
and ``lax``, and every place where it must fall back to the reference form (kernel sizes other
than 3, output channels that do not fill the SIMD registers, other dtypes, several devices)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from deepmath_jax.kernels import conv_layer_forward as fwd
from deepmath_jax.kernels import build
from deepmath_jax.kernels.onednn_convolution import reference as lax_conv
from helpers import assert_float32_close

TARGET = 'custom_call_target="deepmath_conv_layer"'


def _lanes() -> int:
    return build.lanes() if build.available() else 16


def _random(rng, *shape):
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32))


def _hlo(f, *args) -> str:
    return jax.jit(f).lower(*args).compile().as_text()


def _layer(relu):
    return lambda x, k, b: fwd.conv_layer(x, k, b, relu=relu)


def _by_definition(x, kernel, bias, relu):
    """The book's sum over taps and channels (L7482–7493), float64 loops over the taps."""
    k = kernel.shape[0]
    p = k // 2
    h, w = x.shape[1:3]
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    y = sum(np.einsum("bhwc,co->bhwo", xp[:, i : i + h, j : j + w], np.asarray(kernel, np.float64)[i, j])
            for i in range(k) for j in range(k)) + np.asarray(bias, np.float64)
    return np.maximum(y, 0) if relu else y


@given(
    batch=st.integers(1, 3),
    height=st.integers(1, 9),
    width=st.sampled_from([1, 2, 5, 7, 9, 13, 14, 24, 28]),  # block widths 14, 12, 8, 7, 4, 2, 1
    cin=st.sampled_from([1, 2, 3, 16, 32]),
    cout_blocks=st.integers(1, 3),
    relu=st.booleans(),
)
def test_equals_the_definition(batch, height, width, cin, cout_blocks, relu):
    rng = np.random.default_rng(batch * 1000 + height * 100 + width * 10 + cin + cout_blocks)
    cout = cout_blocks * _lanes()
    x, kernel, bias = _random(rng, batch, height, width, cin), _random(rng, 3, 3, cin, cout), _random(rng, cout)
    got = np.asarray(jax.jit(_layer(relu))(x, kernel, bias))
    want = _by_definition(x, kernel, bias, relu)
    scale = _by_definition(jnp.abs(x), jnp.abs(kernel), jnp.abs(bias), False)
    # against the exact (float64) sum: one float32 evaluation, within γ_n·Σ|t| of it
    assert_float32_close(got, want, reduction=9 * cin + 1, scale=scale)


def test_book_layers_run_the_kernel_when_available():
    rng = np.random.default_rng(1)
    for shape, cout in (((32, 28, 28, 32), 16), ((32, 28, 28, 1), 32), ((32, 28, 28, 16), 32)):
        x, kernel, bias = _random(rng, *shape), _random(rng, 3, 3, shape[3], cout), _random(rng, cout)
        assert (TARGET in _hlo(_layer(True), x, kernel, bias)) == build.available()
        got = jax.jit(_layer(True))(x, kernel, bias)
        scale = np.max(_by_definition(jnp.abs(x), jnp.abs(kernel), jnp.abs(bias), False))
        assert_float32_close(got, fwd.reference(x, kernel, bias, True),
                             reduction=9 * shape[3] + 1, scale=scale)
        for _ in range(3):  # each output is one thread's sum in a fixed order
            np.testing.assert_array_equal(np.asarray(jax.jit(_layer(True))(x, kernel, bias)),
                                          np.asarray(got))


def test_falls_back_to_the_reference():
    rng = np.random.default_rng(2)
    lanes = _lanes()
    x = _random(rng, 2, 6, 6, 4)
    cases = {
        "k = 5": (x, _random(rng, 5, 5, 4, lanes), _random(rng, lanes)),
        "odd output channels": (x, _random(rng, 3, 3, 4, lanes + 3), _random(rng, lanes + 3)),
        "bfloat16": (x.astype(jnp.bfloat16), _random(rng, 3, 3, 4, lanes).astype(jnp.bfloat16),
                     _random(rng, lanes).astype(jnp.bfloat16)),
        "empty batch": (x[:0], _random(rng, 3, 3, 4, lanes), _random(rng, lanes)),
    }
    for name, (x_, k_, b_) in cases.items():
        assert TARGET not in _hlo(_layer(True), x_, k_, b_), name
        got = np.asarray(jax.jit(_layer(True))(x_, k_, b_), np.float32)
        want = np.maximum(np.asarray(lax_conv(x_, k_), np.float32) + np.asarray(b_, np.float32), 0)
        if x_.dtype == jnp.bfloat16:  # the bfloat16 result and the bias add round to 8 bits
            np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2, err_msg=name)
        else:
            assert_float32_close(got, want, reduction=k_.shape[0] ** 2 * 4 + 1, err_msg=name)


def test_several_devices_fall_back_and_shard_map_keeps_the_kernel():
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(3)
    lanes = _lanes()
    x, kernel, bias = _random(rng, 8, 6, 6, 3), _random(rng, 3, 3, 3, lanes), _random(rng, lanes)
    want = np.asarray(fwd.reference(x, kernel, bias, True))
    xs = jax.device_put(x, NamedSharding(mesh, P("data")))
    assert TARGET not in _hlo(_layer(True), xs, kernel, bias)
    assert_float32_close(jax.jit(_layer(True))(xs, kernel, bias), want, reduction=9 * 3 + 1)
    f = jax.shard_map(_layer(True), mesh=mesh, in_specs=(P("data"), P(), P()), out_specs=P("data"))
    assert (TARGET in _hlo(f, x, kernel, bias)) == build.available()
    assert_float32_close(jax.jit(f)(x, kernel, bias), want, reduction=9 * 3 + 1)


def test_vmap_and_derivatives_equal_the_reference():
    rng = np.random.default_rng(4)
    lanes = _lanes()
    x, kernel, bias = _random(rng, 2, 3, 5, 5, 2), _random(rng, 2, 3, 3, 2, lanes), _random(rng, 2, lanes)
    for relu in (False, True):
        got = jax.vmap(_layer(relu))(x, kernel, bias)
        want = jax.vmap(lambda x, k, b, r=relu: fwd.reference(x, k, b, r))(x, kernel, bias)
        forward = 9 * 2 + 1  # terms of one output
        assert_float32_close(got, want, reduction=forward)

        def loss(fn):
            return lambda x, k, b: jnp.sum(jnp.tanh(fn(x, k, b)) ** 2)

        # the backward sum of each argument: the 9·lanes outputs an input feeds, the 3·5·5
        # positions a tap meets, the 3·5·5 outputs a bias feeds; norm-wise (cancellations)
        for argnums, backward in ((0, 9 * lanes), (1, 3 * 5 * 5), (2, 3 * 5 * 5)):
            got = jax.grad(loss(_layer(relu)), argnums)(x[0], kernel[0], bias[0])
            want = jax.grad(loss(lambda x, k, b, r=relu: fwd.reference(x, k, b, r)), argnums)(
                x[0], kernel[0], bias[0])
            assert_float32_close(got, want, reduction=forward + backward)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"conv_layer expects images .*got shape \(5, 5, 2\)"):
        fwd.conv_layer(jnp.ones((5, 5, 2)), jnp.ones((3, 3, 2, 16)), jnp.ones(16), relu=True)
    with pytest.raises(ValueError, match=r"bias must have shape \(16,\), got \(4,\)"):
        fwd.conv_layer(jnp.ones((1, 5, 5, 2)), jnp.ones((3, 3, 2, 16)), jnp.ones(4), relu=True)
