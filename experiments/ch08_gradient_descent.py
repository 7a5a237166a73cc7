"""Chapter 8 — Descente de gradient / Gradient descent (book lines 4215–4917).

The chapter's tables and figures, computed with :mod:`deepmath_jax.optim.descent` (optax
transformations run by ``jax.grad`` in ``lax.scan`` loops): a² + 3b², a² + 1 and its bad steps,
two local minima and a saddle, the step-size schedules, linear regression (lines and planes),
classic vs stochastic descent on a parabola fit, mini-batches on the circle fit, momentum and
Nesterov. float64 throughout (the book's tables are float64 computations).

The circle fit: the authors' script (``circulaire_01.py``) uses half of the true gradient of
E_i = ((x_i − a)² + (y_i − b)² − c²)². This experiment uses the true gradient (``jax.grad``);
the book's curves are those of the true gradient at δ/2, and the rows say where that matters.
"""

from __future__ import annotations

import csv
import sys

import jax

jax.config.update("jax_enable_x64", True)  # the book's tables are float64 computations

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from deepmath_jax.optim import descent, schedules  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402

CHAPTER = Chapter(8, "gradient_descent", "Descente de gradient / Gradient descent", book_lines=(4215, 4917))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def contour_panel(ax, f, zone, levels=30, n=200):
    xmin, xmax, ymin, ymax = zone
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    gz = np.asarray(jax.vmap(jax.vmap(lambda a, b: f(jnp.stack([a, b]))))(jnp.asarray(gx), jnp.asarray(gy)))
    ax.contour(gx, gy, gz, levels=levels, colors="black", linewidths=0.5)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")


def path_panel(ax, points, color="red", arrow="orange"):
    pts = np.asarray(points)
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        ax.annotate("", xy=q, xytext=p, arrowprops=dict(arrowstyle="->", color=arrow, lw=1.8))
    ax.scatter(pts[:, 0], pts[:, 1], color=color, s=18, zorder=3)


def one_var_panel(ax, f, history, xlim, ylim=None, title=""):
    xs = np.linspace(*xlim, 400)
    ax.plot(xs, [float(f(jnp.array([x]))) for x in xs], color="blue")
    a = np.asarray(history.points)[:, 0]
    fa = np.asarray(history.losses)
    ax.scatter(a, np.zeros_like(a), color="red", s=14, zorder=3)
    ax.scatter(a, fa, color="red", s=14, zorder=3)
    for (x0, y0), (x1, y1) in zip(zip(a[:-1], fa[:-1], strict=True), zip(a[1:], fa[1:], strict=True), strict=True):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", color="orange", lw=1.2))
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlim(*xlim)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)


# --------------------------------------------------------------------------------------------
# §1 Classic descent
# --------------------------------------------------------------------------------------------


def intro(exp: Experiment) -> None:
    # Figures (a)–(f) of §1.1 (L4238–4287): the book does not name the function; the authors'
    # script descente_01.py draws f = x² + (x − y²)² from (2.2, 0.6) with δ = 0.2.
    def f(p):
        return p[0] ** 2 + (p[0] - p[1] ** 2) ** 2

    h = descent.descend(f, jnp.array([2.2, 0.6]), descent.gradient_descent(0.2), 10)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    captions = ["(a) au départ : rien", "(b) un point au hasard", "(c) l'opposé du gradient",
                "(d) depuis le nouveau point", "(e) on répète", "(f) la suite converge"]
    shown = [0, 1, 2, 3, 6, 11]
    for ax, cap, m in zip(axes.ravel(), captions, shown, strict=True):
        contour_panel(ax, f, (-2, 3, -2, 2), levels=[0.5, 1.64, 2.95, 5, 8.22, 12, 20])
        if m:
            path_panel(ax, h.points[:m])
        ax.set_title(cap, fontsize=9)
    fig.suptitle("Gradient descent on f = x² + (x − y²)², δ = 0.2 (L4238–4287)")
    exp.savefig(fig, "intro_steps")


