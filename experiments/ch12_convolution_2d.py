"""Chapter 12 — Convolution / Convolution in two dimensions (book lines 6507–7013).

Matrices and pooling; the book's 2-D convolution computed by its recipe (turn the motif, centre,
multiply, sum, virtual zeros; even motifs padded on top and on the left) on every worked example;
the convolution neuron and layer, several motifs and several channels, padding and stride, the
layer as a Flax NNX module; pooling of a photograph; and backpropagation through weights shared
by many neurons, written by hand with the book's formula ∂F/∂a = Σ f_{i,*}·g'_{i,*}·∂F/∂g_i and
compared with ``jax.grad``.
"""

from __future__ import annotations

import sys

import jax

jax.config.update("jax_enable_x64", True)  # the book's matrices are exact; float64 keeps them so

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from deepmath_jax.calculus.activations import tanh, tanh_prime  # noqa: E402
from deepmath_jax.convolution.conv2d import (  # noqa: E402
    convolution_matrix2d,
    convolve2d,
    convolve2d_loop,
    convolve_channels,
    odd_motif2d,
    rot180,
)
from deepmath_jax.convolution.layer import (  # noqa: E402
    BookConv,
    conv_backward,
    conv_forward,
    conv_layer_weight_count,
    conv_neuron2d,
    dense_layer_weight_count,
    motif_gradient_by_weight,
    shared_weight_derivative,
)
from deepmath_jax.convolution.plots import matrices_figure  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.convolution.image_filters import load_sample_photo  # noqa: E402
from deepmath_jax.convolution.pooling import average_pool, enlarge, max_pool, pooled_shape  # noqa: E402

CHAPTER = Chapter(
    12, "convolution_2d", "Convolution / Convolution in two dimensions", book_lines=(6507, 7013)
)

A44 = jnp.array([[2, 1, 3, 0], [1, 1, 0, 5], [3, 3, 1, 0], [2, 0, 0, 2]])
M44 = jnp.array([[1, 0, 2], [2, 1, 0], [1, 0, 3]])
A35 = jnp.array([[2, -1, 7, 3, 0], [2, 0, 0, -2, 1], [-5, 0, -1, -1, 4]])
M35 = jnp.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
A77 = jnp.array(
    [
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
    ]
)
M77 = jnp.array([[1, 0, 2], [0, 1, 0], [0, 1, 1]])


def matrices(exp: Experiment) -> None:
    L = jnp.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    N9 = jnp.arange(1, 10).reshape(3, 3)
    exp.compare(
        "addition", book_line=6535, book_value=[[1, 3, 3], [5, 1, 7], [7, 9, 9]], value=L + N9
    )
    exp.compare(
        "multiplication by 3",
        book_line=6539,
        book_value=[[3, 6, 9, 12], [24, 21, 15, 18]],
        value=3 * jnp.array([[1, 2, 3, 4], [8, 7, 5, 6]]),
    )
    exp.compare(
        "matrix product (not term by term)",
        book_line=6546,
        book_value=[[-6, -9, -12], [10, 11, 12], [18, 21, 24]],
        value=M35 @ N9,
    )


