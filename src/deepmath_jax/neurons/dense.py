"""Dense networks with hand-set weights in Flax NNX — chapter 6 *Python : tensorflow avec keras,
partie 1* (Python: TensorFlow with Keras, part 1; book lines 2909–3379).

The book builds ``Sequential([Input(shape=(n,)), Dense(p, activation), …])`` models in Keras and
sets their weights by hand, with ``set_weights`` and then with its own helper module
``keras_facile`` (L3150–3224). Here the model is a Flax NNX module, :class:`DenseNetwork`, and
the helper's functions are:

=============================  ======================================================
keras_facile (book)            here
=============================  ======================================================
``definir_poids``              :func:`set_neuron` (one neuron's coefficients and bias)
``poids_a_zeros``              :func:`zero_layer`
``affiche_poids``              :func:`describe_layer` (the text it prints)
``get_weights``/``set_weights``  :func:`layer_weights` / :func:`set_layer_weights`
``evaluation``                 :func:`evaluate` (and :func:`predict` for a batch)
``affichage_evaluation_*``     :func:`plot_one_var`, :func:`plot_two_var_3d`,
                               :func:`plot_two_var_2d`, :func:`plot_three_var`
``affichage_approximation``    :func:`plot_approximation`
``calcul_approximation``       :func:`set_step_approximation`
=============================  ======================================================

Weight layout (L2992–3041, L3096–3114): a layer's kernel has shape (n_inputs, n_neurons) —
the book says the weights are given "par entrée": row i holds input i's weight for every neuron —
so neuron ``rank`` is column ``rank``; the output is φ(x @ W + b). This is the layout of both
Keras and ``nnx.Linear``. The hand-written forward pass of the same network is
:func:`deepmath_jax.neurons.perceptron.apply_network` (:func:`to_layers` converts; tests check they agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import get_activation
from deepmath_jax.neurons.perceptron import Layer, Network
from deepmath_jax.neurons.universal import step_approximation

# Keras names the identity 'linear'.
_ALIASES = {"linear": "identity"}


def _activation_name(activation: str) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"an activation is given by name ('relu', 'sigmoid', 'heaviside', 'linear', …), got {activation!r}")
    name = _ALIASES.get(activation, activation)
    get_activation(name)  # ValueError listing the known names
    return name


class DenseNetwork(nnx.Module):
    """A stack of dense layers, each with one activation — the book's ``Sequential`` model.

    Args:
      n_inputs: the input dimension (the book's ``Input(shape=(n,))``).
      layers: ``[(n_neurons, activation), …]``, e.g. ``[(2, "relu"), (1, "relu")]``; activations
        by name: "relu", "sigmoid", "tanh", "heaviside", "linear"/"identity", …
      rngs: the random initialisation (Keras' default, Glorot-uniform kernel and zero bias);
        the book overwrites it by hand.
      param_dtype: float32 as in Keras; float64 needs ``jax_enable_x64``.
    """

    def __init__(
        self,
        n_inputs: int,
        layers: Sequence[tuple[int, str]],
        *,
        rngs: nnx.Rngs,
        param_dtype=jnp.float32,
    ) -> None:
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
            raise ValueError(f"n_inputs must be an integer ≥ 1, got {n_inputs!r}")
        if not layers:
            raise ValueError("a DenseNetwork needs at least one layer: [(n_neurons, activation), …]")
        sizes, acts = [n_inputs], []
        for k, spec in enumerate(layers):
            if len(spec) != 2:
                raise ValueError(f"layer {k} must be (n_neurons, activation), got {spec!r}")
            n, act = spec
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"layer {k}: the number of neurons must be an integer ≥ 1, got {n!r}")
            sizes.append(n)
            acts.append(_activation_name(act))
        self.n_inputs = n_inputs
        self.activations = tuple(acts)
        self.layers = nnx.List(
            [
                nnx.Linear(i, o, kernel_init=nnx.initializers.glorot_uniform(), param_dtype=param_dtype, rngs=rngs)
                for i, o in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )

    def __call__(self, x: Array) -> Array:
        """F(x) for x of shape (..., n_inputs): each layer computes φ(x @ W + b)."""
        for linear, act in zip(self.layers, self.activations, strict=True):
            x = get_activation(act).fn(linear(x))
        return x

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].kernel.shape[1])


def from_layers(network: Sequence[Layer], *, rngs: nnx.Rngs | None = None, param_dtype=jnp.float32) -> DenseNetwork:
    """A :class:`DenseNetwork` with the weights of a hand-written network (:mod:`perceptron`)."""
    if not network:
        raise ValueError("a network needs at least one layer")
    model = DenseNetwork(
        network[0].n_inputs,
        [(layer.n_neurons, layer.activation) for layer in network],
        rngs=rngs or nnx.Rngs(0),
        param_dtype=param_dtype,
    )
    for k, layer in enumerate(network):
        set_layer_weights(model, k, layer.kernel, layer.bias)
    return model


def to_layers(model: DenseNetwork) -> Network:
    """The model's weights as hand-written :class:`deepmath_jax.neurons.perceptron.Layer` s."""
    return tuple(
        Layer(linear.kernel[...], linear.bias[...], act)
        for linear, act in zip(model.layers, model.activations, strict=True)
    )


def _linear(model: DenseNetwork, layer: int) -> nnx.Linear:
    if not isinstance(model, DenseNetwork):
        raise TypeError(f"expected a DenseNetwork, got {type(model).__name__}")
    n = len(model.layers)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n:
        raise ValueError(f"the model has {n} layers (numbered 0 to {n - 1}), got layer {layer!r}")
    return model.layers[layer]


def layer_weights(model: DenseNetwork, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """``[coefficients, biases]`` of a layer, as Keras' ``get_weights()`` (L3030–3041): kernel
    (n_inputs, n_neurons) and bias (n_neurons,)."""
    lin = _linear(model, layer)
    return np.asarray(lin.kernel[...]), np.asarray(lin.bias[...])


def set_layer_weights(model: DenseNetwork, layer: int, kernel: ArrayLike, bias: ArrayLike) -> None:
    """Keras' ``set_weights([coeff, biais])`` (L2997–3025): kernel given *by input*, shape
    (n_inputs, n_neurons), and one bias per neuron."""
    lin = _linear(model, layer)
    shape = tuple(lin.kernel.shape)
    k = jnp.asarray(kernel, dtype=lin.kernel[...].dtype)
    b = jnp.asarray(bias, dtype=lin.bias[...].dtype)
    if k.shape != shape:
        raise ValueError(
            f"layer {layer}: the coefficients must have shape (n_inputs, n_neurons) = {shape} "
            f"(row i = input i's weight for each neuron), got {k.shape}"
        )
    if b.shape != (shape[1],):
        raise ValueError(f"layer {layer}: one bias per neuron, shape ({shape[1]},), got {b.shape}")
    lin.kernel[...] = k
    lin.bias[...] = b


def set_neuron(model: DenseNetwork, layer: int, rank: int, coefficients: ArrayLike, bias: float) -> None:
    """The book's ``definir_poids(modele, couche, rang, coeff, biais)`` (L3160–3200): set the
    coefficients (one number per input: a number, a list or an array) and the bias of neuron
    ``rank`` of ``layer`` — column ``rank`` of the kernel — leaving the other neurons as they are.

    Raises:
      ValueError: an unknown layer, a rank outside 0..n_neurons − 1, or a number of coefficients
        that is not the layer's number of inputs.
    """
    lin = _linear(model, layer)
    n_in, n_out = lin.kernel.shape
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < n_out:
        raise ValueError(f"layer {layer} has {n_out} neurons (ranks 0 to {n_out - 1}), got rank {rank!r}")
    c = jnp.atleast_1d(jnp.asarray(coefficients, dtype=lin.kernel[...].dtype))
    if c.shape != (n_in,):
        raise ValueError(
            f"the neurons of layer {layer} have {n_in} inputs, so they need {n_in} coefficients; "
            f"got {c.size} (shape {c.shape})"
        )
    b = jnp.asarray(bias, dtype=lin.bias[...].dtype)
    if b.shape != ():
        raise ValueError(f"a neuron has one bias (a number), got shape {b.shape}")
    lin.kernel[...] = lin.kernel[...].at[:, rank].set(c)
    lin.bias[...] = lin.bias[...].at[rank].set(b)


def zero_layer(model: DenseNetwork, layer: int) -> None:
    """``poids_a_zeros``: every coefficient and bias of the layer set to 0."""
    lin = _linear(model, layer)
    lin.kernel[...] = jnp.zeros_like(lin.kernel[...])
    lin.bias[...] = jnp.zeros_like(lin.bias[...])


def describe_layer(model: DenseNetwork, layer: int) -> str:
    """The text the book's ``affiche_poids`` prints: number of neurons and inputs, then each
    neuron's coefficients (its kernel column) and bias."""
    kernel, bias = layer_weights(model, layer)
    n_in, n_out = kernel.shape
    lines = [
        f"===== Layer {layer} ({model.activations[layer]}) =====",
        f"Neurons: {n_out}",
        f"Inputs per neuron: {n_in}",
        f"Weights per neuron: {n_in + 1}",
    ]
    for j in range(n_out):
        lines.append(f"    --- Neuron {j} --- coefficients {kernel[:, j].tolist()}  bias {float(bias[j])}")
    return "\n".join(lines)


def _inputs(model: DenseNetwork, x: ArrayLike) -> Array:
    dtype = model.layers[0].kernel[...].dtype
    x = jnp.asarray(x, dtype=dtype)
    if x.ndim == 1 and model.n_inputs == 1 and x.shape[0] != 1:
        x = x[:, None]  # a vector of one-variable inputs
    if x.ndim not in (1, 2) or x.shape[-1] != model.n_inputs:
        raise ValueError(
            f"the model takes {model.n_inputs} input(s): give x of shape ({model.n_inputs},) or "
            f"(batch, {model.n_inputs}), got {x.shape}"
        )
    return x


@nnx.jit
def _forward(model: DenseNetwork, x: Array) -> Array:
    return model(x)


def predict(model: DenseNetwork, x: ArrayLike) -> Array:
    """Keras' ``predict`` (L3044–3052): outputs (batch, n_outputs) for inputs (batch, n_inputs)
    (a 1-D vector is one point, or a batch of points for a one-input model)."""
    x = _inputs(model, x)
    out = _forward(model, x[None, :] if x.ndim == 1 else x)
    return out


def evaluate(model: DenseNetwork, *inputs: ArrayLike, rank: int = 0) -> float:
    """The book's ``evaluation(modele, entree)`` (L3166–3200): F at one point, given as numbers
    (``evaluate(m, 3)``, ``evaluate(m, 2, 3, 4)``) or one list (``evaluate(m, [2.0, 1.0])``);
    returns output neuron ``rank``."""
    if len(inputs) == 1:
        point = jnp.atleast_1d(jnp.asarray(inputs[0]))
    else:
        point = jnp.asarray(inputs)
    if point.shape != (model.n_inputs,):
        raise ValueError(f"the model takes {model.n_inputs} input(s), got {point.size}: {np.asarray(point).tolist()}")
    out = predict(model, point)[0]
    if not 0 <= rank < out.shape[0]:
        raise ValueError(f"the model has {out.shape[0]} outputs, got rank {rank}")
    return float(out[rank])


# ---------------------------------------------------------------------------------------------
# The universal approximation (calcul_approximation)
# ---------------------------------------------------------------------------------------------


def set_step_approximation(model: DenseNetwork, f: Callable[[Array], ArrayLike], a: float, b: float, n: int) -> None:
    """The book's ``calcul_approximation(modele, f, a, b, n)`` (L3252–3285): on a model
    Dense(2n, heaviside) + Dense(1, linear) with one input, set neuron 2i to H(x/xᵢ − 1) and
    neuron 2i + 1 to H(−x/xᵢ₊₁ + 1), and the output to Σ f(xᵢ)(s₂ᵢ + s₂ᵢ₊₁) − Σ f(xᵢ), so that
    F = f(xᵢ) on (xᵢ, xᵢ₊₁) (see :func:`deepmath_jax.neurons.universal.step_approximation`).

    Raises:
      ValueError: for a model of another shape, or a ≤ 0 (the construction divides by xᵢ).
    """
    want = [(2 * n, "heaviside"), (1, "identity")]
    have = [(int(lin.kernel.shape[1]), act) for lin, act in zip(model.layers, model.activations, strict=True)]
    if model.n_inputs != 1 or have != want:
        raise ValueError(
            f"calcul_approximation needs 1 input, Dense({2 * n}, heaviside) and Dense(1, linear); "
            f"the model has {model.n_inputs} input(s) and layers {have}"
        )
    hidden, out = step_approximation(f, a, b, n)
    for j in range(2 * n):
        set_neuron(model, 0, j, hidden.kernel[:, j], float(hidden.bias[j]))
    set_neuron(model, 1, 0, out.kernel[:, 0], float(out.bias[0]))


# ---------------------------------------------------------------------------------------------
# Figures (the affichage_* functions): they draw on a given matplotlib Axes
# ---------------------------------------------------------------------------------------------


def _axes(ax, projection=None):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig = plt.figure()
    return fig, fig.add_subplot(projection=projection)


def plot_one_var(model: DenseNetwork, a: float, b: float, *, rank: int = 0, num: int = 100, ax=None, **style):
    """``affichage_evaluation_une_var`` (L3046–3070, L3190): the graph of F on [a, b] (``num``
    points). Returns (fig, ax)."""
    fig, ax = _axes(ax)
    xs = np.linspace(a, b, num)
    ax.plot(xs, np.asarray(predict(model, xs[:, None])[:, rank]), **style)
    ax.set_xlabel("x")
    ax.set_ylabel("F(x)")
    return fig, ax


def plot_approximation(
    model: DenseNetwork, f: Callable, a: float, b: float, *, rank: int = 0, num: int = 100, ax=None
):
    """``affichage_approximation`` (L3278–3285): f in red and the network's F in blue."""
    fig, ax = _axes(ax)
    xs = np.linspace(a, b, num)
    ax.plot(xs, np.asarray(f(jnp.asarray(xs))), color="red", label="f")
    ax.plot(xs, np.asarray(predict(model, xs[:, None])[:, rank]), color="blue", linewidth=2, label="F (network)")
    ax.legend(loc="best")
    return fig, ax


def _grid2(model, xmin, xmax, ymin, ymax, num, rank):
    if model.n_inputs != 2:
        raise ValueError(f"this plot is for models of 2 inputs, the model has {model.n_inputs}")
    vx, vy = np.linspace(xmin, xmax, num), np.linspace(ymin, ymax, num)
    x, y = np.meshgrid(vx, vy)
    z = np.asarray(predict(model, np.c_[x.ravel(), y.ravel()])[:, rank]).reshape(x.shape)
    return x, y, z


def plot_two_var_3d(model: DenseNetwork, xmin, xmax, ymin, ymax, *, rank: int = 0, num: int = 20, ax=None):
    """``affichage_evaluation_deux_var_3d`` (L3308–3316): the surface z = F(x, y) on a num × num grid."""
    fig, ax = _axes(ax, "3d")
    x, y, z = _grid2(model, xmin, xmax, ymin, ymax, num, rank)
    ax.plot_surface(x, y, z, cmap="viridis")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("F")
    return fig, ax


def plot_two_var_2d(
    model: DenseNetwork, xmin, xmax, ymin, ymax, *, rank: int = 0, num: int = 30, levels: int = 10, ax=None
):
    """``affichage_evaluation_deux_var_2d``: filled level sets of F (``contourf``, cmap 'hot')
    with a colour bar."""
    fig, ax = _axes(ax)
    x, y, z = _grid2(model, xmin, xmax, ymin, ymax, num, rank)
    cs = ax.contourf(x, y, z, levels, cmap="hot")
    fig.colorbar(cs, ax=ax)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return fig, ax


def plot_three_var(model: DenseNetwork, xmin, xmax, ymin, ymax, zmin, zmax, *, rank: int = 0, num: int = 10, ax=None):
    """``affichage_evaluation_trois_var`` (L3341–3368): the num³ grid points of the box, each
    coloured by F(x, y, z) (cmap 'hot'), with a colour bar."""
    if model.n_inputs != 3:
        raise ValueError(f"this plot is for models of 3 inputs, the model has {model.n_inputs}")
    fig, ax = _axes(ax, "3d")
    v = [np.linspace(lo, hi, num) for lo, hi in ((xmin, xmax), (ymin, ymax), (zmin, zmax))]
    x, y, z = np.meshgrid(*v)
    s = np.asarray(predict(model, np.c_[x.ravel(), y.ravel(), z.ravel()])[:, rank])
    pts = ax.scatter(x.ravel(), y.ravel(), z.ravel(), c=s, cmap="hot")
    fig.colorbar(pts, ax=ax)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    return fig, ax


__all__ = [
    "DenseNetwork",
    "describe_layer",
    "evaluate",
    "from_layers",
    "layer_weights",
    "plot_approximation",
    "plot_one_var",
    "plot_three_var",
    "plot_two_var_2d",
    "plot_two_var_3d",
    "predict",
    "set_layer_weights",
    "set_neuron",
    "set_step_approximation",
    "to_layers",
    "zero_layer",
]
