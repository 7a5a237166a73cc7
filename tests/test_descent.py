"""Gradient descent (chapter 8): the book's recurrences by hand vs optax + jax.grad, the
step-size schedules, and the chapter's identities (inventory part 1 §15 items 22–29)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.optim import descent, schedules


def in_x64(fn):
    """Run a hypothesis test body with float64 (a fixture would not be reset between examples)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------------------------
# Functions jitted once per module (the property tests call them with many arguments)
# --------------------------------------------------------------------------------------------


def _quadratic(a, b):
    """f(P) = ½PᵀAP − bᵀP."""
    return lambda p: 0.5 * p @ (a @ p) - b @ p


@functools.partial(jax.jit, static_argnames="n")
def _gd_quadratic(a, b, p0, delta, n):
    return descent.descend(_quadratic(a, b), p0, descent.gradient_descent(delta), n, check=False)


def _spd(seed: int, dim: int):
    """A random symmetric positive-definite matrix with eigenvalues in [0.5, 5]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    lam = rng.uniform(0.5, 5.0, size=dim)
    return (q * lam) @ q.T, lam, q


def _line_error(p, example):
    x, y = example
    return (y - (p[0] * x + p[1])) ** 2


def _line_error_grad(p, example):
    x, y = example
    r = y - (p[0] * x + p[1])
    return jnp.stack([-2 * x * r, -2 * r])


def _line_total(xs, ys):
    return lambda p: jnp.sum((ys - (p[0] * xs + p[1])) ** 2)


# --------------------------------------------------------------------------------------------
# The book's first tables
# --------------------------------------------------------------------------------------------


def test_book_table_two_variables(x64):
    """a² + 3b² from (2, 1), δ = 0.2 (L4306–4315), by hand and with optax + jax.grad."""
    f = lambda p: p[0] ** 2 + 3 * p[1] ** 2  # noqa: E731
    g = lambda p: jnp.stack([2 * p[0], 6 * p[1]])  # noqa: E731
    lib = descent.descend(f, jnp.array([2.0, 1.0]), descent.gradient_descent(0.2), 20)
    hand = descent.book_gradient_descent(f, g, jnp.array([2.0, 1.0]), 0.2, 20)
    np.testing.assert_allclose(lib.points, hand.points, rtol=0, atol=1e-15)
    np.testing.assert_allclose(lib.grads, hand.grads, rtol=0, atol=1e-15)
    np.testing.assert_allclose(lib.points[1], [1.2, -0.2], atol=1e-15)
    np.testing.assert_allclose(lib.points[5], [0.15552, -0.00032], atol=1e-15)
    assert float(lib.losses[1]) == pytest.approx(1.56)
    assert float(lib.losses[20]) == pytest.approx(5.34699781e-9, rel=1e-8)
    np.testing.assert_allclose(lib.step_sizes, np.full(20, 0.2))


def test_book_parabola_tables(x64):
    """Classic vs cyclic stochastic descent on the parabola fit (L4727–4740), by hand and library."""
    data = jnp.array([[2.0, 0.0], [0.0, 2.0], [4.0, 6.0], [1.0, 0.0]])

    def e_i(p, pt):
        return (pt[1] - (pt[0] ** 2 + p[0] * pt[0] + p[1])) ** 2

    def total(p):
        return jnp.sum(jax.vmap(e_i, in_axes=(None, 0))(p, data))

    p0 = jnp.array([1.0, 1.0])
    sgd = descent.descend_stochastic(e_i, p0, data, descent.gradient_descent(0.01), 800)
    hand = descent.book_stochastic_descent(total, jax.grad(e_i), data, p0, 0.01, 800)
    np.testing.assert_allclose(sgd.points, hand.points, atol=1e-13)
    np.testing.assert_allclose(sgd.points[1], [0.72, 0.86], atol=1e-12)
    np.testing.assert_allclose(sgd.points[800], [-2.9984, 1.9954], atol=1e-4)
    assert float(sgd.losses[4]) == pytest.approx(97.9173914, abs=1e-6)
    classic = descent.descend(total, p0, descent.gradient_descent(0.01), 200)
    np.testing.assert_allclose(classic.points[200], [-2.9981, 1.9948], atol=1e-4)


# --------------------------------------------------------------------------------------------
# Descent lemma and convergence on quadratics (§15 items 22–23)
# --------------------------------------------------------------------------------------------


@given(seed=st.integers(0, 2**31 - 1), dim=st.integers(2, 4), frac=st.floats(0.05, 1.0))
@in_x64
def test_descent_lemma(seed, dim, frac):
    """For an L-smooth f and 0 < δ ≤ 1/L: f(P − δ grad f(P)) ≤ f(P) − (δ/2)‖grad f(P)‖² — so
    with grad f(P) ≠ 0 a small enough step always goes down (L4449–4452)."""
    a, lam, _ = _spd(seed, dim)
    rng = np.random.default_rng(seed + 1)
    c = rng.uniform(-1, 1, size=dim)
    b, p = rng.normal(size=dim), rng.normal(size=dim)
    a, c, b, p = (jnp.asarray(v) for v in (a, c, b, p))

    def f(q):  # Hessian A − diag(c cos q) ≼ (λmax + max|c|) I
        return 0.5 * q @ (a @ q) - b @ q + jnp.sum(c * jnp.cos(q))

    lipschitz = float(lam.max() + np.abs(np.asarray(c)).max())
    delta = frac / lipschitz
    g = jax.grad(f)(p)
    assert float(f(p - delta * g)) <= float(f(p) - 0.5 * delta * (g @ g)) + 1e-12
    if float(g @ g) > 1e-12:
        assert float(f(p - delta * g)) < float(f(p))


@given(seed=st.integers(0, 2**31 - 1), dim=st.integers(2, 4),
       c=st.one_of(st.floats(0.05, 0.95), st.floats(1.05, 1.6)))
@in_x64
def test_quadratic_converges_iff_step_below_two_over_lambda_max(seed, dim, c):
    """On f = ½PᵀAP − bᵀP (A SPD) the iterates are P* + (I − δA)^k (P_0 − P*); they converge
    (with f decreasing) iff δ < 2/λmax (§15 item 23)."""
    a, lam, q = _spd(seed, dim)
    rng = np.random.default_rng(seed + 7)
    b, p0 = rng.normal(size=dim), rng.normal(size=dim)
    p0 = p0 + q[:, np.argmax(lam)]  # a generic start: a component along the top eigenvector
    delta = 2 * c / lam.max()
    n = 60
    h = _gd_quadratic(jnp.asarray(a), jnp.asarray(b), jnp.asarray(p0), delta, n)
    star = np.linalg.solve(a, b)
    m = np.eye(dim) - delta * a
    e = [p0 - star]
    for _ in range(n):
        e.append(m @ e[-1])
    np.testing.assert_allclose(np.asarray(h.points) - star, np.array(e), rtol=1e-9, atol=1e-9)
    rho = np.abs(1 - delta * lam).max()
    err0, errn = np.linalg.norm(e[0]), np.linalg.norm(np.asarray(h.points[-1]) - star)
    if c < 1:
        assert rho < 1
        assert errn <= rho**n * err0 * (1 + 1e-9) + 1e-12
        assert np.all(np.diff(np.asarray(h.losses)) <= 1e-12)
    else:
        assert rho > 1
        top = abs(q[:, np.argmax(lam)] @ e[0])
        assert errn >= rho**n * top * (1 - 1e-9)
        assert errn > err0


@given(delta=st.floats(0.01, 1.2), a0=st.floats(-3, 3), b0=st.floats(-3, 3))
@in_x64
def test_closed_forms_a2_plus_1_and_a2_plus_3b2(delta, a0, b0):
    """a² + 1: a_k = (1 − 2δ)^k a_0; a² + 3b²: (a_k, b_k) = ((1 − 2δ)^k a_0, (1 − 6δ)^k b_0)."""
    k = np.arange(11)
    h = _gd_quadratic(jnp.diag(jnp.array([2.0, 6.0])), jnp.zeros(2), jnp.array([a0, b0]), delta, 10)
    np.testing.assert_allclose(h.points[:, 0], (1 - 2 * delta) ** k * a0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.points[:, 1], (1 - 6 * delta) ** k * b0, rtol=1e-12, atol=1e-10)
    one = descent.book_gradient_descent(lambda a: a[0] ** 2 + 1, lambda a: 2 * a, jnp.array([a0]), delta, 10)
    np.testing.assert_allclose(one.points[:, 0], (1 - 2 * delta) ** k * a0, rtol=1e-12, atol=1e-12)


def test_bad_steps_of_the_book(x64):
    """δ = 0.9 oscillates to 0, δ = 1.1 diverges, δ = 0.05 is slow (L4394–4403)."""
    f = lambda a: a[0] ** 2 + 1  # noqa: E731
    osc = np.asarray(descent.descend(f, jnp.array([2.0]), descent.gradient_descent(0.9), 11).points[:, 0])
    np.testing.assert_allclose(osc, 2 * (-0.8) ** np.arange(12), rtol=1e-12)
    div = np.asarray(descent.descend(f, jnp.array([2.0]), descent.gradient_descent(1.1), 11).points[:, 0])
    np.testing.assert_allclose(div, 2 * (-1.2) ** np.arange(12), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Stochastic and mini-batch descent (§15 item 24)
# --------------------------------------------------------------------------------------------

_data_strategy = st.tuples(st.sampled_from([3, 4, 6]), st.integers(0, 2**31 - 1))


def _line_data(n, seed):
    rng = np.random.default_rng(seed)
    xs = np.linspace(-1, 1, n) + rng.uniform(-0.1, 0.1, n)
    ys = 2 * xs - 1 + rng.normal(0, 0.3, n)
    return jnp.asarray(xs), jnp.asarray(ys)


@functools.partial(jax.jit, static_argnames="epochs")
def _batch_runs(xs, ys, delta, epochs):
    n = xs.shape[0]
    p0 = jnp.array([0.3, -0.2])
    tx = descent.gradient_descent(delta)
    full = descent.descend_minibatch(_line_error, p0, (xs, ys), tx, n, epochs, check=False)
    classic = descent.descend(_line_total(xs, ys), p0, tx, epochs, check=False)
    one = descent.descend_minibatch(_line_error, p0, (xs, ys), tx, 1, epochs, check=False)
    cyclic = descent.descend_stochastic(_line_error, p0, (xs, ys), tx, epochs * n, check=False)
    hand = descent.book_stochastic_descent(_line_total(xs, ys), _line_error_grad, (xs, ys), p0, delta,
                                           epochs * n, check=False)
    return full, classic, one, cyclic, hand


@given(data=_data_strategy, delta=st.floats(0.01, 0.1))
@in_x64
def test_minibatch_k_equals_n_is_classic_and_k_1_is_cyclic_sgd(data, delta):
    """K = N is the classic descent, K = 1 the cyclic stochastic one (L4816; grad Σ E_i = Σ grad E_i)."""
    xs, ys = _line_data(*data)
    full, classic, one, cyclic, hand = _batch_runs(xs, ys, delta, 3)
    np.testing.assert_allclose(full.points, classic.points, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(full.losses, classic.losses, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.points, cyclic.points, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hand.points, cyclic.points, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hand.grads, cyclic.grads, rtol=1e-10, atol=1e-10)


def test_book_minibatch_equals_library(x64):
    xs, ys = _line_data(6, 3)
    p0 = jnp.array([0.0, 0.0])
    for k in (1, 2, 3, 6):
        hand = descent.book_minibatch_descent(_line_total(xs, ys), _line_error_grad, (xs, ys), p0, 0.05, k, 3)
        lib = descent.descend_minibatch(_line_error, p0, (xs, ys), descent.gradient_descent(0.05), k, 3)
        np.testing.assert_allclose(hand.points, lib.points, rtol=1e-12, atol=1e-13)
        assert hand.points.shape == (1 + 3 * 6 // k, 2)


def test_minibatch_mean_reduction_and_remainder(x64):
    """reduction='mean' averages inside each batch; an incomplete last batch is kept (Keras) or
    dropped; the recorded loss is the whole data's."""
    xs, ys = _line_data(5, 11)
    p0 = jnp.array([0.5, 0.5])
    h = descent.descend_minibatch(_line_error, p0, (xs, ys), descent.gradient_descent(0.1), 2, 1, reduction="mean")
    assert h.points.shape == (4, 2)  # batches of 2, 2, 1
    p = p0
    for rows in ([0, 1], [2, 3], [4]):
        r = jnp.asarray(rows)
        p = p - 0.1 * jax.grad(lambda q, r=r: jnp.mean((ys[r] - (q[0] * xs[r] + q[1])) ** 2))(p)
    np.testing.assert_allclose(h.final, p, rtol=1e-13)
    np.testing.assert_allclose(h.losses[-1], jnp.mean((ys - (p[0] * xs + p[1])) ** 2), rtol=1e-13)
    dropped = descent.descend_minibatch(_line_error, p0, (xs, ys), descent.gradient_descent(0.1), 2, 1,
                                        drop_remainder=True)
    assert dropped.points.shape == (3, 2)


