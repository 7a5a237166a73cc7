"""Backpropagation for dense layered networks, by hand in ``jax.numpy`` — chapter 7 *Gradient*
(Gradient), §4.5 *Preuve et formule générale* (book lines 4129–4193), in matrix form; used to
train in chapter 9 *Rétropropagation* (Backpropagation).

The network has layers ℓ = 1, …, L; layer ℓ has the kernel W_ℓ of shape (n_{ℓ−1}, n_ℓ) (the
Keras/Flax layout, ``y = x @ W + b``), the bias b_ℓ of shape (n_ℓ,) and one activation φ_ℓ
(a name of :mod:`deepmath_jax.calculus.activations`). For a batch X of N rows (shape (N, n₀)):

    A₀ = X,   Z_ℓ = A_{ℓ−1} W_ℓ + b_ℓ,   A_ℓ = φ_ℓ(Z_ℓ),   F = A_L.

The backward pass is the book's recursion for every neuron at once. Write G_ℓ = ∂E/∂A_ℓ (the
book's ∂F/∂g for the neurons of layer ℓ) and φ'_ℓ(Z_ℓ) the local derivatives g'_*:

- start: G_L = ∂E/∂F — for E = (F − y₀)² it is 2(F − y₀) (L3922); formula (6) is G = 1 for E = F;
- (5) ∂F/∂g = Σ_h ∂F/∂h · b · h'_* for all neurons of layer ℓ − 1:
  G_{ℓ−1} = (G_ℓ ⊙ φ'_ℓ(Z_ℓ)) W_ℓᵀ;
- (4) ∂F/∂a = ∂F/∂g · f_* · g'_* for all weights of layer ℓ, summed over the batch:
  ∂E/∂W_ℓ = A_{ℓ−1}ᵀ (G_ℓ ⊙ φ'_ℓ(Z_ℓ)),  ∂E/∂b_ℓ = Σ_rows G_ℓ ⊙ φ'_ℓ(Z_ℓ).

Losses (``loss=``):

- ``"mse"``: E = mean over all entries of (F − Y)² — the book's E = (1/N) Σᵢ (F(Xᵢ) − zᵢ)² of
  chapter 9 for one output (L4940–4994) and Keras' ``mean_squared_error``; ∂E/∂F = 2(F − Y)/size.
- ``"cross_entropy"``: the network's output F is read as logits; E = mean over the rows of
  −Σ_k Y_k log softmax(F)_k with Y one-hot (or probabilities) of shape (N, n_L), or integer
  labels of shape (N,); ∂E/∂F = (softmax(F) − Y)/N. Use the activation ``"identity"`` on the last
  layer (the softmax is inside the loss, as in ``optax.softmax_cross_entropy``).

API (params are a list of ``{"W": (n_in, n_out), "b": (n_out,)}`` dicts, a pytree)::

    params = init_mlp(jax.random.key(0), [2, 16, 16, 1])                    # glorot_uniform, zero bias
    acts = ("tanh", "tanh", "identity")
    F = forward(params, X, acts)                                            # (N, 1)
    E, grads = manual_value_and_grad(params, X, Y, activations=acts)        # by hand, jitted
    E, grads = jax_value_and_grad(params, X, Y, activations=acts)           # jax.grad, jitted
    params, history = gradient_descent(params, X, Y, activations=acts, learning_rate=0.1, steps=500)

``manual_value_and_grad`` equals ``jax.value_and_grad`` (tests, float64); ``gradient_descent``
runs full-batch descent P ← P − δ grad E(P) in one ``jax.lax.scan`` and returns the error before
each step, as Keras' ``train_on_batch`` reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import ACTIVATIONS, get_activation
from deepmath_jax.optim.descent import NonFiniteLossError

Params = list[dict[str, Array]]
LOSSES = ("mse", "cross_entropy")


# --------------------------------------------------------------------------------------------
# Parameters and checks
# --------------------------------------------------------------------------------------------


def init_mlp(
    key: Array,
    sizes: Sequence[int],
    *,
    kernel_init: str = "glorot_uniform",
    dtype: Any = None,
) -> Params:
    """Parameters of a dense network with layer sizes ``sizes`` = (n₀, n₁, …, n_L).

    ``kernel_init``: ``"glorot_uniform"`` (Keras' Dense default: U(±√(6/(n_in + n_out))))
    or ``"lecun_normal"`` (Flax's default: truncated normal of variance 1/n_in); biases are zero
    (as in Keras and Flax). Deterministic in ``key``.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least an input and an output size, all ≥ 1, got {sizes}")
    inits = {
        "glorot_uniform": jax.nn.initializers.glorot_uniform(),
        "lecun_normal": jax.nn.initializers.lecun_normal(),
    }
    if kernel_init not in inits:
        raise ValueError(f"unknown kernel_init {kernel_init!r}; known: {sorted(inits)}")
    dtype = jnp.result_type(float) if dtype is None else dtype
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"W": inits[kernel_init](k, (n_in, n_out), dtype), "b": jnp.zeros((n_out,), dtype)}
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def layer_sizes(params: Params) -> list[int]:
    """(n₀, n₁, …, n_L) read from the kernels."""
    return [int(params[0]["W"].shape[0]), *(int(p["W"].shape[1]) for p in params)]


def _check(params: Params, X: ArrayLike, activations: Sequence[str], Y: ArrayLike | None = None,
           loss: str | None = None) -> tuple[Array, Array | None, tuple[str, ...]]:
    if not isinstance(params, (list, tuple)) or not params:
        raise TypeError("params must be a non-empty list of {'W', 'b'} dicts (see init_mlp)")
    acts = (activations,) * len(params) if isinstance(activations, str) else tuple(activations)
    if len(acts) != len(params):
        raise ValueError(f"{len(params)} layers but {len(acts)} activations {acts}")
    for a in acts:
        get_activation(a)  # raises on an unknown name, listing the known ones
    n_prev = None
    for l, p in enumerate(params, start=1):
        if not isinstance(p, dict) or set(p) != {"W", "b"}:
            raise TypeError(f"layer {l}: expected a dict with keys 'W' and 'b', got {type(p).__name__} "
                            f"{sorted(p) if isinstance(p, dict) else ''}")
        W, b = jnp.shape(p["W"]), jnp.shape(p["b"])
        if len(W) != 2 or b != (W[1],):
            raise ValueError(f"layer {l}: W must have shape (n_in, n_out) and b shape (n_out,), got {W} and {b}")
        if n_prev is not None and W[0] != n_prev:
            raise ValueError(f"layer {l}: W has {W[0]} input rows but layer {l - 1} has {n_prev} neurons")
        n_prev = W[1]
    X = jnp.asarray(X)
    n0 = params[0]["W"].shape[0]
    if X.ndim != 2 or X.shape[1] != n0:
        raise ValueError(f"X must have shape (N, {n0}) (one row per sample), got {X.shape}")
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; known losses: {', '.join(LOSSES)}")
    if Y is not None:
        Y = jnp.asarray(Y)
        nL = params[-1]["W"].shape[1]
        if loss == "cross_entropy" and Y.ndim == 1:
            if not jnp.issubdtype(Y.dtype, jnp.integer):
                raise TypeError(f"labels of shape (N,) must be integers (class numbers), got {Y.dtype}")
            if Y.shape[0] != X.shape[0]:
                raise ValueError(f"{Y.shape[0]} labels for {X.shape[0]} samples")
            Y = jax.nn.one_hot(Y, nL, dtype=params[-1]["W"].dtype)
        if Y.shape != (X.shape[0], nL):
            raise ValueError(f"Y must have shape (N, n_L) = ({X.shape[0]}, {nL}), got {Y.shape}")
    return X, Y, acts


# --------------------------------------------------------------------------------------------
# Forward pass and losses
# --------------------------------------------------------------------------------------------


def _forward_cache(params: Params, X: Array, acts: tuple[str, ...]) -> tuple[list[Array], list[Array]]:
    """A_0 … A_L and Z_1 … Z_L."""
    A, Z = [X], []
    for p, a in zip(params, acts, strict=True):
        z = A[-1] @ p["W"] + p["b"][None, :]
        Z.append(z)
        A.append(ACTIVATIONS[a].fn(z))
    return A, Z


@partial(jax.jit, static_argnames=("acts",))
def _forward(params: Params, X: Array, acts: tuple[str, ...]) -> Array:
    return _forward_cache(params, X, acts)[0][-1]


def forward(params: Params, X: ArrayLike, activations: Sequence[str] | str) -> Array:
    """F(X) = A_L, shape (N, n_L): Z_ℓ = A_{ℓ−1} W_ℓ + b_ℓ, A_ℓ = φ_ℓ(Z_ℓ) (jit-compiled)."""
    X, _, acts = _check(params, X, activations)
    return _forward(list(params), X, acts)


def _loss_and_dF(F: Array, Y: Array, loss: str) -> tuple[Array, Array]:
    """E and ∂E/∂F."""
    if loss == "mse":
        diff = F - Y
        return jnp.mean(diff * diff), 2 * diff / diff.size
    logp = jax.nn.log_softmax(F, axis=-1)
    n = F.shape[0]
    return -jnp.sum(Y * logp) / n, (jnp.exp(logp) * jnp.sum(Y, axis=-1, keepdims=True) - Y) / n


def loss_value(params: Params, X: ArrayLike, Y: ArrayLike, *, activations: Sequence[str] | str,
               loss: str = "mse") -> Array:
    """E(params) on the batch (X, Y) for ``loss`` in ``"mse"``, ``"cross_entropy"``."""
    X, Y, acts = _check(params, X, activations, Y, loss)
    return _loss(list(params), X, Y, acts, loss)


@partial(jax.jit, static_argnames=("acts", "loss"))
def _loss(params: Params, X: Array, Y: Array, acts: tuple[str, ...], loss: str) -> Array:
    return _loss_and_dF(_forward(params, X, acts), Y, loss)[0]


# --------------------------------------------------------------------------------------------
# The manual backward pass and the library one
# --------------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("acts", "loss"))
def _manual(params: Params, X: Array, Y: Array, acts: tuple[str, ...], loss: str) -> tuple[Array, Params]:
    A, Z = _forward_cache(params, X, acts)
    E, G = _loss_and_dF(A[-1], Y, loss)  # G = ∂E/∂A_L
    grads: Params = [{} for _ in params]
    for l in reversed(range(len(params))):
        D = G * ACTIVATIONS[acts[l]].derivative(Z[l])  # ∂E/∂g · g'_* for every neuron of the layer
        grads[l] = {"W": A[l].T @ D, "b": jnp.sum(D, axis=0)}  # (4): × f_*, summed over the batch
        if l:
            G = D @ params[l]["W"].T  # (5): ∂E/∂g = Σ_h ∂E/∂h · b · h'_*
    return E, grads


def manual_value_and_grad(params: Params, X: ArrayLike, Y: ArrayLike, *, activations: Sequence[str] | str,
                          loss: str = "mse") -> tuple[Array, Params]:
    """E and grad E by hand: the book's backward recursion (4)–(6) in matrix form (module
    docstring), jit-compiled once per architecture/activations/loss.

    Raises:
      ValueError/TypeError: shapes of params, X, Y that do not fit, an unknown activation or loss.
    """
    X, Y, acts = _check(params, X, activations, Y, loss)
    return _manual(list(params), X, Y, acts, loss)


@partial(jax.jit, static_argnames=("acts", "loss"))
def _library(params: Params, X: Array, Y: Array, acts: tuple[str, ...], loss: str) -> tuple[Array, Params]:
    return jax.value_and_grad(lambda p: _loss_and_dF(_forward_cache(p, X, acts)[0][-1], Y, loss)[0])(params)


def jax_value_and_grad(params: Params, X: ArrayLike, Y: ArrayLike, *, activations: Sequence[str] | str,
                       loss: str = "mse") -> tuple[Array, Params]:
    """E and grad E by ``jax.value_and_grad`` (the library side of :func:`manual_value_and_grad`)."""
    X, Y, acts = _check(params, X, activations, Y, loss)
    return _library(list(params), X, Y, acts, loss)


@partial(jax.jit, static_argnames=("acts", "loss", "steps", "manual"))
def _descent(params: Params, X: Array, Y: Array, lr: Array, acts: tuple[str, ...], loss: str, steps: int,
             manual: bool) -> tuple[Params, Array]:
    step_fn = _manual if manual else _library

    def step(p: Params, _: None) -> tuple[Params, Array]:
        E, g = step_fn(p, X, Y, acts, loss)
        return jax.tree.map(lambda w, dw: w - lr * dw, p, g), E

    return jax.lax.scan(step, params, None, length=steps)


def gradient_descent(
    params: Params,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    activations: Sequence[str] | str,
    learning_rate: float,
    steps: int,
    loss: str = "mse",
    manual: bool = True,
) -> tuple[Params, Array]:
    """Full-batch gradient descent P_{k+1} = P_k − δ grad E(P_k) (chapter 8, used in chapter 9)
    for ``steps`` steps, in one ``jax.lax.scan``; gradients by hand (``manual=True``) or by
    ``jax.grad``. Returns the final parameters and the errors E(P_0), …, E(P_{steps−1}) (each
    before its update, as Keras' ``train_on_batch`` reports).

    Raises:
      ValueError: a non-positive number of steps or learning rate, bad shapes (see
        :func:`manual_value_and_grad`);
      NonFiniteLossError: (a ValueError and a FloatingPointError) a non-finite error, naming the
        first bad step k (E(P_k) is not finite, P_k the point after k updates) and δ.
    """
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    if not learning_rate > 0:
        raise ValueError(f"the learning rate δ must be > 0, got {learning_rate}")
    X, Y, acts = _check(params, X, activations, Y, loss)
    lr = jnp.asarray(learning_rate, dtype=params[0]["W"].dtype)
    new, history = _descent(list(params), X, Y, lr, acts, loss, int(steps), bool(manual))
    bad = ~jnp.isfinite(history)
    if bool(jnp.any(bad)):
        k = int(jnp.argmax(bad))
        # the error class of the chapter 8 descents and of the engine, same numbering: history[k]
        # is E(P_k), the error after k updates
        raise NonFiniteLossError(f"the error became non-finite at step {k} (E = {float(history[k])}) with learning "
                                 f"rate δ = {learning_rate}: the descent diverges; lower δ",
                                 step=k, step_size=float(learning_rate), loss=float(history[k]))
    return new, history
