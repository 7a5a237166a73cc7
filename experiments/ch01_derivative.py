"""Chapter 1 — Dérivée / Derivative (book lines 156–1194).

Every number of the chapter, computed: difference quotients and first-order approximations,
tangents, the book's automatic differentiation on computation graphs (values, [local
derivatives], {{derivatives}} by the paths and by the reverse sweep, beside ``jax.grad``), the
activation functions, the two minimisation problems and the second-derivative test, Newton's
method for ∛100 (float64 jitted, exact fractions, and 1 000 decimals) and for the minimum of
x² − sin x + 1. Figures: secants → tangent, tangents, activations, minima, Newton, graphs.

Where the book gives a closed form (−12 sin 18, (ln 2 + ½)e², (11 − 6√3)/4…) the book value is
that formula evaluated with Python's ``math``; the computed value comes from the package.
The 1 000 printed decimals of ∛100 are read from the book's text (``--book PATH`` or the
``DEEPMATH_BOOK`` environment variable) when it is there; the first 60 are typed below.
"""

from __future__ import annotations

import math
import os
import sys
from fractions import Fraction
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # the book's numbers are float64 computations

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.calculus.activations import heaviside, relu, sigmoid, sigmoid_prime, tanh  # noqa: E402
from deepmath_jax.calculus.derivative import (  # noqa: E402
    USUAL_DERIVATIVES,
    classify_critical_point,
    closest_point_on_parabola,
    difference_quotient,
    linear_approximation,
    parabola_vertex,
    polynomial_critical_points,
    second_derivative,
    squared_distances_on_diagonal,
    tangent,
)
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.autodiff.graph import (  # noqa: E402
    Graph,
    chain,
    derivatives_by_paths,
    path_terms,
    reverse_sweep,
    unary,
)
from deepmath_jax.autodiff.graph_drawing import draw_graph  # noqa: E402
from deepmath_jax.calculus.newton import (  # noqa: E402
    correct_decimals,
    newton,
    newton_decimal,
    newton_minimize,
    newton_python,
    root_decimals,
)

CHAPTER = Chapter(1, "derivative", "Dérivée / Derivative", book_lines=(156, 1194))

BOOK_FILE = "004_4f3627a58b080ae8.txt"
# The first 60 decimals of x₁₃ as printed at L1126–1127 (a short quotation of numbers).
BOOK_X13_60 = "4.641588833612778892410076350919446576551349125011243637650692"


def grid(a: float, b: float, n: int = 201) -> jax.Array:
    return jnp.linspace(a, b, n)


def vgrad(f):
    return jax.vmap(jax.grad(f))


# --------------------------------------------------------------------------------------------
# §1 Dérivée: quotient, approximation, tangent, formulas
# --------------------------------------------------------------------------------------------


