"""Convolution in two dimensions — chapter 12 *Convolution* (book lines 6507–7013) and the
matrix programs of chapter 13 *Convolution avec Python* (Convolution with Python, L7015–7084).

The book's ``A * M`` of a matrix A (n × p) by a motif M (L6579–6601):

1. turn M by 180° ("retourner", L6591–6595: m_ij ↦ m_{4−i, 4−j} for a 3 × 3 motif — not the
   transpose, L6638);
2. centre the turned motif on the coefficient being computed;
3. multiply each coefficient of A by the facing coefficient of the turned motif (virtual zeros
   outside A) and sum.

A motif with an even side gets a row of zeros on top / a column on the left first (L6642):
``[[1, 2], [3, 4]] → [[0, 0, 0], [0, 1, 2], [0, 3, 4]]``. The modes of ``scipy.signal.convolve2d``
(L7044–7072): ``"same"`` (the book's A * M, n × p), ``"full"`` (A ∗̃ M, "convolution étendue",
(n+2) × (p+2) for 3 × 3), ``"valid"`` ("convolution restreinte", (n−2) × (p−2)).

Where the extra virtual zeros of ``"same"`` go when a side of the motif is even (for odd sides
every convention below agrees; ``"full"`` and ``"valid"`` have no centring, all agree):

- **convolution** (:func:`convolve2d`, :func:`convolve_channels`, :func:`convolve2d_fft`): the
  book's rule above, i.e. the extra zero row / column of the *input* on top / on the left —
  ``scipy.signal.convolve2d(mode="same")`` and ``jax.scipy.signal.convolve2d``. It is *not*
  ``lax.conv_general_dilated(..., "SAME")`` / ``nnx.Conv(padding="SAME")`` on the turned motif
  (XLA puts the extra zero bottom / right); give those the explicit padding
  (:func:`padding_pairs`), as :meth:`~deepmath_jax.convolution.layer.BookConv.to_nnx_conv` does.
- **correlation** (:func:`correlate2d`, :func:`correlate_channels`, :func:`correlate2d_fft`): the
  libraries' rule, the extra zero on the bottom / on the right — ``scipy.signal.correlate2d``
  and ``jax.scipy.signal.correlate2d(mode="same")``, ``lax.conv_general_dilated(...,
  padding="SAME")``, ``nnx.Conv(padding="SAME")`` and Keras' ``Conv2D(padding="same")``
  (with a stride, XLA's SAME: the ⌈n/s⌉ windows centred as evenly as the padding allows). It
  is the adjoint of the book's convolution (its transposed matrix) at stride 1. The book's own
  correlation (the authors' ``correlation(f, g) = convolve2d(f, retourner(g), mode="same")``,
  L7315–7348) puts the extra zero on top / on the left: it is
  ``convolve2d(A, rot180(M), "same")`` (= ``scipy.signal.correlate``, the n-dimensional
  function, not ``correlate2d``), i.e. ``correlate2d(A, M, padding=padding_pairs("same",
  M.shape))``, one row / column away from ``correlate2d(A, M)`` along an even side.

Several motifs and several input channels (L6757–6780): an input of shape (n, p, k) and ℓ motifs
of shape (3, 3, k) give an output (n, p, ℓ); each output channel is the sum over the input
channels of the 2-D convolutions, ``𝒜 * M = Σ_c A_c * M_c``. Motifs are stored as an array
(kh, kw, k, ℓ) — the layout of Keras and Flax kernels — in the book's orientation (not turned).
Padding, stride and dilation, which the book leaves to the libraries (L6650), are the parameters of
``jax.lax.conv_general_dilated``; stride s keeps every s-th output of the stride-1 result (for
every padding except the correlation's ``"same"``, which is XLA's SAME, above).

:func:`convolve_channels` is the hand-written vectorised version (one shifted slice of the padded
input per tap of the motif, times the tap's k × ℓ weights, summed); :func:`convolve2d_loop` is the
book's recipe with Python loops; :func:`lax_convolve_channels` is the library call. Tests check
them equal with ``jax.scipy.signal.convolve2d``, ``jax.lax.conv_general_dilated`` and ``nnx.Conv``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.convolution.conv1d import as_real_array, check_mode, mode_padding, positive_int

Mode = Literal["same", "full", "valid"]
Padding = str | int | Sequence[int] | Sequence[Sequence[int]]
Pairs = tuple[tuple[int, int], tuple[int, int]]

# Above this many taps the motif is applied in a loop over taps (fori_loop) rather than unrolled.
_UNROLL_TAPS = 256
# Up to this many (tap, input channel) terms, and this much work per pixel, the convolution is a
# fused sum of shifted copies; above, an im2col matrix product.
_BROADCAST_TERMS = 64
_BROADCAST_WORK = 1024


# --------------------------------------------------------------------------------------------
# Motifs and arguments
# --------------------------------------------------------------------------------------------


def rot180(M: ArrayLike) -> Array:
    """M turned by 180° in its first two axes: ``m_ij ↦ m_{kh+1−i, kw+1−j}`` (L6591–6595).

    ``rot180(rot180(M)) == M``; not the transpose (L6638). Extra axes (channels) are kept.
    """
    M = as_real_array(M, "motif M", (2, 3, 4))
    return M[::-1, ::-1]


def odd_motif2d(M: ArrayLike) -> Array:
    """The book's rule for an even side (L6642): zeros added on top and on the left.

    ``[[1, 2], [3, 4]] → [[0, 0, 0], [0, 1, 2], [0, 3, 4]]``; odd sides are kept.
    """
    M = as_real_array(M, "motif M", (2, 3, 4))
    top = 1 - M.shape[0] % 2
    left = 1 - M.shape[1] % 2
    widths = [(top, 0), (left, 0)] + [(0, 0)] * (M.ndim - 2)
    return jnp.pad(M, widths)


def _pair(value: object, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return positive_int(value[0], name), positive_int(value[1], name)
    v = positive_int(value, name)
    return v, v


def _nonnegative(value: object, name: str) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer ≥ 0, got {value!r}") from None
    if isinstance(value, bool) or v < 0:
        raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
    return v


def _xla_same(n: int, span: int, stride: int) -> tuple[int, int]:
    """XLA's SAME padding of one axis (``jax.lax.padtype_to_pads``): ⌈n/s⌉ outputs, the
    t = max((⌈n/s⌉ − 1)·s + span − n, 0) virtual zeros split ⌊t/2⌋ before, the rest after."""
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return total // 2, total - total // 2


def padding_pairs(
    padding: Padding,
    kernel_shape: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    *,
    correlation: bool = False,
    shape: tuple[int, int] | None = None,
    stride: tuple[int, int] = (1, 1),
) -> Pairs:
    """Virtual zeros ((top, bottom), (left, right)) for a padding spec.

    ``"same"``, ``"full"``, ``"valid"``, an int (all sides), a pair (rows, columns) or a pair of
    pairs. With dilation d a side of K taps spans d(K − 1) + 1 input coefficients.

    ``"same"`` of the convolution (the default) is the book's centring (L6642): for an even span
    the extra zero goes on top / on the left of the input, (⌊span/2⌋, ⌊(span − 1)/2⌋) — as
    ``scipy.signal.convolve2d``. With ``correlation=True`` it is XLA's SAME (as
    ``scipy.signal.correlate2d``, ``nnx.Conv``, Keras): (⌊(span − 1)/2⌋, ⌊span/2⌋) at stride 1,
    the extra zero at the bottom / on the right; with a stride it depends on the input, so
    ``shape`` (rows, columns) and ``stride`` are then needed.
    """
    spans = [d * (k - 1) + 1 for k, d in zip(kernel_shape, dilation, strict=True)]
    if isinstance(padding, str):
        check_mode(padding)
        if padding == "same" and correlation:
            if tuple(stride) == (1, 1):
                return tuple(((s - 1) // 2, s // 2) for s in spans)  # type: ignore[return-value]
            if shape is None:
                raise ValueError(
                    "padding_pairs: the correlation's 'same' padding with a stride depends on the "
                    f"input; pass shape=(rows, columns) (stride {tuple(stride)})"
                )
            return tuple(  # type: ignore[return-value]
                _xla_same(n, s, st) for n, s, st in zip(shape, spans, stride, strict=True)
            )
        return tuple(mode_padding(s, padding) for s in spans)  # type: ignore[return-value]
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = _nonnegative(padding, "padding")
        return (p, p), (p, p)
    try:
        items = list(padding)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"padding must be a mode, an int or pairs of ints, got {padding!r}"
        ) from None
    if len(items) != 2:
        raise ValueError(f"padding must give rows and columns (2 entries), got {padding!r}")
    if all(isinstance(p, (int, np.integer)) for p in items):
        ph, pw = (_nonnegative(p, "padding") for p in items)
        return (ph, ph), (pw, pw)
    pairs = []
    for p in items:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise ValueError(f"padding pairs must be (before, after), got {padding!r}")
        pairs.append((_nonnegative(p[0], "padding"), _nonnegative(p[1], "padding")))
    return pairs[0], pairs[1]


def output_shape(
    shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    padding: Padding = "same",
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
) -> tuple[int, int]:
    """(rows, columns) of the output: ⌊(n + pads − d(K − 1) − 1) / s⌋ + 1 on each axis."""
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = padding_pairs(padding, kernel_shape, dilation)
    out = []
    for n, k, (lo, hi), s, d in zip(shape, kernel_shape, pads, stride, dilation, strict=True):
        span = d * (k - 1) + 1
        if n + lo + hi < span:
            raise ValueError(
                f"the motif ({kernel_shape[0]}×{kernel_shape[1]}, span {span} along an axis of "
                f"length {n}) is larger than the input with its virtual zeros ({n + lo + hi}) for "
                f"padding {padding!r}: no output position; use mode 'same' or 'full'"
            )
        out.append((n + lo + hi - span) // s + 1)
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# The vectorised engine: shifted slices of the padded input times the motif's taps
# --------------------------------------------------------------------------------------------


def _correlate_nhwc(
    x: Array, w: Array, stride: tuple[int, int], pads: Pairs, dilation: tuple[int, int]
) -> Array:
    """Correlation (no turning) of x (B, H, W, C) with w (kh, kw, C, O) → (B, Ho, Wo, O)."""
    b, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = output_shape((h, wd), (kh, kw), pads, stride, dilation)
    xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    dtype = jnp.result_type(x.dtype, w.dtype)
    xp, w = xp.astype(dtype), w.astype(dtype)
    extent = (b, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c)

    def tap(u, v) -> Array:
        window = jax.lax.dynamic_slice(xp, (0, u * dh, v * dw, 0), extent)[:, ::sh, ::sw, :]
        return window @ jax.lax.dynamic_index_in_dim(
            jax.lax.dynamic_index_in_dim(w, u, 0, keepdims=False), v, 0, keepdims=False
        )

    def window(u: int, v: int) -> Array:
        return jax.lax.slice(
            xp,
            (0, u * dh, v * dw, 0),
            (b, u * dh + extent[1], v * dw + extent[2], c),
            (1, sh, sw, 1),
        )

    o = w.shape[3]
    single = c == 1 and o == 1 and kh * kw <= _UNROLL_TAPS
    if single or (kh * kw * c <= _BROADCAST_TERMS and kh * kw * c * o <= _BROADCAST_WORK):
        # Few channels (a gray or colour image): a weighted sum of shifted copies of the image,
        # one term per tap and input channel, which XLA fuses into a single pass over the image.
        acc = None
        for u in range(kh):
            for v in range(kw):
                shifted = window(u, v)
                for ci in range(c):
                    term = shifted[..., ci : ci + 1] * w[u, v, ci].reshape(1, 1, 1, o)
                    acc = term if acc is None else acc + term
        return acc
    if kh * kw <= _UNROLL_TAPS:
        # Many channels: for each tap, the shifted image (B, Ho, Wo, k) times the tap's k × ℓ
        # weights (a matrix product), summed over the taps. (Measured faster here than one
        # im2col product, whose (B, Ho, Wo, kh·kw·k) patches must be written out first.)
        acc = window(0, 0) @ w[0, 0]
        for u in range(kh):
            for v in range(kw):
                if u or v:
                    acc = acc + window(u, v) @ w[u, v]
        return acc

    # Large motifs (template matching): one tap per loop step, constant program size.
    def body(t, acc):
        return acc + tap(t // kw, t % kw)

    return jax.lax.fori_loop(0, kh * kw, body, jnp.zeros((b, ho, wo, w.shape[3]), dtype))


class _Spec(NamedTuple):
    """Static description of a call: ranks of input and motifs, stride, padding, dilation."""

    x_rank: int  # 2: a matrix (n, p); 3: (n, p, k); 4: a batch (B, n, p, k)
    m_rank: int  # 2: a matrix motif; 3: one motif (kh, kw, k); 4: ℓ motifs (kh, kw, k, ℓ)
    stride: tuple[int, int]
    pads: Pairs
    dilation: tuple[int, int]


def _spec(x: Array, motifs: Array, stride, padding, dilation, correlation: bool = False) -> _Spec:
    """Check the channels and the parameters; the output must have at least one coefficient.

    ``correlation``: ``"same"`` is then XLA's SAME (see :func:`padding_pairs`)."""
    if x.ndim >= 3 and x.shape[-1] != motifs.shape[2]:
        raise ValueError(
            f"mismatched channels: the input has {x.shape[-1]} channels (last axis of shape "
            f"{tuple(x.shape)}) but the motifs expect {motifs.shape[2]} (axis 2 of shape "
            f"{tuple(motifs.shape)}, laid out (kh, kw, k, ℓ))"
        )
    stride_, dilation_ = _pair(stride, "stride"), _pair(dilation, "dilation")
    spatial = x.shape[:2] if x.ndim <= 3 else x.shape[1:3]
    pads = padding_pairs(
        padding, motifs.shape[:2], dilation_, correlation=correlation, shape=spatial, stride=stride_
    )
    output_shape(spatial, motifs.shape[:2], pads, stride_, dilation_)
    return _Spec(x.ndim, motifs.ndim, stride_, pads, dilation_)


