"""Chapter 3: grid, random and slice (coordinate) minimum search; golden-section search against
scipy; the chapter's functions (centroid, Fermat point, perpendicular regression)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar

from deepmath_jax.calculus import multivariable as mv
from deepmath_jax.calculus.search import (
    coordinate_search,
    golden_section,
    grid_search,
    random_search,
    slice_search,
)


def g_numpy(x, y):
    return np.hypot(x - 1, y - 2) + np.hypot(x - 3, y - 5) + np.hypot(x - 6, y - 1)


# ----------------------------------------------------------------------------- golden section


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        (lambda x: (x - 1.3) ** 2 + 0.5, -3.0, 4.0),
        (lambda x: jnp.cos(x) + 0.1 * x, 0.0, 6.0),  # minimum near π
        (lambda x: jnp.sqrt(1 + (x - 2) ** 2) + jnp.sqrt(9 + (x - 5) ** 2) + jnp.sqrt(36 + (x - 1) ** 2), 0.0, 6.0),
        (lambda x: x, 1.0, 2.0),  # minimum at the left end
    ],
)
def test_golden_section_agrees_with_scipy(x64, f, lo, hi):
    ours = golden_section(f, lo, hi)
    ref = minimize_scalar(lambda t: float(f(jnp.asarray(t))), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    assert abs(float(ours.x) - ref.x) < 1e-6
    assert float(ours.value) <= ref.fun + 1e-7  # an end-point minimum is located to ~tol


def test_golden_section_matches_scipy_golden_iteration_count_order(x64):
    # The bracket shrinks by 1/φ per step: from width 7 to ≤ tol in ⌈log(7/tol)/log φ⌉ steps.
    tol = 1e-9
    res = golden_section(lambda x: (x - 1) ** 2, -3.0, 4.0, tol=tol)
    expected = int(np.ceil(np.log(7 / tol) / np.log((1 + 5**0.5) / 2)))
    assert abs(int(res.iterations) - expected) <= 1


def test_golden_section_is_traceable_with_traced_bounds(x64):
    f = jax.jit(lambda lo, hi: golden_section(lambda x: (x - 0.25) ** 2, lo, hi).x)
    assert abs(float(f(-1.0, 1.0)) - 0.25) < 1e-6


@given(
    a=st.floats(0.1, 10.0),
    b=st.floats(-10.0, 10.0),
    c=st.floats(-5.0, 5.0),
)
def test_golden_section_finds_parabola_vertex(a, b, c):
    """§15 item 18: ax² + bx + c (a > 0) is minimal at −b/(2a)."""
    with jax.enable_x64(True):
        vertex = mv.parabola_vertex(a, b, c)
        res = golden_section(lambda x: a * x**2 + b * x + c, -60.0, 60.0)
        assert abs(float(res.x) - vertex) < 1e-5 * max(1.0, abs(vertex))


def test_parabola_vertex_needs_positive_a():
    with pytest.raises(ValueError, match="a > 0"):
        mv.parabola_vertex(0.0, 1.0)


def test_golden_section_errors():
    with pytest.raises(ValueError, match="scalar bounds"):
        golden_section(lambda x: x**2, jnp.zeros(2), jnp.ones(2))


# ----------------------------------------------------------------------------- grid and random


def test_grid_search_reproduces_book_and_numpy(x64):
    res = grid_search(mv.distance_sum, [(0, 6), (0, 6)], 100)
    # reference: the authors' recipe in numpy (meshgrid "xy", argmin, unravel_index)
    vx = np.linspace(0, 6, 100)
    x, y = np.meshgrid(vx, vx)
    z = g_numpy(x, y)
    i, j = np.unravel_index(np.argmin(z), z.shape)
    np.testing.assert_allclose(np.asarray(res.point), [x[i, j], y[i, j]], rtol=0, atol=1e-12)
    assert abs(float(res.value) - z[i, j]) < 1e-12
    assert res.evaluations == 10_000
    # the book's (2.91, 2.97) → 7.84 (L1681), to its two printed decimals
    np.testing.assert_allclose(np.asarray(res.point), [2.91, 2.97], atol=0.01)
    assert abs(float(res.value) - 7.84) <= 0.01


def test_grid_search_three_variables(x64):
    res = grid_search(lambda x, y, z: (x - 1) ** 2 + (y + 1) ** 2 + z**2, [(-2, 2)] * 3, 5)
    np.testing.assert_allclose(np.asarray(res.point), [1, -1, 0])
    assert res.evaluations == 125


def test_random_search_is_reproducible_and_close(x64):
    bounds = [(0, 6), (0, 6)]
    r1 = random_search(mv.distance_sum, bounds, 1000, jax.random.key(3))
    r2 = random_search(mv.distance_sum, bounds, 1000, jax.random.key(3))
    r3 = random_search(mv.distance_sum, bounds, 1000, jax.random.key(4))
    assert jnp.array_equal(r1.point, r2.point)
    assert not jnp.array_equal(r1.point, r3.point)
    exact = minimize(lambda p: g_numpy(*p), [3, 3], tol=1e-12).fun
    for r in (r1, r3):
        assert exact <= float(r.value) < exact + 0.02
        assert float(mv.distance_sum(*r.point)) == pytest.approx(float(r.value))


@pytest.mark.parametrize("search", ["grid", "random"])
def test_search_errors(search):
    def run(f, bounds, num):
        if search == "grid":
            return grid_search(f, bounds, num)
        return random_search(f, bounds, num, jax.random.key(0))

    f = mv.distance_sum
    with pytest.raises(ValueError, match="low < high"):
        run(f, [(6, 0), (0, 6)], 10)
    with pytest.raises(ValueError, match="pair"):
        run(f, [(0, 6, 1)], 10)
    with pytest.raises(ValueError, match="integer"):
        run(f, [(0, 6), (0, 6)], 0)
    with pytest.raises(ValueError, match="at least one variable"):
        run(f, [], 10)
    with pytest.raises(ValueError, match="elementwise"):
        run(lambda x, y: jnp.sum(x + y), [(0, 1), (0, 1)], 10)


# ----------------------------------------------------------------------------- slices


def scipy_slices(x0, steps):
    """The authors' Sage script, with scipy's bounded Brent search for each slice."""
    def argmin(h):
        return minimize_scalar(h, bounds=(0, 6), method="bounded", options={"xatol": 1e-12}).x

    x, path = x0, []
    for _ in range(steps):
        y = argmin(lambda t, x=x: g_numpy(x, t))
        x = argmin(lambda t, y=y: g_numpy(t, y))
        path.append((x, y))
    return path


def test_slice_search_reproduces_book_and_scipy(x64):
    res = slice_search(mv.distance_sum, 0.0, [(0, 6), (0, 6)], steps=5)
    pts = np.asarray(res.points)
    assert pts.shape == (11, 2)
    y0, x1 = pts[1, 1], pts[2, 0]
    assert pts[1, 0] == 0.0
    assert abs(y0 - 2.45) < 0.01 and abs(x1 - 2.84) < 0.01  # L1689
    ref = scipy_slices(0.0, 5)
    for k, (x, y) in enumerate(ref):
        np.testing.assert_allclose(pts[2 * k + 2], [x, y], atol=2e-7)
    # after 5 steps: (2.90579, 2.98464), g ≈ 7.83867 (L1689), to the book's 5 decimals
    np.testing.assert_allclose(pts[-1], [2.90579, 2.98464], atol=1e-5)
    assert abs(float(res.values[-1]) - 7.83867) <= 1e-5
    # values decrease along the path (each slice minimum is ≤ the point before)
    assert np.all(np.diff(np.asarray(res.values)[1:]) <= 1e-12)


def test_coordinate_search_three_variables(x64):
    def f(p):
        return (p[0] - 1) ** 2 + 2 * (p[1] + 0.5) ** 2 + 3 * (p[2] - 2) ** 2 + 0.5 * p[0] * p[1]

    res = coordinate_search(f, [0.0, 0.0, 0.0], [(-5, 5)] * 3, sweeps=30)
    ref = minimize(lambda p: float(f(jnp.asarray(p))), [0, 0, 0], tol=1e-12).x
    np.testing.assert_allclose(np.asarray(res.points[-1]), ref, atol=1e-5)


def test_coordinate_search_errors():
    f = lambda p: jnp.sum(p**2)  # noqa: E731
    with pytest.raises(ValueError, match="shape"):
        coordinate_search(f, [0.0, 0.0, 0.0], [(-1, 1), (-1, 1)])
    with pytest.raises(ValueError, match="distinct coordinates"):
        coordinate_search(f, [0.0, 0.0], [(-1, 1), (-1, 1)], order=(0, 0))
    with pytest.raises(ValueError, match="sweeps"):
        coordinate_search(f, [0.0, 0.0], [(-1, 1), (-1, 1)], sweeps=0)
    with pytest.raises(ValueError, match="two variables"):
        slice_search(lambda x, y: x, 0.0, [(-1, 1)])


# ----------------------------------------------------------------------------- chapter functions


def test_three_point_functions(x64):
    x, y = jnp.meshgrid(jnp.linspace(-2, 8, 7), jnp.linspace(-1, 6, 5))
    # the expansion of L1632
    np.testing.assert_allclose(mv.squared_distance_sum(x, y), 3 * x**2 + 3 * y**2 - 20 * x - 16 * y + 76, atol=1e-10)
    np.testing.assert_allclose(mv.distance_sum(x, y), g_numpy(np.asarray(x), np.asarray(y)), atol=1e-12)
    np.testing.assert_allclose(mv.centroid(), [10 / 3, 8 / 3])
    assert float(mv.squared_distance_sum(*mv.centroid())) == pytest.approx(64 / 3, abs=1e-12)


@given(
    pts=st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=1, max_size=6),
    dx=st.floats(-3, 3),
    dy=st.floats(-3, 3),
)
def test_centroid_minimises_squared_distances(pts, dx, dy):
    """§15 item 19: Σ‖M − Aᵢ‖² is minimal at the centroid; its gradient vanishes there."""
    with jax.enable_x64(True):
        c = mv.centroid(pts)
        grad = jax.grad(lambda m: mv.squared_distance_sum(m[0], m[1], pts))(c)
        assert float(jnp.max(jnp.abs(grad))) < 1e-9
        at_c = float(mv.squared_distance_sum(c[0], c[1], pts))
        other = float(mv.squared_distance_sum(c[0] + dx, c[1] + dy, pts))
        # Σ‖M − Aᵢ‖² = Σ‖C − Aᵢ‖² + k‖M − C‖² (the parallel-axis identity)
        assert other == pytest.approx(at_c + len(pts) * (dx * dx + dy * dy), rel=1e-9, abs=1e-9)


def test_fermat_point_is_the_minimum_of_distance_sum(x64):
    ref = minimize(lambda p: g_numpy(*p), [3, 3], tol=1e-14)
    grad = jax.grad(lambda m: mv.distance_sum(m[0], m[1]))(jnp.asarray(ref.x))
    assert float(jnp.max(jnp.abs(grad))) < 1e-6


def test_bump_and_examples(x64):
    assert float(mv.bump(0.0, 0.0)) == 0.0
    assert float(mv.bump(1.0, 0.0)) == pytest.approx(np.exp(-1))
    assert float(jnp.max(jnp.abs(mv.bump(0.0, jnp.linspace(-5, 5, 11))))) == 0.0
    assert float(mv.point_line_distance(3.0, 4.0, 0.0, 1.0, 0.0)) == 4.0
    assert float(mv.point_line_distance(1.0, 1.0, 1.0, 1.0, 0.0)) == pytest.approx(2**0.5)
    with pytest.raises(ValueError, match="≠ \\(0, 0\\)"):
        mv.point_line_distance(1.0, 1.0, 0.0, 0.0, 1.0)
    assert mv.circle_level_set(-1).kind == "empty"
    assert mv.circle_level_set(0) == mv.LevelSet("point", 0.0)
    assert mv.circle_level_set(4) == mv.LevelSet("circle", 2.0)
    t = jnp.linspace(0, 2 * jnp.pi, 9)
    np.testing.assert_allclose(mv.elliptic_paraboloid(1.5 * jnp.cos(t), jnp.sin(t)), 0.0, atol=1e-12)
    np.testing.assert_allclose(mv.saddle(jnp.cosh(t), jnp.sinh(t)), 1.0, atol=1e-9)


def test_points_errors():
    with pytest.raises(ValueError, match=r"\(x, y\) pairs"):
        mv.distance_sum(0.0, 0.0, [1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- regression


def test_perpendicular_regression_exact_and_grid(x64):
    a, b = mv.perpendicular_regression()
    assert abs(float(a) - 0.7972) < 1e-4 and abs(float(b) - 1.6111) < 1e-4
    assert float(mv.perpendicular_regression_error(a, b)) == pytest.approx(1.21947, abs=1e-5)
    # the exact minimum is a critical point and beats the authors' 100 × 100 grid
    grad = jax.grad(lambda p: mv.perpendicular_regression_error(p[0], p[1]))(jnp.stack([a, b]))
    assert float(jnp.max(jnp.abs(grad))) < 1e-9
    res = grid_search(mv.perpendicular_regression_error, [(0.1, 1.5), (0.1, 5.0)], 100)
    assert float(res.value) >= float(mv.perpendicular_regression_error(a, b))
    np.testing.assert_allclose(np.asarray(res.point), [0.8, 1.6], atol=0.05)
    # and the numerical minimiser of scipy
    ref = minimize(lambda p: float(mv.perpendicular_regression_error(*p)), [0.5, 1.0], tol=1e-12).x
    np.testing.assert_allclose([float(a), float(b)], ref, atol=1e-6)


def test_perpendicular_regression_errors():
    with pytest.raises(ValueError, match="vertical"):
        mv.perpendicular_regression([(1, 0), (1, 1), (1, 3)])
    with pytest.raises(ValueError, match="preferred direction"):
        mv.perpendicular_regression([(1, 0), (0, 1), (-1, 0), (0, -1)])
