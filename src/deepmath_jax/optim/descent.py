"""Descente de gradient / Gradient descent — chapter 8 of the book (lines 4215–4917).

Every method of the chapter twice, side by side (the tests show the two agree):

1. **The book's recurrences written by hand** (``book_*``), on a point P ∈ ℝⁿ and a gradient
   function given by hand, as the book computes its tables:

   - classic descent        P_{k+1} = P_k − δ_k grad f(P_k)                        (L4430–4469)
   - momentum (heavy ball)  P_{k+1} = P_k + μ·(P_k − P_{k−1}) − δ grad f(P_k)       (L4866–4887)
   - Nesterov               P'_k = P_k + μ·(P_k − P_{k−1}),  P_{k+1} = P'_k − δ grad f(P'_k)
                                                                                    (L4889–4904)
   - stochastic descent     P_{k+1} = P_k − δ grad E_{(k % N)+1}(P_k), cyclic order  (L4762)
   - mini-batches of size K P_{k+1} = P_k − δ grad(E_{j0+1} + … + E_{j0+K})(P_k)     (L4797–4853)

   with P_{−1} = P_0 (the particle starts at rest).

2. **The library version**: optax ``GradientTransformation``s (:func:`gradient_descent`,
   :func:`heavy_ball`, :func:`nesterov`, or any optax optimizer such as ``optax.sgd``) driven by
   ``jax.value_and_grad`` in pure ``jax.lax.scan`` loops (:func:`descend`,
   :func:`descend_stochastic`, :func:`descend_minibatch`) on any pytree of parameters.

Every loop returns the whole :class:`History` — the points P_0 … P_n, the error and its
gradient at each of them, the step size of each step — as the book's tables print it. A
non-finite error stops with :class:`NonFiniteLossError`, naming the step and the step size
(checked after the scan, on the history).

The step δ may be a number or a schedule (a callable of the step k, see
:mod:`deepmath_jax.optim.schedules`). The error of chapter 8 is a plain **sum** E = Σ E_i (L4517);
chapter 9 and Keras use the **mean** (``reduction="mean"``).

Facts tested (book inventory §13, §15 items 22–29): the heavy ball is ``optax.sgd(momentum=μ)``
step for step; ``optax.sgd(momentum=μ, nesterov=True)`` stores the book's look-ahead points
P'_k; mini-batches with K = N are the classic descent and with K = 1 the cyclic stochastic one.

Example — the book's first table (f = a² + 3b² from (2, 1), δ = 0.2, L4289–4315)::

    >>> import jax.numpy as jnp
    >>> from deepmath_jax.optim import descent
    >>> f = lambda p: p[0] ** 2 + 3 * p[1] ** 2
    >>> h = descent.descend(f, jnp.array([2.0, 1.0]), descent.gradient_descent(0.2), 5)
    >>> h.points[1].tolist(), h.losses[1].item()  # doctest: +ELLIPSIS
    ([1.2..., -0.2...], 1.56...)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

PyTree = Any
StepSize = float | Callable[[ArrayLike], ArrayLike]

__all__ = [
    "History",
    "NonFiniteLossError",
    "MomentumState",
    "check_finite",
    "gradient_descent",
    "heavy_ball",
    "nesterov",
    "descend",
    "descend_stochastic",
    "descend_minibatch",
    "batch_indices",
    "book_gradient_descent",
    "book_momentum",
    "book_nesterov",
    "book_stochastic_descent",
    "book_minibatch_descent",
    "lookahead_points",
    "step_size_of",
]


# --------------------------------------------------------------------------------------------
# History and the non-finite check
# --------------------------------------------------------------------------------------------


class History(NamedTuple):
    """The whole run of a descent, as the book's tables print it.

    Attributes:
      points: P_0 … P_n — the parameters pytree with a leading axis of n + 1.
      losses: (n + 1,) the error E(P_k) of the **whole** data (also for stochastic and
        mini-batch descents, whose steps use only part of it).
      grads: grad E(P_k), leading axis n + 1 (the full gradient, not the batch one).
      step_sizes: (n,) the step δ_k of step k (NaN where an optax optimizer does not expose it;
        wrap it with ``optax.inject_hyperparams`` to have it).
    """

    points: PyTree
    losses: Array
    grads: PyTree
    step_sizes: Array

    @property
    def final(self) -> PyTree:
        """P_n, the last point."""
        return jax.tree.map(lambda x: x[-1], self.points)

    def at(self, k: int) -> PyTree:
        """P_k."""
        return jax.tree.map(lambda x: x[k], self.points)


class NonFiniteLossError(FloatingPointError, ValueError):
    """The error E became NaN or infinite: the descent or the training diverged (step size too
    large) or met bad data.

    One class for the descents of chapter 8 (this module, :mod:`deepmath_jax.autodiff.backprop`) and the
    training engine (:func:`deepmath_jax.engine.train.fit`): both a ``ValueError`` and a
    ``FloatingPointError``, so ``except`` clauses written for either keep working.

    Numbering, the same everywhere: step k is the k-th update (1, 2, …), P_k the parameters
    after k updates (P_0 the start). Where the loss is evaluated differs:

    - the descents record E(P_k) after each update, so ``step`` is the update k that led to
      the first non-finite E(P_k) (0: already at the start point);
    - the engine computes each batch's loss during its update, at the parameters before it
      (Keras's batch loss), so ``step`` is the update k whose loss E_batch(P_{k−1}) is not
      finite; that update is not applied and the model keeps P_{k−1}. ``epoch`` and ``batch``
      (both from 1, batch within its epoch) say where it was.

    A full-batch divergence whose first non-finite E is E(P_k) is therefore step k for a
    descent and step k + 1 (the update that would have started from P_k) for the engine.

    Attributes:
      step: as above.
      step_size: the δ of that step, when known (NaN if the optimizer does not expose it).
      loss: the non-finite value, when known.
      epoch, batch: the engine's position (``None`` for the descents).
    """

    def __init__(self, message: str, *, step: int, step_size: float | None = None,
                 loss: float | None = None, epoch: int | None = None,
                 batch: int | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.step_size = step_size
        self.loss = loss
        self.epoch = epoch
        self.batch = batch

    def __reduce__(self):  # keyword-only arguments: pickle (multiprocessing) needs the attributes
        return (_rebuild_non_finite, (type(self), self.args, self.__dict__))


def _rebuild_non_finite(cls: type, args: tuple, attributes: dict) -> NonFiniteLossError:
    err = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(attributes)
    return err


def check_finite(history: History) -> History:
    """Return ``history`` unchanged if every E(P_k) and every P_k is finite; otherwise raise
    :class:`NonFiniteLossError` naming the first bad step k and the step size δ that led to it.

    Must be called on concrete values (outside ``jax.jit``).
    """
    losses = history.losses
    if isinstance(losses, jax.core.Tracer):
        raise TypeError(
            "check_finite needs concrete values: call it outside jax.jit "
            "(or pass check=False to the descent inside jit and check afterwards)"
        )
    losses = np.asarray(losses)
    finite = np.isfinite(losses)
    for leaf in jax.tree.leaves(history.points):
        leaf = np.asarray(leaf)
        finite &= np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1)
    if finite.all():
        return history
    k = int(np.argmin(finite))
    steps = np.asarray(history.step_sizes)
    if k == 0:
        raise NonFiniteLossError(
            f"the error is not finite at the start point P_0 (E(P_0) = {losses[0]}): "
            "choose another initial point",
            step=0,
            step_size=float(steps[0]) if steps.size else math.nan,
            loss=float(losses[0]),
        )
    delta = float(steps[k - 1])
    delta_text = f"δ = {delta:.6g}" if math.isfinite(delta) else (
        "δ unknown: wrap the optimizer with optax.inject_hyperparams to have it reported"
    )
    raise NonFiniteLossError(
        f"the descent diverged: E(P_{k}) = {losses[k]} is not finite at step k = {k} "
        f"(step size {delta_text}; E(P_{k - 1}) = {losses[k - 1]:.6g}); take a smaller step size",
        step=k,
        step_size=delta,
        loss=float(losses[k]),
    )


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_steps(name: str, n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be ≥ 0, got {n}")
    return int(n)


def _check_step_size(delta: StepSize) -> StepSize:
    if callable(delta):
        return delta
    if isinstance(delta, jax.core.Tracer):
        return delta
    try:
        value = float(delta)
    except (TypeError, ValueError):
        raise TypeError(
            f"the step size δ must be a number or a schedule (a callable of the step k), got {delta!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"the step size δ must be a finite number > 0, got {value}")
    return delta


def _check_momentum(mu: Any) -> Any:
    if isinstance(mu, jax.core.Tracer):
        return mu
    value = float(mu)
    if not 0 <= value < 1:
        raise ValueError(f"the momentum μ must be in [0, 1) (the book suggests 0.5 … 0.9), got {value}")
    return mu


def _check_reduction(reduction: str) -> str:
    if reduction not in ("sum", "mean"):
        raise ValueError(
            f"reduction must be 'sum' (chapter 8: E = Σ E_i) or 'mean' (chapter 9, Keras: "
            f"E = (1/N) Σ E_i), got {reduction!r}"
        )
    return reduction


def _data_size(data: PyTree) -> int:
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError("data is empty: give a pytree of arrays whose leading axis indexes the examples")
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else -1 for leaf in leaves}
    if -1 in sizes or len(sizes) != 1:
        shapes = [tuple(np.shape(leaf)) for leaf in leaves]
        raise ValueError(
            f"every array of data must have the same leading axis N (one row per example), got shapes {shapes}"
        )
    (n,) = sizes
    if n == 0:
        raise ValueError("data has no examples (N = 0)")
    return n


def step_size_of(delta: StepSize, k: ArrayLike) -> Array:
    """δ_k: the value of a constant step or of a schedule at step k."""
    return jnp.asarray(delta(k) if callable(delta) else delta)


# --------------------------------------------------------------------------------------------
# optax transformations: the book's update rules
# --------------------------------------------------------------------------------------------


class MomentumState(NamedTuple):
    """The book's moment: the displacement P_k − P_{k−1} (zero at the start, L4880)."""

    displacement: PyTree


def _scaled(rate: ArrayLike, g: Array) -> Array:
    return jnp.asarray(rate, dtype=g.dtype) * g


def _classic(learning_rate: ArrayLike) -> optax.GradientTransformation:
    def init_fn(params: PyTree) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update_fn(grads, state, params=None):
        del params
        return jax.tree.map(lambda g: -_scaled(learning_rate, g), grads), state

    return optax.GradientTransformation(init_fn, update_fn)


def _heavy_ball(learning_rate: ArrayLike, momentum: ArrayLike) -> optax.GradientTransformation:
    def init_fn(params: PyTree) -> MomentumState:
        return MomentumState(jax.tree.map(jnp.zeros_like, params))

    def update_fn(grads, state, params=None):
        del params
        # P_{k+1} − P_k = μ (P_k − P_{k−1}) − δ grad f(P_k): the new moment is the update.
        updates = jax.tree.map(
            lambda d, g: _scaled(momentum, d) - _scaled(learning_rate, g), state.displacement, grads
        )
        return updates, MomentumState(updates)

    return optax.GradientTransformation(init_fn, update_fn)


def _nesterov(learning_rate: ArrayLike, momentum: ArrayLike) -> optax.GradientTransformation:
    def init_fn(params: PyTree) -> MomentumState:
        return MomentumState(jax.tree.map(jnp.zeros_like, params))

    def update_fn(grads, state, params=None):
        del params
        # The parameters are the look-ahead points P'_k and grads = grad f(P'_k). With
        # D_{k+1} = P_{k+1} − P_k = μ D_k − δ g, the next look-ahead point is
        # P'_{k+1} = P_{k+1} + μ D_{k+1} = P'_k − δ g + μ D_{k+1}.
        new_d = jax.tree.map(
            lambda d, g: _scaled(momentum, d) - _scaled(learning_rate, g), state.displacement, grads
        )
        updates = jax.tree.map(
            lambda d, g: _scaled(momentum, d) - _scaled(learning_rate, g), new_d, grads
        )
        return updates, MomentumState(new_d)

    return optax.GradientTransformation(init_fn, update_fn)


def gradient_descent(learning_rate: StepSize) -> optax.GradientTransformationExtraArgs:
    """Classic gradient descent as an optax transformation: update = −δ_k · grad f(P_k)
    (book L4430–4469: P_{k+1} = P_k − δ_k grad f(P_k)).

    Args:
      learning_rate: the step δ > 0, or a schedule k ↦ δ_k (:mod:`deepmath_jax.optim.schedules`).

    Returns:
      An optax ``GradientTransformation`` (the same iterates as ``optax.sgd(learning_rate)``);
      δ_k is kept in its state (``optax.inject_hyperparams``), so :func:`descend` records it.
    """
    _check_step_size(learning_rate)
    return optax.inject_hyperparams(_classic)(learning_rate=learning_rate)


def heavy_ball(learning_rate: StepSize, momentum: float) -> optax.GradientTransformationExtraArgs:
    """Gradient descent with momentum, the book's form (L4866–4887):

        P_{k+1} = P_k + μ·(P_k − P_{k−1}) − δ_k grad f(P_k),   P_{−1} = P_0.

    The state is the moment P_k − P_{k−1}. With a constant δ the iterates are those of
    ``optax.sgd(δ, momentum=μ)`` and of Keras ``SGD(δ, momentum=μ)`` (tested).

    Args:
      learning_rate: the step δ > 0 or a schedule.
      momentum: μ ∈ [0, 1) (the book suggests μ ∈ [0.5, 0.9] with δ = 0.01).
    """
    _check_step_size(learning_rate)
    _check_momentum(momentum)
    return optax.inject_hyperparams(_heavy_ball)(learning_rate=learning_rate, momentum=momentum)


def nesterov(learning_rate: StepSize, momentum: float) -> optax.GradientTransformationExtraArgs:
    """Nesterov's method (book L4889–4904) as an optax transformation, in look-ahead coordinates.

    The book computes P'_k = P_k + μ(P_k − P_{k−1}) and P_{k+1} = P'_k − δ grad f(P'_k). An
    optax transformation only sees the gradient at the parameters it holds, so the parameters
    here are the look-ahead points P'_k (P'_0 = P_0); the book's P_{k+1} is P'_k − δ grad f(P'_k).
    These are the iterates of ``optax.sgd(δ, momentum=μ, nesterov=True)`` (tested, and the
    same as Keras): both libraries store the book's look-ahead points.

    Args:
      learning_rate: the step δ > 0 or a schedule.
      momentum: μ ∈ [0, 1).
    """
    _check_step_size(learning_rate)
    _check_momentum(momentum)
    return optax.inject_hyperparams(_nesterov)(learning_rate=learning_rate, momentum=momentum)


def _state_step_size(state: Any, dtype: Any) -> Array:
    """δ_k from an ``inject_hyperparams`` state (after its update), NaN when not exposed."""
    if hasattr(state, "hyperparams") and "learning_rate" in state.hyperparams:
        return jnp.asarray(state.hyperparams["learning_rate"], dtype=dtype)
    return jnp.asarray(jnp.nan, dtype=dtype)


def _loss_dtype(params: PyTree) -> Any:
    leaves = jax.tree.leaves(params)
    return jnp.result_type(*leaves) if leaves else jnp.float32


# --------------------------------------------------------------------------------------------
# Library loops: jax.value_and_grad + optax in lax.scan
# --------------------------------------------------------------------------------------------


def _stack_last(history_part: PyTree, last: PyTree) -> PyTree:
    return jax.tree.map(lambda xs, x: jnp.concatenate([xs, x[None]], axis=0), history_part, last)


@functools.partial(jax.jit, static_argnums=(0, 2, 3))
def _descent_scan(loss_fn, params0, tx, n_steps):
    value_and_grad = jax.value_and_grad(loss_fn)
    dtype = _loss_dtype(params0)

    def step(carry, _):
        params, state = carry
        loss, grads = value_and_grad(params)
        updates, state = tx.update(grads, state, params)
        new_params = optax.apply_updates(params, updates)
        return (new_params, state), (params, loss, grads, _state_step_size(state, dtype))

    (last, _), (points, losses, grads, steps) = jax.lax.scan(
        step, (params0, tx.init(params0)), length=n_steps
    )
    loss_n, grad_n = value_and_grad(last)
    return History(
        _stack_last(points, last), _stack_last(losses, loss_n), _stack_last(grads, grad_n), steps
    )


def descend(
    loss_fn: Callable[[PyTree], ArrayLike],
    params0: PyTree,
    tx: optax.GradientTransformation,
    n_steps: int,
    *,
    check: bool = True,
) -> History:
    """Run ``n_steps`` of an optax optimizer on ``loss_fn`` with ``jax.value_and_grad`` in a
    ``lax.scan``; return the whole :class:`History` P_0 … P_n.

    With ``tx = gradient_descent(δ)`` this is the book's classic descent (L4430–4469);
    ``heavy_ball``/``nesterov`` give §4, any optax optimizer works.

    Args:
      loss_fn: P ↦ E(P), scalar, differentiable; P any pytree of arrays.
      params0: P_0.
      tx: the optax transformation.
      n_steps: number of steps n ≥ 0.
      check: raise :class:`NonFiniteLossError` if some E(P_k) is not finite (needs concrete
        values; pass ``False`` inside ``jax.jit``).
    """
    n_steps = _check_steps("n_steps", n_steps)
    history = _descent_scan(loss_fn, params0, tx, n_steps)
    return check_finite(history) if check else history


def batch_indices(
    n: int,
    batch_size: int,
    epochs: int,
    *,
    key: Array | None = None,
    drop_remainder: bool = False,
) -> tuple[Array, Array]:
    """The examples of every step of a mini-batch descent: ``(indices, mask)`` of shape
    (steps, K).

    Each epoch runs through the N examples once, in order (the book's cyclic order) or, with a
    ``key``, in a new random order per epoch ("il est d'usage de mélanger au hasard les données
    avant chaque époque", L4819), K at a time. When K does not divide N the last batch of an
    epoch is smaller (its padding has ``mask`` False, as Keras keeps it), or is dropped with
    ``drop_remainder=True`` (as the book's scripts do).
    """
    n = _check_steps("N", n)
    epochs = _check_steps("epochs", epochs)
    batch_size = _check_steps("batch_size", batch_size)
    if not 1 <= batch_size <= n:
        raise ValueError(f"the batch size K must be in 1 … N = {n}, got {batch_size}")
    n_full, rest = divmod(n, batch_size)
    n_batches = n_full if (drop_remainder or rest == 0) else n_full + 1
    if epochs == 0:
        empty = jnp.zeros((0, batch_size), dtype=jnp.int32)
        return empty, empty.astype(bool)
    if key is None:
        order = jnp.broadcast_to(jnp.arange(n), (epochs, n))
    else:  # one permutation per epoch, from the key folded with the epoch number
        keys = jax.vmap(lambda e: jax.random.fold_in(key, e))(jnp.arange(epochs))
        order = jax.vmap(lambda k: jax.random.permutation(k, n))(keys)  # (epochs, N)
    padded = n_batches * batch_size
    if padded >= n:
        pad = padded - n
        idx = jnp.concatenate([order, jnp.zeros((epochs, pad), dtype=order.dtype)], axis=1)
        mask = jnp.concatenate([jnp.ones((epochs, n), bool), jnp.zeros((epochs, pad), bool)], axis=1)
    else:  # drop the incomplete last batch
        idx, mask = order[:, :padded], jnp.ones((epochs, padded), bool)
    return idx.reshape(-1, batch_size).astype(jnp.int32), mask.reshape(-1, batch_size)


def _reduce(values: Array, mask: Array, reduction: str) -> Array:
    total = jnp.sum(jnp.where(mask, values, jnp.zeros_like(values)))
    if reduction == "mean":
        total = total / jnp.sum(mask).astype(values.dtype)
    return total


@functools.partial(jax.jit, static_argnums=(0, 3, 6, 7))
def _batched_scan(example_loss, params0, data, tx, idx, mask, reduction, track):
    per_example = jax.vmap(example_loss, in_axes=(None, 0))
    n = jax.tree.leaves(data)[0].shape[0]
    all_mask = jnp.ones((n,), bool)

    def total_loss(params):
        return _reduce(per_example(params, data), all_mask, reduction)

    def batch_loss(params, rows, row_mask):
        batch = jax.tree.map(lambda a: a[rows], data)
        return _reduce(per_example(params, batch), row_mask, reduction)

    total_vg = jax.value_and_grad(total_loss)
    batch_vg = jax.value_and_grad(batch_loss)
    dtype = _loss_dtype(params0)

    def step(carry, rows_and_mask):
        params, state = carry
        rows, row_mask = rows_and_mask
        batch_value, grads = batch_vg(params, rows, row_mask)
        if track == "data":
            loss, recorded = total_vg(params)
        else:  # what Keras' train_on_batch returns: the batch error before the update
            loss, recorded = batch_value, grads
        updates, state = tx.update(grads, state, params)
        new_params = optax.apply_updates(params, updates)
        return (new_params, state), (params, loss, recorded, _state_step_size(state, dtype))

    (last, _), (points, losses, grads, steps) = jax.lax.scan(
        step, (params0, tx.init(params0)), (idx, mask)
    )
    loss_n, grad_n = total_vg(last)
    return History(
        _stack_last(points, last), _stack_last(losses, loss_n), _stack_last(grads, grad_n), steps
    )


def descend_minibatch(
    example_loss: Callable[[PyTree, PyTree], ArrayLike],
    params0: PyTree,
    data: PyTree,
    tx: optax.GradientTransformation,
    batch_size: int,
    epochs: int,
    *,
    key: Array | None = None,
    reduction: str = "sum",
    drop_remainder: bool = False,
    track: str = "data",
    check: bool = True,
) -> History:
    """Mini-batch descent (*descente par lots*, book L4797–4853): each step uses the gradient of
    the error of K examples, E_{j0+1} + … + E_{j0+K}; an epoch is N/K steps.

    K = 1 is the stochastic descent, K = N the classic one (tested).

    Args:
      example_loss: (P, example) ↦ E_i(P), the error of one example; ``example`` is one row of
        every array of ``data``.
      params0: P_0 (any pytree).
      data: a pytree of arrays whose leading axis of size N indexes the examples, e.g. ``(x, y)``.
      tx: the optax transformation (:func:`gradient_descent`, ``optax.sgd``, ``optax.adam`` …).
      batch_size: K, 1 ≤ K ≤ N.
      epochs: number of passes over the data.
      key: shuffle the examples before each epoch with this PRNG key (``None``: the book's
        fixed order).
      reduction: ``"sum"`` — E = Σ E_i as in chapter 8 — or ``"mean"`` (chapter 9, Keras); the
        same reduction is used in each batch.
      drop_remainder: drop the incomplete last batch of each epoch when K does not divide N.
      track: ``"data"`` records the error and gradient of the whole data at every P_k (the
        book's tables and curves); ``"batch"`` records, for k < n, the error and gradient of
        the batch of step k at P_k — before the update, what Keras' ``train_on_batch`` returns —
        which costs nothing extra on large data (entry n is still the whole data's).
      check: raise :class:`NonFiniteLossError` on a non-finite error.

    Returns:
      The :class:`History`; ``losses`` and ``grads`` are those of the whole data at each P_k.
    """
    _check_reduction(reduction)
    if track not in ("data", "batch"):
        raise ValueError(f"track must be 'data' or 'batch', got {track!r}")
    n = _data_size(data)
    idx, mask = batch_indices(n, batch_size, epochs, key=key, drop_remainder=drop_remainder)
    history = _batched_scan(example_loss, params0, data, tx, idx, mask, reduction, track)
    return check_finite(history) if check else history


def descend_stochastic(
    example_loss: Callable[[PyTree, PyTree], ArrayLike],
    params0: PyTree,
    data: PyTree,
    tx: optax.GradientTransformation,
    n_steps: int,
    *,
    reduction: str = "sum",
    check: bool = True,
) -> History:
    """Stochastic gradient descent in the book's cyclic order (L4639–4774):
    P_{k+1} = P_k − δ grad E_{(k % N)+1}(P_k) — the examples one at a time, no shuffling.

    Arguments as in :func:`descend_minibatch`; ``n_steps`` need not be a multiple of N.
    """
    _check_reduction(reduction)
    n = _data_size(data)
    n_steps = _check_steps("n_steps", n_steps)
    idx = (jnp.arange(n_steps) % n).astype(jnp.int32)[:, None]
    mask = jnp.ones((n_steps, 1), bool)
    history = _batched_scan(example_loss, params0, data, tx, idx, mask, reduction, "data")
    return check_finite(history) if check else history


# --------------------------------------------------------------------------------------------
# The book's recurrences by hand (the gradient is given, as in the book's tables)
# --------------------------------------------------------------------------------------------


def _check_point_and_gradient(grad_f: Callable, p0: ArrayLike, *extra: Any) -> Array:
    p0 = jnp.asarray(p0)
    if not jnp.issubdtype(p0.dtype, jnp.floating):
        p0 = p0.astype(jnp.result_type(float))
    out = jax.eval_shape(grad_f, p0, *extra)
    if not hasattr(out, "shape") or tuple(out.shape) != tuple(p0.shape):
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            f"the gradient function returned shape {shape} but the point P_0 has shape "
            f"{tuple(p0.shape)}: grad f(P) must have the shape of P"
        )
    return p0