def _expand(x: Array, motifs: Array, spec: _Spec) -> tuple[Array, Array]:
    """(B, n, p, k) and (kh, kw, k, ℓ) views of the input and the motifs."""
    xb = {2: lambda a: a[None, :, :, None], 3: lambda a: a[None], 4: lambda a: a}[spec.x_rank](x)
    w = {2: lambda m: m[:, :, None, None], 3: lambda m: m[..., None], 4: lambda m: m}[spec.m_rank](
        motifs
    )
    return xb, w


def _squeeze(out: Array, spec: _Spec) -> Array:
    """Back to the caller's ranks: drop the batch axis and the motif axis that were added."""
    if spec.m_rank <= 3:
        out = out[..., 0]
    return out if spec.x_rank == 4 else out[0]


@functools.partial(jax.jit, static_argnames=("spec", "turn"))
def _engine(x: Array, motifs: Array, spec: _Spec, turn: bool) -> Array:
    xb, w = _expand(x, motifs, spec)
    if turn:  # the book's convolution: the motif turned by 180° in the plane
        w = w[::-1, ::-1]
    return _squeeze(_correlate_nhwc(xb, w, spec.stride, spec.pads, spec.dilation), spec)


@functools.partial(jax.jit, static_argnames=("spec", "precision"))
def _lax_engine(x: Array, motifs: Array, spec: _Spec, precision) -> Array:
    xb, w = _expand(x, motifs, spec)
    dtype = jnp.result_type(xb.dtype, w.dtype, jnp.float32)
    out = jax.lax.conv_general_dilated(
        xb.astype(dtype),
        w[::-1, ::-1].astype(dtype),  # XLA correlates: turn the motif for the book's convolution
        window_strides=spec.stride,
        padding=spec.pads,
        rhs_dilation=spec.dilation,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=precision,
    )
    return _squeeze(out, spec)


