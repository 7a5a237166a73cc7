"""Chapter 4 — Python : numpy et matplotlib avec deux variables / numpy and matplotlib with two
variables (book lines 1827–2162).

The chapter's numpy snippets as jax.numpy — 2-D arrays, flatten/reshape, ``meshgrid`` and the
printed tables X, Y, Z, elementwise own functions (and what replaces ``np.vectorize`` in JAX),
``inf``/``nan`` from 1/X and log X — and its figures: surfaces, wireframe, colour maps, level
lines (``contour``, ``clabel``, ``contourf``) and level lines drawn under a surface.
Float64 (``jax_enable_x64``) so that the printed values are numpy's.
"""

from __future__ import annotations

import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402

CHAPTER = Chapter(4, "numpy_two_variables", "Python : numpy et matplotlib avec deux variables / numpy and matplotlib with two variables", book_lines=(1827, 2162))

# numpy prints 8 decimals: the arrays' entries are compared to 1e-8 (entries such as "1." are exact,
# and the default "one unit of the last digit" would then be 1 for the whole array).
PRINTED = 1e-8


def intro_figure(exp: Experiment) -> None:
    """The chapter's opening figure: f(x, y) = y³ + 2y² − x², two views and level lines."""
    vx, vy = jnp.arange(-2.5, 2.5, 0.2), jnp.arange(-2.5, 1.7, 0.2)
    X, Y = jnp.meshgrid(vx, vy)
    Z = Y**3 + 2 * Y**2 - X**2
    X, Y, Z = map(np.asarray, (X, Y, Z))
    fig = plt.figure(figsize=(13, 4))
    for k, view in enumerate([(30, -135), (5, -145)]):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        ax.view_init(*view)
        ax.plot_surface(X, Y, Z, cmap="viridis")
        ax.set_title(f"view {view}", fontsize=9)
    ax = fig.add_subplot(1, 3, 3)
    cs = ax.contour(X, Y, Z, np.arange(-2, 2, 0.5))
    ax.clabel(cs, fontsize=7)
    ax.set_title("level lines", fontsize=9)
    fig.suptitle("f(x, y) = y³ + 2y² − x² (L1839)")
    exp.savefig(fig, "intro_surface")


def arrays(exp: Experiment, log: list[str]) -> None:
    """§1.1–1.2: 2-D arrays, shape, elementwise functions, flatten and reshape."""
    A = jnp.array([[1, 2, 3], [4, 5, 6]])
    with exp.section("§1.1 arrays"):
        exp.compare("A = np.array([[1, 2, 3], [4, 5, 6]])", book_line=1861, book_value=[[1, 2, 3], [4, 5, 6]], value=A)
        exp.compare("np.shape(A)", book_line=1869, book_value=[2, 3], value=list(A.shape))
        exp.compare("np.sqrt(A)", book_line=1877, book_value=[["1.", "1.41421356", "1.73205081"], ["2.", "2.23606798", "2.44948974"]], value=jnp.sqrt(A), tolerance=PRINTED)
        elements = [int(A[i, j]) for i in range(A.shape[0]) for j in range(A.shape[1])]  # the loop of L1870
        exp.compare("A[i, j] read one by one (row by row)", book_line=1870, book_value=[1, 2, 3, 4, 5, 6], value=elements)
        exp.compare("np.zeros((2, 3)) (p rows, n columns)", book_line=1881, book_value=[2, 3], value=list(jnp.zeros((2, 3)).shape))
    with exp.section("§1.2 flatten / reshape"):
        X = A.flatten()
        exp.compare("A.flatten()", book_line=1896, book_value=[1, 2, 3, 4, 5, 6], value=X)
        exp.compare("X.reshape((2, 3)) gives back A", book_line=1899, book_value=[[1, 2, 3], [4, 5, 6]], value=X.reshape((2, 3)))
        exp.compare("X.reshape((3, 2))", book_line=1902, book_value=[[1, 2], [3, 4], [5, 6]], value=X.reshape((3, 2)))
    log += [f"A =\n{A}", f"shape {A.shape}", f"sqrt(A) =\n{jnp.sqrt(A)}", f"flatten: {X}", f"reshape((3,2)) =\n{X.reshape((3, 2))}"]


