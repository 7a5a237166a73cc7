"""Chapter 7 — Gradient / Gradient (book lines 3380–4214).

Partial derivatives and the gradient (with the book's examples), the geometry of the gradient
(tangent to a level line, steepest ascent, directional derivative, tangent plane, first-order
approximation), critical points of x² − y³ + xy, automatic differentiation on the computation
graphs of chapter 1 with nodes of two variables (ln(x²y + sin y) at (3, 2), √(exp t · sin t) at 1,
three outgoing edges, three paths), and the gradient of a network with respect to
its weights by the *formule du sourire*, checked three ways (smile, backward recursion,
jax.grad) on the book's two networks and on random DAGs; the layered manual backpropagation
against jax.grad. Figures: surfaces, level lines with −grad f, the computation graphs with
values, [local derivatives] and {{derivatives}}, the chapter's networks with their values and
partial derivatives.
"""

from __future__ import annotations

import json
import math
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)  # the book's exact values are float64 computations

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from deepmath_jax.autodiff import backprop, graph, smile  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.calculus.gradient import (  # noqa: E402
    critical_points,
    directional_derivative,
    directional_difference_quotient,
    ellipse_tangent,
    first_order_approximation,
    gradient,
    gradient_by_difference_quotients,
    gradient_field,
    level_set_tangent,
    partial_derivative,
    partial_difference_quotient,
    steepest_ascent,
    tangent_plane_to_graph,
)
from deepmath_jax.autodiff.graph_drawing import draw_graph  # noqa: E402

CHAPTER = Chapter(7, "gradient", "Gradient / Gradient", book_lines=(3380, 4214))


# --------------------------------------------------------------------------------------------
# §1 Partial derivatives
# --------------------------------------------------------------------------------------------


