"""Chapter 13 — Convolution avec Python / Convolution with Python (book lines 7015–7348).

The chapter's programs as library calls: the three sizes of 2-D convolution (same, full, valid) and
the associativity of the full one; max and average pooling; image processing of a real photograph
(matplotlib's ``grace_hopper.jpg``) with every motif of the book — blur, Gaussian blur, sharpen,
vertical / horizontal / 45° lines, edges, emboss — before and after; 1-D convolution and its
smoothing figure; polynomial products; correlation, radar detection and a smiley found in noise.
``--quick`` changes nothing here: every computation is already small.
"""

from __future__ import annotations

import sys

import jax

jax.config.update("jax_enable_x64", True)  # exact integer matrices and float64 signals

import jax.numpy as jnp  # noqa: E402
import jax.scipy.signal as jsignal  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from deepmath_jax.convolution.conv1d import convolve, correlate, polynomial_product, polynomial_value  # noqa: E402
from deepmath_jax.convolution.conv2d import convolve2d, correlate2d, rot180  # noqa: E402
from deepmath_jax.convolution.plots import before_after_figure, matrices_figure, signal_figure  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.convolution.image_filters import KERNELS, apply_filter, kernel, load_sample_photo, to_uint8  # noqa: E402
from deepmath_jax.convolution.pooling import average_pool, max_pool, pool_loop  # noqa: E402
from deepmath_jax.convolution.template_matching import (  # noqa: E402
    hide_motif,
    locate_1d,
    locate_2d,
    radar_pulse,
    received_signal,
    smiley,
)

CHAPTER = Chapter(
    13,
    "convolution_python",
    "Convolution avec Python / Convolution with Python",
    book_lines=(7015, 7348),
)

A = jnp.array([[2, 1, 3, 0], [1, 1, 0, 5], [3, 3, 1, 0], [2, 0, 0, 2]])
M = jnp.array([[1, 0, 2], [2, 1, 0], [1, 0, 3]])
B1_BOOK = [[5, 9, 10, 0], [7, 17, 19, 16], [10, 12, 11, 0], [5, 10, 13, 5]]
B2_BOOK = [
    [2, 1, 7, 2, 6, 0],
    [5, 5, 9, 10, 0, 10],
    [7, 7, 17, 19, 16, 0],
    [9, 10, 12, 11, 0, 19],
    [7, 5, 10, 13, 5, 0],
    [2, 0, 6, 2, 0, 6],
]
B3_BOOK = [[17, 19], [12, 11]]


def matrices(exp: Experiment) -> None:
    B1, B2, B3 = (convolve2d(A, M, mode) for mode in ("same", "full", "valid"))
    exp.compare("B = A * M (same)", book_line=7040, book_value=B1_BOOK, value=B1)
    exp.compare(
        "B = A * M with jax.scipy.signal.convolve2d(mode='same')",
        book_line=7040,
        book_value=B1_BOOK,
        value=jsignal.convolve2d(A, M, mode="same"),
    )
    exp.compare("B₂ = A ∗̃ M (full)", book_line=7074, book_value=B2_BOOK, value=B2)
    exp.compare("B₃ (valid)", book_line=7074, book_value=B3_BOOK, value=B3)
    exp.compare(
        "full: shape (n + 2) × (p + 2)", book_line=7056, book_value=[6, 6], value=list(B2.shape)
    )
    exp.compare(
        "valid: shape (n − 2) × (p − 2)", book_line=7064, book_value=[2, 2], value=list(B3.shape)
    )
    exp.compare(
        "B₂ contains B₁: B₂[1:−1, 1:−1]", book_line=7072, book_value=B1_BOOK, value=B2[1:-1, 1:-1]
    )
    exp.compare(
        "B₁ contains B₃: B₁[1:−1, 1:−1]", book_line=7072, book_value=B3_BOOK, value=B1[1:-1, 1:-1]
    )
    exp.savefig(
        matrices_figure([B1, B2, B3], ["B₁ (same)", "B₂ (full)", "B₃ (valid)"]),
        "convolution-variants",
    )

    # Associativity (L7078–7084) on random integer matrices (seeded): A 6×4 in [0, 10),
    # M, N 3×3 in [−5, 5), as the authors' demonstration.
    ka, km, kn = jax.random.split(exp.key(1), 3)
    a = jax.random.randint(ka, (6, 4), 0, 10)
    m = jax.random.randint(km, (3, 3), -5, 5)
    n = jax.random.randint(kn, (3, 3), -5, 5)
    left = convolve2d(convolve2d(a, m, "full"), n, "full")
    right = convolve2d(a, convolve2d(m, n, "full"), "full")
    exp.agree(
        "(A ∗̃ M) ∗̃ N (integers)",
        book_line=7080,
        ours=left,
        reference=right,
        tolerance=0,
        reference_name="A ∗̃ (M ∗̃ N) (associativity)",
    )
    c_left = correlate2d(correlate2d(a, m, "full"), n, "full")
    c_right = correlate2d(a, correlate2d(m, n, "full"), "full")
    exp.compare(
        "without turning M (correlation) associativity fails",
        book_line=7084,
        book_value=True,
        value=bool(jnp.any(c_left != c_right)),
    )