def two_variables(exp: Experiment) -> None:
    def f(p):
        return p[0] ** 2 + 3 * p[1] ** 2

    h = descent.descend(f, jnp.array([2.0, 1.0]), descent.gradient_descent(0.2), 20)
    table = {  # L4306–4315: k: (a_k, b_k), grad f, f
        0: ([2, 1], [4, 6], 7),  # the start: exact values
        1: (["1.2", "-0.2"], ["2.4", "-1.20"], "1.56"),
        2: (["0.72", "0.04"], ["1.44", "0.24"], "0.523"),
        3: (["0.432", "-0.008"], ["0.864", "-0.048"], "0.186"),
        4: (["0.2592", "0.0016"], ["0.5184", "0.0096"], "0.067"),
        5: (["0.15552", "-0.00032"], ["0.31104", "-0.00192"], "0.024"),
        10: (["0.012", "1.02e-7"], ["0.024", "6.14e-7"], "0.00014"),
        20: (["7.31e-5", "1.04e-14"], ["1.46e-4", "6.29e-14"], "5.34e-9"),
    }
    lines = {0: 4306, 1: 4307, 2: 4308, 3: 4309, 4: 4310, 5: 4311, 10: 4313, 20: 4315}
    with exp.section("a²+3b² from (2, 1), δ = 0.2"):
        for k, (p, g, fv) in table.items():
            # each component judged with its own printed digit (1.02·10⁻⁷ not with the 0.001 of 0.012)
            exp.compare(f"(a_{k}, b_{k})", book_line=lines[k], book_value=p, value=h.points[k])
            exp.compare(f"grad f(a_{k}, b_{k})", book_line=lines[k], book_value=g, value=h.grads[k])
            exp.compare(f"f(a_{k}, b_{k})", book_line=lines[k], book_value=fv, value=float(h.losses[k]))

    h2 = descent.descend(f, jnp.array([-1.0, -1.0]), descent.gradient_descent(0.1), 100)
    with exp.section("a²+3b² from (−1, −1), δ = 0.1"):
        exp.compare("(a_1, b_1)", book_line=4321, book_value=["-0.8", "-0.4"], value=h2.points[1])
        exp.compare("(a_2, b_2)", book_line=4321, book_value=["-0.64", "-0.16"], value=h2.points[2])
        # "La suite converge également vers (0, 0)": the limit is exact, so judge P_100 against
        # it with 1e-9 (a_k = −0.8^k: a_100 ≈ 2·10⁻¹⁰), not with the unit of the printed "0".
        exp.compare("(a_100, b_100) → (0, 0)", book_line=4321, book_value=[0.0, 0.0],
                    value=h2.points[100], tolerance=1e-9)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, hist, title in ((axes[0], h, "from (2, 1), δ = 0.2"), (axes[1], h2, "from (−1, −1), δ = 0.1")):
        contour_panel(ax, f, (-2.5, 2.5, -1.5, 1.5))
        path_panel(ax, hist.points[:11])
        ax.scatter([0], [0], color="blue", zorder=4)
        ax.set_title(f"f(a, b) = a² + 3b², {title} (L4289–4325)")
    exp.savefig(fig, "two_variables")


def one_variable(exp: Experiment) -> None:
    def f(a):
        return a[0] ** 2 + 1

    h = descent.descend(f, jnp.array([2.0]), descent.gradient_descent(0.2), 10)
    table = [  # L4352–4362: a_k, f'(a_k), f(a_k)
        (2, 4, 5), ("1.2", "2.4", "2.44"), ("0.72", "1.44", "1.5184"), ("0.43", "0.86", "1.1866"),  # a_0 = 2: exact
        ("0.25", "0.5184", "1.0671"), ("0.15", "0.31", "1.0241"), ("0.093", "0.186", "1.0087"),
        ("0.055", "0.111", "1.0031"), ("0.033", "0.067", "1.0011"), ("0.020", "0.040", "1.0004"),
        ("0.012", "0.024", "1.0001"),
    ]
    with exp.section("a²+1 from a0 = 2, δ = 0.2"):
        for k, (a, g, fv) in enumerate(table):
            exp.compare(f"a_{k}", book_line=4352 + k, book_value=a, value=float(h.points[k, 0]))
            exp.compare(f"f'(a_{k})", book_line=4352 + k, book_value=g, value=float(h.grads[k, 0]))
            exp.compare(f"f(a_{k})", book_line=4352 + k, book_value=fv, value=float(h.losses[k]))
        # a_{k+1} = a_k − 2δa_k (L4344): a_k = (1 − 2δ)^k a_0.
        closed = 2.0 * (1 - 2 * 0.2) ** np.arange(11)
        exp.agree("a_k, k ≤ 10", book_line=4344, ours=h.points[:, 0], reference=closed, tolerance=1e-12,
                  reference_name="the closed form (1 − 2δ)^k a_0 of L4344")

    h_left = descent.descend(f, jnp.array([-1.5]), descent.gradient_descent(0.2), 10)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    one_var_panel(axes[0], f, h, (-1.5, 2.5), title="δ = 0.2, a0 = 2 (L4365)")
    one_var_panel(axes[1], f, h_left, (-2, 2), title="δ = 0.2, a0 = −1.5 (L4369)")
    exp.savefig(fig, "one_variable")

    # Bad steps (L4394–4403), a0 = 2, 11 steps as in the authors' script.
    runs = {d: descent.descend(f, jnp.array([2.0]), descent.gradient_descent(d), 11) for d in (0.9, 1.1, 0.05)}
    a09, a11, a005 = (np.asarray(runs[d].points[:, 0]) for d in (0.9, 1.1, 0.05))
    with exp.section("a²+1, bad step sizes"):
        signs = np.sign(a09[1:]) != np.sign(a09[:-1])
        exp.compare("δ = 0.9: a_k oscillates around 0 and tends to 0 (a_k = 2(−0.8)^k)", book_line=4401,
                    book_value=True, value=bool(signs.all() and np.all(np.abs(np.diff(np.abs(a09))) > 0)
                                                and abs(a09[-1]) < abs(a09[0])))
        exp.compare("δ = 1.1: a_k oscillates and escapes (|a_k| = 2·1.2^k grows)", book_line=4402,
                    book_value=True, value=bool(np.all(np.diff(np.abs(a11)) > 0)))
        exp.compare("δ = 0.05: a_k tends to 0 slowly (a_11 = 2·0.9^11 > 0.6)", book_line=4403,
                    book_value=True, value=bool(np.all(np.diff(a005) < 0) and a005[-1] > 0.6))
        try:  # 2·1.2^k overflows float64 near k = 1943: the descent stops with a clear error
            descent.descend(f, jnp.array([2.0]), descent.gradient_descent(1.1), 5000)
            stopped = False
        except descent.NonFiniteLossError as err:
            stopped = err.step_size == 1.1 and 1900 < err.step < 2000
        exp.compare("δ = 1.1 run for 5000 steps stops with NonFiniteLossError (a_k overflows)",
                    book_line=4402, book_value=True, value=stopped)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, d in zip(axes, (0.9, 1.1, 0.05), strict=True):
        one_var_panel(ax, f, runs[d], (-3, 3), ylim=(-1, 11), title=f"δ = {d}, a0 = 2 (L4394–4403)")
    exp.savefig(fig, "bad_steps")


