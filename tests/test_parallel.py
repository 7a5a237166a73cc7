"""Data parallelism on the 4 simulated CPU devices of conftest: the sharded runs (jit with
NamedSharding, the per-device step under shard_map and under pmap) give the losses and
parameters of one device."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import Mesh

from deepmath_jax.engine import parallel, train
from deepmath_jax.engine.data import Batch, batches
from engine_toys import (
    DROPOUT_FORWARD,
    DROPOUT_STEP,
    FORWARD,
    MLP,
    STEP,
    DropoutNet,
    fit,
    params,
    toy,
)
from helpers import assert_float32_close

pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (simulated) devices")

# SGD: the update is linear in the gradient, so the float32 summation order of the devices
# moves the parameters by ~1e-7. (Adam divides by √v: on a gradient that is nearly 0 it turns
# such round-off into a step of the learning rate's size.)
SGD = optax.sgd(0.3)

# Float32 bounds (helpers: n·eps·scale, the largest entry as scale; the terms per example and
# per step in engine_toys). SGD moves the parameters linearly in the gradient, so the errors of
# a run add up over its steps: 3 epochs of 203 examples in batches of 32 (the last of 11).
STEPS = 3 * 7


@pytest.fixture(scope="module")
def single():
    """The one-device reference run (203 examples: the last batch of 32 has 11)."""
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = fit(model, (x, y), validation=(x[:50], y[:50]), tx=SGD)
    return hist, params(model)


def close(a, b, reduction):
    for u, v in zip(a, b, strict=True):
        assert_float32_close(u, v, reduction=reduction)


def same_history(hist, ref, step=STEP, forward=FORWARD):
    """Losses within the bound of the run plus one epoch mean (203 training, 50 validation
    examples); accuracies equal: counts of right answers, the same predictions (unless an
    example's two best logits lie within round-off of each other)."""
    for k, n in (("loss", 203), ("val_loss", 50)):
        if k in ref.as_dict():
            assert_float32_close(hist[k], ref[k], reduction=STEPS * step + forward + n, err_msg=k)
    for k in ("accuracy", "val_accuracy"):
        if k in ref.as_dict():
            np.testing.assert_array_equal(hist[k], ref[k], err_msg=k)


@pytest.mark.parametrize("strategy", ["sharding", "shard_map", "pmap"])
def test_sharded_fit_equals_one_device(single, strategy):
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = fit(model, (x, y), validation=(x[:50], y[:50]), mesh="auto",
               parallel_strategy=strategy, validation_batch_size=64, tx=SGD)
    ref_hist, ref_params = single
    same_history(hist, ref_hist)
    close(params(model), ref_params, STEPS * STEP)


def test_scan_over_a_mesh_equals_one_device(single):
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = fit(model, (x, y), validation=(x[:50], y[:50]), mesh="auto", scan=True,
               validation_batch_size=64, tx=SGD)
    same_history(hist, single[0])
    close(params(model), single[1], STEPS * STEP)


@pytest.mark.parametrize("strategy", ["sharding", "shard_map", "pmap"])
def test_sharded_evaluate_equals_one_device(strategy):
    x, y = toy(n=103)
    model = MLP(rngs=nnx.Rngs(2))
    ref = train.evaluate(model, (x, y), batch_size=32)
    got = train.evaluate(model, (x, y), batch_size=32, mesh="auto", parallel_strategy=strategy)
    # one example's loss, then the mean over 103 (terms ≥ 0: Σ|terms| is the loss)
    assert_float32_close(got["loss"], ref["loss"], reduction=FORWARD + 103)
    assert got["accuracy"] == ref["accuracy"]


def test_one_per_device_step_serves_shard_map_and_pmap():
    """The same per-device function (explicit lax.pmean of the gradients) under jax.shard_map
    and jax.pmap makes the step of one device."""
    x, y = toy(n=32)
    model = MLP(rngs=nnx.Rngs(0))
    tx = optax.sgd(0.5)
    graphdef, state = train.init_state(model, tx)
    totals = train.init_totals(["accuracy"])
    batch = next(batches((x, y), 32))
    one = jax.jit(train.make_train_step("categorical_crossentropy", tx, graphdef=graphdef,
                                        donate=False))
    s1, t1 = one(state, totals, batch)

    per_device = train.per_device_train_step("categorical_crossentropy", tx, graphdef=graphdef)
    mesh = parallel.data_mesh()
    mapped = parallel.shard_map_step(per_device, mesh, sharded_args=(False, False, True))
    s2, t2 = mapped(state, totals, parallel.put_batch(batch, mesh))
    pmapped = parallel.pmap_step(per_device)
    s3, t3 = pmapped(parallel.stack(state, 4), parallel.stack(totals, 4),
                     parallel.split_rows(batch, 4))
    s3, t3 = parallel.unstack((s3, t3))
    for s, t in ((s2, t2), (s3, t3)):
        close(jax.tree.leaves(s.params), jax.tree.leaves(s1.params), STEP)  # one step
        assert_float32_close(t["loss"], t1["loss"], reduction=FORWARD + 32)  # the batch's total
        assert float(t["count"]) == 32 and int(s.step) == 1


def test_dropout_model_per_device_streams():
    """Dropout under the per-device step (shard_map; pmap runs the same function): each
    device folds its index into the RNG stream; the state stays replicated and the run is
    reproducible."""
    strategy = "shard_map"
    x, y = toy()
    runs = []
    for _ in range(2):
        model = DropoutNet(rngs=nnx.Rngs(3))
        runs.append((fit(model, (x[:96], y[:96]), epochs=1, mesh="auto",
                         parallel_strategy=strategy), params(model)))
    assert runs[0][0]["loss"] == runs[1][0]["loss"]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(runs[0][0]["loss"]).all()


def test_dropout_sharding_strategy_equals_one_device():
    """With jit + NamedSharding the program is the one-device program: same dropout masks."""
    x, y = toy()
    m1, m4 = DropoutNet(rngs=nnx.Rngs(3)), DropoutNet(rngs=nnx.Rngs(3))
    h1, h4 = fit(m1, (x, y), tx=SGD), fit(m4, (x, y), mesh="auto", tx=SGD)
    same_history(h4, h1, DROPOUT_STEP, DROPOUT_FORWARD)
    close(params(m4), params(m1), STEPS * DROPOUT_STEP)


def test_mesh_errors():
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="batch_size 30 cannot be split evenly over 4 devices"):
        fit(model, (x, y), batch_size=30, mesh="auto")
    odd = Mesh(np.array(jax.devices()), ("batch",))
    with pytest.raises(ValueError, match="needs an axis named 'data'"):
        fit(model, (x, y), mesh=odd)
    with pytest.raises(ValueError, match="mesh must be None, 'auto'"):
        fit(model, (x, y), mesh="all")
    with pytest.raises(ValueError, match="parallel_strategy must be one of"):
        fit(model, (x, y), mesh="auto", parallel_strategy="dp")
    with pytest.raises(ValueError, match="scan=True with a mesh needs"):
        fit(model, (x, y), mesh="auto", parallel_strategy="pmap", scan=True)
    with pytest.raises(ValueError, match="cannot be split over 4 devices"):
        parallel.put_batch(Batch(np.zeros((6, 2)), np.zeros(6), np.ones(6)), parallel.data_mesh())


def test_data_mesh_is_auto_and_spans_devices():
    mesh = parallel.data_mesh()
    assert mesh.axis_names == ("data",) and mesh.size == jax.device_count()
    assert mesh.axis_types == (jax.sharding.AxisType.Auto,)
    assert parallel.resolve_mesh(None) is None
    rep = parallel.replicate({"a": jnp.ones(3), "k": jax.random.key(0)}, mesh)
    assert rep["a"].sharding.is_fully_replicated
    assert jnp.issubdtype(rep["k"].dtype, jax.dtypes.prng_key)