def test_batch_indices_shuffling():
    idx, mask = descent.batch_indices(7, 3, 4, key=jax.random.key(0))
    assert idx.shape == mask.shape == (12, 3)
    per_epoch = np.asarray(idx).reshape(4, 9)
    per_mask = np.asarray(mask).reshape(4, 9)
    for e in range(4):
        assert sorted(per_epoch[e][per_mask[e]].tolist()) == list(range(7))
    assert not np.array_equal(per_epoch[0][per_mask[0]], per_epoch[1][per_mask[1]])
    again, _ = descent.batch_indices(7, 3, 4, key=jax.random.key(0))
    np.testing.assert_array_equal(idx, again)  # same key, same order
    plain, plain_mask = descent.batch_indices(6, 2, 2)
    np.testing.assert_array_equal(plain, np.tile(np.arange(6), 2).reshape(6, 2))
    assert bool(plain_mask.all())


def test_track_batch_records_the_error_before_each_update(x64):
    """track='batch' records what Keras' train_on_batch returns: the batch error at P_k."""
    xs, ys = _line_data(4, 5)
    h = descent.descend_minibatch(_line_error, jnp.zeros(2), (xs, ys), descent.gradient_descent(0.1), 2, 2,
                                  reduction="mean", track="batch")
    for k in range(4):
        rows = jnp.asarray([0, 1]) if k % 2 == 0 else jnp.asarray([2, 3])
        p = h.points[k]
        np.testing.assert_allclose(h.losses[k], jnp.mean((ys[rows] - (p[0] * xs[rows] + p[1])) ** 2), rtol=1e-13)


