"""Learning the weights of the book's networks — chapter 9 *Rétropropagation* (Backpropagation,
book lines 4918–5434).

Backpropagation is gradient descent on the error E = (1/N) Σ E_i, E_i = (F(X_i) − z_i)², as a
function of the weights P (L4940–4994; note the mean, where chapter 8 used a sum), with
∂E_i/∂a_j = 2 ∂F/∂a_j(X_i)·(F(X_i) − z_i) (L5006–5008). The chapter's networks and data:

- the error: :func:`deepmath_jax.probability.losses.mean_squared_error` (available here as
  ``learning.mean_squared_error``);
- :func:`logistic_neuron` F(x, y) = σ(ax + by + c) and the book's hand gradient of its error
  (:func:`logistic_error_grad`, L5020–5030, tested against ``jax.grad``); F = ½ exactly on the
  line ax + by + c = 0 (L5072–5098);
- :func:`xor_network` (2 → 2 σ → 1 σ, 9 weights in the book's order, L5103–5164) and
  :func:`step_network` (1 → 2 σ → 1 σ, 7 weights, L5215–5252); the same networks for the
  engines of chapter 7 — DAGs of neurons (:func:`xor_smile_network`, :func:`step_smile_network`)
  whose grad E by the *formule du sourire* is :func:`error_gradient`, and dense layers
  (:func:`xor_layers`, :func:`step_layers`) for the hand-written backpropagation of
  :mod:`deepmath_jax.autodiff.backprop`;
- ReLU networks of any widths (:func:`mlp_init`, :func:`mlp_apply`, ReLU on every layer
  including the output, as in the book's Keras scripts) with :func:`parameter_count`, and
  :func:`train_mlp` (mini-batches with ``jax.grad`` + optax, :mod:`deepmath_jax.optim.descent`);
- the data: :func:`lemniscate_zones` (L5254–5288) and :func:`three_black_cells` (L5290–5333);
- :func:`relu_neuron_error`, the one-weight ReLU neuron whose error has a local minimum that is
  not global (L5358–5392).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.autodiff import smile
from deepmath_jax.optim import descent
from deepmath_jax.calculus.activations import relu, sigmoid
from deepmath_jax.probability.losses import mean_squared_error  # E = (1/N) Σ (F(X_i) − z_i)², L4988–4994

# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _points(x: ArrayLike, n_inputs: int) -> Array:
    x = jnp.asarray(x)
    if x.ndim == 0 or x.shape[-1] != n_inputs:
        raise ValueError(f"the inputs must have a last axis of size {n_inputs}, got shape {x.shape}")
    return x


def _weights(weights: ArrayLike, size: int, what: str) -> Array:
    weights = jnp.asarray(weights)
    if weights.shape != (size,):
        raise ValueError(f"{what} has {size} weights, got an array of shape {weights.shape}")
    return weights


# --------------------------------------------------------------------------------------------
# One logistic neuron (L4957–5098)
# --------------------------------------------------------------------------------------------


def logistic_neuron(weights: ArrayLike, xy: ArrayLike) -> Array:
    """F(x, y) = σ(ax + by + c) with P = (a, b, c) (L4979); ``xy`` (…, 2)."""
    a, b, c = _weights(weights, 3, "the logistic neuron")
    xy = _points(xy, 2)
    return sigmoid(a * xy[..., 0] + b * xy[..., 1] + c)


def logistic_error(weights: ArrayLike, xy: ArrayLike, z: ArrayLike) -> Array:
    """E(a, b, c) = (1/N) Σ (σ(ax_i + by_i + c) − z_i)² (L4996–5002)."""
    return mean_squared_error(jnp.asarray(z), logistic_neuron(weights, xy))


def logistic_error_grad(weights: ArrayLike, xy: ArrayLike, z: ArrayLike) -> Array:
    """grad E by the book's formulas (L5020–5030): with σ_i = σ(ax_i + by_i + c),
    ∂E_i/∂a = 2x_iσ_i(1 − σ_i)(σ_i − z_i), ∂E_i/∂b = 2y_iσ_i(1 − σ_i)(σ_i − z_i),
    ∂E_i/∂c = 2σ_i(1 − σ_i)(σ_i − z_i); grad E = (1/N) Σ grad E_i."""
    xy = _points(xy, 2)
    s = logistic_neuron(weights, xy)
    common = 2 * s * (1 - s) * (s - jnp.asarray(z))
    return jnp.stack([jnp.mean(xy[..., 0] * common), jnp.mean(xy[..., 1] * common), jnp.mean(common)])


# --------------------------------------------------------------------------------------------
# The two small sigmoid networks (L5103–5252)
# --------------------------------------------------------------------------------------------


def xor_network(weights: ArrayLike, xy: ArrayLike) -> Array:
    """The XOR network of §2.1 (L5103–5164): 2 inputs → 2 σ neurons → 1 σ neuron, with the
    9 weights in the book's order (a1, b1, c1, a2, b2, c2, a3, b3, c3):
    F = σ(a3·σ(a1x + b1y + c1) + b3·σ(a2x + b2y + c2) + c3)."""
    a1, b1, c1, a2, b2, c2, a3, b3, c3 = _weights(weights, 9, "the XOR network")
    xy = _points(xy, 2)
    x, y = xy[..., 0], xy[..., 1]
    h1 = sigmoid(a1 * x + b1 * y + c1)
    h2 = sigmoid(a2 * x + b2 * y + c2)
    return sigmoid(a3 * h1 + b3 * h2 + c3)


def step_network(weights: ArrayLike, x: ArrayLike) -> Array:
    """The step-function network of §2.3 (L5215–5252): 1 input → 2 σ neurons → 1 σ neuron,
    7 weights in the book's order (a1, b1, a2, b2, a3, b3, c3):
    F(x) = σ(a3·σ(a1x + b1) + b3·σ(a2x + b2) + c3)."""
    a1, b1, a2, b2, a3, b3, c3 = _weights(weights, 7, "the step network")
    x = jnp.asarray(x)
    return sigmoid(a3 * sigmoid(a1 * x + b1) + b3 * sigmoid(a2 * x + b2) + c3)


# --------------------------------------------------------------------------------------------
# The same two networks for the engines of chapter 7: smile DAGs and dense layers
# --------------------------------------------------------------------------------------------

#: The book's order of the weights (L5113, L5225), the names of the smile networks' variables.
XOR_WEIGHTS = ("a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3")
STEP_WEIGHTS = ("a1", "b1", "a2", "b2", "a3", "b3", "c3")


def xor_smile_network() -> smile.Network:
    """:func:`xor_network` as a DAG of neurons for :mod:`deepmath_jax.autodiff.smile`: inputs x, y;
    σ neurons g1 (weights a1, b1, bias c1), g2 (a2, b2, bias c2) and F (a3 from g1, b3 from g2,
    bias c3)."""
    return smile.Network(
        ["x", "y"], [("g1", "sigmoid", "c1"), ("g2", "sigmoid", "c2"), ("F", "sigmoid", "c3")],
        [("x", "g1", "a1"), ("y", "g1", "b1"), ("x", "g2", "a2"), ("y", "g2", "b2"), ("g1", "F", "a3"),
         ("g2", "F", "b3")])


def step_smile_network() -> smile.Network:
    """:func:`step_network` as a DAG of neurons: input x; σ neurons g1 (a1, bias b1), g2 (a2, bias
    b2) and F (a3 from g1, b3 from g2, bias c3)."""
    return smile.Network(
        ["x"], [("g1", "sigmoid", "b1"), ("g2", "sigmoid", "b2"), ("F", "sigmoid", "c3")],
        [("x", "g1", "a1"), ("x", "g2", "a2"), ("g1", "F", "a3"), ("g2", "F", "b3")])


def xor_layers(weights: ArrayLike) -> list[dict[str, Array]]:
    """The XOR weights in the book's order as the dense layers of :mod:`deepmath_jax.autodiff.backprop`:
    W₁ = [[a1, a2], [b1, b2]], b₁ = (c1, c2); W₂ = [[a3], [b3]], b₂ = (c3) (activations σ, σ)."""
    a1, b1, c1, a2, b2, c2, a3, b3, c3 = _weights(weights, 9, "the XOR network")
    return [{"W": jnp.stack([jnp.stack([a1, a2]), jnp.stack([b1, b2])]), "b": jnp.stack([c1, c2])},
            {"W": jnp.stack([a3, b3])[:, None], "b": c3[None]}]


def xor_weights(layers: Sequence[Mapping[str, ArrayLike]]) -> Array:
    """Inverse of :func:`xor_layers`: the 9 weights in the book's order."""
    (W1, b1), (W2, b2) = ((jnp.asarray(layer["W"]), jnp.asarray(layer["b"])) for layer in layers)
    if W1.shape != (2, 2) or b1.shape != (2,) or W2.shape != (2, 1) or b2.shape != (1,):
        raise ValueError(f"the XOR network has layers W (2, 2), b (2,), W (2, 1), b (1,); got {W1.shape}, "
                         f"{b1.shape}, {W2.shape}, {b2.shape}")
    return jnp.stack([W1[0, 0], W1[1, 0], b1[0], W1[0, 1], W1[1, 1], b1[1], W2[0, 0], W2[1, 0], b2[0]])


