"""Chapter 2 — Python : numpy et matplotlib avec une variable / numpy and matplotlib, one
variable (book lines 1195–1467).

The chapter's numpy snippets run as their ``jax.numpy`` equivalents, each printed value beside
the book's print, and its five figures drawn with matplotlib: cos on [0, 10], the Gauss curve,
points joined / thick red / scattered, the damped oscillation "Amorti" and the sigmoids
1/(1 + e^{−kx}), k = 1…4.

``np.random.random(5)`` has no stateless equivalent: JAX draws from an explicit PRNG key
(``jax.random.uniform(exp.key(…), (5,))``), so the book's random draw cannot be reproduced — the
row says so. float64 is on (numpy's default float), so the printed digits are numpy's.
"""

from __future__ import annotations

import math
import sys

import jax

jax.config.update("jax_enable_x64", True)  # numpy computes in float64

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402

CHAPTER = Chapter(2, "numpy_one_variable", "Python : numpy et matplotlib avec une variable / numpy and matplotlib, one variable",
                  book_lines=(1195, 1467))


def printed(text: str) -> tuple[list, list[float] | None]:
    """The elements of a numpy print ``"[1. 1.5 2.]"`` as the book shows them, and the tolerance
    of each: one unit of its last printed digit (numpy rounds each element to its printed
    decimals; an element printed ``"7."`` is exact: float64 round-off). Integer prints are exact
    (``int`` book values)."""
    items = text.strip().strip("[]").split()
    if all("." not in t for t in items):
        return [int(t) for t in items], None
    return items, [10.0 ** -len(t.split(".", 1)[1]) if t.split(".", 1)[1] else 1e-12 for t in items]


def compare_print(exp: Experiment, name: str, line: int, book_text: str, value) -> None:
    book, tol = printed(book_text)
    exp.compare(name, book_line=line, book_value=book, value=np.asarray(value).tolist(), tolerance=tol)


def numpy_section(exp: Experiment) -> None:
    X = jnp.linspace(0, 10, num=100)
    exp.compare("linspace(0, 10, num=100): length, first, last, step 10/99", book_line=1212,
                book_value=[100, 0, 10, 10 / 99], value=[len(X), float(X[0]), float(X[-1]), float(X[1] - X[0])])

    X = jnp.array([1, 2, 3, 4])
    exp.compare("print(np.array([1,2,3,4])) (no commas)", book_line=1244, book_value="[1 2 3 4]", value=str(X))
    compare_print(exp, "arange(1, 8, 0.5)", 1258, "[1. 1.5 2. 2.5 3. 3.5 4. 4.5 5. 5.5 6. 6.5 7. 7.5]",
                  jnp.arange(1, 8, 0.5))
    compare_print(exp, "linspace(0, 1, num=12)", 1270,
                  "[0. 0.09090909 0.18181818 0.27272727 0.36363636 0.45454545 0.54545455 0.63636364 "
                  "0.72727273 0.81818182 0.90909091 1.]", jnp.linspace(0, 1, num=12))

    Y = jnp.array([10, 11, 12, 13])
    for line, name, text, value in [
        (1284, "2*X", "[2 4 6 8]", 2 * X),
        (1285, "X+1", "[2 3 4 5]", X + 1),
        (1286, "X**2", "[1 4 9 16]", X**2),
        (1287, "1/X", "[1. 0.5 0.33333333 0.25]", 1 / X),
        (1293, "X+Y", "[11 13 15 17]", X + Y),
        (1294, "X*Y", "[10 22 36 52]", X * Y),
    ]:
        compare_print(exp, name, line, text, value)
    exp.compare("print(X*Y)", book_line=1294, book_value="[10 22 36 52]", value=str(X * Y))
    exp.compare("sum(X), min(X), max(X)", book_line=1288, book_value=[10, 1, 4],
                value=[int(jnp.sum(X)), int(jnp.min(X)), int(jnp.max(X))])

    compare_print(exp, "zeros(5)", 1300, "[0. 0. 0. 0. 0.]", jnp.zeros(5))
    ones = jnp.ones(5)
    compare_print(exp, "ones(5)", 1301, "[1. 1. 1. 1. 1.]", ones)
    exp.explain("7*X with X = ones(5)", book_line=1301, book_value=["7.", "7.", "7.", "7."],
                value=np.asarray(7 * ones).tolist(), expected=[7.0] * 5, exact=True,
                reason="misprint: the book prints four 7s for a vector of five ones; 7*X has five elements")
    draw = jax.random.uniform(exp.key(1302), (5,))
    exp.explain("random.random(5) → jax.random.uniform(key, (5,))", book_line=1305,
                book_value=["0.21132407", "0.30685886", "0.94111979", "0.39597993", "0.63275735"],
                value=np.asarray(draw).tolist(),
                reason="a random draw: numpy's hidden global state is replaced by an explicit PRNG key "
                       f"(exp.key(1302), seed {exp.seed}), so the values differ from the book's draw by construction; "
                       "as in the book they lie in [0, 1) (next row)")
    exp.compare_range("random.random(5): five numbers of [0, 1)", book_line=1305,
                      book_claim="random.random(5): 5 numbers in [0, 1)", value=draw, low=0.0,
                      high=float(np.nextafter(1.0, 0.0)))

    X = jnp.linspace(1, 2, num=10)
    # The book prints 1.1111111 (7 decimals) where numpy prints 1.11111111: one unit of that
    # coarser digit (1e-7) is the tolerance.
    compare_print(exp, "linspace(1, 2, num=10)", 1313,
                  "[1. 1.1111111 1.22222222 1.33333333 1.44444444 1.55555556 1.66666667 1.77777778 1.88888889 2.]", X)
    exp.compare("X[0] (first element)", book_line=1323, book_value=1, value=float(X[0]))
    exp.compare("len(X), np.shape(X) = (10,)", book_line=1324, book_value=[10, 10], value=[len(X), *jnp.shape(X)])
    text = "[1. 1.1111111 1.22222222 1.33333333 1.44444444 1.55555556 1.66666667 1.77777778 1.88888889 2.]"
    compare_print(exp, "for x in X: print(x)", 1327, text, [float(x) for x in X])
    compare_print(exp, "for i in range(len(X)): print(i, X[i])", 1327, text, [float(X[i]) for i in range(len(X))])

    X = jnp.array([0, 1, 2, 3, 4, 5])
    compare_print(exp, "sqrt(X)", 1340, "[0. 1. 1.41421356 1.73205081 2. 2.23606798]", jnp.sqrt(X))
    compare_print(exp, "X**2", 1341, "[0 1 4 9 16 25]", X**2)
    try:
        math.cos(X)
        outcome = "no error"
    except TypeError:
        outcome = "error"
    exp.compare("math.cos(X) on a vector", book_line=1346, book_value="error", value=outcome)
    # The table of L1349–1357: every function has a jax.numpy equivalent that agrees with numpy.
    v = np.linspace(0.1, 0.9, 9)
    table = {"x**a": lambda m, x: x**2.5, "sqrt": lambda m, x: m.sqrt(x), "exp": lambda m, x: m.exp(x),
             "log": lambda m, x: m.log(x), "log10": lambda m, x: m.log10(x), "cos": lambda m, x: m.cos(x),
             "sin": lambda m, x: m.sin(x), "tan": lambda m, x: m.tan(x), "arccos": lambda m, x: m.arccos(x),
             "arcsin": lambda m, x: m.arcsin(x), "arctan": lambda m, x: m.arctan(x), "cosh": lambda m, x: m.cosh(x),
             "sinh": lambda m, x: m.sinh(x), "tanh": lambda m, x: m.tanh(x)}
    exp.agree(f"jax.numpy on the table's {len(table)} functions (float64)", book_line=1349,
              ours=jnp.stack([fn(jnp, jnp.asarray(v)) for fn in table.values()]),
              reference=np.stack([fn(np, v) for fn in table.values()]), tolerance=1e-15, reference_name="numpy")