def minima_and_saddle(exp: Experiment) -> None:
    def f(a):
        return a[0] ** 4 - 5 * a[0] ** 2 + a[0] + 10

    # Critical points of f: roots of f' = 4a³ − 10a + 1; minima where f'' = 12a² − 10 > 0.
    roots = np.sort(np.roots([4, 0, -10, 1]).real)
    minima = [r for r in roots if 12 * r * r - 10 > 0]
    starts = (2.0, 0.5, -0.5, -2.0)
    runs = {a0: descent.descend(f, jnp.array([a0]), descent.gradient_descent(0.02), 200) for a0 in starts}
    with exp.section("two local minima a⁴ − 5a² + a + 10, δ = 0.02"):
        limits = {a0: float(runs[a0].final[0]) for a0 in starts}
        nearest = {a0: min(minima, key=lambda m, x=limits[a0]: abs(m - x)) for a0 in starts}
        exp.compare("every start converges to one of the two local minima", book_line=4411, book_value=True,
                    value=all(abs(limits[a0] - nearest[a0]) < 1e-8 for a0 in starts))
        exp.compare("the limit depends on a0 (a0 = 2, 0.5 → right minimum; −0.5, −2 → left)", book_line=4411,
                    book_value=True, value=bool(limits[2.0] > 0 and limits[0.5] > 0 and limits[-0.5] < 0 and limits[-2.0] < 0))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, a0 in zip(axes, (2.0, -0.5), strict=True):
        short = descent.descend(f, jnp.array([a0]), descent.gradient_descent(0.02), 10)
        one_var_panel(ax, f, short, (-2.5, 2.5), ylim=(0, 20), title=f"a⁴ − 5a² + a + 10, a0 = {a0}, δ = 0.02 (L4405)")
    exp.savefig(fig, "two_minima")

    def g(a):
        return a[0] ** 4 - 2 * a[0] ** 3 + 4

    h = descent.descend(g, jnp.array([-1.0]), descent.gradient_descent(0.05), 100)
    a = np.asarray(h.points[:, 0])
    with exp.section("saddle a⁴ − 2a³ + 4, a0 = −1, δ = 0.05"):
        exp.compare("a_k increases towards the saddle 0, never past it (not the minimum 3/2)", book_line=4426,
                    book_value=True, value=bool(np.all(np.diff(a) > 0) and a[-1] < 0))
    fig, ax = plt.subplots(figsize=(6, 4))
    one_var_panel(ax, g, h, (-1.5, 2.5), ylim=(0, 8), title="saddle: a⁴ − 2a³ + 4, a0 = −1, δ = 0.05, 100 steps (L4426)")
    exp.savefig(fig, "saddle")