def pooling(exp: Experiment) -> None:
    P = jnp.array(
        [
            [16, 23, 22, 21, 12, 13],
            [0, 5, 18, 2, 17, 15],
            [10, 20, 4, 9, 7, 8],
            [11, 14, 1, 19, 6, 3],
        ]
    )
    mx = [[23, 22, 17], [20, 19, 8]]
    av = [["11", "15.75", "14.25"], ["13.75", "8.25", "6"]]
    exp.compare("max_pooling(A, 2)", book_line=7103, book_value=mx, value=max_pool(P, 2))
    exp.compare(
        "max-pooling with loops over the blocks",
        book_line=7103,
        book_value=mx,
        value=pool_loop(P, 2, np.max),
    )
    exp.compare(
        "flax.nnx.max_pool(window 2, stride 2)",
        book_line=7103,
        book_value=mx,
        value=nnx.max_pool(P[None, :, :, None].astype(jnp.float64), (2, 2), (2, 2), "VALID")[
            0, :, :, 0
        ],
    )
    # Means of four integers: exact quarters, printed in full.
    exp.compare("average_pooling(A, 2)", book_line=7119, book_value=av, value=average_pool(P, 2), exact=True)
    exp.compare(
        "flax.nnx.avg_pool(window 2, stride 2)",
        book_line=7119,
        book_value=av,
        value=nnx.avg_pool(P[None, :, :, None].astype(jnp.float64), (2, 2), (2, 2), "VALID")[
            0, :, :, 0
        ],
        exact=True,
    )


def stripes(kind: str, size: int = 24) -> jnp.ndarray:
    """A test image of thin lines (one pixel wide, 255 on 0), every 6 pixels."""
    i, j = np.mgrid[0:size, 0:size]
    line = {
        "vertical": j % 6 == 0,
        "horizontal": i % 6 == 0,
        "diagonal": (i + j) % 6 == 0,
        "antidiagonal": (i - j) % 6 == 0,
    }[kind]
    return jnp.asarray(np.where(line, 255.0, 0.0))


def line_response(name: str, kind: str) -> float:
    """Largest |response| of a line filter to an image of lines, away from the borders."""
    return float(jnp.max(jnp.abs(apply_filter(stripes(kind), name)[2:-2, 2:-2])))


