"""Chapter 10 — *Python : tensorflow avec keras, partie 2* (Flax part 2), book lines 5435–6302.

The book's Keras programs with ``deepmath_jax.engine.models`` (Flax NNX), the data of
``deepmath_jax.engine.data`` (tensorflow-datasets) and the training engine ``deepmath_jax.engine.train``:

1. MNIST digits with 784 → p → p → 10 (σ, σ, softmax), SGD lr 0.01, batch 32, 40 epochs, for
   p = 8, 10, 15, 20, 50 (table L5617–5624) and the test predictions (L5602–5682).
2. f(x) = cos 2x + x sin 3x + √x − 2 on [0, 5] with 1 → 4 × tanh(10) → 1, three optimizers from
   the same initial weights, 4000 full-batch epochs each (L5684–5802).
3. x cos y on [−4, 4]² with 2 → 3 × ReLU(10) → 1, 1000 full-batch SGD steps (L6016–6110).
4. IMDB reviews as multi-hot vectors of the 1000 most frequent words, 1000 → 3 × ReLU(5) → σ,
   SGD, 30 epochs with the test accuracy and loss after each: over-fitting (L6112–6228).
5. CIFAR-10 with a dense network 3072 → 4 × σ(30) → softmax, adam, 50 epochs: under 50 %
   (L6230–6301).

Datasets come from ``--data-dir`` (a tensorflow-datasets folder; nothing is downloaded): a part
whose dataset is not prepared there has its rows skipped with how to supply it.
``--mnist-format-dir DIR`` runs part 1 on the MNIST-format IDX files of DIR (e.g. Debian's
Fashion-MNIST), imported into tfds's format; the book's accuracies do not apply to another
dataset (nor to ``--quick``): those rows check the band of a network that learns instead.
``--quick`` trains on small sizes (CI).
"""

from __future__ import annotations

import json
import sys
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import _keras_data as kd
from deepmath_jax.engine import models, train
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter

CHAPTER = Chapter(
    10,
    "flax_part2",
    "Python : tensorflow avec keras, partie 2 / Flax part 2",
    book_lines=(5435, 6302),
)

# Book table (L5617–5624) and the authors' script comment for p = 15 (tf2_chiffres.py).
MNIST_TABLE = {  # p: weights (an exact count), test accuracy (%), book line
    8: (6442, "90.0", 5621),
    10: (8070, "91.4", 5622),
    15: (12175, "92.6", 5620),
    20: (16330, "93.4", 5623),
    50: (42310, "94.4", 5624),
}
# Test accuracy of a 40-epoch SGD run varies with the seed (initial weights, shuffling) by a
# few tenths of a percent for these small networks; one percentage point is the yardstick
# for "reproduces the book's table" (the book prints one decimal of a single run).
ACCURACY_TOLERANCE_PCT = 1.0
# Off the book's setting (--quick, or another dataset) the book's accuracy does not apply, but a
# network that learns is clearly above the 10 % of chance on ten classes, one that does not stays
# near it. SGD 0.01 on sigmoid layers learns slowly: 3 epochs on 12 000 Fashion-MNIST images give
# 28 % (p = 8) and 45 % (p = 50); 20 % is the floor of a learning run.
LEARNING_FLOOR_PCT = 20.0
KERAS_ADAM = optax.adam(1e-3, eps=1e-7)  # Keras's 'adam' (its ε is 1e-7, optax's 1e-8)
KERAS_SGD = optax.sgd(0.01)  # Keras's 'sgd'


def seed_of(exp: Experiment, *salt: int) -> int:
    """An integer seed for ``nnx.Rngs`` derived from the experiment's key."""
    return int(jax.random.randint(exp.key(*salt), (), 0, 2**31 - 1))


def percent(x: float) -> float:
    return round(100 * float(x), 2)


