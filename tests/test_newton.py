"""Newton's method (chapter 1 §5, L1061–1193): the book's iterates, the 1 000 decimals of ∛100,
and inventory §15 items 20 (fixed point, quadratic convergence near a simple root) and 21
(Newton on g' with g'' > 0 finds the minimum of g)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.calculus.newton import (
    correct_decimals,
    newton,
    newton_decimal,
    newton_iterates,
    newton_minimize,
    newton_python,
    newton_step,
    root_decimals,
)

# The first 60 decimals of x₁₃ as printed at L1126–1127.
BOOK_X13_60 = "4.641588833612778892410076350919446576551349125011243637650692"


def cube_minus_100(x):
    return x**3 - 100


def d_cube(x):
    return 3 * x**2


def factored(x, r, c):
    return c * (x - r) * (x * x + 1)


def cube_minus(x, a):
    return x**3 - a


def g_ab(x, a, b):
    return x**2 - a * jnp.sin(x) + b * x


def truncate(x: float, decimals: int) -> float:
    return math.trunc(x * 10**decimals) / 10**decimals


def test_cube_root_float64_iterates(x64):
    xs = newton(cube_minus_100, 10.0, 6, df=d_cube)
    assert xs.dtype == jnp.float64 and xs.shape == (7,)
    assert float(xs[1]) == 7.0  # 10 − 900/300 (L1113)
    np.testing.assert_allclose(xs[2], 262 / 49, rtol=1e-15)
    # the book's truncated digits (L1117–1122)
    assert [truncate(float(xs[k]), d) for k, d in [(2, 4), (3, 4), (4, 4), (5, 7), (6, 12)]] == [
        5.3469, 4.7305, 4.6432, 4.6415894, 4.641588833612]
    np.testing.assert_allclose(newton(cube_minus_100, 10.0, 6), xs, rtol=1e-15)  # f' = jax.grad(f)


def test_cube_root_exact_fractions():
    xs = newton_python(cube_minus_100, d_cube, Fraction(10), 2)
    assert xs == [10, 7, Fraction(262, 49)]


def test_cube_root_thousand_decimals():
    decs = newton_decimal(cube_minus_100, d_cube, 10, 13, digits=1000)
    ref = root_decimals(100, 3, 1010)  # integer arithmetic, independent of Newton in decimals
    assert correct_decimals(decs[13], ref[:1002]) == 1000  # "1000 chiffres exacts" (L1124)
    with localcontext() as ctx:
        ctx.prec = 1100
        assert abs(decs[13] - Decimal(ref)) < Decimal(10) ** -1000
    assert format(decs[13], "f")[:62] == BOOK_X13_60
    assert [correct_decimals(decs[k], ref) for k in (5, 6)] == [5, 12]  # L1121–1122
    assert correct_decimals(decs[12], ref) < 1000  # 13 iterations are needed


@given(st.integers(0, 10**6), st.integers(1, 5), st.integers(0, 40))
def test_root_decimals_brackets_the_root(a, k, d):
    r = Fraction(Decimal(root_decimals(a, k, d)))
    assert r**k <= a < (r + Fraction(1, 10**d)) ** k


def test_minimise_g_book_iterates(x64):
    g = lambda x: x**2 - jnp.sin(x) + 1  # noqa: E731
    from0 = newton_minimize(g, 0.0, 10, dg=lambda x: 2 * x - jnp.cos(x), d2g=lambda x: 2 + jnp.sin(x))
    assert float(from0[1]) == 0.5
    assert [truncate(float(v), 10) for v in from0[2:5]] == [0.450626693, 0.4501836475, 0.4501836112]  # L1181
    ell = float(from0[-1])
    assert truncate(ell, 10) == 0.4501836112 and truncate(float(g(ell)), 10) == 0.7675344248  # L1185–1189
    for k, bound in enumerate([1, 1e-1, 1e-3, 1e-7, 1e-15]):
        assert abs(float(from0[k]) - ell) <= bound
    from10 = newton_minimize(g, 10.0, 10)  # g', g'' by jax.grad
    book = [-4.3127566511, -1.4932228819, 1.5615319504, 0.5235838839, 0.4511295428, 0.4501837766, 0.4501836112]
    np.testing.assert_allclose(from10[1:8], book, atol=1e-10)  # L1193, truncated to 10 decimals
    np.testing.assert_allclose(from10[-1], ell, rtol=1e-15)


@given(st.floats(-5, 5), st.floats(0.1, 3))
def test_root_is_a_fixed_point(r, c):
    """f(ℓ) = 0 ⇒ ℓ − f(ℓ)/f'(ℓ) = ℓ (§15 item 20), in float64 and in exact fractions."""
    with jax.enable_x64(True):
        xs = newton(factored, r, 3, args=(r, c))  # f defined once: one compilation
        assert np.all(np.asarray(xs) == r)
    fr = Fraction(r)
    assert newton_step(lambda x: (x - fr) * (x * x + 1), lambda x: x * x + 1 + 2 * x * (x - fr), fr) == fr