def step_sizes(exp: Experiment) -> None:
    d0 = 0.1
    ks = jnp.arange(50)
    curves = {
        "linear δ0/(k+1) (L4487)": schedules.linear_decay(d0),
        "quadratic δ0/(k+1)² (L4491)": schedules.quadratic_decay(d0),
        "exponential δ0·e^(−βk), β = 0.1 (L4495)": schedules.exponential_decay(d0, 0.1),
        "Keras δ0/(αk+1), α = 0.05 (L4502)": schedules.keras_decay(d0, 0.05),
    }
    with exp.section("step-size schedules"):
        exp.compare("Keras decay with α = 0 is the constant δ0", book_line=4504, book_value=True,
                    value=bool(jnp.all(schedules.keras_decay(d0, 0.0)(ks) == d0)))
        exp.agree("exponential decay δ0·e^(−βk), k < 50", book_line=4495, ours=schedules.exponential_decay(d0, 0.1)(ks),
                  reference=optax.exponential_decay(d0, 1, float(np.exp(-0.1)))(ks), tolerance=1e-15,
                  reference_name="optax.exponential_decay(δ0, 1, e^(−β))")
        # A decreasing step tames a step that is too large: δ0 = 1.1 diverges on a² + 1 (L4402),
        # δ_k = 1.1/(k + 1) converges.
        f = lambda a: a[0] ** 2 + 1  # noqa: E731
        h = descent.descend(f, jnp.array([2.0]), descent.gradient_descent(schedules.linear_decay(1.1)), 1000)
        exp.compare("a² + 1 with δ_k = 1.1/(k+1) converges (|a_1000| < 10⁻⁶)", book_line=4481, book_value=True,
                    value=bool(abs(float(h.final[0])) < 1e-6))
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, s in curves.items():
        ax.plot(np.asarray(ks), np.asarray(s(ks)), label=label)
    ax.set_xlabel("k")
    ax.set_ylabel("δ_k")
    ax.set_title(f"Step-size schedules, δ0 = {d0} (L4475–4506)")
    ax.legend(fontsize=8)
    exp.savefig(fig, "schedules")


# --------------------------------------------------------------------------------------------
# §2 Regression
# --------------------------------------------------------------------------------------------


def sum_of_squares(xs, ys):
    """E(a, b) = Σ (y_i − (a x_i + b))² (L4517)."""
    xs, ys = jnp.asarray(xs, dtype=float), jnp.asarray(ys, dtype=float)
    return lambda p: jnp.sum((ys - (p[0] * xs + p[1])) ** 2)


def regression_line(exp: Experiment) -> None:
    xs, ys = [0.0, 2, 6], [3.0, 4, 6]
    E = sum_of_squares(xs, ys)
    h = descent.descend(E, jnp.array([0.0, 1.0]), descent.gradient_descent(0.02), 100)
    table = [  # L4541–4546
        ([0, 1], [-72, -20], 38), (["1.44", "1.4"], ["49.60", "5.44"], "18.96"),  # the start: exact
        (["0.44", "1.29"], ["-31.50", "-11.08"], "10.28"), (["1.07", "1.51"], ["22.44", "0.32"], "6.24"),
        (["0.62", "1.50"], ["-13.57", "-6.89"], "4.27"), (["0.90", "1.64"], ["10.35", "-1.72"], "3.24"),
    ]
    with exp.section("line through (0, 3), (2, 4), (6, 6), δ = 0.02"):
        for k, (p, g, e) in enumerate(table):
            exp.compare(f"(a_{k}, b_{k})", book_line=4541 + k, book_value=p, value=h.points[k])
            exp.compare(f"grad E(a_{k}, b_{k})", book_line=4541 + k, book_value=g, value=h.grads[k])
            exp.compare(f"E(a_{k}, b_{k})", book_line=4541 + k, book_value=e, value=float(h.losses[k]))
        exp.compare("a_100", book_line=4549, book_value="0.501", value=float(h.points[100, 0]))
        exp.compare("b_100", book_line=4549, book_value="2.99", value=float(h.points[100, 1]))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    contour_panel(axes[0], E, (-0.5, 2.5, 0.5, 3.5), levels=np.geomspace(0.05, 200, 30))
    path_panel(axes[0], h.points[:16])
    axes[0].scatter([0.5], [3], color="blue", zorder=4)
    axes[0].set_xlabel("a")
    axes[0].set_ylabel("b")
    axes[0].set_title("(a_k, b_k) → (1/2, 3) (L4549)")
    x = np.linspace(-1, 7, 10)
    for k in range(8):
        a, b = np.asarray(h.points[k])
        axes[1].plot(x, a * x + b, color="red" if k == 0 else "orange", lw=1)
        axes[1].text(6.5, a * 6.5 + b, f"k = {k}", fontsize=7)
    axes[1].plot(x, 0.5 * x + 3, color="blue", lw=2)
    axes[1].scatter(xs, ys, color="black", zorder=4)
    axes[1].set_title("lines y = a_k x + b_k, k ≤ 7")
    exp.savefig(fig, "regression_three_points")

    xs5, ys5 = [4.0, 7, 8, 10, 12], [1.0, 3, 3, 6, 7]
    E5 = sum_of_squares(xs5, ys5)
    h5 = descent.descend(E5, jnp.array([0.75, -2.0]), descent.gradient_descent(0.001), 10_000)
    a5, b5 = (float(v) for v in h5.final)
    exact = np.linalg.lstsq(np.stack([xs5, np.ones(5)], axis=1), np.array(ys5), rcond=None)[0]
    with exp.section("line through 5 points, δ = 0.001, 10 000 steps"):
        exp.compare("a", book_line=4562, book_value="0.78", value=a5)
        exp.compare("b", book_line=4562, book_value="-2.46", value=b5)
        # The descent converges slowly (E is badly conditioned): run it longer for this check.
        long = descent.descend(E5, jnp.array([0.75, -2.0]), descent.gradient_descent(0.001), 40_000)
        exp.agree("(a, b) by GD after 40 000 steps", book_line=4575, ours=long.final, reference=exact,
                  tolerance=1e-9, reference_name="the normal-equation solution (direct formula, L4575)")
        y6 = float(long.final[0]) * 6 + float(long.final[1])
        exp.explain("y at x = 6", book_line=4569, book_value="2.22", value=y6,
                    expected=float(exact[0] * 6 + exact[1]), tolerance=1e-8,
                    reason=f"the book computes 0.78·6 − 2.46 = {0.78 * 6 - 2.46:.2f} with its rounded "
                    f"coefficients; the regression line (a, b) = ({exact[0]:.4f}, {exact[1]:.4f}) gives "
                    f"{exact[0] * 6 + exact[1]:.4f} (ours: GD after 40 000 steps; after 10 000: {a5 * 6 + b5:.4f})")
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.linspace(2, 14, 10)
    ax.plot(x, 0.75 * x - 2, color="red", label="start y = 3x/4 − 2 (through A1, A5)")
    ax.plot(x, a5 * x + b5, color="blue", label=f"regression y = {a5:.2f}x {b5:+.2f}")
    ax.scatter(xs5, ys5, color="black", zorder=4)
    ax.scatter([6], [a5 * 6 + b5], color="green", zorder=4, label=f"B = (6, {a5 * 6 + b5:.2f})")
    ax.legend(fontsize=8)
    ax.set_title("Linear regression of 5 points (L4553–4571)")
    exp.savefig(fig, "regression_five_points")