# --------------------------------------------------------------------------------------------
# Momentum and Nesterov (§13, §15 item 28)
# --------------------------------------------------------------------------------------------


@jax.jit
def _momentum_runs(a, b, p0, delta, mu):
    f = _quadratic(a, b)
    grad_f = lambda p: a @ p - b  # noqa: E731
    n = 40
    book = descent.book_momentum(f, grad_f, p0, delta, mu, n, check=False)
    ours = descent.descend(f, p0, descent.heavy_ball(delta, mu), n, check=False)
    opt = descent.descend(f, p0, optax.sgd(delta, momentum=mu), n, check=False)
    nest = descent.book_nesterov(f, grad_f, p0, delta, mu, n, check=False)
    opt_nest = descent.descend(f, p0, optax.sgd(delta, momentum=mu, nesterov=True), n, check=False)
    our_nest = descent.descend(f, p0, descent.nesterov(delta, mu), n, check=False)
    return book, ours, opt, nest, opt_nest, our_nest


@given(seed=st.integers(0, 2**31 - 1), mu=st.floats(0.0, 0.95), c=st.floats(0.05, 0.5))
@in_x64
def test_heavy_ball_and_nesterov_equal_optax(seed, mu, c):
    """Book heavy ball = descent.heavy_ball = optax.sgd(momentum=μ); book Nesterov's look-ahead
    points P'_k = descent.nesterov = optax.sgd(momentum=μ, nesterov=True) (§13)."""
    a, lam, _ = _spd(seed, 3)
    b = np.random.default_rng(seed).normal(size=3)
    delta = c / float(lam.max())
    p0 = jnp.array([1.0, -2.0, 0.5])
    book, ours, opt, nest, opt_nest, our_nest = _momentum_runs(jnp.asarray(a), jnp.asarray(b), p0, delta, mu)
    np.testing.assert_allclose(ours.points, book.points, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(opt.points, book.points, rtol=1e-10, atol=1e-12)
    ahead = descent.lookahead_points(nest.points, mu)
    np.testing.assert_allclose(opt_nest.points, ahead, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(our_nest.points, ahead, rtol=1e-10, atol=1e-12)
    # The book's P_{k+1} = P'_k − δ grad f(P'_k) is recovered from the optax iterates.
    np.testing.assert_allclose(opt_nest.points[:-1] - delta * opt_nest.grads[:-1], nest.points[1:],
                               rtol=1e-10, atol=1e-12)


@jax.jit
def _zero_momentum_runs(p0, delta):
    f = lambda p: p[0] ** 2 + 3 * p[1] ** 2  # noqa: E731
    g = lambda p: jnp.stack([2 * p[0], 6 * p[1]])  # noqa: E731
    classic = descent.book_gradient_descent(f, g, p0, delta, 15, check=False)
    others = (descent.book_momentum(f, g, p0, delta, 0.0, 15, check=False),
              descent.book_nesterov(f, g, p0, delta, 0.0, 15, check=False),
              descent.descend(f, p0, descent.heavy_ball(delta, 0.0), 15, check=False),
              descent.descend(f, p0, descent.nesterov(delta, 0.0), 15, check=False))
    return classic, others


@given(delta=st.floats(0.01, 0.3), a0=st.floats(-2, 2), b0=st.floats(-2, 2))
@in_x64
def test_momentum_zero_is_classic_descent(delta, a0, b0):
    """μ = 0: momentum and Nesterov are the classic descent (§15 item 28)."""
    classic, others = _zero_momentum_runs(jnp.array([a0, b0]), delta)
    for hist in others:
        np.testing.assert_allclose(hist.points, classic.points, rtol=0, atol=1e-14)


def test_transformations_jit_and_pytrees():
    """The transformations work on pytrees, in float32, eager and under jit."""
    params = {"w": jnp.ones((2, 2), jnp.float32), "b": jnp.zeros(2, jnp.float32)}

    def loss(p):
        return jnp.sum(p["w"] ** 2) + jnp.sum((p["b"] - 1) ** 2)

    for tx in (descent.gradient_descent(0.1), descent.heavy_ball(0.1, 0.5), descent.nesterov(0.1, 0.5)):
        eager = descent.descend(loss, params, tx, 30)
        jitted = jax.jit(lambda p, tx=tx: descent.descend(loss, p, tx, 30, check=False))(params)
        assert eager.points["w"].shape == (31, 2, 2) and eager.points["w"].dtype == jnp.float32
        np.testing.assert_allclose(eager.points["b"], jitted.points["b"], rtol=1e-6)
        assert float(eager.losses[-1]) < 0.05 * float(eager.losses[0])


# --------------------------------------------------------------------------------------------
# Schedules (§15 item 29)
# --------------------------------------------------------------------------------------------


@given(d0=st.floats(1e-4, 10.0), beta=st.floats(0.0, 2.0), alpha=st.floats(0.0, 1.0))
def test_schedules_positive_non_increasing(d0, beta, alpha):
    k = jnp.arange(200)
    for s in (schedules.linear_decay(d0), schedules.quadratic_decay(d0), schedules.exponential_decay(d0, beta),
              schedules.keras_decay(d0, alpha), schedules.constant(d0)):
        v = np.asarray(s(k), dtype=np.float64)
        assert v[0] == pytest.approx(d0, rel=1e-6)
        assert np.all(v >= 0) and np.all(v[v > 0] > 0)
        assert np.all(np.diff(v) <= 1e-12 * d0)
    np.testing.assert_allclose(schedules.keras_decay(d0, 0.0)(k), d0, rtol=1e-6)
    assert np.all(np.asarray(schedules.linear_decay(d0)(k)) > 0)


def test_schedule_values_and_optax(x64):
    k = jnp.arange(10)
    np.testing.assert_allclose(schedules.linear_decay(0.1)(k), 0.1 / (k + 1))
    np.testing.assert_allclose(schedules.quadratic_decay(0.1)(k), 0.1 / (k + 1) ** 2)
    np.testing.assert_allclose(schedules.keras_decay(0.1, 1e-4)(k), 0.1 / (1e-4 * k + 1))
    np.testing.assert_allclose(schedules.exponential_decay(0.1, 0.3)(k),
                               optax.exponential_decay(0.1, 1, float(np.exp(-0.3)))(k), rtol=1e-13)


def test_schedule_drives_the_descent(x64):
    """δ_k = schedule(k) at step k, recorded in the history, by hand and with optax."""
    s = schedules.linear_decay(0.4)
    f = lambda a: a[0] ** 2 + 1  # noqa: E731
    lib = descent.descend(f, jnp.array([2.0]), descent.gradient_descent(s), 8)
    hand = descent.book_gradient_descent(f, lambda a: 2 * a, jnp.array([2.0]), s, 8)
    np.testing.assert_allclose(lib.step_sizes, 0.4 / (np.arange(8) + 1))
    np.testing.assert_allclose(hand.step_sizes, lib.step_sizes)
    np.testing.assert_allclose(hand.points, lib.points, rtol=1e-14)
    expected = [2.0]
    for i in range(8):
        expected.append(expected[-1] * (1 - 2 * 0.4 / (i + 1)))
    np.testing.assert_allclose(lib.points[:, 0], expected, rtol=1e-13)


# --------------------------------------------------------------------------------------------
# Regression (§15 items 25–26) and the circle (§15 item 27)
# --------------------------------------------------------------------------------------------


@jax.jit
def _regression_run(xs, ys, delta):
    return descent.descend(_line_total(xs, ys), jnp.zeros(2), descent.gradient_descent(delta), 2000, check=False)


@given(data=_data_strategy)
@in_x64
def test_regression_by_descent_reaches_the_normal_equations(data):
    """Linear regression by descent converges to the least-squares solution (§15 item 25)."""
    xs, ys = _line_data(*data)
    design = np.stack([np.asarray(xs), np.ones(len(xs))], axis=1)
    delta = 1.0 / np.linalg.eigvalsh(2 * design.T @ design).max()
    h = _regression_run(xs, ys, delta)
    exact = np.linalg.solve(design.T @ design, design.T @ np.asarray(ys))
    np.testing.assert_allclose(h.final, exact, atol=1e-8)


def test_book_regressions_exact_solutions(x64):
    """(0, 3), (2, 4), (6, 6) → (½, 3); the 5-point plane → (−11/9, 7/9, 7/3), E = 130/9;
    the parabola → (−3, 2) with E = 0 (§15 items 25–26)."""
    h = descent.descend(_line_total(jnp.array([0.0, 2, 6]), jnp.array([3.0, 4, 6])), jnp.array([0.0, 1.0]),
                        descent.gradient_descent(0.02), 2000)
    np.testing.assert_allclose(h.final, [0.5, 3.0], atol=1e-10)
    pts = jnp.array([[1.0, 0, 0], [0, 1, 5], [2, 1, 1], [1, 2, 0], [2, 2, 3]])
    plane = lambda p: jnp.sum((pts[:, 2] - (p[0] * pts[:, 0] + p[1] * pts[:, 1] + p[2])) ** 2)  # noqa: E731
    hp = descent.descend(plane, jnp.zeros(3), descent.gradient_descent(0.01), 5000)
    np.testing.assert_allclose(hp.final, [-11 / 9, 7 / 9, 7 / 3], atol=1e-9)
    assert float(hp.losses[-1]) == pytest.approx(130 / 9, abs=1e-9)
    parabola = jnp.array([[2.0, 0.0], [0.0, 2.0], [4.0, 6.0], [1.0, 0.0]])
    fit = lambda p: jnp.sum((parabola[:, 1] - (parabola[:, 0] ** 2 + p[0] * parabola[:, 0] + p[1])) ** 2)  # noqa: E731
    assert float(fit(jnp.array([-3.0, 2.0]))) == 0.0  # y = x² − 3x + 2 goes through the 4 points
    hq = descent.descend(fit, jnp.array([1.0, 1.0]), descent.gradient_descent(0.01), 2000)
    np.testing.assert_allclose(hq.final, [-3.0, 2.0], atol=1e-9)
    assert float(hq.losses[-1]) < 1e-17


def _circle_e(p, pt):
    r = (pt[0] - p[0]) ** 2 + (pt[1] - p[1]) ** 2 - p[2] ** 2
    return r * r


@given(a=st.floats(-3, 3), b=st.floats(-3, 3), c=st.floats(0.2, 3), theta=st.floats(0, 6.28),
       shift=st.floats(0.05, 1.0), tx=st.floats(-2, 2), ty=st.floats(-2, 2))
@in_x64
def test_circle_error_symmetries(a, b, c, theta, shift, tx, ty):
    """E_i = 0 iff the point is on the circle (centre (a, b), radius |c|); E(a, b, c) = E(a, b, −c);
    moving the points and the centre together changes nothing (§15 item 27)."""
    on = jnp.array([a + c * np.cos(theta), b + c * np.sin(theta)])
    off = jnp.array([a + (c + shift) * np.cos(theta), b + (c + shift) * np.sin(theta)])
    p = jnp.array([a, b, c])
    assert float(_circle_e(p, on)) == pytest.approx(0.0, abs=1e-20 + 1e-12 * c**4)
    assert float(_circle_e(p, off)) > 0
    q = jnp.array([a, b, -c])
    moved = jnp.array([a + tx, b + ty, c])
    for pt in (on, off):
        assert float(_circle_e(q, pt)) == float(_circle_e(p, pt))
        assert float(_circle_e(moved, pt + jnp.array([tx, ty]))) == pytest.approx(float(_circle_e(p, pt)), rel=1e-9, abs=1e-9)


def test_circle_half_gradient_is_the_true_gradient_at_half_step(x64):
    """The authors' circle script uses half of the true gradient: its iterates at δ are those of the
    true gradient at δ/2 (inventory §8.B, §14 item 5)."""
    ang = jnp.deg2rad(jnp.array([10.0, 20, 40, 100, 200, 280]))
    pts = jnp.stack([3 + jnp.cos(ang), 2 + jnp.sin(ang)], axis=1)

    def total(p):
        return jnp.sum(jax.vmap(_circle_e, in_axes=(None, 0))(p, pts))

    def half_grad(p, pt):
        r = (pt[0] - p[0]) ** 2 + (pt[1] - p[1]) ** 2 - p[2] ** 2
        return jnp.stack([-2 * (pt[0] - p[0]) * r, -2 * (pt[1] - p[1]) * r, -2 * p[2] * r])

    p0 = jnp.array([1.0, 1.0, 2.0])
    script = descent.book_minibatch_descent(total, half_grad, pts, p0, 0.01, 2, 10)
    true = descent.descend_minibatch(_circle_e, p0, pts, descent.gradient_descent(0.005), 2, 10)
    np.testing.assert_allclose(script.points, true.points, rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_non_finite_loss_names_the_step_and_the_step_size(x64):
    f = lambda a: a[0] ** 2 + 1  # noqa: E731
    with pytest.raises(descent.NonFiniteLossError, match=r"step k = 1943 \(step size δ = 1\.1") as info:
        descent.descend(f, jnp.array([2.0]), descent.gradient_descent(1.1), 3000)
    assert info.value.step == 1943 and info.value.step_size == pytest.approx(1.1)
    with pytest.raises(descent.NonFiniteLossError, match=r"step k = \d+ \(step size δ = 1\.1"):
        descent.book_gradient_descent(f, lambda a: 2 * a, jnp.array([2.0]), 1.1, 3000)
    # An optimizer that does not expose its step size says so.
    with pytest.raises(descent.NonFiniteLossError, match="inject_hyperparams"):
        descent.descend(f, jnp.array([2.0]), optax.sgd(1.1), 3000)
    with pytest.raises(descent.NonFiniteLossError, match="start point"):
        descent.descend(lambda a: jnp.log(a[0]), jnp.array([-1.0]), descent.gradient_descent(0.1), 3)
    # Unchecked, the history keeps the non-finite values (for inspection).
    h = descent.descend(f, jnp.array([2.0]), descent.gradient_descent(1.1), 3000, check=False)
    assert not np.isfinite(np.asarray(h.losses[-1]))


def test_every_descent_stops_on_a_non_finite_loss_naming_step_and_step_size(x64):
    """Stochastic, mini-batch (both tracks), momentum, Nesterov and the book's recurrences by hand:
    a step size far too large makes E overflow; the error names the step k and δ."""
    xs, ys = jnp.array([0.0, 2.0, 6.0, 5.0]), jnp.array([3.0, 4.0, 6.0, 1.0])
    data, total = (xs, ys), _line_total(xs, ys)
    p0 = jnp.array([0.0, 1.0])
    tx = descent.gradient_descent(1.0)
    quad = lambda p: p[0] ** 2 + 3 * p[1] ** 2  # noqa: E731
    quad_grad = lambda p: jnp.stack([2 * p[0], 6 * p[1]])  # noqa: E731
    runs = {
        "stochastic": lambda: descent.descend_stochastic(_line_error, p0, data, tx, 400),
        "minibatch": lambda: descent.descend_minibatch(_line_error, p0, data, tx, 2, 200),
        "minibatch, batch track": lambda: descent.descend_minibatch(_line_error, p0, data, tx, 2, 200, track="batch"),
        "heavy ball": lambda: descent.descend(quad, p0 + 1, descent.heavy_ball(1.0, 0.5), 2000),
        "nesterov": lambda: descent.descend(quad, p0 + 1, descent.nesterov(1.0, 0.5), 2000),
        "book momentum": lambda: descent.book_momentum(quad, quad_grad, p0 + 1, 1.0, 0.5, 2000),
        "book nesterov": lambda: descent.book_nesterov(quad, quad_grad, p0 + 1, 1.0, 0.5, 2000),
        "book stochastic": lambda: descent.book_stochastic_descent(total, _line_error_grad, data, p0, 1.0, 400),
        "book minibatch": lambda: descent.book_minibatch_descent(total, _line_error_grad, data, p0, 1.0, 2, 200),
    }
    for name, run in runs.items():
        with pytest.raises(descent.NonFiniteLossError, match=r"not finite at step k = \d+ \(step size δ = 1[ ;)]") as info:
            run()
        assert info.value.step > 0 and info.value.step_size == 1.0, name
        assert not math.isfinite(info.value.loss), name
    # A schedule: the δ_k of the step that overflowed is reported.
    with pytest.raises(descent.NonFiniteLossError) as info:
        descent.descend(quad, p0 + 1, descent.gradient_descent(schedules.keras_decay(2.0, 1e-4)), 2000)
    assert info.value.step_size == pytest.approx(2.0 / (1e-4 * (info.value.step - 1) + 1))
    # The hand-written layered backprop (chapter 7 §4.5) reports in the same way.
    from deepmath_jax.autodiff import backprop

    params = backprop.init_mlp(jax.random.key(0), [2, 4, 1])
    X = jnp.ones((8, 2))
    with pytest.raises(descent.NonFiniteLossError, match=r"step \d+ .* δ = 1e\+30"):
        backprop.gradient_descent(params, X, jnp.ones((8, 1)), activations=("tanh", "identity"),
                                  learning_rate=1e30, steps=20)


def test_bad_arguments_are_rejected():
    f = lambda a: a[0] ** 2  # noqa: E731
    with pytest.raises(ValueError, match="step size δ must be a finite number > 0"):
        descent.gradient_descent(-0.1)
    with pytest.raises(TypeError, match="number or a schedule"):
        descent.gradient_descent("fast")
    with pytest.raises(ValueError, match=r"momentum μ must be in \[0, 1\)"):
        descent.heavy_ball(0.1, 1.5)
    with pytest.raises(ValueError, match="n_steps must be ≥ 0"):
        descent.descend(f, jnp.array([1.0]), descent.gradient_descent(0.1), -3)
    with pytest.raises(ValueError, match=r"gradient function returned shape \(3,\) but the point P_0 has shape \(2,\)"):
        descent.book_gradient_descent(f, lambda p: jnp.zeros(3), jnp.array([1.0, 2.0]), 0.1, 5)
    data = (jnp.zeros(4), jnp.zeros(5))
    with pytest.raises(ValueError, match="same leading axis N"):
        descent.descend_minibatch(_line_error, jnp.zeros(2), data, descent.gradient_descent(0.1), 2, 1)
    good = (jnp.zeros(4), jnp.zeros(4))
    with pytest.raises(ValueError, match=r"batch size K must be in 1 … N = 4"):
        descent.descend_minibatch(_line_error, jnp.zeros(2), good, descent.gradient_descent(0.1), 5, 1)
    with pytest.raises(ValueError, match="reduction must be 'sum'"):
        descent.descend_minibatch(_line_error, jnp.zeros(2), good, descent.gradient_descent(0.1), 2, 1,
                                  reduction="average")
    with pytest.raises(ValueError, match=r"K = 3 must divide N = 4"):
        descent.book_minibatch_descent(lambda p: 0.0, _line_error_grad, good, jnp.zeros(2), 0.1, 3, 1)
    with pytest.raises(ValueError, match="delta0 must be > 0"):
        schedules.linear_decay(0.0)
    with pytest.raises(ValueError, match="alpha must be ≥ 0"):
        schedules.keras_decay(0.1, -1.0)
    with pytest.raises(TypeError, match="outside jax.jit"):
        jax.jit(lambda p: descent.descend(f, p, descent.gradient_descent(0.1), 3).losses)(jnp.array([1.0]))


def test_one_non_finite_loss_error_for_the_descents_backprop_and_the_engine(x64):
    """One class (also a FloatingPointError, the engine's former base) with its attributes,
    surviving pickling (multiprocessing); the layered backprop of chapter 7 numbers its steps
    as the descents do: step k is the update that led to the first non-finite E(P_k)."""
    import pickle

    from deepmath_jax.autodiff import backprop
    from deepmath_jax.engine import train

    assert train.NonFiniteLossError is descent.NonFiniteLossError
    f = lambda a: a[0] ** 2 + 1  # noqa: E731
    with pytest.raises(FloatingPointError) as info:
        descent.descend(f, jnp.array([2.0]), descent.gradient_descent(1.1), 3000)
    err = info.value
    assert isinstance(err, ValueError) and (err.epoch, err.batch) == (None, None)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == str(err)
    assert (again.step, again.step_size, again.loss) == (err.step, err.step_size, err.loss)

    params = backprop.init_mlp(jax.random.key(0), [2, 3, 1])
    X = jax.random.normal(jax.random.key(1), (8, 2), jnp.float64)
    Y = 10 * jnp.ones((8, 1), jnp.float64)
    acts = ("identity", "identity")
    with pytest.raises(descent.NonFiniteLossError) as by_backprop:
        backprop.gradient_descent(params, X, Y, activations=acts, learning_rate=5.0, steps=400,
                                  manual=False)
    loss = lambda p: backprop.loss_value(p, X, Y, activations=acts)  # noqa: E731
    with pytest.raises(descent.NonFiniteLossError) as by_descent:
        descent.descend(loss, params, descent.gradient_descent(5.0), 400)
    assert by_backprop.value.step == by_descent.value.step > 1
