"""Chapter 16 — Probabilités / Probabilities (book lines 8017–8357).

Softmax and argmax, the loss functions with the book's examples, the Gaussian law and the
standardisation of the heights sample, dropout with its Bernoulli draws — and the figures the
chapter draws (Heaviside and σ, Gaussian curves, dropout).
"""

from __future__ import annotations

import math
import sys

import jax

jax.config.update("jax_enable_x64", True)  # the book's numbers are float64 computations

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.probability import losses  # noqa: E402
from deepmath_jax.calculus.activations import heaviside, sigmoid  # noqa: E402
from deepmath_jax.probability.dropout import bernoulli_mask, dropout  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.probability.normalization import BatchNorm, standardize  # noqa: E402
from deepmath_jax.probability.distributions import (  # noqa: E402
    gaussian_density,
    rank_of_max,
    softmax,
    softmax_jacobian,
    standard_deviation,
    variance,
)

CHAPTER = Chapter(16, "probabilities", "Probabilités / Probabilities", book_lines=(8017, 8357))


def softmax_section(exp: Experiment) -> None:
    x = jnp.array([3.0, 1, 8, 6, 0])
    p = softmax(x)
    exp.compare("argmax(3, 1, 8, 6, 0) (1-based rank)", book_line=8053, book_value=3, value=int(rank_of_max(x)))
    exp.compare(
        "softmax(3, 1, 8, 6, 0)",
        book_line=8071,
        book_value=["0.0059", "0.0008", "0.8746", "0.1184", "0.0003"],
        value=p,
    )
    # The Jacobian of L8081 beside jax.jacobian: the hand formula is what backprop uses.
    exp.agree("the book's Jacobian of softmax (L8081) at (3, 1, 8, 6, 0)", book_line=8081, ours=softmax_jacobian(x),
              reference=jax.jacobian(softmax)(x), tolerance=1e-15, reference_name="jax.jacobian")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    xs = jnp.linspace(-6, 6, 601)
    axes[0].plot(xs, heaviside(xs), label="H(x)")
    axes[0].plot(xs, sigmoid(xs), label="σ(x)")
    axes[0].axhline(0.5, color="gray", lw=0.5, ls="--")
    axes[0].set_title("Heaviside and sigmoid (L8029–8042)")
    axes[0].legend()
    axes[1].bar([f"x{i + 1}={v:g}" for i, v in enumerate(np.asarray(x))], np.asarray(p), color="tab:blue")
    for i, v in enumerate(np.asarray(p)):
        axes[1].text(i, v + 0.01, f"{v:.4f}", ha="center", fontsize=8)
    axes[1].set_title("softmax(3, 1, 8, 6, 0): argmax at rank 3")
    exp.savefig(fig, "softmax")