def pooling(exp: Experiment) -> None:
    # The pooling figures (TikZ fig-convolution2d-03/04/05; the markdown lost them) show only some
    # coefficients of their matrices: the blocks that are fully printed are pooled here.
    top = jnp.array([[3, 5, 0, 1, 1, 0], [2, 1, 4, 3, 2, 7]])  # rows 1–2 of the 4×6 example
    corner = jnp.array([[3, 2], [1, 3]])  # rows 3–4, columns 1–2
    exp.compare(
        "max-pooling k = 2 of the 4×6 example, first row",
        book_line=6563,
        book_value=[[5, 4, 7]],
        value=max_pool(top, 2),
    )
    exp.compare(
        "max-pooling k = 2 of the 4×6 example, coefficient (2, 1)",
        book_line=6563,
        book_value=[[3]],
        value=max_pool(corner, 2),
    )
    exp.compare(
        "average pooling k = 2, first row",
        book_line=6567,
        book_value=[["11/4", "2", "5/2"]],
        value=average_pool(top, 2),
        tolerance=1e-9,  # exact values (the "2" too): float64 round-off
    )
    exp.compare(
        "average pooling k = 2, coefficient (2, 1)",
        book_line=6567,
        book_value=[["9/4"]],
        value=average_pool(corner, 2),
    )
    top9 = jnp.array([[2, 5, 0, 5, 3, 6], [8, 4, 1, 1, 3, 0], [7, 0, 0, 0, 2, 2]])
    exp.compare(
        "max-pooling k = 3 of the 9×9 example, first coefficients",
        book_line=6569,
        book_value=[[8, 6]],
        value=max_pool(top9, 3),
    )
    exp.compare(
        "9×9 pooled by 3: shape",
        book_line=6569,
        book_value=[3, 3],
        value=list(max_pool(jnp.zeros((9, 9)), 3).shape),
    )


def definition(exp: Experiment) -> None:
    exp.compare(
        "M turned (4×4 example)",
        book_line=6630,
        book_value=[[3, 0, 1], [0, 1, 2], [2, 0, 1]],
        value=rot180(M44),
    )
    Ap = jnp.pad(A44, 1)  # virtual zeros around A
    exp.compare(
        "first coefficient: 0×3 + 0×0 + 0×1 + 0×0 + 2×1 + 1×2 + 0×2 + 1×0 + 1×1",
        book_line=6620,
        book_value=5,
        value=conv_neuron2d(Ap[0:3, 0:3], M44),
    )
    exp.compare(
        "second coefficient", book_line=6633, book_value=9, value=conv_neuron2d(Ap[0:3, 1:4], M44)
    )
    B = convolve2d_loop(A44, M44)
    # The whole matrix is printed in chapter 13 (L7040); the recipe computes it here.
    exp.compare(
        'A * M, by the recipe ("jusqu\'à calculer entièrement")',
        book_line=7040,
        book_value=[[5, 9, 10, 0], [7, 17, 19, 16], [10, 12, 11, 0], [5, 10, 13, 5]],
        value=B,
    )
    exp.compare(
        "A * M full (B₂ of chapter 13), by the recipe",
        book_line=7074,
        book_value=[
            [2, 1, 7, 2, 6, 0],
            [5, 5, 9, 10, 0, 10],
            [7, 7, 17, 19, 16, 0],
            [9, 10, 12, 11, 0, 19],
            [7, 5, 10, 13, 5, 0],
            [2, 0, 6, 2, 0, 6],
        ],
        value=convolve2d_loop(A44, M44, "full"),
    )
    exp.compare(
        "A * M valid (B₃ of chapter 13), by the recipe",
        book_line=7074,
        book_value=[[17, 19], [12, 11]],
        value=convolve2d_loop(A44, M44, "valid"),
    )
    exp.compare(
        "turning is not transposing",
        book_line=6638,
        book_value=True,
        value=bool(jnp.any(rot180(M44) != M44.T)),
    )
    M2 = jnp.array([[1, 2], [3, 4]])
    exp.compare(
        "even motif: zeros on top and on the left",
        book_line=6644,
        book_value=[[0, 0, 0], [0, 1, 2], [0, 3, 4]],
        value=odd_motif2d(M2),
    )
    exp.compare(
        "… then turned",
        book_line=6644,
        book_value=[[4, 3, 0], [2, 1, 0], [0, 0, 0]],
        value=rot180(odd_motif2d(M2)),
    )
    exp.agree(
        "A * [[1,2],[3,4]] (the recipe with the even motif)",
        book_line=6642,
        ours=convolve2d_loop(A44, M2),
        reference=convolve2d(A44, odd_motif2d(M2)),
        tolerance=0.0,  # integers
        reference_name="A * its padded 3×3 motif",
    )
    # The 7×7 binary example of the 3-D picture (TikZ fig-convolution2d-3d-01, next to L6601).
    B77 = convolve2d_loop(A77, M77)
    exp.compare(
        "7×7 binary example (figure next to L6601)",
        book_line=6601,
        book_value=[
            [0, 2, 2, 4, 2, 2, 0],
            [0, 1, 4, 4, 5, 2, 2],
            [0, 0, 2, 4, 5, 4, 0],
            [0, 1, 1, 4, 5, 2, 1],
            [1, 1, 3, 4, 2, 1, 0],
            [1, 3, 4, 2, 1, 0, 0],
            [1, 2, 2, 1, 0, 0, 0],
        ],
        value=B77,
    )
    exp.savefig(
        matrices_figure([A44, M44, rot180(M44), B], ["A", "M", "M retourné", "A * M"]),
        "conv2d-example-4x4",
    )
    exp.savefig(matrices_figure([A77, M77, B77], ["A (7×7)", "M", "A * M"]), "conv2d-example-7x7")