@given(st.integers(2, 1000), st.sampled_from([2, 3]), st.floats(-0.2, 0.2).filter(lambda d: abs(d) > 1e-3))
def test_quadratic_convergence_near_a_simple_root(a, k, delta):
    """|xₙ₊₁ − ℓ| ≤ K|xₙ − ℓ|² with K = max|f''|/(2 min|f'|) on [ℓ − e₀, ℓ + e₀] (Taylor), for
    f = xᵏ − a from x₀ = ℓ(1 + δ) (§15 item 20), in 80-digit decimals."""
    with localcontext() as ctx:
        ctx.prec = 80
        ell = Decimal(a) ** (Decimal(1) / k)
        x0 = ell * (1 + Decimal(delta))
        e0 = abs(x0 - ell)
        lo, hi = ell - e0, ell + e0
        K = (k * (k - 1) * hi ** (k - 2)) / (2 * k * lo ** (k - 1))
        xs = newton_python(lambda x: x**k - a, lambda x: k * x ** (k - 1), x0, 7)
        errors = [abs(x - ell) for x in xs]
        for e, e_next in zip(errors, errors[1:], strict=False):
            assert e_next <= e0 * (1 + Decimal("1e-30"))  # the iterates stay in [ℓ − e₀, ℓ + e₀]
            assert e_next <= K * e * e * (1 + Decimal("1e-30")) + Decimal("1e-70")


@given(st.floats(2, 1000), st.floats(-0.3, 0.3).filter(lambda d: abs(d) > 1e-3))
def test_quadratic_convergence_float64_jitted(a, delta):
    """The same inequality for the jitted float64 loop, while the error is above round-off."""
    with jax.enable_x64(True):
        ell = a ** (1 / 3)
        x0 = ell * (1 + delta)
        xs = np.asarray(newton(cube_minus, x0, 8, args=(a,)))
        e0 = abs(x0 - ell)
        K = (6 * (ell + e0)) / (2 * 3 * (ell - e0) ** 2)
        errors = np.abs(xs - ell)
        for e, e_next in zip(errors, errors[1:], strict=False):
            if e > 1e-7 * ell:
                assert e_next <= K * e * e * (1 + 1e-6) + 4e-16 * ell
        assert errors[-1] <= 4e-16 * ell


@given(st.floats(-0.6, 0.6), st.floats(-3, 3), st.floats(-10, 10))
def test_newton_on_derivative_finds_the_minimum(a, b, x0):
    """g(x) = x² − a sin x + bx has g'' = 2 − a sin x ≥ 1.4 > 0: Newton on g' converges to the
    unique minimiser (§15 item 21; the book's g is a = 1, b = 0)."""
    with jax.enable_x64(True):
        g = g_ab
        xs = newton_minimize(g, x0, 60, args=(a, b))
        ell = float(xs[-1])
        assert abs(2 * ell - a * math.cos(ell) + b) <= 1e-12
        grid = jnp.linspace(-15, 15, 30001)
        assert float(g(ell, a, b)) <= float(jnp.min(g(grid, a, b))) + 1e-12


def test_vmap_over_starting_points(x64):
    x0s = jnp.array([1.0, 5.0, 10.0, 30.0])
    xs, _, _ = jax.vmap(lambda x0: newton_iterates(cube_minus_100, d_cube, x0, 30))(x0s)
    assert xs.shape == (4, 31)
    np.testing.assert_allclose(xs[:, -1], 100 ** (1 / 3), rtol=1e-15)