def _book_history(f: Callable, grad_f: Callable, p0: Array, points: Array, steps: Array,
                  check: bool) -> History:
    """P_0 followed by the scanned points, with f and its gradient at each (the book's tables)."""
    points = jnp.concatenate([p0[None], points])
    history = History(points, jax.vmap(f)(points), jax.vmap(grad_f)(points), steps)
    return check_finite(history) if check else history


def book_gradient_descent(
    f: Callable[[Array], ArrayLike],
    grad_f: Callable[[Array], Array],
    p0: ArrayLike,
    delta: StepSize,
    n_steps: int,
    *,
    check: bool = True,
) -> History:
    """The book's classic descent P_{k+1} = P_k − δ_k grad f(P_k) (L4430–4469), written by hand
    with the gradient ``grad_f`` given by its formula (as in the book's tables).

    Args:
      f: P ↦ f(P), recorded at each point.
      grad_f: P ↦ grad f(P), same shape as P.
      p0: the initial point P_0 ∈ ℝⁿ.
      delta: δ > 0, or a schedule k ↦ δ_k.
      n_steps: the number of steps.
    """
    _check_step_size(delta)
    n_steps = _check_steps("n_steps", n_steps)
    p0 = _check_point_and_gradient(grad_f, p0)

    def step(p, k):
        d = step_size_of(delta, k).astype(p.dtype)
        q = p - d * grad_f(p)
        return q, (q, d)

    _, (points, steps) = jax.lax.scan(step, p0, jnp.arange(n_steps))
    return _book_history(f, grad_f, p0, points, steps, check)