def definition(exp: Experiment) -> None:
    def square(x):
        return x**2

    exp.compare("f(x) = x²: f'(1) (jax.grad)", book_line=200, book_value=2, value=float(jax.grad(square)(1.0)))
    # For x² the quotient is exactly x₀ + x = 2 + h: its distance to 2 is h (L196–198).
    exp.compare("f(x) = x²: (f(1 + h) − f(1))/h at h = 1e−6", book_line=200, book_value=2.0,
                value=float(difference_quotient(square, 1.0, 1e-6)), tolerance=2e-6)
    x0 = jnp.array([-2.0, -0.5, 1.0, 3.0])
    exp.compare("f(x) = x²: f'(x₀) = 2x₀ at x₀ = −2, −0.5, 1, 3", book_line=202,
                book_value=[2 * float(v) for v in x0], value=vgrad(square)(x0))
    # (eˣ − 1)/x → 1: at h = 1e−8 the quotient is 1 + h/2 + round-off (~1e−8).
    exp.compare("(exp(h) − 1)/h at h = 1e−8 → exp'(0)", book_line=208, book_value=1.0,
                value=float(difference_quotient(jnp.exp, 0.0, 1e-8)), tolerance=1e-7)
    exp.compare("exp'(0) (jax.grad)", book_line=222, book_value=1, value=float(jax.grad(jnp.exp)(0.0)))

    # The approximations are exactly 0 + 0.01 × 1 and 1 + 0.5 × 0.1 (L252, L271): exact book values.
    exp.compare("sin(0.01) ≈ sin 0 + 0.01·cos 0", book_line=254, book_value=0.01,
                value=float(linear_approximation(jnp.sin, 0.0, 0.01)))
    exp.compare("sin(0.01) (true value)", book_line=254, book_value="0.00999983", value=float(jnp.sin(0.01)))
    exp.compare("√1.1 ≈ 1 + 0.5 × 0.1", book_line=271, book_value=1.05,
                value=float(linear_approximation(jnp.sqrt, 1.0, 0.1)))
    exp.compare("√1.1 (true value)", book_line=273, book_value="1.0488", value=float(jnp.sqrt(1.1)))
    slope, intercept = tangent(jnp.sqrt, 1.0)
    exp.compare("tangent to √x at 1: y = x/2 + 1/2 (slope, intercept)", book_line=300,
                book_value=["1/2", "1/2"], value=[float(slope), float(intercept)])

    # The book's formulas, each against jax.grad on a grid of its domain (float64 round-off).
    xs = grid(0.2, 1.4)
    exp.agree("table of usual derivatives (xⁿ, 1/x, √x, x^α, eˣ, ln, cos, sin, tan): jax.grad on [0.2, 1.4]",
              book_line=308, ours=jnp.stack([vgrad(f)(xs) for f, _, _ in USUAL_DERIVATIVES.values()]),
              reference=jnp.stack([df(xs) for _, df, _ in USUAL_DERIVATIVES.values()]), tolerance=1e-12,
              reference_name="the book's formulas")
    formulas = [
        (355, "f₁ = x² + cos x: f₁' = 2x − sin x", lambda x: x**2 + jnp.cos(x), lambda x: 2 * x - jnp.sin(x)),
        (356, "f₂ = x³ sin x: f₂' = 3x² sin x + x³ cos x", lambda x: x**3 * jnp.sin(x),
         lambda x: 3 * x**2 * jnp.sin(x) + x**3 * jnp.cos(x)),
        (357, "f₃ = ln x / eˣ: f₃' = ((1/x)eˣ − ln x eˣ)/e^{2x}", lambda x: jnp.log(x) / jnp.exp(x),
         lambda x: (jnp.exp(x) / x - jnp.log(x) * jnp.exp(x)) / jnp.exp(2 * x)),
        (416, "F = sin(3x): F' = 3 cos(3x)", lambda x: jnp.sin(3 * x), lambda x: 3 * jnp.cos(3 * x)),
        (430, "F = ln(cos x): F' = −sin x / cos x", lambda x: jnp.log(jnp.cos(x)), lambda x: -jnp.sin(x) / jnp.cos(x)),
        (440, "F = √(tan x): F' = ½(1 + tan²x)/√(tan x)", lambda x: jnp.sqrt(jnp.tan(x)),
         lambda x: 0.5 * (1 + jnp.tan(x) ** 2) / jnp.sqrt(jnp.tan(x))),
    ]
    for line, name, f, df in formulas:
        exp.agree(f"{name}: jax.grad on [0.2, 1.4]", book_line=line, ours=vgrad(f)(xs), reference=df(xs),
                  tolerance=1e-12, reference_name="the book's formula")
    # Derivatives of compositions (L442–454) with u(x) = x² + 1 (u' = 2x).
    u, du = (lambda x: x**2 + 1), (lambda x: 2 * x)
    composed = [
        (lambda x: u(x) ** 3, lambda x: 3 * du(x) * u(x) ** 2),
        (lambda x: 1 / u(x), lambda x: -du(x) / u(x) ** 2),
        (lambda x: jnp.sqrt(u(x)), lambda x: 0.5 * du(x) / jnp.sqrt(u(x))),
        (lambda x: u(x) ** 0.7, lambda x: 0.7 * du(x) * u(x) ** -0.3),
        (lambda x: jnp.exp(u(x)), lambda x: du(x) * jnp.exp(u(x))),
        (lambda x: jnp.log(u(x)), lambda x: du(x) / u(x)),
        (lambda x: jnp.cos(u(x)), lambda x: -du(x) * jnp.sin(u(x))),
        (lambda x: jnp.sin(u(x)), lambda x: du(x) * jnp.cos(u(x))),
        (lambda x: jnp.tan(u(x)), lambda x: du(x) * (1 + jnp.tan(u(x)) ** 2)),
    ]
    xs_c = grid(-0.5, 0.5)  # u ∈ [1, 1.25]: away from the poles of tan u
    # Relative to each derivative's size on the grid (e^u, tan u grow): 1e-12 of max(1, max |F'|).
    scales = [max(1.0, float(jnp.max(jnp.abs(df(xs_c))))) for _, df in composed]
    exp.agree("table of derivatives of compositions (uⁿ, 1/u, √u, u^α, e^u, ln u, cos u, sin u, tan u) "
              "with u = x² + 1: jax.grad on [−0.5, 0.5]", book_line=442,
              ours=jnp.stack([vgrad(f)(xs_c) for f, _ in composed]), reference=jnp.stack([df(xs_c) for _, df in composed]),
              tolerance=1e-12 * jnp.array(scales)[:, None], reference_name="the book's formulas")
    figure_secants(exp)


def figure_secants(exp: Experiment) -> None:
    f, x0 = jnp.sqrt, 1.0
    xs = np.linspace(0, 4.5, 300)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    ax.plot(xs, f(xs), lw=2.5, label="y = √x")
    for k, h in enumerate([3.0, 2.0, 1.0, 0.4]):
        slope = float(difference_quotient(f, x0, h))
        ax.plot(xs, f(x0) + slope * (xs - x0), lw=1, color=plt.cm.Greys(0.35 + 0.15 * k),
                label=f"secant h = {h:g}: slope {slope:.3f}")
        ax.plot([x0 + h], [float(f(x0 + h))], "o", color="gray", ms=4)
    s, b = tangent(f, x0)
    ax.plot(xs, float(s) * xs + float(b), "r", lw=2, label=f"tangent: slope f'(1) = {float(s):g}")
    ax.plot([x0], [1.0], "ko")
    ax.set(title="Secants (taux d'accroissement) → tangent at x₀ = 1", xlim=(0, 4.5), ylim=(0, 2.6), xlabel="x")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[1]
    h = 0.5
    ax.plot(xs, f(xs), lw=2.5, label="y = √x")
    ax.plot(xs, 0.5 * xs + 0.5, "r", lw=1.5, label="tangent y = x/2 + 1/2 (L300)")
    approx = float(linear_approximation(f, x0, h))
    ax.plot([x0 + h], [approx], "o", color="red")
    ax.plot([x0 + h], [float(f(x0 + h))], "o", color="tab:blue")
    ax.vlines(x0 + h, 0, approx, linestyles="dashed", color="gray")
    ax.annotate(f"f(x₀)+h f'(x₀) = {approx:.4f}", (x0 + h, approx), xytext=(1.7, 1.55), fontsize=9, color="red",
                arrowprops=dict(arrowstyle="->", color="red"))
    ax.annotate(f"f(x₀+h) = {float(f(x0 + h)):.4f}", (x0 + h, float(f(x0 + h))), xytext=(1.9, 0.9), fontsize=9,
                color="tab:blue", arrowprops=dict(arrowstyle="->", color="tab:blue"))
    ax.set(title="First-order approximation on the tangent (h = 0.5)", xlim=(0, 3), ylim=(0, 2), xlabel="x")
    ax.legend(fontsize=8, loc="lower right")
    exp.savefig(fig, "secants_tangent")

    # The error f(x₀+h) − f(x₀) − h f'(x₀) is o(h): for smooth f it is ~ f''(x₀)h²/2.
    hs = np.logspace(-6, 0, 25)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, g, x in [("sin at 0.5", jnp.sin, 0.5), ("√ at 1", jnp.sqrt, 1.0), ("exp at 0", jnp.exp, 0.0)]:
        err = np.abs(np.asarray(g(x + hs) - linear_approximation(g, x, hs)))
        ax.loglog(hs, err, label=f"{name}: |f(x₀+h) − f(x₀) − h f'(x₀)|")
    ax.loglog(hs, hs**2 / 2, "k--", lw=1, label="h²/2")
    ax.set(xlabel="h", title="The first-order error is o(h) (here ∝ h²)")
    ax.legend(fontsize=7)
    exp.savefig(fig, "first_order_error")


# --------------------------------------------------------------------------------------------
# §2 Dérivation automatique
# --------------------------------------------------------------------------------------------


def automatic_differentiation(exp: Experiment) -> None:
    e = math.e
    # L481–499: √(x·y + z²) at (2, 8, 3).
    g = Graph()
    x, y, z = g.inputs("x", "y", "z")
    F = g.apply("sqrt", g.apply("add", g.apply("mul", x, y, name="xy"), g.apply("square", z, name="z²"), name="xy+z²"),
                name="F")
    ev = g.forward({"x": 2.0, "y": 8.0, "z": 3.0})
    exp.compare("graph 2 ⊗ 8, 3 ↦ 3², ⊕, ↦ √: final value", book_line=497, book_value=5, value=float(ev[F]))
    point = (1.5, 2.0, -0.5)
    exp.compare("same graph at (x₀, y₀, z₀) = (1.5, 2, −0.5): √(x₀y₀ + z₀²)", book_line=497,
                book_value=math.sqrt(point[0] * point[1] + point[2] ** 2),
                value=float(g.forward(dict(zip("xyz", point, strict=True)))[F]))
    rev = reverse_sweep(ev, F)
    # ∂F/∂(x, y, z) = (y, x, 2z)/(2F): the chain rule by hand, then the engine and jax.grad.
    exp.compare("∇F(2, 8, 3) by the reverse sweep = (y, x, 2z)/(2F)", book_line=497,
                book_value=[8 / 10, 2 / 10, 6 / 10], value=[float(rev[v]) for v in (x, y, z)])
    exp.compare("∇F(2, 8, 3) by jax.grad", book_line=497, book_value=[8 / 10, 2 / 10, 6 / 10],
                value=list(map(float, jax.grad(g.as_function(F), argnums=(0, 1, 2))(2.0, 8.0, 3.0))))
    graphs = [(ev, rev, "√(x·y + z²) at (2, 8, 3)")]

    # L507–531: three local derivatives.
    for line, name, op, x0, book in [
        (510, "2 ↦ ln(2), [1/2]", "ln", 2.0, [math.log(2), "1/2"]),
        (515, "−1 ↦ e^{−2x} = e², [−2e²]", unary("e^{-2x}", lambda t: jnp.exp(-2 * t), lambda t: -2 * jnp.exp(-2 * t)),
         -1.0, [e**2, -2 * e**2]),
        (520, "3 ↦ x² = 9, [6]", "square", 3.0, [9, 6]),
    ]:
        gg, xi, out = chain(op)
        ev1 = gg.forward({"x": x0})
        exp.compare(f"local derivative: {name}", book_line=line, book_value=book,
                    value=[float(ev1[out]), float(ev1.local[out.name, 0])])

    # L524–585: F(x) = cos(2x²) at 3 and at 4.
    two_x2 = unary("2x²", lambda t: 2 * t**2, lambda t: 4 * t, label="x ↦ 2x²")
    for x0, line in [(3.0, 556), (4.0, 585)]:
        gg, xi, out = chain(two_x2, "cos")
        ev1 = gg.forward({"x": x0})
        y0 = 2 * x0**2
        exp.compare(f"cos(2x²) at {x0:g}: values y, z = {y0:g}, cos({y0:g})", book_line=line - 10,
                    book_value=[y0, math.cos(y0)], value=[float(ev1["x1"]), float(ev1[out])])
        exp.compare(f"cos(2x²) at {x0:g}: local derivatives [{4 * x0:g}], [−sin({y0:g})]", book_line=line - 10,
                    book_value=[4 * x0, -math.sin(y0)], value=[float(ev1.local["x1", 0]), float(ev1.local["x2", 0])])
        exact = -4 * x0 * math.sin(y0)
        exp.compare(f"{{{{F'({x0:g})}}}} = −{4 * x0:g} sin({y0:g}) (product right to left)", book_line=line,
                    book_value=exact, value=float(path_terms(ev1, out, xi)[0].product))
        exp.compare(f"F'({x0:g}) by jax.grad", book_line=line, book_value=exact,
                    value=float(jax.grad(lambda t: jnp.cos(2 * t**2))(x0)))

    # L587–606: F = h∘g∘f with f = ln, g(y) = y³ + 1, h = exp, at e.
    cube1 = unary("y³+1", lambda t: t**3 + 1, lambda t: 3 * t**2, label="y ↦ y³+1")
    gg, xi, out = chain("ln", cube1, "exp")
    ev1 = gg.forward({"x": e})
    exp.compare("h∘g∘f at e: values 1, 2, e²", book_line=594, book_value=[1, 2, e**2],
                value=[float(ev1[n]) for n in ("x1", "x2", "x3")])
    exp.compare("h∘g∘f at e: local derivatives [1/e], [3], [e²]", book_line=596, book_value=[1 / e, 3, e**2],
                value=[float(ev1.local[n, 0]) for n in ("x1", "x2", "x3")])
    exp.compare("{{e² × 3 × 1/e = 3e}}", book_line=598, book_value=3 * e, value=float(reverse_sweep(ev1, out)[xi]))
    exp.compare("h∘g∘f: F'(e) by jax.grad", book_line=598, book_value=3 * e,
                value=float(jax.grad(gg.as_function(out))(e)))
    for x0 in (1.0, 2.0):
        # Exercise (L602): F(x) = exp(ln³x + 1), F'(x) = exp(ln³x + 1)·3 ln²x / x; the book leaves it to the reader.
        closed = math.exp(math.log(x0) ** 3 + 1) * 3 * math.log(x0) ** 2 / x0
        exp.compare(f"exercise: F'({x0:g}) = exp(ln³x + 1)·3ln²x/x (reverse sweep)", book_line=602,
                    book_value=closed, value=float(reverse_sweep(gg.forward({"x": x0}), out)[xi]))
    # L665–700: sequential derivatives {{1}}, {{t'}}, {{t'z'}}, {{t'z'y'}} and their cost.
    rev, paths = reverse_sweep(ev1, out), derivatives_by_paths(ev1, out)
    exp.compare("dérivées séquentielles at e: {{1}}, {{t'}} = e², {{t'z'}} = 3e², {{t'z'y'}} = 3e", book_line=690,
                book_value=[1, e**2, 3 * e**2, 3 * e], value=[float(rev[n]) for n in ("x3", "x2", "x1", "x")])
    exp.compare("same by the sum over paths", book_line=690, book_value=[1, e**2, 3 * e**2, 3 * e],
                value=[float(paths[n]) for n in ("x3", "x2", "x1", "x")])
    n = 3
    exp.compare("products for all sequential derivatives, n = 3: recursion n", book_line=700, book_value=n,
                value=rev.multiplications)
    exp.compare("products without the recursion: n(n+1)/2", book_line=700, book_value=n * (n + 1) // 2,
                value=paths.multiplications)
    long_chain = ["sin", "cos", "tanh", "sigmoid", "square", "exp", "sin", "cos", "tanh", "sigmoid"]
    gl, xl, ol = chain(*long_chain)
    evl = gl.forward({"x": 0.3})
    nl = len(long_chain)
    exp.compare(f"chain of n = {nl}: multiplications (reverse sweep, paths)", book_line=700,
                book_value=[nl, nl * (nl + 1) // 2],
                value=[reverse_sweep(evl, ol).multiplications, derivatives_by_paths(evl, ol).multiplications])
    graphs.append((ev1, rev, "h∘g∘f at e: {{sequential derivatives}}"))

    # L621–633: ⊕ and ⊗.
    for op, line, book in [("add", 624, [5, 1, 1]), ("mul", 631, [6, 3, 2])]:
        gg = Graph()
        a, b = gg.inputs("a", "b")
        out = gg.apply(op, a, b)
        ev2 = gg.forward({"a": 2.0, "b": 3.0})
        symbol = "⊕" if op == "add" else "⊗"
        exp.compare(f"2 {symbol} 3 and its local derivatives", book_line=line, book_value=book,
                    value=[float(ev2[out]), float(ev2.local[out.name, 0]), float(ev2.local[out.name, 1])])
    # L636, L641: ln(x + 2) and exp(3·x) (3 ⊗ x: the local derivative on x's edge is 3).
    x0s = [-1.5, 0.0, 1.0, 3.0]
    gg = Graph()
    xi = gg.input("x")
    out = gg.apply("ln", xi + 2.0)
    exp.compare("F = ln(x + 2): F'(x₀) = 1/(x₀ + 2) at x₀ = −1.5, 0, 1, 3", book_line=636,
                book_value=[1 / (t + 2) for t in x0s], value=[float(reverse_sweep(gg.forward({"x": t}), out)[xi]) for t in x0s])
    gg = Graph()
    xi = gg.input("x")
    out = gg.apply("exp", 3.0 * xi)
    exp.compare("F = exp(3·x): F'(x₀) = 3 exp(3x₀) at x₀ = −1.5, 0, 1, 3", book_line=641,
                book_value=[3 * math.exp(3 * t) for t in x0s],
                value=[float(reverse_sweep(gg.forward({"x": t}), out)[xi]) for t in x0s])

    # L643–655: F(x) = exp(x)·ln(x) at 2, the input used twice.
    gg = Graph()
    xi = gg.input("x")
    out = gg.apply("mul", gg.apply("exp", xi, name="exp(x)"), gg.apply("ln", xi, name="ln(x)"), name="F")
    ev3 = gg.forward({"x": 2.0})
    terms = path_terms(ev3, out, xi)
    exp.compare("exp(x)·ln(x) at 2: F(2) = exp(2) ln(2)", book_line=650, book_value=math.exp(2) * math.log(2),
                value=float(ev3[out]))
    exp.compare("the two paths: {{ln(2) exp(2)}} and {{½ exp(2)}}", book_line=655,
                book_value=[math.log(2) * math.exp(2), 0.5 * math.exp(2)], value=[float(t.product) for t in terms])
    total = (math.log(2) + 0.5) * math.exp(2)
    exp.compare("F'(2) = (ln 2 + ½)e² (sum over paths)", book_line=655, book_value=total,
                value=float(derivatives_by_paths(ev3, out, [xi])[xi]))
    exp.compare("F'(2) (reverse sweep)", book_line=655, book_value=total, value=float(reverse_sweep(ev3, out)[xi]))
    exp.compare("F'(2) (jax.grad)", book_line=655, book_value=total,
                value=float(jax.grad(lambda t: jnp.exp(t) * jnp.log(t))(2.0)))
    graphs.append((ev3, reverse_sweep(ev3, out), "exp(x)·ln(x) at 2: fan-out, sum over paths"))

    fig, axes = plt.subplots(len(graphs), 1, figsize=(10, 3.2 * len(graphs)))
    for ax, (evg, d, title) in zip(axes, graphs, strict=True):
        draw_graph(ax, evg, d, title=title + "  — values, [local derivatives], {{dF/d·}}")
    exp.savefig(fig, "computation_graphs")


# --------------------------------------------------------------------------------------------
# §3.2 Activation functions
# --------------------------------------------------------------------------------------------


def activations(exp: Experiment) -> None:
    exp.compare("H(0) = 1 (and H(−10⁻³⁰⁰), H(10⁻³⁰⁰))", book_line=775, book_value=[1, 0, 1],
                value=[float(heaviside(0.0)), float(heaviside(-1e-300)), float(heaviside(1e-300))])
    exp.compare("σ(0)", book_line=835, book_value="1/2", value=float(sigmoid(0.0)))
    exp.compare("σ'(0) (Proposition 5, hand formula σ(1 − σ))", book_line=851, book_value="1/4", value=float(sigmoid_prime(0.0)))
    exp.compare("σ'(0) (jax.grad)", book_line=851, book_value="1/4", value=float(jax.grad(sigmoid)(0.0)))
    s, b = tangent(sigmoid, 0.0)
    exp.compare("tangent to σ at 0: y = x/4 + 1/2", book_line=835, book_value=["1/4", "1/2"], value=[float(s), float(b)])
    exp.compare("σ''(0) = 0 (inflexion)", book_line=851, book_value=0.0, value=float(second_derivative(sigmoid)(0.0)))
    xs = grid(-30, 30, 601)
    exp.agree("σ': jax.grad on [−30, 30]", book_line=830, ours=vgrad(sigmoid)(xs),
              reference=jnp.exp(-xs) / (1 + jnp.exp(-xs)) ** 2, tolerance=1e-15,
              reference_name="the book's formula e^{−x}/(1 + e^{−x})²")
    exp.agree("σ' = σ(1 − σ): jax.grad on [−30, 30]", book_line=839, ours=vgrad(sigmoid)(xs),
              reference=sigmoid(xs) * (1 - sigmoid(xs)), tolerance=1e-15, reference_name="the book's σ(1 − σ)")
    exp.compare("σ strictly increasing: min σ' on [−30, 30] > 0", book_line=826, book_value=True,
                value=bool(jnp.all(vgrad(sigmoid)(xs) > 0)))
    exp.compare("limits: σ(−40) → 0, σ(40) → 1", book_line=827, book_value=[0.0, 1.0],
                value=[float(sigmoid(-40.0)), float(sigmoid(40.0))], tolerance=1e-15)
    exp.agree("th(x) = 2σ(2x) − 1 (Proposition 6) on [−30, 30]", book_line=871, ours=tanh(xs),
              reference=2 * sigmoid(2 * xs) - 1, tolerance=1e-15, reference_name="2σ(2x) − 1")
    x10 = grid(-10, 10)
    exp.agree("th(x) = (eˣ − e^{−x})/(eˣ + e^{−x}) on [−10, 10]", book_line=863, ours=tanh(x10),
              reference=(jnp.exp(x10) - jnp.exp(-x10)) / (jnp.exp(x10) + jnp.exp(-x10)), tolerance=1e-15,
              reference_name="(eˣ − e^{−x})/(eˣ + e^{−x})")

    xs = np.linspace(-4, 4, 801)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    ax = axes[0, 0]
    ax.plot(xs[xs < 0], np.asarray(heaviside(xs[xs < 0])), "b", lw=2)
    ax.plot(xs[xs >= 0], np.asarray(heaviside(xs[xs >= 0])), "b", lw=2)
    ax.plot([0], [1], "bo")
    ax.plot([0], [0], "o", mfc="white", mec="b")
    ax.set_title("Heaviside H, H(0) = 1 (L753–775)")
    ax = axes[0, 1]
    ax.plot(xs, 2 * xs + 1, lw=2, label="affine 2x + 1")
    ax.plot(xs, np.where(xs < 0, 0.3 * xs, 1.5 * xs), lw=2, label="piecewise linear a = 0.3, b = 1.5")
    ax.set_title("Affine, piecewise linear (L777–800)")
    ax.legend(fontsize=8)
    ax = axes[0, 2]
    ax.plot(xs, np.asarray(relu(xs)), "b", lw=2)
    ax.set_title("ReLU(x) = max(0, x) (L802–806)")
    ax = axes[1, 0]
    ax.plot(xs, np.asarray(sigmoid(xs)), "b", lw=2, label="σ")
    ax.plot(xs, float(s) * xs + float(b), "r", lw=1, label="tangent y = x/4 + 1/2")
    ax.set_ylim(-0.2, 1.2)
    ax.set_title("Sigmoid σ and its tangent at 0 (L812–857)")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(xs, np.exp(xs), lw=2, label="eˣ")
    ax.plot(xs, np.exp(-xs), lw=2, label="e⁻ˣ")
    ax.set_ylim(0, 6)
    ax.set_title("eˣ and e⁻ˣ (L841)")
    ax.legend(fontsize=8)
    ax = axes[1, 2]
    ax.plot(xs, np.asarray(tanh(xs)), "b", lw=2, label="th")
    ax.plot(xs, np.asarray(2 * sigmoid(2 * xs) - 1), "y--", lw=1.5, label="2σ(2x) − 1")
    ax.set_title("th(x) = 2σ(2x) − 1 (L859–877)")
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    exp.savefig(fig, "activations")


# --------------------------------------------------------------------------------------------
# §3.3 and §4: minimum, maximum, second derivative
# --------------------------------------------------------------------------------------------


def minima(exp: Experiment) -> None:
    points = [(1, 2), (3, 0), (2, 3)]
    a, b, c = squared_distances_on_diagonal(points)
    exp.compare("E(x) = AM² + BM² + CM² = ax² + bx + c: (a, b, c)", book_line=902, book_value=[6, -22, 27],
                value=[float(a), float(b), float(c)])
    x0, e0 = parabola_vertex(a, b, c)
    exp.compare("x₀ = −b/(2a) = 22/12", book_line=906, book_value="22/12", value=float(x0))
    exp.compare("x₀ = 1.83…", book_line=906, book_value="1.83", value=float(x0))
    exp.compare("E(x₀) = 41/6 (exact)", book_line=906, book_value="41/6", value=str(e0))
    exp.compare("E(x₀) = 6.83…", book_line=906, book_value="6.83", value=float(e0))

    def e_fn(x):
        return sum((x - p) ** 2 + (x - q) ** 2 for p, q in points)

    exp.compare("E'(x₀) = 0 and E''(x₀) > 0: Proposition 8 says", book_line=944, book_value="local min",
                value=classify_critical_point(e_fn, float(x0)))

    coeffs, crit, best = closest_point_on_parabola((1.0, 2.0))
    exp.compare("f(x) = AM² = x⁴ − 3x² − 2x + 5 (coefficients)", book_line=965, book_value=[1, 0, -3, -2, 5],
                value=coeffs)
    r3 = math.sqrt(3)
    exp.compare("critical points x₁ = −1, x₂ = (1 − √3)/2, x₃ = (1 + √3)/2", book_line=972,
                book_value=[-1.0, (1 - r3) / 2, (1 + r3) / 2], value=[cp.x for cp in crit])
    exp.compare("kinds at x₁, x₂, x₃ (second derivative)", book_line=978,
                book_value=["local min", "local max", "local min"], value=[cp.kind for cp in crit])
    exp.compare("f(x₁) = 5, f(x₃) = (11 − 6√3)/4", book_line=982, book_value=[5.0, (11 - 6 * r3) / 4],
                value=[crit[0].value, crit[2].value])
    exp.compare("global minimum x₃ = 1.36…", book_line=986, book_value="1.36", value=best.x)
    exp.compare("f(x₃) = 0.15…", book_line=986, book_value="0.15", value=best.value)

    exp.compare("f = x³: f''(−2) = −12", book_line=1016, book_value=-12, value=float(second_derivative(lambda t: t**3)(-2.0)))
    xs = grid(-2, 2)
    exp.agree("f = sin: f'' by jax.grad twice on [−2, 2]", book_line=1017, ours=second_derivative(jnp.sin)(xs),
              reference=-jnp.sin(xs), tolerance=1e-14, reference_name="−sin")
    # relative: 1e-14 of 6e⁴ = max 6 exp(x²) on [−2, 2]
    exp.agree("f = exp(x²): f'' by jax.grad twice on [−2, 2]", book_line=1018,
              ours=second_derivative(lambda t: jnp.exp(t**2))(xs), reference=(2 + 4 * xs**2) * jnp.exp(xs**2),
              tolerance=1e-14 * float(jnp.max(6 * jnp.exp(xs**2))), reference_name="(2 + 4x²)exp(x²)")

    def cubic(x):
        return x**3 - 2 * x**2 + 2

    crit3 = polynomial_critical_points([1, -2, 0, 2])
    exp.compare("f = x³ − 2x² + 2: critical points 0 and 4/3", book_line=1042, book_value=[0, "4/3"],
                value=[cp.x for cp in crit3])
    exp.compare("f''(0) = −4, f''(4/3) = +4", book_line=1043, book_value=[-4, 4],
                value=[float(second_derivative(cubic)(cp.x)) for cp in crit3])
    exp.compare("0 is a local max, 4/3 a local min (Proposition 8)", book_line=1044,
                book_value=["local max", "local min"], value=[classify_critical_point(cubic, cp.x) for cp in crit3])
    figure_minima(exp, points, float(x0), float(e0), coeffs, crit, crit3)


def figure_minima(exp, points, x0, e0, coeffs, crit, crit3) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(13, 8))
    ax = axes[0, 0]
    t = np.linspace(-0.5, 4, 2)
    ax.plot(t, t, "gray", lw=1, label="y = x")
    for (p, q), name in zip(points, "ABC", strict=True):
        ax.plot([p], [q], "bo")
        ax.annotate(name, (p, q), xytext=(4, 4), textcoords="offset points")
        ax.plot([p, x0], [q, x0], "b--", lw=0.8)
    ax.plot([x0], [x0], "ro")
    ax.annotate(f"M₀ = ({x0:.3f}, {x0:.3f})", (x0, x0), xytext=(6, -12), textcoords="offset points", color="red")
    ax.set(aspect="equal", title="M(x, x) closest to A, B, C (L880–912)")
    ax = axes[0, 1]
    xs = np.linspace(0, 3.5, 200)
    ax.plot(xs, 6 * xs**2 - 22 * xs + 27, lw=2)
    ax.plot([x0], [e0], "ro")
    ax.annotate("minimum 41/6 at 11/6", (x0, e0), xytext=(0.3, 14), arrowprops=dict(arrowstyle="->"))
    ax.set(title="E(x) = 6x² − 22x + 27 (L902–906)", xlabel="x", ylim=(0, 30))
    ax = axes[0, 2]
    xs = np.linspace(-2, 2, 300)
    ax.plot(xs, xs**2, lw=2, label="y = x²")
    ax.plot([1], [2], "ko")
    ax.annotate("A(1, 2)", (1, 2), xytext=(5, 5), textcoords="offset points")
    for cp, name, col in zip(crit, ["M₁ (local min)", "M₂ (local max)", "M₃ (global min)"], ["orange", "gray", "red"], strict=True):
        ax.plot([1, cp.x], [2, cp.x**2], "--", color=col, lw=1)
        ax.plot([cp.x], [cp.x**2], "o", color=col, label=f"{name}: AM = {math.sqrt(cp.value):.3f}")
    ax.set(aspect="equal", title="Point of y = x² closest to A (L952–992)", xlim=(-2, 2.2), ylim=(-0.5, 4))
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    xs = np.linspace(-1.8, 1.9, 300)
    ax.plot(xs, np.polyval(coeffs, xs), lw=2)
    for cp in crit:
        ax.plot([cp.x], [cp.value], "o")
        ax.annotate(f"{cp.kind}\nx = {cp.x:.3f}, f = {cp.value:.3f}", (cp.x, cp.value),
                    xytext=(0, 12 if cp.kind == "local max" else -30), textcoords="offset points", fontsize=7,
                    ha="center")
    ax.set(title="f(x) = x⁴ − 3x² − 2x + 5 (L965–986)", ylim=(-0.5, 9))
    ax = axes[1, 1]
    xs = np.linspace(-1, 2.2, 300)
    ax.plot(xs, xs**3 - 2 * xs**2 + 2, lw=2)
    for cp in crit3:
        ax.plot([cp.x], [cp.value], "o")
        ax.annotate(f"{cp.kind}, f'' = {cp.second:+.0f}", (cp.x, cp.value), xytext=(0, 10), textcoords="offset points",
                    fontsize=8, ha="center")
    ax.set(title="f(x) = x³ − 2x² + 2 (L1036–1046)")
    ax = axes[1, 2]
    xs = np.linspace(-1.5, 1.5, 200)
    ax.plot(xs, xs**2, lw=2, label="convex: f = x², f'' = 2 > 0")
    ax.plot(xs, -(xs**2), lw=2, label="concave: f = −x², f'' = −2 < 0")
    ax.set(title="Convex ∪ and concave ∩ (L1022–1026)")
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    exp.savefig(fig, "minima")