# --------------------------------------------------------------------------------------------
# §1 MNIST digits
# --------------------------------------------------------------------------------------------


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
        quick_train = 12000
        src = kd.mnist_like(exp, flatten=True, train_limit=quick_train if exp.quick else None)
        if isinstance(src, str):
            for p, (_, acc, line) in MNIST_TABLE.items():
                exp.skip(f"test accuracy (%) p = {p}, 40 epochs", book_line=line,
                         book_value=acc, reason=src)
            exp.skip("prediction for test image 0 (digit)", book_line=5612, book_value="7",
                     reason=src)
            return
        print(f"  data: {src.source}\n  {len(src.train)} train / {len(src.test)} test")
        ps = [8, 50] if exp.quick else list(MNIST_TABLE)
        epochs = 3 if exp.quick else 40
        results, trained = {}, {}
        for p in ps:
            model = models.mnist_dense(p, rngs=nnx.Rngs(seed_of(exp, 10, p)))
            t0 = time.perf_counter()
            # The whole epoch as one lax.scan (the data fit in memory): same numbers as the
            # step loop, 3× faster for these small networks.
            hist = train.fit(model, KERAS_SGD, src.train, epochs=epochs, batch_size=32,
                             loss="categorical_crossentropy", key=exp.key(11, p), scan=True,
                             desc=f"p={p}")
            test = train.evaluate(model, src.test)
            results[p] = {
                "train_accuracy": hist["accuracy"][-1],
                "test_accuracy": test["accuracy"],
                "test_loss": test["loss"],
                "seconds": time.perf_counter() - t0,
                "epochs": epochs,
                "train_examples": len(src.train),
                "history": hist.as_dict(),
            }
            trained[p] = model
            print(f"  p = {p}: train {100 * hist['accuracy'][-1]:.1f}%, test "
                  f"{100 * test['accuracy']:.1f}% ({epochs} epochs, {results[p]['seconds']:.1f} s)")
            _, acc, line = MNIST_TABLE[p]
            name = f"test accuracy (%) p = {p}, {epochs} epochs"
            value = percent(test["accuracy"])
            if src.is_mnist and not exp.quick:
                exp.compare(name, book_line=line, book_value=acc, value=value,
                            tolerance=ACCURACY_TOLERANCE_PCT)
            else:
                why = (f"run on {src.label} ({src.source}), not MNIST: another dataset, the "
                       "book's value does not apply" if not src.is_mnist else
                       f"--quick: {epochs} epochs on {len(src.train)} images instead of 40 on "
                       "60 000")
                exp.compare_range(name, book_line=line, value=value, low=LEARNING_FLOOR_PCT, high=100.0,
                                  book_claim=f"{acc} % (MNIST, 40 epochs); here: learns (chance is 10 %)",
                                  reason=f"{why}: the band of a network that learns")
        exp.path("mnist_dense.json").write_text(json.dumps(
            {"data": src.source, "dataset": src.label, "results": results}, indent=2))
        digit_figures(exp, src, ps, results, trained[8])


def digit_figures(exp: Experiment, src: kd.MnistLike, ps: list[int], results: dict,
                  model: nnx.Module) -> None:
    """Accuracy against p, the learning curves, and the first 10 test images with the p = 8
    network's predictions (book figure tf2-chiffre-test-result, L5602)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ps, [100 * results[p]["test_accuracy"] for p in ps], "o-",
            label=f"{src.label} (calculé)")
    if src.is_mnist:
        ax.plot(list(MNIST_TABLE), [float(v[1]) for v in MNIST_TABLE.values()], "s--",
                label="livre (MNIST)")
    ax.set_xlabel("p (neurones par couche)")
    ax.set_ylabel("précision test (%)")
    ax.legend()
    exp.savefig(fig, "tf2-chiffres-precision")
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in ps:
        acc = results[p]["history"]["accuracy"]
        ax.plot(range(1, len(acc) + 1), [100 * a for a in acc], label=f"p = {p}")
    ax.set_xlabel("époque")
    ax.set_ylabel("précision apprentissage (%)")
    ax.legend()
    exp.savefig(fig, "tf2-chiffres-apprentissage")

    probs = train.predict(model, src.test.x[:10])
    labels = src.test.y[:10]
    fig, axes = plt.subplots(2, 5, figsize=(12, 5.5))
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(src.test.x[i].reshape(28, 28), cmap="Greys")
        ax.set_title(f"Attendu {src.class_name(labels[i])}\nPrédit "
                     f"{src.class_name(probs[i].argmax())} ({round(100 * probs[i].max())}%)",
                     fontsize=9)
        ax.axis("off")
    exp.savefig(fig, "tf2-chiffre-test-result")
    exp.explain(
        "prediction for test image 0 (class), p = 8",
        book_line=5612,
        book_value="7",
        value=int(probs[0].argmax()),
        reason=(f"tensorflow-datasets orders the test split its own way (not Keras's): test "
                f"image 0 here is a {src.class_name(labels[0])} of {src.label}, not the book's "
                f"7; the network gives it {100 * probs[0].max():.1f}%"),
    )


# --------------------------------------------------------------------------------------------
# §2 and §4 functions of one and two variables (full-batch epochs)
# --------------------------------------------------------------------------------------------


def keras_sgd_decay(lr: float, decay: float):
    """Keras 2's ``SGD(decay=α)``: δ_k = δ₀ / (1 + α k). (Keras 3 ignores ``decay`` with a warning;
    the book's listing asks for it, so it is applied here.)"""
    return lambda k: lr / (1 + decay * k)