def regression_plane(exp: Experiment) -> None:
    def plane_error(points):
        pts = jnp.asarray(points, dtype=float)
        return lambda p: jnp.sum((pts[:, 2] - (p[0] * pts[:, 0] + p[1] * pts[:, 1] + p[2])) ** 2)

    E3 = plane_error([(0, 0, 3), (1, 0, 4), (0, 1, 5)])
    h3 = descent.descend(E3, jnp.zeros(3), descent.gradient_descent(0.2), 200)
    E5 = plane_error([(1, 0, 0), (0, 1, 5), (2, 1, 1), (1, 2, 0), (2, 2, 3)])
    h5 = descent.descend(E5, jnp.zeros(3), descent.gradient_descent(0.01), 1000)
    a, b, c = (float(v) for v in h5.final)
    with exp.section("planes"):
        # The three points lie on z = x + 2y + 3 exactly: judge the limit with 1e-9, not with
        # the unit of the printed integers.
        exp.compare("3 points, δ = 0.2, 200 steps: (a, b, c)", book_line=4625, book_value=[1.0, 2.0, 3.0],
                    value=h3.final, tolerance=1e-9)
        exp.compare("5 points, δ = 0.01, 1000 steps: (a, b, c)", book_line=4635,
                    book_value=["-1.22", "0.77", "2.33"], value=h5.final)
        exp.compare("E(a, b, c)", book_line=4635, book_value="14.44", value=float(h5.losses[-1]))
        exp.compare("z(1, 1)", book_line=4637, book_value="1.88", value=a + b + c)


# --------------------------------------------------------------------------------------------
# §3 Stochastic descent and mini-batches
# --------------------------------------------------------------------------------------------

PARABOLA_POINTS = jnp.array([[2.0, 0.0], [0.0, 2.0], [4.0, 6.0], [1.0, 0.0]])  # L4705


def parabola_example_error(p, point):
    """E_i(a, b) = (y_i − (x_i² + a x_i + b))² (L4717)."""
    x, y = point[0], point[1]
    return (y - (x * x + p[0] * x + p[1])) ** 2


