"""Chapter 15 — Tenseurs / Tensors (book lines 7783–8015).

The chapter's numpy snippets as jax.numpy (dimension, shape, size, flatten, reshape,
concatenate), its TensorFlow ``GradientTape`` snippets as ``jax.grad`` — and its two figures:
f(x) = 2 ln x + e^{−x} with f', and the gradient field of the saddle x² − y².
"""

from __future__ import annotations

import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.probability.tensors import derivative, gradient, gradient_field, memory_bytes, vocabulary  # noqa: E402

CHAPTER = Chapter(15, "tensors", "Tenseurs / Tensors", book_lines=(7783, 8015))

# The chapter's 3-tensor T of shape (3, 2, 3): its entries are in the book's LaTeX source
# (tenseur.tex) only; the markdown export prints its flattening at L7885.
T = jnp.array([[[5, 1, 0], [3, 3, 2]], [[1, 1, 0], [5, 1, 7]], [[0, 0, 1], [8, 1, 9]]])


def numpy_section(exp: Experiment) -> None:
    v, m = jnp.array([5, 7, 8]), jnp.array([[6, 0, 2], [3, 2, 4]])
    exp.compare("V = [5, 7, 8]: (ndim, size)", book_line=7802, book_value=[1, 3], value=[vocabulary(v).ndim, vocabulary(v).size])
    exp.compare("M (2 × 3): (ndim, size)", book_line=7804, book_value=[2, 6], value=[vocabulary(m).ndim, vocabulary(m).size])
    gray, colour = jnp.zeros((28, 28)), jnp.zeros((32, 32, 3))
    exp.compare("28 × 28 image: ndim", book_line=7849, book_value=2, value=vocabulary(gray).ndim)
    exp.compare("28 × 28 image: size", book_line=7849, book_value=784, value=vocabulary(gray).size)
    exp.compare("32 × 32 colour image: ndim", book_line=7850, book_value=3, value=vocabulary(colour).ndim)
    exp.compare("32 × 32 colour image: size", book_line=7850, book_value=3072, value=vocabulary(colour).size)
    exp.compare("CIFAR-10 train set (50 000, 32, 32, 3) in bytes (MB)", book_line=7851, book_value="153.6", value=memory_bytes((50_000, 32, 32, 3)) / 1e6, exact=True)  # 153 600 000 bytes
    exp.compare("T: (ndim, size)", book_line=7888, book_value=[3, 18], value=[T.ndim, T.size])
    exp.compare("T.flatten()", book_line=7885, book_value=[5, 1, 0, 3, 3, 2, 1, 1, 0, 5, 1, 7, 0, 0, 1, 8, 1, 9], value=T.flatten())
    exp.compare("reshape(T, (2, 9))", book_line=7893, book_value=[[5, 1, 0, 3, 3, 2, 1, 1, 0], [5, 1, 7, 0, 0, 1, 8, 1, 9]], value=jnp.reshape(T, (2, 9)))
    exp.compare(
        "reshape(T, (2, 3, 3))",
        book_line=7900,
        book_value=[[[5, 1, 0], [3, 3, 2], [1, 1, 0]], [[5, 1, 7], [0, 0, 1], [8, 1, 9]]],
        value=jnp.reshape(T, (2, 3, 3)),
    )
    t3 = jnp.reshape(T, (9, -1))
    exp.compare("reshape(T, (9, −1)).shape (−1 inferred)", book_line=7908, book_value=[9, 2], value=list(t3.shape))
    exp.compare("reshape(T, (9, −1))", book_line=7911, book_value=[[5, 1], [0, 3], [3, 2], [1, 1], [0, 5], [1, 7], [0, 0], [1, 8], [1, 9]], value=t3)
    a, b = jnp.arange(1, 7).reshape((2, 3)), jnp.arange(7, 13).reshape((2, 3))
    exp.compare("concatenate((A, B), axis=0)", book_line=7940, book_value=[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], value=jnp.concatenate((a, b), axis=0))
    exp.compare("concatenate((A, B), axis=1)", book_line=7940, book_value=[[1, 2, 3, 7, 8, 9], [4, 5, 6, 10, 11, 12]], value=jnp.concatenate((a, b), axis=1))

    fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
    for k, ax in enumerate(axes):
        ax.imshow(np.asarray(T[k]), cmap="Blues", vmin=0, vmax=10)
        for (i, j), val in np.ndenumerate(np.asarray(T[k])):
            ax.text(j, i, str(val), ha="center", va="center")
        ax.set_title(f"T[{k}] (2 × 3)")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("A 3-tensor of shape (3, 2, 3) is a list of three matrices")
    exp.savefig(fig, "tensor_T")


def f(x):
    return 2 * jnp.log(x) + jnp.exp(-x)


def gradient_section(exp: Experiment) -> None:
    d = float(jax.grad(lambda x: x**2)(3.0))
    # The book prints the program, not its output: what it prints when run is 2x₀ = 6, exactly.
    exp.compare("d(x²)/dx at x₀ = 3 (GradientTape → jax.grad): the program's output 2x₀", book_line=7962,
                book_value=6, value=d)
    x = jnp.arange(1, 4, 0.5)
    exp.compare("points x = range(1, 4, 0.5)", book_line=7986, book_value=[1.0, 1.5, 2.0, 2.5, 3.0, 3.5], value=x)
    y, fp = f(x), derivative(f)(x)
    # The book truncates to three decimals: 0.3678… is printed 0.367.
    exp.compare("y = f(x) at 1 and 1.5, f = 2 ln x + e^{−x}", book_line=7986, book_value=["0.367", "1.034"], value=y[:2])
    exp.compare("f'(x) at 1 and 1.5", book_line=7986, book_value=["1.632", "1.110"], value=fp[:2])
    exact = 2 / x - jnp.exp(-x)
    exp.agree("f'(x) by jax.grad on the six points", book_line=7986, ours=fp, reference=exact, tolerance=1e-14,
              reference_name="2/x − e^{−x}")
    g = gradient(lambda x, y: x * y**2, 2.0, 3.0)
    # Again the program without its output: (y², 2xy) = (9, 12) at (2, 3), exactly.
    exp.compare("grad(x·y²) at (2, 3): the program's output (y², 2xy)", book_line=8011,
                book_value=[9, 12], value=[float(g[0]), float(g[1])])

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = jnp.arange(1, 4, 0.01)
    ax.plot(xs, f(xs), color="tab:blue", label="f(x)")
    ax.plot(xs, derivative(f)(xs), color="tab:red", label="f'(x)")
    ax.scatter(np.asarray(x), np.asarray(fp), color="tab:red", s=12)
    ax.legend()
    ax.set_title("f(x) = 2 ln x + e^{−x} and its derivative by jax.grad (L7987)")
    exp.savefig(fig, "derivative")

    grid = jnp.linspace(-2, 2, 100)
    X, Y = jnp.meshgrid(grid, grid)
    saddle = lambda x, y: x**2 - y**2  # noqa: E731
    U, V = gradient_field(saddle, X, Y)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.contour(np.asarray(X), np.asarray(Y), np.asarray(saddle(X, Y)), levels=15, cmap="coolwarm")
    s = slice(None, None, 10)
    ax.quiver(np.asarray(X[s, s]), np.asarray(Y[s, s]), np.asarray(U[s, s]), np.asarray(V[s, s]))
    ax.set_aspect("equal")
    ax.set_title("Gradient and level lines of x² − y² (L8013)")
    exp.savefig(fig, "gradient_field")


def run(exp: Experiment) -> None:
    with exp.section("numpy"):
        numpy_section(exp)
    with exp.section("gradients"):
        gradient_section(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