def losses_section(exp: Experiment) -> None:
    y, yp = jnp.array([1.0, 2, 5, 1, 3]), jnp.array([1.2, 1.9, 4.5, 1.1, 2.7])
    exp.compare("mean squared error", book_line=8108, book_value="0.08", value=float(losses.mean_squared_error(y, yp)))
    exp.compare("mean absolute error", book_line=8122, book_value="0.24", value=float(losses.mean_absolute_error(y, yp)))

    y2, yp2 = jnp.array([1.0, 5, 10, 100]), jnp.array([2.0, 4, 8, 105])
    msle = float(losses.mean_squared_logarithmic_error(y2, yp2))
    mae2 = float(losses.mean_absolute_error(y2, yp2))
    share_mae = 100 * float(jnp.abs(y2[3] - yp2[3]) / 4) / mae2
    share_msle = 100 * float((jnp.log1p(y2[3]) - jnp.log1p(yp2[3])) ** 2 / 4) / msle
    exp.compare("mean squared logarithmic error", book_line=8140, book_value="0.060", value=msle)
    exp.compare("mean absolute error E' of the same data", book_line=8142, book_value="2.25", value=mae2)
    # "contribue à 55 %": the pair (100, 105) makes 5/4 of E' = 2.25, i.e. 55.6 % (truncated).
    exp.compare("share of (100, 105) in E' (%)", book_line=8142, book_value="55", value=share_mae)
    exp.compare("share of (100, 105) in the MSLE is below 1 %", book_line=8142, book_value=True, value=share_msle < 1)

    yb, ypb = jnp.array([1.0, 0, 1, 1, 0, 1]), jnp.array([0.9, 0.2, 0.8, 1.0, 0.1, 0.7])
    exp.compare("binary cross-entropy", book_line=8160, book_value="0.17", value=float(losses.binary_crossentropy(yb, ypb)))
    # The book describes the categorical cross-entropy in words only: with a one-hot y of rank 3
    # it is −ln p₃, here for p = softmax(3, 1, 8, 6, 0), written out with math.
    scores = [3.0, 1, 8, 6, 0]
    exp.agree(
        "categorical cross-entropy of one-hot y (rank 3) and p = softmax(3, 1, 8, 6, 0)",
        book_line=8166,
        ours=float(losses.categorical_crossentropy(jax.nn.one_hot(jnp.array([2]), 5), softmax(jnp.array([scores])))),
        reference=-math.log(math.exp(scores[2]) / sum(math.exp(t) for t in scores)),
        tolerance=1e-12,
        reference_name="−ln p₃ (E = −(1/N)ΣΣ y ln p, Keras' formula)",
    )

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    i = np.arange(1, 6)
    axes[0].bar(i - 0.2, np.asarray((y - yp) ** 2), 0.4, label="(y − ỹ)²  → MSE 0.08")
    axes[0].bar(i + 0.2, np.asarray(jnp.abs(y - yp)), 0.4, label="|y − ỹ|  → MAE 0.24")
    axes[0].set_title("Per-sample errors, example of L8104")
    axes[0].legend(fontsize=8)
    j = np.arange(1, 5)
    axes[1].bar(j - 0.2, np.asarray(jnp.abs(y2 - yp2)) / 4 / mae2, 0.4, label="share of MAE")
    axes[1].bar(j + 0.2, np.asarray((jnp.log1p(y2) - jnp.log1p(yp2)) ** 2) / 4 / msle, 0.4, label="share of MSLE")
    axes[1].set_xticks(j, ["1→2", "5→4", "10→8", "100→105"])
    axes[1].set_title("Large values dominate the MAE, not the MSLE")
    axes[1].legend(fontsize=8)
    q = jnp.linspace(0.001, 0.999, 500)
    axes[2].plot(q, -jnp.log(q), label="y = 1: −ln ỹ")
    axes[2].plot(q, -jnp.log(1 - q), label="y = 0: −ln(1 − ỹ)")
    axes[2].set_ylim(0, 5)
    axes[2].set_title("Binary cross-entropy terms")
    axes[2].legend(fontsize=8)
    exp.savefig(fig, "losses")