def simple_examples(exp: Experiment) -> None:
    exp.compare(
        "3×5 example: M turned",
        book_line=6661,
        book_value=[[2, 1, 0], [1, 1, -1], [0, -1, -2]],
        value=rot180(M35),
    )
    exp.compare(
        "3×5 example: A * M",
        book_line=6665,
        book_value=[[1, -6, 7, 10, 2], [9, 7, 10, 7, 1], [-3, 0, 0, -8, 0]],
        value=convolve2d_loop(A35, M35),
    )
    N16 = jnp.arange(1, 17).reshape(4, 4)
    down = jnp.array([[0, 0, 0], [0, 0, 0], [0, 1, 0]])
    right = jnp.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    exp.compare(
        "translation down",
        book_line=6673,
        book_value=[[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]],
        value=convolve2d_loop(N16, down),
    )
    exp.compare(
        "translation right",
        book_line=6677,
        book_value=[[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11], [0, 13, 14, 15]],
        value=convolve2d_loop(N16, right),
    )
    N25 = jnp.arange(1, 26).reshape(5, 5).astype(jnp.float64)
    mean = convolve2d_loop(N25, jnp.full((3, 3), 1 / 9))
    # The book truncates to two decimals (1.77 for 16/9 = 1.777…, 9.77 for 88/9) and prints the
    # exact integers (3, 7, 8 …) without decimals: 0.01, the unit of the table's digits, for all.
    exp.compare(
        "local mean 1/9·ones(3, 3) on 1..25",
        book_line=6686,
        book_value=[
            ["1.77", "3", "3.66", "4.33", "3.11"],
            ["4.33", "7", "8", "9", "6.33"],
            ["7.66", "12", "13", "14", "9.66"],
            ["11", "17", "18", "19", "13"],
            ["8.44", "13", "13.66", "14.33", "9.77"],
        ],
        value=mean,
        tolerance=0.01,
    )
    # The vectorised convolve2d is the same function as the recipe on every example of the chapter.
    cases = [
        (A44, M44),
        (A35, M35),
        (N16, down),
        (N16, right),
        (A77, M77),
        (A44, jnp.array([[1, 2], [3, 4]])),
    ]
    modes = ("same", "full", "valid")
    exp.agree(
        "vectorised convolve2d on every example, 3 modes",
        book_line=6601,
        ours=jnp.concatenate([convolve2d(a, m, mode).ravel() for a, m in cases for mode in modes]),
        reference=jnp.concatenate([convolve2d_loop(a, m, mode).ravel() for a, m in cases for mode in modes]),
        tolerance=1e-9,
        reference_name="the book's recipe (convolve2d_loop)",
    )


