"""Perceptrons and layered networks — chapter 5 *Réseau de neurones* (Neural network), § 1–3
(book lines 2163–2638).

- A **perceptron** (L2181–2380): F(x₁, …, xₙ) = φ(a₁x₁ + … + aₙxₙ + a₀), linear when the bias a₀
  is 0, affine otherwise; φ is the Heaviside step H (with H(0) = 1) unless said otherwise.
- **Layers and networks** (L2500–2552): a layer of p neurons with n inputs is a kernel W of shape
  (n, p) — column j holds neuron j's coefficients, the layout of Keras and Flax (``x @ W + b``) —
  a bias vector (p,) and one activation for the whole layer; a network is a sequence of layers.
  :func:`apply_network` is the hand-written forward pass; :mod:`deepmath_jax.neurons.dense` runs the
  same networks as Flax NNX modules (tests check they agree).
- **Logic gates** (L2385–2439, L2622–2638): OR = H(x + y − 1), AND = H(x + y − 2), the robust AND
  H(x + y − 1.5), NOT = H(1 − 2s); no single perceptron realises XOR (Proposition 1,
  :func:`xor_inequalities`), a two-layer network does (:data:`XOR_NETWORK`).
- **Linear separability** (Proposition 2, L2455–2470): :func:`separating_perceptron` finds an
  affine perceptron equal to 1 on A and 0 on B, or proves there is none (a linear program).
- The chapter's worked networks and neurons, as data (:data:`RELU_H_NETWORK`,
  :data:`EXERCISE_NETWORK`, :data:`HEIGHT_WEIGHT_NEURON`, …).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import get_activation


class Layer(NamedTuple):
    """A dense layer: ``kernel`` (n_inputs, n_neurons) — column j = neuron j's coefficients —
    ``bias`` (n_neurons,) and the name of its activation (see :mod:`deepmath_jax.calculus.activations`)."""

    kernel: Array
    bias: Array
    activation: str = "heaviside"

    @property
    def n_inputs(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.kernel.shape[1])


Network = tuple[Layer, ...]


def neurons(
    coefficients: Sequence[Sequence[float]], biases: Sequence[float] | None = None, activation: str = "heaviside"
) -> Layer:
    """A layer written neuron by neuron, as the book draws it: ``coefficients[j]`` are the
    input weights of neuron j and ``biases[j]`` its bias (0 for a linear perceptron).

    ``neurons([(2, -1), (-3, 2)], activation="relu")`` is the ReLU layer of L2517: its kernel is
    [[2, −3], [−1, 2]] (inputs × neurons).
    """
    get_activation(activation)  # a clear error for an unknown name
    w = jnp.asarray(np.asarray(coefficients, dtype=np.float64), dtype=jnp.result_type(float))
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(
            f"coefficients must be a non-empty list of neurons, each a list of input weights; got shape {w.shape}"
        )
    b = jnp.zeros(w.shape[0], w.dtype) if biases is None else jnp.asarray(biases, dtype=w.dtype)
    if b.shape != (w.shape[0],):
        raise ValueError(f"{w.shape[0]} neurons need {w.shape[0]} biases, got shape {b.shape}")
    return Layer(w.T, b, activation)


def apply_layer(layer: Layer, x: ArrayLike) -> Array:
    """φ(x @ W + b) for inputs x of shape (n_inputs,) or (batch, n_inputs) (book L2500–2552)."""
    x = jnp.asarray(x, dtype=jnp.result_type(x, float))
    if x.ndim not in (1, 2) or x.shape[-1] != layer.n_inputs:
        raise ValueError(
            f"the layer takes {layer.n_inputs} inputs: expected x of shape ({layer.n_inputs},) or "
            f"(batch, {layer.n_inputs}), got {x.shape}"
        )
    z = x @ layer.kernel + layer.bias.reshape((1,) * (x.ndim - 1) + (-1,))
    return get_activation(layer.activation).fn(z)


def apply_network(network: Sequence[Layer], x: ArrayLike) -> Array:
    """The function F of a network: the layers applied one after the other (the hand-written
    forward pass; :class:`deepmath_jax.neurons.dense.DenseNetwork` is the Flax one)."""
    if not network:
        raise ValueError("a network needs at least one layer")
    check_network(network)
    for layer in network:
        x = apply_layer(layer, x)
    return x


def check_network(network: Sequence[Layer]) -> None:
    """Raise a ValueError naming the first layer whose number of inputs is not the number of
    neurons of the layer before."""
    for k in range(1, len(network)):
        if network[k].n_inputs != network[k - 1].n_neurons:
            raise ValueError(
                f"layer {k} takes {network[k].n_inputs} inputs but layer {k - 1} has "
                f"{network[k - 1].n_neurons} neurons"
            )


def perceptron(
    coefficients: Sequence[float], x: ArrayLike, bias: float = 0.0, activation: str = "heaviside"
) -> Array:
    """F(x) = φ(a₁x₁ + … + aₙxₙ + a₀) (L2217 linear, L2362 affine); x of shape (n,) or (batch, n).

    The book's first example a = 2, b = 3: F(4, −1) = 1, F(−3, 1) = 0, and F(6, −4) = 1 on the
    boundary 2x + 3y = 0 since H(0) = 1 (L2229–2241).
    """
    out = apply_layer(neurons([coefficients], [bias], activation), x)
    return out[..., 0]


def pre_activation(coefficients: Sequence[float], x: ArrayLike, bias: float = 0.0) -> Array:
    """f(x) = a₁x₁ + … + aₙxₙ + a₀, the affine part of a perceptron (before φ)."""
    return perceptron(coefficients, x, bias, activation="identity")


# ---------------------------------------------------------------------------------------------
# Logic gates (§ 2.1, § 4.1)
# ---------------------------------------------------------------------------------------------

OR: Network = (neurons([(1, 1)], [-1]),)  # x OU y: (1, 1, −1) (L2391)
AND: Network = (neurons([(1, 1)], [-2]),)  # x ET y: (1, 1, −2) (L2398)
AND_ROBUST: Network = (neurons([(1, 1)], [-1.5]),)  # 0.9 ET 0.9 = 1 (L2404)
NOT: Network = (neurons([(-2,)], [1]),)  # s ↦ H(1 − 2s) (L2712)
OR3: Network = (neurons([(1, 1, 1)], [-1]),)  # x OU y OU z (L2476, fig. 36)
AND3: Network = (neurons([(1, 1, 1)], [-3]),)  # x ET y ET z: the exercise of L2481
# x OUex y = (x ET non y) OU (non x ET y) (L2622–2638): H(x − y − 1), H(−x + y − 1), then OR.
XOR_NETWORK: Network = (neurons([(1, -1), (-1, 1)], [-1, -1]), neurons([(1, 1)], [-1]))


def truth_table(network: Sequence[Layer]) -> dict[tuple[int, ...], int]:
    """The network's output (rounded to an int) at every vertex of {0, 1}ⁿ."""
    n = network[0].n_inputs
    pts = list(itertools.product((0, 1), repeat=n))
    out = apply_network(network, jnp.asarray(pts, dtype=jnp.result_type(float)))
    return {p: int(round(float(v))) for p, v in zip(pts, out[:, 0], strict=True)}