def gauss_section(exp: Experiment) -> None:
    heights = jnp.array([172.0, 165, 187, 181, 167, 184, 168, 174, 180, 186])
    mu, var, sigma = float(jnp.mean(heights)), float(variance(heights)), float(standard_deviation(heights))
    exp.compare("mean μ of the heights", book_line=8252, book_value="176.4", value=mu)
    exp.compare("variance Var", book_line=8257, book_value="61.04", value=var)
    exp.compare("standard deviation σ", book_line=8261, book_value="7.8", value=sigma)
    exp.compare("95 % interval [μ − 2σ, μ + 2σ]", book_line=8267, book_value=["161", "192"], value=[mu - 2 * sigma, mu + 2 * sigma])
    exp.compare(
        "standardised heights (x − μ)/σ",
        book_line=8275,
        book_value=["-0.56", "-1.46", "1.36", "0.59", "-1.20", "0.97", "-1.07", "-0.31", "0.46", "1.23"],
        value=standardize(heights),
    )
    xs = jnp.linspace(mu - 12 * sigma, mu + 12 * sigma, 100_001)
    f = gaussian_density(xs, mu, sigma)
    exp.compare("area under the Gaussian density", book_line=8199, book_value="1", value=float(jax.scipy.integrate.trapezoid(f, xs)), tolerance=1e-9)
    inside = (xs >= mu - 2 * sigma) & (xs <= mu + 2 * sigma)
    exp.compare("P(μ − 2σ ≤ X ≤ μ + 2σ) (%)", book_line=8267, book_value="95", value=100 * float(jax.scipy.integrate.trapezoid(jnp.where(inside, f, 0), xs)))

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    t = jnp.linspace(0, 8, 400)
    axes[0].plot(t, gaussian_density(t, 4, 1), color="tab:blue")
    for s in (-1, 1):
        axes[0].axvline(4 + s, color="gray", ls="--", lw=0.8)
    axes[0].set_title("N(4, 1): inflexion points at μ ± σ")
    for v in (2, 0.5, 1):
        axes[1].plot(t, gaussian_density(t, 4, v**0.5), label=f"σ² = {v}")
    axes[1].legend()
    axes[1].set_title("Same μ = 4, several σ (L8203)")
    h = jnp.linspace(150, 205, 400)
    axes[2].hist(np.asarray(heights), bins=8, range=(160, 192), density=True, alpha=0.5, label="sample")
    axes[2].plot(h, gaussian_density(h, mu, sigma), label=f"N({mu:.1f}, {sigma:.2f})")
    axes[2].axvspan(mu - 2 * sigma, mu + 2 * sigma, color="tab:green", alpha=0.1, label="μ ± 2σ: 95 %")
    axes[2].legend(fontsize=8)
    axes[2].set_title("Heights of men (L8246)")
    exp.savefig(fig, "gauss")

    # Batch normalisation (not in the book): the same standardisation, per feature and batch.
    key = exp.key(16)
    x = 3.0 + 5.0 * jax.random.normal(key, (256, 3)) * jnp.array([[1.0, 0.3, 2.0]])
    out = BatchNorm(3)(x)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for k in range(3):
        axes[0].hist(np.asarray(x[:, k]), bins=30, alpha=0.5, label=f"feature {k}")
        axes[1].hist(np.asarray(out[:, k]), bins=30, alpha=0.5, label=f"feature {k}")
    axes[0].set_title("Before batch normalisation")
    axes[1].set_title("After: each feature has mean 0, std 1")
    axes[0].legend(fontsize=8)
    exp.savefig(fig, "batch_normalisation")


def dropout_section(exp: Experiment) -> None:
    exp.compare("configurations of n = 5 neurons, 2ⁿ", book_line=8303, book_value=32, value=2**5)
    # "plus de 32 768": it is exactly 2¹⁵.
    exp.compare("configurations of n = 15 neurons, 2ⁿ", book_line=8303, book_value="32 768", value=2**15, exact=True)
    n = 10_000
    mask = bernoulli_mask(exp.key(8), 0.8, (n,))
    exp.compare("neurons kept by Bernoulli(0.8) (%)", book_line=8312, book_value="80", value=100 * float(jnp.mean(mask)))
    x = jnp.ones((2000, 50))
    y = jax.vmap(lambda k, row: dropout(k, row, 0.5))(jax.random.split(exp.key(9), 2000), x)
    exp.compare("E[dropout(x)] / x for p = 0.5 (inverted scaling 1/p)", book_line=8333, book_value="1.0", value=float(jnp.mean(y)), tolerance=0.01)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    steps = jax.vmap(lambda k: bernoulli_mask(k, 0.5, (12,)))(jax.random.split(exp.key(10), 20))
    axes[0].imshow(np.asarray(steps).T, cmap="Greys", aspect="auto")
    axes[0].set_xlabel("gradient step")
    axes[0].set_ylabel("neuron")
    axes[0].set_title("Dropout p = 0.5: a new coin flip per neuron and step")
    running = jnp.cumsum(jnp.mean(y, axis=1)) / jnp.arange(1, 2001)
    axes[1].plot(np.asarray(running))
    axes[1].axhline(1.0, color="gray", ls="--")
    axes[1].set_xlabel("number of draws")
    axes[1].set_title("Mean of m·x/p tends to x = 1")
    exp.savefig(fig, "dropout")


def run(exp: Experiment) -> None:
    with exp.section("softmax"):
        softmax_section(exp)
    with exp.section("losses"):
        losses_section(exp)
    with exp.section("Gauss"):
        gauss_section(exp)
    with exp.section("dropout"):
        dropout_section(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