# --------------------------------------------------------------------------------------------
# §5 Newton's method
# --------------------------------------------------------------------------------------------


def book_digits(exp: Experiment) -> tuple[str | None, str]:
    """The 1 000 decimals printed at L1126–1147, from the book's text, or (None, why not)."""
    here = Path(__file__).resolve().parent.parent
    candidates = [exp.options.get("book"), os.environ.get("DEEPMATH_BOOK"),
                  here.parent / "shared" / "book" / BOOK_FILE, here.parent.parent / "shared" / "book" / BOOK_FILE]
    for c in candidates:
        if c and Path(c).is_file():
            lines = Path(c).read_text(encoding="utf-8").splitlines()[1125:1147]
            text = "".join(lines).replace(" ", "")
            if text.startswith("4."):
                digits = "".join(ch for ch in text[2:] if ch.isdigit())
                if len(digits) == 1000:
                    return "4." + digits, str(c)
            return None, f"{c} does not have the 1 000 digits at L1126–1147"
    return None, ("the book's text was not found: pass --book PATH (or set DEEPMATH_BOOK) to the markdown "
                  f"export {BOOK_FILE}")


def newton_section(exp: Experiment) -> None:
    def f(x):
        return x**3 - 100

    def df(x):
        return 3 * x**2

    exp.compare("f(x₀) = 900, f'(x₀) = 300 at x₀ = 10", book_line=1111, book_value=[900, 300],
                value=[float(f(10.0)), float(df(10.0))])
    exact = newton_python(f, df, Fraction(10), 2)
    exp.compare("x₁ = 10 − 900/300 = 7", book_line=1113, book_value=7, value=str(exact[1]))
    exp.compare("f(7) = 243, f'(7) = 147", book_line=1115, book_value=[243, 147], value=[f(7), df(7)])
    exp.compare("x₂ = 262/49 (exact, fractions)", book_line=1117, book_value="262/49", value=str(exact[2]))
    xs = newton(f, 10.0, 13, df=df)  # float64, jitted
    exp.compare("x₂ = 5.3469… (float64)", book_line=1117, book_value="5.3469", value=float(xs[2]))
    exp.compare("x₃ = 4.7305…", book_line=1119, book_value="4.7305", value=float(xs[3]))
    exp.compare("x₄ = 4.6432…", book_line=1120, book_value="4.6432", value=float(xs[4]))
    exp.compare("x₅ = 4.6415894…", book_line=1121, book_value="4.6415894", value=float(xs[5]))
    exp.compare("x₆ = 4.641588833612…", book_line=1122, book_value="4.641588833612", value=float(xs[6]))
    exp.compare("x₆ with f' = jax.grad(f)", book_line=1122, book_value="4.641588833612",
                value=float(newton(f, 10.0, 6)[6]))

    decs = newton_decimal(f, df, 10, 13, digits=1000)
    reference = root_decimals(100, 3, 1010)  # independent: integer cube root of 100·10³⁰³⁰
    exp.compare("correct decimals of x₅, x₆ (decimal iterates vs the exact ∛100)", book_line=1121,
                book_value=[5, 12], value=[correct_decimals(decs[5], reference), correct_decimals(decs[6], reference)])
    exp.compare("correct decimals of x₁₃ among the first 1 000 (vs integer ∛(100·10³⁰⁰⁰))", book_line=1124,
                book_value=1000, value=correct_decimals(decs[13], reference[:1002]))
    x13 = format(decs[13], "f")
    exp.compare("x₁₃: its first 60 decimals as printed", book_line=1126, book_value=BOOK_X13_60, value=x13[:62])
    printed, where = book_digits(exp)
    if printed is None:
        exp.skip("x₁₃: all 1 000 printed decimals (from the book's text)", book_line=1126, book_value=1000,
                 reason=where)
    else:
        exp.compare("x₁₃: decimals that agree with the 1 000 printed in the book", book_line=1126, book_value=1000,
                    value=correct_decimals(decs[13], printed))
    exp.path("cube_root_100_x13.txt").write_text(x13[:1002] + "\n")

    # §5.4: minimise g(x) = x² − sin x + 1 by Newton on f = g' = 2x − cos x, f' = g'' = 2 + sin x.
    def g(x):
        return x**2 - jnp.sin(x) + 1

    def dg(x):
        return 2 * x - jnp.cos(x)

    def d2g(x):
        return 2 + jnp.sin(x)

    from0 = newton_minimize(g, 0.0, 10, dg=dg, d2g=d2g)
    exp.compare("from x₀ = 0: x₁, x₂, x₃, x₄", book_line=1181,
                book_value=["0.5", "0.4506266930", "0.4501836475", "0.4501836112"], value=from0[1:5])
    ell = float(from0[-1])
    bounds = [1, 1e-1, 1e-3, 1e-7, 1e-15]
    errors = [abs(float(v) - ell) for v in from0[:5]]
    exp.compare("errors εₙ = |xₙ − ℓ| within the bounds 1, 10⁻¹, 10⁻³, 10⁻⁷, 10⁻¹⁵", book_line=1181,
                book_value=[True] * 5, value=[e <= bnd for e, bnd in zip(errors, bounds, strict=True)])
    exp.compare("ℓ ≈ 0.4501836112", book_line=1185, book_value="0.4501836112", value=ell)
    exp.compare("g'(ℓ) = 0", book_line=1187, book_value=0.0, value=float(dg(ell)), tolerance=1e-15)
    exp.compare("g(ℓ) ≈ 0.7675344248", book_line=1189, book_value="0.7675344248", value=float(g(ell)))
    exp.compare("g''(ℓ) > 0: a minimum", book_line=1171, book_value="local min",
                value=classify_critical_point(g, ell))
    from10 = newton_minimize(g, 10.0, 10)  # g' and g'' by jax.grad this time
    exp.compare("from x₀ = 10: x₁ … x₇", book_line=1193,
                book_value=["-4.3127566511", "-1.4932228819", "1.5615319504", "0.5235838839", "0.4511295428",
                            "0.4501837766", "0.4501836112"], value=from10[1:8])
    figure_newton(exp, xs, decs, reference, from0, from10, ell)