def full_batch(model, tx, x, y, epochs: int, key, desc: str) -> np.ndarray:
    """Keras's ``fit(X, Y, epochs, batch_size=len(X))``: one gradient step per epoch, the loss
    of each epoch computed before its update (as Keras reports it)."""
    hist = train.fit(model, tx, (x, y), epochs=epochs, batch_size=len(x), loss="mse", key=key,
                     shuffle=False, scan=True, desc=desc)
    return np.asarray(hist["loss"])


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
        "adam": KERAS_ADAM,
    }
    seed = seed_of(exp, 1)
    curves, fits = {}, {}
    for i, (name, tx) in enumerate(optimizers.items()):
        model = models.function_1d(rngs=nnx.Rngs(seed))  # the same initial weights for all three
        curves[name] = full_batch(model, tx, x, y, epochs, exp.key(1, i), name.split(" (")[0])
        fits[name] = train.predict(model, x)
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
    exp.path("unevar_losses.json").write_text(json.dumps(
        {k: {"first": float(v[0]), "last": float(v[-1]), "min": float(v.min())}
         for k, v in curves.items()}, indent=2))
    for name, c in curves.items():
        print(f"  f(x), {name}: loss {c[0]:.4f} → {c[-1]:.5f}")


def two_variables(exp: Experiment) -> None:
    n = 25
    vx = np.linspace(-4, 4, n, dtype=np.float32)
    X, Y = np.meshgrid(vx, vx)
    Z = X * np.cos(Y)
    inputs = np.stack([X.ravel(), Y.ravel()], axis=1)
    model = models.function_2d(rngs=nnx.Rngs(seed_of(exp, 2)))
    # 1000 × train_on_batch(entree, sortie): 1000 full-batch steps.
    losses = full_batch(model, optax.sgd(0.01), inputs, Z.reshape(-1, 1), 1000, exp.key(2),
                        "x cos y")
    ZZ = train.predict(model, inputs).reshape(Z.shape)
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


# --------------------------------------------------------------------------------------------
# §5 IMDB reviews, §6 CIFAR-10
# --------------------------------------------------------------------------------------------

# "entre 80% et 85%" after 10 epochs (L6218): that band.
IMDB_10_EPOCHS = ("entre 80% et 85%", 80.0, 85.0)
# "fluctue autour de 85%" over epochs 10–30 (L6222): ±3 points around it.
IMDB_PLATEAU = ("85", 3.0)
# "l'erreur ne diminue plus après 5 époques" (L6226), read off a curve: the test loss first
# decreases (its lowest is not at epoch 1), and stops by about epoch 5: epochs 2 to 10.
IMDB_BEST_EPOCH = ("l'erreur ne diminue plus après 5 époques", 2, 10)


