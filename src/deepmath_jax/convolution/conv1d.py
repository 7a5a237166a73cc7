"""Convolution in one dimension — chapter 11 *Convolution : une dimension* (Convolution in one
dimension, book lines 6314–6505), with the 1-D programs of chapter 13 *Convolution avec Python*
(Convolution with Python, L7180–7312).

The book's recipe for the convolution ``f * g`` of a list ``f`` (length N) by a motif ``g``
(length L), L6320–6349:

1. reverse the motif;
2. centre the reversed motif under the input, at the position being computed;
3. multiply term by term and sum — virtual zeros are added left and right of the input.

A motif of even length gets a 0 prepended first (L6367): ``[4, 5]`` is computed as ``[0, 4, 5]``.
The mathematical definition (L6464) is the full convolution on ℤ,
``(f ∗̃ g)(t) = Σ_j f(t − j) g(j)`` (length N + L − 1), and the three modes are sub-lists of it:

- ``"same"``: the book's truncated product ``f * g`` (length N): ``full[(L−1)//2 : (L−1)//2 + N]``
  — the even-motif rule above is exactly this start index;
- ``"full"``: ``f ∗̃ g`` ("convolution étendue", L7196);
- ``"valid"``: no virtual zeros ("convolution restreinte"), ``full[L−1 : N]`` (length N − L + 1).

The correlation (L7297) is the same computation without reversing the motif, so
``correlate(f, g) == convolve(f, reverse(g))`` in every mode — the authors' ``correlation(f, g) =
np.convolve(f, g[::-1], 'same')``. For an even motif its ``"same"`` has the extra virtual zero on
the left of the input, as ``numpy.correlate``, ``scipy.signal.correlate`` and ``jnp.correlate``
(mode ``"same"``); XLA's ``"SAME"`` (``lax.conv_general_dilated``, Flax ``nnx.Conv``, Keras
``Conv1D(padding="same")``) puts it on the right: that one is
``correlate(f, g, padding=((L − 1)//2, L//2))``, the adjoint of ``convolve(·, g, "same")``. (In two
dimensions ``scipy.signal.correlate2d`` follows XLA, and so does
:func:`~deepmath_jax.convolution.conv2d.correlate2d`.)

Two implementations stand side by side: :func:`convolve_loop`, the book's recipe written with
Python loops (for reading and for small lists), and :func:`convolve`, vectorised (sliding windows
times the reversed motif, one matrix–vector product), tested equal to each other and to
``jnp.convolve`` / ``jax.scipy.signal.convolve`` / ``jax.lax.conv_general_dilated``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

Mode = Literal["same", "full", "valid"]
MODES: tuple[str, ...] = ("same", "full", "valid")


# --------------------------------------------------------------------------------------------
# Argument checks shared by the convolution and pooling modules
# --------------------------------------------------------------------------------------------


def as_real_array(x: ArrayLike, name: str, ndim: int | tuple[int, ...] | None = None) -> Array:
    """``jnp.asarray(x)`` after checking it is a non-empty real array of the expected rank."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got a string")
    if isinstance(x, (list, tuple)):  # catch lists of strings before JAX sees them
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = "f"  # ragged or traced: jnp.asarray below gives the error or the array
        if kind in "USO":
            raise TypeError(f"{name} must be an array of real numbers, got {x!r:.60}")
    try:
        a = jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None
    if not (
        jnp.issubdtype(a.dtype, jnp.integer)
        or jnp.issubdtype(a.dtype, jnp.floating)
        or a.dtype == jnp.bool_
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.dtype == jnp.bool_:
        a = a.astype(jnp.int32)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if a.ndim not in allowed:
            ranks = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {ranks}, got shape {tuple(a.shape)} ({a.ndim}-D)")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(a.shape)}")
    return a