def partial_derivatives_section(exp: Experiment) -> None:
    # The book gives formulas, not numbers: each is evaluated at a point and compared with
    # jax.grad (book value = the book's formula at that point).
    f = lambda x, y: x**2 * jnp.exp(3 * y)  # noqa: E731
    x0, y0 = 1.5, -0.5
    exp.compare("x²e^{3y}: ∂f/∂x = 2x e^{3y} at (1.5, −0.5)", book_line=3443,
                book_value=2 * x0 * math.exp(3 * y0), value=float(partial_derivative(f, 0)(x0, y0)))
    exp.compare("x²e^{3y}: ∂f/∂y = 3x² e^{3y} at (1.5, −0.5)", book_line=3447,
                book_value=3 * x0**2 * math.exp(3 * y0), value=float(partial_derivative(f, 1)(x0, y0)))
    quotient = float(partial_difference_quotient(f, (x0, y0), 0, 1e-7))
    exp.compare("x²e^{3y}: difference quotient (h = 1e−7) → ∂f/∂x", book_line=3410,
                book_value=2 * x0 * math.exp(3 * y0), value=quotient, tolerance=1e-6)  # O(h) + round-off
    g = lambda x, y, z: jnp.cos(x + y**2) * jnp.exp(-z)  # noqa: E731
    p = (0.7, -1.1, 0.3)
    s, c, e = math.sin(p[0] + p[1] ** 2), math.cos(p[0] + p[1] ** 2), math.exp(-p[2])
    exp.compare("cos(x + y²)e^{−z}: (∂x, ∂y, ∂z) at (0.7, −1.1, 0.3)", book_line=3453,
                book_value=[-s * e, -2 * p[1] * s * e, -c * e], value=gradient(g)(*p))
    q = jnp.array([0.5, -1.0, 2.0, 3.0])
    exp.compare("Σxᵢ²: ∂f/∂xᵢ = 2xᵢ at (0.5, −1, 2, 3)", book_line=3460, book_value=[1.0, -2.0, 4.0, 6.0],
                value=gradient(lambda *v: sum(t**2 for t in v))(*q))

    # Figure (§1.3, L3462–3471): the slices y = y₀ and x = x₀ of a surface and their tangents.
    h = lambda x, y: jnp.exp(-(x**2) - y**2) * (1 + x / 2)  # noqa: E731
    a, b = 0.4, -0.5
    X, Y = np.meshgrid(np.linspace(-1.5, 1.5, 60), np.linspace(-1.5, 1.5, 60))
    Z = np.asarray(h(X, Y))
    fx, fy = (float(t) for t in gradient(h)(a, b))
    z0 = float(h(a, b))
    fig = plt.figure(figsize=(11, 4.5))
    for k, (title, slope) in enumerate((("∂f/∂x: slope of the slice y = y₀", fx), ("∂f/∂y: slope of the slice x = x₀", fy))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.plot_surface(X, Y, Z, cmap="viridis", alpha=0.55, edgecolor="none")
        t = np.linspace(-1.5, 1.5, 100)
        color = "tab:orange" if k == 0 else "tab:green"
        if k == 0:
            ax.plot(t, np.full_like(t, b), np.asarray(h(t, b)), color=color, lw=2.5)
            s_ = np.linspace(-0.5, 0.5, 2)
            ax.plot(a + s_, np.full(2, b), z0 + slope * s_, color="k", lw=2)
        else:
            ax.plot(np.full_like(t, a), t, np.asarray(h(a, t)), color=color, lw=2.5)
            s_ = np.linspace(-0.5, 0.5, 2)
            ax.plot(np.full(2, a), b + s_, z0 + slope * s_, color="k", lw=2)
        ax.scatter([a], [b], [z0], color="red", s=30)
        ax.set_title(f"{title}\nslope = {slope:.3f}")
        ax.view_init(25, -60)
    exp.savefig(fig, "partial_derivative_slices")


# --------------------------------------------------------------------------------------------
# §2 Gradient and geometry
# --------------------------------------------------------------------------------------------


def partials_arrays(p: smile.Partials, q: smile.Partials) -> tuple[np.ndarray, np.ndarray]:
    """F and its partial derivatives by two methods, as two arrays in the same order."""
    a, b = p.as_dict(), q.as_dict()
    if a.keys() != b.keys():
        raise ValueError(f"different variables: {sorted(a)} and {sorted(b)}")
    return (np.array([float(p.value), *(a[k] for k in a)]), np.array([float(q.value), *(b[k] for k in a)]))


def gradient_section(exp: Experiment) -> None:
    exp.compare("grad x²y³ at (2, 1)", book_line=3491, book_value=[4, 12], value=gradient(lambda x, y: x**2 * y**3)(2.0, 1.0))
    x, y, z = 1.5, 0.4, -2.0
    exp.compare("grad x² sin(yz) at (1.5, 0.4, −2)", book_line=3492,
                book_value=[2 * x * math.sin(y * z), x**2 * z * math.cos(y * z), x**2 * y * math.cos(y * z)],
                value=gradient(lambda x, y, z: x**2 * jnp.sin(y * z))(x, y, z))
    # hand-written (difference quotients) against the book's gradient
    exp.compare("grad x²y³ at (2, 1) by difference quotients", book_line=3491, book_value=[4, 12],
                value=gradient_by_difference_quotients(lambda x, y: x**2 * y**3, (2.0, 1.0)),
                tolerance=1e-7)  # symmetric quotient, h = 1e−6: O(h²) + round-off

    # Tangent to the ellipse x²/a² + y²/b² = 1 (L3526–3543) from the gradient (Prop. 2).
    a, b, t = 3.0, 2.0, 0.8
    x0, y0 = a * math.cos(t), b * math.sin(t)
    n, c = level_set_tangent(lambda x, y: x**2 / a**2 + y**2 / b**2, (x0, y0))
    exp.compare("ellipse a=3, b=2 at t=0.8: tangent (x₀/a²)x + (y₀/b²)y = 1", book_line=3542,
                book_value=list(ellipse_tangent(a, b, x0, y0)), value=[float(n[0]) / float(c), float(n[1]) / float(c), 1.0])

    # Steepest ascent (Prop. 3, L3549–3596): the best of 3600 unit directions is the gradient's.
    f = lambda x, y: jnp.sin(x) * jnp.cos(2 * y) + 0.3 * x * y  # noqa: E731
    P = (0.6, -0.3)
    thetas = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    unit = lambda th: jnp.stack([jnp.cos(th), jnp.sin(th)])  # noqa: E731
    slopes = np.asarray(jax.vmap(lambda th: directional_derivative(f, P, unit(th)))(jnp.asarray(thetas)))
    u = steepest_ascent(f, P)
    grad_angle = math.atan2(float(u[1]), float(u[0])) % (2 * math.pi)
    exp.agree("steepest ascent: best of 3600 directions", book_line=3551, ours=float(thetas[int(np.argmax(slopes))]),
              reference=grad_angle, tolerance=2 * math.pi / 3600, reference_name="the angle of grad f (Prop. 3)")
    gnorm = float(jnp.linalg.norm(gradient(f)(*P)))
    exp.agree("steepest ascent: max D_v f over 3600 unit v", book_line=3594, ours=float(slopes.max()),
              reference=gnorm, tolerance=1e-5,  # 3600 angles: 1 − cos(π/3600) ≈ 4e−7 relative
              reference_name="‖grad f‖ (Prop. 3)")
    v = (0.6, 0.8)
    exp.agree("D_v f: lim (f(P + tv) − f(P))/t at t = 1e−7", book_line=3566,
              ours=float(directional_difference_quotient(f, P, v, 1e-7)),
              reference=float(directional_derivative(f, P, v)), tolerance=1e-6,
              reference_name="h f_x + k f_y (jax.grad)")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    ax = axes[0]
    T = np.linspace(0, 2 * np.pi, 300)
    ax.plot(a * np.cos(T), b * np.sin(T), color="tab:red", label="level line f = 1")
    for tt in (0.3, 0.8, 1.9, 2.9, 4.0, 5.2):
        px, py = a * math.cos(tt), b * math.sin(tt)
        nn, _ = level_set_tangent(lambda x, y: x**2 / a**2 + y**2 / b**2, (px, py))
        nn = np.asarray(nn)
        ax.arrow(px, py, nn[0], nn[1], color="tab:blue", head_width=0.08, length_includes_head=True)
        d = np.array([-nn[1], nn[0]]) / np.linalg.norm(nn)
        s_ = np.linspace(-1.2, 1.2, 2)
        ax.plot(px + s_ * d[0], py + s_ * d[1], color="tab:green", lw=1)
    ax.set_aspect("equal")
    ax.set_title("x²/9 + y²/4 = 1: grad f (blue) orthogonal to the level line,\ntangents (green) (Prop. 1–2)")
    ax.legend(loc="lower left", fontsize=8)
    ax = axes[1]
    ax.plot(thetas, slopes, label="D_v f(P), v = (cos θ, sin θ)")
    ax.axhline(gnorm, color="gray", ls="--", lw=0.8, label="‖grad f(P)‖")
    ax.axvline(grad_angle, color="tab:red", ls=":", label="direction of grad f(P)")
    ax.set_xlabel("θ")
    ax.set_title("Directional derivative: largest along the gradient (Prop. 3)")
    ax.legend(fontsize=8)
    exp.savefig(fig, "tangents_and_directional_derivative")

    # Tangent plane to a level surface (Prop. 4, L3607–3613): x² + y² + z² = 3 at (1, 1, 1).
    n3, c3 = level_set_tangent(lambda x, y, z: x**2 + y**2 + z**2, (1.0, 1.0, 1.0))
    fig = plt.figure(figsize=(6, 5.5))
    ax = fig.add_subplot(projection="3d")
    uu, vv = np.meshgrid(np.linspace(0, 2 * np.pi, 40), np.linspace(0, np.pi, 20))
    r = math.sqrt(3)
    ax.plot_surface(r * np.cos(uu) * np.sin(vv), r * np.sin(uu) * np.sin(vv), r * np.cos(vv), alpha=0.35, color="tab:red")
    PX, PY = np.meshgrid(np.linspace(0.2, 1.8, 2), np.linspace(0.2, 1.8, 2))
    ax.plot_surface(PX, PY, (float(c3) - float(n3[0]) * PX - float(n3[1]) * PY) / float(n3[2]), alpha=0.6, color="tab:blue")
    ax.quiver(1, 1, 1, *(np.asarray(n3) / 3), color="k")
    ax.set_box_aspect((1, 1, 1))
    ax.set_title(f"Tangent plane {float(n3[0]):g}x + {float(n3[1]):g}y + {float(n3[2]):g}z = {float(c3):g}\n"
                 "to x² + y² + z² = 3 at (1, 1, 1) (Prop. 4)")
    exp.savefig(fig, "tangent_plane_level_surface")


def approximation_section(exp: Experiment) -> None:
    f = lambda x, y: x**2 * y  # noqa: E731
    fx, fy = (float(t) for t in gradient(f)(1.0, 1.0))
    exp.compare("x²y: ∂f/∂x(1, 1), ∂f/∂y(1, 1)", book_line=3636, book_value=[2, 1], value=[fx, fy])
    approx = float(first_order_approximation(f, (1.0, 1.0), (0.002, -0.003)))
    exp.compare("f(1.002, 0.997) ≈ f(1, 1) + 2h + k", book_line=3640, book_value="1.001", value=approx)
    exp.compare("f(1.002, 0.997) exact (book rounds 1.000991988)", book_line=3642, book_value="1.000992",
                value=float(f(1.002, 0.997)))

    fig = plt.figure(figsize=(12, 5))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    X, Y = np.meshgrid(np.linspace(0.2, 1.8, 40), np.linspace(0.2, 1.8, 40))
    plane = tangent_plane_to_graph(f, 1.0, 1.0)
    ax.plot_surface(X, Y, np.asarray(f(X, Y)), color="tab:red", alpha=0.5)
    ax.plot_surface(X, Y, np.asarray(plane(X, Y)), color="tab:blue", alpha=0.4)
    h, k = 0.5, 0.4  # an exaggerated step so that z₁ ≠ z₂ is visible
    z1, z2 = float(f(1 + h, 1 + k)), float(plane(1 + h, 1 + k))
    ax.scatter([1 + h, 1 + h], [1 + k, 1 + k], [z1, z2], color=["tab:red", "tab:blue"], s=30)
    ax.text(1 + h, 1 + k, z1, " z₁ = f(x₀+h, y₀+k)", fontsize=8)
    ax.text(1 + h, 1 + k, z2, " z₂ (tangent plane)", fontsize=8)
    ax.set_title("x²y (red) and its tangent plane at (1, 1) (blue), L3626–3628")
    ax.view_init(20, -60)
    ax = fig.add_subplot(1, 2, 2)
    steps = np.logspace(-5, -0.5, 30)
    d = np.array([2.0, -3.0]) / math.sqrt(13)  # the book's direction (h, k) ∝ (2, −3)
    errs = [abs(float(f(1 + s * d[0], 1 + s * d[1])) - float(first_order_approximation(f, (1.0, 1.0), tuple(s * d)))) for s in steps]
    ax.loglog(steps, errs, "o-", ms=3, label="|f − first-order approximation|")
    ax.loglog(steps, steps**2, "--", color="gray", label="‖(h, k)‖²")
    ax.axvline(math.hypot(0.002, 0.003), color="tab:red", ls=":", label="book's step (0.002, −0.003)")
    ax.set_xlabel("‖(h, k)‖")
    ax.set_title("The error is o(‖(h, k)‖): it falls like ‖(h, k)‖²")
    ax.legend(fontsize=8)
    exp.savefig(fig, "first_order_approximation")


def critical_points_section(exp: Experiment) -> None:
    f = lambda x, y: x**2 - y**3 + x * y  # noqa: E731
    starts = np.stack(np.meshgrid(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11)), axis=-1).reshape(-1, 2)
    found = critical_points(f, starts)
    exp.compare("x² − y³ + xy: number of critical points (Newton from 121 starts)", book_line=3695, book_value=2,
                value=len(found))
    if len(found) == 2:
        exp.compare("critical point 1", book_line=3695, book_value=[0, 0], value=found[0].point)
        exp.compare("critical point 2", book_line=3695, book_value=["1/12", "-1/6"], value=found[1].point)
        exp.compare("(0, 0): neither min nor max (f(0, y) = −y³; Hessian: saddle)", book_line=3697,
                    book_value="saddle", value=found[0].kind)
        exp.compare("(1/12, −1/6): local minimum (second-order criterion)", book_line=3699,
                    book_value="local min", value=found[1].kind)
    fxy = gradient(f)
    exp.compare("grad f = (2x + y, −3y² + x) at (0.3, −0.7)", book_line=3688, book_value=[2 * 0.3 - 0.7, -3 * 0.49 + 0.3],
                value=fxy(0.3, -0.7))

    # Figures (anchor gradient_surface_6/7): surface and 101 level lines in [−0.1, 0.1].
    fig = plt.figure(figsize=(13, 5.5))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    X, Y = np.meshgrid(np.linspace(-0.2, 0.15, 50), np.linspace(-0.3, 0.1, 50))
    ax.plot_surface(X, Y, np.asarray(f(X, Y)), cmap="viridis", edgecolor="none")
    ax.set_xlabel("axe x")
    ax.set_ylabel("axe y")
    ax.view_init(15, -60)
    ax.set_title("x² − y³ + xy")
    ax = fig.add_subplot(1, 2, 2)
    X, Y = np.meshgrid(np.linspace(-0.2, 0.2, 200), np.linspace(-0.3, 0.1, 200))
    ax.contour(X, Y, np.asarray(f(X, Y)), np.linspace(-0.1, 0.1, 101))
    for cp, color in zip(found, ("tab:red", "tab:blue"), strict=False):
        ax.plot(*cp.point, "o", color=color, label=f"({cp.point[0]:.4f}, {cp.point[1]:.4f}): {cp.kind}")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("101 level lines; the minimum is inside the small oval (L3701)")
    exp.savefig(fig, "critical_points")

    # Surfaces of x² + y², −x² − y², x² − y² (anchor gradient_surface_1/5) and the saddle.
    fns = {"x² + y² (minimum)": lambda x, y: x**2 + y**2, "−x² − y² (maximum)": lambda x, y: -(x**2) - y**2,
           "x² − y² (saddle)": lambda x, y: x**2 - y**2}
    X, Y = np.meshgrid(np.linspace(-1, 1, 50), np.linspace(-1, 1, 50))
    fig = plt.figure(figsize=(14, 4.5))
    for k, (name, fn) in enumerate(fns.items()):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        ax.plot_surface(X, Y, np.asarray(fn(X, Y)), cmap="viridis", edgecolor="none", alpha=0.9)
        ax.view_init(15, -60)
        ax.set_axis_off()
        ax.set_title(name)
    exp.savefig(fig, "surfaces")

    fig = plt.figure(figsize=(16, 4.2))
    for k, azim in enumerate((-60, -75, -105)):  # anchor gradient_surface_2: three views
        ax = fig.add_subplot(1, 4, k + 1, projection="3d")
        ax.plot_surface(X, Y, np.asarray(X**2 - Y**2), cmap="viridis", edgecolor="none")
        ax.view_init(15, azim)
        ax.set_axis_off()
        ax.set_title(f"x² − y², view (15, {azim})")
    ax = fig.add_subplot(1, 4, 4)
    Xf, Yf = np.meshgrid(np.linspace(-1, 1, 100), np.linspace(-1, 1, 100))
    levels = np.sort(np.append(np.linspace(-1, 1, 11), [0.1, -0.1]))  # anchor gradient_surface_3
    ax.clabel(ax.contour(Xf, Yf, Xf**2 - Yf**2, levels), inline=True, fontsize=7)
    ax.set_aspect("equal")
    ax.set_title("level lines of x² − y² (saddle)")
    exp.savefig(fig, "saddle")

    # Level lines with the vectors −grad f (L3719–3725; anchor gradient_surface_4 uses a 10×10 grid).
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    Vx, Vy = np.meshgrid(np.linspace(-1, 1, 10), np.linspace(-1, 1, 10))
    for ax, (name, fn) in zip(axes, fns.items(), strict=True):
        ax.contour(Xf, Yf, np.asarray(fn(Xf, Yf)), 12, cmap="viridis")
        U, V = gradient_field(fn, Vx, Vy)
        ax.quiver(Vx, Vy, -np.asarray(U), -np.asarray(V), color="tab:red")
        ax.set_aspect("equal")
        ax.set_title(f"{name}: −grad f")
    exp.savefig(fig, "level_lines_minus_gradient")