def step_layers(weights: ArrayLike) -> list[dict[str, Array]]:
    """The step-network weights in the book's order as dense layers: W₁ = [[a1, a2]],
    b₁ = (b1, b2); W₂ = [[a3], [b3]], b₂ = (c3) (activations σ, σ)."""
    a1, b1, a2, b2, a3, b3, c3 = _weights(weights, 7, "the step network")
    return [{"W": jnp.stack([a1, a2])[None, :], "b": jnp.stack([b1, b2])},
            {"W": jnp.stack([a3, b3])[:, None], "b": c3[None]}]


def step_weights(layers: Sequence[Mapping[str, ArrayLike]]) -> Array:
    """Inverse of :func:`step_layers`: the 7 weights in the book's order."""
    (W1, b1), (W2, b2) = ((jnp.asarray(layer["W"]), jnp.asarray(layer["b"])) for layer in layers)
    if W1.shape != (1, 2) or b1.shape != (2,) or W2.shape != (2, 1) or b2.shape != (1,):
        raise ValueError(f"the step network has layers W (1, 2), b (2,), W (2, 1), b (1,); got {W1.shape}, "
                         f"{b1.shape}, {W2.shape}, {b2.shape}")
    return jnp.stack([W1[0, 0], b1[0], W1[0, 1], b1[1], W2[0, 0], W2[1, 0], b2[0]])