def _channels_args(x: ArrayLike, motifs: ArrayLike) -> tuple[Array, Array]:
    return as_real_array(x, "input", (3, 4)), as_real_array(motifs, "motifs", (3, 4))


def correlate_channels(
    x: ArrayLike,
    motifs: ArrayLike,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "same",
    dilation: int | tuple[int, int] = 1,
) -> Array:
    """Multi-channel correlation (the motif is not turned): what Keras' Conv2D, Flax's
    ``nnx.Conv`` and XLA compute (L7493).

    ``correlate_channels(x, W, padding=P) == nnx.Conv(k, ℓ, (kh, kw), padding=P)`` with
    ``kernel = W`` (no bias), and ``== lax.conv_general_dilated(x, W, stride, P)`` (NHWC,
    HWIO), for ``"same"`` (XLA's SAME: for an even side the extra zero goes at the bottom /
    on the right of the input, and with a stride the windows are those of XLA), ``"valid"``
    and explicit pairs. With explicit pairs or ``"full"`` / ``"valid"`` it is the convolution
    by the turned motif with the same virtual zeros; with ``"same"`` and an even side it is not
    (the book's convolution puts the extra zero on top / on the left, see the module notes).

    Args:
      x: input (n, p, k), or a batch (B, n, p, k).
      motifs: (kh, kw, k) for one motif or (kh, kw, k, ℓ) for ℓ motifs.
      stride, padding, dilation: as in :func:`convolve_channels` (``"same"`` as above).
    """
    x, motifs = _channels_args(x, motifs)
    return _engine(x, motifs, _spec(x, motifs, stride, padding, dilation, True), False)


