"""Chapter 7 §1–2: partial derivatives, gradient, tangents, directional derivative, first-order
approximation, critical points — the book's values and the hand/library agreement
(inventory part 1 §7.B and §15 items 14–17)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.calculus.gradient import (
    critical_point_kind,
    critical_points,
    directional_derivative,
    directional_derivative_jvp,
    directional_difference_quotient,
    ellipse_tangent,
    first_order_approximation,
    gradient,
    gradient_by_difference_quotients,
    gradient_field,
    level_set_tangent,
    partial_derivative,
    partial_difference_quotient,
    steepest_ascent,
    tangent_plane_to_graph,
)
from helpers import assert_float32_close


def test_book_partial_derivatives(x64):
    """x²e^{3y} (L3443–3447), cos(x + y²)e^{−z} (L3453), Σxᵢ² (L3460)."""
    f = lambda x, y: x**2 * jnp.exp(3 * y)  # noqa: E731
    x, y = 1.3, -0.4
    assert float(partial_derivative(f, 0)(x, y)) == pytest.approx(2 * x * math.exp(3 * y), rel=1e-15)
    assert float(partial_derivative(f, 1)(x, y)) == pytest.approx(3 * x**2 * math.exp(3 * y), rel=1e-15)
    g = lambda x, y, z: jnp.cos(x + y**2) * jnp.exp(-z)  # noqa: E731
    p = (0.7, -1.1, 0.3)
    s, c, e = math.sin(0.7 + 1.21), math.cos(0.7 + 1.21), math.exp(-0.3)
    np.testing.assert_allclose(gradient(g)(*p), [-s * e, -2 * p[1] * s * e, -c * e], rtol=1e-14)
    q = jnp.linspace(-2, 2, 6)
    np.testing.assert_allclose(gradient(lambda *v: sum(t**2 for t in v))(*q), 2 * q, rtol=1e-15)


def test_book_gradients(x64):
    """grad x²y³ = (2xy³, 3x²y²) and grad f(2, 1) = (4, 12) (L3491); grad x² sin(yz) (L3492)."""
    np.testing.assert_array_equal(gradient(lambda x, y: x**2 * y**3)(2.0, 1.0), [4.0, 12.0])
    x, y, z = 1.5, 0.4, -2.0
    np.testing.assert_allclose(gradient(lambda x, y, z: x**2 * jnp.sin(y * z))(x, y, z),
                               [2 * x * math.sin(y * z), x**2 * z * math.cos(y * z), x**2 * y * math.cos(y * z)],
                               rtol=1e-14)


def test_difference_quotients_converge_to_partials(x64):
    """The definition (L3410): the quotient tends to ∂f/∂x, with error O(h)."""
    f = lambda x, y: x**2 * jnp.exp(3 * y)  # noqa: E731
    exact = float(partial_derivative(f, 1)(1.3, -0.4))
    errors = [abs(float(partial_difference_quotient(f, (1.3, -0.4), 1, h)) - exact) for h in (1e-2, 1e-3, 1e-4)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3 * abs(exact)
    g = lambda x, y, z: x * jnp.sin(y) + jnp.exp(x * z)  # noqa: E731
    np.testing.assert_allclose(gradient_by_difference_quotients(g, (0.3, 1.2, -0.7)), gradient(g)(0.3, 1.2, -0.7),
                               rtol=1e-8)


def test_first_order_approximation_book_values(x64):
    """f = x²y at (1.002, 0.997): f_x(1, 1) = 2, f_y(1, 1) = 1 (L3636), 1 + 2h + k = 1.001
    (L3640) and f(1.002, 0.997) = 1.000991988, printed 1.000992 (L3642). §15 item 14."""
    f = lambda x, y: x**2 * y  # noqa: E731
    np.testing.assert_array_equal(gradient(f)(1.0, 1.0), [2.0, 1.0])
    assert float(first_order_approximation(f, (1.0, 1.0), (0.002, -0.003))) == pytest.approx(1.001, abs=1e-15)
    exact = float(f(1.002, 0.997))
    assert exact == pytest.approx(1.002**2 * 0.997, abs=1e-15)  # = 1.000991988
    assert round(exact, 6) == 1.000992  # the book prints it rounded to 6 decimals
    plane = tangent_plane_to_graph(f, 1.0, 1.0)
    assert float(plane(1.002, 0.997)) == pytest.approx(1.001, abs=1e-15)


@given(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), st.floats(0, 2 * math.pi))
def test_first_order_error_is_o_of_the_step(x0, y0, theta):
    """f(P + t u) − [f(P) + t⟨grad f, u⟩] = o(t): divided by t it shrinks like t (§15 item 14)."""
    with jax.enable_x64(True):
        f = lambda x, y: jnp.sin(x) * y**2 + jnp.exp(x - y)  # noqa: E731
        u = np.array([math.cos(theta), math.sin(theta)])
        ratios = []
        for t in (1e-1, 1e-2, 1e-3):
            exact = float(f(x0 + t * u[0], y0 + t * u[1]))
            ratios.append(abs(exact - float(first_order_approximation(f, (x0, y0), tuple(t * u)))) / t)
        bound = 10.0  # |second derivatives| ≤ 10 on the region: error/t ≤ 5t
        assert all(r <= bound * t / 2 + 1e-12 for r, t in zip(ratios, (1e-1, 1e-2, 1e-3), strict=True))


@given(st.floats(0.3, 3), st.floats(0.3, 3), st.floats(-math.pi, math.pi))
def test_ellipse_tangent_and_orthogonality(a, b, t):
    """Prop. 1–2 on x²/a² + y²/b² = 1 (L3526–3543): the gradient tangent is the book's
    (x₀/a²)x + (y₀/b²)y = 1 up to the factor 2, and grad f ⟂ γ'(t) (§15 item 15)."""
    with jax.enable_x64(True):
        x0, y0 = a * math.cos(t), b * math.sin(t)
        f = lambda x, y: x**2 / a**2 + y**2 / b**2  # noqa: E731
        n, c = level_set_tangent(f, (x0, y0))
        book = ellipse_tangent(a, b, x0, y0)
        np.testing.assert_allclose([float(n[0]) / 2, float(n[1]) / 2, float(c) / 2], book, rtol=1e-12, atol=1e-12)
        velocity = np.array([-a * math.sin(t), b * math.cos(t)])
        assert abs(float(n @ velocity)) <= 1e-12 * float(jnp.linalg.norm(n)) * np.linalg.norm(velocity)