def error_gradient(
    net: smile.Network,
    points: Sequence[Mapping[str, float]],
    targets: Sequence[float],
    params: Mapping[str, float],
    method: Callable[..., smile.Partials] = smile.smile_partials,
) -> tuple[Array, dict[str, Array]]:
    """E = (1/N) Σᵢ (F(Xᵢ) − zᵢ)² and grad E = (1/N) Σᵢ grad Eᵢ with ∂Eᵢ/∂aⱼ = 2 ∂F/∂aⱼ(Xᵢ)(F(Xᵢ) − zᵢ)
    (L5002–5008), the ∂F/∂aⱼ(Xᵢ) of each point by ``method`` — :func:`~deepmath_jax.autodiff.smile.smile_partials`
    (the *formule du sourire*, chapter 7), :func:`~deepmath_jax.autodiff.smile.recursion_partials` or
    :func:`~deepmath_jax.autodiff.smile.jax_partials`. Returns (E, {weight name: ∂E/∂weight}).

    The smile formula is only asked for the weights here: an input equal to 0 (XOR's (0, 0))
    makes its ∂F/∂x undefined (L3981), which grad E does not need, so the smile method runs with
    ``fallback=True`` and the weights' partials are the book's formulas wherever g_* ≠ 0.
    """
    if len(points) != len(targets) or not points:
        raise ValueError(f"error_gradient needs as many targets as points (≥ 1), got {len(points)} and {len(targets)}")
    kwargs = {"fallback": True} if method is smile.smile_partials else {}
    total_e, total_g = 0.0, dict.fromkeys(net.params, 0.0)
    for x, z in zip(points, targets, strict=True):
        part = method(net, x, params, **kwargs)
        e, g = smile.error_partials(part, z)
        total_e = total_e + e
        for k in net.params:
            total_g[k] = total_g[k] + g[k]
    n = len(points)
    return total_e / n, {k: v / n for k, v in total_g.items()}