def book_momentum(
    f: Callable[[Array], ArrayLike],
    grad_f: Callable[[Array], Array],
    p0: ArrayLike,
    delta: StepSize,
    mu: float,
    n_steps: int,
    *,
    check: bool = True,
) -> History:
    """Gradient descent with momentum as the book writes it (L4866–4887):
    P_{k+1} = P_k + μ·(P_k − P_{k−1}) − δ_k grad f(P_k), with P_{−1} = P_0."""
    _check_step_size(delta)
    _check_momentum(mu)
    n_steps = _check_steps("n_steps", n_steps)
    p0 = _check_point_and_gradient(grad_f, p0)

    def step(carry, k):
        p, p_prev = carry
        d = step_size_of(delta, k).astype(p.dtype)
        q = p + mu * (p - p_prev) - d * grad_f(p)
        return (q, p), (q, d)

    _, (points, steps) = jax.lax.scan(step, (p0, p0), jnp.arange(n_steps))
    return _book_history(f, grad_f, p0, points, steps, check)


def book_nesterov(
    f: Callable[[Array], ArrayLike],
    grad_f: Callable[[Array], Array],
    p0: ArrayLike,
    delta: StepSize,
    mu: float,
    n_steps: int,
    *,
    check: bool = True,
) -> History:
    """Nesterov's method as the book writes it (L4889–4904): P'_k = P_k + μ·(P_k − P_{k−1}),
    P_{k+1} = P'_k − δ_k grad f(P'_k), P_{−1} = P_0. Returns the points P_k (their look-ahead
    points P'_k: :func:`lookahead_points`)."""
    _check_step_size(delta)
    _check_momentum(mu)
    n_steps = _check_steps("n_steps", n_steps)
    p0 = _check_point_and_gradient(grad_f, p0)

    def step(carry, k):
        p, p_prev = carry
        d = step_size_of(delta, k).astype(p.dtype)
        ahead = p + mu * (p - p_prev)
        q = ahead - d * grad_f(ahead)
        return (q, p), (q, d)

    _, (points, steps) = jax.lax.scan(step, (p0, p0), jnp.arange(n_steps))
    return _book_history(f, grad_f, p0, points, steps, check)