# --------------------------------------------------------------------------------------------
# §3 Automatic differentiation: the graph engine of chapter 1 with nodes of two variables
# --------------------------------------------------------------------------------------------


def autodiff_section(exp: Experiment) -> None:
    # The book prints exact expressions (18 + sin 2, 12/(18 + sin 2), …): each book value is
    # that expression evaluated in float64; the engine's numbers come from the graph.
    s2, c2 = math.sin(2), math.cos(2)
    g, x, y, F = graph.ln_x2y_plus_sin_y()
    ev = g.forward({"x": 3.0, "y": 2.0})
    exp.compare("ln(x²y + sin y) at (3, 2): values z₀ = 18 + sin 2, F = ln(18 + sin 2)", book_line=3797,
                book_value=[18 + s2, math.log(18 + s2)], value=[ev["z"], ev[F]])
    exp.compare("ln(x²y + sin y) at (3, 2): local derivatives [2x₀y₀] = [12], [x₀² + cos y₀] = [9 + cos 2], "
                "[1/z₀] = [1/(18 + sin 2)]", book_line=3801, book_value=[12.0, 9 + c2, 1 / (18 + s2)],
                value=[ev.local["z", 0], ev.local["z", 1], ev.local["F", 0]])
    book = [12 / (18 + s2), (9 + c2) / (18 + s2)]
    paths = graph.derivatives_by_paths(ev, F, [x, y])
    jgrad = jax.grad(g.as_function(F), argnums=(0, 1))(3.0, 2.0)
    exp.compare("grad F(3, 2) = (12, 9 + cos 2)/(18 + sin 2): product of the local derivatives along the branches",
                book_line=3813, book_value=book, value=[paths[x], paths[y]])
    exp.compare("grad F(3, 2): reverse sweep (dérivées séquentielles)", book_line=3813, book_value=book,
                value=graph.gradient(ev, F))
    exp.compare("grad F(3, 2): jax.grad of the same graph", book_line=3813, book_value=book, value=list(jgrad))
    # The general formulas (L3789–3792) at other points: the engine, evaluated on an array of points.
    pts = jax.random.uniform(exp.key(10), (2, 200), minval=0.2, maxval=3.0)
    evs = g.forward({"x": pts[0], "y": pts[1]})
    z0 = pts[0] ** 2 * pts[1] + jnp.sin(pts[1])
    formula = jnp.stack([2 * pts[0] * pts[1] / z0, (pts[0] ** 2 + jnp.cos(pts[1])) / z0])
    exp.agree("grad F by the graph engine at 200 points of ]0.2, 3[²",
              book_line=3789, ours=graph.gradient(evs, F), reference=formula,
              tolerance=1e-13,  # float64 round-off
              reference_name="the book's ∂F/∂x = 2x₀y₀/z₀, ∂F/∂y = (x₀² + cos y₀)/z₀")

    # Fan-out: F(t) = √(exp t · sin t) at t₀ = 1 (L3853–3881).
    gt, t, Ft = graph.sqrt_exp_times_sin()
    evt = gt.forward({"t": 1.0})
    e, s1, c1 = math.e, math.sin(1), math.cos(1)
    exp.compare("√(exp t sin t) at 1: values x₀ = e, y₀ = sin 1, z₀ = e sin 1, F = √(e sin 1)", book_line=3870,
                book_value=[e, s1, e * s1, math.sqrt(e * s1)], value=[evt["x"], evt["y"], evt["z"], evt[Ft]])
    exp.compare("√(exp t sin t) at 1: local derivatives [e], [cos 1], [sin 1], [e], [1/(2√(e sin 1))]",
                book_line=3877, book_value=[e, c1, s1, e, 1 / (2 * math.sqrt(e * s1))],
                value=[evt.local["x", 0], evt.local["y", 0], evt.local["z", 0], evt.local["z", 1], evt.local["F", 0]])
    terms = {tt.nodes[2]: tt for tt in graph.path_terms(evt, Ft, t)}
    half = 1 / (2 * math.sqrt(e * s1))
    exp.compare("F'(1): the two path products [1/(2√(e sin 1))]·[sin 1]·[e] and [1/(2√(e sin 1))]·[e]·[cos 1]",
                book_line=3877, book_value=[half * s1 * e, half * e * c1],
                value=[terms["x"].product, terms["y"].product])
    book_t = e * (s1 + c1) / (2 * math.sqrt(e * s1))
    exp.compare("F'(1) = e(sin 1 + cos 1)/(2√(e sin 1)): sum over the outgoing edges of t (paths, reverse sweep, "
                "jax.grad)", book_line=3881, book_value=[book_t] * 3,
                value=[graph.derivatives_by_paths(evt, Ft, [t])[t], graph.reverse_sweep(evt, Ft)[t],
                       jax.grad(gt.as_function(Ft))(1.0)])
    ts = jnp.linspace(0.1, 3.0, 50)  # sin t > 0: the domain of √(exp t sin t)
    general = jnp.exp(ts) * (jnp.sin(ts) + jnp.cos(ts)) / (2 * jnp.sqrt(jnp.exp(ts) * jnp.sin(ts)))
    exp.agree("F'(t₀) by the reverse sweep on ]0.1, 3[", book_line=3868,
              ours=graph.reverse_sweep(gt.forward({"t": ts}), Ft)[t], reference=general,
              tolerance=1e-12,  # float64 round-off
              reference_name="the book's exp t₀ (sin t₀ + cos t₀)/(2√(exp t₀ sin t₀))")

    # n outgoing edges (L3883–3888) and three paths through a reused ln t (L3890–3899).
    g3, t3, F3 = graph.t_plus_ln2_plus_inv_sin()
    t0 = 2.0
    exp.compare("F = t + (ln t)² + 1/sin t at t = 2: three outgoing edges from t", book_line=3888, book_value=3,
                value=sum(t3.name in n.inputs for n in g3.nodes.values()))
    book3 = 1 + math.log(t0) - math.cos(t0) / math.sin(t0) ** 2
    exp.compare("F'(2) = 1 + 2 ln 2/2 − cos 2/sin² 2: sum over the outgoing edges (reverse sweep, jax.grad)",
                book_line=3888, book_value=[book3] * 2,
                value=[graph.reverse_sweep(g3.forward({"t": t0}), F3)[t3], jax.grad(g3.as_function(F3))(t0)])
    g4, t4, F4 = graph.t2_ln_t_ln_ln_t()
    t0 = 2.5
    ev4 = g4.forward({"t": t0})
    exp.compare("F = t² · ln t · ln(ln t): number of paths from F to t", book_line=3898, book_value=3,
                value=len(graph.path_terms(ev4, F4, t4)))
    # No value printed (L3892): the closed form 2t ln t ln ln t + t ln ln t + t is the yardstick.
    y0 = math.log(t0)
    exp.compare("F'(2.5) of t² ln t ln(ln t): sum of the 3 path products, jax.grad; closed form (not printed)",
                book_line=3898, book_value=[2 * t0 * y0 * math.log(y0) + t0 * math.log(y0) + t0] * 2,
                value=[graph.derivatives_by_paths(ev4, F4, [t4])[t4], jax.grad(g4.as_function(F4))(t0)])

    # Hand positions where an edge skips columns (t → ⊕ in the third graph, t² → ⊗ in the fourth).
    pos3 = {"t": (0, 0), "ln t": (1.5, 0.8), "(ln t)²": (3, 0.8), "sin t": (1.5, -0.8), "1/sin t": (3, -0.8),
            "s": (4.5, 0.8), "F": (6, 0)}
    pos4 = {"t": (0, 0), "y": (1.5, 0.8), "t²": (1.5, -0.8), "ln y": (3, 1.2), "t² y": (3, -0.4), "F": (4.5, 0.4)}
    fig, axes = plt.subplots(2, 2, figsize=(15, 8.5))
    for ax, (evg, out, title, pos) in zip(axes.flat, (
            (ev, F, "ln(x²y + sin y) at (3, 2) (L3806–3813)", None),
            (evt, Ft, "√(exp t · sin t) at 1 (L3870–3881)", None),
            (g3.forward({"t": 2.0}), F3, "t + (ln t)² + 1/sin t at 2: three outgoing edges (L3888)", pos3),
            (ev4, F4, "t² ln t ln(ln t) at 2.5: three paths (L3890–3899)", pos4)), strict=True):
        draw_graph(ax, evg, graph.reverse_sweep(evg, out), pos=pos,
                   title=title + "\nvalues, [local derivatives], {{dF/d·}}")
    exp.savefig(fig, "computation_graphs_two_variables")