def neuron_and_layer(exp: Experiment) -> None:
    a = jnp.arange(1.0, 10).reshape(3, 3) * jnp.array([1.0, -2, 0.5])[None, :]  # any window
    m = jnp.array([[1.0, 0, 2], [2, 1, 0], [1, 0, 3]])
    written_out = (
        a[0, 0] * m[2, 2]
        + a[0, 1] * m[2, 1]
        + a[0, 2] * m[2, 0]
        + a[1, 0] * m[1, 2]
        + a[1, 1] * m[1, 1]
        + a[1, 2] * m[1, 0]
        + a[2, 0] * m[0, 2]
        + a[2, 1] * m[0, 1]
        + a[2, 2] * m[0, 0]
    )
    exp.agree(
        "conv_neuron2d on a 3×3 window",
        book_line=6712,
        ours=conv_neuron2d(a, m),
        reference=written_out,
        tolerance=1e-9,
        reference_name="the book's s = a11·m33 + a12·m32 + … + a33·m11",
    )
    exp.compare(
        "dense layer on 100×100: neurons", book_line=6741, book_value=10000, value=100 * 100
    )
    exp.compare(
        "dense layer on 100×100: weights",
        book_line=6741,
        book_value=100_000_000,
        value=dense_layer_weight_count(100, 100),
    )
    exp.compare(
        "convolution layer 3×3: weights (whatever n, p)",
        book_line=6741,
        book_value=9,
        value=conv_layer_weight_count(3),
    )
    # The layer A ↦ A * M is linear (L6742–6749): flattened, it is a 16 × 16 matrix for a 4×4 input.
    T = convolution_matrix2d(M44, (4, 4))
    exp.compare(
        "F: ℝ^{np} → ℝ^{np} for n = p = 4: matrix shape",
        book_line=6749,
        book_value=[16, 16],
        value=list(T.shape),
    )
    exp.agree(
        "T · vec(A) (the layer as a matrix)",
        book_line=6749,
        ours=T @ A44.reshape(-1),
        reference=convolve2d(A44, M44).reshape(-1),
        tolerance=1e-9,
        reference_name="vec(A * M)",
    )
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(np.asarray(T), cmap="Blues")
    ax.set_title("A ↦ A * M as a 16×16 matrix (doubly block Toeplitz)")
    exp.savefig(fig, "conv2d-layer-matrix")


def layers(exp: Experiment) -> None:
    n, p, k, l = 10, 8, 3, 4
    key_x, key_m = jax.random.split(exp.key(2))
    x = jax.random.normal(key_x, (n, p, k))
    motifs = jax.random.normal(key_m, (3, 3, k, l))
    exp.compare(
        "ℓ motifs on an n×p matrix: shape (n, p, ℓ), n, p, ℓ = 10, 8, 4",
        book_line=6757,
        book_value=[10, 8, 4],
        value=list(convolve_channels(x[..., 0:1], motifs[:, :, 0:1, :]).shape),
    )
    one = convolve_channels(x, motifs[..., 0])
    exp.compare(
        "one motif (3, 3, k) on (n, p, k): shape (n, p)",
        book_line=6771,
        book_value=[10, 8],
        value=list(one.shape),
    )
    by_channel = sum(convolve2d(x[..., c], motifs[:, :, c, 0]) for c in range(k))
    exp.agree(
        "𝒜 * M (convolve_channels)",
        book_line=6769,
        ours=one,
        reference=by_channel,
        tolerance=1e-12,
        reference_name="Σ_c A_c * M_c",
    )
    layer = BookConv(k, l, 3, rngs=nnx.Rngs(exp.seed))
    y = layer(x)
    exp.compare(
        "general case: (n, p, k) with ℓ motifs (3, 3, k) → (n, p, ℓ)",
        book_line=6780,
        book_value=[10, 8, 4],
        value=list(y.shape),
    )
    exp.agree(
        "BookConv",
        book_line=7493,
        ours=y,
        reference=layer.to_nnx_conv()(x),
        tolerance=1e-5,  # float32 params
        reference_name="nnx.Conv on the turned motifs",
    )
    # Padding and stride (the book defers them to the libraries, L6650): stride 2 keeps every
    # second coefficient of the same-size convolution of the 4×4 example (L7040's B₁).
    exp.compare(
        "stride 2 on the 4×4 example = B₁[::2, ::2]",
        book_line=6650,
        book_value=[[5, 10], [10, 11]],
        value=convolve2d(A44, M44, stride=2),
    )
    exp.compare(
        "padding 'full' on the 4×4 example: shape (n + 2, p + 2)",
        book_line=7056,
        book_value=[6, 6],
        value=list(convolve2d(A44, M44, "full").shape),
    )
    exp.compare(
        "pooling layer: 100×80 with k = 4",
        book_line=6792,
        book_value=[25, 20],
        value=list(pooled_shape(100, 80, 4)),
    )
    exp.compare(
        "pooling layer: data 8000 → 500",
        book_line=6792,
        book_value=[8000, 500],
        value=[100 * 80, int(np.prod(pooled_shape(100, 80, 4)))],
    )