def convolve_channels(
    x: ArrayLike,
    motifs: ArrayLike,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "same",
    dilation: int | tuple[int, int] = 1,
) -> Array:
    """The book's convolution with several input channels and several motifs (L6757–6780).

    ``out[i, j, o] = Σ_c (A_c * M_{·,·,c,o})[i, j]`` — each motif (kh, kw, k) is turned by 180° in
    the plane and slides over the plane while spanning the whole depth (L6769).

    Args:
      x: input (n, p, k), or a batch (B, n, p, k).
      motifs: (kh, kw, k) — one motif, output (n', p') — or (kh, kw, k, ℓ) — output (n', p', ℓ).
      stride: an int or (rows, columns); keeps every stride-th coefficient.
      padding: ``"same"`` (book, default: for an even side the extra zero on top / on the left
        of the input, as ``scipy.signal.convolve2d``), ``"full"``, ``"valid"``, an int,
        (rows, columns) or ((top, bottom), (left, right)).
      dilation: spacing of the motif's taps (library parameter).
    """
    x, motifs = _channels_args(x, motifs)
    return _engine(x, motifs, _spec(x, motifs, stride, padding, dilation), True)


def lax_convolve_channels(
    x: ArrayLike,
    motifs: ArrayLike,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "same",
    dilation: int | tuple[int, int] = 1,
    precision: jax.lax.PrecisionLike = jax.lax.Precision.HIGHEST,
) -> Array:
    """Library version of :func:`convolve_channels`: ``jax.lax.conv_general_dilated`` on the
    motifs turned by 180° (XLA convolutions are correlations), with explicit padding pairs."""
    x, motifs = _channels_args(x, motifs)
    return _lax_engine(x, motifs, _spec(x, motifs, stride, padding, dilation), precision)


