"""Chapter 5 — Réseau de neurones / Neural network (book lines 2163–2908).

Perceptrons (linear, affine, with H or σ), logic gates and the impossibility of XOR for one
perceptron, layered networks evaluated by hand, realisable sets (sectors, triangles, convex
polygons, set operations, any polygon) and the universal approximation construction (step
neurons, créneaux, step functions, Theorem 2 in one variable, the square of Theorem 3).
Weights are set by hand, as in the book; nothing is trained.
"""

from __future__ import annotations

import itertools
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.neurons import perceptron as P  # noqa: E402
from deepmath_jax.neurons import realisable as R  # noqa: E402
from deepmath_jax.neurons import universal as U  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402

CHAPTER = Chapter(5, "neural_network", "Réseau de neurones / Neural network", book_lines=(2163, 2908))


def evaluate(network, *point):
    return np.asarray(P.apply_network(network, jnp.asarray(point, dtype=jnp.float64))).tolist()


def region_plot(ax, network, lo, hi, n, title):
    """F(x, y) of a one-output H network on a grid: red where F = 1."""
    X, Y = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n))
    Z = np.asarray(R.set_indicator(network, X, Y))
    ax.contourf(X, Y, Z, levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f2a0a0"])
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return Z


def perceptrons(exp: Experiment) -> None:
    """§1: the linear and affine perceptron, with H and with σ."""
    with exp.section("§1.1 perceptron a = 2, b = 3"):
        for pt, f_line, f_book, F_book in (((4, -1), 2235, 5, 1), ((-3, 1), 2237, -3, 0), ((6, -4), 2240, 0, 1)):
            x = jnp.asarray(pt, dtype=jnp.float64)
            exp.compare(f"f{pt} = 2x + 3y", book_line=f_line, book_value=f_book, value=float(P.pre_activation(P.FIRST_PERCEPTRON, x)))
            exp.compare(f"F{pt} = H(f)", book_line=f_line, book_value=F_book, value=float(P.perceptron(P.FIRST_PERCEPTRON, x)))
        sq = jnp.asarray(P.SQUARES_13, dtype=jnp.float64)
        rd = jnp.asarray(P.ROUNDS_13, dtype=jnp.float64)
        # the squares and rounds of the book's figure (their coordinates are in fig_neurones_13.tikz)
        exp.compare("4x − y = 0 separates: F on the 5 squares", book_line=2270, book_value=[1] * 5, value=P.perceptron(P.SEPARATING_13, sq))
        exp.compare("4x − y = 0 separates: F on the 5 rounds", book_line=2270, book_value=[0] * 5, value=P.perceptron(P.SEPARATING_13, rd))

    sep18 = P.separating_perceptron(P.SQUARES_18, P.ROUNDS_18)
    with exp.section("§1.2 affine perceptron, exercise of L2313"):
        on_squares = P.perceptron(sep18[0], jnp.asarray(P.SQUARES_18, dtype=jnp.float64), sep18[1])
        on_rounds = P.perceptron(sep18[0], jnp.asarray(P.ROUNDS_18, dtype=jnp.float64), sep18[1])
        exp.claim(
            "a perceptron separating the squares from the rounds",
            book_line=2313,
            book_claim="exercise: find an affine perceptron with F = 1 on the squares, 0 on the rounds",
            holds=bool(jnp.all(on_squares == 1) and jnp.all(on_rounds == 0)),
            value=f"a = {sep18[0][0]:.4f}, b = {sep18[0][1]:.4f}, c = {sep18[1]:.4f} (linear programming): "
            f"F = {np.asarray(on_squares).astype(int).tolist()} on the squares, "
            f"{np.asarray(on_rounds).astype(int).tolist()} on the rounds",
            reason="the book prints no answer; the 7 squares and 6 rounds of the figure (fig_neurones_18.tikz)",
        )

    with exp.section("§1.2 height / weight (sigmoid neuron)"):
        m, k = P.line_through(P.HEIGHT_WEIGHT_A, P.HEIGHT_WEIGHT_B)
        exp.compare("line through A(1.40, 42), B(2.00, 93): slope", book_line=2341, book_value="85", value=m)  # "équation approchée": to the unit
        exp.compare("… intercept", book_line=2341, book_value="-77", value=k)
        exp.compare("f(1.77, 75) = 85·1.77 − 75 − 77", book_line=2353, book_value="-1.55", value=float(P.pre_activation((85, -1), jnp.array([1.77, 75.0]), -77)))
        exp.compare("F(1.77, 75) = σ(−1.55) (a man)", book_line=2353, book_value="0.17", value=evaluate(P.HEIGHT_WEIGHT_NEURON, 1.77, 75)[0])
        exp.compare("F(1.67, 64) (a woman)", book_line=2355, book_value="0.72", value=evaluate(P.HEIGHT_WEIGHT_NEURON, 1.67, 64)[0])
    with exp.section("§1.2 the red zone of the RGB cube"):
        coef, d = P.plane_through((0.5, 0, 0), (1, 0.5, 0), (1, 0, 0.5))
        exp.compare("plane through A(½,0,0), B(1,½,0), C(1,0,½): 2x − 2y − 2z − 1 = 0", book_line=2375, book_value=[2, -2, -2, -1], value=[*coef.tolist(), d])
        exp.compare("F(1, 0, 0) (pure red)", book_line=2377, book_value=1, value=float(P.perceptron(coef, jnp.array([1.0, 0, 0]), d)))

    # figures: half-planes, the two separations, σ and H neurons in 3-D, height/weight
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    X, Y = np.meshgrid(np.linspace(-4, 4, 200), np.linspace(-4, 4, 200))
    pts = np.c_[X.ravel(), Y.ravel()]
    for ax, (w, bias, sq, rd, title) in zip(
        axes,
        [
            (P.FIRST_PERCEPTRON, 0.0, np.array([[4, -1], [6, -4]]), np.array([[-3, 1]]), "F = H(2x + 3y) (L2217–2256)"),
            (P.SEPARATING_13, 0.0, np.asarray(P.SQUARES_13), np.asarray(P.ROUNDS_13), "F = H(4x − y) separates (L2259–2272)"),
            (sep18[0], sep18[1], np.asarray(P.SQUARES_18), np.asarray(P.ROUNDS_18), "exercise L2313: an affine perceptron"),
        ],
        strict=True,
    ):
        Z = np.asarray(P.perceptron(w, pts, bias)).reshape(X.shape)
        ax.contourf(X, Y, Z, levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f2a0a0"])
        ax.plot(sq[:, 0], sq[:, 1], "rs")
        ax.plot(rd[:, 0], rd[:, 1], "bo")
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
    exp.savefig(fig, "perceptrons_half_planes")

    n = 50 if exp.quick else 100
    fig = plt.figure(figsize=(10, 4.2))
    for k, (net, lo, hi, view, title) in enumerate(
        [
            ((P.neurons([(1, 2)], [-3], "sigmoid"),), -3, 6, (35, -50), "σ(x + 2y − 3)"),
            ((P.neurons([(4, 3)], [4]),), -4, 3, (35, -50), "H(4x + 3y + 4)"),
        ]
    ):
        X, Y = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n))
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.view_init(*view)
        ax.plot_surface(X, Y, np.asarray(R.set_indicator(net, X, Y)), cmap="viridis")
        ax.set_title(title, fontsize=9)
    fig.suptitle("graphs of one affine neuron (the authors' neurones_surface_3/4.py)")
    exp.savefig(fig, "neuron_surfaces")

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    T, W = np.meshgrid(np.linspace(1.4, 2.0, 200), np.linspace(40, 100, 200))
    Z = np.asarray(R.set_indicator(P.HEIGHT_WEIGHT_NEURON, T, W))
    cs = ax.contourf(T, W, Z, np.linspace(0, 1, 11), cmap="coolwarm")
    fig.colorbar(cs, ax=ax, label="F(t, p) = σ(85t − p − 77)")
    ax.plot([1.40, 2.00], [42, 93], "k-", lw=1)
    for (t, p), label in (((1.77, 75), "0.17"), ((1.67, 64), "0.72")):
        ax.plot(t, p, "k*", ms=10)
        ax.annotate(f"F = {evaluate(P.HEIGHT_WEIGHT_NEURON, t, p)[0]:.2f} (book {label})", (t, p), xytext=(5, 5), textcoords="offset points")
    ax.set_xlabel("height t (m)")
    ax.set_ylabel("weight p (kg)")
    ax.set_title("height/weight sigmoid neuron (L2330–2362)", fontsize=9)
    exp.savefig(fig, "height_weight_sigmoid")