def figure_newton(exp, xs, decs, reference, from0, from10, ell) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    t = np.linspace(3.5, 10.5, 300)
    ax.plot(t, t**3 - 100, lw=2, label="f(x) = x³ − 100")
    for k, col in zip(range(3), ["green", "purple", "orange"], strict=True):
        xk = float(xs[k])
        fk, dfk = xk**3 - 100, 3 * xk**2
        seg = np.linspace(float(xs[k + 1]) - 0.3, xk + 0.3, 10)
        ax.plot(seg, fk + dfk * (seg - xk), color=col, lw=1.2, label=f"tangent at x{k} = {xk:.4g}")
        ax.plot([xk, xk], [0, fk], ":", color=col)
        ax.plot([xk], [fk], "o", color=col)
        ax.plot([float(xs[k + 1])], [0], "o", color="red")
    ax.axhline(0, color="black", lw=0.7)
    ax.set(title="Newton for ∛100 from x₀ = 10 (L1083–1122)", xlabel="x")
    ax.legend(fontsize=7)
    ax = axes[1]
    t = np.linspace(-0.5, 2, 200)
    ax.plot(t, t**2 - np.sin(t) + 1, lw=2, label="g(x) = x² − sin x + 1")
    gl = ell**2 - math.sin(ell) + 1
    ax.plot([ell], [gl], "ro")
    ax.plot([ell, ell], [0, gl], "r--", lw=1)
    ax.annotate(f"ℓ = {ell:.10f}\ng(ℓ) = {gl:.10f}", (ell, gl), xytext=(0.7, 0.4), fontsize=8,
                arrowprops=dict(arrowstyle="->"))
    ax.set(title="Minimum of g by Newton on g' (L1163–1193)", xlabel="x", ylim=(0, 4))
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.semilogy(range(len(decs)), [max(correct_decimals(d, reference), 0.5) for d in decs], "o-",
                label="x³ − 100 from 10 (1 010-digit decimals)")
    for run, lab in [(from0, "2x − cos x from 0 (float64)"), (from10, "2x − cos x from 10 (float64)")]:
        err = np.maximum(np.abs(np.asarray(run) - ell), 1e-17)
        ax.semilogy(range(len(run)), np.maximum(-np.log10(err), 0.5), "s--", label=lab)
    ax.axhline(16, color="gray", ls=":", lw=1)
    ax.text(13, 18, "float64 limit", fontsize=7, color="gray", ha="right")
    ax.set(title="Correct decimals of xₙ double at each step", xlabel="n", ylabel="correct decimals (−log₁₀ error)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    exp.savefig(fig, "newton")


def run(exp: Experiment) -> None:
    with exp.section("§1 derivative"):
        definition(exp)
    with exp.section("§2 automatic differentiation"):
        automatic_differentiation(exp)
    with exp.section("§3.2 activations"):
        activations(exp)
    with exp.section("§3.3–4 minima"):
        minima(exp)
    with exp.section("§5 Newton"):
        newton_section(exp)


def add_arguments(parser) -> None:
    parser.add_argument("--book", default=None,
                        help=f"path of the book's markdown export ({BOOK_FILE}) to compare all 1 000 printed decimals")


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run, add_arguments=add_arguments))