def lookahead_points(points: Array, mu: float) -> Array:
    """P'_k = P_k + μ·(P_k − P_{k−1}) for k = 0 … n (P_{−1} = P_0), from the points P_k."""
    previous = jnp.concatenate([points[:1], points[:-1]])
    return points + mu * (points - previous)


def _total_grad(grad_fi: Callable, data: PyTree) -> Callable[[Array], Array]:
    # grad E = Σ_i grad E_i (L4682): the book's additivity.
    return lambda p: jnp.sum(jax.vmap(grad_fi, in_axes=(None, 0))(p, data), axis=0)


def book_stochastic_descent(
    f: Callable[[Array], ArrayLike],
    grad_fi: Callable[[Array, PyTree], Array],
    data: PyTree,
    p0: ArrayLike,
    delta: StepSize,
    n_steps: int,
    *,
    check: bool = True,
) -> History:
    """The book's stochastic descent P_{k+1} = P_k − δ grad E_{(k % N)+1}(P_k) (L4762), by hand.

    Args:
      f: the total error P ↦ E(P), recorded at each point.
      grad_fi: (P, example) ↦ grad E_i(P), the gradient of one example's error.
      data: arrays whose leading axis indexes the N examples.
    """
    _check_step_size(delta)
    n_steps = _check_steps("n_steps", n_steps)
    n = _data_size(data)
    first = jax.tree.map(lambda a: a[0], data)
    p0 = _check_point_and_gradient(grad_fi, p0, first)

    def step(p, k):
        d = step_size_of(delta, k).astype(p.dtype)
        example = jax.tree.map(lambda a: a[k % n], data)
        q = p - d * grad_fi(p, example)
        return q, (q, d)

    _, (points, steps) = jax.lax.scan(step, p0, jnp.arange(n_steps))
    return _book_history(f, _total_grad(grad_fi, data), p0, points, steps, check)


