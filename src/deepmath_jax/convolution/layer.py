"""Convolution neurons and layers, and backpropagation through shared weights — chapter 12
*Convolution*, §2.3–2.5 (book lines 6690–6796) and §4 *Rétropropagation* (L6931–7013).

- A convolution neuron 3 × 3 (L6690–6719) is a classical neuron with 9 inputs (a 3 × 3 window
  of A) whose weights are the motif's coefficients, turned:
  ``s = a11·m33 + a12·m32 + … + a33·m11`` (L6712).
- A convolution layer (L6721–6749) has one neuron per coefficient of A, all sharing the motif's
  9 weights: the layer is ``A ↦ A * M`` (plus a bias and an activation, L6740). With ℓ motifs of
  shape (3, 3, k) on an input (n, p, k) the output is (n, p, ℓ) (L6776–6780);
  :class:`BookConv` is this layer as a Flax NNX module, equal to ``nnx.Conv`` on the turned
  motifs (:meth:`BookConv.to_nnx_conv`).
- Backpropagation (L6937–7013): for a weight a shared by neurons i = 1 … n with inputs f_i on the
  edges of weight a and outputs g_i,
  ``∂F/∂a = Σ_i f_{i,*} · g'_{i,*} · ∂F/∂g_i`` (L7013) — :func:`shared_weight_derivative`.
  Applied to every weight of the motif it gives :func:`conv_backward`, written by hand and
  tested equal to ``jax.grad``; its input part is the correlation of the upstream gradient with
  the motif (the adjoint of a convolution is a correlation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.convolution.conv1d import as_real_array, positive_int
from deepmath_jax.convolution.conv2d import (
    Padding,
    _channels_args,
    _expand,
    _pair,
    _spec,
    convolve_channels,
    output_shape,
    padding_pairs,
)

# --------------------------------------------------------------------------------------------
# Neuron and weight counts
# --------------------------------------------------------------------------------------------


def conv_neuron2d(
    window: ArrayLike, M: ArrayLike, activation: Callable[[Array], Array] | None = None
) -> Array:
    """A p × q convolution neuron on a window of A (L6704–6719):
    ``s = Σ_ij a_ij · m_{p+1−i, q+1−j}`` (for 3 × 3: ``a11·m33 + a12·m32 + … + a33·m11``, L6712),
    then ``φ(s)`` if an activation is given. It has pq weights."""
    a = as_real_array(window, "window", 2)
    m = as_real_array(M, "motif M", 2)
    if a.shape != m.shape:
        raise ValueError(
            f"the window {tuple(a.shape)} must have the motif's shape {tuple(m.shape)}"
        )
    s = jnp.sum(a * m[::-1, ::-1])
    return s if activation is None else activation(s)


def dense_layer_weight_count(n: int, p: int) -> int:
    """Weights of a layer of np neurons fully connected to an n × p input: (np)² (L6741);
    n = p = 100 gives 10 000 neurons and 100 000 000 weights."""
    n, p = positive_int(n, "n"), positive_int(p, "p")
    return (n * p) ** 2


def conv_layer_weight_count(
    kernel_size: int | tuple[int, int] = 3,
    in_channels: int = 1,
    out_channels: int = 1,
    *,
    bias: bool = False,
) -> int:
    """Weights of a convolution layer: ℓ · (kh · kw · k + bias) — 9 for one 3 × 3 motif
    (L6741), whatever the size of the input."""
    kh, kw = _pair(kernel_size, "kernel size")
    k, l = positive_int(in_channels, "in_channels"), positive_int(out_channels, "out_channels")
    return l * (kh * kw * k + int(bias))


# --------------------------------------------------------------------------------------------
# The layer as a Flax NNX module
# --------------------------------------------------------------------------------------------


class BookConv(nnx.Module):
    """The book's convolution layer (L6721–6790): ℓ motifs (kh, kw, k), a bias, an activation.

    ``y = φ(x * M + b)`` with the book's convolution (motifs turned by 180°), x of shape
    (n, p, k) or (B, n, p, k), output (n', p', ℓ) (or (B, n', p', ℓ)). The motifs are stored in
    the book's orientation as ``motifs`` (kh, kw, k, ℓ); :meth:`to_nnx_conv` gives the equal
    ``nnx.Conv`` (whose kernel is the turned motif, since XLA correlates).

    ``padding="same"`` is the book's (L6642): for an even kernel side the extra zero goes on top
    / on the left of the input. ``nnx.Conv(padding="SAME")`` (XLA's SAME) puts it at the bottom /
    on the right, and with a stride centres its windows its own way, so it equals this layer
    only for odd sides at stride 1; :meth:`to_nnx_conv` passes the explicit padding pairs.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | tuple[int, int] = 3,
        *,
        strides: int | tuple[int, int] = 1,
        padding: Padding = "same",
        dilation: int | tuple[int, int] = 1,
        use_bias: bool = True,
        activation: Callable[[Array], Array] | None = None,
        kernel_init: Callable | None = None,
        rngs: nnx.Rngs,
    ) -> None:
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation = _pair(dilation, "dilation")
        self.padding = padding_pairs(padding, self.kernel_size, self.dilation)  # checked now
        self.activation = activation
        shape = (*self.kernel_size, self.in_features, self.out_features)
        init = nnx.initializers.lecun_normal() if kernel_init is None else kernel_init
        self.motifs = nnx.Param(init(rngs.params(), shape, jnp.float32))
        self.bias = nnx.Param(jnp.zeros((self.out_features,), jnp.float32)) if use_bias else None

    def __call__(self, x: ArrayLike) -> Array:
        y = convolve_channels(
            x, self.motifs[...], stride=self.strides, padding=self.padding, dilation=self.dilation
        )
        if self.bias is not None:
            y = y + self.bias[...].reshape((1,) * (y.ndim - 1) + (self.out_features,))
        return y if self.activation is None else self.activation(y)

    @property
    def weight_count(self) -> int:
        """ℓ(kh·kw·k + 1) with a bias, ℓ·kh·kw·k without."""
        return conv_layer_weight_count(
            self.kernel_size, self.in_features, self.out_features, bias=self.bias is not None
        )

    def to_nnx_conv(self) -> nnx.Conv:
        """The same layer as ``nnx.Conv``: kernel = motifs turned by 180°, explicit padding."""
        conv = nnx.Conv(
            self.in_features,
            self.out_features,
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            kernel_dilation=self.dilation,
            use_bias=self.bias is not None,
            precision=jax.lax.Precision.HIGHEST,
            rngs=nnx.Rngs(0),
        )
        conv.kernel[...] = self.motifs[...][::-1, ::-1]
        if self.bias is not None:
            conv.bias[...] = self.bias[...]
        return conv


