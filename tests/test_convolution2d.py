"""Chapters 12–13 — the book's convolution in two dimensions: book values, the recipe, the
vectorised engine and the libraries (jax.scipy.signal, lax.conv_general_dilated, nnx.Conv) with
channels, stride, padding and dilation, the identities of 2-D convolution, bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.signal as jsignal
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_jax.convolution.conv2d import (
    convolution_matrix2d,
    convolve2d,
    convolve2d_fft,
    convolve2d_loop,
    convolve_channels,
    correlate2d,
    correlate2d_fft,
    correlate_channels,
    lax_convolve_channels,
    odd_motif2d,
    output_shape,
    padding_pairs,
    rot180,
)

MODES = ("same", "full", "valid")
A44 = np.array([[2, 1, 3, 0], [1, 1, 0, 5], [3, 3, 1, 0], [2, 0, 0, 2]])
M44 = np.array([[1, 0, 2], [2, 1, 0], [1, 0, 3]])


def int_matrices(shapes, lo=-4, hi=4):
    """Integer-valued float32 matrices (exact sums) of a few shapes (few compilations)."""
    return st.sampled_from(shapes).flatmap(
        lambda s: st.lists(st.integers(lo, hi), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
            lambda v, s=s: np.asarray(v, np.float32).reshape(s)
        )
    )


IMAGES = int_matrices([(5, 6)])
MOTIFS = int_matrices([(3, 3), (2, 2), (1, 4)])  # odd, even, mixed


def modes_for(A, M):
    return MODES if M.shape[0] <= A.shape[0] and M.shape[1] <= A.shape[1] else ("same", "full")


# ------------------------------------------------------------------ the book's numbers


@pytest.mark.parametrize("conv", [convolve2d, convolve2d_loop])
def test_book_examples(conv):
    assert conv(A44, M44).tolist() == [
        [5, 9, 10, 0],
        [7, 17, 19, 16],
        [10, 12, 11, 0],
        [5, 10, 13, 5],
    ]
    assert conv(A44, M44, "full").tolist() == [
        [2, 1, 7, 2, 6, 0],
        [5, 5, 9, 10, 0, 10],
        [7, 7, 17, 19, 16, 0],
        [9, 10, 12, 11, 0, 19],
        [7, 5, 10, 13, 5, 0],
        [2, 0, 6, 2, 0, 6],
    ]  # L7074
    assert conv(A44, M44, "valid").tolist() == [[17, 19], [12, 11]]
    A35 = [[2, -1, 7, 3, 0], [2, 0, 0, -2, 1], [-5, 0, -1, -1, 4]]
    M35 = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    assert conv(A35, M35).tolist() == [
        [1, -6, 7, 10, 2],
        [9, 7, 10, 7, 1],
        [-3, 0, 0, -8, 0],
    ]  # L6665
    N16 = np.arange(1, 17).reshape(4, 4)
    assert conv(N16, [[0, 0, 0], [0, 0, 0], [0, 1, 0]]).tolist() == [
        [0, 0, 0, 0],
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
    ]  # L6673
    assert conv(N16, [[0, 0, 0], [0, 0, 1], [0, 0, 0]]).tolist() == [
        [0, 1, 2, 3],
        [0, 5, 6, 7],
        [0, 9, 10, 11],
        [0, 13, 14, 15],
    ]  # L6677
    # Computed (not printed): A * [[1, 2], [3, 4]] with the even-motif rule (L6642).
    assert conv(A44, [[1, 2], [3, 4]]).tolist() == [
        [2, 5, 5, 6],
        [7, 14, 15, 17],
        [6, 16, 11, 17],
        [11, 25, 15, 6],
    ]
    A77 = np.array(
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
    assert conv(A77, [[1, 0, 2], [0, 1, 0], [0, 1, 1]]).tolist()[1] == [0, 1, 4, 4, 5, 2, 2]


def test_book_local_mean_and_motifs(x64):
    mean = convolve2d(np.arange(1.0, 26).reshape(5, 5), np.full((3, 3), 1 / 9))
    np.testing.assert_allclose(mean[0], [16 / 9, 3, 33 / 9, 39 / 9, 28 / 9], rtol=1e-14)
    # L6686 truncates to two decimals: the printed values are the exact ones, truncated.
    assert np.floor(np.asarray(mean[4]) * 100 + 1e-9).tolist() == [844, 1300, 1366, 1433, 977]
    assert rot180(M44).tolist() == [[3, 0, 1], [0, 1, 2], [2, 0, 1]]  # L6630
    assert odd_motif2d([[1, 2], [3, 4]]).tolist() == [[0, 0, 0], [0, 1, 2], [0, 3, 4]]  # L6644
    assert rot180(odd_motif2d([[1, 2], [3, 4]])).tolist() == [[4, 3, 0], [2, 1, 0], [0, 0, 0]]
    # The authors' correlation example (computed, not in the book's text).
    A = np.arange(1, 17).reshape(4, 4)
    assert correlate2d(A, np.arange(1, 10).reshape(3, 3)).tolist() == [
        [111, 178, 217, 145],
        [231, 348, 393, 252],
        [363, 528, 573, 360],
        [197, 274, 295, 175],
    ]


def test_recipe_equals_scipy_on_every_small_shape():
    from scipy import signal

    rng = np.random.default_rng(0)
    for n, p in [(1, 1), (1, 4), (3, 2), (4, 5)]:
        for kh in range(1, 5):
            for kw in range(1, 5):
                A, M = rng.integers(-5, 6, (n, p)), rng.integers(-5, 6, (kh, kw))
                for mode in modes_for(A, M):
                    np.testing.assert_array_equal(
                        convolve2d_loop(A, M, mode), signal.convolve2d(A, M, mode)
                    )


# ------------------------------------------------------------------ against the libraries


@given(IMAGES, MOTIFS)
def test_convolve2d_equals_libraries(A, M):
    for mode in modes_for(A, M):
        ours = convolve2d(A, M, mode)
        np.testing.assert_array_equal(ours, jsignal.convolve2d(A, M, mode=mode))
        np.testing.assert_array_equal(ours, convolve2d_loop(A, M, mode))
        np.testing.assert_allclose(convolve2d_fft(A, M, mode), ours, atol=1e-3)
        # The 2-D correlation is scipy's correlate2d in every mode (even motifs included); the
        # book's correlation (convolution with the turned motif, the extra zero top / left) is
        # jax.scipy.signal.correlate, the n-dimensional function.
        np.testing.assert_array_equal(correlate2d(A, M, mode), jsignal.correlate2d(A, M, mode=mode))
        book = padding_pairs(mode, M.shape)
        np.testing.assert_array_equal(
            correlate2d(A, M, padding=book), jsignal.correlate(A, M, mode=mode)
        )


channel_cases = st.tuples(
    st.sampled_from([(5, 6), (7, 4)]),  # n, p
    st.sampled_from([(1, 1), (2, 3), (3, 2)]),  # k input channels, ℓ motifs
    st.sampled_from([(3, 3), (2, 3), (1, 1)]),  # motif size
    st.sampled_from([1, 2, (1, 2)]),  # stride
    st.sampled_from([1, 2]),  # dilation
    st.sampled_from(["same", "full", "valid", ((1, 0), (0, 2)), 1]),  # padding
    st.integers(0, 2**16),  # data seed
)


def check_channels_case(case, *, all_libraries: bool) -> None:
    (n, p), (k, l), (kh, kw), stride, dilation, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (2, n, p, k)).astype(np.float32)
    motifs = rng.integers(-3, 4, (kh, kw, k, l)).astype(np.float32)
    d = (dilation, dilation)
    try:
        ours = convolve_channels(x, motifs, stride=stride, padding=padding, dilation=dilation)
    except ValueError as err:  # the dilated motif is larger than the input in valid mode
        assert "larger than the input" in str(err) and padding == "valid"
        return
    pads = padding_pairs(padding, (kh, kw), d)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    # The library call written out: the book's convolution is XLA's correlation by the turned motif.
    ref = jax.lax.conv_general_dilated(
        x,
        motifs[::-1, ::-1],
        s,
        pads,
        rhs_dilation=d,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    np.testing.assert_array_equal(ours, ref)
    assert ours.shape[1:3] == output_shape((n, p), (kh, kw), padding, stride, dilation)
    if not all_libraries:
        return
    np.testing.assert_array_equal(
        ours, lax_convolve_channels(x, motifs, stride=stride, padding=padding, dilation=dilation)
    )
    conv = nnx.Conv(
        k,
        l,
        (kh, kw),
        strides=s,
        padding=pads,
        kernel_dilation=d,
        use_bias=False,
        precision=jax.lax.Precision.HIGHEST,
        rngs=nnx.Rngs(0),
    )
    conv.kernel[...] = jnp.asarray(motifs[::-1, ::-1])
    np.testing.assert_array_equal(ours, conv(x))
    # Correlation is what the libraries compute directly: with the same virtual zeros, the
    # convolution by the turned motif; unbatched input gives the same.
    np.testing.assert_array_equal(
        correlate_channels(x, motifs[::-1, ::-1], stride=stride, padding=pads, dilation=dilation),
        ours,
    )
    if padding in ("same", "valid"):  # the correlation's modes are XLA's SAME and VALID
        np.testing.assert_array_equal(
            correlate_channels(x, motifs, stride=stride, padding=padding, dilation=dilation),
            jax.lax.conv_general_dilated(
                x,
                motifs,
                s,
                padding.upper(),
                rhs_dilation=d,
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
                precision=jax.lax.Precision.HIGHEST,
            ),
        )
    np.testing.assert_array_equal(
        convolve_channels(x[0], motifs, stride=stride, padding=padding, dilation=dilation), ours[0]
    )


@settings(max_examples=12)  # each example compiles new programs; the slow test below runs more
@given(channel_cases)
def test_channels_equal_lax_conv_general_dilated(case):
    check_channels_case(case, all_libraries=False)


@pytest.mark.parametrize(
    "case",
    [
        ((5, 6), (2, 3), (3, 3), 2, 1, "same", 1),
        ((7, 4), (3, 2), (2, 3), (1, 2), 2, ((1, 0), (0, 2)), 2),
    ],
)
def test_channels_equal_nnx_conv_and_correlation(case):
    check_channels_case(case, all_libraries=True)


@pytest.mark.slow
@settings(max_examples=100)
@given(channel_cases)
def test_channels_equal_every_library_many_cases(case):
    check_channels_case(case, all_libraries=True)


# Even sides (the issue: where the extra virtual zero of "same" goes), mixed, and odd ones.
SAME_MOTIFS = [(2, 2), (4, 4), (2, 3), (3, 2), (1, 4), (3, 3), (1, 1), (3, 5)]


@pytest.mark.parametrize("shape", [(5, 6), (4, 4)])
def test_correlate2d_same_equals_scipy_and_lax_for_even_motifs(shape):
    from scipy import signal

    rng = np.random.default_rng(1)
    A = rng.integers(-5, 6, shape).astype(np.float32)
    for kh, kw in SAME_MOTIFS:
        M = rng.integers(-5, 6, (kh, kw)).astype(np.float32)
        ours = correlate2d(A, M)  # "same": the extra zero at the bottom / on the right
        np.testing.assert_array_equal(ours, signal.correlate2d(A, M, "same"))
        if kh <= A.shape[0] and kw <= A.shape[1]:  # jax.scipy refuses a motif wider than A
            np.testing.assert_array_equal(ours, jsignal.correlate2d(A, M, mode="same"))
        lax_same = jax.lax.conv_general_dilated(
            A[None, None], M[None, None], (1, 1), "SAME", precision=jax.lax.Precision.HIGHEST
        )[0, 0]
        np.testing.assert_array_equal(ours, lax_same)
        np.testing.assert_allclose(correlate2d_fft(A, M), ours, atol=1e-3)
        # The book's correlation (convolve2d(f, retourner(g), 'same'), L7315–7348): the extra
        # zero on top / on the left, scipy.signal.correlate's centring; the same for odd sides.
        book = convolve2d(A, rot180(M))
        np.testing.assert_array_equal(book, signal.correlate(A, M, "same"))
        np.testing.assert_array_equal(correlate2d(A, M, padding=padding_pairs("same", M.shape)), book)
        if kh % 2 and kw % 2:
            np.testing.assert_array_equal(ours, book)
        # The convolution keeps the book's rule (L6642) = scipy.signal.convolve2d.
        np.testing.assert_array_equal(convolve2d(A, M), signal.convolve2d(A, M, "same"))


@pytest.mark.parametrize(
    "size, kernel, stride, dilation",
    [
        ((5, 6), (2, 2), 1, 1),
        ((6, 5), (4, 4), 1, 1),
        ((7, 4), (2, 3), 2, 1),
        ((6, 7), (2, 2), (1, 2), 2),
        ((4, 6), (3, 3), 2, 1),  # odd motif, stride 2 on an even side: XLA centres the windows
        ((5, 6), (3, 3), 1, 1),
        ((5, 5), (3, 3), 1, 2),
    ],
)
def test_correlate_channels_same_equals_nnx_conv_and_lax_same(size, kernel, stride, dilation):
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, (2, *size, 3)).astype(np.float32)
    W = rng.integers(-3, 4, (*kernel, 3, 2)).astype(np.float32)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = (dilation, dilation)
    ours = correlate_channels(x, W, stride=stride, dilation=dilation)  # padding="same"
    lax_same = jax.lax.conv_general_dilated(
        x,
        W,
        s,
        "SAME",
        rhs_dilation=d,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    np.testing.assert_array_equal(ours, lax_same)
    conv = nnx.Conv(
        3,
        2,
        kernel,
        strides=s,
        padding="SAME",
        kernel_dilation=d,
        use_bias=False,
        precision=jax.lax.Precision.HIGHEST,
        rngs=nnx.Rngs(0),
    )
    conv.kernel[...] = jnp.asarray(W)  # the motif itself: nnx.Conv correlates
    np.testing.assert_array_equal(ours, conv(x))
    np.testing.assert_array_equal(correlate_channels(x[0], W, stride=stride, dilation=dilation), ours[0])
    spans = [dd * (k - 1) + 1 for k, dd in zip(kernel, d, strict=True)]
    xla_pads = tuple(tuple(p) for p in jax.lax.padtype_to_pads(size, spans, s, "SAME"))
    assert padding_pairs("same", kernel, d, correlation=True, shape=size, stride=s) == xla_pads
    assert ours.shape[1:3] == output_shape(size, kernel, "same", stride, dilation)


def test_large_motif_loop_path_equals_fft():
    # Above 256 taps the engine loops over taps (fori_loop) instead of unrolling.
    key_a, key_m = jax.random.split(jax.random.key(0))
    A = jax.random.normal(key_a, (24, 26))
    M = jax.random.normal(key_m, (17, 18))
    for mode in MODES:
        np.testing.assert_allclose(convolve2d(A, M, mode), convolve2d_fft(A, M, mode), atol=2e-4)
        np.testing.assert_allclose(correlate2d(A, M, mode), correlate2d_fft(A, M, mode), atol=2e-4)


# ------------------------------------------------------------ identities (inventory §Convolution)


@given(int_matrices([(4, 3)]), int_matrices([(3, 3), (2, 2)]), int_matrices([(3, 3), (1, 2)]))
def test_full_convolution_is_commutative_and_associative(A, M, N):
    np.testing.assert_array_equal(convolve2d(A, M, "full"), convolve2d(M, A, "full"))
    np.testing.assert_array_equal(
        convolve2d(convolve2d(A, M, "full"), N, "full"),
        convolve2d(A, convolve2d(M, N, "full"), "full"),
    )  # L7078–7080
    # Correlation satisfies corr(corr(A, M), N) = corr(A, M ∗̃ N) instead.
    np.testing.assert_array_equal(
        correlate2d(correlate2d(A, M, "full"), N, "full"),
        correlate2d(A, convolve2d(M, N, "full"), "full"),
    )
    # Turning: rot180 is an involution and commutes with the full convolution.
    np.testing.assert_array_equal(rot180(rot180(M)), M)
    np.testing.assert_array_equal(
        rot180(convolve2d(A, M, "full")), convolve2d(rot180(A), rot180(M), "full")
    )
    assert float(convolve2d(A, M, "full").sum()) == float(A.sum() * M.sum())


def test_correlation_is_not_associative_and_turning_is_not_transposing():
    A = np.arange(12.0).reshape(3, 4)
    M = np.array([[1.0, 2, 0], [0, 1, 3], [2, 0, 1]])
    N = np.array([[0.0, 1], [2, 5]])
    left = correlate2d(correlate2d(A, M, "full"), N, "full")
    right = correlate2d(A, correlate2d(M, N, "full"), "full")
    assert not np.array_equal(left, right)  # L7084
    assert not np.array_equal(rot180(M), M.T)  # L6638


@given(
    int_matrices([(5, 5)]), int_matrices([(5, 5)]), MOTIFS, st.integers(-3, 3), st.integers(-3, 3)
)
def test_convolution_is_bilinear(A1, A2, M, a, b):
    for mode in MODES:
        np.testing.assert_array_equal(
            convolve2d(a * A1 + b * A2, M, mode),
            a * convolve2d(A1, M, mode) + b * convolve2d(A2, M, mode),
        )
    M2 = np.roll(M, 1, axis=1)
    np.testing.assert_array_equal(
        convolve2d(A1, a * M + b * M2), a * convolve2d(A1, M) + b * convolve2d(A1, M2)
    )


@given(IMAGES, MOTIFS, st.integers(0, 2), st.integers(0, 2))
def test_full_convolution_is_shift_equivariant(A, M, r, c):
    shifted = np.pad(A, ((r, 0), (c, 0)))
    np.testing.assert_array_equal(
        convolve2d(shifted, M, "full"), np.pad(convolve2d(A, M, "full"), ((r, 0), (c, 0)))
    )


@given(IMAGES, MOTIFS)
def test_convolution_is_a_doubly_block_toeplitz_matrix(A, M):
    for mode in modes_for(A, M):
        T = convolution_matrix2d(M, A.shape, mode)
        out = convolve2d(A, M, mode)
        np.testing.assert_array_equal((T @ A.reshape(-1)).reshape(out.shape), out)


@pytest.mark.parametrize(
    "M", [[[1.0, -2, 0], [3, 1, -1], [0, 2, 1]], [[1.0, -2], [3, 1]], [[1.0, -2, 2], [3, 1, -1]]]
)
def test_jacobian_is_the_toeplitz_matrix_and_adjoint_is_correlation(M):
    # The adjoint of the book's "same" convolution is the libraries' "same" correlation, for
    # even motifs too: the extra zero moves from top / left to bottom / right.
    A = jnp.arange(20.0).reshape(4, 5) % 7 - 3
    M = jnp.array(M)
    adjoint = {"same": "same", "full": "valid", "valid": "full"}
    for mode in MODES:
        T = convolution_matrix2d(M, A.shape, mode)
        jac = jax.jit(jax.jacobian(lambda X, m=mode: convolve2d(X, M, m)))(A)
        np.testing.assert_array_equal(jac.reshape(T.shape), T)
        out, vjp = jax.vjp(lambda X, m=mode: convolve2d(X, M, m), A)
        Y = jnp.arange(out.size, dtype=jnp.float32).reshape(out.shape) % 5 - 2
        (grad,) = vjp(Y)
        np.testing.assert_array_equal(grad, correlate2d(Y, M, adjoint[mode]))  # the adjoint
        np.testing.assert_array_equal(grad, (T.T @ Y.reshape(-1)).reshape(A.shape))


@given(IMAGES, MOTIFS)
def test_modes_nest_even_rule_and_correlation(A, M):
    kh, kw = M.shape
    full = np.asarray(convolve2d(A, M, "full"))
    a, b = (kh - 1) // 2, (kw - 1) // 2
    np.testing.assert_array_equal(convolve2d(A, M), full[a : a + A.shape[0], b : b + A.shape[1]])
    np.testing.assert_array_equal(
        convolve2d(A, M, "valid"), full[kh - 1 : A.shape[0], kw - 1 : A.shape[1]]
    )
    np.testing.assert_array_equal(convolve2d(A, M), convolve2d(A, odd_motif2d(M)))  # L6642
    # The book's correlation is the convolution by the turned motif (L7344) with the book's
    # virtual zeros; correlate2d's "same" is cut from the full correlation ⌊K/2⌋ in (XLA, scipy).
    book = padding_pairs("same", M.shape)
    np.testing.assert_array_equal(correlate2d(A, M, padding=book), convolve2d(A, rot180(M)))
    full_corr = np.asarray(correlate2d(A, M, "full"))
    np.testing.assert_array_equal(
        correlate2d(A, M), full_corr[kh // 2 : kh // 2 + A.shape[0], kw // 2 : kw // 2 + A.shape[1]]
    )
    if kh % 2 and kw % 2:
        np.testing.assert_array_equal(correlate2d(A, M), convolve2d(A, rot180(M)))


@given(IMAGES, st.integers(-3, 3))
def test_homothety_and_translations(A, k):
    np.testing.assert_array_equal(convolve2d(A, [[k]]), k * A)
    np.testing.assert_array_equal(convolve2d(A, [[0, 0, 0], [0, k, 0], [0, 0, 0]]), k * A)
    down = [[0, 0, 0], [0, 0, 0], [0, 1, 0]]
    right = [[0, 0, 0], [0, 0, 1], [0, 0, 0]]
    np.testing.assert_array_equal(
        convolve2d(A, down), np.vstack([np.zeros((1, A.shape[1])), A[:-1]])
    )
    np.testing.assert_array_equal(
        convolve2d(A, right), np.hstack([np.zeros((A.shape[0], 1)), A[:, :-1]])
    )


@given(st.integers(0, 2**16))
def test_several_channels_is_the_sum_of_2d_convolutions(seed):
    # L6762–6780: (n, p, k) with ℓ motifs (3, 3, k) → (n, p, ℓ), channel o = Σ_c A_c * M_{c,o}.
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (5, 6, 3)).astype(np.float32)
    motifs = rng.integers(-3, 4, (3, 3, 3, 2)).astype(np.float32)
    out = convolve_channels(x, motifs)
    assert out.shape == (5, 6, 2)
    for o in range(2):
        np.testing.assert_array_equal(
            out[..., o], sum(convolve2d(x[..., c], motifs[:, :, c, o]) for c in range(3))
        )
    np.testing.assert_array_equal(convolve_channels(x, motifs[..., 0]), out[..., 0])


def test_template_matching_peak_is_at_the_aligned_position():
    g = np.array([[1.0, -2, 0], [3, 1, 1]])
    f = np.pad(g, ((4, 2), (1, 5))).astype(np.float32)
    h = np.asarray(correlate2d(f, g, "valid"))
    assert np.unravel_index(np.argmax(h), h.shape) == (4, 1) and h.max() == (g * g).sum()


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs():
    with pytest.raises(ValueError, match="larger than the input"):
        convolve2d(np.ones((2, 5)), np.ones((3, 3)), "valid")
    with pytest.raises(ValueError, match="valid mode needs a motif no larger"):
        convolve2d_loop(np.ones((2, 5)), np.ones((3, 3)), "valid")
    with pytest.raises(ValueError, match="valid mode needs a motif no larger"):
        convolve2d_fft(np.ones((2, 5)), np.ones((3, 3)), "valid")
    with pytest.raises(
        ValueError, match=r"matrix A \(a 2-D image\) must be 2-D, got shape \(3, 4, 3\)"
    ):
        convolve2d(np.ones((3, 4, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="must be 2-D, got shape"):
        convolve2d(np.ones(5), np.ones((3, 3)))
    with pytest.raises(ValueError, match="motif M must be 2-D"):
        convolve2d(np.ones((4, 4)), np.ones(3))
    with pytest.raises(ValueError, match="mismatched channels: the input has 3 channels"):
        convolve_channels(np.ones((5, 5, 3)), np.ones((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="mismatched channels"):
        lax_convolve_channels(np.ones((5, 5, 1)), np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="stride must be ≥ 1, got 0"):
        convolve2d(np.ones((4, 4)), np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="stride must be ≥ 1, got -2"):
        convolve_channels(np.ones((4, 4, 1)), np.ones((3, 3, 1)), stride=(1, -2))
    with pytest.raises(ValueError, match="dilation must be ≥ 1"):
        convolve2d(np.ones((4, 4)), np.ones((3, 3)), dilation=0)
    with pytest.raises(ValueError, match="padding must be an integer ≥ 0"):
        convolve2d(np.ones((4, 4)), np.ones((3, 3)), padding=-1)
    with pytest.raises(ValueError, match="mode must be one of"):
        convolve2d(np.ones((4, 4)), np.ones((3, 3)), "wrap")
    with pytest.raises(ValueError, match=r"depends on the input; pass shape=\(rows, columns\)"):
        padding_pairs("same", (3, 3), correlation=True, stride=(2, 2))
    with pytest.raises(ValueError, match="must not be empty"):
        convolve2d(np.ones((0, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="input must be 3-D or 4-D"):
        convolve_channels(np.ones((4, 4)), np.ones((3, 3, 1)))
