"""Shared by the Keras chapters' experiments (ch10, ch14): data sources and a Keras-like fit.

- ``mnist_format(exp)``: the MNIST-format dataset the run was given (``--mnist-format-dir``,
  raw IDX files, gzipped or not), or real MNIST through ``deepmath_jax.data`` when it is
  prepared in ``--data-dir``; ``None`` when neither is there (the rows are then skipped).
- ``fit`` / ``evaluate``: Keras's ``model.fit`` semantics (shuffle every epoch, keep the last
  incomplete batch, mean loss over the epoch) with one ``jax.jit`` train step on
  ``(graphdef, state)``, the state donated.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

HOW_TO_SUPPLY = (
    "prepare it with tensorflow-datasets (tfds.builder('{name}').download_and_prepare(), needs "
    "internet) and pass --data-dir, or pass --mnist-format-dir DIR with MNIST-format IDX files "
    "(train-images-idx3-ubyte[.gz], …; add --mnist-format-is-mnist when they are the real MNIST)"
)


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Train/test images (N, 28, 28) float32 in [0, 1] and int labels, with their origin."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str  # "mnist" or the other dataset's name
    source: str

    @property
    def is_mnist(self) -> bool:
        return self.name == "mnist"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format): magic 0 0 8 ndim, big-endian dims, uint8 payload."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, payload has {data.size} bytes")
    return data.reshape(dims)


def _idx(folder: Path, stem: str) -> np.ndarray:
    for suffix in (".gz", ""):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return read_idx(path)
    raise FileNotFoundError(
        f"{folder} has no {stem}[.gz] (an MNIST-format folder needs the 4 IDX files)"
    )


def mnist_format(exp: Any) -> ImageData | None:
    folder = exp.options.get("mnist_format_dir")
    if folder:
        folder = Path(folder)
        xtr, ytr = _idx(folder, "train-images-idx3-ubyte"), _idx(folder, "train-labels-idx1-ubyte")
        xte, yte = _idx(folder, "t10k-images-idx3-ubyte"), _idx(folder, "t10k-labels-idx1-ubyte")
        is_mnist = bool(exp.options.get("mnist_format_is_mnist"))
        name = (
            "mnist"
            if is_mnist
            else ("fashion_mnist" if "fashion" in str(folder).lower() else folder.name)
        )
        return ImageData(
            xtr.astype(np.float32) / 255,
            ytr.astype(np.int32),
            xte.astype(np.float32) / 255,
            yte.astype(np.int32),
            name,
            f"IDX files in {folder}",
        )
    try:  # real MNIST through the engine's tensorflow-datasets pipeline, when prepared locally
        from deepmath_jax import data  # type: ignore[attr-defined]

        train = data.load("mnist", "train", data_dir=exp.data_dir, download=False)
        test = data.load("mnist", "test", data_dir=exp.data_dir, download=False)
    except (ImportError, FileNotFoundError, AttributeError):
        return None
    return ImageData(
        np.asarray(train.x, np.float32).reshape(-1, 28, 28),
        np.asarray(train.y, np.int32),
        np.asarray(test.x, np.float32).reshape(-1, 28, 28),
        np.asarray(test.y, np.int32),
        "mnist",
        str(train.source),
    )


def add_data_arguments(parser: Any) -> None:
    parser.add_argument(
        "--mnist-format-dir",
        default=None,
        help="folder of MNIST-format IDX files (e.g. Debian's dataset-fashion-mnist: "
        "/usr/share/datasets/fashion-mnist) used where the book uses MNIST",
    )
    parser.add_argument(
        "--mnist-format-is-mnist",
        action="store_true",
        help="the IDX files are the real MNIST: compare with the book's accuracies",
    )


# --------------------------------------------------------------------------------------------
# Losses (on the model's logits) and a Keras-like fit
# --------------------------------------------------------------------------------------------

LossFn = Callable[[nnx.Module, jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


def categorical(model: nnx.Module, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Keras's categorical cross-entropy of the softmax output, from the logits (stable form);
    per-example losses and correct predictions."""
    logits = model.logits(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y), jnp.argmax(logits, -1) == y


