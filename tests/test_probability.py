"""Chapter 16 — softmax, losses, normalisation, dropout: book values, identities, errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepmath_jax.probability import losses
from deepmath_jax.probability.dropout import Dropout, bernoulli_mask, dropout
from deepmath_jax.probability.normalization import BatchNorm, book_min_max_scale, min_max_scale, standardize
from deepmath_jax.probability.distributions import (
    check_distribution,
    gaussian_density,
    rank_of_max,
    sample_categorical,
    softmax,
    softmax_jacobian,
    softmax_temperature,
    standard_deviation,
    variance,
)

# Few distinct lengths: every new shape is a new compilation.
vectors = hnp.arrays(np.float64, st.sampled_from([2, 5]), elements=st.floats(-30, 30))
positive = hnp.arrays(np.float64, st.sampled_from([1, 4]), elements=st.floats(0, 1e3))
_jacobian = jax.jit(softmax_jacobian)
_jax_jacobian = jax.jit(jax.jacobian(softmax))


# ---------------------------------------------------------------- reference values (float64)


def test_book_softmax_and_argmax(x64):
    # Book L8071: softmax(3, 1, 8, 6, 0) ≃ (0.0059, 0.0008, 0.8746, 0.1184, 0.0003), rank 3.
    x = jnp.array([3.0, 1, 8, 6, 0])
    e = np.exp([3.0, 1, 8, 6, 0])
    np.testing.assert_allclose(softmax(x), e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(softmax(x), [0.0059, 0.0008, 0.8746, 0.1184, 0.0003], atol=5e-5)
    assert int(rank_of_max(x)) == 3 and int(jnp.argmax(x)) == 2


def test_book_losses(x64):
    y, yp = jnp.array([1.0, 2, 5, 1, 3]), jnp.array([1.2, 1.9, 4.5, 1.1, 2.7])
    assert float(losses.mean_squared_error(y, yp)) == pytest.approx(0.08, abs=1e-12)  # L8108
    assert float(losses.mean_absolute_error(y, yp)) == pytest.approx(0.24, abs=1e-12)  # L8122
    y2, yp2 = jnp.array([1.0, 5, 10, 100]), jnp.array([2.0, 4, 8, 105])
    msle = float(losses.mean_squared_logarithmic_error(y2, yp2))
    assert msle == pytest.approx(np.mean((np.log(np.array([2, 6, 11, 101])) - np.log([3, 5, 9, 106])) ** 2))
    assert abs(msle - 0.060) < 1e-3  # L8140
    yb, ypb = jnp.array([1.0, 0, 1, 1, 0, 1]), jnp.array([0.9, 0.2, 0.8, 1.0, 0.1, 0.7])
    bce = float(losses.binary_crossentropy(yb, ypb))
    assert bce == pytest.approx(-np.log([0.9, 0.8, 0.8, 1.0, 0.9, 0.7]).mean(), rel=1e-14)
    assert abs(bce - 0.17) < 0.01  # L8160


def test_book_heights_statistics(x64):
    heights = jnp.array([172.0, 165, 187, 181, 167, 184, 168, 174, 180, 186])  # L8246
    assert float(jnp.mean(heights)) == pytest.approx(176.4)
    assert float(variance(heights)) == pytest.approx(61.04)
    assert float(standard_deviation(heights)) == pytest.approx(math.sqrt(61.04))
    np.testing.assert_allclose(
        standardize(heights),
        # L8275, "arrondies": mostly rounded, but −1.0752 is printed −1.07 (truncated), so the
        # yardstick is one unit of the last printed digit.
        [-0.56, -1.46, 1.36, 0.59, -1.20, 0.97, -1.07, -0.31, 0.46, 1.23],
        atol=0.01,
    )


# ---------------------------------------------------------------- softmax identities (26–29)


@given(x=vectors, c=st.floats(-50, 50))
def test_softmax_is_a_distribution_invariant_by_constants(x64, x, c):
    s = softmax(x)
    assert np.all(np.asarray(s) > 0) and np.all(np.asarray(s) <= 1)
    assert float(jnp.sum(s)) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(softmax(x + c), s, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(s, jax.nn.softmax(x), rtol=1e-12, atol=1e-300)
    top2 = np.sort(np.asarray(x))[-2:]
    if top2[1] - top2[0] > 1e-6:  # a unique, well-separated maximum
        assert int(jnp.argmax(s)) == int(jnp.argmax(x))


@given(x=vectors)
def test_softmax_jacobian_is_the_book_formula(x64, x):
    j = _jacobian(x)
    np.testing.assert_allclose(j, _jax_jacobian(jnp.asarray(x)), atol=1e-14)
    np.testing.assert_allclose(j, j.T, atol=0)
    np.testing.assert_allclose(j.sum(axis=1), 0, atol=1e-14)


@given(x=st.floats(-10, 10))
def test_two_component_softmax_is_a_sigmoid(x64, x):
    assert float(softmax(jnp.array([x, 0.0]))[0]) == pytest.approx(float(jax.nn.sigmoid(x)), rel=1e-12)
    assert float(softmax(jnp.array([x, 1 - x]))[0]) == pytest.approx(float(jax.nn.sigmoid(2 * x - 1)), rel=1e-12)


@given(x=hnp.arrays(np.float64, st.sampled_from([2, 4]), elements=st.integers(-5, 5).map(float), unique=True))
def test_temperature_limits(x64, x):
    k = len(x)
    np.testing.assert_allclose(softmax_temperature(x, 1.0), softmax(x), rtol=1e-14)
    np.testing.assert_allclose(softmax_temperature(x, 1e-3), jax.nn.one_hot(np.argmax(x), k), atol=1e-12)
    np.testing.assert_allclose(softmax_temperature(x, 1e6), np.full(k, 1 / k), atol=1e-5)
    entropies = [
        float(-jnp.sum(jax.scipy.special.xlogy(p, p)))
        for p in (softmax_temperature(x, t) for t in (0.1, 0.5, 1, 2, 10))
    ]
    assert all(a <= b + 1e-12 for a, b in zip(entropies, entropies[1:], strict=False))


def _argmax_limit(x):
    """The T → 0 limit of softmax(x / T): the maxima share the mass equally."""
    x = np.asarray(x)
    top = (x == x.max()).astype(np.float64)
    return top / top.sum()


@pytest.mark.parametrize("x64_on", [True, False])
def test_temperature_tiny_and_normal_against_jax_softmax(x64_on):
    rng = np.random.default_rng(0)
    with jax.enable_x64(x64_on):
        dtype = jnp.result_type(float)
        eps = float(jnp.finfo(dtype).eps)
        for k in (2, 5):
            # |x| ≤ 1.5: x / 3e-308 stays finite in float64, so jax.nn.softmax(x / T) is defined.
            x = jnp.asarray(rng.uniform(-1.5, 1.5, k), dtype)
            for t in (1e-308, 3e-308, 1e-30, 0.1, 0.5, 1.0, 2.0, 10.0):
                ref = jax.nn.softmax(x / jnp.asarray(t, dtype))
                ours = softmax_temperature(x, t)
                assert np.all(np.isfinite(ours)) and float(jnp.sum(ours)) == pytest.approx(1, abs=4 * eps)
                if np.all(np.isfinite(ref)):
                    # Both exponents (x_i − max)/T and x_i/T − max/T carry an absolute rounding
                    # error ≤ eps·(|x_i| + |max|)/T ≤ 3·eps/T; e^a turns it into a relative one,
                    # doubled by the normalisation, plus eps per term of the sum.
                    np.testing.assert_allclose(ours, ref, rtol=6 * eps / t + (k + 2) * eps, atol=0)
                else:  # T is 0 for XLA (subnormal: flushed; or below float32's range): x / T = ±inf
                    assert t < float(jnp.finfo(dtype).tiny)
                if t <= 1e-30:
                    np.testing.assert_array_equal(ours, _argmax_limit(x))
        # Larger x (x / 1e-308 overflows: jax.nn.softmax gives NaN) and ties: the limit, shared.
        x = jnp.asarray([1.0, 3.0, 3.0, -2.0], dtype)
        assert np.all(np.isnan(jax.nn.softmax(x / 1e-308)))
        for t in (1e-308, 1e-30):
            np.testing.assert_array_equal(softmax_temperature(x, t), [0, 0.5, 0.5, 0])
            np.testing.assert_array_equal(jax.jit(softmax_temperature)(x, t), [0, 0.5, 0.5, 0])
        np.testing.assert_array_equal(softmax_temperature(x, 1e-30), jax.nn.softmax(x / 1e-30))
        g = jax.grad(lambda x: softmax_temperature(x, 1e-308)[1])(x)
        assert np.all(np.isfinite(g))


@given(t=st.floats(0.01, 100))
def test_temperature_fixed_point_at_one_half(x64, t):
    assert float(softmax_temperature(jnp.array([0.5, 0.5]), t)[0]) == pytest.approx(0.5)


# ---------------------------------------------------------------- losses identities (30–32)


@given(y=positive, noise=st.floats(0, 10))
def test_regression_losses(x64, y, noise):
    y = jnp.asarray(y)
    yp = y + noise
    mse, mae = losses.mean_squared_error(y, yp), losses.mean_absolute_error(y, yp)
    assert float(losses.mean_squared_error(y, y)) == 0.0
    assert float(mse) >= 0 and float(mae) <= math.sqrt(float(mse)) + 1e-12
    msle = losses.mean_squared_logarithmic_error(y, yp)
    np.testing.assert_allclose(msle, losses.mean_squared_error(jnp.log1p(y), jnp.log1p(yp)), rtol=1e-12)
    c = 3.0  # invariance under (y + 1, ỹ + 1) ↦ c(y + 1, ỹ + 1)
    np.testing.assert_allclose(
        losses.mean_squared_logarithmic_error(c * (y + 1) - 1, c * (yp + 1) - 1), msle, rtol=1e-9, atol=1e-15
    )


@given(y=st.floats(0, 1), q=st.floats(0.001, 0.999), z=st.floats(-10, 10))
def test_binary_crossentropy_minimum_and_logit_gradient(x64, y, q, z):
    y_, q_ = jnp.array([y]), jnp.array([q])
    entropy = float(losses.binary_crossentropy(y_, jnp.clip(y_, 1e-300, 1)))
    assert float(losses.binary_crossentropy(y_, q_)) >= entropy - 1e-12
    g = jax.grad(lambda z: losses.binary_crossentropy(y_, jnp.array([z]), from_logits=True))(z)
    assert float(g) == pytest.approx(float(jax.nn.sigmoid(z)) - y, abs=1e-12)
    np.testing.assert_allclose(
        losses.binary_crossentropy(y_, jax.nn.sigmoid(jnp.array([z]))),
        losses.binary_crossentropy(y_, jnp.array([z]), from_logits=True),
        rtol=1e-9,
        atol=1e-15,
    )


_ce_grad = jax.jit(jax.grad(lambda y, z: losses.categorical_crossentropy(y, z, from_logits=True), argnums=1))


@given(z=vectors, target=st.integers(0, 7))
def test_categorical_crossentropy_gibbs_and_gradient(x64, z, target):
    k = len(z)
    y = jax.nn.one_hot(target % k, k)
    p = softmax(z)
    ce = losses.categorical_crossentropy(y, p)
    assert float(ce) == pytest.approx(-math.log(float(p[target % k])), rel=1e-9)
    assert float(ce) >= 0
    grad = _ce_grad(y, jnp.asarray(z))
    np.testing.assert_allclose(grad, p - y, atol=1e-12)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(jnp.array([target % k]), z[None], from_logits=True),
        ce,
        rtol=1e-9,
        atol=1e-15,
    )
    # Gibbs: CE(y, p) ≥ CE(y, y) with a non-degenerate target distribution
    q = softmax(jnp.asarray(z) / 3)
    assert float(losses.categorical_crossentropy(q, p)) >= float(losses.categorical_crossentropy(q, q)) - 1e-12


def test_losses_agree_with_optax(x64):
    import optax

    z = jax.random.normal(jax.random.key(0), (5, 4))
    labels = jnp.array([0, 3, 1, 2, 3])
    y = jax.nn.one_hot(labels, 4)
    ref = optax.softmax_cross_entropy(z, y).mean()
    np.testing.assert_allclose(losses.categorical_crossentropy(y, z, from_logits=True), ref, rtol=1e-12)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(labels, z, from_logits=True), ref, rtol=1e-12)
    np.testing.assert_allclose(
        losses.binary_crossentropy(y, z, from_logits=True), optax.sigmoid_binary_cross_entropy(z, y).mean(), rtol=1e-12
    )


# ---------------------------------------------------------------- normalisation and dropout (34–37)


@given(y=hnp.arrays(np.float64, st.sampled_from([2, 7]), elements=st.floats(-1e3, 1e3)), alpha=st.floats(0.1, 10), beta=st.floats(-10, 10))
def test_min_max_and_standardize(x64, y, alpha, beta):
    if np.ptp(y) < 1e-6:
        return
    s = min_max_scale(y)
    assert float(s.min()) == pytest.approx(0) and float(s.max()) == pytest.approx(1)
    np.testing.assert_allclose(min_max_scale(alpha * y + beta), s, atol=1e-9)
    r = min_max_scale(y, -1, 1)
    assert float(r[np.argmin(y)]) == pytest.approx(-1) and float(r[np.argmax(y)]) == pytest.approx(1)
    printed = book_min_max_scale(y, -1, 1)  # the erratum: reversed orientation
    assert float(printed[np.argmin(y)]) == pytest.approx(1)
    if np.std(y) > 1e-3:
        z = standardize(y)
        assert float(jnp.mean(z)) == pytest.approx(0, abs=1e-9)
        assert float(jnp.std(z)) == pytest.approx(1, rel=1e-9)
        np.testing.assert_allclose(standardize(alpha * y + beta), z, atol=1e-7)
        assert float(variance(y)) == pytest.approx(float(np.mean(y**2) - np.mean(y) ** 2), rel=1e-6, abs=1e-6)


def test_gaussian_density_facts(x64):
    mu, sigma = 4.0, 1.5
    x = jnp.linspace(mu - 12 * sigma, mu + 12 * sigma, 200_001)
    f = gaussian_density(x, mu, sigma)
    assert float(jax.scipy.integrate.trapezoid(f, x)) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(f, f[::-1], rtol=1e-12)
    d2 = jax.grad(jax.grad(lambda t: gaussian_density(t, mu, sigma)))
    assert float(d2(mu + sigma)) == pytest.approx(0, abs=1e-12)
    inside = (x >= mu - 2 * sigma) & (x <= mu + 2 * sigma)
    assert float(jax.scipy.integrate.trapezoid(jnp.where(inside, f, 0), x)) == pytest.approx(0.9545, abs=1e-3)
    np.testing.assert_allclose(f, jax.scipy.stats.norm.pdf(x, mu, sigma), rtol=1e-12)


def test_batchnorm_equals_flax():
    x = jax.random.normal(jax.random.key(1), (32, 5)) * 3 + 2
    ours, ref = BatchNorm(5), nnx.BatchNorm(5, rngs=nnx.Rngs(0))
    for _ in range(3):
        np.testing.assert_allclose(ours(x), ref(x), atol=1e-5)
    np.testing.assert_allclose(ours.mean[...], ref.mean[...], atol=1e-6)
    np.testing.assert_allclose(ours.var[...], ref.var[...], atol=1e-5)
    ref.use_running_average = True
    np.testing.assert_allclose(ours(x, use_running_average=True), ref(x), atol=1e-5)
    out = ours(x)
    np.testing.assert_allclose(jnp.mean(out, axis=0), 0, atol=1e-5)
    with pytest.raises(ValueError, match=r"shape \(batch, …, 5\)"):
        ours(jnp.ones((4, 3)))


def test_dropout_expectation_and_test_time():
    key = jax.random.key(0)
    x = jnp.full((200_000,), 2.0)
    for p in (0.5, 0.8):
        y = dropout(key, x, p)
        kept = np.asarray(y) != 0
        assert abs(kept.mean() - p) < 0.005  # kept fraction → p (L8312: about 80 % for p = 0.8)
        np.testing.assert_allclose(np.asarray(y)[kept], 2.0 / p, rtol=1e-6)
        assert abs(float(jnp.mean(y)) - 2.0) < 0.02  # E[m x / p] = x
        mask = bernoulli_mask(key, p, x.shape)
        np.testing.assert_array_equal(np.asarray(y) != 0, np.asarray(mask))
    np.testing.assert_array_equal(dropout(key, x, 0.5, training=False), x)
    layer = Dropout(0.8, rngs=nnx.Rngs(dropout=3))
    assert not np.array_equal(layer(x), layer(x))  # a new mask at every step
    np.testing.assert_array_equal(layer(x, deterministic=True), x)
    a, b = Dropout(0.8, rngs=nnx.Rngs(dropout=3)), Dropout(0.8, rngs=nnx.Rngs(dropout=3))
    np.testing.assert_array_equal(a(x), b(x))  # same seed, same masks


# ---------------------------------------------------------------- bad input


def test_errors_are_clear():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        softmax_temperature(jnp.ones(3), 0.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=rf"temperature must be > 0 and finite, got {bad!r}"):
            softmax_temperature(jnp.ones(3), bad)
    for bad in ("0.5", None, [1.0, 2.0], True):
        with pytest.raises(TypeError, match=r"temperature must be a real number, got"):
            softmax_temperature(jnp.ones(3), bad)
    with pytest.raises(ValueError, match="must sum to 1"):
        losses.categorical_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.7, 0.7]]))
    with pytest.raises(ValueError, match="negative entries"):
        check_distribution(jnp.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="must sum to 1"):
        sample_categorical(jax.random.key(0), jnp.array([0.2, 0.2]))
    with pytest.raises(ValueError, match=r"shape \(5,\) but predictions have shape \(5, 1\)"):
        losses.mean_squared_error(jnp.ones(5), jnp.ones((5, 1)))
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        losses.binary_crossentropy(jnp.ones(2), jnp.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        losses.sparse_categorical_crossentropy(jnp.array([3]), jnp.ones((1, 3)) / 3)
    with pytest.raises(ValueError, match="0 < p ≤ 1"):
        dropout(jax.random.key(0), jnp.ones(3), 0.0)
    with pytest.raises(ValueError, match="two different values"):
        min_max_scale(jnp.ones(4))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gaussian_density(0.0, 0.0, -1.0)


def test_sampling_frequencies_follow_the_weights():
    p = jnp.array([0.1, 0.2, 0.7])
    draws = sample_categorical(jax.random.key(0), p, (100_000,))
    freq = np.bincount(np.asarray(draws), minlength=3) / draws.size
    np.testing.assert_allclose(freq, p, atol=0.01)
