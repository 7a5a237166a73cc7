"""Chapter 10 — *Python : tensorflow avec keras, partie 2* (Flax part 2), book lines 5435–6302.

The book's Keras programs, written with ``deepmath_jax.models`` (Flax NNX) and optax:

1. MNIST digits with 784 → p → p → 10 (σ, σ, softmax), SGD lr 0.01, batch 32, 40 epochs, for
   p = 8, 10, 15, 20, 50 (table L5617–5624) and the test predictions (L5602–5682).
   Real MNIST is not to be had offline: those rows are skipped, or run on the MNIST-format data
   given with ``--mnist-format-dir`` (e.g. Fashion-MNIST) and reported as ``explained``.
2. f(x) = cos 2x + x sin 3x + √x − 2 on [0, 5] with 1 → 4 × tanh(10) → 1, three optimizers from
   the same initial weights, 4000 full-batch epochs each (L5684–5802).
3. x cos y on [−4, 4]² with 2 → 3 × ReLU(10) → 1, 1000 full-batch SGD steps (L6016–6110).
4. IMDB (L6112–6228) and CIFAR-10 with a dense network (L6230–6301): datasets not available
   offline; their rows are skipped with how to supply them.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import _keras_like as kl
from deepmath_jax import models
from deepmath_jax.experiment import Chapter, Experiment, run_chapter

CHAPTER = Chapter(
    10,
    "flax_part2",
    "Python : tensorflow avec keras, partie 2 / Flax part 2",
    book_lines=(5435, 6302),
)

# Book table (L5617–5624) and the authors' script comment for p = 15 (tf2_chiffres.py).
MNIST_TABLE = {
    8: ("6442", "90.0", 5621),
    10: ("8070", "91.4", 5622),
    15: ("12175", "92.6", 5620),
    20: ("16330", "93.4", 5623),
    50: ("42310", "94.4", 5624),
}
# Test accuracy of a 40-epoch SGD run varies with the seed (initial weights, shuffling) by a
# few tenths of a percent for these small networks; one percentage point is the yardstick
# for "reproduces the book's table" (the book prints one decimal of a single run).
ACCURACY_TOLERANCE_PCT = 1.0


def train_full_batch(model, tx, x, y, steps: int) -> np.ndarray:
    """``steps`` full-batch steps (Keras's fit with batch_size = N, or train_on_batch) as one
    ``lax.scan``; returns the loss of each step, computed before its update (as Keras reports)."""
    graphdef, params = nnx.split(model, nnx.Param)

    def loss_fn(p):
        return jnp.mean((nnx.merge(graphdef, p)(x) - y) ** 2)

    @jax.jit
    def run(params):
        def body(carry, _):
            p, o = carry
            value, g = jax.value_and_grad(loss_fn)(p)
            u, o = tx.update(g, o, p)
            return (optax.apply_updates(p, u), o), value

        (params, _), losses = jax.lax.scan(body, (params, tx.init(params)), None, length=steps)
        return params, losses

    params, losses = run(params)
    nnx.update(model, params)
    return np.asarray(losses)


def keras_sgd_decay(lr: float, decay: float):
    """Keras 2's ``SGD(decay=α)``: δ_k = δ₀ / (1 + α k). (Keras 3 ignores ``decay`` with a warning;
    the book's listing asks for it, so it is applied here.)"""
    return lambda k: lr / (1 + decay * k)


def one_variable(exp: Experiment) -> None:
    f = lambda x: np.cos(2 * x) + x * np.sin(3 * x) + np.sqrt(x) - 2  # noqa: E731 - the book's f
    x = np.linspace(0, 5, 100, dtype=np.float32).reshape(-1, 1)
    y = f(x).astype(np.float32)
    epochs = 4000
    optimizers = {
        "gradient classique (SGD 0.001)": optax.sgd(0.001),
        "gradient amélioré (SGD 0.001, Nesterov 0.9, decay 1e-7)": optax.sgd(
            keras_sgd_decay(0.001, 1e-7), momentum=0.9, nesterov=True
        ),
        "adam": optax.adam(0.001, eps=1e-7),
    }
    seed = int(jax.random.randint(exp.key(1), (), 0, 2**31 - 1))
    curves, fits = {}, {}
    for name, tx in optimizers.items():
        model = models.function_1d(rngs=nnx.Rngs(seed))  # the same initial weights for all three
        curves[name] = train_full_batch(model, tx, jnp.asarray(x), jnp.asarray(y), epochs)
        fits[name] = np.asarray(model(jnp.asarray(x)))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, y, color="blue", label="f(x) = cos 2x + x sin 3x + √x − 2")
    ax.plot(x, fits["adam"], color="red", label="réseau F(x) (adam)")
    ax.set_xlabel("x")
    ax.legend()
    exp.savefig(fig, "tf2-unevar-fonction")
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, c), color in zip(curves.items(), ["green", "blue", "red"], strict=True):
        ax.plot(c, label=name, color=color)
    ax.set_yscale("log")
    ax.set_xlabel("époque")
    ax.set_ylabel("erreur (MSE)")
    ax.legend()
    exp.savefig(fig, "unevar-fonction-leserreurs")
    exp.path("unevar_losses.json").write_text(
        __import__("json").dumps(
            {
                k: {"first": float(v[0]), "last": float(v[-1]), "min": float(v.min())}
                for k, v in curves.items()
            },
            indent=2,
        )
    )
    for name, c in curves.items():
        print(f"  f(x), {name}: loss {c[0]:.4f} → {c[-1]:.5f}")