# --------------------------------------------------------------------------------------------
# ReLU networks (L5254–5333)
# --------------------------------------------------------------------------------------------

Params = list[tuple[Array, Array]]


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"layer sizes must be ≥ 2 positive integers (inputs, …, outputs), got {sizes}")
    return [int(s) for s in sizes]


def mlp_init(key: Array, sizes: Sequence[int], dtype=jnp.float32) -> Params:
    """Random weights of a dense network with layer sizes ``(n_in, p1, …, n_out)``, as Keras
    initialises them: Glorot-uniform kernels (n_in, n_out) (U(±√(6/(fan_in + fan_out)))) and
    zero biases."""
    sizes = _check_sizes(sizes)
    init = jax.nn.initializers.glorot_uniform()
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (init(k, (m, n), dtype), jnp.zeros((n,), dtype))
        for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_apply(params: Params, x: ArrayLike) -> Array:
    """F(X) of a dense network with ReLU on every layer, the output included (the book's
    Keras scripts for the lemniscate and the cells): h ← ReLU(h @ W + b). ``x`` (…, n_in)."""
    h = jnp.asarray(x)
    n_in = params[0][0].shape[0]
    if h.ndim == 0 or h.shape[-1] != n_in:
        raise ValueError(f"the network has {n_in} inputs, got inputs of shape {h.shape}")
    for w, b in params:
        h = h @ w
        h = relu(h + b.reshape((1,) * (h.ndim - 1) + b.shape))  # explicit broadcast over the batch
    return h


def parameter_count(sizes: Sequence[int]) -> int:
    """Number of weights (coefficients and biases) of a dense network: Σ (n_in + 1)·n_out —
    the "poids" of the book's tables (L5324–5331) and captions (lemniscate)."""
    sizes = _check_sizes(sizes)
    return sum((m + 1) * n for m, n in zip(sizes[:-1], sizes[1:], strict=True))


def neuron_count(sizes: Sequence[int]) -> int:
    """Number of neurons (every layer except the inputs)."""
    return sum(_check_sizes(sizes)[1:])


def _mlp_example_loss(params: Params, example: tuple[Array, Array]) -> Array:
    x, z = example
    return (mlp_apply(params, x)[0] - z) ** 2


def train_mlp(
    params0: Params,
    x: ArrayLike,
    z: ArrayLike,
    tx: optax.GradientTransformation,
    *,
    batch_size: int,
    epochs: int,
    key: Array | None,
) -> descent.History:
    """Train a ReLU network on E = (1/N) Σ (F(X_i) − z_i)² (Keras's 'mean_squared_error') by
    mini-batches (``jax.grad`` + the optax optimizer ``tx``), shuffling before each epoch with
    ``key`` as Keras's ``fit`` does. Returns the :class:`~deepmath_jax.optim.descent.History` with the
    batch errors (``track="batch"``); the last entry is the whole data's error."""
    x, z = jnp.asarray(x), jnp.asarray(z)
    if x.ndim != 2 or z.shape != (x.shape[0],):
        raise ValueError(f"train_mlp needs inputs (N, n) and targets (N,), got {x.shape} and {z.shape}")
    return descent.descend_minibatch(
        _mlp_example_loss,
        params0,
        (x, z),
        tx,
        batch_size,
        epochs,
        key=key,
        reduction="mean",
        track="batch",
    )


def keras_adam(learning_rate: float = 1e-3) -> optax.GradientTransformation:
    """Keras's ``'adam'``: learning rate 0.001, β1 = 0.9, β2 = 0.999 and ε = 10⁻⁷ (optax's
    default ε is 10⁻⁸)."""
    return optax.adam(learning_rate, b1=0.9, b2=0.999, eps=1e-7)


# --------------------------------------------------------------------------------------------
# Data of §2.4 and §2.5
# --------------------------------------------------------------------------------------------

LEMNISCATE_RECTANGLE = (-2.05, 2.05, -0.75, 1.05)  # the Keras script's rectangle (retro_05.py)


