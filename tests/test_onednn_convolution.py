"""Chapter 14 — the 'same' convolution of a Keras ``Conv2D`` layer on oneDNN (XLA's
``__onednn$convolution`` custom call) against ``lax.conv_general_dilated``, and every place where
the primitive must fall back to ``lax`` (other dtypes, empty arrays, several devices, vmap,
derivatives)."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from deepmath_jax.kernels import onednn_convolution as oc
from helpers import assert_float32_close


def _hlo(f, *args) -> str:
    return jax.jit(f).lower(*args).compile().as_text()


def _random(rng, *shape):
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32))


@given(
    batch=st.integers(1, 3),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    cin=st.integers(1, 5),
    cout=st.integers(1, 5),
    k=st.sampled_from([1, 3, 5]),
)
def test_equals_lax_convolution(batch, height, width, cin, cout, k):
    rng = np.random.default_rng(batch * 1000 + height * 100 + width * 10 + cin + cout + k)
    x, kernel = _random(rng, batch, height, width, cin), _random(rng, k, k, cin, cout)
    want = np.asarray(oc.reference(x, kernel))
    got = np.asarray(jax.jit(oc.conv_same)(x, kernel))
    # float32 sums of k²·cin products in another order; Σ|products| is the convolution of |x|, |K|
    scale = float(jnp.max(oc.reference(jnp.abs(x), jnp.abs(kernel)), initial=0.0))
    assert_float32_close(got, want, reduction=k * k * cin, scale=scale)


def test_book_layer_shape_runs_on_onednn_when_available():
    rng = np.random.default_rng(0)
    x, kernel = _random(rng, 32, 28, 28, 32), _random(rng, 3, 3, 32, 16)  # ch. 14, L7380–7404
    hlo = _hlo(oc.conv_same, x, kernel)
    assert ("__onednn$convolution" in hlo) == oc.available()
    want = np.asarray(oc.reference(x, kernel))
    scale = float(jnp.max(oc.reference(jnp.abs(x), jnp.abs(kernel))))
    assert_float32_close(oc.conv_same(x, kernel), want, reduction=3 * 3 * 32, scale=scale)


def test_same_numbers_every_call():
    rng = np.random.default_rng(1)
    x, kernel = _random(rng, 32, 28, 28, 32), _random(rng, 3, 3, 32, 16)
    f = jax.jit(oc.conv_same)
    first = np.asarray(f(x, kernel))
    for _ in range(5):
        np.testing.assert_array_equal(np.asarray(f(x, kernel)), first)


def test_falls_back_to_lax_for_other_dtypes_and_empty_arrays():
    rng = np.random.default_rng(2)
    x, kernel = _random(rng, 2, 6, 6, 3), _random(rng, 3, 3, 3, 4)
    xb, kb = x.astype(jnp.bfloat16), kernel.astype(jnp.bfloat16)
    assert "__onednn$convolution" not in _hlo(oc.conv_same, xb, kb)
    out = oc.conv_same(xb, kb)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(out, np.float32),
                               np.asarray(oc.reference(xb, kb), np.float32), rtol=1e-2, atol=1e-2)
    assert "__onednn$convolution" not in _hlo(oc.conv_same, x[:0], kernel)
    assert oc.conv_same(x[:0], kernel).shape == (0, 6, 6, 4)


def test_falls_back_to_lax_over_several_devices():
    # XLA's partitioner has no rule for the custom call: a program over 4 devices uses lax.
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(3)
    x = jax.device_put(_random(rng, 8, 6, 6, 3), NamedSharding(mesh, P("data")))
    kernel = jax.device_put(_random(rng, 3, 3, 3, 4), NamedSharding(mesh, P()))
    assert "__onednn$convolution" not in _hlo(oc.conv_same, x, kernel)
    assert_float32_close(jax.jit(oc.conv_same)(x, kernel), oc.reference(x, kernel),
                         reduction=3 * 3 * 3)


def test_shard_map_body_keeps_onednn():
    # inside a shard_map manual over the whole mesh each device convolves its own rows
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(6)
    x, kernel = _random(rng, 8, 6, 6, 3), _random(rng, 3, 3, 3, 4)
    f = jax.shard_map(oc.conv_same, mesh=mesh, in_specs=(P("data"), P()), out_specs=P("data"))
    assert ("__onednn$convolution" in _hlo(f, x, kernel)) == oc.available()
    assert_float32_close(jax.jit(f)(x, kernel), oc.reference(x, kernel), reduction=3 * 3 * 3)


def test_vmap_and_derivatives_equal_lax():
    rng = np.random.default_rng(4)
    x, kernel = _random(rng, 3, 2, 5, 5, 2), _random(rng, 3, 3, 3, 2, 3)
    forward = 3 * 3 * 2  # terms of one output of the convolution
    assert_float32_close(jax.vmap(oc.conv_same)(x, kernel), jax.vmap(oc.reference)(x, kernel),
                         reduction=forward)

    def loss(conv):
        return lambda x, k: jnp.sum(jnp.tanh(conv(x, k)) ** 2)

    # a gradient entry chains the forward sums with a backward sum: over the 3·3·3 outputs an
    # input feeds (argnums 0) or over the 2·5·5 positions a tap meets (argnums 1); entries near 0
    # are cancellations, so the bound is norm-wise (the largest entry).
    for argnums, backward in ((0, 3 * 3 * 3), (1, 2 * 5 * 5)):
        got = jax.grad(loss(oc.conv_same), argnums)(x[0], kernel[0])
        want = jax.grad(loss(oc.reference), argnums)(x[0], kernel[0])
        assert_float32_close(got, want, reduction=forward + backward)
    got = jax.hessian(loss(oc.conv_same), 1)(x[0, :1], kernel[0])
    want = jax.hessian(loss(oc.reference), 1)(x[0, :1], kernel[0])
    assert_float32_close(got, want, reduction=2 * (forward + 1 * 5 * 5))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"conv_same expects images .*got shape \(5, 5, 2\)"):
        oc.conv_same(jnp.ones((5, 5, 2)), jnp.ones((3, 3, 2, 1)))
    with pytest.raises(ValueError, match="k odd"):
        oc.conv_same(jnp.ones((1, 5, 5, 2)), jnp.ones((2, 2, 2, 1)))
    with pytest.raises(ValueError, match="kernel expects 3 input channels, the images have 2"):
        oc.conv_same(jnp.ones((1, 5, 5, 2)), jnp.ones((3, 3, 3, 1)))


def test_switch_and_probe(monkeypatch):
    for value, expected in (("0", False), ("1", True)):
        monkeypatch.setenv(oc.ENV_SWITCH, value)
        oc.available.cache_clear()
        assert oc.available() is expected
    monkeypatch.delenv(oc.ENV_SWITCH)
    oc.available.cache_clear()
    assert isinstance(oc.available(), bool)
    if oc.available():  # the child process that decided it: oneDNN equals lax
        done = subprocess.run([sys.executable, "-m", "deepmath_jax.kernels.onednn_convolution"],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, oc.ENV_SWITCH: "1"})
        assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout
