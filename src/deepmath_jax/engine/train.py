"""The training engine: Keras's ``compile`` / ``fit`` / ``evaluate`` for Flax NNX models.

Chapter 10 *Python : tensorflow avec keras, partie 2* (Keras part 2, book lines 5435–6302)
trains every network with ``modele.compile(loss=…, optimizer=…, metrics=['accuracy'])`` and
``modele.fit(X_train, Y_train, epochs=…, batch_size=32)`` (L5937–5952), then
``modele.evaluate(X_test, Y_test)`` (L5954–5969); chapter 14 does the same with convolutions
(L7350–7780). Here::

    from deepmath_jax.engine import data, train
    ds = data.load("mnist", "train", flatten=True)
    hist = train.fit(model, optax.sgd(0.01), ds, epochs=40, batch_size=32,
                     loss="categorical_crossentropy", key=jax.random.key(0))
    train.evaluate(model, data.load("mnist", "test", flatten=True))  # {"loss": …, "accuracy": …}

How it runs (Flax's fast path; ``benchmarks/bench_step_overhead.py`` measures it 5.5× faster
per step than ``nnx.jit`` on the chapter-10 network):

- the model is split once (``nnx.split``) into a static ``graphdef`` and a :class:`TrainState`
  of arrays (parameters, the rest of the model state — RNG streams, batch statistics —,
  optimizer state, step count); :func:`make_train_step` returns a plain ``jax.jit`` of a pure
  function that ``nnx.merge``\\ s inside, with the state donated — no ``nnx.jit`` per-call
  overhead;
- running sums of the loss and metrics stay on the device (no host synchronisation per step);
  every batch has one shape (the last one padded and masked, :func:`deepmath_jax.engine.data.batches`),
  so one compilation serves the epoch; ``scan=True`` runs a whole epoch as one ``lax.scan``
  over batches gathered on the device;
- ``mesh="auto"`` (or a ``jax.sharding.Mesh``) spreads each batch over every device
  (:mod:`deepmath_jax.engine.parallel`); :func:`per_device_train_step` is the explicit version
  (``lax.pmean`` of the gradients) for ``jax.shard_map`` and ``jax.pmap``;
- ``checkpoint_dir=`` saves model, optimizer state, RNG, step and data position with Orbax
  (:mod:`deepmath_jax.engine.checkpoint`); calling ``fit`` again with the same folder resumes;
- a non-finite loss stops training (:class:`NonFiniteLossError`, the class of the chapter 8
  descents, naming the step k — the k-th update, from 1 — and its epoch and batch, from 1); the
  update of that step is not applied, so the model keeps the last finite parameters;
- integer class labels outside 0..C−1 (C the model's outputs) are refused by ``fit`` and
  ``evaluate``, checked once per dataset on the host (``jax.nn.one_hot`` would silently give
  them a zero row, i.e. a loss of 0);
- the same ``key`` gives the same numbers (shuffling is ``jax.random.permutation`` of
  ``fold_in(key, epoch)``; dropout uses the model's own ``nnx.Rngs`` streams).

Losses: ``"categorical_crossentropy"`` (labels as integers or one-hot rows),
``"binary_crossentropy"``, ``"mse"`` (Keras's ``mean_squared_error``), ``"mae"``, the
``"softmax_cross_entropy"`` / ``"sigmoid_cross_entropy"`` of a model that outputs logits, or a
callable ``loss(model, x, y) -> (loss, metrics)`` returning per-example values ``(B,)`` (masked
exactly) or batch means (then the last batch is not padded but run at its size). As in Keras,
a cross-entropy reads the model output as probabilities; a model that also exposes
``logits(x)`` and ``output_activation`` (``"softmax"`` / ``"sigmoid"``), as the book's models of
:mod:`deepmath_jax.engine.models` do, gets the same value computed stably from the logits.

The low-level API (what ``fit`` runs and a benchmark times)::

    graphdef, state = train.init_state(model, tx)       # TrainState(params, rest, opt_state, step)
    step = train.make_train_step("categorical_crossentropy", tx, graphdef=graphdef)
    totals = train.init_totals(["accuracy"])            # running sums on the device
    for batch in data.batches(ds, 32, key=key):          # Batch(x, y, mask)
        state, totals = step(state, totals, batch)       # state and totals donated

Refinements of the engine contract (``ENGINE_CONTRACT.md``): ``graphdef`` is given to
``make_train_step`` / ``make_eval_step`` as a keyword and closed over (a static argument would
be hashed at every call); steps take and return running ``totals``; ``metrics=None`` means
"accuracy for cross-entropies, nothing otherwise"; ``batch_size`` defaults to Keras's 32;
``parallel_strategy``, ``validation_batch_size``, ``callback`` and :func:`predict` are added.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax import lax

from deepmath_jax.engine import parallel
from deepmath_jax.engine.data import ArrayDataset, Batch, _as_xy, batches, num_batches
from deepmath_jax.optim.descent import NonFiniteLossError

Array = jax.Array
LossFn = Callable[[nnx.Module, Array, Array], tuple[Array, Mapping[str, Array]]]
Strategy = Literal["sharding", "shard_map", "pmap"]

KERAS_EPSILON = 1e-7  # Keras clips probabilities to [ε, 1 − ε] before the logarithm


# --------------------------------------------------------------------------------------------
# Losses and metrics (per example)
# --------------------------------------------------------------------------------------------


def _log_probabilities(p: Array) -> Array:
    p = p / jnp.sum(p, axis=-1, keepdims=True)
    return jnp.log(jnp.clip(p, KERAS_EPSILON, 1.0 - KERAS_EPSILON))


def _is_integer_labels(y: Any) -> bool:
    return y.ndim == 1 and jnp.issubdtype(y.dtype, jnp.integer)


def _label_range_error(y: np.ndarray, num_classes: int, what: str) -> ValueError | None:
    """The error for integer labels outside 0..C−1 (host values), or ``None``."""
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if not bad.size:
        return None
    i = int(bad[0])
    return ValueError(
        f"{what}: class labels must be integers in 0..{num_classes - 1} (the model has "
        f"{num_classes} outputs), found {int(y[i])} at position {i} ({bad.size} of {len(y)} "
        f"labels out of range, from {int(y[bad].min())} to {int(y[bad].max())})"
    )


def _targets(y: Array, num_classes: int) -> Array:
    """Integer labels (B,) or rows (B, C) → rows (B, C). Concrete integer labels outside
    0..C−1 raise (``one_hot`` would give them a zero row); traced ones cannot be looked at."""
    if _is_integer_labels(y):
        if not isinstance(y, jax.core.Tracer):
            err = _label_range_error(np.asarray(y), num_classes, "categorical cross-entropy")
            if err is not None:
                raise err
        return jax.nn.one_hot(y, num_classes, dtype=jnp.float32)
    if y.ndim == 2 and y.shape[1] == num_classes:
        return y.astype(jnp.float32)
    raise ValueError(
        f"categorical labels must be integers (B,) or rows (B, {num_classes}), got {y.shape} "
        f"{y.dtype}"
    )


def categorical_crossentropy(outputs: Array, y: Array, *, from_logits: bool = False) -> Array:
    """Per-example −Σ_c y_c ln p_c (Keras's ``categorical_crossentropy``, book L5850–5877, L8166):
    ``outputs`` are probabilities (rescaled to sum 1, clipped to [1e-7, 1 − 1e-7] as Keras
    does) or logits (``from_logits``, the stable log-softmax).

    Integer labels must be class numbers 0..C−1: called with concrete labels, others raise a
    ``ValueError``; under ``jax.jit`` (traced labels, no error possible) their loss is NaN,
    never a silent 0 — optax's ``softmax_cross_entropy_with_integer_labels`` also gives NaN
    for a label ≥ C (but reads −1 as the last class). :func:`fit` and :func:`evaluate` check
    the labels of each dataset once, before the first step."""
    if outputs.ndim != 2:
        raise ValueError(f"categorical cross-entropy needs outputs (B, C), got {outputs.shape}")
    num_classes = outputs.shape[1]
    target = _targets(y, num_classes)
    logp = jax.nn.log_softmax(outputs, axis=-1) if from_logits else _log_probabilities(outputs)
    loss = -jnp.sum(target * logp, axis=-1)
    if _is_integer_labels(y):
        loss = jnp.where((y >= 0) & (y < num_classes), loss, jnp.nan)
    return loss


def _binary_pair(outputs: Array, y: Array) -> tuple[Array, Array]:
    out = outputs.reshape(outputs.shape[0], -1)
    target = y.reshape(y.shape[0], -1).astype(out.dtype)
    if out.shape != target.shape:
        raise ValueError(f"binary outputs {outputs.shape} and labels {y.shape} do not match")
    return out, target


def binary_crossentropy(outputs: Array, y: Array, *, from_logits: bool = False) -> Array:
    """Per-example −(y ln p + (1 − y) ln(1 − p)), averaged over the outputs (Keras's
    ``binary_crossentropy``); ``from_logits`` for the stable form on the logit."""
    out, target = _binary_pair(outputs, y)
    if from_logits:
        per = optax.sigmoid_binary_cross_entropy(out, target)
    else:
        p = jnp.clip(out, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
        per = -(target * jnp.log(p) + (1.0 - target) * jnp.log(1.0 - p))
    return jnp.mean(per, axis=-1)


def _regression_pair(outputs: Array, y: Array) -> tuple[Array, Array]:
    out = outputs.reshape(outputs.shape[0], -1)
    target = y.reshape(y.shape[0], -1).astype(out.dtype)
    if out.shape != target.shape:
        raise ValueError(f"outputs {outputs.shape} and targets {y.shape} do not match")
    return out, target


def mean_squared_error(outputs: Array, y: Array) -> Array:
    """Per-example mean of (ŷ − y)² over the outputs (Keras's ``mean_squared_error``)."""
    out, target = _regression_pair(outputs, y)
    return jnp.mean((out - target) ** 2, axis=-1)


def mean_absolute_error(outputs: Array, y: Array) -> Array:
    """Per-example mean of |ŷ − y| over the outputs."""
    out, target = _regression_pair(outputs, y)
    return jnp.mean(jnp.abs(out - target), axis=-1)


def categorical_accuracy(outputs: Array, y: Array) -> Array:
    """1 where the most probable class is the label (labels integers or one-hot rows)."""
    label = jnp.argmax(y, axis=-1) if y.ndim == 2 else y
    return (jnp.argmax(outputs, axis=-1) == label).astype(jnp.float32)


def binary_accuracy(outputs: Array, y: Array, *, threshold: float = 0.5) -> Array:
    """1 where (output > threshold) equals (label > 0.5); mean over the outputs."""
    out, target = _binary_pair(outputs, y)
    return jnp.mean(((out > threshold) == (target > 0.5)).astype(jnp.float32), axis=-1)


# name → (per-example loss, reads the model output as logits, task: selects "accuracy")
_LOSSES: dict[str, tuple[Callable[..., Array], bool, str]] = {
    "categorical_crossentropy": (categorical_crossentropy, False, "categorical"),
    "softmax_cross_entropy": (categorical_crossentropy, True, "categorical"),
    "binary_crossentropy": (binary_crossentropy, False, "binary"),
    "sigmoid_cross_entropy": (binary_crossentropy, True, "binary"),
    "mse": (mean_squared_error, False, "regression"),
    "mean_squared_error": (mean_squared_error, False, "regression"),
    "mae": (mean_absolute_error, False, "regression"),
    "mean_absolute_error": (mean_absolute_error, False, "regression"),
}


@dataclasses.dataclass(frozen=True)
class Objective:
    """A resolved loss: ``fn(model, x, y) -> (loss, metrics)`` with per-example values or
    batch means, and the names of its metrics."""

    fn: LossFn
    name: str
    metric_names: tuple[str, ...]
    task: str | None = None  # "categorical", "binary", "regression"; None for a callable loss


def resolve_loss(loss: str | LossFn, metrics: Sequence[str | Callable] | None = None) -> Objective:
    """Turn Keras-style names into an :class:`Objective`.

    ``metrics=None`` means ``("accuracy",)`` for the cross-entropies, nothing otherwise; a
    metric is ``"accuracy"``, ``"mse"``, ``"mae"`` or a function ``(outputs, y) -> (B,)``.
    A callable ``loss`` brings its own metrics (its returned dictionary).
    """
    if isinstance(loss, Objective):
        return loss
    if callable(loss) and not isinstance(loss, str):
        if metrics:
            raise ValueError(
                "a callable loss returns its own metrics (loss(model, x, y) -> (loss, "
                "{name: value})); pass metrics=None or ()"
            )
        return Objective(loss, getattr(loss, "__name__", "loss"), ())
    if not isinstance(loss, str) or loss not in _LOSSES:
        raise ValueError(f"unknown loss {loss!r}: use one of {sorted(_LOSSES)} or a callable "
                         "loss(model, x, y) -> (loss, metrics)")
    per_example, reads_logits, task = _LOSSES[loss]
    if metrics is None:
        metrics = ("accuracy",) if task != "regression" else ()
    metric_fns: dict[str, Callable[[Array, Array, bool], Array]] = {}
    for m in metrics:
        if callable(m) and not isinstance(m, str):
            metric_fns[getattr(m, "__name__", "metric")] = lambda o, y, lg, m=m: m(o, y)
        elif m in ("accuracy", "acc") and task == "categorical":
            metric_fns["accuracy"] = lambda o, y, lg: categorical_accuracy(o, y)
        elif m in ("accuracy", "acc") and task == "binary":
            # a probability above 1/2 is a logit above 0
            metric_fns["accuracy"] = lambda o, y, lg: binary_accuracy(
                o, y, threshold=0.0 if lg else 0.5)
        elif m in ("accuracy", "acc"):
            raise ValueError(f"'accuracy' needs a classification loss, not {loss!r}")
        elif m in ("mse", "mean_squared_error"):
            metric_fns["mse"] = lambda o, y, lg: mean_squared_error(o, y)
        elif m in ("mae", "mean_absolute_error"):
            metric_fns["mae"] = lambda o, y, lg: mean_absolute_error(o, y)
        else:
            raise ValueError(f"unknown metric {m!r}: use 'accuracy', 'mse', 'mae' or a function "
                             "(outputs, y) -> per-example values")
    stable = {"categorical": "softmax", "binary": "sigmoid"}.get(task)

    def fn(model: nnx.Module, x: Array, y: Array) -> tuple[Array, dict[str, Array]]:
        if reads_logits:
            outputs, logits = model(x), True
        elif (stable is not None and getattr(model, "output_activation", None) == stable
              and hasattr(model, "logits")):
            outputs, logits = model.logits(x), True  # same loss, computed stably
        else:
            outputs, logits = model(x), False
        value = per_example(outputs, y, from_logits=True) if logits else per_example(outputs, y)
        return value, {k: f(outputs, y, logits) for k, f in metric_fns.items()}

    return Objective(fn, loss, tuple(metric_fns), task)


# --------------------------------------------------------------------------------------------
# State and steps
# --------------------------------------------------------------------------------------------


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["params", "rest", "opt_state", "step"],
    meta_fields=[],
)
@dataclasses.dataclass(frozen=True)
class TrainState:
    """Everything a step changes: ``params`` (``nnx.Param``), ``rest`` (the other model
    variables: RNG streams, batch statistics), ``opt_state`` (optax) and ``step`` (updates
    applied). The module structure (``graphdef``) is static and kept apart."""

    params: Any
    rest: Any
    opt_state: Any
    step: Array


def init_state(model: nnx.Module, tx: optax.GradientTransformation) -> tuple[Any, TrainState]:
    """``(graphdef, state)`` of ``model`` (in its current train/eval mode) with a fresh optimizer
    state. The arrays are copies, so donating the state leaves the model's arrays intact."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    params, rest = jax.tree.map(jnp.copy, (params, rest))
    return graphdef, TrainState(params, rest, tx.init(params), jnp.zeros((), jnp.int32))


def init_totals(metric_names: Sequence[str], *, train: bool = True) -> dict[str, Array]:
    """Running sums of a pass: loss, each metric, number of examples (and, when training, the
    first non-finite step, −1 for none)."""
    totals = {k: jnp.zeros((), jnp.float32) for k in ("loss", *metric_names, "count")}
    if train:
        totals["nonfinite_step"] = jnp.full((), -1, jnp.int32)
    return totals


def _batch_sums(objective: Objective, model: nnx.Module, batch: Batch) -> dict[str, Array]:
    """Sums over the real examples of a batch: loss, metrics and ``count``. Per-example values
    are masked; a batch-mean value (shape ()) is weighted by the batch size (such batches are
    never padded)."""
    value, metrics = objective.fn(model, batch.x, batch.y)
    rows = batch.mask.shape[0]
    count = jnp.sum(batch.mask)

    def total(v: Any, what: str) -> Array:
        v = jnp.asarray(v, jnp.float32)
        if v.ndim == 0:
            return v * count
        if v.shape != (rows,):
            raise ValueError(
                f"the {what} must be a batch mean (shape ()) or one value per example "
                f"(shape ({rows},)), got shape {v.shape}"
            )
        return jnp.sum(v * batch.mask)

    sums = {"loss": total(value, "loss")}
    for k, v in dict(metrics).items():
        if k in ("loss", "count", "nonfinite_step"):
            raise ValueError(f"a metric cannot be named {k!r}")
        sums[k] = total(v, f"metric {k!r}")
    sums["count"] = count
    return sums


def _fold_keys(rest: Any, axis_name: str) -> Any:
    """Each device's own RNG streams (dropout masks differ between shards)."""
    index = lax.axis_index(axis_name)
    return jax.tree.map(
        lambda a: jax.random.fold_in(a, index) if parallel._is_key(a) else a, rest
    )


def _sync_rest(new: Any, old: Any, axis_name: str) -> Any:
    """Replicated model state after a per-device step: keys as before the fold, floating
    statistics averaged over the devices, counters (equal everywhere) kept."""

    def sync(n: Any, o: Any) -> Any:
        if parallel._is_key(o):
            return o
        if jnp.issubdtype(n.dtype, jnp.floating):
            return lax.pmean(n, axis_name)
        return n

    return jax.tree.map(sync, new, old)


def _train_core(
    graphdef: Any, objective: Objective, tx: optax.GradientTransformation,
    state: TrainState, totals: dict[str, Array], batch: Batch, axis_name: str | None = None,
) -> tuple[TrainState, dict[str, Array]]:
    """One optimisation step; with ``axis_name`` it is the per-device step of a data-parallel
    run: each device differentiates its share of the batch loss, ``lax.pmean`` of the
    gradients is the gradient of the whole batch's mean loss."""
    rest_in = state.rest if axis_name is None else _fold_keys(state.rest, axis_name)

    def objective_fn(params: Any) -> tuple[Array, tuple[dict[str, Array], Any]]:
        model = nnx.merge(graphdef, params, rest_in, copy=True)  # fresh Variables in this trace
        sums = _batch_sums(objective, model, batch)
        count = sums["count"] if axis_name is None else lax.pmean(sums["count"], axis_name)
        # local sum / mean count per device: the pmean of these is the global mean loss
        value = sums["loss"] / jnp.maximum(count, 1.0)
        _, _, rest = nnx.split(model, nnx.Param, ...)
        return value, (sums, rest)

    (_, (sums, rest)), grads = jax.value_and_grad(objective_fn, has_aux=True)(state.params)
    if axis_name is not None:
        grads = lax.pmean(grads, axis_name)
        sums = lax.psum(sums, axis_name)
        rest = _sync_rest(rest, state.rest, axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new = TrainState(params, rest, opt_state, state.step + 1)
    finite = jnp.isfinite(sums["loss"])
    ok = finite & (totals["nonfinite_step"] < 0)
    # a non-finite loss (or anything after it) leaves the state as it was
    new = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, state)
    out = {k: totals[k] + jnp.where(ok, sums[k], 0.0) for k in sums}
    out["nonfinite_step"] = jnp.where(
        (totals["nonfinite_step"] < 0) & ~finite, state.step, totals["nonfinite_step"]
    )
    return new, out


def _eval_core(
    graphdef: Any, objective: Objective, state: TrainState, totals: dict[str, Array],
    batch: Batch, axis_name: str | None = None,
) -> dict[str, Array]:
    model = nnx.merge(graphdef, state.params, state.rest)
    sums = _batch_sums(objective, model, batch)
    if axis_name is not None:
        sums = lax.psum(sums, axis_name)
    return {k: totals[k] + sums[k] for k in totals}


def per_device_train_step(
    loss: str | LossFn | Objective, tx: optax.GradientTransformation, *, graphdef: Any,
    metrics: Sequence[str | Callable] | None = None, axis_name: str = parallel.DATA_AXIS,
) -> Callable[[TrainState, dict, Batch], tuple[TrainState, dict]]:
    """The per-device training step (not compiled): ``(state, totals, local batch) ->
    (state, totals)`` with explicit collectives on ``axis_name`` — ``lax.pmean`` of the
    gradients and of floating model statistics, ``lax.psum`` of the running sums. Wrap it with
    ``jax.shard_map`` (:func:`deepmath_jax.engine.parallel.shard_map_step`) or ``jax.pmap``
    (:func:`deepmath_jax.engine.parallel.pmap_step`)."""
    objective = loss if isinstance(loss, Objective) else resolve_loss(loss, metrics)
    return functools.partial(_train_core, graphdef, objective, tx, axis_name=axis_name)


def per_device_eval_step(
    loss: str | LossFn | Objective, *, graphdef: Any,
    metrics: Sequence[str | Callable] | None = None, axis_name: str = parallel.DATA_AXIS,
) -> Callable[[TrainState, dict, Batch], dict]:
    """The per-device evaluation step (running sums, ``lax.psum`` over ``axis_name``)."""
    objective = loss if isinstance(loss, Objective) else resolve_loss(loss, metrics)
    return functools.partial(_eval_core, graphdef, objective, axis_name=axis_name)


def make_train_step(
    loss: str | LossFn | Objective,
    tx: optax.GradientTransformation,
    *,
    graphdef: Any,
    metrics: Sequence[str | Callable] | None = None,
    mesh: Any = None,
    parallel_strategy: Strategy = "sharding",
    donate: bool = True,
    compiler_options: Mapping[str, Any] | None = None,
) -> Callable[[TrainState, dict, Batch], tuple[TrainState, dict]]:
    """The compiled training step ``(state, totals, batch) -> (state, totals)``.

    ``jax.jit`` of a pure function of the arrays, ``graphdef`` closed over (Flax's fast path:
    no ``nnx.jit`` bookkeeping per call), state and totals donated. With a ``mesh`` the batch
    is split over its ``"data"`` axis: ``parallel_strategy="sharding"`` (``jit`` with
    ``NamedSharding``s), ``"shard_map"`` or ``"pmap"`` (:func:`per_device_train_step`; pmap
    takes the state and totals stacked per device and the batch as ``(devices, B/devices,
    …)``). ``compiler_options``: XLA options for ``jax.jit`` (e.g.
    :func:`deepmath_jax.engine.models.conv_compiler_options`; ``jax.pmap`` takes none, so the
    ``"pmap"`` strategy compiles with XLA's defaults).
    """
    objective = loss if isinstance(loss, Objective) else resolve_loss(loss, metrics)
    donate_argnums = (0, 1) if donate else ()
    mesh = parallel.resolve_mesh(mesh)
    if mesh is None:
        return jax.jit(functools.partial(_train_core, graphdef, objective, tx),
                       donate_argnums=donate_argnums, compiler_options=compiler_options)
    if parallel_strategy == "sharding":
        rep, rows = parallel.replicated(mesh), parallel.batch_sharding(mesh)
        return jax.jit(functools.partial(_train_core, graphdef, objective, tx),
                       in_shardings=(rep, rep, rows), out_shardings=(rep, rep),
                       donate_argnums=donate_argnums, compiler_options=compiler_options)
    per_device = per_device_train_step(objective, tx, graphdef=graphdef)
    if parallel_strategy == "shard_map":
        return parallel.shard_map_step(per_device, mesh, sharded_args=(False, False, True),
                                       donate=donate_argnums, compiler_options=compiler_options)
    if parallel_strategy == "pmap":
        return parallel.pmap_step(per_device, donate=donate_argnums)
    raise ValueError(f"parallel_strategy must be one of {parallel.STRATEGIES}, got "
                     f"{parallel_strategy!r}")


def make_eval_step(
    loss: str | LossFn | Objective,
    *,
    graphdef: Any,
    metrics: Sequence[str | Callable] | None = None,
    mesh: Any = None,
    parallel_strategy: Strategy = "sharding",
    compiler_options: Mapping[str, Any] | None = None,
) -> Callable[[TrainState, dict, Batch], dict]:
    """The compiled evaluation step ``(state, totals, batch) -> totals`` (running sums of the
    loss and metrics over the real rows; only ``state.params`` and ``state.rest`` are read).
    ``compiler_options`` as in :func:`make_train_step`."""
    objective = loss if isinstance(loss, Objective) else resolve_loss(loss, metrics)
    mesh = parallel.resolve_mesh(mesh)
    core = functools.partial(_eval_core, graphdef, objective)
    if mesh is None:
        return jax.jit(core, donate_argnums=(1,), compiler_options=compiler_options)
    if parallel_strategy == "sharding":
        rep, rows = parallel.replicated(mesh), parallel.batch_sharding(mesh)
        return jax.jit(core, in_shardings=(rep, rep, rows), out_shardings=rep,
                       donate_argnums=(1,), compiler_options=compiler_options)
    per_device = per_device_eval_step(objective, graphdef=graphdef)
    if parallel_strategy == "shard_map":
        return parallel.shard_map_step(per_device, mesh, sharded_args=(False, False, True),
                                       compiler_options=compiler_options)
    if parallel_strategy == "pmap":
        return parallel.pmap_step(per_device)
    raise ValueError(f"parallel_strategy must be one of {parallel.STRATEGIES}, got "
                     f"{parallel_strategy!r}")


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class History:
    """Per-epoch numbers of a :func:`fit`, like Keras's ``History``: ``history["loss"]``,
    ``history["accuracy"]``, ``history["val_loss"]``, …, and ``history["seconds"]``."""

    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def append(self, row: Mapping[str, float]) -> None:
        for k, v in row.items():
            self.history.setdefault(k, []).append(float(v))

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.history.items()}

    def __getitem__(self, name: str) -> list[float]:
        return self.history[name]

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def keys(self) -> list[str]:
        return list(self.history)

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    def last(self) -> dict[str, float]:
        """The numbers of the last epoch."""
        return {k: v[-1] for k, v in self.history.items() if v}


def _means(totals: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Running sums → means over the examples seen (one host synchronisation)."""
    host = {k: float(v) for k, v in jax.device_get(parallel.to_local(dict(totals))).items()}
    count = host.pop("count")
    host.pop("nonfinite_step", None)
    return {prefix + k: (v / count if count else math.nan) for k, v in host.items()}


# --------------------------------------------------------------------------------------------
# Helpers of fit / evaluate
# --------------------------------------------------------------------------------------------


def _probe(objective: Objective, model: nnx.Module, x: np.ndarray, y: np.ndarray,
           rows: int) -> tuple[bool, tuple[str, ...]]:
    """Trace the loss once, abstractly, on ``rows`` examples: is it per-example or a batch
    mean, what metrics does it return — and a clear error now if model and labels disagree."""
    xs = jax.ShapeDtypeStruct((rows, *x.shape[1:]), x.dtype)
    ys = jax.ShapeDtypeStruct((rows, *y.shape[1:]), y.dtype)
    graphdef, state = nnx.split(model)

    def run(state: Any, xb: Array, yb: Array) -> tuple[Array, Mapping[str, Array]]:
        return objective.fn(nnx.merge(graphdef, state), xb, yb)

    try:
        value, metrics = jax.eval_shape(run, state, xs, ys)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the loss {objective.name!r} cannot be computed on inputs of shape {x.shape[1:]} "
            f"({x.dtype}) with labels of shape {y.shape[1:]} ({y.dtype}) per example: {err}"
        ) from err
    if value.shape not in ((), (rows,)):
        raise ValueError(f"the loss must be a batch mean (shape ()) or per-example values "
                         f"(shape ({rows},)), got shape {value.shape}")
    names = objective.metric_names or tuple(dict(metrics))
    return value.shape == (rows,), names


def _check_labels(objective: Objective, model: nnx.Module, x: np.ndarray, y: np.ndarray,
                  what: str) -> None:
    """Integer labels of a categorical loss must be 0..C−1, C the number of model outputs:
    checked here once per dataset, on the host (not in every compiled step)."""
    if objective.task != "categorical" or not _is_integer_labels(y):
        return
    graphdef, state = nnx.split(model)
    out = jax.eval_shape(lambda s, xb: nnx.merge(graphdef, s)(xb), state,
                         jax.ShapeDtypeStruct((1, *x.shape[1:]), x.dtype))
    err = _label_range_error(np.asarray(y), out.shape[-1], what)
    if err is not None:
        raise err


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _as_key(key: Any) -> Array:
    if isinstance(key, (int, np.integer)) or key is None:
        raise TypeError(f"key must be a JAX PRNG key (jax.random.key(seed)), got {key!r}")
    key = key if isinstance(key, jax.Array) else jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype == jnp.uint32 and key.shape == (2,):  # a raw jax.random.PRNGKey
        return jax.random.wrap_key_data(key)
    raise TypeError(f"key must be a JAX PRNG key (jax.random.key(seed)), got {key.dtype} "
                    f"{key.shape}")


def _placement(mesh: Any, strategy: str) -> tuple[Callable, Callable, Callable]:
    """(place a host batch, lift a state/totals tree onto the devices, lower it to one copy)."""
    if mesh is None:
        return (lambda b: b), (lambda t: t), (lambda t: t)
    if strategy == "pmap":
        k = parallel.data_size(mesh)
        return (lambda b: parallel.split_rows(b, k)), (lambda t: parallel.stack(t, k)), (
            parallel.unstack)
    return (lambda b: parallel.put_batch(b, mesh)), (lambda t: parallel.replicate(t, mesh)), (
        lambda t: t)


def _unpad(batch: Batch) -> Batch:
    """Drop the padding rows (a batch-mean loss takes the last batch at its own size)."""
    real = int(batch.mask.sum())
    if real == len(batch.mask):
        return batch
    return Batch(batch.x[:real], batch.y[:real], batch.mask[:real])


def _device_batches(data: Any, batch_size: int, *, key: Any, start: int, per_example: bool,
                    place: Callable) -> Iterator[Batch]:
    from deepmath_jax.engine.data import prefetch_to_device

    it = batches(data, batch_size, key=key, start=start)
    if not per_example:
        it = (_unpad(b) for b in it)
    return prefetch_to_device(it, size=2, sharding=lambda b: Batch(*place(tuple(b))))


def _first_nonfinite(totals: Mapping[str, Array]) -> int:
    return int(jax.device_get(parallel.to_local(totals["nonfinite_step"])))


def _nonfinite_error(applied: int, steps_per_epoch: int) -> NonFiniteLossError:
    """``applied`` updates were done when the loss of the next batch was not finite: that is
    step ``applied + 1`` (steps, epochs and batches count from 1, as in
    :class:`~deepmath_jax.optim.descent.NonFiniteLossError`)."""
    step = applied + 1
    epoch, b = divmod(applied, steps_per_epoch)
    return NonFiniteLossError(
        f"the training loss is not finite at step {step} (epoch {epoch + 1}, batch {b + 1} of "
        f"{steps_per_epoch}; the loss of step k is computed at the parameters after step k − 1): "
        f"training stopped; step {step} is not applied, the model keeps the parameters after "
        f"step {applied} (lower the learning rate, check the data and the loss)",
        step=step, epoch=epoch + 1, batch=b + 1,
    )


def _make_scan_epoch(objective, tx, graphdef, mesh, x, y, batch_size, per_example,
                     compiler_options=None):
    """An epoch as one ``lax.scan`` over batches gathered on the device, in the same shuffled
    order as the step loop (for a batch-mean loss, the smaller last batch goes through the
    ordinary step)."""
    n = len(x)
    scanned = num_batches(n, batch_size) if per_example else n // batch_size
    if mesh is None:
        x_dev, y_dev = jax.device_put(x), jax.device_put(y)
    else:
        x_dev, y_dev = parallel.replicate((x, y), mesh)
    core = functools.partial(_train_core, graphdef, objective, tx)

    def epoch_fn(state, totals, x_all, y_all, order, mask):
        def body(carry, rows):
            idx, m = rows
            xb, yb = x_all[idx], y_all[idx]
            if mesh is not None:  # each device computes its rows of the gathered batch
                xb, yb, m = (lax.with_sharding_constraint(a, parallel.batch_sharding(mesh))
                             for a in (xb, yb, m))
            return core(*carry, Batch(xb, yb, m)), None

        (state, totals), _ = lax.scan(body, (state, totals), (order, mask))
        return state, totals

    out = None if mesh is None else (parallel.replicated(mesh),) * 2
    run = jax.jit(epoch_fn, donate_argnums=(0, 1), out_shardings=out,
                  compiler_options=compiler_options)

    def runner(state, totals, order_key, first, train_step, place):
        order = np.arange(n) if order_key is None else np.asarray(
            jax.random.permutation(order_key, n))
        used = min(n, scanned * batch_size)
        idx = np.zeros(scanned * batch_size, np.int32)
        mask = np.zeros(scanned * batch_size, np.float32)
        idx[:used], mask[:used] = order[:used], 1.0
        idx, mask = idx.reshape(scanned, batch_size)[first:], mask.reshape(scanned, -1)[first:]
        if len(idx):
            state, totals = run(state, totals, x_dev, y_dev, idx, mask)
        if used < n:
            rest = order[used:]
            batch = Batch(*place((x[rest], y[rest], np.ones(len(rest), np.float32))))
            state, totals = train_step(state, totals, batch)
        return state, totals

    return runner


def _evaluate_pass(eval_step, state, data, batch_size, per_example, metric_names, place, lift,
                   lower, prefix: str = "") -> dict[str, float]:
    totals = lift(init_totals(metric_names, train=False))
    for batch in _device_batches(data, batch_size, key=None, start=0, per_example=per_example,
                                 place=place):
        totals = eval_step(state, totals, batch)
    return _means(lower(totals), prefix)


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def fit(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    train: ArrayDataset | tuple[Any, Any],
    *,
    epochs: int,
    batch_size: int = 32,
    loss: str | LossFn = "categorical_crossentropy",
    metrics: Sequence[str | Callable] | None = None,
    validation: ArrayDataset | tuple[Any, Any] | None = None,
    key: Array,
    shuffle: bool = True,
    mesh: Any = None,
    parallel_strategy: Strategy = "sharding",
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    progress: bool = True,
    scan: bool = False,
    validation_batch_size: int | None = None,
    callback: Callable[[int, int, TrainState], None] | None = None,
    desc: str = "fit",
    compiler_options: Mapping[str, Any] | Literal["auto"] | None = "auto",
) -> History:
    """Train ``model`` in place (Keras's ``fit``) and return its per-epoch :class:`History`.

    Args:
      model: any Flax NNX module; it is put in training mode (``model.train()``) for the run
        and left in evaluation mode (``model.eval()``) with the trained parameters.
      tx: the optax optimizer (Keras's ``'sgd'`` is ``optax.sgd(0.01)``, its ``'adam'`` is
        ``optax.adam(1e-3, eps=1e-7)``).
      train: an :class:`~deepmath_jax.engine.data.ArrayDataset` or a pair ``(x, y)`` of arrays.
      epochs, batch_size: as in Keras: every example once per epoch, the last batch the
        remainder (padded and masked, so the mean is over real examples only).
      loss, metrics: see the module docstring and :func:`resolve_loss`.
      validation: data evaluated after each epoch (``val_loss``, ``val_<metric>``).
      key: the run's PRNG key; epoch ``e`` is shuffled with ``fold_in(key, e)``.
      shuffle: shuffle each epoch (Keras's default) or keep the order.
      mesh: ``None`` (one device), ``"auto"`` (all devices when there are several) or a
        ``jax.sharding.Mesh`` with a ``"data"`` axis; ``batch_size`` must be divisible by its
        number of devices. With several processes every process calls ``fit`` with the same
        data and key.
      parallel_strategy: ``"sharding"``, ``"shard_map"`` or ``"pmap"``
        (:mod:`deepmath_jax.engine.parallel`).
      checkpoint_dir: save model, optimizer state, RNG, step, data position and history there
        (Orbax); when it already holds a checkpoint of the same run, resume from it (the key
        and history then come from the checkpoint; a finished run returns at once).
      checkpoint_every: also save every that many steps (default: at epoch ends only).
      progress: a tqdm progress bar over the steps, with the running numbers.
      scan: run each epoch as one ``lax.scan`` over batches gathered on the device (the data
        are copied to the device once, so they must fit there; with a mesh, the
        ``"sharding"`` strategy only). Same numbers as the step loop.
      validation_batch_size: default ``max(batch_size, 256)``.
      callback: called after each step of the loop as ``callback(epoch, batch_index, state)``;
        an exception raised there stops the run (a checkpointed run then resumes).
      desc: label of the progress bar.
      compiler_options: XLA options of the compiled steps; ``"auto"`` (default) takes
        :func:`deepmath_jax.engine.models.conv_compiler_options` (XLA's Eigen convolutions for a
        convolution network on one CPU device; XLA's defaults over a mesh of CPU devices, one
        per core — see ``benchmarks/bench_training.py``), ``None`` XLA's defaults.

    Raises:
      NonFiniteLossError: (a FloatingPointError and a ValueError, the class of
        :mod:`deepmath_jax.optim.descent`) the loss of step k (the k-th update, from 1; its
        ``epoch`` and ``batch`` attributes count from 1 too) became NaN or infinite: that step
        is not applied and the model keeps the parameters after step k − 1.
      ValueError: empty data, bad sizes, a loss that does not fit the model's output, integer
        labels outside 0..C−1 for a categorical loss, a batch not divisible over the devices, a
        checkpoint written by another run.
    """
    x, y = _as_xy(train)
    n = len(x)
    if n == 0:
        raise ValueError("the training data is empty")
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    _check_positive("batch_size", batch_size)
    if checkpoint_every is not None:
        _check_positive("checkpoint_every", checkpoint_every)
    key = _as_key(key)
    mesh = parallel.resolve_mesh(mesh)
    if parallel_strategy not in parallel.STRATEGIES:
        raise ValueError(f"parallel_strategy must be one of {parallel.STRATEGIES}, got "
                         f"{parallel_strategy!r}")
    strategy = parallel_strategy if mesh is not None else "sharding"
    devices = parallel.data_size(mesh)
    if batch_size % devices:
        raise ValueError(f"batch_size {batch_size} cannot be split evenly over {devices} devices")
    if scan and strategy != "sharding":
        raise ValueError("scan=True with a mesh needs parallel_strategy='sharding'")
    if scan and checkpoint_every is not None:
        raise ValueError("scan=True runs whole epochs: checkpoints are saved at epoch ends "
                         "(leave checkpoint_every=None)")
    if strategy == "pmap" and jax.process_count() > 1:
        raise ValueError("parallel_strategy='pmap' is single-process here: use 'sharding'")
    if isinstance(compiler_options, str):
        if compiler_options != "auto":
            raise ValueError(f"compiler_options must be 'auto', None or a dict of XLA options, "
                             f"got {compiler_options!r}")
        from deepmath_jax.engine.models import conv_compiler_options

        compiler_options = conv_compiler_options(model, mesh)

    objective = resolve_loss(loss, metrics)
    per_example, names = _probe(objective, model, x, y, batch_size)
    _check_labels(objective, model, x, y, "train")
    objective = dataclasses.replace(objective, metric_names=names)
    if not per_example and n % batch_size % devices:
        raise ValueError(
            f"the loss returns a batch mean, so the last batch ({n % batch_size} examples) is "
            f"not padded and cannot be split over {devices} devices: return per-example losses "
            "(shape (B,)) or choose a batch size that divides the data"
        )
    val_bs = validation_batch_size or max(batch_size, 256)
    if validation is not None:
        vx, vy = _as_xy(validation)
        _check_positive("validation_batch_size", val_bs)
        if val_bs % devices:
            raise ValueError(f"validation_batch_size {val_bs} cannot be split over {devices} "
                             "devices")
        _probe(objective, model, vx, vy, val_bs)
        _check_labels(objective, model, vx, vy, "validation")

    model.eval()
    eval_graphdef = nnx.graphdef(model)
    model.train()
    graphdef, state = init_state(model, tx)
    totals = init_totals(names)
    steps_per_epoch = num_batches(n, batch_size)
    history = History()
    start_epoch, start_batch = 0, 0

    # Checkpoints: restore a run in progress.
    ckpt = None
    config = {"num_examples": n, "batch_size": batch_size, "shuffle": bool(shuffle)}
    if checkpoint_dir is not None:
        from deepmath_jax.engine.checkpoint import Checkpointer

        ckpt = Checkpointer(checkpoint_dir)
        if ckpt.latest_step() is not None:
            try:
                (state, totals), record = ckpt.restore((state, totals))
            except BaseException:
                ckpt.close()
                raise
            if record["config"] != config:
                ckpt.close()
                raise ValueError(
                    f"the checkpoint in {checkpoint_dir} was written by a run with "
                    f"{record['config']}, this one has {config}: use another checkpoint_dir "
                    "or delete it"
                )
            start_epoch, start_batch = record["epoch"], record["batch"]
            history = History({k: list(v) for k, v in record["history"].items()})
            key = jax.random.wrap_key_data(np.asarray(record["key"], np.uint32),
                                           impl=record["key_impl"])
    key_record = {"key": np.asarray(jax.random.key_data(key)).tolist(),
                  "key_impl": str(jax.random.key_impl(key))}

    train_step = make_train_step(objective, tx, graphdef=graphdef, mesh=mesh,
                                 parallel_strategy=strategy, compiler_options=compiler_options)
    eval_step = make_eval_step(objective, graphdef=eval_graphdef, mesh=mesh,
                               parallel_strategy=strategy, compiler_options=compiler_options)
    place, lift, lower = _placement(mesh, strategy)
    state, totals = lift(state), lift(totals)
    # XLA:CPU runs a sharded step's all-reduce on its small thread pool; with several steps in
    # flight, two all-reduces can wait on each other (seen on 2 cores): one at a time there.
    one_at_a_time = devices > 1 and jax.devices()[0].platform == "cpu"
    run_scan = None
    if scan:
        stats = jax.local_devices()[0].memory_stats() or {}
        if "bytes_limit" in stats and x.nbytes + y.nbytes > 0.5 * stats["bytes_limit"]:
            raise ValueError(f"scan=True copies the data ({x.nbytes + y.nbytes} bytes) to the "
                             "device, over half of its memory: use scan=False")
        run_scan = _make_scan_epoch(objective, tx, graphdef, mesh, x, y, batch_size,
                                    per_example, compiler_options)

    def save(epoch: int, batch: int) -> None:
        here = lower((state, totals))
        ckpt.save(int(jax.device_get(parallel.to_local(here[0].step))), here,
                  {"epoch": epoch, "batch": batch, "history": history.as_dict(),
                   "config": config, **key_record})

    def check() -> None:
        bad = _first_nonfinite(lower(totals))
        if bad >= 0:
            raise _nonfinite_error(bad, steps_per_epoch)

    from tqdm.auto import tqdm

    bar = tqdm(total=epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch
               + start_batch, desc=desc, unit="step", disable=not progress, leave=False,
               mininterval=0.5)
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            order_key = jax.random.fold_in(key, epoch) if shuffle else None
            first = start_batch if epoch == start_epoch else 0
            if run_scan is not None:
                state, totals = run_scan(state, totals, order_key, first, train_step, place)
                bar.update(steps_per_epoch - first)
            else:
                last_look = time.perf_counter()
                for b, batch in enumerate(
                    _device_batches((x, y), batch_size, key=order_key, start=first,
                                    per_example=per_example, place=place), start=first):
                    state, totals = train_step(state, totals, batch)
                    if one_at_a_time:
                        jax.block_until_ready(totals)
                    bar.update(1)
                    if time.perf_counter() - last_look > 1.0:  # a look now and then, not a
                        last_look = time.perf_counter()        # synchronisation per step
                        check()
                        running = _means(lower(totals))["loss"]
                        bar.set_postfix(epoch=epoch + 1, loss=f"{running:.4g}")
                    if callback is not None:
                        callback(epoch, b, state)
                    done = epoch * steps_per_epoch + b + 1
                    if (ckpt is not None and checkpoint_every is not None
                            and b + 1 < steps_per_epoch and done % checkpoint_every == 0):
                        check()
                        save(epoch, b + 1)
            check()
            row = _means(lower(totals))
            if validation is not None:
                row |= _evaluate_pass(eval_step, state, validation, val_bs, per_example, names,
                                      place, lift, lower, "val_")
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            totals = lift(init_totals(names))
            # refresh=False: the bar redraws at its own pace (a run of thousands of one-step
            # epochs would otherwise write a line per epoch)
            bar.set_postfix({"epoch": epoch + 1} | {k: f"{v:.4g}" for k, v in row.items()
                                                    if k != "seconds"}, refresh=False)
            if ckpt is not None:
                save(epoch + 1, 0)
    finally:
        bar.close()
        if ckpt is not None:
            ckpt.close()
        final = lower(state)
        if not any(getattr(a, "is_deleted", lambda: False)() for a in jax.tree.leaves(final)):
            final = parallel.to_local(final)
            nnx.update(model, final.params, final.rest)
        model.eval()
    return history


# --------------------------------------------------------------------------------------------
# evaluate / predict
# --------------------------------------------------------------------------------------------


def evaluate(
    model: nnx.Module,
    data: ArrayDataset | tuple[Any, Any],
    *,
    batch_size: int = 256,
    loss: str | LossFn = "categorical_crossentropy",
    metrics: Sequence[str | Callable] | None = None,
    mesh: Any = None,
    parallel_strategy: Strategy = "sharding",
) -> dict[str, float]:
    """Mean loss and metrics over the whole of ``data`` (Keras's ``evaluate``): the last batch
    is padded and masked (for a batch-mean loss, run at its own size). The model is used in its
    current mode (``fit`` leaves it in ``eval`` mode). Integer labels of a categorical loss
    outside 0..C−1 raise a ``ValueError`` (checked once, on the host)."""
    x, y = _as_xy(data)
    if len(x) == 0:
        raise ValueError("the evaluation data is empty")
    _check_positive("batch_size", batch_size)
    mesh = parallel.resolve_mesh(mesh)
    strategy = parallel_strategy if mesh is not None else "sharding"
    devices = parallel.data_size(mesh)
    if batch_size % devices:
        raise ValueError(f"batch_size {batch_size} cannot be split evenly over {devices} devices")
    if devices == 1:
        batch_size = min(batch_size, len(x))
    objective = resolve_loss(loss, metrics)
    per_example, names = _probe(objective, model, x, y, batch_size)
    _check_labels(objective, model, x, y, "data")
    if not per_example and len(x) % batch_size % devices:
        raise ValueError(f"a batch-mean loss leaves a last batch of {len(x) % batch_size} rows, "
                         f"which cannot be split over {devices} devices")
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    state = TrainState(params, rest, None, jnp.zeros((), jnp.int32))
    metrics_key = None if metrics is None else tuple(metrics)
    eval_step = _cached_eval_step(loss, metrics_key, names, graphdef, mesh, strategy)
    place, lift, lower = _placement(mesh, strategy)
    return _evaluate_pass(eval_step, lift(state), (x, y), batch_size, per_example, names,
                          place, lift, lower)


@functools.lru_cache(maxsize=32)
def _cached_eval_step(loss, metrics, names, graphdef, mesh, strategy):
    objective = dataclasses.replace(resolve_loss(loss, metrics), metric_names=names)
    return make_eval_step(objective, graphdef=graphdef, mesh=mesh, parallel_strategy=strategy)


def predict(model: nnx.Module, x: Any, *, batch_size: int = 256) -> np.ndarray:
    """``model(x)`` for every row of ``x`` (Keras's ``predict``), by padded batches through one
    compiled function; a NumPy array."""
    x = np.asarray(x)
    _check_positive("batch_size", batch_size)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"predict needs at least one row, got shape {x.shape}")
    graphdef, state = nnx.split(model)
    forward = _cached_forward(graphdef)
    outs = []
    for batch in batches((x, np.zeros(len(x), np.int8)), min(batch_size, len(x))):
        outs.append(np.asarray(forward(state, batch.x))[: int(batch.mask.sum())])
    return np.concatenate(outs)


@functools.lru_cache(maxsize=32)
def _cached_forward(graphdef):
    return jax.jit(lambda state, xb: nnx.merge(graphdef, state)(xb))