def imdb(exp: Experiment) -> None:
    """Multi-hot reviews (the 1000 most frequent words, Keras's layout), 1000 → 3 × ReLU(5) → σ,
    SGD, batch 32; test accuracy and loss after each of 30 epochs (tf2_texte_overfit.py)."""
    with exp.section("§5 IMDB 1000 → 3 × ReLU(5) → σ"):
        m = nnx.eval_shape(lambda: models.imdb_dense(rngs=nnx.Rngs(0)))
        exp.compare("weights (16 neurons)", book_line=6196, book_value=5071,
                    value=models.count_params(m))
        limit = 2500 if exp.quick else None
        pair = kd.load_splits(exp, "imdb_reviews", train_limit=limit, test_limit=limit,
                              num_words=1000)
        rows = [("test accuracy after 10 epochs (%), book: between 80 and 85", 6218,
                 IMDB_10_EPOCHS[0]),
                ("mean test accuracy over epochs 10–30 (%), book: about 85", 6222,
                 IMDB_PLATEAU[0]),
                ("epoch of the lowest test loss, book: about 5", 6226, IMDB_BEST_EPOCH[0]),
                ("lowest test loss, below ln 2 (the loss of the constant prediction ½)", 6226,
                 "l'erreur diminue (sur les données de test) au début")]
        if isinstance(pair, str):
            for name, line, book in rows:
                exp.skip(name, book_line=line, book_value=book, reason=pair)
            return
        train_ds, test_ds = pair
        print(f"  data: {train_ds.source}\n  {len(train_ds)} train / {len(test_ds)} test, "
              f"vocabulary {train_ds.vocabulary[4:12]}…")
        epochs = 3 if exp.quick else 30
        # 1000 columns (fewer only when the reviews have fewer distinct words: mock data)
        model = models.imdb_dense(train_ds.x.shape[1], rngs=nnx.Rngs(seed_of(exp, 50)))
        t0 = time.perf_counter()
        hist = train.fit(model, KERAS_SGD, train_ds, epochs=epochs, batch_size=32,
                         loss="binary_crossentropy", validation=test_ds, key=exp.key(51),
                         scan=True, desc="imdb")
        seconds = time.perf_counter() - t0
        acc, val_acc = np.asarray(hist["accuracy"]), np.asarray(hist["val_accuracy"])
        val_loss = np.asarray(hist["val_loss"])
        print(f"  IMDB: train {100 * acc[-1]:.1f}%, test {100 * val_acc[-1]:.1f}% after "
              f"{epochs} epochs ({seconds:.1f} s); lowest test loss at epoch "
              f"{int(val_loss.argmin()) + 1}")
        values = [percent(val_acc[min(10, epochs) - 1]),
                  percent(val_acc[min(10, epochs) - 1:].mean()),
                  int(val_loss.argmin()) + 1,
                  float(val_loss.min())]
        full = not exp.quick and len(train_ds) == 25000
        if full:
            (n10, l10, b10), (nplat, lplat, bplat), (nep, lep, bep), (nloss, lloss, bloss) = rows
            exp.compare_range(n10, book_line=l10, book_claim=b10, value=values[0],
                              low=IMDB_10_EPOCHS[1], high=IMDB_10_EPOCHS[2])
            exp.compare(nplat, book_line=lplat, book_value=bplat, value=values[1],
                        tolerance=IMDB_PLATEAU[1])
            exp.compare_range(nep, book_line=lep, book_claim=bep, value=values[2],
                              low=IMDB_BEST_EPOCH[1], high=IMDB_BEST_EPOCH[2],
                              reason="the test loss first decreases, then no longer after about 5 epochs")
            # A run that does not learn stays at or above ln 2 (balanced classes): the epoch of its
            # "lowest" loss means nothing; this row fails it.
            exp.compare_range(nloss, book_line=lloss, book_claim=bloss, value=values[3],
                              high=float(np.log(2)), reason="ln 2 = 0.693: predicting ½ for every review")
        else:
            for (name, line, book), value in zip(rows, values, strict=True):
                exp.explain(name, book_line=line, book_value=book, value=value,
                            reason=f"--quick: {epochs} epochs on {len(train_ds)} reviews "
                            "instead of 30 on 25 000")
        exp.path("imdb.json").write_text(json.dumps(
            {"data": train_ds.source, "seconds": seconds, "history": hist.as_dict()}, indent=2))
        overfit_figures(exp, hist)


def overfit_figures(exp: Experiment, hist: train.History) -> None:
    """The book's two over-fitting figures (tf2-texte-overfit-acc / -loss, L6220–6228)."""
    epochs = range(1, hist.epochs + 1)
    for key, ylabel, fname in [("accuracy", "précision", "tf2-texte-overfit-acc"),
                               ("loss", "erreur", "tf2-texte-overfit-loss")]:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, hist[key], label=f"{ylabel} sur données d'apprentissage")
        ax.plot(epochs, hist["val_" + key], label=f"{ylabel} sur données de test")
        ax.set_xlabel("époque")
        ax.set_ylabel(ylabel)
        ax.legend()
        exp.savefig(fig, fname)


