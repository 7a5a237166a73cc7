"""Chapter 5 §3.2, §4.2: realisable sets — half-planes, sectors, triangles, convex polygons
(Proposition 3), set operations (Proposition 4) and any polygon (Proposition 5)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from matplotlib.path import Path

from deepmath_jax.neurons import realisable as R
from deepmath_jax.neurons.perceptron import apply_network, neurons


def away_from_edges(vertices, pts, eps=1e-6):
    """Points farther than eps from every edge of the polygon (the boundary is left free)."""
    v = np.asarray(vertices, float)
    keep = np.ones(len(pts), bool)
    for p, q in zip(v, np.roll(v, -1, axis=0), strict=True):
        d = q - p
        t = np.clip(((pts - p) @ d) / (d @ d), 0, 1)
        keep &= np.linalg.norm(pts - (p + t[:, None] * d), axis=1) > eps
    return pts[keep]


def test_sector_union_triangle_book_networks():
    x, y = np.meshgrid(np.linspace(-4, 6, 41), np.linspace(-4, 6, 41))
    pts = np.c_[x.ravel(), y.ravel()]
    s1, s2 = (-pts[:, 0] + 3 * pts[:, 1] >= 0), (2 * pts[:, 0] + pts[:, 1] >= 0)
    np.testing.assert_array_equal(apply_network(R.SECTOR_NETWORK, pts)[:, 0], (s1 & s2).astype(float))
    np.testing.assert_array_equal(apply_network(R.HALFPLANES_UNION_NETWORK, pts)[:, 0], (s1 | s2).astype(float))
    tri = R.in_halfplanes(pts[:, 0], pts[:, 1], R.TRIANGLE_HALFPLANES)
    np.testing.assert_array_equal(apply_network(R.triangle_network(), pts)[:, 0], tri)
    np.testing.assert_array_equal(apply_network(R.halfplanes_network(R.TRIANGLE_HALFPLANES), pts)[:, 0], tri)
    # the triangle of L2598 has vertices (4/3, 2/3), (−1, 3), (6, 3)
    inside = away_from_edges([(4 / 3, 2 / 3), (6, 3), (-1, 3)], pts)
    np.testing.assert_array_equal(
        R.in_halfplanes(inside[:, 0], inside[:, 1], R.TRIANGLE_HALFPLANES),
        Path([(4 / 3, 2 / 3), (6, 3), (-1, 3)]).contains_points(inside).astype(float),
    )


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_triangle_network_other_activations_are_smooth_versions(act):
    net = R.triangle_network(act)
    assert all(layer.activation == act for layer in net)
    out = apply_network(net, jnp.array([[2.0, 2.5], [-2.0, -2.0]]))
    assert out.shape == (2, 1) and bool(jnp.all(jnp.isfinite(out)))


@st.composite
def convex_polygons(draw):
    n = draw(st.integers(3, 7))
    angles = sorted(draw(st.lists(st.floats(0, 2 * np.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    gaps = np.diff(np.r_[angles, angles[0] + 2 * np.pi])
    assume(np.all(gaps > 0.2) and np.all(gaps < np.pi - 0.05))
    r = draw(st.floats(0.5, 3))
    cx, cy = draw(st.floats(-2, 2)), draw(st.floats(-2, 2))
    v = np.c_[cx + r * np.cos(angles), cy + r * np.sin(angles)]
    if draw(st.booleans()):
        v = v[::-1]  # either orientation
    return v


@given(convex_polygons(), st.integers(0, 2**31 - 1))
def test_convex_polygon_network_is_its_indicator(vertices, seed):
    """§15 item 34 (Proposition 3): n + 1 neurons, F = 1 inside, 0 outside (off the edges)."""
    net = R.convex_polygon_network(vertices)
    n = len(vertices)
    assert [layer.n_neurons for layer in net] == [n, 1]
    pts = np.random.default_rng(seed).uniform(-6, 6, (300, 2))
    pts = away_from_edges(vertices, pts)
    want = Path(vertices).contains_points(pts).astype(float)
    np.testing.assert_array_equal(np.asarray(apply_network(net, pts)[:, 0]), want)


def test_set_operations_equal_boolean_operations():
    """§15 item 34 (Proposition 4): ∪, ∩, ᶜ, ∖ of realised sets."""
    a = R.convex_polygon_network([(0, 0), (3, 0), (3, 2), (0, 2)])  # rectangle
    b = R.SECTOR_NETWORK  # a 2-layer network: depths differ after composition
    c = R.convex_polygon_network([(1, -1), (2, 4), (-1, 1)])
    x, y = np.meshgrid(np.linspace(-2, 4, 37), np.linspace(-2, 5, 29))
    pts = np.c_[x.ravel(), y.ravel()]

    def ind(net):
        return np.asarray(apply_network(net, pts)[:, 0]).astype(bool)

    A, B, C = ind(a), ind(b), ind(c)
    np.testing.assert_array_equal(ind(R.union(a, b)), A | B)
    np.testing.assert_array_equal(ind(R.intersection(a, b)), A & B)
    np.testing.assert_array_equal(ind(R.complement(a)), ~A)
    np.testing.assert_array_equal(ind(R.difference(a, b)), A & ~B)
    np.testing.assert_array_equal(ind(R.union(a, b, c)), A | B | C)
    np.testing.assert_array_equal(ind(R.intersection(R.union(a, b), R.complement(c))), (A | B) & ~C)
    # every network built is an H network with one output
    assert all(layer.activation == "heaviside" for layer in R.difference(a, b))


def test_nonconvex_polygon_network_by_triangles():
    """Proposition 5: a non-convex polygon as a union of triangles."""
    arrow = [(0, 0), (4, 0), (4, 4), (2, 1), (0, 4)]
    tris = R.triangulate(arrow)
    assert len(tris) == 3
    area = [abs((t[1, 0] - t[0, 0]) * (t[2, 1] - t[0, 1]) - (t[1, 1] - t[0, 1]) * (t[2, 0] - t[0, 0])) / 2 for t in tris]
    assert sum(area) == pytest.approx(10.0)
    net = R.polygon_network(arrow)
    pts = away_from_edges(arrow, np.random.default_rng(0).uniform(-1, 5, (2000, 2)))
    np.testing.assert_array_equal(
        np.asarray(R.set_indicator(net, pts[:, 0], pts[:, 1])), Path(arrow).contains_points(pts).astype(float)
    )


def test_errors():
    with pytest.raises(ValueError, match="not convex"):
        R.convex_polygon_halfplanes([(0, 0), (4, 0), (4, 4), (2, 1), (0, 4)])
    with pytest.raises(ValueError, match="at least 3 vertices"):
        R.convex_polygon_halfplanes([(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="aligned"):
        R.convex_polygon_halfplanes([(0, 0), (1, 0), (2, 0), (1, 1)])
    with pytest.raises(ValueError, match=r"\(a, b\) ≠ \(0, 0\)"):
        R.halfplanes_network([(0, 0, 1)])
    with pytest.raises(ValueError, match="Heaviside"):
        R.union(R.triangle_network("sigmoid"), R.SECTOR_NETWORK)
    with pytest.raises(ValueError, match="same inputs"):
        R.union(R.SECTOR_NETWORK, (neurons([(1, 1, 1)]),))
    with pytest.raises(ValueError, match="one output"):
        R.complement((neurons([(1, 0), (0, 1)]),))
    with pytest.raises(ValueError, match="not simple"):
        R.triangulate([(0, 0), (4, 4), (4, 0), (0, 2)])  # a bow tie
    with pytest.raises(ValueError, match="zero area"):
        R.triangulate([(0, 0), (1, 1), (2, 2)])