def positive_int(value: object, name: str) -> int:
    """``value`` as a Python int ≥ 1, or a clear ``TypeError``/``ValueError``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer ≥ 1, got {value!r}")
    try:
        v = operator.index(value)  # accepts int and integer numpy scalars, refuses 2.0
    except TypeError:
        raise TypeError(f"{name} must be an integer ≥ 1, got {value!r}") from None
    if v < 1:
        raise ValueError(f"{name} must be ≥ 1, got {v}")
    return v


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def mode_padding(size: int, mode: str) -> tuple[int, int]:
    """Virtual zeros (before, after) that the input needs for a motif of ``size`` taps.

    ``same``: ``(size//2, (size−1)//2)`` — the book's centring, with the extra zero of an even
    motif on the left of the input (it is the 0 prepended to the motif, L6367, seen from the
    other side); ``full``: ``size − 1`` on both sides; ``valid``: none.
    """
    check_mode(mode)
    if mode == "same":
        return size // 2, (size - 1) // 2
    if mode == "full":
        return size - 1, size - 1
    return 0, 0


def output_length(n: int, size: int, mode: str) -> int:
    """Length of the output for an input of length ``n``: n, n + size − 1 or n − size + 1."""
    lo, hi = mode_padding(size, mode)
    return n + lo + hi - size + 1


# --------------------------------------------------------------------------------------------
# The book's motifs
# --------------------------------------------------------------------------------------------


def reverse(g: ArrayLike) -> Array:
    """The reversed motif ``[c, b, a]`` of ``[a, b, c]`` (step 1 of the recipe, L6329)."""
    return as_real_array(g, "motif", 1)[::-1]


def odd_motif(g: ArrayLike) -> Array:
    """The book's rule for an even-length motif: prepend one 0 (L6367). Odd motifs are kept."""
    g = as_real_array(g, "motif", 1)
    return g if g.shape[0] % 2 else jnp.concatenate([jnp.zeros((1,), g.dtype), g])


def moving_average_motif(n: int) -> Array:
    """``(1/n)[1, 1, …, 1]``: the moving average on n terms (L6379–6397)."""
    n = positive_int(n, "moving-average length")
    return jnp.full((n,), 1.0 / n)


def homothety_motif(k: float) -> Array:
    """``[k]`` (≡ ``[0, k, 0]``): multiplies every term by k (L6411)."""
    return jnp.asarray([k])


def translation_motif() -> Array:
    """``[0, 0, 1]``: shifts the list one step to the right, a zero entering on the left (L6417)."""
    return jnp.asarray([0, 0, 1])


def derivative_motif() -> Array:
    """``[0, 1, −1]`` (≡ ``[1, −1]``): the discrete derivative (L6425).

    In "same" mode the output at n is ``f(n) − f(n−1)`` (with f(−1) = 0): the book's example
    ``[16, 9, 4, …] * [0, 1, −1] = [16, −7, −5, …]`` starts with 16 = 16 − 0. The book's text
    (L6431) calls it ``f(n+1) − f(n)``; that is the same list read one index later, not the
    value at n — the project follows the mathematics (backward difference).
    """
    return jnp.asarray([0, 1, -1])


# --------------------------------------------------------------------------------------------
# Convolution and correlation
# --------------------------------------------------------------------------------------------


def sliding_windows(
    f: Array, size: int, padding: tuple[int, int], stride: int = 1, dilation: int = 1
) -> Array:
    """The windows the motif slides over: ``W[t, m] = f_padded[t·stride + m·dilation]``.

    ``f_padded`` is ``f`` with ``padding`` virtual zeros; the result has shape (T, size) with
    T = ⌊(N + lo + hi − dilation·(size − 1) − 1) / stride⌋ + 1 (im2col in one dimension).
    """
    lo, hi = padding
    fp = jnp.pad(f, (lo, hi))
    span = dilation * (size - 1) + 1
    n_out = (fp.shape[0] - span) // stride + 1
    idx = np.arange(n_out)[:, None] * stride + np.arange(size)[None, :] * dilation
    return fp[idx]


@functools.partial(jax.jit, static_argnames=("pad", "stride", "dilation"))
def _windows_times(f: Array, w: Array, pad: tuple[int, int], stride: int, dilation: int) -> Array:
    """Every window of the padded input times the weights w (one matrix–vector product)."""
    return sliding_windows(f, w.shape[0], pad, stride, dilation) @ w


def _prepare(f: ArrayLike, g: ArrayLike, mode: str, stride: int, dilation: int, padding):
    f = as_real_array(f, "input f", 1)
    g = as_real_array(g, "motif g", 1)
    stride = positive_int(stride, "stride")
    dilation = positive_int(dilation, "dilation")
    span = dilation * (g.shape[0] - 1) + 1
    if padding is None:
        check_mode(mode)
        pad = mode_padding(span, mode)
    else:
        pad = _explicit_padding(padding)
    if f.shape[0] + pad[0] + pad[1] < span:
        where = f"mode {mode!r}" if padding is None else f"padding {pad}"
        raise ValueError(
            f"the motif (length {g.shape[0]}, span {span} with dilation {dilation}) is longer "
            f"than the input (length {f.shape[0]}, {f.shape[0] + pad[0] + pad[1]} with the "
            f"virtual zeros of {where}): no output position; use mode 'same' or 'full'"
        )
    return f, g, pad, stride, dilation


def _explicit_padding(padding) -> tuple[int, int]:
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        lo = hi = int(padding)
    else:
        try:
            lo, hi = (operator.index(p) for p in padding)
        except (TypeError, ValueError):
            raise TypeError(
                f"padding must be an int or a pair (before, after), got {padding!r}"
            ) from None
    if lo < 0 or hi < 0:
        raise ValueError(f"padding must be ≥ 0, got ({lo}, {hi})")
    return lo, hi


def convolve(
    f: ArrayLike,
    g: ArrayLike,
    mode: Mode = "same",
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: int | tuple[int, int] | None = None,
) -> Array:
    """The book's convolution ``f * g`` (L6320–6349), vectorised.

    ``out[t] = Σ_m f_padded[t·stride + m·dilation] · g[L−1−m]``: every window of the input
    times the reversed motif (one matrix–vector product). ``mode`` is ``"same"`` (the book's
    truncated product, L6349; even motifs follow the rule of L6367), ``"full"`` (∗̃, L6464,
    L7196) or ``"valid"`` (no virtual zeros). ``padding`` (an int or a pair) overrides the
    mode's virtual zeros; ``stride`` keeps every stride-th output of the stride-1 result;
    ``dilation`` spaces the motif's taps (the book defines neither: they are the library
    parameters, checked against ``jax.lax.conv_general_dilated``).

    >>> convolve([1, 0, 3, 5, 1], [1, 2, 3]).tolist()
    [2, 6, 11, 20, 17]
    """
    f, g, pad, stride, dilation = _prepare(f, g, mode, stride, dilation, padding)
    return _windows_times(f, g[::-1], pad, stride, dilation)


def correlate(
    f: ArrayLike,
    g: ArrayLike,
    mode: Mode = "same",
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: int | tuple[int, int] | None = None,
) -> Array:
    """Correlation of f with g (L7297–7304): the convolution without reversing the motif.

    ``out[t] = Σ_m f_padded[t·stride + m·dilation] · g[m]`` with the same windows as
    :func:`convolve`, so ``correlate(f, g) == convolve(f, reverse(g))`` in every mode. Every mode
    equals ``numpy.correlate`` / ``scipy.signal.correlate`` / ``jnp.correlate`` (the book's
    correlation, L7300); for an even motif ``"same"`` is one step away from XLA's ``"SAME"``
    (extra zero left here, right there), which is ``padding=((L − 1)//2, L//2)``.

    >>> correlate([1, 0, 3, 5, 1], [1, 2, 3]).tolist()
    [2, 10, 21, 16, 7]
    """
    f, g, pad, stride, dilation = _prepare(f, g, mode, stride, dilation, padding)
    return _windows_times(f, g, pad, stride, dilation)


def convolve_loop(f: ArrayLike, g: ArrayLike, mode: Mode = "same") -> Array:
    """The book's recipe, step by step with Python loops (L6320–6349, L6367).

    Reverse the (odd-length) motif, add virtual zeros around the input, centre the reversed
    motif under each position, multiply term by term and sum. Slow: for reading and for the
    book's small lists; :func:`convolve` is the same function, vectorised.
    """
    f = np.asarray(as_real_array(f, "input f", 1))
    g0 = as_real_array(g, "motif g", 1)
    check_mode(mode)
    if mode == "valid" and g0.shape[0] > f.shape[0]:
        raise ValueError(
            f"valid mode needs a motif no longer than the input: motif length {g0.shape[0]} > "
            f"input length {f.shape[0]}"
        )
    g = np.asarray(odd_motif(g0))  # the even-length rule (L6367)
    reversed_motif = g[::-1]  # step 1 (L6329)
    half = len(g) // 2
    n = len(f)
    # Positions (indices of f) where the centre of the reversed motif is placed.
    if mode == "same":
        centres = range(n)
    elif mode == "full":  # every position where the motif still meets the input
        centres = range(-((len(g0) - 1) // 2), n + len(g0) // 2)
    else:  # valid: the whole (original) motif lies over the input
        centres = range(len(g0) // 2, n - (len(g0) - 1) // 2)
    out = []
    for c in centres:
        s = 0
        for m in range(len(g)):
            i = c - half + m  # the input index facing the m-th term of the reversed motif
            x = f[i] if 0 <= i < n else 0  # virtual zeros outside the input (L6344)
            s = s + x * reversed_motif[m]
        out.append(s)
    dtype = jnp.result_type(f.dtype, g0.dtype)
    return jnp.asarray(np.asarray(out, dtype=np.dtype(dtype)))


def convolve_on_z(
    f: ArrayLike, g: ArrayLike, f_start: int = 0, g_start: int = 0
) -> tuple[Array, int]:
    """The convolution of two sequences on ℤ (L6464–6473): ``(f ∗̃ g)(n) = Σ_k f(n − k) g(k)``.

    f is zero except ``f(f_start), f(f_start + 1), …`` (the given list), g likewise from
    ``g_start``. Returns ``(h, h_start)``: the non-zero stretch of f ∗̃ g and the index of its
    first term, ``h_start = f_start + g_start``. With f(0…4) = [1, 0, 3, 5, 1] and
    g(−1…1) = [1, 2, 3] (L6475): h = [1, 2, 6, 11, 20, 17, 3] from rank −1, so (f ∗̃ g)(0) = 2.
    Changing the starts only shifts the result (L6481).
    """
    h = convolve(f, g, "full")
    return h, int(f_start) + int(g_start)


def convolve_fft(f: ArrayLike, g: ArrayLike, mode: Mode = "full") -> Array:
    """Convolution through the Fourier transform: ``f ∗̃ g = IFFT(FFT(f) · FFT(g))``.

    The convolution theorem (standard; the book does not state it): zero-pad both lists to a
    length ≥ N + L − 1, multiply their discrete Fourier transforms, transform back; then take
    the mode's sub-list. Fast for long motifs (radar pulse, L7265).
    """
    f = as_real_array(f, "input f", 1)
    g = as_real_array(g, "motif g", 1)
    check_mode(mode)
    n, size = f.shape[0], g.shape[0]
    if mode == "valid" and size > n:
        raise ValueError(f"valid mode needs a motif no longer than the input: {size} > {n}")
    length = n + size - 1
    nfft = 1 << (length - 1).bit_length()
    dtype = jnp.result_type(f.dtype, g.dtype, jnp.float32)
    full = jnp.fft.irfft(
        jnp.fft.rfft(f.astype(dtype), nfft) * jnp.fft.rfft(g.astype(dtype), nfft), nfft
    )
    full = full[:length].astype(dtype)
    start = {"full": 0, "same": (size - 1) // 2, "valid": size - 1}[mode]
    return full[start : start + output_length(n, size, mode)]


def convolution_matrix(g: ArrayLike, n: int, mode: Mode = "same") -> Array:
    """The matrix T with ``convolve(f, g, mode) == T @ f`` for every f of length n.

    A convolution layer is a linear map (L6742–6749); its matrix is the banded Toeplitz matrix
    ``T[t, i] = g[t − i + start]`` (zero when the index leaves [0, L)), with start = (L−1)//2,
    0 or L−1 for the modes same, full, valid. Every row holds the reversed motif, shifted by
    one column per row.
    """
    g = as_real_array(g, "motif g", 1)
    n = positive_int(n, "input length n")
    check_mode(mode)
    size = g.shape[0]
    if mode == "valid" and size > n:
        raise ValueError(f"valid mode needs a motif no longer than the input: {size} > {n}")
    return _toeplitz(g, n, mode)


@functools.partial(jax.jit, static_argnames=("n", "mode"))
def _toeplitz(g: Array, n: int, mode: str) -> Array:
    size = g.shape[0]
    start = {"full": 0, "same": (size - 1) // 2, "valid": size - 1}[mode]
    t = np.arange(output_length(n, size, mode))[:, None]
    i = np.arange(n)[None, :]
    k = t - i + start
    inside = (k >= 0) & (k < size)
    return jnp.where(jnp.asarray(inside), g[np.clip(k, 0, size - 1)], jnp.zeros((), g.dtype))


# --------------------------------------------------------------------------------------------
# Neuron and layer (L6437–6458), polynomials (L7233–7263)
# --------------------------------------------------------------------------------------------


def conv_neuron(
    inputs: ArrayLike, motif: ArrayLike, activation: Callable[[Array], Array] | None = None
) -> Array:
    """A convolution neuron (L6441–6448): inputs (x, y, z), weights (a, b, c) of the motif.

    ``s = x·c + y·b + z·a`` (the motif is reversed), or ``φ(x·c + y·b + z·a)``.
    """
    x = as_real_array(inputs, "neuron inputs", 1)
    w = as_real_array(motif, "motif", 1)
    if x.shape != w.shape:
        raise ValueError(
            f"a neuron has one input per weight: {x.shape[0]} inputs, {w.shape[0]} weights"
        )
    s = jnp.dot(x, w[::-1])
    return s if activation is None else activation(s)


def conv_layer(
    f: ArrayLike, motif: ArrayLike, activation: Callable[[Array], Array] | None = None
) -> Array:
    """A 1-D convolution layer (L6450–6458): one neuron per input, all sharing the motif's
    weights; the border neurons see virtual zeros. Output ``φ(f * motif)`` (same length)."""
    s = convolve(f, motif, "same")
    return s if activation is None else activation(s)


def dense_weight_count(n: int) -> int:
    """Weights of a fully connected layer of n neurons on an input of length n: n² (L6454)."""
    n = positive_int(n, "n")
    return n * n


def conv_weight_count(motif_length: int = 3) -> int:
    """Weights of a 1-D convolution layer: the motif's length, whatever n (L6454)."""
    return positive_int(motif_length, "motif length")


def polynomial_product(p: ArrayLike, q: ArrayLike) -> Array:
    """Coefficients of P × Q, highest degree first: ``[P × Q] = [P] ∗̃ [Q]`` (L7233–7263).

    >>> polynomial_product([1, 2, 3, 4], [5, 6, 7]).tolist()
    [5, 16, 34, 52, 45, 28]
    """
    return convolve(p, q, "full")


def polynomial_value(coefficients: ArrayLike, x: ArrayLike) -> Array:
    """``P(x)`` for the coefficients ``(a_n, …, a_0)`` (Horner's scheme, ``jnp.polyval``)."""
    return jnp.polyval(as_real_array(coefficients, "coefficients", 1), jnp.asarray(x))


def lax_convolve(
    f: ArrayLike,
    g: ArrayLike,
    mode: Mode = "same",
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: int | tuple[int, int] | None = None,
) -> Array:
    """The library version of :func:`convolve`: ``jax.lax.conv_general_dilated``.

    XLA's convolution is a correlation (it does not reverse the motif, like Keras, L7493), so
    the book's convolution is the library call on the reversed motif, with the mode's padding.
    """
    f, g, pad, stride, dilation = _prepare(f, g, mode, stride, dilation, padding)
    dtype = jnp.result_type(f.dtype, g.dtype, jnp.float32)
    out = jax.lax.conv_general_dilated(
        f.astype(dtype)[None, None, :],
        g[::-1].astype(dtype)[None, None, :],
        window_strides=(stride,),
        padding=(pad,),
        rhs_dilation=(dilation,),
        precision=jax.lax.Precision.HIGHEST,
    )
    return out[0, 0]
