"""Sets realisable by a network of Heaviside neurons — chapter 5 *Réseau de neurones* (Neural
network), § 3.2 and § 4.2–4.3 *Ensemble réalisable* (book lines 2556–2745).

A set A ⊂ ℝ² is *realisable* when some network of H neurons has F = 1 on the interior of A and
F = 0 on its exterior (L2656–2668; nothing is asked on the boundary). Built here as real
networks (:class:`deepmath_jax.neurons.perceptron.Layer` sequences):

- half-planes, angular sectors, unions of half-planes, triangles (L2556–2604);
- a convex polygon with n sides by n + 1 neurons: one neuron per half-plane, then an AND neuron
  with coefficients 1 and bias −n (Proposition 3, L2676–2687, :func:`convex_polygon_network`);
- union, intersection, complement s ↦ H(1 − 2s), and the difference A ∖ B = A ∩ (A ∩ B)ᶜ
  (Proposition 4, L2689–2719; the markdown export shows "(A∩B)^0" for the complement) by
  running the networks side by side and adding an OR / AND / NOT neuron;
- any polygon, by triangulating it and taking the union of its triangles (Proposition 5,
  L2721–2730, :func:`polygon_network`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.neurons.perceptron import Layer, Network, apply_network, check_network, neurons

HalfPlane = tuple[float, float, float]  # (a, b, c): the half-plane ax + by + c ≥ 0


def halfplanes_network(halfplanes: Sequence[HalfPlane]) -> Network:
    """The intersection of n half-planes aᵢx + bᵢy + cᵢ ≥ 0 by n + 1 H neurons: one neuron
    (aᵢ, bᵢ; cᵢ) per half-plane, then AND = H(s₁ + … + sₙ − n) (Proposition 3, L2681–2685)."""
    hp = np.asarray(halfplanes, dtype=np.float64)
    if hp.ndim != 2 or hp.shape[1] != 3 or len(hp) == 0:
        raise ValueError(f"half-planes must be a non-empty list of (a, b, c) triples, got shape {hp.shape}")
    if np.any(np.all(hp[:, :2] == 0, axis=1)):
        raise ValueError("a half-plane ax + by + c ≥ 0 needs (a, b) ≠ (0, 0)")
    n = len(hp)
    return (neurons(hp[:, :2], hp[:, 2]), neurons([np.ones(n)], [-n]))


def in_halfplanes(x: ArrayLike, y: ArrayLike, halfplanes: Sequence[HalfPlane]) -> Array:
    """Reference membership test: 1.0 where every aᵢx + bᵢy + cᵢ ≥ 0 holds, else 0.0."""
    x, y = jnp.broadcast_arrays(jnp.asarray(x, dtype=jnp.result_type(float)), jnp.asarray(y))
    inside = jnp.ones(x.shape, dtype=bool)
    for a, b, c in halfplanes:
        inside = inside & (a * x + b * y + c >= 0)
    return inside.astype(x.dtype)


def convex_polygon_halfplanes(vertices: ArrayLike) -> list[HalfPlane]:
    """The n half-planes whose intersection is the convex polygon with these vertices (in order,
    either orientation): for the edge PQ, the side of the line PQ that holds the polygon.

    Raises:
      ValueError: fewer than 3 vertices, repeated or aligned consecutive vertices, or a polygon
        that is not convex.
    """
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise ValueError(f"a polygon needs at least 3 vertices (x, y), got shape {v.shape}")
    e = np.roll(v, -1, axis=0) - v
    turns = e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0]
    if np.any(np.abs(turns) < 1e-12):
        raise ValueError("consecutive vertices must not be repeated or aligned")
    if not (np.all(turns > 0) or np.all(turns < 0)):
        raise ValueError("the polygon is not convex: use polygon_network (Proposition 5)")
    sign = 1.0 if turns[0] > 0 else -1.0  # counter-clockwise: the interior is on the left
    out = []
    for (x0, y0), (dx, dy) in zip(v, e, strict=True):
        # left of P→Q: dx (y − y0) − dy (x − x0) ≥ 0
        out.append((float(-sign * dy), float(sign * dx), float(sign * (dy * x0 - dx * y0))))
    return out


def convex_polygon_network(vertices: ArrayLike) -> Network:
    """A convex polygon with n sides realised by n + 1 neurons (Proposition 3, L2676–2687)."""
    return halfplanes_network(convex_polygon_halfplanes(vertices))


# ---------------------------------------------------------------------------------------------
# Set operations (Proposition 4)
# ---------------------------------------------------------------------------------------------


def _check_set_network(net: Sequence[Layer], name: str) -> None:
    if not net:
        raise ValueError(f"{name} has no layer")
    check_network(net)
    bad = [k for k, layer in enumerate(net) if layer.activation != "heaviside"]
    if bad:
        raise ValueError(
            f"{name} must use the Heaviside activation in every layer (a realisable set's network); "
            f"layer {bad[0]} uses {net[bad[0]].activation!r}"
        )
    if net[-1].n_neurons != 1:
        raise ValueError(f"{name} must have one output neuron, got {net[-1].n_neurons}")


def _pass_through(n: int, dtype) -> Layer:
    """n neurons H(s − ½): they copy 0/1 signals, to bring side-by-side networks to one depth."""
    return Layer(jnp.eye(n, dtype=dtype), jnp.full((n,), -0.5, dtype), "heaviside")


def parallel(*networks: Sequence[Layer]) -> Network:
    """Run H networks with the same inputs side by side: one network whose outputs are theirs
    (the "superposition" of Proposition 4's proof). Shallower networks are padded with
    pass-through neurons H(s − ½), which copy 0/1 values."""
    if not networks:
        raise ValueError("parallel needs at least one network")
    for k, net in enumerate(networks):
        _check_set_network(net, f"network {k}")
    n_in = {net[0].n_inputs for net in networks}
    if len(n_in) != 1:
        raise ValueError(f"the networks must take the same inputs, got input sizes {sorted(n_in)}")
    depth = max(len(net) for net in networks)
    dtype = networks[0][0].kernel.dtype
    padded = [tuple(net) + tuple(_pass_through(1, dtype) for _ in range(depth - len(net))) for net in networks]
    layers = []
    for d in range(depth):
        parts = [net[d] for net in padded]
        if d == 0:  # same inputs: neurons side by side
            kernel = jnp.concatenate([p.kernel for p in parts], axis=1)
        else:  # each network reads only its own previous neurons: a block-diagonal kernel
            rows, cols = sum(p.n_inputs for p in parts), sum(p.n_neurons for p in parts)
            kernel = jnp.zeros((rows, cols), dtype)
            r = c = 0
            for p in parts:
                kernel = kernel.at[r : r + p.n_inputs, c : c + p.n_neurons].set(p.kernel)
                r, c = r + p.n_inputs, c + p.n_neurons
        layers.append(Layer(kernel, jnp.concatenate([p.bias for p in parts]), "heaviside"))
    return tuple(layers)


def union(*networks: Sequence[Layer]) -> Network:
    """A₁ ∪ … ∪ A_k: the networks side by side, then OR = H(s₁ + … + s_k − 1) (L2701–2706)."""
    k = len(networks)
    return parallel(*networks) + (neurons([np.ones(k)], [-1.0]),)


def intersection(*networks: Sequence[Layer]) -> Network:
    """A₁ ∩ … ∩ A_k: side by side, then AND = H(s₁ + … + s_k − k) (L2708)."""
    k = len(networks)
    return parallel(*networks) + (neurons([np.ones(k)], [-float(k)]),)


def complement(network: Sequence[Layer]) -> Network:
    """Aᶜ: add the NOT neuron s ↦ H(1 − 2s) (L2710–2712)."""
    _check_set_network(network, "network")
    return tuple(network) + (neurons([(-2.0,)], [1.0]),)


def difference(a: Sequence[Layer], b: Sequence[Layer]) -> Network:
    """A ∖ B = A ∩ (A ∩ B)ᶜ (L2717), as the book builds it from ∩ and ᶜ."""
    return intersection(a, complement(intersection(a, b)))


# ---------------------------------------------------------------------------------------------
# Any polygon (Proposition 5)
# ---------------------------------------------------------------------------------------------


def _signed_area(v: np.ndarray) -> float:
    return 0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))


def _crossing_edges(v: np.ndarray) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges (i, i + 1), (j, j + 1) that meet, if any."""

    def orient(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    n = len(v)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            p, q, r, s = v[i], v[(i + 1) % n], v[j], v[(j + 1) % n]
            if orient(p, q, r) * orient(p, q, s) <= 0 and orient(r, s, p) * orient(r, s, q) <= 0:
                lo = np.maximum(np.minimum(p, q), np.minimum(r, s))
                hi = np.minimum(np.maximum(p, q), np.maximum(r, s))
                if np.all(lo <= hi + 1e-12):  # the bounding boxes meet too (collinear case)
                    return i, j
    return None


def triangulate(vertices: ArrayLike) -> list[np.ndarray]:
    """Triangles (3, 2) covering a simple polygon, by ear clipping (the "découpage en triangles"
    of Proposition 5's proof, L2727)."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise ValueError(f"a polygon needs at least 3 vertices (x, y), got shape {v.shape}")
    if abs(_signed_area(v)) < 1e-12:
        raise ValueError("the polygon has zero area")
    crossing = _crossing_edges(v)
    if crossing:
        raise ValueError(f"the polygon is not simple: its edges {crossing[0]} and {crossing[1]} cross")
    if _signed_area(v) < 0:
        v = v[::-1]
    idx = list(range(len(v)))
    triangles = []

    def cross(o, p, q):
        return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])

    while len(idx) > 3:
        for k in range(len(idx)):
            i, j, l = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            p, q, r = v[i], v[j], v[l]
            if cross(p, q, r) <= 1e-12:  # reflex or flat corner: not an ear
                continue
            others = [v[m] for m in idx if m not in (i, j, l)]
            if any(cross(p, q, s) >= 0 and cross(q, r, s) >= 0 and cross(r, p, s) >= 0 for s in others):
                continue
            triangles.append(np.stack([p, q, r]))
            idx.pop(k)
            break
        else:
            raise ValueError("no ear found: the polygon is not simple (its edges cross)")
    triangles.append(v[idx])
    return triangles


def polygon_network(vertices: ArrayLike) -> Network:
    """Any simple polygon (convex or not): the union of the networks of its triangles
    (Proposition 5, L2721–2730) — 4 neurons per triangle, one OR neuron."""
    tris = triangulate(vertices)
    if len(tris) == 1:
        return convex_polygon_network(tris[0])
    return union(*(convex_polygon_network(t) for t in tris))


def set_indicator(network: Sequence[Layer], x: ArrayLike, y: ArrayLike) -> Array:
    """F(x, y) of a one-output network of two inputs on arrays x, y of any (common) shape."""
    x, y = jnp.broadcast_arrays(jnp.asarray(x, dtype=jnp.result_type(float)), jnp.asarray(y))
    pts = jnp.stack([x.ravel(), y.ravel()], axis=1)
    return apply_network(network, pts)[:, 0].reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# The chapter's examples (H everywhere unless said)
# ---------------------------------------------------------------------------------------------

# Angular sector {−x + 3y ≥ 0} ∩ {2x + y ≥ 0} (L2560–2573, fig_neurones_46; keras_facile L3318).
SECTOR_HALFPLANES: tuple[HalfPlane, ...] = ((-1.0, 3.0, 0.0), (2.0, 1.0, 0.0))
SECTOR_NETWORK: Network = (neurons([(-1, 3), (2, 1)]), neurons([(1, 1)], [-2]))
# Same first layer, output OR: the union of the two half-planes (L2576–2582, fig_neurones_49).
HALFPLANES_UNION_NETWORK: Network = (neurons([(-1, 3), (2, 1)]), neurons([(1, 1)], [-1]))
# Triangle −x + 2y ≥ 0, x + y − 2 ≥ 0, −y + 3 ≥ 0 (L2585–2598, fig_neurones_51).
TRIANGLE_HALFPLANES: tuple[HalfPlane, ...] = ((-1.0, 2.0, 0.0), (1.0, 1.0, -2.0), (0.0, -1.0, 3.0))


def triangle_network(activation: str = "heaviside") -> Network:
    """The triangle network of L2585–2598 with the activation φ in every neuron — the book
    compares φ = H, σ, th, ReLU (L2606–2618; the authors' ``neurones_surface_2.py``)."""
    return (
        neurons([(-1, 2), (1, 1), (0, -1)], [0, -2, 3], activation),
        neurons([(1, 1, 1)], [-3], activation),
    )