def book_minibatch_descent(
    f: Callable[[Array], ArrayLike],
    grad_fi: Callable[[Array, PyTree], Array],
    data: PyTree,
    p0: ArrayLike,
    delta: StepSize,
    batch_size: int,
    epochs: int,
    *,
    check: bool = True,
) -> History:
    """The book's mini-batch descent, by hand, in the data's order (L4840–4846):
    P_{k+1} = P_k − δ (grad E_{j0+1} + … + grad E_{j0+K})(P_k), N/K steps per epoch.

    K must divide N (an epoch is N/K steps in the book); :func:`descend_minibatch` also handles
    an incomplete last batch and shuffling.
    """
    _check_step_size(delta)
    epochs = _check_steps("epochs", epochs)
    batch_size = _check_steps("batch_size", batch_size)
    n = _data_size(data)
    if not 1 <= batch_size <= n or n % batch_size:
        raise ValueError(
            f"the batch size K = {batch_size} must divide N = {n} (an epoch is N/K steps); "
            "descend_minibatch handles an incomplete last batch"
        )
    first = jax.tree.map(lambda a: a[0], data)
    p0 = _check_point_and_gradient(grad_fi, p0, first)
    per_epoch = n // batch_size
    batches = jax.tree.map(lambda a: a.reshape(per_epoch, batch_size, *a.shape[1:]), data)

    def step(p, k):
        d = step_size_of(delta, k).astype(p.dtype)
        batch = jax.tree.map(lambda a: a[k % per_epoch], batches)
        q = p - d * _total_grad(grad_fi, batch)(p)
        return q, (q, d)

    _, (points, steps) = jax.lax.scan(step, p0, jnp.arange(epochs * per_epoch))
    return _book_history(f, _total_grad(grad_fi, data), p0, points, steps, check)
