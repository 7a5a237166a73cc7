"""deepmath_jax.engine.train on one device: losses against hand formulas, fit / evaluate / predict,
whole-split evaluation, reproducibility, the scan path, non-finite losses, bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from deepmath_jax.engine import train
from deepmath_jax.engine.data import ArrayDataset
from engine_toys import MLP, DropoutNet, PlainMLP, fit, params, toy

# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def test_categorical_crossentropy_hand_formula_and_logits_agree():
    z = jnp.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    p = jax.nn.softmax(z, axis=-1)
    y = jnp.array([0, 2])
    hand = -np.log(np.asarray(p)[[0, 1], [0, 2]])
    np.testing.assert_allclose(train.categorical_crossentropy(p, y), hand, rtol=1e-6)
    np.testing.assert_allclose(train.categorical_crossentropy(z, y, from_logits=True), hand,
                               rtol=1e-6)
    one_hot = jax.nn.one_hot(y, 3)
    np.testing.assert_allclose(train.categorical_crossentropy(p, one_hot), hand, rtol=1e-6)
    # Keras clips probabilities at 1e-7: a zero probability costs −ln(1e-7), not ∞
    assert float(train.categorical_crossentropy(jnp.array([[1.0, 0.0]]), jnp.array([1]))[0]) \
        == pytest.approx(-np.log(1e-7), rel=1e-6)
    np.testing.assert_allclose(train.categorical_accuracy(p, y), [1.0, 1.0])


def test_binary_crossentropy_mse_mae():
    p = jnp.array([[0.9], [0.2], [0.6]])
    y = jnp.array([1, 0, 0])
    hand = -np.array([np.log(0.9), np.log(0.8), np.log(0.4)])
    np.testing.assert_allclose(train.binary_crossentropy(p, y), hand, rtol=1e-6)
    logit = jnp.log(p / (1 - p))
    np.testing.assert_allclose(train.binary_crossentropy(logit, y, from_logits=True), hand,
                               rtol=1e-5)
    np.testing.assert_allclose(train.binary_accuracy(p, y), [1, 1, 0])
    out, target = jnp.array([[1.0, 2.0], [0.0, 0.0]]), jnp.array([[0.0, 0.0], [1.0, 3.0]])
    np.testing.assert_allclose(train.mean_squared_error(out, target), [2.5, 5.0])
    np.testing.assert_allclose(train.mean_absolute_error(out, target), [1.5, 2.0])
    np.testing.assert_allclose(train.mean_squared_error(jnp.ones((3, 1)), jnp.zeros(3)), [1, 1, 1])
    with pytest.raises(ValueError, match="do not match"):
        train.mean_squared_error(jnp.ones((3, 2)), jnp.zeros(3))


def test_resolve_loss_errors():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        train.resolve_loss("hinge")
    with pytest.raises(ValueError, match="'accuracy' needs a classification loss"):
        train.resolve_loss("mse", ["accuracy"])
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        train.resolve_loss("categorical_crossentropy", ["f1"])
    with pytest.raises(ValueError, match="callable loss returns its own metrics"):
        train.resolve_loss(lambda m, x, y: (0.0, {}), ["accuracy"])


# --------------------------------------------------------------------------------------------
# fit / evaluate / predict
# --------------------------------------------------------------------------------------------


def test_fit_learns_and_history_has_keras_keys():
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = fit(model, (x, y), epochs=4, validation=(x[:60], y[:60]))
    assert set(hist.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert hist.epochs == 4 and hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.6
    # the epoch numbers are means over every example (7 batches, the last one of 11)
    assert train.evaluate(model, (x, y))["accuracy"] > 0.6


def test_evaluate_covers_the_whole_split_exactly():
    x, y = toy(n=103)
    model = MLP(rngs=nnx.Rngs(1))
    p = np.asarray(model(jnp.asarray(x)))
    want_loss = float(np.mean(-np.log(p[np.arange(103), y])))
    want_acc = float(np.mean(p.argmax(1) == y))
    for bs in (10, 32, 103, 500):  # remainders 3, 7, 0, and one short batch
        got = train.evaluate(model, (x, y), batch_size=bs)
        assert got["loss"] == pytest.approx(want_loss, rel=1e-5)
        assert got["accuracy"] == pytest.approx(want_acc, abs=1e-12)


def test_probabilities_and_logits_paths_train_identically():
    """A model read through its probabilities (Keras's way) and the same model read through
    its logits (stable form) give the same run."""
    x, y = toy()
    stable, plain = MLP(rngs=nnx.Rngs(0)), PlainMLP(rngs=nnx.Rngs(0))
    h1, h2 = fit(stable, (x, y)), fit(plain, (x, y))
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5)
    for a, b in zip(params(stable), params(plain), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_fit_with_one_hot_labels_equals_integer_labels():
    x, y = toy()
    ds = ArrayDataset.from_arrays(x, y, num_classes=3)
    m1, m2 = MLP(rngs=nnx.Rngs(0)), MLP(rngs=nnx.Rngs(0))
    h1, h2 = fit(m1, ds), fit(m2, ds.one_hot())
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)


def test_same_seed_same_numbers_other_seed_other_numbers():
    x, y = toy()
    runs = []
    for seed in (0, 0, 1):
        model = DropoutNet(rngs=nnx.Rngs(5))
        runs.append((fit(model, (x, y), epochs=2, key=jax.random.key(seed)), params(model)))
    assert runs[0][0]["loss"] == runs[1][0]["loss"]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0]["loss"] != runs[2][0]["loss"]


def test_scan_path_equals_step_loop():
    x, y = toy()
    m1, m2 = MLP(rngs=nnx.Rngs(0)), MLP(rngs=nnx.Rngs(0))
    h1, h2 = fit(m1, (x, y)), fit(m2, (x, y), scan=True)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)
    np.testing.assert_allclose(h1["accuracy"], h2["accuracy"])
    for a, b in zip(params(m1), params(m2), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("scan", [False, True])
def test_conv_network_compiler_options_change_no_numbers(scan):
    # fit's default compiler_options="auto" (XLA's Eigen convolutions on the CPU) against XLA's
    # defaults: the same training, to float rounding
    from deepmath_jax.engine import models

    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 40).astype(np.int32)
    runs = []
    for options in ("auto", None):
        model = models.viz_cnn(rngs=nnx.Rngs(0))
        h = train.fit(model, optax.adam(1e-3), (x, y), epochs=2, batch_size=16,
                      key=jax.random.key(0), progress=False, scan=scan, compiler_options=options)
        runs.append((h, params(model)))
    np.testing.assert_allclose(runs[0][0]["loss"], runs[1][0]["loss"], rtol=1e-5)
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="compiler_options must be 'auto'"):
        train.fit(models.viz_cnn(rngs=nnx.Rngs(0)), optax.adam(1e-3), (x, y), epochs=1,
                  key=jax.random.key(0), progress=False, compiler_options="fast")


def per_example_loss(model, x, y):
    value = train.categorical_crossentropy(model(x), y)
    return value, {"acc": train.categorical_accuracy(model(x), y)}


def mean_loss(model, x, y):
    value, metrics = per_example_loss(model, x, y)
    return value.mean(), {k: v.mean() for k, v in metrics.items()}


@pytest.mark.parametrize("scan", [False, True])
def test_batch_mean_callable_loss_equals_per_example(scan):
    """A callable returning batch means takes the last batch at its own size (no padding):
    the same numbers as per-example values with the padded, masked batch."""
    x, y = toy()
    m1, m2, m3 = (MLP(rngs=nnx.Rngs(0)) for _ in range(3))
    h1 = fit(m1, (x, y), loss=per_example_loss, scan=scan)
    h2 = fit(m2, (x, y), loss=mean_loss, scan=scan)
    h3 = fit(m3, (x, y), loss="categorical_crossentropy")
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5)
    np.testing.assert_allclose(h1["acc"], h2["acc"], rtol=1e-6)
    np.testing.assert_allclose(h1["loss"], h3["loss"], rtol=1e-5)
    for a, b in zip(params(m1), params(m2), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    got = train.evaluate(m2, (x, y), loss=mean_loss, batch_size=50)
    assert got["loss"] == pytest.approx(train.evaluate(m2, (x, y))["loss"], rel=1e-5)


def test_mse_regression_and_binary():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, (100, 1)).astype(np.float32)
    y = (np.cos(2 * x) + x * np.sin(3 * x)).astype(np.float32)  # a chapter-10 style function
    model = nnx.Sequential(nnx.Linear(1, 10, rngs=nnx.Rngs(0)), jnp.tanh,
                           nnx.Linear(10, 1, rngs=nnx.Rngs(1)))
    hist = fit(model, (x, y), loss="mse", metrics=["mae"], epochs=20, batch_size=100)
    assert set(hist.keys()) == {"loss", "mae", "seconds"} and hist["loss"][-1] < hist["loss"][0]
    want = float(np.mean((train.predict(model, x) - y) ** 2))
    assert train.evaluate(model, (x, y), loss="mse")["loss"] == pytest.approx(want, rel=1e-5)

    xb = rng.normal(size=(64, 2)).astype(np.float32)
    yb = (xb[:, 0] > xb[:, 1]).astype(np.int32)
    clf = nnx.Sequential(nnx.Linear(2, 1, rngs=nnx.Rngs(0)), jax.nn.sigmoid)
    hist = fit(clf, (xb, yb), loss="binary_crossentropy", epochs=30, batch_size=16,
               tx=optax.sgd(0.5))
    assert hist["accuracy"][-1] > 0.9


def test_predict_matches_model_call():
    x, _ = toy(n=37)
    model = MLP(rngs=nnx.Rngs(0))
    out = train.predict(model, x, batch_size=16)
    assert out.shape == (37, 3)
    np.testing.assert_allclose(out, np.asarray(model(jnp.asarray(x))), rtol=1e-6)


def test_fit_leaves_model_in_eval_mode_with_trained_params():
    x, y = toy()
    model = DropoutNet(rngs=nnx.Rngs(0))
    before = params(model)
    fit(model, (x, y), epochs=1)
    assert model.drop.deterministic  # eval mode after fit, as Keras's predict
    assert any(not np.array_equal(a, b) for a, b in zip(before, params(model), strict=True))
    np.testing.assert_array_equal(train.predict(model, x[:5]), train.predict(model, x[:5]))


def test_zero_epochs_changes_nothing():
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    before = params(model)
    assert fit(model, (x, y), epochs=0).epochs == 0
    for a, b in zip(before, params(model), strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# Non-finite losses and bad input
# --------------------------------------------------------------------------------------------


def test_non_finite_loss_names_the_step_and_keeps_last_finite_params():
    x, y = toy(n=96)
    x[70] = np.nan  # batch 3 of epoch 1 (rows 64–95, batch size 32, no shuffle) → step 3
    model = MLP(rngs=nnx.Rngs(0))
    with pytest.raises(train.NonFiniteLossError, match=r"step 3 \(epoch 1, batch 3 of 3;") as info:
        fit(model, (x, y), shuffle=False, tx=optax.sgd(0.1))
    assert (info.value.step, info.value.epoch, info.value.batch) == (3, 1, 3)
    assert all(np.isfinite(a).all() for a in params(model))
    # the model holds the parameters after steps 1 and 2, as a 2-batch run leaves them
    ref = MLP(rngs=nnx.Rngs(0))
    fit(ref, (x[:64], y[:64]), shuffle=False, tx=optax.sgd(0.1), epochs=1)
    for a, b in zip(params(model), params(ref), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_non_finite_loss_step_follows_the_shuffled_order():
    x, y = toy()
    x[100] = np.inf
    key = jax.random.key(7)
    position = int(np.flatnonzero(np.asarray(jax.random.permutation(
        jax.random.fold_in(key, 0), len(x))) == 100)[0])
    with pytest.raises(train.NonFiniteLossError, match=rf"at step {position // 32 + 1} ") as info:
        fit(MLP(rngs=nnx.Rngs(0)), (x, y), key=key)
    assert (info.value.epoch, info.value.batch) == (1, position // 32 + 1)


def test_engine_and_descent_raise_one_error_class_with_the_same_numbering():
    """E(w) = w² (a 1 → 1 linear map without bias, x = 1, y = 0, mean squared error) with
    δ = 50: w_k = (1 − 2δ)^k w_0 = (−99)^k, so E(P_k) = 99^(2k) first overflows float32 at a
    known k. The chapter 8 descent names step k (the update that led to E(P_k)); the engine,
    whose loss of step k is computed at P_{k−1}, names step k + 1, does not apply it and keeps
    P_k — the same point, one class (a FloatingPointError and a ValueError)."""
    from deepmath_jax.optim import descent

    delta = 50.0
    top = float(np.finfo(np.float32).max)
    k = int(np.ceil(np.log(top) / (2 * np.log(99.0))))  # the first k with 99^(2k) > max
    assert 99.0 ** (2 * k) > top > 99.0 ** (2 * (k - 1))
    f = lambda p: p[0] ** 2  # noqa: E731
    with pytest.raises(descent.NonFiniteLossError) as by_descent:
        descent.descend(f, jnp.array([1.0]), descent.gradient_descent(delta), 2 * k)
    assert by_descent.value.step == k
    points = descent.descend(f, jnp.array([1.0]), descent.gradient_descent(delta), 2 * k,
                             check=False).points

    model = nnx.Linear(1, 1, use_bias=False, rngs=nnx.Rngs(0))
    model.kernel[...] = jnp.ones((1, 1))
    # two identical examples, batches of 1: step s is epoch ⌈s/2⌉, batch 2 − s % 2
    data = (np.ones((2, 1), np.float32), np.zeros(2, np.float32))
    with pytest.raises(train.NonFiniteLossError) as by_engine:
        train.fit(model, optax.sgd(delta), data, epochs=2 * k, batch_size=1, loss="mse",
                  shuffle=False, key=jax.random.key(0), progress=False)
    err = by_engine.value
    assert type(err) is type(by_descent.value) is descent.NonFiniteLossError
    assert isinstance(err, FloatingPointError) and isinstance(err, ValueError)
    assert (err.step, err.epoch, err.batch) == (k + 1, k // 2 + 1, k % 2 + 1)
    assert f"at step {k + 1} (epoch {k // 2 + 1}, batch {k % 2 + 1} of 2;" in str(err)
    # the engine keeps P_k: k updates of two float32 roundings each (δ·g, then w − δ·g)
    np.testing.assert_allclose(np.asarray(model.kernel[...]).ravel(), np.asarray(points[k]),
                               rtol=2 * k * np.finfo(np.float32).eps, atol=0)


def test_bad_input_is_reported_clearly():
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="cannot be computed on inputs of shape"):
        fit(model, (x[:, :5], y))
    with pytest.raises(ValueError, match="categorical labels must be"):
        fit(model, (x, np.zeros((len(x), 7), np.float32)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fit(model, (x, y), batch_size=0)
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        fit(model, (x, y), epochs=-1)
    with pytest.raises(ValueError, match="x has 203 rows but y has 10"):
        fit(model, (x, y[:10]))
    with pytest.raises(ValueError, match="training data is empty"):
        fit(model, (x[:0], y[:0]))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        fit(model, (x, y), key=0)
    with pytest.raises(ValueError, match="batch mean .* or per-example"):
        fit(model, (x, y), loss=lambda m, xb, yb: (jnp.zeros((2, 2)), {}))


def test_out_of_range_integer_labels_are_refused_before_training():
    """Labels 7 or −1 with 3 classes: one_hot gives a zero row, a loss of 0, and training goes
    on silently; fit and evaluate refuse them (train, validation, evaluation data), naming the
    value, its position, how many, and the range 0..C−1 — before any step."""
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    before = params(model)
    bad = y.copy()
    bad[12], bad[40], bad[41] = 7, -1, 3
    msg = r"train: class labels must be integers in 0\.\.2 \(the model has 3 outputs\), found 7 " \
          r"at position 12 \(3 of 203 labels out of range, from -1 to 7\)"
    with pytest.raises(ValueError, match=msg):
        fit(model, (x, bad))
    with pytest.raises(ValueError, match=msg):  # an ArrayDataset, logits loss, scan path
        fit(model, ArrayDataset(x, bad, "toy", "train", 3, "test"), scan=True,
            loss="softmax_cross_entropy")
    only_negative = y.copy()
    only_negative[5] = -1
    with pytest.raises(ValueError, match=r"found -1 at position 5 \(1 of 203"):
        fit(PlainMLP(rngs=nnx.Rngs(0)), (x, only_negative))
    with pytest.raises(ValueError, match=r"validation: class labels .* found 7 at position 12"):
        fit(model, (x, y), validation=(x, bad))
    with pytest.raises(ValueError, match=r"data: class labels .* 0\.\.2 .* found 7 at position 12"):
        train.evaluate(model, (x, bad))
    for a, b in zip(before, params(model), strict=True):  # no step was taken
        np.testing.assert_array_equal(a, b)
    # in range, and one-hot rows or a callable loss (its own business), are not refused
    train.evaluate(model, (x, y))
    train.evaluate(model, (x, np.eye(3, dtype=np.float32)[y]))
    train.evaluate(model, (x, bad), loss=lambda m, xb, yb: (jnp.sum(m(xb), -1), {}))


def test_categorical_crossentropy_out_of_range_labels_raise_eagerly_and_are_nan_under_jit():
    z = jnp.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])
    p = jax.nn.softmax(z, axis=-1)
    labels = jnp.array([7, 2, -1])
    for outputs, logits in ((p, False), (z, True)):
        with pytest.raises(ValueError, match=r"integers in 0\.\.2 .* found 7 at position 0 "
                                             r"\(2 of 3 labels out of range, from -1 to 7\)"):
            train.categorical_crossentropy(outputs, labels, from_logits=logits)
        with pytest.raises(ValueError, match=r"found 3 at position 1"):
            train.categorical_crossentropy(outputs, np.array([0, 3, 1]), from_logits=logits)
        # traced labels cannot raise: their loss is NaN (as optax's for a label ≥ C), never 0
        got = np.asarray(jax.jit(lambda o, y, lg=logits: train.categorical_crossentropy(
            o, y, from_logits=lg))(outputs, labels))
        assert np.isnan(got[0]) and np.isnan(got[2])
        assert got[1] == pytest.approx(-np.log(float(p[1, 2])), rel=1e-6)


class Bigram(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs) -> None:
        self.embed = nnx.Embed(30, 8, rngs=rngs)
        self.out = nnx.Linear(8, 30, rngs=rngs)

    def __call__(self, ids):
        return self.out(self.embed(ids))


def test_token_ids_with_a_batch_mean_callable_loss():
    """Integer inputs (N,) and a loss returning the batch mean with no metrics (the ChatGPT
    chapters' use): trains, validates, and the progress bar runs."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, 1000).astype(np.int32)
    x, y = ids[:-1], (ids[1:] + ids[:-1]) % 30

    def lm_loss(model, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean(), {}

    model = Bigram(rngs=nnx.Rngs(0))
    hist = train.fit(model, optax.adam(3e-2), (x, y), epochs=3, batch_size=256, loss=lm_loss,
                     metrics=(), validation=(x[:100], y[:100]), key=jax.random.key(1))
    assert set(hist.keys()) == {"loss", "val_loss", "seconds"}
    assert hist["loss"][-1] < hist["loss"][0] < np.log(30) + 0.5
    got = train.evaluate(model, (x, y), loss=lm_loss, batch_size=256)["loss"]
    logits = np.asarray(model(jnp.asarray(x)), np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1,
                                                                             keepdims=True)) \
        - logits.max(1, keepdims=True)
    assert got == pytest.approx(float(-logp[np.arange(len(y)), y].mean()), rel=1e-5)