def gates(exp: Experiment) -> None:
    """§2: OR, AND, the robust AND, XOR impossible for one perceptron; x OR y OR z."""
    with exp.section("§2.1 logic gates"):
        exp.compare("OR (1, 1, −1): 1·0 + 1·1 − 1 at (0, 1)", book_line=2391, book_value=0, value=float(P.pre_activation((1, 1), jnp.array([0.0, 1.0]), -1)))
        exp.compare("OR at (0, 1)", book_line=2391, book_value=1, value=evaluate(P.OR, 0, 1)[0])
        exp.compare("OR: 1·0 + 1·0 − 1 at (0, 0)", book_line=2391, book_value=-1, value=float(P.pre_activation((1, 1), jnp.array([0.0, 0.0]), -1)))
        tables = {name: P.truth_table(net) for name, net in (("OR", P.OR), ("AND", P.AND))}
        order = list(itertools.product((0, 1), repeat=2))
        exp.compare("OR truth table on (0,0), (0,1), (1,0), (1,1)", book_line=2389, book_value=[0, 1, 1, 1], value=[tables["OR"][p] for p in order])
        exp.compare("AND (1, 1, −2) truth table", book_line=2398, book_value=[0, 0, 0, 1], value=[tables["AND"][p] for p in order])
        exp.compare("AND at (0.9, 0.9): x + y − 2", book_line=2404, book_value="-0.2", value=float(P.pre_activation((1, 1), jnp.array([0.9, 0.9]), -2)))
        exp.compare("AND at (0.9, 0.9): output", book_line=2404, book_value=0, value=evaluate(P.AND, 0.9, 0.9)[0])
        exp.compare("robust AND (1, 1, −1.5) at (0.9, 0.9): x + y − 1.5", book_line=2404, book_value="0.3", value=float(P.pre_activation((1, 1), jnp.array([0.9, 0.9]), -1.5)))
        exp.compare("robust AND at (0.9, 0.9): output", book_line=2404, book_value=1, value=evaluate(P.AND_ROBUST, 0.9, 0.9)[0])
    with exp.section("§2.1 XOR (Proposition 1)"):
        found = P.separating_perceptron([(1, 0), (0, 1)], [(0, 0), (1, 1)])
        exp.compare("a perceptron realising XOR (linear program)", book_line=2415, book_value="none", value="none" if found is None else str(found))
        abc = np.asarray(jax.random.uniform(exp.key(5), (100_000, 3), minval=-10, maxval=10))
        a, b, c = abc.T
        all_four = (a + c >= 0) & (b + c >= 0) & (c < 0) & (a + b + c < 0)
        exp.compare("random (a, b, c) meeting inequalities (1)–(4), out of 100 000", book_line=2433, book_value=0, value=int(all_four.sum()))
    with exp.section("§2.2 three inputs"):
        order3 = list(itertools.product((0, 1), repeat=3))
        t_or3 = P.truth_table(P.OR3)
        exp.compare("x OR y OR z with (1, 1, 1), bias −1", book_line=2476, book_value=[0, 1, 1, 1, 1, 1, 1, 1], value=[t_or3[p] for p in order3])
        t_and3 = P.truth_table(P.AND3)
        # An exercise without printed answer: H(x + y + z − 3) against the gate's truth table.
        exp.compare("x AND y AND z (exercise): (1, 1, 1), bias −3, truth table", book_line=2481,
                    book_value=[0, 0, 0, 0, 0, 0, 0, 1], value=[t_and3[p] for p in order3])

    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    X, Y = np.meshgrid(np.linspace(-0.5, 1.5, 200), np.linspace(-0.5, 1.5, 200))
    for ax, (name, net) in zip(axes, [("x OR y: H(x + y − 1)", P.OR), ("x AND y: H(x + y − 2)", P.AND), ("x XOR y: two layers (L2622)", P.XOR_NETWORK)], strict=True):
        Z = np.asarray(R.set_indicator(net, X, Y))
        ax.contourf(X, Y, Z, levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f2a0a0"])
        table = P.truth_table(net)
        for (x, y), v in table.items():
            ax.plot(x, y, "rs" if v else "bo", ms=10)
        ax.set_aspect("equal")
        ax.set_title(name, fontsize=9)
    fig.suptitle("gates by perceptrons: squares = 1, rounds = 0 (no single line works for XOR)")
    exp.savefig(fig, "logic_gates")


def networks(exp: Experiment) -> None:
    """§3: layered networks evaluated by hand."""
    with exp.section("§3.1 ReLU + H network"):
        h = P.RELU_H_NETWORK
        s = np.asarray(P.apply_layer(h[0], jnp.array([4.0, 7.0]))).tolist()
        exp.compare("(s₁, s₂) at (4, 7)", book_line=2523, book_value=[1, 2], value=s)
        exp.compare("4s₁ + 5s₂ − 1 at (4, 7)", book_line=2523, book_value=13, value=float(P.apply_layer(h[1]._replace(activation="identity"), jnp.asarray(s))[0]))
        exp.compare("F(4, 7)", book_line=2523, book_value=1, value=evaluate(h, 4, 7)[0])
        s = np.asarray(P.apply_layer(h[0], jnp.array([3.0, 2.0]))).tolist()
        exp.compare("(s₁, s₂) at (3, 2)", book_line=2528, book_value=[4, 0], value=s)
        exp.compare("(−3)·3 + 2·2 (the second neuron, before ReLU)", book_line=2528, book_value=-5, value=float(P.pre_activation((-3, 2), jnp.array([3.0, 2.0]))))
        exp.compare("4s₁ + 5s₂ − 1 at (3, 2)", book_line=2528, book_value=15, value=float(P.apply_layer(h[1]._replace(activation="identity"), jnp.asarray(s))[0]))
        exp.compare("F(3, 2)", book_line=2528, book_value=1, value=evaluate(h, 3, 2)[0])
        s = np.asarray(P.apply_layer(h[0], jnp.array([0.1, 0.1])))
        exp.compare("at (1/10, 1/10): first neuron active, second not", book_line=2529, book_value=[True, False], value=[bool(s[0] > 0), bool(s[1] > 0)])
        exp.compare("F(1/10, 1/10)", book_line=2529, book_value=0, value=evaluate(h, 0.1, 0.1)[0])

    with exp.section("§3.1 exercise network (L2541)"):
        inputs = [(0, 0, 0), (1, 0, 0), (1, -1, 1), (3, 2, 1)]
        outs = [evaluate(P.EXERCISE_NETWORK, *p) for p in inputs]

        def by_hand(x, y, z):  # the figure's weights, one neuron at a time
            s1, s2 = max(0, x - 2 * y + 3 * z), max(0, 2 * x - 4 * y + z)
            return [max(0, s1 - 2 * s2), max(0, 2 * s1 + s2)]

        exp.agree(f"(Y₁, Y₂) at {', '.join(map(str, inputs))} (exercise: no answer printed)", book_line=2545,
                  ours=outs, reference=[by_hand(*p) for p in inputs], tolerance=0.0,
                  reference_name="the network by hand, neuron by neuron")
        # Y1 = 1, Y2 = 7: s1 − 2 s2 = 1 and 2 s1 + s2 = 7 give (s1, s2) = (3, 1); then one (x, y, z)
        s12 = np.linalg.solve([[1.0, -2.0], [2.0, 1.0]], [1.0, 7.0])
        xyz = np.linalg.lstsq(np.array([[1.0, -2, 3], [2, -4, 1]]), s12, rcond=None)[0]
        # Solved by hand: the output layer fixes (s₁, s₂) = (3, 1), then any solution of the first
        # layer's linear system; (Y₁, Y₂) of that point to float64 round-off (lstsq).
        exp.compare(f"an (x, y, z) with Y₁ = 1 and Y₂ = 7: (x, y, z) = {xyz.round(6).tolist()}", book_line=2547,
                    book_value=[1.0, 7.0], value=evaluate(P.EXERCISE_NETWORK, *xyz), tolerance=1e-12)
        # Y₂ = ReLU(2s₁ + s₂) with s₁, s₂ ≥ 0 vanishes only for s₁ = s₂ = 0, and then Y₁ = 0: checked
        # on random inputs, many of which have Y₂ = 0 (both first-layer neurons off).
        pts = jax.random.uniform(exp.key(2550), (100_000, 3), minval=-10.0, maxval=10.0, dtype=jnp.float64)
        Y = np.asarray(jax.vmap(lambda q: P.apply_network(P.EXERCISE_NETWORK, q))(pts))
        zero2 = Y[:, 1] == 0
        exp.claim("Y₂ = 0 but Y₁ ≠ 0?", book_line=2550,
                  book_claim="exercise: is there an (x, y, z) with Y₂ = 0 but not Y₁? (no answer printed)",
                  holds=bool(zero2.sum() > 0 and np.all(Y[zero2, 0] == 0)),
                  value=f"no: of 100 000 random points of [−10, 10]³, {int(zero2.sum())} have Y₂ = 0, "
                  f"{int(np.sum(zero2 & (Y[:, 0] != 0)))} of them Y₁ ≠ 0",
                  reason="Y₂ = ReLU(2s₁ + s₂) with s₁, s₂ ≥ 0 vanishes only for s₁ = s₂ = 0, and then Y₁ = 0")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    region_plot(axes[0], R.SECTOR_NETWORK, -4, 4, 300, "AND of H(−x + 3y), H(2x + y): a sector (L2560)")
    region_plot(axes[1], R.HALFPLANES_UNION_NETWORK, -4, 4, 300, "OR: the union of the half-planes (L2576)")
    region_plot(axes[2], R.triangle_network(), -2, 6, 300, "AND of three half-planes: a triangle (L2585)")
    exp.savefig(fig, "sector_union_triangle")

    n = 50 if exp.quick else 100
    X, Y = np.meshgrid(np.linspace(-2, 6, n), np.linspace(-2, 6, n))
    fig = plt.figure(figsize=(15, 4))
    for k, act in enumerate(["heaviside", "sigmoid", "tanh", "relu"]):
        ax = fig.add_subplot(1, 4, k + 1, projection="3d")
        ax.view_init(45, -45)
        ax.plot_surface(X, Y, np.asarray(R.set_indicator(R.triangle_network(act), X, Y)), cmap="viridis")
        ax.set_title({"heaviside": "H", "sigmoid": "σ", "tanh": "th", "relu": "ReLU"}[act], fontsize=10)
    fig.suptitle("the triangle network with activation φ everywhere (L2606–2618)")
    exp.savefig(fig, "triangle_activations")


def theory(exp: Experiment) -> None:
    """§4: XOR by two layers, realisable sets, Propositions 3–5."""
    with exp.section("§4.1 XOR network"):
        t = P.truth_table(P.XOR_NETWORK)
        exp.compare("F(1, 0), F(0, 1), F(0, 0), F(1, 1)", book_line=2628, book_value=[1, 1, 0, 0], value=[t[(1, 0)], t[(0, 1)], t[(0, 0)], t[(1, 1)]])
        ident = [int((x and not y) or (not x and y)) for x, y in itertools.product((0, 1), repeat=2)]
        exp.compare("x XOR y = (x AND not y) OR (not x AND y)", book_line=2632, book_value=ident, value=[t[p] for p in itertools.product((0, 1), repeat=2)])
    hexagon = np.array([(0, 0), (3, -1), (5, 1), (5, 3), (2, 5), (-1, 2)], float)
    with exp.section("§4.2 realisable sets"):
        net = R.convex_polygon_network(hexagon)
        exp.compare("neurons for a convex hexagon (n + 1, Proposition 3)", book_line=2678, book_value=7, value=sum(layer.n_neurons for layer in net))
        exp.compare("output neuron: coefficients 1, bias −n", book_line=2683, book_value=[1, 1, 1, 1, 1, 1, -6], value=[*np.asarray(net[1].kernel[:, 0]).tolist(), float(net[1].bias[0])])
        exp.compare("NOT neuron s ↦ H(1 − 2s) on s = 0, 1", book_line=2712, book_value=[1, 0], value=[evaluate(P.NOT, 0)[0], evaluate(P.NOT, 1)[0]])

    lo, hi, n = -2, 7, 300 if not exp.quick else 150
    A = R.convex_polygon_network(hexagon)
    B = R.convex_polygon_network([(2, 1), (7, 0), (6, 6)])
    arrow = [(0, 0), (4, 0), (4, 4), (2, 1), (0, 4)]
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    region_plot(axes[0, 0], A, lo, hi, n, "A: convex polygon, 7 neurons (Prop. 3)")
    axes[0, 0].fill(*np.r_[hexagon, hexagon[:1]].T, fill=False, ec="k")
    region_plot(axes[0, 1], R.union(A, B), lo, hi, n, "A ∪ B (OR neuron)")
    region_plot(axes[0, 2], R.intersection(A, B), lo, hi, n, "A ∩ B (AND neuron)")
    region_plot(axes[1, 0], R.complement(A), lo, hi, n, "Aᶜ (NOT neuron H(1 − 2s))")
    region_plot(axes[1, 1], R.difference(A, B), lo, hi, n, "A ∖ B = A ∩ (A ∩ B)ᶜ")
    region_plot(axes[1, 2], R.polygon_network(arrow), -1, 5, n, "non-convex polygon: union of triangles (Prop. 5)")
    for t in R.triangulate(arrow):
        axes[1, 2].fill(*np.r_[t, t[:1]].T, fill=False, ec="k", lw=0.8)
    fig.suptitle("realisable sets (Propositions 3–5, L2640–2730)")
    exp.savefig(fig, "realisable_sets")


def universal(exp: Experiment) -> None:
    """§5: steps, créneaux, step functions, Theorems 2 and 3."""
    with exp.section("§5.3 double créneau"):
        hidden, out = U.DOUBLE_CRENEAU
        exp.compare("hidden coefficients (1/2, −1/3, 1/5, −1/10)", book_line=2836, book_value=["1/2", "-1/3", "1/5", "-1/10"], value=np.asarray(hidden.kernel[0]).tolist(), tolerance=1e-7)
        exp.compare("hidden biases", book_line=2836, book_value=[-1, 1, -1, 1], value=hidden.bias)
        exp.compare("output coefficients (4, 4, 6, 6)", book_line=2836, book_value=[4, 4, 6, 6], value=out.kernel[:, 0])
        exp.compare("output bias −4 − 6", book_line=2843, book_value=-10, value=float(out.bias[0]))
        xs = [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 11.0]
        exp.compare(f"F at x = {xs}: 4 on [2, 3], 6 on [5, 10], 0 elsewhere", book_line=2839, book_value=[0, 4, 4, 4, 0, 6, 6, 6, 0], value=np.asarray(P.apply_network(U.DOUBLE_CRENEAU, jnp.asarray(xs)[:, None])[:, 0]), tolerance=1e-9)
        stair = U.staircase([(1, 2), (3, 4), (5, 7)], [2, -1, 3])
        exp.compare("neurons for a 3-step staircase (2n + 1, Proposition 6)", book_line=2861, book_value=7, value=sum(layer.n_neurons for layer in stair))
        junction = U.staircase([(1, 2), (2, 3)], [1, 5])
        exp.compare("contiguous créneaux: value at the junction is the sum", book_line=2849, book_value=6, value=float(P.apply_network(junction, jnp.array([[2.0]]))[0, 0]))
    with exp.section("§5.5 Theorem 3: the square [0, 1]²"):
        g = np.linspace(-1, 2, 301)
        X, Y = np.meshgrid(g, g)
        F = np.asarray(R.set_indicator(U.SQUARE_NETWORK, X, Y))
        exp.compare("grid points of [−1, 2]² where F ≠ 1[[0, 1]²]", book_line=2907, book_value=0, value=int(np.sum(F != np.asarray(U.square_indicator(X, Y)))))

    # step neurons and créneaux (L2769–2844)
    x = np.linspace(-3, 3, 601)
    fig, axes = plt.subplots(1, 5, figsize=(16, 2.8), sharey=True)
    for ax, (t, up, title) in zip(
        axes,
        [(0, True, "H(x)"), (-1, True, "H(x + 1): x ≥ −1/a, a = 1"), (1, True, "H(x − 1): x ≥ 1/a"), (1, False, "H(−x + 1): x ≤ 1/b"), (-1, False, "H(−x − 1): x ≤ −1/b")],
        strict=True,
    ):
        ax.plot(x, np.asarray(P.apply_layer(U.step_neuron(t, up), x[:, None])[:, 0]), lw=2)
        ax.set_title(title, fontsize=9)
    fig.suptitle("step neurons (L2769–2814)")
    exp.savefig(fig, "step_neurons")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    x = np.linspace(0, 4, 801)
    for k in (1, 2.5):
        axes[0].plot(x, np.asarray(P.apply_network(U.creneau(1, 2, k), x[:, None])[:, 0]), lw=2, label=f"height {k}")
    axes[0].legend(fontsize=8)
    axes[0].set_title("créneau on [1/a, 1/b] = [1, 2]: H(x − 1) + H(−x/2 + 1) − 1", fontsize=9)
    x = np.linspace(0, 12, 1201)
    axes[1].plot(x, np.asarray(P.apply_network(U.DOUBLE_CRENEAU, x[:, None])[:, 0]), lw=2)
    axes[1].set_title("double créneau: 4 on [2, 3], 6 on [5, 10] (L2834)", fontsize=9)
    exp.savefig(fig, "creneaux")

    # Theorem 2: the book's picture (fig_neurones_89) uses f(t) = e^{t−a} − 3 sin((t − a)³) on [a, a + 1], a = 0.2
    a, b = 0.2, 1.2

    def f(t):
        return jnp.exp(t - a) - 3 * jnp.sin((t - a) ** 3)

    ns = [5, 10] + ([20, 50] if exp.quick else [20, 50, 100, 200])
    errs = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    t = np.linspace(a, b, 1000)
    for ax, n in zip(axes[:2], (5, 10), strict=True):
        net = U.step_approximation(f, a, b, n)
        ax.plot(t, np.asarray(f(jnp.asarray(t))), color="blue", lw=2, label="f")
        ts = U.cell_samples(a, b, n, 40)  # inside the cells: the junction points are drawn apart
        ax.plot(ts, np.asarray(P.apply_network(net, jnp.asarray(ts)[:, None])[:, 0]), ".", color="red", ms=2, label="F (network)")
        ax.set_title(f"n = {n}: 2n + 1 = {2 * n + 1} neurons", fontsize=9)
        ax.legend(fontsize=8)
    for n in ns:
        errs.append(U.approximation_error(U.step_approximation(f, a, b, n), f, a, b, n).max_error)
    axes[2].loglog(ns, errs, "o-")
    axes[2].set_xlabel("n")
    axes[2].set_ylabel("max |F − f| inside the cells")
    axes[2].set_title("uniform error falls as n grows (≈ C/n)", fontsize=9)
    fig.suptitle("Theorem 2: f approximated by a step function realised by a network (L2865–2895)")
    exp.savefig(fig, "universal_approximation_1d")
    if any(e2 >= e1 for e1, e2 in zip(errs, errs[1:], strict=False)):
        raise AssertionError(f"the uniform error should fall as n grows: {dict(zip(ns, errs, strict=True))}")
    exp.path("universal_errors.csv").write_text("n,max_error\n" + "".join(f"{n},{e:.6g}\n" for n, e in zip(ns, errs, strict=True)))

    X, Y = np.meshgrid(np.linspace(-1, 2, 100), np.linspace(-1, 2, 100))
    fig = plt.figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot(projection="3d")
    ax.view_init(40, -30)
    ax.plot_surface(X, Y, np.asarray(R.set_indicator(U.SQUARE_NETWORK, X, Y)), cmap="viridis")
    ax.set_title("Theorem 3: the network's F = 1 on [0, 1]², 0 elsewhere", fontsize=9)
    exp.savefig(fig, "square_indicator_2d")


def run(exp: Experiment) -> None:
    perceptrons(exp)
    gates(exp)
    networks(exp)
    theory(exp)
    universal(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