def lemniscate_ellipse(x: ArrayLike, y: ArrayLike) -> Array:
    """f(x, y) = ((x² + y²)² − 4(x² − y²))·((x − ½)² + 4(y − ⅓)² − 2) (L5268–5272): the product
    of Bernoulli's lemniscate and the ellipse; the red zone is f ≤ 0."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    r2 = x * x + y * y
    return (r2 * r2 - 4 * (x * x - y * y)) * ((x - 0.5) ** 2 + 4 * (y - 1 / 3) ** 2 - 2)


def lemniscate_zones(n: int, rectangle: tuple[float, float, float, float] = LEMNISCATE_RECTANGLE) -> tuple[Array, Array]:
    """The n × n grid of the rectangle (L5276–5280) as inputs (n², 2) and labels z (n²,),
    z = 1 (red) where f ≤ 0, 0 (blue) elsewhere; rows of the grid are y, columns x."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"the grid needs n ≥ 2 points per side, got {n!r}")
    xmin, xmax, ymin, ymax = rectangle
    gx, gy = jnp.meshgrid(jnp.linspace(xmin, xmax, n), jnp.linspace(ymin, ymax, n))
    z = (lemniscate_ellipse(gx, gy) <= 0).astype(gx.dtype)
    return jnp.stack([gx.ravel(), gy.ravel()], axis=1), z.ravel()


def three_black_cells(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every configuration of 3 black cells among n (L5290–5305): inputs X ∈ {0, 1}ⁿ, shape
    (C(n, 3), n), in lexicographic order of (i < j < k), and heights h = k − i + 1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"three black cells need n ≥ 3 cells, got {n!r}")
    triples = np.array(list(itertools.combinations(range(n), 3)), dtype=np.int64)
    x = np.zeros((len(triples), n), dtype=np.float32)
    np.put_along_axis(x, triples, 1.0, axis=1)
    heights = (triples[:, 2] - triples[:, 0] + 1).astype(np.float32)
    assert len(x) == math.comb(n, 3)
    return x, heights


def rounded_accuracy(f_values: ArrayLike, z: ArrayLike) -> Array:
    """Share of examples whose rounded output round(F(X)) equals z (L5313–5316)."""
    f_values, z = jnp.asarray(f_values), jnp.asarray(z)
    if f_values.shape != z.shape:
        raise ValueError(f"outputs {f_values.shape} and targets {z.shape} differ in shape")
    return jnp.mean(jnp.round(f_values) == z)


def threshold_accuracy(f_values: ArrayLike, z: ArrayLike) -> Array:
    """Share of points classified right by F ≥ ½ → 1 (red), F < ½ → 0 (blue) (L5284)."""
    f_values, z = jnp.asarray(f_values), jnp.asarray(z)
    if f_values.shape != z.shape:
        raise ValueError(f"outputs {f_values.shape} and targets {z.shape} differ in shape")
    return jnp.mean((f_values >= 0.5) == (z == 1))


# --------------------------------------------------------------------------------------------
# A local minimum that is not global (L5358–5392)
# --------------------------------------------------------------------------------------------

RELU_NEURON_DATA = ((-2.0, 1.0), (-1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (3.0, 2.0))  # L5372


def relu_neuron_error(a: ArrayLike, data: Sequence[tuple[float, float]] = RELU_NEURON_DATA) -> Array:
    """E(a) = Σ (ReLU(a x_i − 1) − y_i)² for the neuron F(x) = ReLU(ax − 1) whose bias is fixed
    to −1 (L5362–5380): local minima at a = −1 (E = 4) and a = +1 (E = 1, global), and E ≡ 5 on
    [−½, ⅓] where every ReLU is off."""
    a = jnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    xs = jnp.asarray([p[0] for p in data], dtype=a.dtype)
    ys = jnp.asarray([p[1] for p in data], dtype=xs.dtype)
    shape = (1,) * a.ndim + xs.shape  # explicit broadcast: a (…) against the 5 data points
    values = relu(a[..., None] * xs.reshape(shape) - 1) - ys.reshape(shape)
    return jnp.sum(values * values, axis=-1)