def images(exp: Experiment) -> None:
    photo = load_sample_photo()
    emboss = apply_filter(photo, "emboss")
    exp.savefig(before_after_figure(photo, emboss), "ecran-convolution-1")  # C3-F1 (L7129)
    saved = to_uint8(emboss)
    plt.imsave(exp.path("image_apres.png"), saved, cmap="gray", vmin=0, vmax=255)
    exp.compare(
        "saved image: integers in [0, 255] (np.clip, uint8)",
        book_line=7172,
        book_value=True,
        value=saved.dtype == np.uint8
        and bool(np.all(np.asarray(jnp.clip(emboss, 0, 255)).astype(np.uint8) == saved)),
    )

    titles = {
        "blur": "Flou",
        "gaussian_blur": "Flou gaussien",
        "gaussian_blur5": "Flou gaussien 5×5",
        "sharpen": "Piqué",
        "verticals": "Verticales",
        "horizontals": "Horizontales",
        "diagonals": "Diagonales",
        "edges": "Contour",
        "edges_laplacian": "Contour (variante 1)",
        "edges_cross": "Contour (variante 2)",
        "emboss": "Relief",
    }
    outputs = {}
    for name, title in titles.items():
        outputs[name] = apply_filter(photo, name)
        exp.savefig(
            before_after_figure(photo, outputs[name], titles=("Image originale", title)),
            f"image-{name}",
        )
    fig, axes = plt.subplots(3, 4, figsize=(14, 12))
    for ax, (name, title) in zip(
        axes.flat, [("identity", "Image originale"), *titles.items()], strict=True
    ):
        ax.imshow(
            np.clip(np.asarray(outputs.get(name, photo)), 0, 255), cmap="gray", vmin=0, vmax=255
        )
        line = KERNELS[name].book_line
        ax.set_title(title if line is None else f"{title} (L{line})")
        ax.axis("off")
    fig.tight_layout()
    exp.savefig(fig, "image-filters-gallery")

    # What the book says each motif does, checked on images where the answer is known.
    key = exp.key(2)
    noisy = photo + 25.0 * jax.random.normal(key, photo.shape)
    err_noisy = float(jnp.mean((noisy - photo) ** 2))
    err_blur = float(jnp.mean((apply_filter(noisy, "blur") - photo)[1:-1, 1:-1] ** 2))
    exp.compare(
        "blur reduces noise: MSE to the clean photo falls",
        book_line=6829,
        book_value=True,
        value=err_blur < err_noisy / 2,
    )
    exp.compare(
        "sharpen is 'the contrary of blur': identity − (Laplacian variant)",
        book_line=6839,
        book_value=True,
        value=bool(jnp.all(kernel("sharpen") == kernel("identity") - kernel("edges_laplacian"))),
    )
    exp.compare(
        "verticals: strong on vertical lines, 0 on horizontal ones",
        book_line=6858,
        book_value=[True, True],
        value=[
            line_response("verticals", "vertical") > 500,
            line_response("verticals", "horizontal") == 0,
        ],
    )
    exp.compare(
        "horizontals: strong on horizontal lines, 0 on vertical ones",
        book_line=6871,
        book_value=[True, True],
        value=[
            line_response("horizontals", "horizontal") > 500,
            line_response("horizontals", "vertical") == 0,
        ],
    )
    # The 45° motif has its 2s on the anti-diagonal: lines i + j = constant (↗ in the image).
    exp.compare(
        "45° lines: stronger on ↗ lines than on ↘ ones",
        book_line=6873,
        book_value=True,
        value=line_response("diagonals", "diagonal")
        > 2 * line_response("diagonals", "antidiagonal"),
    )
    flat = jnp.full((16, 16), 128.0)
    exp.compare(
        "edges: 0 inside a region of constant gray",
        book_line=6889,
        book_value=0,
        value=float(jnp.max(jnp.abs(apply_filter(flat, "edges")[1:-1, 1:-1]))),
    )


def one_dimension(exp: Experiment) -> None:
    f, g = jnp.array([1, 0, 3, 5, 1]), jnp.array([1, 2, 3])
    exp.compare(
        "convolve(f, g, 'same')",
        book_line=7192,
        book_value=[2, 6, 11, 20, 17],
        value=convolve(f, g),
    )
    exp.compare(
        "jnp.convolve(f, g, 'same')",
        book_line=7192,
        book_value=[2, 6, 11, 20, 17],
        value=jnp.convolve(f, g, mode="same"),
    )
    exp.compare(
        "convolve(f, g, 'full')",
        book_line=7203,
        book_value=[1, 2, 6, 11, 20, 17, 3],
        value=convolve(f, g, "full"),
    )
    exp.compare(
        "jnp.convolve(f, g, 'full')",
        book_line=7203,
        book_value=[1, 2, 6, 11, 20, 17, 3],
        value=jnp.convolve(f, g, mode="full"),
    )

    x = jnp.linspace(0, 2 * jnp.pi, 100)
    noisy = jnp.sin(x) + jax.random.uniform(exp.key(3), (100,), dtype=jnp.float64)
    smooth = convolve(noisy, jnp.full((5,), 1 / 5))
    exp.compare(
        "h = f * (1/5)[1,1,1,1,1] smooths f (mean |Δ| falls)",
        book_line=7211,
        book_value=True,
        value=float(jnp.mean(jnp.abs(jnp.diff(smooth))))
        < float(jnp.mean(jnp.abs(jnp.diff(noisy)))),
    )
    exp.savefig(signal_figure(noisy, smooth), "pythonconv-1d")  # C3-F2

    P, Q = jnp.array([1, 2, 3, 4]), jnp.array([5, 6, 7])
    PQ = polynomial_product(P, Q)
    exp.compare(
        "[P] ∗̃ [Q] = (1,2,3,4) ∗̃ (5,6,7)",
        book_line=7258,
        book_value=[5, 16, 34, 52, 45, 28],
        value=PQ,
    )
    exp.compare(
        "jnp.polymul(P, Q)",
        book_line=7263,
        book_value=[5, 16, 34, 52, 45, 28],
        value=jnp.polymul(P, Q),
    )
    xs = jnp.linspace(-3, 3, 61)
    exp.agree(
        "(P × Q)(x) on 61 points",
        book_line=7263,
        ours=polynomial_value(PQ, xs),
        reference=polynomial_value(P, xs) * polynomial_value(Q, xs),
        tolerance=1e-9,
        reference_name="P(x)·Q(x)",
    )