def images(exp: Experiment) -> None:
    small = jnp.array(
        [[0, 255, 64, 255, 0], [255, 0, 127, 0, 255], [64, 127, 0, 127, 64], [255, 0, 127, 0, 255]]
    )
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(np.asarray(small), cmap="gray", vmin=0, vmax=255)
    for (i, j), v in np.ndenumerate(np.asarray(small)):
        ax.text(j, i, str(v), ha="center", va="center", color="red")
    ax.set_title("Une image 4×5 en niveaux de gris (L6809)")
    ax.axis("off")
    exp.savefig(fig, "image-4x5")

    photo = load_sample_photo()
    k = 4
    mx, av = max_pool(photo, k), average_pool(photo, k)
    exp.compare(
        "pooling 4×4 of the photograph: 16 times fewer pixels",
        book_line=6927,
        book_value=16,
        value=photo.size / mx.size,
    )
    fig, axes = plt.subplots(1, 3, figsize=(13, 5))
    for ax, im, title in zip(
        axes,
        [photo, mx, av],
        ["Image originale", "Max-pooling 4×4", "Pooling 4×4 en moyenne"],
        strict=True,
    ):
        ax.imshow(np.asarray(im), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{title} {tuple(im.shape)}")
        ax.axis("off")
    exp.savefig(fig, "image-pooling")
    fig, axes = plt.subplots(1, 2, figsize=(9, 5))
    crop = (slice(15, 75), slice(30, 100))  # the pooled face, enlarged (each pixel → 4×4)
    for ax, im, title in zip(
        axes,
        [mx, av],
        ["Max-pooling 4×4 (agrandi)", "Pooling 4×4 en moyenne (agrandi)"],
        strict=True,
    ):
        ax.imshow(
            np.asarray(enlarge(im[crop], k)), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
        )
        ax.set_title(title)
        ax.axis("off")
    exp.savefig(fig, "image-pooling-enlarged")


def backpropagation(exp: Experiment) -> None:
    # Classical neuron (L6937–6963): g = tanh(… + a·f + …), F = ψ(g); ∂F/∂a = ∂F/∂g · f_* · g'_*.
    f1, f2, a, c = 0.7, -1.3, 0.8, 0.25  # c: the rest of the neuron's weighted sum

    def psi(g1, g2):
        return g1**2 * g2 + jnp.sin(g2)

    def F_one(a):
        return psi(tanh(a * f1 + c), 1.0)

    g1 = tanh(a * f1 + c)
    dF_dg1 = 2 * g1 * 1.0
    by_hand = dF_dg1 * f1 * tanh_prime(a * f1 + c)
    exp.agree(
        "one neuron: ∂F/∂a = ∂F/∂g·f_*·g'_*",
        book_line=6951,
        ours=by_hand,
        reference=jax.grad(F_one)(a),
        tolerance=1e-14,
        reference_name="jax.grad",
    )

    # Two neurons sharing the weight a (L6965–7003): F = ψ(g1, g2).
    def F_two(a):
        return psi(tanh(a * f1 + c), tanh(a * f2 - c))

    z1, z2 = a * f1 + c, a * f2 - c
    g1, g2 = tanh(z1), tanh(z2)
    dF_dg = jnp.array([2 * g1 * g2, g1**2 + jnp.cos(g2)])  # ∂ψ/∂x, ∂ψ/∂y at (g1, g2)
    by_hand = shared_weight_derivative(
        jnp.array([f1, f2]), jnp.array([tanh_prime(z1), tanh_prime(z2)]), dF_dg
    )
    exp.agree(
        "two neurons sharing a: Σ ∂F/∂g_i·f_i,*·g'_i,*",
        book_line=6979,
        ours=by_hand,
        reference=jax.grad(F_two)(a),
        tolerance=1e-14,
        reference_name="jax.grad",
    )

    def F_identity(a):
        return psi(a * f1 + c, a * f2 - c)

    z1, z2 = a * f1 + c, a * f2 - c
    dF_dg = jnp.array([2 * z1 * z2, z1**2 + jnp.cos(z2)])
    exp.agree(
        "identity activation: f_1,*·∂F/∂g1 + f_2,*·∂F/∂g2",
        book_line=7007,
        ours=shared_weight_derivative(jnp.array([f1, f2]), None, dF_dg),
        reference=jax.grad(F_identity)(a),
        tolerance=1e-14,
        reference_name="jax.grad",
    )

    # A convolution layer (49 neurons sharing 9 weights), tanh, then a second layer and a loss:
    # F = ½‖tanh(A * M1 + b1) * M2 − T‖² on the 7×7 binary image.
    A = A77.astype(jnp.float64)
    key1, key2, key3 = jax.random.split(exp.key(3), 3)
    M1 = 0.5 * jax.random.normal(key1, (3, 3))
    M2 = 0.5 * jax.random.normal(key2, (3, 3))
    target = jax.random.normal(key3, (7, 7))
    b1 = 0.1

    def loss(M1, b1, M2):
        _, g = conv_forward(A[..., None], M1[..., None], b1, activation=tanh)
        return 0.5 * jnp.sum((convolve2d(g, M2) - target) ** 2)

    z, g = conv_forward(A[..., None], M1[..., None], b1, activation=tanh)
    out = convolve2d(g, M2)
    dF_dout = out - target
    second = conv_backward(g[..., None], M2[..., None], dF_dout)  # ∂F/∂M2 and ∂F/∂g
    dF_dg = second.x[..., 0]
    first = conv_backward(A[..., None], M1[..., None], tanh_prime(z) * dF_dg)  # delta = g'·∂F/∂g
    per_weight = motif_gradient_by_weight(
        A, M1, dF_dg, tanh_prime(z)
    )  # the formula, weight by weight
    ref = jax.grad(loss, argnums=(0, 1, 2))(M1, b1, M2)
    for name, ours, reference in (
        ("conv layer: ∂F/∂M1 by Σ_i f_i,*·g'_i,*·∂F/∂g_i", per_weight, ref[0]),
        ("conv layer: ∂F/∂M1 by conv_backward", first.motifs[..., 0], ref[0]),
        ("conv layer: ∂F/∂b1 by conv_backward", first.bias, ref[1]),
        ("second layer: ∂F/∂M2 by conv_backward", second.motifs[..., 0], ref[2]),
    ):
        exp.agree(name, book_line=7013, ours=ours, reference=reference, tolerance=1e-12,
                  reference_name="jax.grad")
    exp.savefig(
        matrices_figure([per_weight, ref[0]], ["∂F/∂M1 by hand (L7013)", "jax.grad"], fmt="{:.3f}"),
        "backprop-shared-weights",
    )


def run(exp: Experiment) -> None:
    with exp.section("§1.1 Matrices"):
        matrices(exp)
    with exp.section("§1.2 Pooling"):
        pooling(exp)
    with exp.section("§2.1 Définition"):
        definition(exp)
    with exp.section("§2.2 Exemples simples"):
        simple_examples(exp)
    with exp.section("§2.3–2.4 Neurone et couche"):
        neuron_and_layer(exp)
    with exp.section("§2.5 Couches"):
        layers(exp)
    with exp.section("§3 Images"):
        images(exp)
    with exp.section("§4 Rétropropagation"):
        backpropagation(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