# --------------------------------------------------------------------------------------------
# One matrix, one motif (the book's A * M)
# --------------------------------------------------------------------------------------------


def _matrix_args(A: ArrayLike, M: ArrayLike) -> tuple[Array, Array]:
    A = as_real_array(A, "matrix A (a 2-D image)", 2)
    M = as_real_array(M, "motif M", 2)
    return A, M


def convolve2d(
    A: ArrayLike,
    M: ArrayLike,
    mode: Mode = "same",
    *,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
    padding: Padding | None = None,
) -> Array:
    """The book's ``A * M`` (L6579–6601), vectorised; ``mode`` as ``scipy.signal.convolve2d``
    (``"same"`` with an even side: the book's extra zero on top / on the left, L6642).

    >>> convolve2d([[2, 1, 3, 0], [1, 1, 0, 5], [3, 3, 1, 0], [2, 0, 0, 2]],
    ...            [[1, 0, 2], [2, 1, 0], [1, 0, 3]]).tolist()[0]
    [5, 9, 10, 0]
    """
    A, M = _matrix_args(A, M)
    pad = check_mode(mode) if padding is None else padding
    return _engine(A, M, _spec(A, M, stride, pad, dilation), True)


def correlate2d(
    A: ArrayLike,
    M: ArrayLike,
    mode: Mode = "same",
    *,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
    padding: Padding | None = None,
) -> Array:
    """2-D correlation (L7315–7348): the convolution without turning the motif.

    Every mode equals ``scipy.signal.correlate2d`` / ``jax.scipy.signal.correlate2d`` (and
    ``lax.conv_general_dilated`` with ``"SAME"`` / ``"VALID"``). ``"full"``, ``"valid"`` and
    explicit ``padding`` give ``convolve2d(A, rot180(M))``; so does ``"same"`` for odd sides.
    For an even side ``"same"`` puts the extra zero at the bottom / on the right (the
    libraries), while the book's correlation, ``convolve2d(A, rot180(M), "same")`` (the
    authors' ``convolve2d(f, retourner(g), mode='same')``, L7315–7348, and
    ``scipy.signal.correlate``), puts it on top / on the left: that one is
    ``correlate2d(A, M, padding=padding_pairs("same", M.shape))``.

    >>> correlate2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, 1]]).tolist()
    [[6, 8, 3], [12, 14, 6], [7, 8, 9]]
    """
    A, M = _matrix_args(A, M)
    pad = check_mode(mode) if padding is None else padding
    return _engine(A, M, _spec(A, M, stride, pad, dilation, True), False)