def test_tangent_plane_to_a_level_surface(x64):
    """Prop. 4 (L3607–3613): on the sphere x² + y² + z² = 3 at (1, 1, 1) the tangent plane is
    2x + 2y + 2z = 6; grad f is orthogonal to curves drawn on the surface."""
    f = lambda x, y, z: x**2 + y**2 + z**2  # noqa: E731
    n, c = level_set_tangent(f, (1.0, 1.0, 1.0))
    np.testing.assert_array_equal(n, [2.0, 2.0, 2.0])
    assert float(c) == 6.0
    curve = lambda s: jnp.sqrt(3.0) * jnp.stack([jnp.cos(s) * jnp.sin(0.9553166181245093),  # noqa: E731
                                                 jnp.sin(s) * jnp.sin(0.9553166181245093), jnp.cos(0.9553166181245093)])
    s0 = math.pi / 4  # the circle of latitude through (1, 1, 1)
    np.testing.assert_allclose(curve(s0), [1, 1, 1], rtol=1e-14)
    assert abs(float(n @ jax.jacfwd(curve)(s0))) < 1e-13


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0, 2 * math.pi))
def test_directional_derivative_and_steepest_ascent(px, py, theta):
    """D_v f = h f_x + k f_y (L3566) = jvp = lim of the quotient; D_v f ≤ ‖grad f‖ for unit v,
    with equality at grad f/‖grad f‖ (Prop. 3, L3594); D_{−grad f} f ≤ 0 (§15 item 16)."""
    with jax.enable_x64(True):
        f = lambda x, y: jnp.sin(x) * jnp.cos(2 * y) + 0.3 * x * y  # noqa: E731
        v = (math.cos(theta), math.sin(theta))
        d = float(directional_derivative(f, (px, py), v))
        assert d == pytest.approx(float(directional_derivative_jvp(f, (px, py), v)), rel=1e-12, abs=1e-14)
        assert d == pytest.approx(float(directional_difference_quotient(f, (px, py), v, 1e-7)), abs=1e-6)
        g = gradient(f)(px, py)
        norm = float(jnp.linalg.norm(g))
        assert d <= norm + 1e-12
        assert float(directional_derivative(f, (px, py), tuple(-g))) <= 0
        if norm > 1e-8:
            u = steepest_ascent(f, (px, py))
            assert float(directional_derivative(f, (px, py), tuple(u))) == pytest.approx(norm, rel=1e-12)
    for e, k in (((1.0, 0.0), 0), ((0.0, 1.0), 1)):  # D_v f = ∂f/∂x, ∂f/∂y for the unit vectors (L3573)
        # float32, two programs: f_x = cos x cos 2y + 0.3y, f_y = −2 sin x sin 2y + 0.3x sum 2
        # terms (Σ|terms| ≤ 2 + 0.3·2 on [−2, 2]²) after ≤ 4 roundings of sin, cos and the
        # products, then ⟨grad f|v⟩ adds 2
        assert_float32_close(directional_derivative(f, (px, py), e), partial_derivative(f, k)(px, py),
                             reduction=2 + 4 + 2, scale=2.6)