def binary(model: nnx.Module, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Keras's binary cross-entropy of the sigmoid output, from the logit."""
    z = model.logits(x)[:, 0]
    return optax.sigmoid_binary_cross_entropy(z, y.astype(z.dtype)), (z > 0) == (y > 0)


def mse(model: nnx.Module, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Keras's mean squared error: mean over the outputs of each example."""
    err = jnp.mean((model(x) - y) ** 2, axis=-1)
    return err, jnp.zeros_like(err, dtype=bool)


def _masked_step(graphdef, loss_fn, tx):
    def loss(params, rest, x, y, mask):
        model = nnx.merge(graphdef, params, rest)
        per_example, correct = loss_fn(model, x, y)
        n = jnp.maximum(mask.sum(), 1)
        value = jnp.sum(per_example * mask) / n
        return value, (jnp.sum(correct * mask), nnx.state(model, nnx.Not(nnx.Param)))

    def step(params, rest, opt_state, acc, x, y, mask):
        (value, (correct, rest)), grads = jax.value_and_grad(loss, has_aux=True)(
            params, rest, x, y, mask
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        # running sums on the device: no host sync per step
        acc = acc + jnp.stack([value * mask.sum(), correct.astype(jnp.float32)])
        return optax.apply_updates(params, updates), rest, opt_state, acc

    return jax.jit(step, donate_argnums=(0, 1, 2, 3))


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    return (
        a
        if len(a) == size
        else np.concatenate([a, np.zeros((size - len(a), *a.shape[1:]), a.dtype)])
    )


def fit(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    loss: LossFn,
    key: jax.Array,
    validation=None,
    desc: str = "fit",
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` in place like Keras's ``fit``; per-epoch loss/accuracy (and validation)."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    opt_state = tx.init(params)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = _masked_step(graphdef, loss, tx)
    n = len(x)
    history: dict[str, list[float]] = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
    }
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), n))
        acc = jnp.zeros(2, jnp.float32)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            mask = _pad(np.ones(len(idx), np.float32), batch_size)
            params, rest, opt_state, acc = step(
                params,
                rest,
                opt_state,
                acc,
                _pad(x[idx], batch_size),
                _pad(y[idx], batch_size),
                mask,
            )
        total, correct = (float(v) for v in acc)
        history["loss"].append(total / n)
        history["accuracy"].append(correct / n)
        nnx.update(model, params, rest)
        if not np.isfinite(history["loss"][-1]):
            raise FloatingPointError(f"{desc}: non-finite loss at epoch {epoch + 1}")
        if validation is not None:
            model.eval()
            v = evaluate(model, *validation, loss=loss, batch_size=max(batch_size, 500))
            model.train()
            history["val_loss"].append(v["loss"])
            history["val_accuracy"].append(v["accuracy"])
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", acc=f"{history['accuracy'][-1]:.4f}")
    nnx.update(model, params, rest)
    model.eval()
    return history


_EVAL_CACHE: dict[Any, Any] = {}


def evaluate(
    model: nnx.Module, x: np.ndarray, y: np.ndarray, *, loss: LossFn, batch_size: int = 1000
) -> dict[str, float]:
    """Mean loss and accuracy over the whole split (last batch padded and masked)."""
    graphdef, state = nnx.split(model)
    key = (graphdef, loss, batch_size)
    if key not in _EVAL_CACHE:

        def batch_eval(state, xb, yb, mask):
            per_example, correct = loss(nnx.merge(graphdef, state), xb, yb)
            return jnp.sum(per_example * mask), jnp.sum(correct * mask)

        _EVAL_CACHE[key] = jax.jit(batch_eval)
    f = _EVAL_CACHE[key]
    total, correct = 0.0, 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        mask = _pad(np.ones(len(xb), np.float32), batch_size)
        t, c = f(state, _pad(xb, batch_size), _pad(yb, batch_size), mask)
        total += float(t)
        correct += float(c)
    return {"loss": total / len(x), "accuracy": correct / len(x)}


def predict(model: nnx.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The Keras output (probabilities) for every row of ``x``."""
    graphdef, state = nnx.split(model)
    f = jax.jit(lambda s, xb: nnx.merge(graphdef, s)(xb))
    return np.concatenate(
        [np.asarray(f(state, x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    )
