"""Chapter 6 — Python : tensorflow avec keras, partie 1 / TensorFlow with Keras, part 1 — in Flax
NNX (book lines 2909–3379).

Dense networks whose weights are set by hand: the book's Keras ``Sequential`` + ``set_weights``
examples and its ``keras_facile`` helper (``definir_poids``, ``affiche_poids``, ``evaluation``,
``affichage_*``, ``calcul_approximation``) as :mod:`deepmath_jax.neurons.dense` on a Flax NNX module.
Float32 parameters, as in Keras. The universal approximation of f(x) = cos 2x + x sin 3x + √x on
[2, 10] is built for n = 5, 10, 20, 50, 100 with its errors.
"""

from __future__ import annotations

import sys

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from deepmath_jax.neurons import dense as D
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter
from deepmath_jax.neurons.universal import approximation_error, cell_samples

CHAPTER = Chapter(6, "flax_part1", "Python : tensorflow avec keras, partie 1 / TensorFlow with Keras, part 1 (in Flax NNX)", book_lines=(2909, 3379))


def f_book(x):
    """f(x) = cos 2x + x sin 3x + √x (L3262)."""
    return jnp.cos(2 * x) + x * jnp.sin(3 * x) + jnp.sqrt(x)


def keras_basics(exp: Experiment) -> None:
    """§1: Sequential + Dense + set_weights, predict, the two worked networks."""
    rngs = nnx.Rngs(exp.seed)
    with exp.section("§1.3–1.4 first network (set_weights)"):
        m = D.DenseNetwork(1, [(2, "relu"), (1, "relu")], rngs=rngs)  # Input(1), Dense(2, relu), Dense(1, relu)
        D.set_layer_weights(m, 0, np.array([[1.0, -0.5]]), np.array([-1, 1]))
        D.set_layer_weights(m, 1, np.array([[1.0], [1.0]]), np.array([0]))
        kernel, bias = D.layer_weights(m, 0)
        exp.compare("layers[0].get_weights(): coefficients", book_line=3037, book_value=[["1.", "-0.5"]], value=kernel, tolerance=0.0)
        exp.compare("layers[0].get_weights(): biases", book_line=3037, book_value=["-1.", "1."], value=bias, tolerance=0.0)
        out = D.predict(m, np.array([[3.0]]))
        exp.compare("predict([[3.0]])", book_line=3052, book_value=[["2.0"]], value=out, tolerance=0.0)
    fig, ax = D.plot_one_var(m, -2, 3, lw=2)
    ax.set_title("F of the first network on [−2, 3] (L3054–3070)", fontsize=9)
    exp.savefig(fig, "net1_graph")

    with exp.section("§1.6 second network (3 + 1 sigmoid neurons)"):
        m2 = D.DenseNetwork(2, [(3, "sigmoid"), (1, "sigmoid")], rngs=rngs)
        # "par entrée": row 0 = the first input's weight for each neuron, row 1 = the second's
        D.set_layer_weights(m2, 0, np.array([[1.0, 3.0, -5.0], [2.0, -4.0, -6.0]]), np.array([-1.0, 0.0, 1.0]))
        D.set_layer_weights(m2, 1, np.array([[1.0], [1.0], [1.0]]), np.array([-3.0]))
        exp.compare("F(7, −5)", book_line=3123, book_value="0.123", value=float(D.predict(m2, np.array([[7, -5]]))[0, 0]))
    fig, ax = D.plot_two_var_3d(m2, -5, 5, -5, 5, num=20)
    ax.set_title("F of the second network on [−5, 5]² (20 × 20, L3127–3146)", fontsize=9)
    exp.savefig(fig, "net2_surface")
    (exp.path("net_summaries.txt")).write_text(
        "First network\n" + "\n".join(D.describe_layer(m, k) for k in range(2)) + "\n\nSecond network\n" + "\n".join(D.describe_layer(m2, k) for k in range(2)) + "\n"
    )