def correlation(exp: Experiment) -> None:
    f, g = jnp.array([1, 0, 3, 5, 1]), jnp.array([1, 2, 3])
    exp.compare(
        "correlation of (1,0,3,5,1) with (1,2,3)",
        book_line=7304,
        book_value=[2, 10, 21, 16, 7],
        value=correlate(f, g),
    )
    exp.compare(
        "= convolution with the reversed motif",
        book_line=7300,
        book_value=[2, 10, 21, 16, 7],
        value=convolve(f, g[::-1]),
    )
    exp.compare(
        "jax.scipy.signal.correlate(f, g, 'same')",
        book_line=7304,
        book_value=[2, 10, 21, 16, 7],
        value=jsignal.correlate(f, g, mode="same"),
    )

    pulse = radar_pulse(100)
    received = received_signal(exp.key(4), pulse, 1000, start=350, noise_std=0.5)
    h, position = locate_1d(received, pulse)
    # The book reads the peak off its own random draw ("détecté en position 400"); the peak of a
    # noisy correlation moves by a sample or two between draws, so 5 samples (5 % of the pulse) is
    # the yardstick here.
    exp.compare(
        "radar: the echo (inserted at 350–450) is detected at",
        book_line=7312,
        book_value=400,
        value=position,
        tolerance=5,
    )
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(np.asarray(pulse), color="red")
    ax.set_title("Impulsion g émise par le radar")
    exp.savefig(fig, "correlation1d-1")
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(np.asarray(received - jnp.pad(pulse, (350, 550))), color="gray")
    ax.set_title("Bruit")
    exp.savefig(fig, "correlation1d-2")
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(np.asarray(received), color="tab:blue")
    ax.set_title("Signal f reçu par le radar")
    exp.savefig(fig, "correlation1d-3")
    fig = signal_figure(
        received,
        h,
        output_title=f"Sortie h = correlation(f,g) — pic en {position}",
        figsize=(10, 5),
    )
    exp.savefig(fig, "correlation1d-4")

    icon = smiley(100)
    image, motif = hide_motif(exp.key(5), icon, (500, 500), top_left=(250, 150), epsilon=0.2)
    hmap, (row, col) = locate_2d(image, motif)
    # The book gives the point as (x, y) = (column, row) of the picture:
    # "autour du point (200, 300)".
    exp.compare(
        "smiley found at (x, y) = (column, row)",
        book_line=7348,
        book_value=[200, 300],
        value=[col, row],
        tolerance=5,
    )
    exp.agree(
        "2-D correlation (5×5 crop)",
        book_line=7344,
        ours=correlate2d(A, M),
        reference=convolve2d(A, rot180(M)),
        tolerance=1e-9,
        reference_name="the convolution with the turned motif",
    )
    fig, axes = plt.subplots(1, 4, figsize=(18, 5))
    axes[0].imshow(np.asarray(128 + 128 * motif / 0.2), cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("Le motif (100×100)")
    axes[1].imshow(
        np.clip(np.asarray(128 + 128 * (image - jnp.pad(motif, ((250, 150), (150, 250))))), 0, 255),
        cmap="gray",
        vmin=0,
        vmax=255,
    )
    axes[1].set_title("Image de pixels aléatoires")
    axes[2].imshow(np.clip(np.asarray(128 + 128 * image), 0, 255), cmap="gray", vmin=0, vmax=255)
    axes[2].set_title("Image avec le motif incrusté")
    axes[3].imshow(np.asarray(hmap), cmap="gray")
    axes[3].plot([col], [row], "r+", markersize=14)
    axes[3].set_title(f"Corrélation : pic en (x, y) = ({col}, {row})")
    for ax in axes:
        ax.axis("off")
    exp.savefig(fig, "correlation2d")


def run(exp: Experiment) -> None:
    with exp.section("§1 Convolution et matrices"):
        matrices(exp)
    with exp.section("§1.4 Pooling"):
        pooling(exp)
    with exp.section("§2 Traitement d'images"):
        images(exp)
    with exp.section("§3 Une dimension"):
        one_dimension(exp)
    with exp.section("§3.4–4 Corrélation"):
        correlation(exp)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run))