def stochastic_parabola(exp: Experiment) -> None:
    data = PARABOLA_POINTS

    def E(p):
        return jnp.sum(jax.vmap(parabola_example_error, in_axes=(None, 0))(p, data))

    p0 = jnp.array([1.0, 1.0])
    classic = descent.descend(E, p0, descent.gradient_descent(0.01), 200)
    sgd = descent.descend_stochastic(parabola_example_error, p0, data, descent.gradient_descent(0.01), 800)
    with exp.section("parabola y = x² + ax + b, δ = 0.01: classic"):
        for k, line, p, e in ((0, 4727, [1, 1], 284), (1, 4730, ["-0.54", "0.52"], "84.87"),
                              (2, 4732, ["-1.36", "0.29"], "28.68")):
            exp.compare(f"(a_{k}, b_{k})", book_line=line, book_value=p, value=classic.points[k])
            exp.compare(f"E(a_{k}, b_{k})", book_line=line, book_value=e, value=float(classic.losses[k]))
        exp.compare("(a_200, b_200)", book_line=4738, book_value=["-2.9981", "1.9948"], value=classic.points[200])
    sgd_table = [([1, 1], 284), (["0.72", "0.86"], "236.43"), (["0.72", "0.88"], "237.41"),
                 (["-0.38", "0.60"], "100.74"), (["-0.40", "0.58"], "97.917"), (["-0.55", "0.50"], "83.245"),
                 (["-0.55", "0.53"], "83.913"), (["-1.22", "0.37"], "36.48"), (["-1.22", "0.36"], "36.29")]
    with exp.section("parabola: stochastic (cyclic)"):
        for k, (p, e) in enumerate(sgd_table):
            exp.compare(f"(a'_{k}, b'_{k})", book_line=4727 + k, book_value=p, value=sgd.points[k])
            exp.compare(f"E(a'_{k}, b'_{k})", book_line=4727 + k, book_value=e, value=float(sgd.losses[k]))
        exp.compare("(a'_800, b'_800)", book_line=4740, book_value=["-2.9984", "1.9954"], value=sgd.points[800])
        exp.compare("limit (a, b) with E = 0", book_line=4742, book_value=[-3.0, 2.0],
                    value=descent.descend(E, p0, descent.gradient_descent(0.01), 3000).final, tolerance=1e-9)
        # K = 1 is the stochastic descent and K = N the classic one (L4816).
        k1 = descent.descend_minibatch(parabola_example_error, p0, data, descent.gradient_descent(0.01), 1, 200)
        kn = descent.descend_minibatch(parabola_example_error, p0, data, descent.gradient_descent(0.01), 4, 200)
        exp.agree("mini-batch K = 1: the 800 steps", book_line=4816, ours=k1.points, reference=sgd.points,
                  tolerance=1e-12, reference_name="the stochastic descent")
        exp.agree("mini-batch K = N: the 200 steps", book_line=4816, ours=kn.points, reference=classic.points,
                  tolerance=1e-12, reference_name="the classic descent")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, hist, m, color, title in ((axes[0], classic, 3, "orange", "classic: first 2 steps"),
                                      (axes[1], sgd, 9, "green", "stochastic: first 8 steps")):
        contour_panel(ax, E, (-5, 2, -2, 4), levels=np.geomspace(0.5, 800, 30))
        path_panel(ax, hist.points[:m], arrow=color)
        ax.scatter([-3], [2], color="blue", zorder=4)
        ax.set_title(f"{title} (L4744–4749)")
        ax.set_xlabel("a")
        ax.set_ylabel("b")
    exp.savefig(fig, "stochastic_vs_classic")


def circle_example_error(p, point):
    """E_i(a, b, c) = ((x_i − a)² + (y_i − b)² − c²)² (L4834)."""
    a, b, c = p[0], p[1], p[2]
    r = (point[0] - a) ** 2 + (point[1] - b) ** 2 - c * c
    return r * r


def circle_points(centre, radius, angles_deg=None, *, n=None, jitter=0.0, key=None):
    """Points on (or around) a circle: at given angles, or n points at uniform random angles with a
    radius jittered uniformly in [r − jitter, r + jitter] (the authors' ``points_sur_cercle``)."""
    if angles_deg is not None:
        theta = jnp.deg2rad(jnp.asarray(angles_deg, dtype=float))
        r = jnp.full(theta.shape, float(radius))
    else:
        k_angle, k_radius = jax.random.split(key)
        theta = 2 * jnp.pi * jax.random.uniform(k_angle, (n,), dtype=float)
        r = radius + jitter * (1 - 2 * jax.random.uniform(k_radius, (n,), dtype=float))
    return jnp.stack([centre[0] + r * jnp.cos(theta), centre[1] + r * jnp.sin(theta)], axis=1)


