"""Chapter 11 (and the 1-D part of 13) — the book's convolution in one dimension: book values,
hand-written versions against the libraries, the identities of convolution, bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.signal as jsignal
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.convolution.conv1d import (
    conv_layer,
    conv_neuron,
    conv_weight_count,
    convolution_matrix,
    convolve,
    convolve_fft,
    convolve_loop,
    convolve_on_z,
    correlate,
    dense_weight_count,
    derivative_motif,
    homothety_motif,
    lax_convolve,
    moving_average_motif,
    odd_motif,
    output_length,
    polynomial_product,
    polynomial_value,
    reverse,
    translation_motif,
)

MODES = ("same", "full", "valid")
# Few distinct lengths: every new shape is a new compilation.
LENGTHS = st.sampled_from([1, 4, 7])
MOTIF_LENGTHS = st.sampled_from([1, 2, 3])


def int_vectors(lengths=LENGTHS, lo=-5, hi=5):
    """Integer-valued float32 vectors: every sum below is exact in float32."""
    return lengths.flatmap(
        lambda n: st.lists(st.integers(lo, hi), min_size=n, max_size=n).map(
            lambda v: np.asarray(v, np.float32)
        )
    )


def modes_for(n: int, size: int) -> tuple[str, ...]:
    return MODES if size <= n else ("same", "full")


# ------------------------------------------------------------------ the book's numbers (ch11, ch13)


@pytest.mark.parametrize("conv", [convolve, convolve_loop])
def test_book_examples(conv):
    assert conv([1, 0, 3, 5, 1], [1, 2, 3]).tolist() == [2, 6, 11, 20, 17]  # L6363
    assert conv([1, 0, 3, 5, 1], [1, 2, 3], "full").tolist() == [1, 2, 6, 11, 20, 17, 3]  # L6481
    assert conv([-1, 5, 7, 3, 2], [4, 5]).tolist() == [-4, 15, 53, 47, 23]  # L6375
    assert conv([-1, 5, 7, 3, 2], [0, 4, 5]).tolist() == [-4, 15, 53, 47, 23]  # L6367
    ramp = jnp.arange(1, 10)
    assert conv(ramp, [2]).tolist() == list(range(2, 20, 2))  # L6413
    assert conv(ramp, [0, 0, 1]).tolist() == list(range(0, 9))  # L6421
    sq = [16, 9, 4, 1, 0, 1, 4, 9, 16]
    assert conv(sq, [0, 1, -1]).tolist() == [16, -7, -5, -3, -1, 1, 3, 5, 7]  # L6429


def test_book_moving_averages(x64):
    f = jnp.array([4.0, 2, 1, 4, 5, 1, 3])
    np.testing.assert_allclose(
        convolve(f, moving_average_motif(3)), np.array([6, 7, 7, 10, 10, 9, 4]) / 3, rtol=1e-14
    )
    # L6385 prints two decimals; L6401 exact values.
    np.testing.assert_allclose(
        convolve(f, moving_average_motif(3)), [2.00, 2.33, 2.33, 3.33, 3.33, 3.00, 1.33], atol=5e-3
    )
    np.testing.assert_allclose(
        convolve(f, moving_average_motif(5)), [1.4, 2.2, 3.2, 2.6, 2.8, 2.6, 1.8], atol=1e-12
    )


def test_book_correlation_and_polynomials():
    assert correlate([1, 0, 3, 5, 1], [1, 2, 3]).tolist() == [2, 10, 21, 16, 7]  # L7304
    assert polynomial_product([1, 2, 3, 4], [5, 6, 7]).tolist() == [5, 16, 34, 52, 45, 28]  # L7258
    np.testing.assert_array_equal(
        polynomial_product([1, 2, 3, 4], [5, 6, 7]),
        jnp.polymul(jnp.array([1, 2, 3, 4]), jnp.array([5, 6, 7])),
    )


def test_book_z_definition_and_neuron():
    h, start = convolve_on_z([1, 0, 3, 5, 1], [1, 2, 3], f_start=0, g_start=-1)  # L6475–6481
    assert start == -1 and int(h[0 - start]) == 2 and int(h[1 - start]) == 6
    assert int(conv_neuron([1, 0, 3], [1, 2, 3])) == 1 * 3 + 0 * 2 + 3 * 1  # s = x c + y b + z a
    assert float(conv_neuron([1.0, 0, 3], [1.0, 2, 3], jnp.tanh)) == pytest.approx(np.tanh(6.0))
    assert conv_layer([1, 0, 3, 5, 1], [1, 2, 3]).tolist() == [2, 6, 11, 20, 17]
    assert dense_weight_count(100) == 10_000 and conv_weight_count(3) == 3  # L6454


def test_motif_helpers():
    assert odd_motif([4, 5]).tolist() == [0, 4, 5] and odd_motif([1, 2, 3]).tolist() == [1, 2, 3]
    assert reverse([1, 2, 3]).tolist() == [3, 2, 1]
    assert homothety_motif(2).tolist() == [2] and translation_motif().tolist() == [0, 0, 1]
    assert derivative_motif().tolist() == [0, 1, -1]
    assert [output_length(7, 3, m) for m in MODES] == [7, 9, 5]


# ------------------------------------------------------------------ against the libraries


def test_recipe_equals_scipy_on_every_small_shape():
    # The loop version runs without compiling: sweep every length pair, odd and even motifs.
    from scipy import signal

    rng = np.random.default_rng(0)
    for n in range(1, 8):
        for size in range(1, 6):
            f, g = rng.integers(-5, 6, n), rng.integers(-5, 6, size)
            for mode in modes_for(n, size):
                np.testing.assert_array_equal(
                    convolve_loop(f, g, mode), signal.convolve(f, g, mode)
                )


@given(int_vectors(), int_vectors(MOTIF_LENGTHS))
def test_convolve_equals_libraries(f, g):
    for mode in modes_for(len(f), len(g)):
        ours = convolve(f, g, mode)
        np.testing.assert_array_equal(ours, jsignal.convolve(f, g, mode=mode))
        np.testing.assert_array_equal(ours, convolve_loop(f, g, mode))
        if len(f) >= len(g):  # jnp.convolve swaps its arguments otherwise (numpy's rule)
            np.testing.assert_array_equal(ours, jnp.convolve(f, g, mode=mode))
        np.testing.assert_array_equal(correlate(f, g, mode), jsignal.correlate(f, g, mode=mode))


@given(
    int_vectors(st.sampled_from([5, 9])),
    int_vectors(MOTIF_LENGTHS),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 2]),
    st.sampled_from(["same", "full", (0, 0), (2, 1)]),
)
def test_convolve_equals_lax_with_stride_dilation_padding(f, g, stride, dilation, padding):
    kwargs = {"stride": stride, "dilation": dilation}
    if isinstance(padding, str):
        kwargs["mode"] = padding
    else:
        kwargs["padding"] = padding
    span = dilation * (len(g) - 1) + 1
    if padding == (0, 0) and span > len(f):
        with pytest.raises(ValueError, match="longer than the input"):
            convolve(f, g, **kwargs)
        return
    ours = convolve(f, g, **kwargs)
    # The library call written out: XLA correlates, so the motif is reversed explicitly.
    pad = {"same": (span // 2, (span - 1) // 2), "full": (span - 1, span - 1)}.get(padding, padding)
    ref = jax.lax.conv_general_dilated(
        jnp.asarray(f)[None, None],
        jnp.asarray(g)[::-1][None, None],
        (stride,),
        (pad,),
        rhs_dilation=(dilation,),
    )[0, 0]
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(ours, lax_convolve(f, g, **kwargs))
    np.testing.assert_array_equal(
        convolve(f, g, **kwargs)[::1], convolve(f, g, **{**kwargs, "stride": 1})[::stride]
    )


# ------------------------------------------------------------ identities (inventory §Convolution)


@given(int_vectors(), int_vectors(MOTIF_LENGTHS), int_vectors(MOTIF_LENGTHS))
def test_full_convolution_is_commutative_and_associative(f, g, h):
    np.testing.assert_array_equal(convolve(f, g, "full"), convolve(g, f, "full"))  # L6500
    np.testing.assert_array_equal(
        convolve(convolve(f, g, "full"), h, "full"), convolve(f, convolve(g, h, "full"), "full")
    )  # L7080
    # Reversal: reverse(f ∗̃ g) = reverse(f) ∗̃ reverse(g); mass: Σ(f ∗̃ g) = Σf · Σg.
    np.testing.assert_array_equal(convolve(f, g, "full")[::-1], convolve(f[::-1], g[::-1], "full"))
    assert float(convolve(f, g, "full").sum()) == float(f.sum() * g.sum())


@given(
    int_vectors(st.just(7)),
    int_vectors(st.just(7)),
    int_vectors(MOTIF_LENGTHS),
    st.integers(-3, 3),
    st.integers(-3, 3),
)
def test_convolution_is_bilinear(f1, f2, g, a, b):
    for mode in MODES:
        np.testing.assert_array_equal(
            convolve(a * f1 + b * f2, g, mode),
            a * convolve(f1, g, mode) + b * convolve(f2, g, mode),
        )
    g2 = np.roll(g, 1)
    np.testing.assert_array_equal(
        convolve(f1, a * g + b * g2, "full"),
        a * convolve(f1, g, "full") + b * convolve(f1, g2, "full"),
    )


@given(int_vectors(), int_vectors(MOTIF_LENGTHS), st.integers(0, 3))
def test_full_convolution_is_shift_equivariant(f, g, s):
    shifted = np.concatenate([np.zeros(s, np.float32), f])
    expected = np.concatenate([np.zeros(s, np.float32), np.asarray(convolve(f, g, "full"))])
    np.testing.assert_array_equal(convolve(shifted, g, "full"), expected)


@given(int_vectors(), int_vectors(MOTIF_LENGTHS))
def test_convolution_theorem(f, g):
    for mode in modes_for(len(f), len(g)):
        np.testing.assert_allclose(convolve_fft(f, g, mode), convolve(f, g, mode), atol=1e-3)
    # By hand: the DFTs of the zero-padded lists multiply.
    n = len(f) + len(g) - 1
    spectrum = jnp.fft.fft(f, n) * jnp.fft.fft(g, n)
    np.testing.assert_allclose(jnp.fft.ifft(spectrum).real, convolve(f, g, "full"), atol=1e-3)


@given(int_vectors(), int_vectors(MOTIF_LENGTHS))
def test_convolution_is_a_toeplitz_matrix(f, g):
    for mode in modes_for(len(f), len(g)):
        T = convolution_matrix(g, len(f), mode)
        np.testing.assert_array_equal(T @ f, convolve(f, g, mode))
    # T[n, m] = g[n − m + (L−1)//2] for the same mode: constant along diagonals.
    T = np.asarray(convolution_matrix(g, len(f)))
    assert all(len(set(np.diagonal(T, k))) <= 1 for k in range(-len(f) + 1, len(f)))


@pytest.mark.parametrize(("n", "size"), [(7, 3), (5, 2)])
def test_jacobian_of_convolution_is_its_toeplitz_matrix(n, size):
    f = jnp.arange(n, dtype=jnp.float32)
    g = jnp.arange(1, size + 1, dtype=jnp.float32)
    for mode in MODES:
        jac = jax.jit(jax.jacobian(lambda x, m=mode: convolve(x, g, m)))(f)
        np.testing.assert_array_equal(jac, convolution_matrix(g, n, mode))


@given(int_vectors(st.sampled_from([4, 7])), int_vectors(st.sampled_from([1, 3])))
def test_adjoint_of_convolution_is_correlation(f, g):
    # ⟨f * g, y⟩ = ⟨f, corr(y, g)⟩ and jax.vjp gives the same correlation (odd motifs).
    adjoint = {"same": "same", "full": "valid", "valid": "full"}
    for mode in modes_for(len(f), len(g)):
        out, vjp = jax.vjp(lambda x, m=mode: convolve(x, g, m), f)
        y = np.arange(out.shape[0], dtype=np.float32) - 2
        (grad,) = vjp(jnp.asarray(y))
        np.testing.assert_array_equal(grad, correlate(y, g, adjoint[mode]))
        assert float(jnp.dot(out, y)) == float(jnp.dot(f, correlate(y, g, adjoint[mode])))


@given(int_vectors(), int_vectors(MOTIF_LENGTHS))
def test_correlation_is_convolution_with_the_reversed_motif(f, g):
    for mode in modes_for(len(f), len(g)):
        np.testing.assert_array_equal(correlate(f, g, mode), convolve(f, g[::-1], mode))


def test_correlate_same_even_motifs_numpy_and_xla_centring():
    # "same" with an even motif: numpy / scipy / jnp.correlate put the extra zero on the left (the
    # book's correlation, L7300); XLA's SAME puts it on the right = explicit padding
    # ((L−1)//2, L//2), the adjoint of the book's "same" convolution.
    from scipy import signal

    rng = np.random.default_rng(3)
    for n in (4, 7):
        f = rng.integers(-5, 6, n).astype(np.float32)
        for size in range(1, 5):
            g = rng.integers(-5, 6, size).astype(np.float32)
            ours = correlate(f, g, "same")
            np.testing.assert_array_equal(ours, np.correlate(f, g, "same"))
            np.testing.assert_array_equal(ours, signal.correlate(f, g, "same"))
            np.testing.assert_array_equal(ours, jnp.correlate(f, g, "same"))
            xla = jax.lax.conv_general_dilated(
                f[None, None], g[None, None], (1,), "SAME", precision=jax.lax.Precision.HIGHEST
            )[0, 0]
            xla_pad = ((size - 1) // 2, size // 2)
            np.testing.assert_array_equal(correlate(f, g, padding=xla_pad), xla)
            if size % 2:
                np.testing.assert_array_equal(ours, xla)
            _, vjp = jax.vjp(lambda x, g=g: convolve(x, g, "same"), jnp.asarray(f))
            y = np.arange(n, dtype=np.float32) - 2
            np.testing.assert_array_equal(vjp(jnp.asarray(y))[0], correlate(y, g, padding=xla_pad))


@given(int_vectors(st.sampled_from([4, 7])), int_vectors(MOTIF_LENGTHS))
def test_modes_nest_and_even_motif_rule(f, g):
    size = len(g)
    full = np.asarray(convolve(f, g, "full"))
    start = (size - 1) // 2
    np.testing.assert_array_equal(convolve(f, g, "same"), full[start : start + len(f)])
    if size <= len(f):
        np.testing.assert_array_equal(convolve(f, g, "valid"), full[size - 1 : len(f)])
    if size % 2 == 0:  # L6367: an even motif is the motif with a 0 in front
        np.testing.assert_array_equal(
            convolve(f, g), convolve(f, np.concatenate([[0], g]).astype(np.float32))
        )


@given(int_vectors(st.sampled_from([4, 7])), st.integers(-4, 4))
def test_homothety_translation_derivative(f, k):
    np.testing.assert_array_equal(convolve(f, [k]), k * f)  # L6411
    np.testing.assert_array_equal(convolve(f, [0, k, 0]), k * f)
    np.testing.assert_array_equal(convolve(f, [0, 0, 1]), np.concatenate([[0], f[:-1]]))  # L6417
    # L6425–6431 (book erratum: this is f(n) − f(n−1), not f(n+1) − f(n)).
    np.testing.assert_array_equal(convolve(f, [0, 1, -1]), f - np.concatenate([[0], f[:-1]]))
    np.testing.assert_array_equal(convolve(f, [1, -1], "valid"), np.diff(f))
    # A moving average leaves a constant list unchanged away from the borders.
    np.testing.assert_allclose(
        convolve(np.full(7, 3.0), moving_average_motif(3), "valid"), 3.0, rtol=1e-6
    )


@given(int_vectors(st.sampled_from([2, 4])), int_vectors(st.sampled_from([1, 3])))
def test_polynomial_product_values(p, q):
    xs = jnp.linspace(-2, 2, 9)
    np.testing.assert_allclose(
        polynomial_value(polynomial_product(p, q), xs),
        polynomial_value(p, xs) * polynomial_value(q, xs),
        rtol=1e-5,
        atol=1e-3,
    )


def test_template_matching_peak_is_at_the_aligned_lag():
    # Cauchy–Schwarz: a zero-padded copy of g correlates best with g at the aligned lag, ‖g‖².
    g = np.array([1.0, -2, 3, 1])
    f = np.concatenate([np.zeros(5), g, np.zeros(6)]).astype(np.float32)
    h = correlate(f, g, "valid")
    assert int(jnp.argmax(h)) == 5 and float(h[5]) == float(g @ g)


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs():
    with pytest.raises(ValueError, match="longer than the input"):
        convolve([1, 2], [1, 2, 3], "valid")
    with pytest.raises(ValueError, match="valid mode needs a motif no longer"):
        convolve_loop([1, 2], [1, 2, 3], "valid")
    with pytest.raises(ValueError, match="valid mode needs a motif no longer"):
        convolve_fft([1, 2], [1, 2, 3], "valid")
    with pytest.raises(ValueError, match="mode must be one of"):
        convolve([1, 2, 3], [1], "circular")
    with pytest.raises(ValueError, match="stride must be ≥ 1"):
        convolve([1, 2, 3], [1], stride=0)
    with pytest.raises(ValueError, match="dilation must be ≥ 1"):
        convolve([1, 2, 3], [1], dilation=-1)
    with pytest.raises(TypeError, match="stride must be an integer"):
        convolve([1, 2, 3], [1], stride=1.5)
    with pytest.raises(ValueError, match="input f must be 1-D"):
        convolve([[1, 2], [3, 4]], [1])
    with pytest.raises(ValueError, match="motif g must not be empty"):
        convolve([1, 2], [])
    with pytest.raises(TypeError, match="real numbers"):
        convolve(["a", "b"], [1])
    with pytest.raises(TypeError, match="real numbers"):
        convolve(jnp.array([1 + 1j]), [1])
    with pytest.raises(ValueError, match="padding must be ≥ 0"):
        convolve([1, 2, 3], [1], padding=(-1, 0))
    with pytest.raises(ValueError, match="one input per weight"):
        conv_neuron([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="moving-average length must be ≥ 1"):
        moving_average_motif(0)