def test_bad_input_names_the_iteration(x64):
    with pytest.raises(ValueError, match=r"iteration 1 \(from x_0 = 0.0\): f'\(x_0\) = 0"):
        newton(lambda x: x**2 + 1, 0.0, 5)
    with pytest.raises(ValueError, match=r"iteration 2 \(from x_1 = -3.0\): f\(x_1\) = nan .* outside the domain"):
        newton(lambda x: jnp.sqrt(x) + 1, 1.0, 5)  # x₁ = −3: √ of a negative number
    with pytest.raises(ValueError, match=r"x_\d+ = -?inf is not finite \(overflow\)"):
        newton(jnp.cbrt, 1.0, 1100)  # xₙ₊₁ = −2xₙ: Newton diverges for ∛x
    with pytest.raises(ValueError, match="n ≥ 0"):
        newton(cube_minus_100, 10.0, -1)
    with pytest.raises(ValueError, match="scalar x0"):
        newton(cube_minus_100, jnp.array([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match="not finite"):
        newton(cube_minus_100, float("nan"), 3)


@pytest.mark.parametrize("x64_on", [True, False])
def test_horizontal_tangent_to_rounding_is_an_error(x64_on):
    """f = cos at the float π: f'(π) = −sin(fl(π)) ≈ −1.2e-16 (≈ 8.7e-8 in float32) is 0 to the
    precision of π (one float above, f' has the other sign): an error naming the iteration, x and
    f'(x), not x₁ ≈ −8e15."""
    with jax.enable_x64(x64_on):
        x0 = jnp.asarray(np.pi, jnp.result_type(float))
        dfx0 = float(-jnp.sin(x0))
        assert 0 < abs(dfx0) < 1e-6  # not exactly 0: the exact-zero check alone lets it through
        pattern = rf"iteration 1 \(from x_0 = {re.escape(repr(float(x0)))}\): f'\(x_0\) = {re.escape(repr(dfx0))} is 0 to the precision of x_0"
        with pytest.raises(ValueError, match=pattern):
            newton(jnp.cos, jnp.pi, 3)
        # The same with f' written by hand.
        with pytest.raises(ValueError, match=r"iteration 1 .* is 0 to the precision"):
            newton(jnp.cos, jnp.pi, 3, df=lambda x: -jnp.sin(x))


def test_flat_tangent_check_keeps_good_iterations(x64):
    # A double root (f' → 0 with f): the last steps are below one ulp, no error, x → 1.
    xs = newton(lambda x: (x - 1) ** 2, 2.0, 120)
    assert float(xs[-1]) == 1.0
    # Near (not at) the critical point the tangent is well defined: cos from π − 0.1 goes far but
    # by a meaningful step x₁ = x₀ + cot(x₀).
    x0 = np.pi - 0.1
    xs = newton(jnp.cos, x0, 1)
    assert float(xs[1]) == pytest.approx(x0 + 1 / np.tan(x0), rel=1e-12)


def test_horizontal_tangent_to_rounding_python_and_decimal():
    with pytest.raises(ValueError, match=r"iteration 1 \(from x_0 = 3.141592653589793\): f'\(x_0\) = -1.22\d*e-16 is 0 to the precision"):
        newton_python(math.cos, lambda x: -math.sin(x), math.pi, 3)
    # 30 digits: x₀ = 1 + 10⁻²⁹ is one unit in the last place from the critical point 1 of
    # (x − 1)² + 1, f'(x₀) = 2·10⁻²⁹ — the next decimal below gives f' = 0.
    with localcontext() as ctx:
        ctx.prec = 30
        x0 = Decimal(1) + Decimal("1e-29")
        with pytest.raises(ValueError, match=r"iteration 1 .*f'\(x_0\) = Decimal\('2E-29'\) is 0 to the precision"):
            newton_python(lambda x: x * x - 2 * x + 2, lambda x: 2 * x - 2, x0, 3)
    # Fractions are exact: f'(x₀) = 2·10⁻²⁹ ≠ 0 is a true slope, the step is taken.
    x0 = 1 + Fraction(1, 10**29)
    xs = newton_python(lambda x: x * x - 2 * x + 2, lambda x: 2 * x - 2, x0, 1)
    assert xs[1] == x0 - (x0 * x0 - 2 * x0 + 2) / (2 * x0 - 2)


def test_float64_without_x64_is_refused():
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="float64 needs x64"):
            newton(cube_minus_100, 10.0, 3, dtype=jnp.float64)
        assert newton(cube_minus_100, 10.0, 3).dtype == jnp.float32


def test_bad_input_python_and_decimal():
    with pytest.raises(ValueError, match=r"iteration 2 \(from x_1 = -3\): f or f' is not defined .*InvalidOperation"):
        newton_decimal(lambda x: x.sqrt() + 1, lambda x: 1 / (2 * x.sqrt()), 1, 5, digits=30)
    with pytest.raises(ValueError, match=r"iteration 1 \(from x_0 = 0\): f'\(x_0\) = 0"):
        newton_python(lambda x: x * x + 1, lambda x: 2 * x, Fraction(0), 3)
    with pytest.raises(ValueError, match="math domain error|not defined"):
        newton_python(lambda x: math.sqrt(x) + 1, lambda x: 0.5 / math.sqrt(x), 1.0, 3)
    with pytest.raises(ValueError, match="digits ≥ 1"):
        newton_decimal(cube_minus_100, d_cube, 10, 3, digits=0)
    with pytest.raises(ValueError, match="a ≥ 0"):
        root_decimals(-8, 3, 5)