class XorInequalities(NamedTuple):
    """The four conditions an affine perceptron (a, b, c) must meet to realise XOR (L2419–2433)."""

    one_zero: bool  # (1): a + c ≥ 0, so that F(1, 0) = 1
    zero_one: bool  # (2): b + c ≥ 0, F(0, 1) = 1
    zero_zero: bool  # (3): c < 0, F(0, 0) = 0
    one_one: bool  # (4): a + b + c < 0, F(1, 1) = 0

    @property
    def all_hold(self) -> bool:
        return self.one_zero and self.zero_one and self.zero_zero and self.one_one


def xor_inequalities(a: float, b: float, c: float) -> XorInequalities:
    """Which of Proposition 1's inequalities the perceptron H(ax + by + c) satisfies.

    Proposition 1 (L2411–2439): they never all hold — (1) + (2) gives a + b + 2c ≥ 0, and with
    −c > 0 from (3), a + b + c > 0, contradicting (4). ``xor_inequalities(a, b, c).all_hold`` is
    False for every (a, b, c) (a property test checks it; :func:`separating_perceptron` proves
    it by linear programming too).
    """
    a, b, c = float(a), float(b), float(c)
    return XorInequalities(a + c >= 0, b + c >= 0, c < 0, a + b + c < 0)


def separating_perceptron(a_points: ArrayLike, b_points: ArrayLike) -> tuple[np.ndarray, float] | None:
    """Coefficients and bias of an affine perceptron with F = 1 on A and F = 0 on B, or None when
    A and B are not linearly separable (Proposition 2, L2455–2470).

    Solves the linear program  w·a + c ≥ 1 (a ∈ A), w·b + c ≤ −1 (b ∈ B): for finite sets it is
    feasible exactly when some hyperplane separates them (shift and scale any separating one),
    and the margin keeps H's decision away from round-off. Infeasibility is a proof that no
    perceptron exists (XOR: Proposition 1).
    """
    from scipy.optimize import linprog

    a_pts = np.atleast_2d(np.asarray(a_points, dtype=np.float64))
    b_pts = np.atleast_2d(np.asarray(b_points, dtype=np.float64))
    if a_pts.size == 0 or b_pts.size == 0 or a_pts.shape[1] != b_pts.shape[1]:
        raise ValueError(
            f"A and B must be non-empty lists of points of the same dimension, got shapes {a_pts.shape} and {b_pts.shape}"
        )
    n = a_pts.shape[1]
    # Variables (w₁, …, wₙ, c); constraints written as G v ≤ h.
    g = np.vstack([-np.hstack([a_pts, np.ones((len(a_pts), 1))]), np.hstack([b_pts, np.ones((len(b_pts), 1))])])
    h = -np.ones(len(g))
    res = linprog(np.zeros(n + 1), A_ub=g, b_ub=h, bounds=[(None, None)] * (n + 1), method="highs")
    if res.status == 2:  # infeasible
        return None
    if res.status != 0:
        raise RuntimeError(f"the linear program did not finish: {res.message}")
    return res.x[:n], float(res.x[n])