def test_critical_points_of_the_book_example(x64):
    """x² − y³ + xy: grad = (2x + y, −3y² + x) (L3688) vanishes at (0, 0) and (1/12, −1/6)
    (L3695); (0, 0) is neither min nor max since f(0, y) = −y³ (L3697); (1/12, −1/6) is a
    local minimum (L3699)."""
    f = lambda x, y: x**2 - y**3 + x * y  # noqa: E731
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9)), axis=-1).reshape(-1, 2)
    found = critical_points(f, grid)
    assert len(found) == 2
    np.testing.assert_allclose(found[0].point, [0, 0], atol=1e-15)
    np.testing.assert_allclose(found[1].point, [1 / 12, -1 / 6], rtol=1e-14)
    assert [c.kind for c in found] == ["saddle", "local min"]
    assert found[1].value == pytest.approx(-1 / 432, rel=1e-13)
    assert float(f(0.0, 0.01)) < 0 < float(f(0.0, -0.01))
    ring = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for r in (1e-3, 1e-2):  # the minimum on small circles around (1/12, −1/6)
        vals = f(1 / 12 + r * np.cos(ring), -1 / 6 + r * np.sin(ring))
        assert np.all(np.asarray(vals) > found[1].value)
    assert critical_point_kind(lambda x, y: -(x**2) - y**2, (0.0, 0.0)) == "local max"
    assert critical_point_kind(lambda x, y: x**2 + y**2, (0.0, 0.0)) == "local min"
    assert critical_point_kind(lambda x, y: x**2 - y**2, (0.0, 0.0)) == "saddle"
    assert critical_point_kind(lambda x, y: x**4 + y**2, (0.0, 0.0)) == "degenerate"


def test_gradient_field_matches_pointwise_gradients(x64):
    X, Y = jnp.meshgrid(jnp.linspace(-1, 1, 5), jnp.linspace(-1, 1, 4))
    U, V = gradient_field(lambda x, y: x**2 - y**2, X, Y)
    np.testing.assert_allclose(U, 2 * X, rtol=1e-15)
    np.testing.assert_allclose(V, -2 * Y, rtol=1e-15)


def test_errors_are_clear(x64):
    f = lambda x, y: x**2 + y**2  # noqa: E731
    with pytest.raises(ValueError, match="grad f = 0 .* critical point"):
        level_set_tangent(f, (0.0, 0.0))
    with pytest.raises(ValueError, match="no direction of steepest ascent"):
        steepest_ascent(f, (0.0, 0.0))
    with pytest.raises(ValueError, match="is not on the ellipse"):
        ellipse_tangent(2.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="half-axes a, b must be positive"):
        ellipse_tangent(-2.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="the direction v has 3 coordinates, the point 2"):
        directional_derivative(f, (1.0, 2.0), (1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="a point must be a non-empty vector"):
        gradient(f)()
    with pytest.raises(ValueError, match="variable index 2 out of range"):
        partial_difference_quotient(f, (1.0, 2.0), 2, 1e-3)
    with pytest.raises(ValueError, match="is not a critical point"):
        critical_point_kind(f, (1.0, 0.0))
    with pytest.raises(ValueError, match="same shape"):
        gradient_field(f, jnp.zeros((2, 3)), jnp.zeros((3, 2)))