# --------------------------------------------------------------------------------------------
# §4 The formule du sourire
# --------------------------------------------------------------------------------------------


def draw_network(ax, net: smile.Network, inputs: dict, params: dict, partials: smile.Partials, title: str,
                 *, weights: bool = True) -> None:
    """The network as in the book's figures: values g_* in the neurons, [g'_*] under them,
    weights on the edges and the partial derivatives {{∂F/∂w}} (double braces)."""
    fw = smile.forward(net, inputs, params)
    depth = net.depth
    layers: dict[int, list[str]] = {}
    for v in (*net.inputs, *net.order):
        layers.setdefault(depth[v], []).append(v)
    pos = {v: (d * 3.0, (len(vs) - 1) / 2 * 2.2 - i * 2.2) for d, vs in layers.items() for i, v in enumerate(vs)}
    for e in net.edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="-|>", color="gray", shrinkA=14, shrinkB=14))
        mx, my = x0 + 0.62 * (x1 - x0), y0 + 0.62 * (y1 - y0)
        if weights:
            ax.text(mx, my + 0.18, f"{e.weight} = {float(fw.params[e.weight]):.3g}", fontsize=8, ha="center",
                    color="tab:blue")
        ax.text(mx, my - 0.32, f"{{{{{float(partials.params[e.weight]):.4g}}}}}", fontsize=8, ha="center", color="tab:red")
    for x in net.inputs:
        px, py = pos[x]
        ax.text(px, py, f"{x} = {float(fw.out[x]):.3g}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="lightblue"))
        ax.text(px, py - 0.55, f"{{{{{float(partials.inputs[x]):.4g}}}}}", ha="center", fontsize=8, color="tab:red")
    for g in net.order:
        px, py = pos[g]
        n = net.neurons[g]
        ax.add_patch(plt.Circle((px, py), 0.42, color="salmon", zorder=2))
        ax.text(px, py, f"{float(fw.out[g]):.4g}", ha="center", va="center", fontsize=8, zorder=3)
        ax.text(px, py + 0.55, n.activation, ha="center", fontsize=8)
        ax.text(px, py - 0.62, f"[{float(fw.slope[g]):.4g}]", ha="center", fontsize=8)
        if n.bias is not None:
            ax.text(px - 0.6, py - 1.05, f"bias {n.bias} = {float(fw.params[n.bias]):.3g}  "
                    f"{{{{{float(partials.params[n.bias]):.4g}}}}}", fontsize=8, color="tab:purple")
    ox, oy = pos[net.output]
    ax.annotate("", xy=(ox + 1.3, oy), xytext=(ox + 0.45, oy), arrowprops=dict(arrowstyle="-|>", color="k"))
    ax.text(ox + 1.4, oy, f"F = {float(fw.value):.6g}", fontsize=9, va="center")
    ax.set_xlim(-1.2, max(p[0] for p in pos.values()) + 3.2)
    ys = [p[1] for p in pos.values()]
    ax.set_ylim(min(ys) - 1.6, max(ys) + 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def smile_section(exp: Experiment) -> None:
    # Example 1 (L3999–4076): F(x, a, b, c) = ln(c(ax + b)²) at (2, 3, 4, 5).
    net1 = smile.book_example_1()
    x1, p1 = {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0}
    fw = smile.forward(net1, x1, p1)
    exp.compare("example 1: first neuron (ax + b)² and [2u]", book_line=4030, book_value=[100, 20],
                value=[fw.out["square"], fw.slope["square"]])
    exp.compare("example 1: second neuron pre-activation c·100 and [1/v]", book_line=4026, book_value=[500, "1/500"],
                value=[fw.pre["ln"], fw.slope["ln"]])
    results = {m.__name__: m(net1, x1, p1) for m in (smile.smile_partials, smile.recursion_partials, smile.jax_partials)}
    book1 = {"c": ("1/5", 4026), "a": ("2/5", 4037), "b": ("1/5", 4048), "x": ("3/5", 4059)}
    for method, label in (("smile_partials", "smile"), ("recursion_partials", "recursion (4)–(6)"),
                          ("jax_partials", "jax.grad")):
        r = results[method]
        exp.compare(f"example 1 [{label}]: F = ln 500", book_line=4061, book_value=math.log(500), value=r.value)
        for var, (value, line) in book1.items():
            exp.compare(f"example 1 [{label}]: ∂F/∂{var}", book_line=line, book_value=value, value=r.as_dict()[var])
    exp.compare("example 1: check ∂F/∂a = 2x/(ax + b) = 4/10", book_line=4076, book_value="4/10",
                value=smile.book_example_1_formulas(2.0, 3.0, 4.0, 5.0)["a"])

    # Example 2 (L4078–4127): exp(c cos(ax) + d sin(bx)); the book's symbolic derivatives at a point.
    net2 = smile.book_example_2()
    point = {"x": 1.0, "a": 0.5, "b": 2.0, "c": 1.5, "d": -0.5}
    x2, p2 = {"x": point["x"]}, {k: point[k] for k in "abcd"}
    book2 = smile.book_example_2_formulas(**point)
    lines = {"F": 4086, "c": 4094, "d": 4098, "a": 4106, "b": 4114, "x": 4123}
    results2 = {}
    for method, label in ((smile.smile_partials, "smile"), (smile.recursion_partials, "recursion (4)–(6)"),
                          (smile.jax_partials, "jax.grad")):
        r = method(net2, x2, p2)
        results2[label] = r
        values = {"F": float(r.value), **r.as_dict()}
        exp.compare(f"example 2 at (x,a,b,c,d) = (1, .5, 2, 1.5, −.5) [{label}]: F, ∂F/∂(c, d, a, b, x)",
                    book_line=lines["a"], book_value=[book2[k] for k in ("F", "c", "d", "a", "b", "x")],
                    value=[values[k] for k in ("F", "c", "d", "a", "b", "x")])

    # g_* = 0: the smile formula is undefined (L3994), the recursion is not (L4178).
    net0 = smile.Network(["x"], [smile.Neuron("g", "sin", "bias"), smile.Neuron("h", "exp")],
                         [smile.Edge("x", "g", "a"), smile.Edge("g", "h", "b")])
    x0, p0 = {"x": 1.5}, {"a": 2.0, "bias": -3.0, "b": 0.7}
    try:
        smile.smile_partials(net0, x0, p0)
        status = "defined"
    except smile.SmileUndefinedError:
        status = "undefined"
    exp.compare("x →a→ sin(·+bias) →b→ exp with g_* = sin 0 = 0: smile formula", book_line=3994,
                book_value="undefined", value=status)
    jax0 = smile.jax_partials(net0, x0, p0)
    for label, ours in (("recursion (4)–(6)", smile.recursion_partials(net0, x0, p0)),
                        ("smile with explicit fallback", smile.smile_partials(net0, x0, p0, fallback=True))):
        a, b = partials_arrays(ours, jax0)
        exp.agree(f"same network, g_* = 0: F and its partials by the {label}", book_line=4178, ours=a, reference=b,
                  tolerance=1e-13 * np.maximum(1.0, np.abs(a)), reference_name="jax.grad (relative to max(1, |·|))")

    # The error E = (F − y₀)² (L3917–3924) on example 1 with y₀ = 6.
    E, gE = smile.error_partials(results["smile_partials"], 6.0)
    F = smile.network_function(net1)
    jE = jax.grad(lambda p: (F({"x": jnp.asarray(2.0)}, p) - 6.0) ** 2)({k: jnp.asarray(v) for k, v in p1.items()})
    exp.agree("example 1, E = (F − 6)²: ∂E/∂(a, b, c) = 2(F − y₀)∂F/∂(a, b, c)", book_line=3922,
              ours=[float(gE[k]) for k in "abc"], reference=[float(jE[k]) for k in "abc"],
              tolerance=1e-9 * np.maximum(1.0, np.abs([float(jE[k]) for k in "abc"])), reference_name="jax.grad(E)")

    # Random DAGs: the smile formula (L4211) and the recursion equal jax.grad.
    n_nets = 25 if exp.quick else 200
    records = []
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"smile": [], "recursion": []}
    for k in tqdm(range(n_nets), desc="random DAGs", leave=False):
        widths = [(2, 2), (3, 3), (4, 3, 2), (3, 4, 4, 3)][k % 4]
        net = smile.random_network(exp.key(1, k), n_inputs=1 + k % 3, widths=widths)
        xs, ps = smile.random_values(exp.key(2, k), net)
        res = smile.compare_methods(net, xs, ps)
        for method in pairs:
            pairs[method].append(partials_arrays(res[method], res["jax"]))
        records.append({"neurons": len(net.neurons), "edges": len(net.edges), "params": len(net.params),
                        "skip_edges": sum(net.depth[e.target] - net.depth[e.source] > 1 for e in net.edges),
                        "fallbacks": list(res["smile"].fallbacks), "smile_vs_jax": res["smile_vs_jax"],
                        "recursion_vs_jax": res["recursion_vs_jax"]})
    # Float64 round-off only: the differences are a few ulps of the values.
    for method, line in (("smile", 4211), ("recursion", 4191)):
        a = np.concatenate([u for u, _ in pairs[method]])
        exp.agree(f"{n_nets} random DAGs: F and its partials by the {method}", book_line=line, ours=a,
                  reference=np.concatenate([v for _, v in pairs[method]]), tolerance=1e-10 * np.maximum(1.0, np.abs(a)),
                  reference_name="jax.grad (relative to max(1, |·|))")
    exp.path("random_dags.json").write_text(json.dumps(records, indent=1))

    # A small random DAG with a skip edge, to draw and to print its smile steps.
    for k in range(100):
        net = smile.random_network(exp.key(8, k), n_inputs=2, widths=(2, 2), edge_prob=0.5, skip_prob=0.2)
        if len(net.edges) <= 9 and any(net.depth[e.target] - net.depth[e.source] > 1 for e in net.edges):
            break
    xs, ps = smile.random_values(exp.key(9), net)
    sample = (net, xs, ps, smile.smile_partials(net, xs, ps, fallback=True))
    with exp.path("smile_steps.txt").open("w") as fh:
        for name, r in (("Example 1: ln(c(ax + b)²) at (2, 3, 4, 5)", results["smile_partials"]),
                        ("Example 2: exp(c cos(ax) + d sin(bx)) at (1, 0.5, 2, 1.5, −0.5)", results2["smile"])):
            fh.write(f"{name}\n" + "\n".join(f"  {s}" for s in r.steps) + "\n\n")
        net, xs, ps, r = sample
        fh.write(f"A random DAG:\n{net.describe()}\n" + "\n".join(f"  {s}" for s in r.steps) + "\n")

    # Figures: the two networks with values, [local derivatives] and {{partial derivatives}}.
    fig, axes = plt.subplots(1, 2, figsize=(15, 5))
    draw_network(axes[0], net1, x1, p1, results["smile_partials"], "Example 1: ln(c(ax + b)²) at (2, 3, 4, 5) (L4061)")
    draw_network(axes[1], net2, x2, p2, results2["smile"], "Example 2: exp(c cos(ax) + d sin(bx)) (L4078–4127)")
    exp.savefig(fig, "smile_examples")
    fig, axes = plt.subplots(1, 2, figsize=(16, 6), gridspec_kw={"width_ratios": [1.6, 1]})
    net, xs, ps, r = sample
    draw_network(axes[0], net, xs, ps, r, "A random DAG (skip edge, biases): {{∂F/∂w}} by the smile formula",
                 weights=False)
    for key, color in (("smile_vs_jax", "tab:red"), ("recursion_vs_jax", "tab:blue")):
        vals = np.maximum([rec[key] for rec in records], 1e-18)
        axes[1].hist(np.log10(vals), bins=20, alpha=0.6, color=color, label=key.replace("_", " "))
    axes[1].set_xlabel("log10 max relative difference (1e−18 = exact)")
    axes[1].set_title(f"{n_nets} random DAGs: all three ways agree to round-off")
    axes[1].legend()
    exp.savefig(fig, "smile_random_dags")


def backprop_section(exp: Experiment) -> None:
    """The recursion in matrix form (backprop.py) against jax.grad, and its speed."""
    ours, refs, tols = [], [], []
    archs = [([2, 2, 1], ("sigmoid", "sigmoid"), "mse"), ([3, 8, 8, 2], ("tanh", "relu", "identity"), "mse"),
             ([4, 16, 3], ("sin", "identity"), "cross_entropy")]
    for k, (sizes, acts, loss) in enumerate(archs):
        params = backprop.init_mlp(exp.key(3, k), sizes)
        X = jax.random.normal(exp.key(4, k), (32, sizes[0]))
        Y = (jax.random.normal(exp.key(5, k), (32, sizes[-1])) if loss == "mse"
             else jax.random.randint(exp.key(5, k), (32,), 0, sizes[-1]))
        _, g1 = backprop.manual_value_and_grad(params, X, Y, activations=acts, loss=loss)
        _, g2 = backprop.jax_value_and_grad(params, X, Y, activations=acts, loss=loss)
        for u, v in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
            ours.append(np.ravel(u))
            refs.append(np.ravel(v))
            tols.append(np.full(np.size(v), 1e-12 * (1 + float(jnp.max(jnp.abs(v))))))  # relative to each array
    exp.agree("layered backprop by hand (matrix form of (4)–(6)), 3 architectures: the gradients", book_line=4185,
              ours=np.concatenate(ours), reference=np.concatenate(refs), tolerance=np.concatenate(tols),
              reference_name="jax.grad (relative to 1 + max |·| of each weight array)")

    # Training with the hand gradients: full-batch descent on y = sin(3x₁)·x₂.
    sizes, acts = [2, 16, 16, 1], ("tanh", "tanh", "identity")
    X = jax.random.uniform(exp.key(6), (1000, 2), minval=-1, maxval=1)
    Y = jnp.sin(3 * X[:, :1]) * X[:, 1:]
    params = backprop.init_mlp(exp.key(7), sizes)
    steps = 300 if exp.quick else 3000
    timings, histories = {}, {}
    for manual in (True, False):
        backprop.gradient_descent(params, X, Y, activations=acts, learning_rate=0.05, steps=steps, manual=manual)
        t = time.perf_counter()
        _, hist = backprop.gradient_descent(params, X, Y, activations=acts, learning_rate=0.05, steps=steps, manual=manual)
        hist.block_until_ready()
        name = "manual" if manual else "jax.grad"
        timings[name] = (time.perf_counter() - t) / steps
        histories[name] = np.asarray(hist)
    exp.path("backprop_timing.json").write_text(json.dumps(
        {"architecture": sizes, "activations": acts, "samples": 1000, "steps": steps, "dtype": "float64",
         "seconds_per_step": timings, "final_error": {k: float(v[-1]) for k, v in histories.items()}}, indent=1))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(histories["manual"], label=f"manual backprop ({1e6 * timings['manual']:.0f} µs/step)")
    ax.semilogy(histories["jax.grad"], "--", label=f"jax.grad ({1e6 * timings['jax.grad']:.0f} µs/step)")
    ax.set_xlabel("step k")
    ax.set_ylabel("E(P_k) (MSE)")
    ax.set_title("2 → 16 → 16 → 1 tanh network, full-batch descent δ = 0.05")
    ax.legend()
    exp.savefig(fig, "backprop_training")


def run(exp: Experiment) -> None:
    with exp.section("§1 partial derivatives"):
        partial_derivatives_section(exp)
    with exp.section("§2 gradient"):
        gradient_section(exp)
    with exp.section("§2.6 approximation"):
        approximation_section(exp)
    with exp.section("§2.7 critical points"):
        critical_points_section(exp)
    with exp.section("§3 automatic differentiation"):
        autodiff_section(exp)
    with exp.section("§4 formule du sourire"):
        smile_section(exp)
    with exp.section("§4.5 backprop (matrix form)"):
        backprop_section(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