# ---------------------------------------------------------------------------------------------
# The chapter's worked neurons and networks
# ---------------------------------------------------------------------------------------------


def line_through(p: Sequence[float], q: Sequence[float]) -> tuple[float, float]:
    """Slope and intercept (m, k) of the line y = mx + k through p and q (L2341)."""
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        raise ValueError(f"the line through {p} and {q} is vertical: it has no equation y = mx + k")
    m = (y2 - y1) / (x2 - x1)
    return m, y1 - m * x1


def plane_through(p: Sequence[float], q: Sequence[float], r: Sequence[float]) -> tuple[np.ndarray, float]:
    """Coefficients (a, b, c) and constant d of the plane ax + by + cz + d = 0 through p, q, r,
    scaled so that d = −1 when the plane misses the origin (L2375: 2x − 2y − 2z − 1 = 0)."""
    p, q, r = (np.asarray(v, dtype=np.float64) for v in (p, q, r))
    normal = np.cross(q - p, r - p)
    if np.allclose(normal, 0):
        raise ValueError(f"the points {p}, {q}, {r} are aligned: they do not define a plane")
    d = -float(normal @ p)
    scale = -d if abs(d) > 1e-12 else float(np.max(np.abs(normal)))
    return normal / scale, d / scale


# Perceptron a = 2, b = 3 (L2217) and the separation of rounds and squares by 4x − y = 0 (L2270);
# the points are in the book's figure (tikz fig_neurones_13): rounds F = 0, squares F = 1.
FIRST_PERCEPTRON = (2.0, 3.0)
ROUNDS_13 = ((0.3, 3), (-1, 2), (-3, -3), (-3.2, 0.6), (-1, -1))
SQUARES_13 = ((1, 2), (3, -1), (1.5, -2.5), (0, -3), (2.2, 3.3))
SEPARATING_13 = (4.0, -1.0)
# The exercise of L2313: find an affine perceptron for these (tikz fig_neurones_18).
ROUNDS_18 = ((3.7, -0.2), (3, 1), (1.5, 1.5), (-1, 3), (2.2, 3.3), (0.3, 3.5))
SQUARES_18 = ((1, -1), (3, -1.5), (-1.5, -2.5), (0, -3), (-2.8, 3), (-3, 0.5), (0, 1))

# Height/weight neuron (L2330–2362): the line through A(1.40, 42), B(2.00, 93) is y = 85x − 77, so
# σ(85 t − p − 77): F(1.77, 75) = σ(−1.55) ≈ 0.17 (a man), F(1.67, 64) ≈ 0.72 (a woman).
HEIGHT_WEIGHT_A = (1.40, 42.0)
HEIGHT_WEIGHT_B = (2.00, 93.0)
HEIGHT_WEIGHT_NEURON: Network = (neurons([(85, -1)], [-77], "sigmoid"),)

# Two ReLU neurons (2, −1), (−3, 2) then H(4 s₁ + 5 s₂ − 1) (L2517–2529, fig_neurones_40):
# F(4, 7) = 1, F(3, 2) = 1, F(1/10, 1/10) = 0.
RELU_H_NETWORK: Network = (neurons([(2, -1), (-3, 2)], activation="relu"), neurons([(4, 5)], [-1]))

# The exercise of L2541–2552 (fig_neurones_45): inputs (x, y, z), ReLU everywhere, no biases.
EXERCISE_NETWORK: Network = (
    neurons([(1, -2, 3), (2, -4, 1)], activation="relu"),
    neurons([(1, -2), (2, 1)], activation="relu"),
)
