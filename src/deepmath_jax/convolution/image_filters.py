"""Image processing by convolution — chapter 12 *Convolution*, §3 *Traitement des images*
(book lines 6798–6930), and chapter 13 *Convolution avec Python*, §2 (L7121–7178).

A grayscale image is a matrix with entries between 0 (black) and 255 (white) (L6805); a filter is
the book's convolution ``B = A * M`` in "same" mode
(:func:`~deepmath_jax.convolution.conv2d.convolve2d`), then ``clip(B, 0, 255)`` converted to 8-bit
integers to be saved (L7170–7174). The book's motifs, with their lines, are in :data:`KERNELS`.
The photograph used here is one that ships with matplotlib (``grace_hopper.jpg``, read with
``matplotlib.cbook.get_sample_data``), so that the filters run on a real image on a machine
without network.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.convolution.conv1d import as_real_array
from deepmath_jax.convolution.conv2d import convolve2d


class Kernel(NamedTuple):
    """A motif of the book: French name, English name, matrix, book line."""

    french: str
    english: str
    matrix: tuple[tuple[float, ...], ...]
    book_line: int | None


def _binomial5() -> tuple[tuple[float, ...], ...]:
    # The 5×5 Gaussian blur: outer product of the binomial row (1, 4, 6, 4, 1), divided by 256.
    # (The authors' script has the misprinted row (1, 2, 4, 6, 41); this is the binomial one.)
    row = np.array([1.0, 4, 6, 4, 1])
    return tuple(tuple(r) for r in (np.outer(row, row) / 256).tolist())


KERNELS: dict[str, Kernel] = {
    "identity": Kernel("identité", "identity", ((0, 0, 0), (0, 1, 0), (0, 0, 0)), None),
    "blur": Kernel("flou", "blur", tuple((1 / 9,) * 3 for _ in range(3)), 6819),
    "gaussian_blur": Kernel(
        "flou gaussien",
        "Gaussian blur",
        ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
        6833,
    ),
    "blur5": Kernel("flou 5×5", "5×5 blur", tuple((1 / 25,) * 5 for _ in range(5)), 6835),
    "gaussian_blur5": Kernel("flou gaussien 5×5", "5×5 Gaussian blur", _binomial5(), 6835),
    "sharpen": Kernel("piqué", "sharpen", ((0, -1, 0), (-1, 5, -1), (0, -1, 0)), 6841),
    "verticals": Kernel(
        "verticales", "vertical lines", ((-1, 2, -1), (-1, 2, -1), (-1, 2, -1)), 6858
    ),
    "horizontals": Kernel(
        "horizontales", "horizontal lines", ((-1, -1, -1), (2, 2, 2), (-1, -1, -1)), 6871
    ),
    "diagonals": Kernel(
        "diagonales (45°)", "45° lines", ((-1, -1, 2), (-1, 2, -1), (2, -1, -1)), 6873
    ),
    "edges": Kernel("contour", "edges", ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)), 6889),
    "edges_laplacian": Kernel(
        "contour (variante)", "edges (Laplacian)", ((0, 1, 0), (1, -4, 1), (0, 1, 0)), 6901
    ),
    "edges_cross": Kernel(
        "contour (variante)", "edges (cross)", ((1, 0, -1), (0, 0, 0), (-1, 0, 1)), 6901
    ),
    "emboss": Kernel("mise en relief", "emboss", ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)), 6907),
}


def kernel(name: str) -> Array:
    """The motif called ``name`` (``"blur"``, ``"sharpen"``, ``"emboss"``, …) as a float array."""
    try:
        return jnp.asarray(KERNELS[name].matrix, dtype=jnp.float32)
    except KeyError:
        raise ValueError(f"unknown filter {name!r}; known filters: {', '.join(KERNELS)}") from None


def rgb_to_gray(image: ArrayLike) -> Array:
    """Gray levels 0–255 of an RGB(A) image: luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R 601).
    Images with values in [0, 1] (floats) are scaled to 0–255."""
    a = as_real_array(image, "image", (2, 3))
    if a.ndim == 2:
        gray = a.astype(jnp.float32)
    else:
        if a.shape[-1] not in (3, 4):
            raise ValueError(
                f"an RGB image has 3 or 4 channels on its last axis, got shape {tuple(a.shape)}"
            )
        rgb = a[..., :3].astype(jnp.float32)
        gray = rgb @ jnp.asarray([0.299, 0.587, 0.114], jnp.float32)
    if jnp.issubdtype(a.dtype, jnp.floating) and float(jnp.max(gray)) <= 1.0:
        gray = 255.0 * gray
    return gray


def load_sample_photo(name: str = "grace_hopper.jpg") -> Array:
    """A real photograph shipped with matplotlib, in gray levels 0–255 (float32, (n, p)).

    ``grace_hopper.jpg`` (600 × 512) is matplotlib's sample; any file of
    ``matplotlib/mpl-data/sample_data`` can be named.
    """
    import matplotlib.cbook as cbook
    import matplotlib.pyplot as plt

    try:
        with cbook.get_sample_data(name) as handle:
            image = plt.imread(handle, format=name.rsplit(".", 1)[-1])
    except (FileNotFoundError, OSError, ValueError) as err:
        raise FileNotFoundError(
            f"matplotlib's sample image {name!r} was not found ({err}); it ships with matplotlib "
            "(mpl-data/sample_data): reinstall matplotlib, or pass your own image as a 2-D array"
        ) from None
    return rgb_to_gray(image)


def apply_filter(image: ArrayLike, motif: ArrayLike | str) -> Array:
    """``B = A * M`` in "same" mode (L6815, L7137): the filtered image (not yet clipped)."""
    A = as_real_array(image, "image (a 2-D matrix of gray levels)", 2)
    M = kernel(motif) if isinstance(motif, str) else as_real_array(motif, "motif", 2)
    return convolve2d(A.astype(jnp.float32), M.astype(jnp.float32), "same")


def to_uint8(B: ArrayLike) -> np.ndarray:
    """``clip(B, 0, 255)`` then 8-bit integers (L7170–7174): what is saved as an image."""
    b = np.asarray(as_real_array(B, "image", (2, 3)))
    return np.clip(b, 0, 255).astype(np.uint8)