def grids(exp: Experiment, log: list[str]) -> None:
    """§1.3: f(VX, VY) elementwise, then the meshgrid semantics and the printed tables."""

    def f(x, y):
        return x**2 + y**2

    with exp.section("§1.3 functions of two variables"):
        vx, vy = jnp.array([1.0, 2, 3, 4]), jnp.array([5.0, 6, 7, 8])
        exp.compare("f(VX, VY) = [f(1, 5), f(2, 6), f(3, 7), f(4, 8)]", book_line=1909, book_value=[f(1, 5), f(2, 6), f(3, 7), f(4, 8)], value=f(vx, vy))
        n = 5
        VX = jnp.linspace(0, 2, n)
        VY = jnp.linspace(0, 2, n)
        X, Y = jnp.meshgrid(VX, VY)
        Z = f(X, Y)
        row = ["0.", "0.5", "1.", "1.5", "2."]
        exp.compare("Tableau X (every row is VX)", book_line=1940, book_value=[row] * 5, value=X, tolerance=PRINTED)
        exp.compare("Tableau Y (row i is VY[i])", book_line=1951, book_value=[[v] * 5 for v in row], value=Y, tolerance=PRINTED)
        book_z = [
            ["0.", "0.25", "1.", "2.25", "4."],
            ["0.25", "0.5", "1.25", "2.5", "4.25"],
            ["1.", "1.25", "2.", "3.25", "5."],
            ["2.25", "2.5", "3.25", "4.5", "6.25"],
            ["4.", "4.25", "5.", "6.25", "8."],
        ]
        exp.compare("Tableau Z = f(X, Y)", book_line=1963, book_value=book_z, value=Z, tolerance=PRINTED)
        # meshgrid semantics (§15 item 45): X[i, j] = VX[j], Y[i, j] = VY[i]
        ij = [(i, j) for i in range(n) for j in range(n)]
        exp.compare("X[i, j] = VX[j] and Y[i, j] = VY[i] for all i, j", book_line=1932, book_value=True,
                    value=all(bool(X[i, j] == VX[j]) and bool(Y[i, j] == VY[i]) for i, j in ij))
    log += [f"X =\n{X}", f"Y =\n{Y}", f"Z =\n{Z}"]

    fig = plt.figure(figsize=(9, 4))
    for k, n in enumerate((5, 20)):
        V = jnp.linspace(0, 2, n)
        X, Y = jnp.meshgrid(V, V)
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.view_init(20, -150)
        ax.scatter(np.asarray(X), np.asarray(Y), np.asarray(f(X, Y)), color="red", s=6)
        ax.set_title(f"n = {n}: the n² points (x, y, x² + y²)", fontsize=9)
    exp.savefig(fig, "meshgrid_points")