# "moins de 50%" (L6297): an upper bound, for a network that learns: chance is 10 % (ten
# classes), a run that does not learn stays near it; 15 % is the floor of a learning run.
CIFAR_DENSE_BOOK = ("moins de 50%", 15.0, 50.0)
CIFAR_LABELS_FR = ("avion", "auto", "oiseau", "chat", "biche", "chien", "grenouille", "cheval",
                   "bateau", "camion")


def cifar_dense(exp: Experiment) -> None:
    """3072 → 4 × σ(30) → softmax on CIFAR-10, adam, batch 32, 50 epochs (L6230–6301)."""
    with exp.section("§6 CIFAR-10 3072 → 4 × σ(30) → softmax"):
        m = nnx.eval_shape(lambda: models.cifar_dense(rngs=nnx.Rngs(0)))
        exp.explain(
            "weights of the network",
            book_line=6292,
            book_value="100 000",
            value=models.count_params(m),
            expected=3072 * 30 + 30 + 3 * (30 * 30 + 30) + 30 * 10 + 10,
            exact=True,
            reason="the book rounds: 3072·30+30 + 3·(30·30+30) + 30·10+10 = 95 290 exactly",
        )
        name = "test accuracy after 50 epochs with adam (%), book: under 50"
        pair = kd.load_splits(exp, "cifar10", train_limit=5000 if exp.quick else None,
                              test_limit=2000 if exp.quick else None, flatten=True)
        if isinstance(pair, str):
            exp.skip(name, book_line=6297, book_value="<50", reason=pair)
            return
        train_ds, test_ds = pair
        print(f"  data: {train_ds.source}\n  {len(train_ds)} train / {len(test_ds)} test")
        epochs = 2 if exp.quick else 50
        model = models.cifar_dense(rngs=nnx.Rngs(seed_of(exp, 60)))
        t0 = time.perf_counter()
        hist = train.fit(model, KERAS_ADAM, train_ds, epochs=epochs, batch_size=32,
                         validation=test_ds, key=exp.key(61), scan=True, desc="cifar dense")
        seconds = time.perf_counter() - t0
        value = percent(hist["val_accuracy"][-1])
        print(f"  CIFAR-10 dense: train {100 * hist['accuracy'][-1]:.1f}%, test {value:.1f}% "
              f"after {epochs} epochs ({seconds:.1f} s)")
        if not exp.quick and len(train_ds) == 50000:
            exp.compare_range(name, book_line=6297, book_claim=CIFAR_DENSE_BOOK[0], value=value,
                              low=CIFAR_DENSE_BOOK[1], high=CIFAR_DENSE_BOOK[2],
                              reason="15 %: above the 10 % of chance (ten classes)")
        else:
            exp.explain(name.replace("50 epochs", f"{epochs} epochs"), book_line=6297,
                        book_value="<50", value=value,
                        reason=f"--quick: {epochs} epochs on {len(train_ds)} images instead of "
                        "50 on 50 000")
        exp.path("cifar_dense.json").write_text(json.dumps(
            {"data": train_ds.source, "seconds": seconds, "history": hist.as_dict()}, indent=2))
        probs = train.predict(model, test_ds.x[:9])
        fig, axes = plt.subplots(3, 3, figsize=(7, 7.8))
        for i, ax in enumerate(axes.ravel()):
            ax.imshow(test_ds.x[i].reshape(32, 32, 3), interpolation="nearest")
            ax.set_title(f"Attendu {CIFAR_LABELS_FR[test_ds.y[i]]}\nPrédit "
                         f"{CIFAR_LABELS_FR[probs[i].argmax()]} ({round(100 * probs[i].max())}%)",
                         fontsize=9)
            ax.axis("off")
        exp.savefig(fig, "tf2-images-test")


def run(exp: Experiment) -> None:
    digits(exp)
    with exp.section("§2 f(x) = cos 2x + x sin 3x + √x − 2"):
        one_variable(exp)
    with exp.section("§4 x cos y"):
        two_variables(exp)
    imdb(exp)
    cifar_dense(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run, add_arguments=kd.add_data_arguments))
