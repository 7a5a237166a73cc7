"""Pooling — chapter 12 *Convolution*, §1.2 *Pooling* (book lines 6550–6575, pooling layer L6792)
and chapter 13 *Convolution avec Python*, §1.4 (L7086–7119).

A pooling of size k turns an n × p matrix into an (n//k) × (p//k) one: the k × k blocks tiling the
matrix from its top-left corner (no overlap: the stride is k) each give one coefficient — their
maximum (*max-pooling*, L6563) or their mean (*average pooling*, L6567). Rows and columns left
over by the floor division are dropped. The book's program (L7086–7114) reshapes the matrix to
(n//k, k, p//k, k), swaps the middle axes and reduces the last two; :func:`pool_loop` is the same
with explicit loops over blocks, and the tests compare both with ``flax.nnx.max_pool`` /
``avg_pool`` (window k, stride k, ``"VALID"``).

Inputs may carry channels after the two spatial axes, (n, p, c): each channel is pooled alone.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.convolution.conv1d import as_real_array, positive_int


def pooled_shape(n: int, p: int, k: int) -> tuple[int, int]:
    """(n//k, p//k) (L6554): 100 × 80 with k = 4 → 25 × 20 (L6792)."""
    n, p, k = positive_int(n, "n"), positive_int(p, "p"), positive_int(k, "pooling size k")
    return n // k, p // k


def _blocks(A: ArrayLike, k: int) -> Array:
    """The k × k blocks of A, shape (n//k, p//k, k, k, *channels) (leftovers dropped)."""
    A = as_real_array(A, "matrix A (an image, (n, p) or (n, p, channels))", (2, 3))
    k = positive_int(k, "pooling size k")
    n, p = A.shape[:2]
    if k > n or k > p:
        raise ValueError(f"pooling size k = {k} is larger than the matrix ({n}×{p}): no k×k block")
    rows, cols = n // k, p // k
    A = A[: rows * k, : cols * k]  # the leftover rows and columns are dropped
    B = A.reshape(rows, k, cols, k, *A.shape[2:])
    return jnp.moveaxis(B, 2, 1)  # (rows, cols, k, k, ...) as in the book's transpose (0, 2, 1, 3)


def max_pool(A: ArrayLike, k: int) -> Array:
    """Max-pooling of size k (L6563, program L7088–7095): the maximum of each k × k block.

    >>> A = [[16, 23, 22, 21, 12, 13], [0, 5, 18, 2, 17, 15],
    ...      [10, 20, 4, 9, 7, 8], [11, 14, 1, 19, 6, 3]]
    >>> max_pool(A, 2).tolist()
    [[23, 22, 17], [20, 19, 8]]
    """
    return _blocks(A, k).max(axis=(2, 3))


def average_pool(A: ArrayLike, k: int) -> Array:
    """Average pooling of size k (L6567, program L7107–7114): the mean of each k × k block."""
    return _blocks(A, k).mean(axis=(2, 3))


def min_pool(A: ArrayLike, k: int) -> Array:
    """The minimum of each k × k block (not in the book; max_pool(−A) = −min_pool(A))."""
    return _blocks(A, k).min(axis=(2, 3))


def pool_loop(A: ArrayLike, k: int, reduce: Callable[[np.ndarray], float] = np.max) -> Array:
    """Pooling with explicit loops over the blocks (for reading): block (i, j) covers rows
    ik … ik+k−1 and columns jk … jk+k−1 of A; ``reduce`` is ``np.max`` or ``np.mean``."""
    a = np.asarray(as_real_array(A, "matrix A", (2, 3)))
    rows, cols = pooled_shape(a.shape[0], a.shape[1], k)
    if rows == 0 or cols == 0:
        raise ValueError(
            f"pooling size k = {k} is larger than the matrix ({a.shape[0]}×{a.shape[1]})"
        )
    out = np.empty(
        (rows, cols, *a.shape[2:]), dtype=np.result_type(a, np.asarray(reduce(a[:1, :1])))
    )
    for i in range(rows):
        for j in range(cols):
            out[i, j] = reduce(a[i * k : (i + 1) * k, j * k : (j + 1) * k], axis=(0, 1))
    return jnp.asarray(out)


def enlarge(A: ArrayLike, k: int) -> Array:
    """Each coefficient repeated into a k × k block: a pooled image shown at the original size
    (the book's enlarged pictures, L6927)."""
    A = as_real_array(A, "matrix A", (2, 3))
    k = positive_int(k, "enlargement k")
    return jnp.repeat(jnp.repeat(A, k, axis=0), k, axis=1)
