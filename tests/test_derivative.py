"""Derivatives of one variable (chapter 1, L156–1059) and the first-order facts used in chapter 7.

Identities of inventory §15: 1 (Proposition 1 rules), 2 (chain rule), 14 (the first-order error
is o(h)), 15 (gradient ⟂ level set), 16 (directional derivative = ⟨∇f, v⟩ ≤ ‖∇f‖),
17 (critical points), 18 (parabola vertex). Hand formulas are checked against ``jax.grad``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.calculus.derivative import (
    USUAL_DERIVATIVES,
    chain_rule,
    classify_critical_point,
    closest_point_on_parabola,
    derivative,
    difference_quotient,
    linear_approximation,
    parabola_vertex,
    polynomial_critical_points,
    product_rule,
    quotient_rule,
    scalar_rule,
    second_derivative,
    squared_distances_on_diagonal,
    sum_rule,
    symmetric_difference_quotient,
    tangent,
)

NAMES = sorted(USUAL_DERIVATIVES)
xs_domain = st.floats(0.2, 1.4)  # inside every domain of the table (x > 0, cos x ≠ 0)


def pair(name):
    f, df, _ = USUAL_DERIVATIVES[name]
    return f, df


@pytest.mark.parametrize("name", NAMES)
def test_usual_derivatives_table(x64, name):
    f, df = pair(name)
    xs = jnp.linspace(0.2, 1.4, 25)
    np.testing.assert_allclose(df(xs), jax.vmap(jax.grad(f))(xs), rtol=1e-13)


@given(st.sampled_from(NAMES), st.sampled_from(NAMES), st.floats(-3, 3), xs_domain)
def test_proposition_1_rules_equal_jax_grad(nf, ng, lam, x):
    with jax.enable_x64(True):
        f, g = pair(nf), pair(ng)
        for h, dh in (sum_rule(f, g), scalar_rule(lam, f), product_rule(f, g), quotient_rule(f, g)):
            expected = jax.grad(h)(x)
            np.testing.assert_allclose(dh(x), expected, rtol=1e-11, atol=1e-11 * max(1.0, abs(float(expected))))


@given(st.sampled_from(["exp", "sin", "cos", "x^3"]), st.sampled_from(NAMES), xs_domain)
def test_proposition_2_chain_rule(ng, nf, x):
    with jax.enable_x64(True):
        h, dh = chain_rule(pair(ng), pair(nf))
        expected = jax.grad(h)(x)
        np.testing.assert_allclose(dh(x), expected, rtol=1e-11, atol=1e-12)


def test_book_compositions(x64):
    """L412–440: sin(3x), ln(cos x), √(tan x), built with the chain rule."""
    x = jnp.linspace(0.2, 1.2, 11)
    linear3 = (lambda t: 3 * t, lambda t: 3 * jnp.ones_like(t))
    for (F, dF), book in [
        (chain_rule(pair("sin"), linear3), lambda t: 3 * jnp.cos(3 * t)),
        (chain_rule(pair("ln"), pair("cos")), lambda t: -jnp.sin(t) / jnp.cos(t)),
        (chain_rule(pair("sqrt"), pair("tan")), lambda t: 0.5 * (1 + jnp.tan(t) ** 2) / jnp.sqrt(jnp.tan(t))),
    ]:
        np.testing.assert_allclose(dF(x), book(x), rtol=1e-14)
        np.testing.assert_allclose(dF(x), jax.vmap(jax.grad(F))(x), rtol=1e-13)


def test_difference_quotient_book_examples(x64):
    square = lambda t: t**2  # noqa: E731
    # (f(x) − f(1))/(x − 1) = x + 1 for x² (L196): at h the quotient is 2 + h exactly (up to round-off).
    for h in (0.5, 0.1, 1e-3):
        np.testing.assert_allclose(difference_quotient(square, 1.0, h), 2 + h, rtol=1e-12)
    np.testing.assert_allclose(difference_quotient(jnp.exp, 0.0, 1e-7), 1.0, atol=1e-6)  # (eˣ − 1)/x → 1
    np.testing.assert_allclose(linear_approximation(jnp.sin, 0.0, 0.01), 0.01)
    np.testing.assert_allclose(linear_approximation(jnp.sqrt, 1.0, 0.1), 1.05)
    assert math.floor(math.sqrt(1.1) * 1e4) == 10488  # the book's 1.0488…
    s, b = tangent(jnp.sqrt, 1.0)
    assert (float(s), float(b)) == (0.5, 0.5)  # y = x/2 + 1/2 (L300)
    s, b = tangent(lambda t: t**2, 3.0, df=lambda t: 2 * t)
    assert (float(s), float(b)) == (6.0, -9.0)


@given(st.floats(-3, 3), st.floats(-2, 2), st.floats(-2, 2), st.floats(1e-4, 0.5))
def test_first_order_error_is_o_of_h(a, b, x0, h):
    """|f(x₀+h) − f(x₀) − h f'(x₀)| ≤ max|f''|·h²/2 (Taylor), so the error divided by h → 0
    (§15 item 14); the difference quotient's error is ≤ max|f''|·h/2, the symmetric one's
    ≤ max|f'''|·h²/6."""
    with jax.enable_x64(True):
        f = lambda t: jnp.sin(a * t) + b * t**2  # noqa: E731
        m2, m3 = a * a + 2 * abs(b), abs(a) ** 3
        err = abs(float(f(x0 + h) - linear_approximation(f, x0, h)))
        roundoff = 1e-14 * (1 + abs(x0) + h) ** 2 * (1 + abs(b))
        assert err <= m2 * h * h / 2 + roundoff
        fp = float(jax.grad(f)(x0))
        assert abs(float(difference_quotient(f, x0, h)) - fp) <= m2 * h / 2 + roundoff / h
        assert abs(float(symmetric_difference_quotient(f, x0, h)) - fp) <= m3 * h * h / 6 + roundoff / h


def test_two_variable_first_order_reference(x64):
    """f = x²y at (1.002, 0.997): approximation 1.001, exact 1.000992 (inventory §15 item 14)."""
    f = lambda x, y: x**2 * y  # noqa: E731
    fx, fy = jax.grad(f, argnums=(0, 1))(1.0, 1.0)
    approx = f(1.0, 1.0) + 0.002 * fx + (-0.003) * fy
    np.testing.assert_allclose(approx, 1.001, rtol=1e-14)
    assert abs(float(f(1.002, 0.997)) - 1.000992) < 1e-6


@given(st.floats(0.3, 3), st.floats(0.3, 3), st.floats(-math.pi, math.pi), st.floats(-2, 2))
def test_gradient_orthogonal_to_level_set(a, b, t, s):
    """γ(t) = (a cos t, b sin t) stays on x²/a² + y²/b² = 1, so ⟨∇f(γ), γ'⟩ = 0; the tangent
    line f_x(x − x₀) + f_y(y − y₀) = 0 contains γ(t) + s·γ'(t) (§15 item 15)."""
    with jax.enable_x64(True):
        f = lambda p: p[0] ** 2 / a**2 + p[1] ** 2 / b**2  # noqa: E731
        gamma = lambda u: jnp.stack([a * jnp.cos(u), b * jnp.sin(u)])  # noqa: E731
        p, dp = gamma(t), jax.jacfwd(gamma)(t)
        np.testing.assert_allclose(f(p), 1.0, rtol=1e-14)
        grad = jax.grad(f)(p)
        scale = float(jnp.linalg.norm(grad) * jnp.linalg.norm(dp))
        assert abs(float(grad @ dp)) <= 1e-13 * scale
        q = p + s * dp
        assert abs(float(grad @ (q - p))) <= 1e-13 * scale * (1 + abs(s))


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.floats(0, 2 * math.pi))
def test_directional_derivative(px, py, a, c, theta):
    """D_v f = ⟨∇f, v⟩ = lim (f(P + hv) − f(P))/h ≤ ‖∇f‖ for unit v, with equality for
    v = ∇f/‖∇f‖; D_{−∇f} f ≤ 0 (§15 item 16)."""
    with jax.enable_x64(True):
        f = lambda p: jnp.sin(a * p[0]) + jnp.cos(p[1]) + c * p[0] * p[1] ** 2  # noqa: E731
        P = jnp.array([px, py])
        v = jnp.array([math.cos(theta), math.sin(theta)])
        grad = jax.grad(f)(P)
        dv = jax.jvp(f, (P,), (v,))[1]
        np.testing.assert_allclose(dv, grad @ v, rtol=1e-12, atol=1e-12)
        restricted = lambda t: f(P + t * v)  # noqa: E731
        np.testing.assert_allclose(symmetric_difference_quotient(restricted, 0.0, 1e-5), dv, atol=1e-8)
        norm = float(jnp.linalg.norm(grad))
        assert float(dv) <= norm + 1e-12
        assert float(jax.jvp(f, (P,), (-grad,))[1]) <= 1e-12
        if norm > 1e-6:
            np.testing.assert_allclose(jax.jvp(f, (P,), (grad / norm,))[1], norm, rtol=1e-12)


def test_minimum_of_e_exactly(x64):
    a, b, c = squared_distances_on_diagonal([(1, 2), (3, 0), (2, 3)])
    assert (a, b, c) == (6, -22, 27)  # L902
    x0, e0 = parabola_vertex(a, b, c)
    assert (x0, e0) == (Fraction(11, 6), Fraction(41, 6))  # L906
    e = lambda x: 6 * x**2 - 22 * x + 27  # noqa: E731
    assert abs(float(jax.grad(e)(float(x0)))) < 1e-12
    assert classify_critical_point(e, float(x0)) == "local min"


@given(st.fractions(Fraction(1, 10), 10, max_denominator=50), st.fractions(-10, 10, max_denominator=50),
       st.fractions(-10, 10, max_denominator=50), st.fractions(-5, 5, max_denominator=50))
def test_parabola_vertex_is_the_minimum(a, b, c, dx):
    """ax² + bx + c with a > 0 is minimal at −b/(2a) (§15 item 18): exact in fractions."""
    x0, m = parabola_vertex(a, b, c)
    assert a * x0 * x0 + b * x0 + c == m
    assert a * (x0 + dx) ** 2 + b * (x0 + dx) + c >= m
    assert 2 * a * x0 + b == 0


def test_parabola_closest_point_book_values(x64):
    coeffs, crit, best = closest_point_on_parabola((1.0, 2.0))
    np.testing.assert_array_equal(coeffs, [1, 0, -3, -2, 5])  # x⁴ − 3x² − 2x + 5 (L965)
    r3 = math.sqrt(3)
    np.testing.assert_allclose([cp.x for cp in crit], [-1, (1 - r3) / 2, (1 + r3) / 2], rtol=1e-15)
    assert [cp.kind for cp in crit] == ["local min", "local max", "local min"]
    np.testing.assert_allclose([crit[0].value, best.value], [5, (11 - 6 * r3) / 4], rtol=1e-14)
    assert best is crit[2]
    f = lambda x: x**4 - 3 * x**2 - 2 * x + 5  # noqa: E731
    for cp in crit:  # Proposition 7: f'(x) = 0; Proposition 8 agrees with the polynomial verdict
        assert abs(float(jax.grad(f)(cp.x))) < 1e-12
        assert classify_critical_point(f, cp.x) == cp.kind


def test_second_derivatives_and_cubic_example(x64):
    assert float(second_derivative(lambda t: t**3)(-2.0)) == -12  # L1016
    x = jnp.linspace(-2, 2, 9)
    np.testing.assert_allclose(second_derivative(jnp.sin)(x), -jnp.sin(x), atol=1e-15)
    np.testing.assert_allclose(second_derivative(lambda t: jnp.exp(t**2))(x), (2 + 4 * x**2) * jnp.exp(x**2), rtol=1e-14)
    crit = polynomial_critical_points([1, -2, 0, 2])  # x³ − 2x² + 2 (L1036–1046)
    np.testing.assert_allclose([c.x for c in crit], [0, 4 / 3], atol=1e-15)
    np.testing.assert_allclose([c.second for c in crit], [-4, 4], atol=1e-13)
    assert [c.kind for c in crit] == ["local max", "local min"]
    assert classify_critical_point(lambda t: t**3, 0.0) == "inconclusive"  # f' = f'' = 0: Prop 8 says nothing
    np.testing.assert_allclose(derivative(jnp.sin)(x), jnp.cos(x), rtol=1e-15)


def test_two_variable_critical_points(x64):
    """x² − y³ + xy has gradient 0 at (0, 0) and (1/12, −1/6) (§15 item 17)."""
    f = lambda p: p[0] ** 2 - p[1] ** 3 + p[0] * p[1]  # noqa: E731
    for p in ([0.0, 0.0], [1 / 12, -1 / 6]):
        np.testing.assert_allclose(jax.grad(f)(jnp.array(p)), [0, 0], atol=1e-15)


@given(st.lists(st.integers(-40, 40).map(lambda k: k / 8), min_size=3, max_size=4))
def test_polynomial_critical_points_are_roots_of_the_derivative(tail):
    coeffs = [1.0, *tail]  # monic of degree 3 or 4
    p = np.array(coeffs)
    crit = polynomial_critical_points(coeffs)
    d1 = np.polyder(p)
    for cp in crit:
        scale = np.polyval(np.abs(d1), abs(cp.x)) + 1
        assert abs(np.polyval(d1, cp.x)) <= 1e-9 * scale
        assert cp.kind == ("local min" if cp.second > 1e-9 else "local max" if cp.second < -1e-9 else "inconclusive")
    if len(coeffs) == 5:  # an even-degree monic polynomial has a global minimum, at a critical point
        grid = np.linspace(-20, 20, 40001)
        assert min(cp.value for cp in crit) <= np.polyval(p, grid).min() + 1e-6


def test_errors_are_clear():
    with pytest.raises(ValueError, match="h ≠ 0"):
        difference_quotient(jnp.sin, 0.0, 0.0)
    with pytest.raises(ValueError, match="h ≠ 0"):
        symmetric_difference_quotient(jnp.sin, 0.0, jnp.array([0.1, 0.0]))
    with pytest.raises(ValueError, match="a ≠ 0"):
        parabola_vertex(0, 1, 2)
    with pytest.raises(ValueError, match="not a critical point"):
        classify_critical_point(lambda t: t**2, 1.0)
    with pytest.raises(ValueError, match="constant polynomial"):
        polynomial_critical_points([3.0])
    with pytest.raises(ValueError, match="at least one point"):
        squared_distances_on_diagonal([])