def own_functions(exp: Experiment, log: list[str]) -> None:
    """§2.1–2.2: own functions, lambdas, and functions with a test (``np.vectorize``)."""
    X = jnp.arange(-3.0, 4.0)  # [−3 −2 … 3]

    def ma_formule(x):  # the book's text (L1982); the authors' script has cos² + sin² (≡ 1)
        return jnp.cos(x) ** 2 - jnp.sin(x) ** 2

    with exp.section("§2.1 own functions"):
        exp.agree(
            "ma_formule(x) = cos²x − sin²x on [−3 … 3]",
            book_line=1982,
            ours=ma_formule(X),
            reference=jnp.cos(2 * X),
            tolerance=1e-15,
            reference_name="cos 2x",
            reason="the book's printed code; the authors' pythonxy_numpy_3.py has cos² + sin² (identically 1) "
            "instead: we follow the book's text; the book prints no value",
        )
        tri = lambda n: n * (n + 1) / 2  # noqa: E731
        exp.compare("f = lambda n: n(n+1)/2 on [1..5] (triangular numbers)", book_line=1990, book_value=[1, 3, 6, 10, 15], value=tri(jnp.arange(1, 6)))

    def valeur_absolue(x):
        if x >= 0:
            return x
        return -x

    # The book's point (L1994–2009): a Python `if` cannot test a whole array. numpy raises
    # "truth value … ambiguous"; JAX raises the same for arrays (and a tracer error under vmap):
    try:
        valeur_absolue(X)
        failure = "no error"
    except (ValueError, TypeError) as err:  # jax: "The truth value of an array … is ambiguous"
        failure = type(err).__name__
    # what replaces np.vectorize: a jnp.where formula (traceable, vectorised) …
    vec_valeur_absolue = jax.jit(lambda x: jnp.where(x >= 0, x, -x))
    # … or vmap of a scalar function written with lax.cond instead of `if`
    vmapped = jax.vmap(lambda x: jax.lax.cond(x >= 0, lambda t: t, lambda t: -t, x))
    with exp.section("§2.2 vectorising a function with a test"):
        exp.compare("valeur_absolue(X) on an array fails", book_line=2007, book_value="ValueError", value=failure)
        exp.compare("vec_valeur_absolue(X) = |X| (jnp.where)", book_line=2010, book_value=[3, 2, 1, 0, 1, 2, 3], value=vec_valeur_absolue(X))
        exp.compare("… = |X| (vmap + lax.cond)", book_line=2010, book_value=[3, 2, 1, 0, 1, 2, 3], value=vmapped(X))
        M = jnp.array([[-1.5, 2.0], [0.0, -4.0]])
        exp.compare("… on a 2-D array, float64 output (otypes=[np.float64])", book_line=2020, book_value=[[1.5, 2.0], [0.0, 4.0]], value=vec_valeur_absolue(M))
    log += [f"ma_formule(X) = {ma_formule(X)}", f"valeur_absolue(X) → {failure}", f"vec_valeur_absolue(X) = {vec_valeur_absolue(X)}"]


def zero_and_infinity(exp: Experiment, log: list[str]) -> None:
    """§2.3: 1/X, log X and exp(log X) on X = [−1 0 1 2 3] (no exception: inf and nan)."""
    X = jnp.array([-1, 0, 1, 2, 3])
    with exp.section("§2.3 zero and infinity"):
        inv = 1 / X
        exp.compare("1/X", book_line=2034, book_value=["-1.", "inf", "1.", "0.5", "0.33333333"], value=inv, tolerance=PRINTED)
        Y = jnp.log(X)
        exp.compare("Y = np.log(X)", book_line=2042, book_value=["nan", "-inf", "0.", "0.69314718", "1.09861229"], value=Y, tolerance=PRINTED)
        Z = jnp.exp(Y)
        exp.compare("Z = np.exp(Y)", book_line=2047, book_value=["nan", "0.", "1.", "2.", "3."], value=Z, tolerance=PRINTED)
    log += [f"X = {X}", f"1/X = {inv}", f"log X = {Y}", f"exp(log X) = {Z}"]


def as_lists(exp: Experiment, log: list[str]) -> None:
    """§2.4: slicing like Python lists, append, list()."""
    X = jnp.linspace(0, 10, num=100)
    with exp.section("§2.4 vectors as lists"):
        exp.compare("len(X[10:20]), len(X[:10]), len(X[90:])", book_line=2061, book_value=[10, 10, 10], value=[len(X[10:20]), len(X[:10]), len(X[90:])])
        exp.compare("X[-1] is the last element (10)", book_line=2060, book_value=10, value=float(X[-1]))
        Y = jnp.append(jnp.arange(0, 5, 0.5), 8.5)
        exp.compare("np.append(np.arange(0, 5, 0.5), 8.5) ends with 8.5", book_line=2067, book_value="8.5", value=float(Y[-1]))
        exp.compare("list(X) is a Python list of 100 numbers", book_line=2068, book_value=100, value=len(list(X)))
    log += [f"X[50] = {X[50]}", f"X[-1] = {X[-1]}", f"X[10:20] = {X[10:20]}", f"append → {Y}"]