def circle(exp: Experiment) -> None:
    # Six points exactly on the circle of centre (3, 2) and radius 1 (angles of circulaire_01.py).
    pts = circle_points((3.0, 2.0), 1.0, [10, 20, 40, 100, 200, 280])
    p0 = jnp.array([1.0, 1.0, 2.0])
    ks = (1, 2, 3, 6)
    epochs = 100  # the book does not say how many; its figure shows the first 10
    with exp.section("circle through 6 points, true gradient, the book's δ = 0.01"):
        for K in ks:
            try:
                h = descent.descend_minibatch(circle_example_error, p0, pts, descent.gradient_descent(0.01), K, epochs)
            except descent.NonFiniteLossError as err:
                exp.explain(f"K = {K}: (a, b, c)", book_line=4844, book_value=["3", "2", "1"], value=str(err),
                            reason="with the true gradient of E_i and δ = 0.01 the full-batch steps overshoot and "
                            "diverge; the book's curves come from the authors' script, whose gradient is half "
                            "the true one (= the true gradient with δ = 0.005, rows below)")
                continue
            final = [float(v) for v in h.final]
            if final[2] < 0:
                exp.explain(f"K = {K}: (a, b, c) after {epochs} epochs", book_line=4844, book_value=["3", "2", "1"],
                            value=final, expected=[3.0, 2.0, -1.0], tolerance=1e-6,
                            reason="with the true gradient and δ = 0.01 the radius parameter c "
                            "crosses 0 and converges to −1: the same circle (radius |c| = 1, E(a, b, c) = "
                            "E(a, b, −c)); the book's script used half the gradient (= δ = 0.005, rows below)")
            else:
                # Exact circle: judge the limit with 1e-6, not with the unit of the printed integers.
                exp.compare(f"K = {K}: (a, b, c) after {epochs} epochs", book_line=4844, book_value=[3.0, 2.0, 1.0],
                            value=final, tolerance=1e-6)
    histories = {}
    with exp.section("circle through 6 points, δ = 0.005 (= the book script's half gradient at δ = 0.01)"):
        for K in ks:
            h = descent.descend_minibatch(circle_example_error, p0, pts, descent.gradient_descent(0.005), K, epochs)
            histories[K] = h
            exp.compare(f"K = {K}: (a, b, c) after {epochs} epochs", book_line=4844, book_value=[3.0, 2.0, 1.0],
                        value=h.final, tolerance=1e-3)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    t = np.linspace(0, 2 * np.pi, 200)
    axes[0].plot(3 + np.cos(t), 2 + np.sin(t), color="blue")
    axes[0].scatter(*np.asarray(pts).T, color="red", zorder=3)
    axes[0].set_aspect("equal")
    axes[0].set_title("6 points on the circle of centre (3, 2), radius 1 (L4821)")
    for K, h in histories.items():
        steps = np.arange(len(h.losses))
        keep = steps * K / 6 <= 10
        axes[1].plot(steps[keep] * K / 6, np.asarray(h.losses)[keep], label=f"K = {K}")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("E")
    axes[1].set_title("error vs epoch, δ = 0.005 (the book's curves, L4846)")
    axes[1].legend()
    exp.savefig(fig, "circle_six_points")

    # 100 noisy points around the circle of centre (1, 2), radius 3 (radius jitter ±0.5).
    noisy = circle_points((1.0, 2.0), 3.0, n=100, jitter=0.5, key=exp.key(8, 1))
    q0 = jnp.array([1.0, 1.0, 1.0])

    def E(p):
        return jnp.sum(jax.vmap(circle_example_error, in_axes=(None, 0))(p, noisy))

    best = descent.descend(E, q0, descent.gradient_descent(1e-4), 20_000)
    e_min = float(best.losses[-1])
    runs = {}
    with exp.section("circle through 100 noisy points, true gradient, δ = 0.001, 2 epochs"):
        for K in (1, 10, 20):
            h = descent.descend_minibatch(circle_example_error, q0, noisy, descent.gradient_descent(0.001), K, 2)
            runs[K] = h
            left = (float(h.losses[-1]) - e_min) / (float(h.losses[0]) - e_min)
            exp.compare(f"K = {K}: two epochs suffice (E − E_min < 1 % of E(P_0) − E_min; here {100 * left:.2f} %)",
                        book_line=4850, book_value=True, value=bool(left < 0.01))
        gap = max(float(jnp.max(jnp.abs(h.final - best.final))) for h in runs.values())
        # Radial noise uniform in ±0.5 (sd s = 0.5/√3) on N = 100 points: the fitted centre is off
        # by about s√(2/N) = 0.04 per coordinate, the radius by s/√N = 0.03; 0.2 is 5 of those.
        exp.explain("best circle of the 100 noisy points (a, b, c)", book_line=4850, book_value=["1", "2", "3"],
                    value=[float(v) for v in best.final], expected=[1.0, 2.0, 3.0], tolerance=0.2,
                    reason="the book gives the circle the points are drawn around, not a fitted one: the "
                    f"minimum of E (E_min = {e_min:.1f}, long full-batch descent) is that circle up to the "
                    "noise (within 0.2: five standard deviations of the fit for radial noise ±0.5 on 100 points); "
                    f"the 2-epoch mini-batch descents (K = 1, 10, 20) are within {gap:.3f} of it")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].scatter(*np.asarray(noisy).T, color="red", s=10)
    a, b, c = (float(v) for v in runs[20].final)
    axes[0].plot(a + abs(c) * np.cos(t), b + abs(c) * np.sin(t), color="blue",
                 label=f"fit K = 20: ({a:.2f}, {b:.2f}), r = {abs(c):.2f}")
    axes[0].plot(1 + 3 * np.cos(t), 2 + 3 * np.sin(t), color="gray", ls="--", label="centre (1, 2), r = 3")
    axes[0].set_aspect("equal")
    axes[0].legend(fontsize=8)
    axes[0].set_title("100 noisy points (L4850)")
    for K, h in runs.items():
        steps = np.arange(len(h.losses))
        axes[1].plot(steps * K / 100, np.asarray(h.losses), label=f"K = {K}")
    axes[1].axhline(e_min, color="gray", ls=":", label=f"min E = {e_min:.1f}")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("E")
    axes[1].legend()
    axes[1].set_title("error vs epoch, δ = 0.001")
    exp.savefig(fig, "circle_noisy")


