"""Chapter 11 — Convolution : une dimension / Convolution in one dimension (book lines 6314–6505).

The book's convolution of a list by a motif (reverse, centre, multiply, sum; virtual zeros; the
even-motif rule), its examples (moving averages, homothety, translation, discrete derivative), the
convolution neuron and layer with their weight counts, and the mathematical definition on ℤ with
its commutativity — with the chapter's four figures (input above, output below).
"""

from __future__ import annotations

import sys

import jax

jax.config.update("jax_enable_x64", True)  # the book's lists are exact; float64 keeps them so

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from deepmath_jax.convolution.conv1d import (  # noqa: E402
    conv_layer,
    conv_neuron,
    conv_weight_count,
    convolution_matrix,
    convolve,
    convolve_loop,
    convolve_on_z,
    dense_weight_count,
    derivative_motif,
    homothety_motif,
    moving_average_motif,
    odd_motif,
    translation_motif,
)
from deepmath_jax.convolution.plots import signal_figure  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402

CHAPTER = Chapter(
    11,
    "convolution_1d",
    "Convolution : une dimension / Convolution in one dimension",
    book_lines=(6314, 6505),
)


def roughness(x: jnp.ndarray) -> float:
    """Mean |x(n+1) − x(n)|: how jagged a curve is (a moving average lowers it)."""
    return float(jnp.mean(jnp.abs(jnp.diff(x))))


def idea(exp: Experiment) -> None:
    f, g = jnp.array([1, 0, 3, 5, 1]), jnp.array([1, 2, 3])
    exp.compare(
        "[1, 0, 3, 5, 1] * [1, 2, 3]",
        book_line=6363,
        book_value=[2, 6, 11, 20, 17],
        value=convolve(f, g),
    )
    exp.compare(
        "[1, 0, 3, 5, 1] * [1, 2, 3], by the recipe with loops",
        book_line=6363,
        book_value=[2, 6, 11, 20, 17],
        value=convolve_loop(f, g),
    )
    f2 = jnp.array([-1, 5, 7, 3, 2])
    exp.compare(
        "even motif: [4, 5] becomes [0, 4, 5]",
        book_line=6367,
        book_value=[0, 4, 5],
        value=odd_motif(jnp.array([4, 5])),
    )
    exp.compare(
        "[−1, 5, 7, 3, 2] * [4, 5]",
        book_line=6375,
        book_value=[-4, 15, 53, 47, 23],
        value=convolve(f2, jnp.array([4, 5])),
    )
    exp.compare(
        "[−1, 5, 7, 3, 2] * [0, 4, 5]",
        book_line=6367,
        book_value=[-4, 15, 53, 47, 23],
        value=convolve_loop(f2, jnp.array([0, 4, 5])),
    )


def examples(exp: Experiment) -> None:
    f = jnp.array([4.0, 2, 1, 4, 5, 1, 3])
    h3 = convolve(f, moving_average_motif(3))
    h5 = convolve(f, moving_average_motif(5))
    exp.compare(
        "moving average on 3 terms",
        book_line=6385,
        book_value=["2.00", "2.33", "2.33", "3.33", "3.33", "3.00", "1.33"],
        value=h3,
    )
    exp.compare(
        "moving average on 5 terms",
        book_line=6401,
        book_value=["1.4", "2.2", "3.2", "2.6", "2.8", "2.6", "1.8"],
        value=h5,
    )
    exp.savefig(signal_figure(f, h3), "convolution-1d-1")  # C1-F1 (L6389)

    # A chaotic curve of 100 points: sine plus uniform noise in [0, 1) (seeded; the book's is not).
    x = jnp.linspace(0, 2 * jnp.pi, 100)
    noisy = jnp.sin(x) + jax.random.uniform(exp.key(1), (100,), dtype=jnp.float64)
    s3 = convolve(noisy, moving_average_motif(3))
    s5 = convolve(noisy, moving_average_motif(5))
    r = [roughness(noisy), roughness(s3), roughness(s5)]
    exp.compare(
        "moving average 1/3[1,1,1] smooths the noisy curve (roughness falls)",
        book_line=6403,
        book_value=True,
        value=r[1] < r[0],
    )
    exp.compare(
        "1/5[1,1,1,1,1] smooths it more", book_line=6407, book_value=True, value=r[2] < r[1]
    )
    exp.savefig(signal_figure(noisy, s3), "convolution-1d-2")  # C1-F2
    exp.savefig(signal_figure(noisy, s5), "convolution-1d-3")  # C1-F3

    ramp = jnp.arange(1, 10)
    exp.compare(
        "homothety [1..9] * [2]",
        book_line=6413,
        book_value=[2, 4, 6, 8, 10, 12, 14, 16, 18],
        value=convolve(ramp, homothety_motif(2)),
    )
    exp.compare(
        "homothety [1..9] * [0, 2, 0]",
        book_line=6411,
        book_value=[2, 4, 6, 8, 10, 12, 14, 16, 18],
        value=convolve(ramp, jnp.array([0, 2, 0])),
    )
    exp.compare(
        "translation [1..9] * [0, 0, 1]",
        book_line=6421,
        book_value=[0, 1, 2, 3, 4, 5, 6, 7, 8],
        value=convolve(ramp, translation_motif()),
    )

    squares = jnp.array([16, 9, 4, 1, 0, 1, 4, 9, 16])
    d = convolve(squares, derivative_motif())
    exp.compare(
        "derivative [16, 9, …, 16] * [0, 1, −1]",
        book_line=6429,
        book_value=[16, -7, -5, -3, -1, 1, 3, 5, 7],
        value=d,
    )
    exp.compare(
        "[0, 1, −1] ≡ [1, −1]",
        book_line=6425,
        book_value=[16, -7, -5, -3, -1, 1, 3, 5, 7],
        value=convolve(squares, jnp.array([1, -1])),
    )
    backward = squares - jnp.concatenate([jnp.zeros(1, squares.dtype), squares[:-1]])
    forward = jnp.concatenate([squares[1:], jnp.zeros(1, squares.dtype)]) - squares
    # Book erratum (inventory item 9): L6431 calls the result f(n+1) − f(n); the list it prints
    # is f(n) − f(n−1) (first term 16 = 16 − 0). We follow the mathematics.
    # Book value: the list f(n+1) − f(n) the book's words describe; ours: the 'same' output;
    # the right value: f(n) − f(n−1), the list the book prints.
    exp.explain(
        "derivative: the 'same' output is f(n) − f(n−1), not f(n+1) − f(n)",
        book_line=6431,
        book_value=np.asarray(forward).tolist(),
        value=np.asarray(d).tolist(),
        expected=np.asarray(backward).tolist(),
        reason="the book calls the result f(n+1) − f(n); in 'same' mode the output at n is "
        "f(n) − f(n−1) with f(−1) = 0: the book's own list starts with 16 = 16 − 0 (f(1) − f(0) "
        "would be −7). f(n+1) − f(n) is the same list read one index later (it is what 'valid' "
        "mode puts at n).",
    )

    # The sine sampled as in the text: sin(2πk/100), k = 0 … 99 (the figure uses 'valid' mode).
    k = jnp.arange(100)
    sine = jnp.sin(2 * jnp.pi * k / 100)
    dv = convolve(sine, derivative_motif(), "valid")  # dv[n] = sin(x_{n+1}) − sin(x_n)
    # sin(a) − sin(b) = 2 sin((a−b)/2) cos((a+b)/2): a cosine times 2 sin(π/100) ≈ 0.0628.
    cosine = 2 * jnp.sin(jnp.pi / 100) * jnp.cos(2 * jnp.pi * (k[:-2] + 0.5) / 100)
    exp.compare(
        "sin * [0, 1, −1] is a cosine up to a factor (max deviation < 1e-12)",
        book_line=6431,
        book_value=True,
        value=float(jnp.max(jnp.abs(dv - cosine))) < 1e-12,
    )
    exp.savefig(
        signal_figure(sine, dv, output_title="Sortie h = f*g (mode 'valid')", h_offset=1),
        "convolution-1d-4",
    )  # C1-F4