def two_variables(exp: Experiment) -> None:
    n = 25
    vx = np.linspace(-4, 4, n, dtype=np.float32)
    X, Y = np.meshgrid(vx, vx)
    Z = X * np.cos(Y)
    inputs = np.stack([X.ravel(), Y.ravel()], axis=1)
    model = models.function_2d(rngs=nnx.Rngs(int(jax.random.randint(exp.key(2), (), 0, 2**31 - 1))))
    losses = train_full_batch(
        model, optax.sgd(0.01), jnp.asarray(inputs), jnp.asarray(Z.reshape(-1, 1)), 1000
    )
    ZZ = np.asarray(model(jnp.asarray(inputs))).reshape(Z.shape)
    for name, surfaces in [
        ("tf2-deuxvar-fonction", [(Z, "blue")]),
        ("tf2-deuxvar-fonction-approx", [(Z, "blue"), (ZZ, "red")]),
    ]:
        fig = plt.figure(figsize=(6, 5))
        ax = fig.add_subplot(projection="3d")
        for s, color in surfaces:
            ax.plot_surface(X, Y, s, color=color, alpha=0.7 if color == "blue" else 0.8)
        ax.set_xlabel("axe x")
        ax.set_ylabel("axe y")
        ax.set_zlabel("axe z")
        ax.view_init(20, -45)
        exp.savefig(fig, name)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses)
    ax.set_xlabel("étape (train_on_batch)")
    ax.set_ylabel("erreur (MSE)")
    ax.set_yscale("log")
    exp.savefig(fig, "tf2-deuxvar-erreur")
    print(f"  x cos y: loss {losses[0]:.3f} → {losses[-1]:.4f} after 1000 steps")