def matplotlib_section(exp: Experiment) -> None:
    X = jnp.linspace(0, 10, num=100)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(X, jnp.cos(X))
    ax.set_title("y = cos(x) on [0, 10], 100 points (L1205–1217)")
    exp.savefig(fig, "cos")

    a, b = -3, 3
    X = jnp.linspace(a, b, num=100)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(X, jnp.exp(-(X**2)))
    ax.set_title("Gauss curve y = exp(−x²) on [−3, 3] (L1363–1384)")
    exp.savefig(fig, "gauss")

    X, Y = jnp.array([0, 1, 2, 3, 4, 5]), jnp.array([0, 1, 4, 1, 3, 2])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].plot(X, Y)
    axes[0].set_title("plt.plot(X,Y)")
    axes[1].plot(X, Y, linewidth=3, color="red")
    axes[1].set_title("plt.plot(X,Y,linewidth=3,color='red')")
    axes[2].scatter(X, Y)
    axes[2].set_title("plt.scatter(X,Y)")
    fig.suptitle("Point by point (L1386–1417)")
    fig.tight_layout()
    exp.savefig(fig, "points")

    a, b = 0, 5
    X = jnp.linspace(a, b, num=100)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.set_title("Amorti")
    ax.axis("equal")
    ax.grid()
    ax.set_xlim(a, b)
    ax.plot(X, jnp.exp(-X) * jnp.cos(2 * jnp.pi * X))
    exp.savefig(fig, "amorti")  # plt.savefig('amorti.png') (L1436)

    a, b = -5, 5
    X = jnp.linspace(a, b, num=100)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in range(1, 5):
        ax.plot(X, 1 / (1 + jnp.exp(-k * X)), label=f"k={k}")
    legend = ax.legend()
    ax.set_title("Sigmoids f_k(x) = 1/(1 + e^{−kx}) (L1443–1466)")
    exp.compare("legend of the sigmoid figure", book_line=1462, book_value=["k=1", "k=2", "k=3", "k=4"],
                value=[t.get_text() for t in legend.get_texts()])
    exp.savefig(fig, "sigmoids")


def run(exp: Experiment) -> None:
    with exp.section("§1 numpy"):
        numpy_section(exp)
    with exp.section("§2 matplotlib"):
        matplotlib_section(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