def network(exp: Experiment) -> None:
    # The neuron on (x, y, z) = (1, 0, 3) with the motif [a, b, c] = [1, 2, 3]: x·c + y·b + z·a.
    exp.compare(
        "neuron s = x·c + y·b + z·a on (1, 0, 3), motif [1, 2, 3]",
        book_line=6479,
        book_value=6,
        value=conv_neuron(jnp.array([1, 0, 3]), jnp.array([1, 2, 3])),
    )
    exp.compare(
        "layer of 5 neurons sharing [1, 2, 3] on [1, 0, 3, 5, 1]",
        book_line=6450,
        book_value=[2, 6, 11, 20, 17],
        value=conv_layer(jnp.array([1, 0, 3, 5, 1]), jnp.array([1, 2, 3])),
    )
    exp.compare(
        "dense layer, n = 100: weights",
        book_line=6454,
        book_value=10000,
        value=dense_weight_count(100),
    )
    exp.compare(
        "convolution layer, n = 100: weights",
        book_line=6454,
        book_value=3,
        value=conv_weight_count(3),
    )
    # Edges per neuron = non-zero coefficients per row of the layer's matrix (virtual zeros are
    # not edges): the border neurons have two.
    T = convolution_matrix(jnp.array([1, 2, 3]), 100)
    edges = jnp.sum(T != 0, axis=1)
    exp.compare(
        "edges per neuron (first, middle, last)",
        book_line=6456,
        book_value=[2, 3, 2],
        value=[int(edges[0]), int(edges[50]), int(edges[-1])],
    )
    exp.compare(
        "distinct weights in the layer",
        book_line=6456,
        book_value=3,
        value=len(set(np.asarray(T[T != 0]).tolist())),
    )


def definition(exp: Experiment) -> None:
    f, g = jnp.array([1, 0, 3, 5, 1]), jnp.array([1, 2, 3])
    h, start = convolve_on_z(f, g, f_start=0, g_start=-1)  # f(0…4), g(−1…1) as in L6475
    exp.compare(
        "f ∗̃ g on ℤ (non-zero terms)", book_line=6481, book_value=[1, 2, 6, 11, 20, 17, 3], value=h
    )
    exp.compare("f ∗̃ g (0), the term of rank 0", book_line=6481, book_value=2, value=h[0 - start])
    exp.compare("f ∗̃ g (1) = 1·3 + 0·2 + 3·1", book_line=6479, book_value=6, value=h[1 - start])
    exp.compare(
        "full convolution, by the recipe with loops",
        book_line=6481,
        book_value=[1, 2, 6, 11, 20, 17, 3],
        value=convolve_loop(f, g, "full"),
    )
    exp.compare(
        "truncation of f ∗̃ g to the input's length",
        book_line=6490,
        book_value=[2, 6, 11, 20, 17],
        value=h[(len(g) - 1) // 2 : (len(g) - 1) // 2 + len(f)],
    )
    exp.compare(
        "commutativity: g ∗̃ f",
        book_line=6500,
        book_value=[1, 2, 6, 11, 20, 17, 3],
        value=convolve(g, f, "full"),
    )


def run(exp: Experiment) -> None:
    with exp.section("§1 Idée"):
        idea(exp)
    with exp.section("§2 Exemples"):
        examples(exp)
    with exp.section("§3 Réseau de neurones"):
        network(exp)
    with exp.section("§4 Définition mathématique"):
        definition(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