def digits(exp: Experiment) -> None:
    with exp.section("§1 MNIST 784 → p → p → 10"):
        for p, (weights, _, line) in MNIST_TABLE.items():
            m = nnx.eval_shape(lambda p=p: models.mnist_dense(p, rngs=nnx.Rngs(0)))
            exp.compare(
                f"weights for p = {p}",
                book_line=line,
                book_value=weights,
                value=models.count_params(m),
            )
        data = kl.mnist_format(exp)
        if data is None:
            for p, (_, acc, line) in MNIST_TABLE.items():
                exp.skip(
                    f"test accuracy (%) p = {p}, 40 epochs",
                    book_line=line,
                    book_value=acc,
                    reason="real MNIST is not available offline: "
                    + kl.HOW_TO_SUPPLY.format(name="mnist"),
                )
            exp.skip(
                "prediction for test image 0 (digit, %)",
                book_line=5612,
                book_value="7",
                reason="needs MNIST: " + kl.HOW_TO_SUPPLY.format(name="mnist"),
            )
            return
        print(
            f"  data: {data.source} ({data.name}, {len(data.x_train)} train / {len(data.x_test)} test)"
        )
        ps = [8, 50] if exp.quick else list(MNIST_TABLE)
        epochs = 3 if exp.quick else 40
        n_train = 12000 if exp.quick else len(data.x_train)
        xtr, ytr = data.x_train[:n_train].reshape(-1, 784), data.y_train[:n_train]
        xte, yte = data.x_test.reshape(-1, 784), data.y_test
        results, trained = {}, {}
        for p in ps:
            model = models.mnist_dense(
                p, rngs=nnx.Rngs(int(jax.random.randint(exp.key(10, p), (), 0, 2**31 - 1)))
            )
            t0 = time.perf_counter()
            hist = kl.fit(
                model,
                optax.sgd(0.01),
                xtr,
                ytr,
                epochs=epochs,
                batch_size=32,
                loss=kl.categorical,
                key=exp.key(11, p),
                desc=f"p={p}",
            )
            test = kl.evaluate(model, xte, yte, loss=kl.categorical)
            results[p] = {
                "train_accuracy": hist["accuracy"][-1],
                "test_accuracy": test["accuracy"],
                "test_loss": test["loss"],
                "seconds": time.perf_counter() - t0,
                "epochs": epochs,
                "train_examples": n_train,
                "history": hist,
            }
            trained[p] = model
            print(
                f"  p = {p}: train {100 * hist['accuracy'][-1]:.1f}%, test {100 * test['accuracy']:.1f}% "
                f"({epochs} epochs, {results[p]['seconds']:.1f} s)"
            )
            _, acc, line = MNIST_TABLE[p]
            name = f"test accuracy (%) p = {p}, {epochs} epochs"
            value = round(100 * test["accuracy"], 2)
            if data.is_mnist and not exp.quick:
                exp.compare(
                    name,
                    book_line=line,
                    book_value=acc,
                    value=value,
                    tolerance=ACCURACY_TOLERANCE_PCT,
                )
            else:
                why = (
                    f"run on {data.name} ({data.source}), not MNIST: another dataset, the value is "
                    "reported, not compared"
                    if not data.is_mnist
                    else f"--quick: {epochs} epochs on {n_train} images instead of 40 on 60 000"
                )
                exp.explain(name, book_line=line, book_value=acc, value=value, reason=why)
        exp.path("mnist_dense.json").write_text(
            __import__("json").dumps(
                {"data": data.source, "dataset": data.name, "results": results}, indent=2
            )
        )
        # Figures: accuracy against p; the first 10 test images with the p = 8 network.
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(
            ps,
            [100 * results[p]["test_accuracy"] for p in ps],
            "o-",
            label=f"{data.name} (calculé)",
        )
        if data.is_mnist:
            ax.plot(
                list(MNIST_TABLE),
                [float(MNIST_TABLE[p][1]) for p in MNIST_TABLE],
                "s--",
                label="livre (MNIST)",
            )
        ax.set_xlabel("p (neurones par couche)")
        ax.set_ylabel("précision test (%)")
        ax.legend()
        exp.savefig(fig, "tf2-chiffres-precision")
        probs = kl.predict(trained[8], xte[:10])
        fig, axes = plt.subplots(2, 5, figsize=(12, 5.5))
        for i, ax in enumerate(axes.ravel()):
            ax.imshow(data.x_test[i], cmap="Greys")
            ax.set_title(
                f"Attendu {yte[i]} - Prédit {probs[i].argmax()} ({round(100 * probs[i].max())}%)",
                fontsize=9,
            )
            ax.axis("off")
        exp.savefig(fig, "tf2-chiffre-test-result")
        y0 = int(probs[0].argmax())
        if data.is_mnist:
            exp.compare(
                "prediction for test image 0 (digit)", book_line=5612, book_value="7", value=y0
            )
        else:
            exp.explain(
                "prediction for test image 0 (class)",
                book_line=5612,
                book_value="7",
                value=y0,
                reason=f"{data.name}: test image 0 is not the book's digit 7 (its label is {yte[0]})",
            )


def imdb_and_cifar(exp: Experiment) -> None:
    with exp.section("§5 IMDB 1000 → 3 × ReLU(5) → σ"):
        m = nnx.eval_shape(lambda: models.imdb_dense(rngs=nnx.Rngs(0)))
        print(f"  IMDB network: {models.count_params(m)} weights (16 neurons)")
        exp.skip(
            "test accuracy after 10 epochs (between 80% and 85%)",
            book_line=6218,
            book_value="80–85",
            reason="IMDB reviews are not available offline: "
            "prepare tfds 'imdb_reviews' (tfds.builder('imdb_reviews').download_and_prepare(), "
            "needs internet) and pass --data-dir once deepmath_jax.data provides the multi-hot pipeline",
        )
    with exp.section("§6 CIFAR-10 3072 → 4 × σ(30) → softmax"):
        m = nnx.eval_shape(lambda: models.cifar_dense(rngs=nnx.Rngs(0)))
        exp.explain(
            "weights of the network",
            book_line=6292,
            book_value="100 000",
            value=models.count_params(m),
            reason="the book rounds: 3072·30+30 + 3·(30·30+30) + 30·10+10 = 95 290 exactly",
        )
        exp.skip(
            "test accuracy after 50 epochs with adam (under 50%)",
            book_line=6292,
            book_value="<50",
            reason="CIFAR-10 is not available offline: prepare tfds 'cifar10' "
            "(tfds.builder('cifar10').download_and_prepare(), needs internet) and pass --data-dir",
        )


def run(exp: Experiment) -> None:
    digits(exp)
    with exp.section("§2 f(x) = cos 2x + x sin 3x + √x − 2"):
        one_variable(exp)
    with exp.section("§4 x cos y"):
        two_variables(exp)
    imdb_and_cifar(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run, add_arguments=kl.add_data_arguments))