# --------------------------------------------------------------------------------------------
# Backpropagation by hand
# --------------------------------------------------------------------------------------------


def shared_weight_derivative(
    f_star: ArrayLike, g_prime_star: ArrayLike | None, dF_dg: ArrayLike
) -> Array:
    """``∂F/∂a = Σ_i f_{i,*} · g'_{i,*} · ∂F/∂g_i`` (L7013) for a weight a shared by n neurons.

    Args:
      f_star: the values f_{i,*} entering each neuron on its edge of weight a.
      g_prime_star: the activation's derivative at each neuron, g'_{i,*} (``None``: the identity,
        g' = 1, giving ``Σ_i f_{i,*} ∂F/∂g_i``, L7007).
      dF_dg: ∂F/∂g_i for each neuron.
    For one neuron this is the classical ``∂F/∂a = ∂F/∂g · f_* · g'_*`` (L6951).
    """
    f = jnp.asarray(f_star)
    d = jnp.asarray(dF_dg)
    if f.shape != d.shape:
        raise ValueError(f"one input per neuron: f_star {tuple(f.shape)} vs dF_dg {tuple(d.shape)}")
    if g_prime_star is not None:
        gp = jnp.asarray(g_prime_star)
        if gp.shape != f.shape:
            raise ValueError(f"g_prime_star {tuple(gp.shape)} must match f_star {tuple(f.shape)}")
        d = gp * d
    return jnp.sum(f * d)


def inputs_facing_weight(
    A: ArrayLike, motif_shape: tuple[int, int], u: int, v: int, mode: str = "same"
) -> Array:
    """The inputs f_{i,*} on the edges of weight ``M[u, v]``, one per neuron of ``A * M``.

    Neuron (i, j) multiplies ``M[u, v]`` by the coefficient of A facing it once the motif is
    turned and centred — a virtual 0 outside A (L6712): a matrix of the output's shape.
    """
    A = as_real_array(A, "matrix A (a 2-D image)", 2)
    kh, kw = motif_shape
    ho, wo = output_shape(A.shape, (kh, kw), mode)
    Ap = jnp.pad(A, padding_pairs(mode, (kh, kw)))
    r, c = kh - 1 - u, kw - 1 - v  # the turned motif puts M[u, v] at (kh−1−u, kw−1−v)
    return Ap[r : r + ho, c : c + wo]


def motif_gradient_by_weight(
    A: ArrayLike,
    M: ArrayLike,
    dF_dg: ArrayLike,
    g_prime_star: ArrayLike | None = None,
    mode: str = "same",
) -> Array:
    """∂F/∂M for a one-motif layer g = φ(A * M), weight by weight with the book's formula
    (L7013): ``∂F/∂m_uv = Σ_neurons f_{i,*} · g'_{i,*} · ∂F/∂g_i``, f the inputs facing m_uv."""
    M = as_real_array(M, "motif M", 2)
    kh, kw = M.shape
    rows = []
    for u in range(kh):
        rows.append(
            [
                shared_weight_derivative(
                    inputs_facing_weight(A, (kh, kw), u, v, mode), g_prime_star, dF_dg
                )
                for v in range(kw)
            ]
        )
    return jnp.asarray(rows)