def convolve2d_loop(A: ArrayLike, M: ArrayLike, mode: Mode = "same") -> Array:
    """The book's recipe with Python loops (L6579–6601, L6642): pad an even motif top/left, turn
    it, centre it on each coefficient, multiply with the facing coefficients (virtual zeros)
    and sum. For reading and for the book's small matrices."""
    A0, M0 = _matrix_args(A, M)
    check_mode(mode)
    if mode == "valid" and (M0.shape[0] > A0.shape[0] or M0.shape[1] > A0.shape[1]):
        raise ValueError(
            "valid mode needs a motif no larger than the matrix: motif "
            f"{M0.shape[0]}×{M0.shape[1]}, matrix {A0.shape[0]}×{A0.shape[1]}"
        )
    a = np.asarray(A0)
    m = np.asarray(odd_motif2d(M0))
    turned = m[::-1, ::-1]
    hh, hw = m.shape[0] // 2, m.shape[1] // 2
    n, p = a.shape

    def centres(size: int, k: int) -> range:  # as in the 1-D recipe, on each axis
        if mode == "same":
            return range(size)
        if mode == "full":
            return range(-((k - 1) // 2), size + k // 2)
        return range(k // 2, size - (k - 1) // 2)

    rows = []
    for ci in centres(n, M0.shape[0]):
        row = []
        for cj in centres(p, M0.shape[1]):
            s = 0
            for u in range(m.shape[0]):
                for v in range(m.shape[1]):
                    i, j = ci - hh + u, cj - hw + v
                    x = a[i, j] if 0 <= i < n and 0 <= j < p else 0  # virtual zeros
                    s = s + x * turned[u, v]
            row.append(s)
        rows.append(row)
    dtype = jnp.result_type(A0.dtype, M0.dtype)
    return jnp.asarray(np.asarray(rows, dtype=np.dtype(dtype)))


_STARTS = {
    "full": lambda kh, kw: (0, 0),
    "same": lambda kh, kw: ((kh - 1) // 2, (kw - 1) // 2),
    "valid": lambda kh, kw: (kh - 1, kw - 1),
}


def convolve2d_fft(A: ArrayLike, M: ArrayLike, mode: Mode = "same") -> Array:
    """``A * M`` through the 2-D Fourier transform (convolution theorem; standard, not in the
    book): for large motifs (the 100 × 100 smiley of L7331)."""
    A, M = _matrix_args(A, M)
    check_mode(mode)
    (n, p), (kh, kw) = A.shape, M.shape
    if mode == "valid" and (kh > n or kw > p):
        raise ValueError(f"valid mode needs a motif no larger than the matrix: {kh}×{kw} > {n}×{p}")
    return _fft_engine(A, M, mode, False)


def correlate2d_fft(A: ArrayLike, M: ArrayLike, mode: Mode = "same") -> Array:
    """:func:`correlate2d` through the Fourier transform (the full correlation is
    ``convolve2d_fft(A, rot180(M), "full")``; ``"same"`` is cut out of it as
    ``scipy.signal.correlate2d`` does: for an even side, one row / column after the book's
    ``convolve2d_fft(A, rot180(M), "same")``)."""
    A, M = _matrix_args(A, M)
    check_mode(mode)
    (n, p), (kh, kw) = A.shape, M.shape
    if mode == "valid" and (kh > n or kw > p):
        raise ValueError(f"valid mode needs a motif no larger than the matrix: {kh}×{kw} > {n}×{p}")
    return _fft_engine(A, M, mode, True)


@functools.partial(jax.jit, static_argnames=("mode", "turn"))
def _fft_engine(A: Array, M: Array, mode: str, turn: bool) -> Array:
    if turn:
        M = M[::-1, ::-1]
    (n, p), (kh, kw) = A.shape, M.shape
    shape = (n + kh - 1, p + kw - 1)
    nfft = tuple(1 << (s - 1).bit_length() for s in shape)
    dtype = jnp.result_type(A.dtype, M.dtype, jnp.float32)
    spectrum = jnp.fft.rfft2(A.astype(dtype), nfft) * jnp.fft.rfft2(M.astype(dtype), nfft)
    full = jnp.fft.irfft2(spectrum, nfft)[: shape[0], : shape[1]].astype(dtype)
    out_h, out_w = output_shape((n, p), (kh, kw), mode)
    # The correlation's "same" (XLA's SAME) starts ⌊K/2⌋ into the full result, the book's
    # convolution ⌊(K − 1)/2⌋ (L6642): they differ by one along an even side.
    a, b = (kh // 2, kw // 2) if turn and mode == "same" else _STARTS[mode](kh, kw)
    return full[a : a + out_h, b : b + out_w]


def convolution_matrix2d(M: ArrayLike, shape: tuple[int, int], mode: Mode = "same") -> Array:
    """The matrix T of the linear map ``A ↦ A * M`` on flattened matrices (L6742–6749):
    ``vec(A * M) == T @ vec(A)`` (row-major vec), shape (n'p', np).

    ``T[(t, s), (i, j)] = M[t − i + a, s − j + b]`` (zero outside M), a, b the mode's offsets:
    a block-Toeplitz matrix whose blocks are Toeplitz ("doubly block Toeplitz").
    """
    M = as_real_array(M, "motif M", 2)
    n, p = (positive_int(s, "matrix size") for s in shape)
    check_mode(mode)
    output_shape((n, p), M.shape, mode)
    return _toeplitz2d(M, (n, p), mode)


@functools.partial(jax.jit, static_argnames=("shape", "mode"))
def _toeplitz2d(M: Array, shape: tuple[int, int], mode: str) -> Array:
    (n, p), (kh, kw) = shape, M.shape
    out_h, out_w = output_shape((n, p), (kh, kw), mode)
    a, b = _STARTS[mode](kh, kw)
    ku = np.arange(out_h)[:, None, None, None] - np.arange(n)[None, None, :, None] + a
    kv = np.arange(out_w)[None, :, None, None] - np.arange(p)[None, None, None, :] + b
    inside = (ku >= 0) & (ku < kh) & (kv >= 0) & (kv < kw)
    values = M[np.clip(ku, 0, kh - 1), np.clip(kv, 0, kw - 1)]
    T = jnp.where(jnp.asarray(inside), values, jnp.zeros((), M.dtype))
    return T.reshape(out_h * out_w, n * p)
