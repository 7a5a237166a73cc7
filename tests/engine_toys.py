"""Small models and data shared by the engine tests (test_train, test_parallel,
test_checkpoint, test_distributed and its worker)."""

from __future__ import annotations

import jax
import numpy as np
import optax
from flax import nnx

from deepmath_jax.engine import train


class MLP(nnx.Module):
    """20 → 16 σ → 3 softmax, with the ``logits`` / ``output_activation`` protocol."""

    output_activation = "softmax"

    def __init__(self, *, rngs: nnx.Rngs, d_in: int = 20, classes: int = 3) -> None:
        self.hidden = nnx.Linear(d_in, 16, rngs=rngs)
        self.out = nnx.Linear(16, classes, rngs=rngs)

    def logits(self, x):
        return self.out(jax.nn.sigmoid(self.hidden(x)))

    def __call__(self, x):
        return jax.nn.softmax(self.logits(x), axis=-1)


# Float32 round-off (tests/helpers.py): the terms that reach one output. One example's loss
# through MLP sums the pre-activations (20 + 1, 16 + 1) and the softmax (3); one SGD step on a
# batch of 32 adds, for a parameter's update, the output → hidden backward product (3) and the
# sum over the batch (32). DropoutNet has 32 hidden units.
FORWARD = (20 + 1) + (16 + 1) + 3
STEP = FORWARD + 3 + 32
DROPOUT_FORWARD = (20 + 1) + (32 + 1) + 3
DROPOUT_STEP = DROPOUT_FORWARD + 3 + 32


class PlainMLP(nnx.Module):
    """The same network without ``logits``: the engine reads probabilities, as Keras does."""

    def __init__(self, *, rngs: nnx.Rngs) -> None:
        self.inner = MLP(rngs=rngs)

    def __call__(self, x):
        return self.inner(x)


class DropoutNet(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs) -> None:
        self.hidden = nnx.Linear(20, 32, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        self.out = nnx.Linear(32, 3, rngs=rngs)

    def __call__(self, x):
        return jax.nn.softmax(self.out(self.drop(jax.nn.relu(self.hidden(x)))), axis=-1)


def toy(n: int = 203, d: int = 20, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, classes)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1).astype(np.int32)


def params(model):
    return [np.asarray(a) for a in jax.tree.leaves(nnx.state(model, nnx.Param))]


def fit(model, data, **kw):
    kw.setdefault("epochs", 3)
    kw.setdefault("batch_size", 32)
    kw.setdefault("key", jax.random.key(0))
    kw.setdefault("progress", False)
    return train.fit(model, kw.pop("tx", optax.adam(1e-2)), data, **kw)