def one_variable(exp: Experiment) -> None:
    """§2: keras_facile with one variable: the same network, a Heaviside neuron, a créneau, and
    the universal approximation theorem made effective."""
    rngs = nnx.Rngs(exp.seed + 1)
    with exp.section("§2.1 keras_facile: definir_poids, evaluation"):
        m = D.DenseNetwork(1, [(2, "relu"), (1, "relu")], rngs=rngs)
        D.set_neuron(m, 0, 0, 1, -1)  # definir_poids(modele, 0, 0, 1, -1)
        D.set_neuron(m, 0, 1, -0.5, 1)
        D.set_neuron(m, 1, 0, [1, 1], 0)
        exp.compare("evaluation(modele, 3)", book_line=3200, book_value=2, value=D.evaluate(m, 3))
        kernel, bias = D.layer_weights(m, 0)
        exp.compare("definir_poids(0, 0, 1, −1), (0, 1, −0.5, 1): layer 0 = (coefficients, biases)", book_line=3176, book_value=[1.0, -0.5, -1.0, 1.0], value=[*kernel[0].tolist(), *bias.tolist()])

    heav = D.DenseNetwork(1, [(1, "heaviside")], rngs=rngs)
    D.set_neuron(heav, 0, 0, -0.5, 1)  # H(−0.5x + 1): 1 for x ≤ 2 (L3232)
    # the authors' script's second example: créneau of height 2 on [1, 2]
    cren = D.DenseNetwork(1, [(2, "heaviside"), (1, "linear")], rngs=rngs)
    D.set_neuron(cren, 0, 0, 1, -1)
    D.set_neuron(cren, 0, 1, -0.5, 1)
    D.set_neuron(cren, 1, 0, [2, 2], -2)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    D.plot_one_var(heav, -5, 5, num=1001, ax=axes[0], lw=2)
    axes[0].set_title("one neuron H(−0.5x + 1) (L3226–3250)", fontsize=9)
    D.plot_one_var(cren, -5, 5, num=1001, ax=axes[1], lw=2)
    axes[1].set_title("créneau: H(x − 1), H(−0.5x + 1), then 2s₁ + 2s₂ − 2", fontsize=9)
    exp.savefig(fig, "heaviside_neuron_and_creneau")

    # §2.3 the universal approximation theorem (L3252–3285)
    a, b = 2, 10
    rows, mean_errs = [], []
    ns = [5, 10, 20, 50, 100]
    fig, axes = plt.subplots(1, len(ns), figsize=(4 * len(ns), 3.4), sharey=True)
    for ax, n in zip(axes, ns, strict=True):
        model = D.DenseNetwork(1, [(2 * n, "heaviside"), (1, "linear")], rngs=rngs)
        D.set_step_approximation(model, f_book, a, b, n)  # calcul_approximation(modele, f, a, b, n)
        D.plot_approximation(model, f_book, a, b, ax=ax)  # the book's 100 points: a junction can show
        ax.set_title(f"n = {n}", fontsize=10)
        err = approximation_error(D.to_layers(model), f_book, a, b, n, per_cell=200 if not exp.quick else 50)
        pts = cell_samples(a, b, n, 200 if not exp.quick else 50)
        F = np.asarray(D.predict(model, pts[:, None]))[:, 0]
        mean_errs.append(float(np.mean(np.abs(F - np.asarray(f_book(jnp.asarray(pts)))))))
        rows.append((n, err.max_error, err.step_bound, mean_errs[-1]))
    fig.suptitle("f (red) and the network F (blue) for n = 5, 10, 20, 50, 100 (L3283)")
    exp.savefig(fig, "universal_approximation_n")

    with exp.path("approximation_errors.csv").open("w") as fh:
        fh.write("n,neurons,max_error_inside_cells,left_step_bound,mean_abs_error\n")
        for n, e, bnd, me in rows:
            fh.write(f"{n},{2 * n + 1},{e:.6f},{bnd:.6f},{me:.6f}\n")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(ns, [r[1] for r in rows], "o-", label="max |F − f|")
    ax.loglog(ns, mean_errs, "s-", label="mean |F − f|")
    ax.set_xlabel("n (2n + 1 neurons)")
    ax.legend(fontsize=8)
    ax.set_title("errors of the approximation of f on [2, 10]", fontsize=9)
    exp.savefig(fig, "universal_approximation_errors")

    # The uniform error must fall as n grows. With left end-point steps the sup is the oscillation
    # of f on a cell; f oscillates with amplitude ≈ x (up to 10) and period 2π/3 ≈ 2.1, so cells
    # of width 1.6 (n = 5) and 0.8 (n = 10) both miss it by almost the full swing: the sup is
    # 15.97 for n = 5 and 16.01 for n = 10 — not monotone there (the mathematics, not round-off).
    # From n = 10 on (cells shorter than half a period) it falls like 1/n; the mean error falls
    # for every n. Both are asserted.
    sup = [r[1] for r in rows]
    if not all(e2 < e1 for e1, e2 in zip(sup[1:], sup[2:], strict=False)) or not sup[-1] < sup[0] / 5:
        raise AssertionError(f"the uniform error should fall as n grows from n = 10: {dict(zip(ns, sup, strict=True))}")
    if not all(e2 < e1 for e1, e2 in zip(mean_errs, mean_errs[1:], strict=False)):
        raise AssertionError(f"the mean error should fall as n grows: {dict(zip(ns, mean_errs, strict=True))}")
    print("  n, max |F − f| inside the cells, mean |F − f|:", [(n, round(e, 4), round(me, 4)) for n, e, _, me in rows])