# --------------------------------------------------------------------------------------------
# §4 Momentum and Nesterov
# --------------------------------------------------------------------------------------------


def momentum(exp: Experiment) -> None:
    def f(p):
        return p[0] ** 2 + 3 * p[1] ** 2

    def grad_f(p):
        return jnp.stack([2 * p[0], 6 * p[1]])

    p0, delta, mu, n = jnp.array([2.0, 1.0]), 0.01, 0.9, 200
    with exp.section("momentum and Nesterov on a² + 3b² (δ = 0.01, μ = 0.9, L4883)"):
        book_hb = descent.book_momentum(f, grad_f, p0, delta, mu, n)
        hb = descent.descend(f, p0, descent.heavy_ball(delta, mu), n)
        opt = descent.descend(f, p0, optax.sgd(delta, momentum=mu), n)
        exp.agree("descent.heavy_ball: the 200 points", book_line=4879, ours=hb.points, reference=book_hb.points,
                  tolerance=1e-13, reference_name="the book's heavy ball (L4879)")
        exp.agree("optax.sgd(momentum=μ): the 200 points", book_line=4879, ours=opt.points, reference=book_hb.points,
                  tolerance=1e-13, reference_name="the book's heavy ball (L4879)")
        book_nv = descent.book_nesterov(f, grad_f, p0, delta, mu, n)
        look = descent.lookahead_points(book_nv.points, mu)
        opt_nv = descent.descend(f, p0, optax.sgd(delta, momentum=mu, nesterov=True), n)
        nv = descent.descend(f, p0, descent.nesterov(delta, mu), n)
        exp.agree("book Nesterov look-ahead points P'_k (L4900)", book_line=4900, ours=look, reference=opt_nv.points,
                  tolerance=1e-13, reference_name="optax.sgd(nesterov=True) iterates")
        exp.agree("descent.nesterov: the 200 points", book_line=4900, ours=nv.points, reference=opt_nv.points,
                  tolerance=1e-13, reference_name="optax.sgd(nesterov=True)")
        zero = descent.book_momentum(f, grad_f, p0, delta, 0.0, n)
        plain = descent.book_gradient_descent(f, grad_f, p0, delta, n)
        exp.agree("μ = 0: the book's momentum", book_line=4879, ours=zero.points, reference=plain.points,
                  tolerance=0.0, reference_name="the book's classic descent")

    # "La goutte d'eau et la balle" (L4855–4864): a narrow valley f = a²/10 + 3b² from (−4, 1).
    def valley(p):
        return p[0] ** 2 / 10 + 3 * p[1] ** 2

    start = jnp.array([-4.0, 1.0])
    # The same step δ = 0.1 for the three, momentum μ = 0.8.
    methods = {
        "classic, δ = 0.1 (the drop of water)": descent.gradient_descent(0.1),
        "momentum μ = 0.8, δ = 0.1 (the ball)": descent.heavy_ball(0.1, 0.8),
        "Nesterov μ = 0.8, δ = 0.1": descent.nesterov(0.1, 0.8),
    }
    hist = {name: descent.descend(valley, start, tx, 400) for name, tx in methods.items()}
    rows = []
    for name, h in hist.items():
        below = np.flatnonzero(np.asarray(h.losses) < 1e-6)
        rows.append((name, int(below[0]) if below.size else None, float(h.losses[-1])))
    with exp.path("momentum_comparison.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["method", "first k with f(P_k) < 1e-6", "f(P_400)"])
        w.writerows(rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    contour_panel(axes[0], valley, (-4.5, 1.5, -1.5, 1.5), levels=np.geomspace(1e-3, 5, 20))
    colors = ["orange", "green", "purple"]
    for (name, h), color in zip(hist.items(), colors, strict=True):
        pts = np.asarray(h.points[:40])
        axes[0].plot(pts[:, 0], pts[:, 1], "-o", ms=2.5, color=color, lw=1, label=name)
        axes[1].semilogy(np.asarray(h.losses), color=color, label=name)
    axes[0].legend(fontsize=7, loc="lower right")
    axes[0].set_title("first 40 steps on f = a²/10 + 3b² (L4855–4864)")
    axes[1].set_xlabel("k")
    axes[1].set_ylabel("f(P_k)")
    axes[1].legend(fontsize=7)
    axes[1].set_title("f(P_k): momentum and Nesterov go faster down the valley")
    exp.savefig(fig, "momentum_nesterov")


def run(exp: Experiment) -> None:
    intro(exp)
    two_variables(exp)
    one_variable(exp)
    minima_and_saddle(exp)
    step_sizes(exp)
    regression_line(exp)
    regression_plane(exp)
    stochastic_parabola(exp)
    circle(exp)
    momentum(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