def peaks(x, y):
    """MATLAB's `peaks` as in the authors' pythonxy_matplolib_4.py, with the last exponent
    −(x+1)² − y² (the script has −(x+1)² − x², a typo: §14 item 2)."""
    return (
        3 * (x - 1) ** 2 * jnp.exp(-((y + 1) ** 2) - x**2)
        - 1 / 3 * jnp.exp(-((x + 1) ** 2) - y**2)
        + (10 * x**3 - 2 * x + 10 * y**5) * jnp.exp(-(x**2) - y**2)
    )


def figures(exp: Experiment) -> None:
    """§3: the chapter's matplotlib figures."""

    def grid(lo, hi, n):
        V = jnp.linspace(lo, hi, n)
        X, Y = jnp.meshgrid(V, V)
        return X, Y

    # saddle with n = 5, 10, 20 (L2085–2118)
    fig = plt.figure(figsize=(13, 4))
    for k, (n, view) in enumerate([(5, (40, -30)), (10, (35, -50)), (20, (30, -70))]):
        X, Y = grid(-2, 2, n)
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        ax.view_init(*view)
        ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(X**2 - Y**2))
        ax.set_title(f"n = {n}", fontsize=9)
    fig.suptitle("plot_surface of x² − y²: a finer grid gives a smoother surface (L2120)")
    exp.savefig(fig, "saddle_n5_n10_n20")

    # variants (L2126–2138)
    fig = plt.figure(figsize=(14, 4.2))
    X, Y = grid(-3, 3, 20)
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    ax.plot_wireframe(np.asarray(X), np.asarray(Y), np.asarray(1 / (2 + X**2 + Y**2)))
    ax.set_title("plot_wireframe: 1/(2 + x² + y²)", fontsize=9)
    X, Y = grid(-3, 3, 25)
    ax = fig.add_subplot(1, 3, 2, projection="3d")
    surf = ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(jnp.abs(X) + jnp.abs(Y)), cmap="hot")
    fig.colorbar(surf, ax=ax, shrink=0.6)
    ax.set_title("|x| + |y|, cmap 'hot' and colour bar", fontsize=9)
    X, Y = grid(-6, 6, 50)
    ax = fig.add_subplot(1, 3, 3, projection="3d")
    ax.view_init(40, -120)
    ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(jnp.sin(jnp.sqrt(X**2 + Y**2))), cmap="viridis", edgecolor="none")
    ax.set_title("sin √(x² + y²), cmap 'viridis'", fontsize=9)
    exp.savefig(fig, "surface_variants")

    # contour with a number of levels (L2146–2150)
    X, Y = grid(-6, 6, 100)
    Z = jnp.sin(X) + jnp.cos(Y)
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    ax.contour(np.asarray(X), np.asarray(Y), np.asarray(Z), 10)
    ax.set_aspect("equal")
    ax.set_title("plt.contour(X, Y, Z, 10)", fontsize=9)
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(Z), cmap="viridis")
    fig.suptitle("sin x + cos y: level lines and graph")
    exp.savefig(fig, "contour_sin_cos")

    # chosen levels with their values (L2152–2156)
    X, Y = grid(-3, 3, 100)
    Z = peaks(X, Y)
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    cs = ax.contour(np.asarray(X), np.asarray(Y), np.asarray(Z), np.arange(-5, 5, 1))
    ax.clabel(cs, inline=True, fontsize=8)
    ax.set_aspect("equal")
    ax.set_title("levels np.arange(−5, 5, 1) with clabel", fontsize=9)
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    ax.view_init(50, -50)
    ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(Z), cmap="Spectral")
    fig.suptitle("MATLAB's peaks function: labelled level lines and graph")
    exp.savefig(fig, "contour_peaks_clabel")

    # contourf (L2158)
    X, Y = grid(-3, 3, 50)
    Z = jnp.sin(2 * X + Y**2)
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    levels = np.linspace(-1, 1, 11)
    cs = ax.contourf(np.asarray(X), np.asarray(Y), np.asarray(Z), levels, cmap="hot")
    fig.colorbar(cs, ax=ax)
    ax.contour(np.asarray(X), np.asarray(Y), np.asarray(Z), levels, colors="black", linewidths=0.4)
    ax.set_aspect("equal")
    ax.set_title("plt.contourf: coloured regions", fontsize=9)
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(Z), cmap="hot")
    fig.suptitle("sin(2x + y²)")
    exp.savefig(fig, "contourf_sin")

    # level lines under the surface (L2160)
    V = jnp.linspace(-3.14, 3.14, 50)
    X, Y = jnp.meshgrid(V, V)
    Z = jnp.cos(X) * jnp.sin(Y) + 2
    fig = plt.figure(figsize=(6, 5))
    ax = fig.add_subplot(projection="3d")
    ax.view_init(40, -60)
    ax.plot_surface(np.asarray(X), np.asarray(Y), np.asarray(Z), cmap="viridis", edgecolor="none", alpha=0.9)
    ax.contour(np.asarray(X), np.asarray(Y), np.asarray(Z), np.linspace(1, 3, 10), offset=1, colors="black", linestyles="solid")
    ax.set_zlim(1, 3)
    ax.set_title("cos x sin y + 2 with its level lines drawn below (offset = 1)", fontsize=9)
    exp.savefig(fig, "surface_with_contours_below")

    with exp.section("§3.2 the 'peaks' function"):
        # At points with y ≠ x, where the script's typo shows: the script's formula (book value),
        # ours, and MATLAB's documented form 3(1−x)²e^{−x²−(y+1)²} − 10(x/5 − x³ − y⁵)e^{−x²−y²}
        # − ⅓e^{−(x+1)²−y²} (the right value).
        px, py = np.array([0.0, -1.0, 1.0, 0.5]), np.array([1.0, 0.5, -1.0, -0.5])
        common = 3 * (1 - px) ** 2 * np.exp(-(px**2) - (py + 1) ** 2) - 10 * (px / 5 - px**3 - py**5) * np.exp(-(px**2) - py**2)
        exp.explain(
            "peaks at (0, 1), (−1, 0.5), (1, −1), (0.5, −0.5): last term −⅓ e^{−(x+1)² − y²}",
            book_line=2152,
            book_value=(common - np.exp(-((px + 1) ** 2) - px**2) / 3).tolist(),
            value=np.asarray(peaks(jnp.asarray(px), jnp.asarray(py))).tolist(),
            expected=(common - np.exp(-((px + 1) ** 2) - py**2) / 3).tolist(),
            tolerance=1e-12,
            reason="book value: the authors' script pythonxy_matplolib_4.py (the book prints only the figure), "
            "commented 'from matlab website', which has −(x+1)² − x² where MATLAB's peaks has −(x+1)² − y² in "
            "the last exponent (a typo: §14 item 2); we draw MATLAB's function, checked against its documented form",
        )


def run(exp: Experiment) -> None:
    log: list[str] = []
    intro_figure(exp)
    arrays(exp, log)
    grids(exp, log)
    own_functions(exp, log)
    zero_and_infinity(exp, log)
    as_lists(exp, log)
    figures(exp)
    exp.path("snippets.txt").write_text("\n\n".join(log) + "\n")


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