def two_variables(exp: Experiment) -> None:
    """§3: one sigmoid neuron, and the two-layer H network (a sector)."""
    rngs = nnx.Rngs(exp.seed + 2)
    with exp.section("§3.1 one neuron, two inputs"):
        m = D.DenseNetwork(2, [(1, "sigmoid")], rngs=rngs)
        D.set_neuron(m, 0, 0, [1, 2], -1)
        exp.compare("F(2, 1) = σ(2 + 2 − 1) = σ(3)", book_line=3306, book_value="0.952", value=D.evaluate(m, [2.0, 1.0]))
    fig = plt.figure(figsize=(11, 4.3))
    D.plot_two_var_3d(m, -5, 5, -5, 5, ax=fig.add_subplot(1, 2, 1, projection="3d"))
    D.plot_two_var_2d(m, -5, 5, -5, 5, levels=20, ax=fig.add_subplot(1, 2, 2))
    fig.suptitle("σ(x + 2y − 1) on [−5, 5]²: graph and filled level sets (L3308–3316)")
    exp.savefig(fig, "two_var_sigmoid_neuron")

    sector = D.DenseNetwork(2, [(2, "heaviside"), (1, "heaviside")], rngs=rngs)
    D.set_neuron(sector, 0, 0, [-1, 3], 0)
    D.set_neuron(sector, 0, 1, [2, 1], 0)
    D.set_neuron(sector, 1, 0, [1, 1], -2)
    fig = plt.figure(figsize=(11, 4.3))
    D.plot_two_var_3d(sector, -5, 5, -5, 5, num=50 if exp.quick else 100, ax=fig.add_subplot(1, 2, 1, projection="3d"))
    D.plot_two_var_2d(sector, -5, 5, -5, 5, num=100, levels=20, ax=fig.add_subplot(1, 2, 2))
    fig.suptitle("two layers of H neurons: the sector {−x + 3y ≥ 0} ∩ {2x + y ≥ 0} (L3318–3337)")
    exp.savefig(fig, "two_var_sector")


def three_variables(exp: Experiment) -> None:
    """§4: one ReLU neuron of three inputs, and the cube network."""
    rngs = nnx.Rngs(exp.seed + 3)
    with exp.section("§4.1 one neuron, three inputs"):
        m = D.DenseNetwork(3, [(1, "relu")], rngs=rngs)
        D.set_neuron(m, 0, 0, [1, -1, 1], -1)
        exp.compare("F(2, 3, 4) = ReLU(2 − 3 + 4 − 1)", book_line=3363, book_value=2, value=D.evaluate(m, [2.0, 3.0, 4.0]))
    fig = plt.figure(figsize=(11, 4.5))
    for k, num in enumerate((5, 10)):
        D.plot_three_var(m, -5, 5, -5, 5, -5, 5, num=num, ax=fig.add_subplot(1, 2, k + 1, projection="3d"))
    fig.suptitle("ReLU(x − y + z − 1): the grid points coloured by F, n = 5 and n = 10 (L3365)")
    exp.savefig(fig, "three_var_relu_neuron")

    fig = plt.figure(figsize=(11, 4.5))
    for k, act in enumerate(("sigmoid", "heaviside")):
        cube = D.DenseNetwork(3, [(6, act), (1, act)], rngs=rngs)
        for j, c in enumerate([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]):
            D.set_neuron(cube, 0, j, c, 1)
        D.set_neuron(cube, 1, 0, [1, 1, 1, 1, 1, 1], -6)
        _, ax = D.plot_three_var(cube, -3, 3, -3, 3, -3, 3, num=12, ax=fig.add_subplot(1, 2, k + 1, projection="3d"))
        ax.set_title({"sigmoid": "σ: a 'sun' around the origin (L3370–3376)", "heaviside": "with H: the indicator of [−1, 1]³"}[act], fontsize=9)
    exp.savefig(fig, "three_var_cube")


def run(exp: Experiment) -> None:
    keras_basics(exp)
    one_variable(exp)
    two_variables(exp)
    three_variables(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
