"""Chapters 12–13 — max and average pooling: book values, loops and Flax against the reshape
version, the pooling invariances, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.convolution.pooling import average_pool, enlarge, max_pool, min_pool, pool_loop, pooled_shape
from helpers import assert_float32_close

BOOK = np.array(
    [[16, 23, 22, 21, 12, 13], [0, 5, 18, 2, 17, 15], [10, 20, 4, 9, 7, 8], [11, 14, 1, 19, 6, 3]]
)


def int_images(shapes=((6, 6), (7, 5), (4, 9))):
    return st.sampled_from(list(shapes)).flatmap(
        lambda s: st.lists(st.integers(-9, 9), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
            lambda v, s=s: np.asarray(v, np.float32).reshape(s)
        )
    )


def test_book_values():
    assert max_pool(BOOK, 2).tolist() == [[23, 22, 17], [20, 19, 8]]  # L7103
    assert average_pool(BOOK, 2).tolist() == [[11, 15.75, 14.25], [13.75, 8.25, 6]]  # L7119
    assert pool_loop(BOOK, 2, np.max).tolist() == [[23, 22, 17], [20, 19, 8]]
    assert pool_loop(BOOK, 2, np.mean).tolist() == [[11, 15.75, 14.25], [13.75, 8.25, 6]]
    top = [[3, 5, 0, 1, 1, 0], [2, 1, 4, 3, 2, 7]]  # TikZ pooling example, first row
    assert max_pool(top, 2).tolist() == [[5, 4, 7]] and average_pool(top, 2).tolist() == [
        [2.75, 2, 2.5]
    ]
    assert pooled_shape(100, 80, 4) == (25, 20) and pooled_shape(9, 9, 3) == (3, 3)  # L6792


@given(int_images(), st.sampled_from([1, 2, 3]))
def test_reshape_equals_loops_and_flax(A, k):
    np.testing.assert_array_equal(max_pool(A, k), pool_loop(A, k, np.max))
    # float32 means of k·k terms in other orders, and the division (Σ|terms|: the mean of |A|)
    scale = average_pool(np.abs(A), k)
    assert_float32_close(average_pool(A, k), pool_loop(A, k, np.mean), reduction=k * k + 1,
                         scale=scale)
    x = A[None, :, :, None]
    np.testing.assert_array_equal(
        max_pool(A, k), nnx.max_pool(x, (k, k), (k, k), "VALID")[0, :, :, 0]
    )
    assert_float32_close(average_pool(A, k), nnx.avg_pool(x, (k, k), (k, k), "VALID")[0, :, :, 0],
                         reduction=k * k + 1, scale=scale)


@given(int_images(), st.sampled_from([1, 2, 3]), st.integers(0, 4), st.integers(-5, 5))
def test_pooling_invariances(A, k, c_pos, c):
    n, p = A.shape
    mx, av, mn = max_pool(A, k), average_pool(A, k), min_pool(A, k)
    assert mx.shape == (n // k, p // k)  # leftover rows and columns dropped
    assert np.all(mx >= av - 1e-6) and np.all(av >= mn - 1e-6)
    kept = A[: k * (n // k), : k * (p // k)]
    # the same sum of the kept entries in another order (block by block), each block's mean
    # rounded once, then ×k²: Σ|terms| = Σ|kept|
    assert_float32_close(float(av.sum()) * k * k, float(kept.sum()), reduction=kept.size + 2,
                         scale=float(np.abs(kept).sum()))
    np.testing.assert_array_equal(max_pool(c_pos * A, k), c_pos * mx)  # positively homogeneous
    np.testing.assert_array_equal(max_pool(A + c, k), mx + c)  # commutes with adding a constant
    np.testing.assert_array_equal(max_pool(-A, k), -mn)
    np.testing.assert_array_equal(max_pool(A + np.abs(A), k) >= mx, True)  # monotone
    # linear: k·k terms of |c + 1|·|A|, and c·av + av rounds av, the product and the sum
    assert_float32_close(average_pool(c * A + A, k), c * av + av, reduction=k * k + 1 + 3,
                         scale=(abs(c) + 1) * average_pool(np.abs(A), k))
    if k == 1:
        np.testing.assert_array_equal(mx, A)


@given(int_images([(8, 8), (12, 4)]))
def test_pooling_composes_and_ignores_order_inside_blocks(A):
    np.testing.assert_array_equal(max_pool(max_pool(A, 2), 2), max_pool(A, 4))
    # means of 16 terms in two ways, rounded twice or once (Σ|terms|: the mean of |A|)
    assert_float32_close(average_pool(average_pool(A, 2), 2), average_pool(A, 4),
                         reduction=16 + 2, scale=average_pool(np.abs(A), 4))
    # Swapping the two columns inside every 2×2 block changes nothing.
    swapped = A.reshape(A.shape[0], -1, 2)[:, :, ::-1].reshape(A.shape)
    np.testing.assert_array_equal(max_pool(swapped, 2), max_pool(A, 2))
    assert_float32_close(average_pool(swapped, 2), average_pool(A, 2), reduction=4 + 1,
                         scale=average_pool(np.abs(A), 2))


def test_channels_and_enlarge():
    x = np.arange(2 * 4 * 6, dtype=np.float32).reshape(4, 6, 2)
    out = max_pool(x, 2)
    assert out.shape == (2, 3, 2)
    for c in range(2):
        np.testing.assert_array_equal(out[..., c], max_pool(x[..., c], 2))
    assert enlarge([[1, 2]], 2).tolist() == [[1, 1, 2, 2], [1, 1, 2, 2]]


def test_bad_inputs():
    with pytest.raises(ValueError, match="pooling size k must be ≥ 1, got 0"):
        max_pool(BOOK, 0)
    with pytest.raises(ValueError, match="pooling size k must be ≥ 1, got -2"):
        average_pool(BOOK, -2)
    with pytest.raises(TypeError, match="pooling size k must be an integer"):
        max_pool(BOOK, 2.0)
    with pytest.raises(ValueError, match="larger than the matrix"):
        max_pool(BOOK, 5)
    with pytest.raises(ValueError, match=r"must be 2-D or 3-D, got shape \(6,\)"):
        max_pool(np.arange(6), 2)
    with pytest.raises(ValueError, match="larger than the matrix"):
        pool_loop(BOOK, 7)