class ConvGrads(NamedTuple):
    """Gradients of F through a convolution layer z = x * M + b."""

    motifs: Array
    bias: Array
    x: Array


def conv_backward(
    x: ArrayLike,
    motifs: ArrayLike,
    delta: ArrayLike,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "same",
    dilation: int | tuple[int, int] = 1,
) -> ConvGrads:
    """Backpropagation through z = x * M + b by hand (L6965–7013), shapes as
    :func:`~deepmath_jax.convolution.conv2d.convolve_channels`.

    ``delta = ∂F/∂z`` (for g = φ(z): ``delta = g'_* ⊙ ∂F/∂g``). Each weight M[u, v, c, o] is
    shared by all the neurons of output channel o: its derivative is the book's sum over those
    neurons of (input on its edge) × delta (L7013). The input's gradient sends each delta back
    along the same edges: ``∂F/∂x`` is the correlation of delta with the motif (the adjoint) —
    at stride 1 with ``"same"``, ``correlate_channels(delta, M.swapaxes(2, 3), padding="same")``
    for every kernel size (the libraries' "same" of the correlation mirrors the book's of the
    convolution: extra zero bottom / right instead of top / left).
    ``∂F/∂b_o = Σ_i delta_{i,o}``.
    """
    x, motifs = _channels_args(x, motifs)
    spec = _spec(x, motifs, stride, padding, dilation)
    batched, single = x.ndim == 4, motifs.ndim == 3
    b = x.shape[0] if batched else 1
    ho, wo = output_shape(
        x.shape[1:3] if batched else x.shape[:2],
        motifs.shape[:2],
        spec.pads,
        spec.stride,
        spec.dilation,
    )
    d = jnp.asarray(delta)
    expected = ((b,) if batched else ()) + (ho, wo) + (() if single else (motifs.shape[3],))
    if d.shape != expected:
        raise ValueError(
            f"delta must have the layer output's shape {expected}, got {tuple(d.shape)}"
        )
    return ConvGrads(*_conv_backward_core(x, motifs, d, spec))


@functools.partial(jax.jit, static_argnames=("spec",))
def _conv_backward_core(x: Array, motifs: Array, delta: Array, spec) -> tuple[Array, Array, Array]:
    xb, w = _expand(x, motifs, spec)
    d = delta[..., None] if spec.m_rank == 3 else delta  # (…, Ho, Wo, ℓ)
    d = d if spec.x_rank == 4 else d[None]  # (B, Ho, Wo, ℓ)
    _, h, wd, _ = xb.shape
    kh, kw = w.shape[:2]
    ho, wo = d.shape[1:3]
    dtype = jnp.result_type(xb.dtype, w.dtype, d.dtype, jnp.float32)
    pads, (sh, sw), (dh, dw) = spec.pads, spec.stride, spec.dilation
    xp = jnp.pad(xb.astype(dtype), ((0, 0), pads[0], pads[1], (0, 0)))
    d, w = d.astype(dtype), w.astype(dtype)
    grad_w = []
    grad_xp = jnp.zeros_like(xp)
    for u in range(kh):
        row = []
        for v in range(kw):
            # The turned motif puts M[u, v] in front of xp[i·s + (kh−1−u)·d, j·s + (kw−1−v)·d].
            r, q = (kh - 1 - u) * dh, (kw - 1 - v) * dw
            rows = slice(r, r + (ho - 1) * sh + 1, sh)
            cols = slice(q, q + (wo - 1) * sw + 1, sw)
            f_star = xp[:, rows, cols, :]  # (B, Ho, Wo, k): the inputs on the edges of M[u, v]
            row.append(jnp.einsum("bijc,bijo->co", f_star, d))  # Σ_i f_i,* · delta_i  (L7013)
            grad_xp = grad_xp.at[:, rows, cols, :].add(d @ w[u, v].T)  # delta sent back
        grad_w.append(jnp.stack(row))
    grad_x = grad_xp[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + wd, :]
    grad_w, grad_b = jnp.stack(grad_w), d.sum(axis=(0, 1, 2))
    if spec.m_rank == 3:
        grad_w, grad_b = grad_w[..., 0], grad_b[0]
    return grad_w, grad_b, grad_x if spec.x_rank == 4 else grad_x[0]


def conv_forward(
    x: ArrayLike,
    motifs: ArrayLike,
    bias: ArrayLike | float = 0.0,
    *,
    activation: Callable[[Array], Array] | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "same",
    dilation: int | tuple[int, int] = 1,
) -> tuple[Array, Array]:
    """(z, g) for the layer ``z = x * M + b``, ``g = φ(z)`` — what the backward pass needs."""
    z = convolve_channels(x, motifs, stride=stride, padding=padding, dilation=dilation)
    b = jnp.asarray(bias)
    z = z + (b if b.ndim == 0 else b.reshape((1,) * (z.ndim - 1) + b.shape))
    return z, (z if activation is None else activation(z))
