"""Checkpoint and resume: a run stopped mid-epoch and resumed from its Orbax checkpoint ends
with the parameters (and history) of the run that was never stopped."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from deepmath_jax.engine import train
from deepmath_jax.engine.checkpoint import Checkpointer
from engine_toys import DropoutNet, fit, params, toy


class Stop(Exception):
    pass


def stop_at(epoch: int, batch: int):
    def callback(e, b, state):
        if (e, b) == (epoch, batch):
            raise Stop(f"interrupted at epoch {e}, batch {b}")

    return callback


def test_interrupted_run_resumes_to_the_same_parameters(tmp_path):
    x, y = toy()  # 7 batches of 32 per epoch
    run = dict(epochs=3, tx=optax.adam(1e-2), validation=(x[:40], y[:40]))
    reference = DropoutNet(rngs=nnx.Rngs(1))  # dropout: the RNG streams are in the checkpoint
    ref_hist = fit(reference, (x, y), **run)

    interrupted = DropoutNet(rngs=nnx.Rngs(1))
    with pytest.raises(Stop):
        fit(interrupted, (x, y), checkpoint_dir=tmp_path, checkpoint_every=4,
            callback=stop_at(1, 5), **run)  # saved after steps 4, 7 (epoch end), 8, 12
    assert Checkpointer(tmp_path).latest_step() == 12

    resumed = DropoutNet(rngs=nnx.Rngs(1))
    hist = fit(resumed, (x, y), checkpoint_dir=tmp_path, checkpoint_every=4, **run)
    assert hist.as_dict().keys() == ref_hist.as_dict().keys()
    # exact: the resumed run runs the same compiled steps, in the same order, from the saved
    # state (parameters, optimizer, RNG streams, the epoch's running totals) bit for bit
    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_array_equal(hist[k], ref_hist[k], err_msg=k)
    for a, b in zip(params(resumed), params(reference), strict=True):
        np.testing.assert_array_equal(a, b)

    # a finished run resumes to its end at once: same parameters, saved history
    again = DropoutNet(rngs=nnx.Rngs(9))
    hist2 = fit(again, (x, y), checkpoint_dir=tmp_path, checkpoint_every=4, **run)
    assert hist2["loss"] == hist["loss"]
    for a, b in zip(params(again), params(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_at_an_epoch_end_and_with_scan(tmp_path):
    x, y = toy()
    reference = DropoutNet(rngs=nnx.Rngs(2))
    fit(reference, (x, y), epochs=3, scan=True)
    first = DropoutNet(rngs=nnx.Rngs(2))
    fit(first, (x, y), epochs=2, scan=True, checkpoint_dir=tmp_path)  # stops after epoch 2
    resumed = DropoutNet(rngs=nnx.Rngs(2))
    hist = fit(resumed, (x, y), epochs=3, scan=True, checkpoint_dir=tmp_path)
    assert hist.epochs == 3
    for a, b in zip(params(resumed), params(reference), strict=True):  # the same steps: exact
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    x, y = toy()
    fit(DropoutNet(rngs=nnx.Rngs(0)), (x, y), epochs=1, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="written by a run with .*batch_size.: 32"):
        fit(DropoutNet(rngs=nnx.Rngs(0)), (x, y), epochs=1, batch_size=16,
            checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="does not hold this run's state .* another model or optimizer"):
        fit(nnx.Linear(20, 3, rngs=nnx.Rngs(0)), (x, y), epochs=1, loss="softmax_cross_entropy",
            checkpoint_dir=tmp_path)


def test_checkpointer_round_trip_with_keys(tmp_path):
    tree = {"w": jnp.arange(6.0).reshape(2, 3), "k": jax.random.key(4), "n": jnp.int32(7)}
    with Checkpointer(tmp_path) as ckpt:
        assert ckpt.latest_step() is None
        ckpt.save(5, tree, {"epoch": 1, "note": "x"})
        template = jax.tree.map(jnp.zeros_like, {**tree, "k": jax.random.key(0)})
        got, record = ckpt.restore(template)
    assert record == {"epoch": 1, "note": "x"}
    np.testing.assert_array_equal(got["w"], tree["w"])
    np.testing.assert_array_equal(jax.random.key_data(got["k"]), jax.random.key_data(tree["k"]))
    assert int(got["n"]) == 7
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Checkpointer(tmp_path / "empty").restore(template)


def test_checkpoint_every_must_be_positive_and_not_with_scan(tmp_path):
    x, y = toy()
    with pytest.raises(ValueError, match="checkpoint_every must be a positive integer"):
        fit(DropoutNet(rngs=nnx.Rngs(0)), (x, y), checkpoint_every=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="scan=True runs whole epochs"):
        train.fit(DropoutNet(rngs=nnx.Rngs(0)), optax.sgd(0.1), (x, y), epochs=1,
                  key=jax.random.key(0), scan=True, checkpoint_every=3, checkpoint_dir=tmp_path)
