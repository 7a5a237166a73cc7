"""The book's networks as Flax NNX models — chapter 10 *Python : tensorflow avec keras, partie 2*
(Keras part 2, book lines 5435–6302) and chapter 14 *Convolution avec tensorflow/keras*
(Convolution with Keras, lines 7350–7780).

Every network the book builds with ``keras.Sequential`` has a builder here with the book's layer
sizes, activations and weight count (``count_params``, tested against the book's numbers):

========================  ==========================================================  ========
builder                   architecture (book line)                                    weights
========================  ==========================================================  ========
``mnist_dense(p)``        784 → p σ → p σ → 10 softmax (L5517–5582, table L5617)     6 442 (p=8)
``function_1d()``         1 → 4 × tanh(10) → 1 linear (L5684–5802)                    361
``function_2d()``         2 → 3 × ReLU(10) → 1 linear (L6016–6110)                    261
``imdb_dense()``          1000 → 3 × ReLU(5) → 1 σ (L6112–6228)                        5 071
``cifar_dense()``         3072 → 4 × σ(30) → 10 softmax (L6230–6301)                  95 290
``mnist_cnn()``           28×28×1 → conv32 → conv16 → flatten → 10 (L7380–7404)        130 394
``cifar_cnn()``           32×32×3 → c64 c64 pool c64 pool c64 → 10 (L7525–7531)        153 546
``cats_dogs_cnn()``       64×64×3 → 3 × (c64, pool, dropout ½) → 32 → 1 σ (L7628–7630)  206 785
``viz_cnn()``             28×28×1 → c16 → c16 → pool → 10 (L7718–7733)                 33 850
========================  ==========================================================  ========

Conventions (what the book's numbers depend on, see inventory part 1 §13):

- Keras initialisation by default: kernels ``glorot_uniform`` (U(±√(6/(fan_in+fan_out))), with
  fan = k·k·channels for a convolution), biases zero; ``init="flax"`` gives Flax's default
  LeCun-normal kernels instead.
- ``model(x)`` returns what the Keras model outputs (softmax probabilities, a sigmoid
  probability, or the linear value); ``model.logits(x)`` returns the last layer before its
  activation, which the losses use (log-softmax of logits is the stable form of Keras's
  cross-entropy of probabilities); ``model.features(x)`` returns every layer's output, as Keras's
  ``Model(inputs, outputs=model.layers[i].output)`` does for the feature-map figures (L7738).
- Images are NHWC (batch, height, width, channels), kernels HWIO, as in Keras. Keras's
  ``Conv2D`` computes a correlation (the motif is not flipped, L7493); so does
  :func:`conv2d_same`.

Speed (see ``benchmarks/bench_training.py``): the convolution layers use :func:`conv2d_same`,
whose gradient is written by hand (``jax.custom_vjp``): the input gradient as a forward
convolution by the flipped kernel, the weight gradient Σ x·g as its own map. On CPUs each runs
as a compiled C++ kernel through XLA's FFI (:mod:`deepmath_jax.kernels.build`): the forward pass
with its bias and ReLU in the same pass (:mod:`deepmath_jax.kernels.conv_layer_forward`), the input
gradient, and the weight gradient (:mod:`deepmath_jax.kernels.conv_weight_gradient`; for the
one-channel first layer with the bias gradient). Where a kernel does not apply (no compiler,
GPU/TPU, other dtypes or shapes, programs partitioned over several devices) the reference
forms run: the forward pass and input gradient on oneDNN through XLA's own
``__onednn$convolution`` custom call (:mod:`deepmath_jax.kernels.onednn_convolution`, x86-64) or
``lax``; the weight gradient as a convolution of the output gradient by the input (roles
swapped, canonical layouts so that it stays fast inside ``lax.scan``); for the one-channel
first layer the forward pass as 9 shifted multiply-adds and the weight gradient as one matrix
product of the 9 shifted images (the book's "convolution as a matrix" view, chapters 12 and 14).
A whole ``Conv2D`` layer, activation and bias included, has one hand-written gradient
(:func:`conv2d_layer`) that keeps only the layer's output for the backward pass.
``impl="xla"`` gives the plain ``lax.conv_general_dilated`` with JAX's own gradient;
``impl="im2col"`` the matrix view for every layer (patches, then one matrix product) — all
three are tested equal, and equal to ``nnx.Conv``. :func:`conv_compiler_options` gives the
XLA:CPU options that train the convolution networks fastest on an idle machine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepmath_jax.kernels.conv_layer_forward import conv_layer as _conv_layer_kernel
from deepmath_jax.kernels.conv_weight_gradient import weight_and_bias_gradient_one_channel
from deepmath_jax.kernels.conv_weight_gradient import weight_gradient as _kernel_grad
from deepmath_jax.kernels.onednn_convolution import check_conv_args, reference

Array = jax.Array
Init = Literal["keras", "flax"]
ConvImpl = Literal["fast", "xla", "im2col"]

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda z: z,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softmax": partial(jax.nn.softmax, axis=-1),
}


def _activation(name: str) -> Callable[[Array], Array]:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: use one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


CONV_IMPLS: tuple[str, ...] = ("fast", "xla", "im2col")


def _check(name: str, value: Any, ok: bool, allowed: str) -> None:
    """The argument check of the layers and builders, on the host at construction: a ValueError
    naming the argument, the value received (with its type, unless an integer) and what is
    allowed — rather than a ZeroDivisionError from an initialiser or a JAX error at the first
    call."""
    if not ok:
        shown = repr(value) if isinstance(value, str) else str(value)
        if not _is_int(value):
            shown += f" ({type(value).__name__})"
        raise ValueError(f"{name} must be {allowed}, got {shown}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _size(name: str, value: Any, *, minimum: int = 1, odd: bool = False, why: str = "") -> int:
    """A layer size (neurons, channels, kernel side…) as a Python int: an integer ≥ ``minimum``
    (bools and floats refused: ``Dense(4, 2.5)`` is a slip, not 2 neurons), odd if ``odd``."""
    ok = _is_int(value) and value >= minimum and (not odd or value % 2 == 1)
    _check(name, value, ok, f"{'an odd' if odd else 'an'} integer ≥ {minimum}{why}")
    return int(value)


@partial(jax.jit, static_argnums=(1, 2))
def _draw(key: Array, n: int, law: str) -> Array:
    if law == "uniform":
        return jax.random.uniform(key, (n,), jnp.float32, -1.0, 1.0)
    return jax.random.truncated_normal(key, -2.0, 2.0, (n,), jnp.float32)


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    """Keras/Flax fans: receptive field (product of the leading dims) × in / × out channels."""
    shape = [_size(f"shape[{i}]", d) for i, d in enumerate(shape)]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return receptive * shape[-2], receptive * shape[-1]


def _scaled(key: Array, shape: Sequence[int], law: str, scale: float) -> Array:
    # Draw from a power-of-two-sized vector and cut: one compiled sampler serves every layer
    # shape (compiling one per shape cost ~0.3 s each, seconds per model).
    size = math.prod(int(d) for d in shape)
    n = max(64, 1 << (size - 1).bit_length())
    draw = _draw(key, n, law)
    if isinstance(draw, jax.core.Tracer):  # under jit / eval_shape: stay traced
        return draw[:size].reshape(tuple(shape)) * scale
    return jnp.asarray(np.asarray(draw)[:size].reshape(tuple(shape)) * np.float32(scale))


def glorot_uniform(key: Array, shape: Sequence[int], dtype: Any = jnp.float32) -> Array:
    """Keras's default kernel initialiser: U(−a, a), a = √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _scaled(key, shape, "uniform", math.sqrt(6.0 / (fan_in + fan_out))).astype(dtype)


def lecun_normal(key: Array, shape: Sequence[int], dtype: Any = jnp.float32) -> Array:
    """Flax's default kernel initialiser: normal truncated at ±2σ, variance 1/fan_in."""
    fan_in, _ = _fans(shape)
    # std of the standard normal truncated to [−2, 2], so that the variance is exactly 1/fan_in
    std = 0.87962566103423978
    return _scaled(key, shape, "truncated_normal", math.sqrt(1.0 / fan_in) / std).astype(dtype)


def kernel_initializer(init: Init) -> Callable[..., Array]:
    """``"keras"``: glorot_uniform (Keras's default for Dense, Conv2D); ``"flax"``: LeCun normal."""
    if init == "keras":
        return glorot_uniform
    if init == "flax":
        return lecun_normal
    raise ValueError(f"init must be 'keras' or 'flax', got {init!r}")


# --------------------------------------------------------------------------------------------
# Convolution 'same', stride 1: three implementations of the same map
# --------------------------------------------------------------------------------------------

def _im2col(x: Array, k: int) -> Array:
    """Patches matrix of the book's "convolution as a matrix" view: (B·H·W, k·k·C), tap-major."""
    b, h, w, c = x.shape
    p = k // 2
    xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    cols = jnp.concatenate(
        [xp[:, i : i + h, j : j + w, :] for i in range(k) for j in range(k)], axis=-1
    )
    return cols.reshape(b * h * w, k * k * c)


def _conv_im2col(x: Array, kernel: Array) -> Array:
    b, h, w, _ = x.shape
    k, _, cin, cout = kernel.shape
    return (_im2col(x, k) @ kernel.reshape(k * k * cin, cout)).reshape(b, h, w, cout)


def _input_grad(g: Array, kernel: Array) -> Array:
    """∂/∂x of Σ g·conv(x, K): the 'same' correlation of g with the kernel flipped in space and
    its channel roles swapped, dx[b,h,w,c] = Σ g̃[b,h−i+p,w−j+p,o] K[i,j,c,o] (the transposed
    convolution), run as a forward convolution (compiled CPU kernel, else oneDNN or lax)."""
    flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
    return _conv_layer_kernel(g, flipped, jnp.zeros(flipped.shape[3], g.dtype), relu=False)


def _bias_grad(g: Array) -> Array:
    """db[o] = Σ_{b,h,w} g[b,h,w,o], as the product of a row of ones with the (B·H·W, O) matrix:
    XLA:CPU runs it ~4× faster than its reduction over the rows of a narrow matrix."""
    rows = g.reshape(-1, g.shape[-1])
    return (jnp.ones((1, rows.shape[0]), g.dtype) @ rows)[0]


@jax.custom_vjp
def _conv_fast(x: Array, kernel: Array) -> Array:
    return _conv_layer_kernel(x, kernel, jnp.zeros(kernel.shape[3], x.dtype), relu=False)


def _conv_fast_fwd(x: Array, kernel: Array) -> tuple[Array, tuple[Array, Array]]:
    return _conv_fast(x, kernel), (x, kernel)


def _conv_fast_bwd(res: tuple[Array, Array], g: Array) -> tuple[Array, Array]:
    x, kernel = res
    k = kernel.shape[0]
    # For the first layer x is the data: dx is unused and XLA drops it.
    dx = _input_grad(g, kernel).astype(x.dtype)
    if x.shape[3] == 1:
        dw = weight_and_bias_gradient_one_channel(x, g, k)[0]
    else:
        dw = _kernel_grad(x, g, k)
    return dx, dw.astype(kernel.dtype)


_conv_fast.defvjp(_conv_fast_fwd, _conv_fast_bwd)


def conv2d_same(x: Array, kernel: Array, *, impl: ConvImpl = "fast") -> Array:
    """Keras's ``Conv2D(padding='same')`` without bias: y[b,h,w,o] = Σ x̃[b,h+i,w+j,c] K[i,j,c,o]
    (sum over the taps i, j and the input channels c).

    A correlation (the motif is not flipped, book L7493), stride 1, zero padding k//2 so the
    output keeps the image size (book L7482–7493). ``x``: (batch, H, W, C); ``kernel``:
    (k, k, C, O) with k odd. ``impl``: ``"fast"`` (hand-written gradient, default), ``"xla"``
    (``lax.conv_general_dilated`` and JAX's gradient) or ``"im2col"`` (the book's matrix view:
    patches (B·H·W, k²C) times the reshaped kernel (k²C, O)).
    """
    check_conv_args(x, kernel)
    if impl == "fast":
        return _conv_fast(x, kernel)
    if impl == "xla":
        return reference(x, kernel)
    if impl == "im2col":
        return _conv_im2col(x, kernel)
    raise ValueError(f"impl must be 'fast', 'xla' or 'im2col', got {impl!r}")


#: g·act'(z) from the output gradient g and the output y = act(z) alone, for the activations
#: whose derivative is a function of their output: the fused layer below keeps only y for its
#: backward pass (relu'(0) = 0 and a select rather than a product, as jax.grad of jax.nn.relu).
_BACKWARD_FROM_OUTPUT: dict[str, Callable[[Array, Array], Array]] = {
    "linear": lambda g, y: g,
    "relu": lambda g, y: jnp.where(y > 0, g, 0),
    "sigmoid": lambda g, y: g * y * (1 - y),
    "tanh": lambda g, y: g * (1 - y * y),
}


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _conv_layer_fast(x: Array, kernel: Array, bias: Array, activation: str) -> Array:
    if activation == "relu":  # bias and ReLU inside the convolution's own pass
        return _conv_layer_kernel(x, kernel, bias, relu=True)
    return _activation(activation)(_conv_layer_kernel(x, kernel, bias, relu=False))


def _conv_layer_fast_fwd(
    x: Array, kernel: Array, bias: Array, activation: str
) -> tuple[Array, tuple[Array, Array, Array, Array]]:
    y = _conv_layer_fast(x, kernel, bias, activation)
    return y, (x, kernel, bias, y)


def _conv_layer_fast_bwd(
    activation: str, res: tuple[Array, Array, Array, Array], g: Array
) -> tuple[Array, Array, Array]:
    x, kernel, bias, y = res
    # the gradient at the pre-activation z = conv + b, from the saved output only: XLA then
    # neither keeps z nor recomputes the convolution for the backward pass
    gz = _BACKWARD_FROM_OUTPUT[activation](g, y)
    k = kernel.shape[0]
    if x.shape[3] == 1:
        dw, db = weight_and_bias_gradient_one_channel(x, gz, k)
    else:
        dw, db = _kernel_grad(x, gz, k), _bias_grad(gz)
    dx = _input_grad(gz, kernel)  # unused for the first layer: XLA drops it
    return dx.astype(x.dtype), dw.astype(kernel.dtype), db.astype(bias.dtype)


_conv_layer_fast.defvjp(_conv_layer_fast_fwd, _conv_layer_fast_bwd)


def conv2d_layer(
    x: Array, kernel: Array, bias: Array, activation: str = "relu", *, impl: ConvImpl = "fast"
) -> Array:
    """A whole Keras ``Conv2D`` layer: act(conv2d_same(x, K) + b) (book L7482–7493).

    With ``impl="fast"`` and an activation whose derivative is a function of its output
    (linear, relu, sigmoid, tanh) the layer has one hand-written gradient: the backward pass
    reads the saved output y, forms g·act'(z) from it, and gets the kernel, bias and input
    gradients from it (the bias gradient inside the first layer's kernel product). Equal to JAX's
    gradient of the composed layer (tested). The MNIST CNN's training step (batch 32, 2-core CPU,
    best of 12 interleaved rounds of 100 steps) took 0.3–0.7 ms less than with JAX composing the
    layer (7.3–7.6 ms against 7.8–8.2 ms) in 7 of 8 runs; the machine's noise is of that order.
    """
    check_conv_args(x, kernel)
    if bias.shape != (kernel.shape[3],):
        raise ValueError(f"bias must have shape ({kernel.shape[3]},), got {bias.shape}")
    if impl == "fast" and activation in _BACKWARD_FROM_OUTPUT:
        return _conv_layer_fast(x, kernel, bias, activation)
    return _activation(activation)(conv2d_same(x, kernel, impl=impl) + bias[None, None, None, :])


#: XLA:CPU compile options for training the convolution networks on one device, for ``jax.jit(…,
#: compiler_options=…)``. An empty ``xla_cpu_experimental_ynn_fusion_type`` (a documented XLA
#: flag, ``XLA_FLAGS=--help``) turns off jaxlib 0.10's YNNPACK fusions, so that convolutions run
#: on XLA's Eigen kernels, which spread the forward and input-gradient convolutions over the
#: cores (YNNPACK runs each on one core): the MNIST CNN's training step (batch 32) took ≈ 8.0 ms
#: instead of ≈ 10 ms on an idle 2-core AMD EPYC, 8.4–8.5 ms instead of 13.5 ms on an idle
#: 2-core Intel Xeon — but ≈ 14.5 ms instead of ≈ 12 ms on the EPYC with one core busy with
#: another process, where YNNPACK degrades more gracefully (benchmarks/bench_training.py
#: measures both).
CONV_CPU_COMPILER_OPTIONS: dict[str, str] = {"xla_cpu_experimental_ynn_fusion_type": ""}


def conv_compiler_options(
    model: nnx.Module, mesh: jax.sharding.Mesh | None = None
) -> dict[str, str] | None:
    """``jax.jit`` compiler options for training ``model``, e.g. ``jax.jit(step,
    compiler_options=conv_compiler_options(model))``.

    :data:`CONV_CPU_COMPILER_OPTIONS` (Eigen convolutions, each spread over the cores) for a
    network with :class:`Conv2D` layers trained on one CPU device; ``None`` (XLA's defaults)
    otherwise — in particular when ``mesh`` spreads the batch over several CPU devices (one per
    core, ``XLA_FLAGS=--xla_force_host_platform_device_count=N``): there every device runs its
    share of the batch on one core at the same time as the others, and XLA's default YNNPACK
    convolutions do ≈ 1.7× more work per core than Eigen's (the MNIST CNN's 32→16 layer,
    16 images, one core: forward 0.95 against 1.6 ms, input gradient 0.86 against 1.3 ms).
    """
    if mesh is not None and not isinstance(mesh, jax.sharding.Mesh):
        raise TypeError(f"mesh must be None or a jax.sharding.Mesh, got {type(mesh).__name__}")
    has_conv = any(isinstance(m, Conv2D) for _, m in nnx.iter_graph(model))
    if not has_conv or jax.default_backend() != "cpu":
        return None
    if mesh is not None and mesh.size > 1:
        return None
    return dict(CONV_CPU_COMPILER_OPTIONS)


def max_pool_2x2(x: Array) -> Array:
    """Keras's ``MaxPooling2D(pool_size=(2, 2))``: max over 2×2 blocks; an odd last row/column is
    dropped, as Keras's 'valid' pooling does (book L7571–7575)."""
    if x.ndim != 4:
        raise ValueError(
            f"max_pool_2x2 expects (batch, height, width, channels), got shape {x.shape}"
        )
    b, h, w, c = x.shape
    x = x[:, : h - h % 2, : w - w % 2, :]
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


class Dense(nnx.Module):
    """Keras ``Dense(units, activation)``: y = act(x W + b), W of shape (in, out) as in Keras."""

    def __init__(
        self,
        in_features: int,
        units: int,
        activation: str = "linear",
        *,
        init: Init = "keras",
        rngs: nnx.Rngs,
    ) -> None:
        in_features, units = _size("in_features", in_features), _size("units", units)
        _activation(activation)
        self.activation = activation
        self.kernel = nnx.Param(
            kernel_initializer(init)(rngs.params(), (in_features, units), jnp.float32)
        )
        self.bias = nnx.Param(jnp.zeros((units,), jnp.float32))

    def preactivation(self, x: Array) -> Array:
        if x.ndim != 2 or x.shape[1] != self.kernel.shape[0]:
            raise ValueError(
                f"Dense expects inputs (batch, {self.kernel.shape[0]}), got shape {x.shape}"
            )
        return x @ self.kernel[...] + self.bias[...][None, :]

    def __call__(self, x: Array) -> Array:
        return _activation(self.activation)(self.preactivation(x))


class Conv2D(nnx.Module):
    """Keras ``Conv2D(filters, kernel_size, padding='same', activation)``: ``filters`` motifs of
    k×k×C weights plus one bias each (book L7482–7493)."""

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int = 3,
        activation: str = "relu",
        *,
        init: Init = "keras",
        impl: ConvImpl = "fast",
        rngs: nnx.Rngs,
    ) -> None:
        in_channels, filters = _size("in_channels", in_channels), _size("filters", filters)
        # 'same' padding k//2 on both sides keeps the image size for an odd k only (L7482–7493)
        kernel_size = _size("kernel_size", kernel_size, odd=True)
        _activation(activation)
        _check("impl", impl, impl in CONV_IMPLS, "'fast', 'xla' or 'im2col'")
        self.activation = activation
        self.impl = impl
        shape = (kernel_size, kernel_size, in_channels, filters)
        self.kernel = nnx.Param(kernel_initializer(init)(rngs.params(), shape, jnp.float32))
        self.bias = nnx.Param(jnp.zeros((filters,), jnp.float32))

    def preactivation(self, x: Array) -> Array:
        return (
            conv2d_same(x, self.kernel[...], impl=self.impl) + self.bias[...][None, None, None, :]
        )

    def __call__(self, x: Array) -> Array:
        return conv2d_layer(x, self.kernel[...], self.bias[...], self.activation, impl=self.impl)


class MaxPool2D(nnx.Module):
    """Keras ``MaxPooling2D(pool_size=(2, 2))`` (no weights)."""

    def __call__(self, x: Array) -> Array:
        return max_pool_2x2(x)


class Flatten(nnx.Module):
    """Keras ``Flatten``: (batch, H, W, C) → (batch, H·W·C) in row-major (H, W, C) order."""

    def __call__(self, x: Array) -> Array:
        return x.reshape(x.shape[0], -1)


class Dropout(nnx.Module):
    """Keras ``Dropout(rate)``: ``rate`` is the probability of *dropping* a value (book L7697–7703;
    the book's Bernoulli parameter of chapter 16 is the keep probability 1 − rate). Active only in
    training mode (``model.train()``), with kept values scaled by 1/(1 − rate)."""

    def __init__(self, rate: float, *, rngs: nnx.Rngs) -> None:
        real = isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(
            rate, (bool, np.bool_)
        )
        _check("rate", rate, real and 0 <= rate < 1, "a number in [0, 1)")  # NaN fails too
        self.dropout = nnx.Dropout(float(rate), deterministic=True, rngs=rngs)

    def __call__(self, x: Array) -> Array:
        return self.dropout(x)


# --------------------------------------------------------------------------------------------
# The sequential model
# --------------------------------------------------------------------------------------------


class Sequential(nnx.Module):
    """A Keras-like ``Sequential``: layers applied in order, the last one carrying the output
    activation. ``name`` and ``input_shape`` (without batch) are kept for ``summary()``."""

    def __init__(
        self, layers: Sequence[nnx.Module], *, input_shape: tuple[int, ...], name: str
    ) -> None:
        if not layers:
            raise ValueError("a Sequential model needs at least one layer")
        for i, layer in enumerate(layers):
            _check(f"layers[{i}]", layer, isinstance(layer, nnx.Module), "an nnx.Module")
        self.layers = nnx.List(list(layers))
        self.input_shape = tuple(_size(f"input_shape[{i}]", d) for i, d in enumerate(input_shape))
        self.name = name

    def _check_input(self, x: Array) -> None:
        if tuple(x.shape[1:]) != self.input_shape:
            dims = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"{self.name} expects inputs of shape (batch, {dims}), "
                f"got {tuple(x.shape)}"
            )

    def logits(self, x: Array) -> Array:
        """The output before the last layer's activation (softmax / sigmoid)."""
        self._check_input(x)
        *body, last = list(self.layers)
        for layer in body:
            x = layer(x)
        return last.preactivation(x) if hasattr(last, "preactivation") else last(x)

    def __call__(self, x: Array) -> Array:
        """The Keras output: probabilities for softmax / sigmoid outputs, values for linear ones."""
        self._check_input(x)
        for layer in self.layers:
            x = layer(x)
        return x

    def features(self, x: Array) -> list[Array]:
        """Every layer's output, in order: ``features(x)[i]`` = Keras ``model.layers[i].output``."""
        self._check_input(x)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs

    @property
    def output_activation(self) -> str:
        return getattr(list(self.layers)[-1], "activation", "linear")

    def summary(self) -> str:
        """A table like Keras's ``model.summary()``: layer, output shape, weights."""
        x = jax.ShapeDtypeStruct((1, *self.input_shape), jnp.float32)
        shapes = [o.shape[1:] for o in jax.eval_shape(lambda m, x: m.features(x), self, x)]
        lines = [f"Model {self.name}", f"{'layer':<28}{'output shape':<20}{'weights':>10}"]
        for layer, shape in zip(self.layers, shapes, strict=True):
            label = type(layer).__name__ + (
                f"({layer.activation})" if hasattr(layer, "activation") else ""
            )
            lines.append(f"{label:<28}{str(tuple(shape)):<20}{count_params(layer):>10,}")
        lines.append(f"{'total':<48}{count_params(self):>10,}")
        return "\n".join(lines)


def count_params(model: nnx.Module) -> int:
    """Number of weights (kernels and biases), Keras's ``count_params()``."""
    return int(sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param))))


# --------------------------------------------------------------------------------------------
# The book's networks
# --------------------------------------------------------------------------------------------


def dense_network(
    sizes: Sequence[int],
    activations: Sequence[str],
    *,
    name: str,
    init: Init = "keras",
    rngs: nnx.Rngs,
) -> Sequential:
    """A stack of Dense layers: ``sizes = (n_in, n_1, …, n_out)``, one activation per layer."""
    if len(sizes) < 2 or len(activations) != len(sizes) - 1:
        raise ValueError(
            f"need sizes (n_in, …, n_out) and one activation per layer, got {sizes}, {activations}"
        )
    sizes = [_size(f"sizes[{i}]", n) for i, n in enumerate(sizes)]
    layers = [
        Dense(a, b, act, init=init, rngs=rngs)
        for a, b, act in zip(sizes[:-1], sizes[1:], activations, strict=True)
    ]
    return Sequential(layers, input_shape=(sizes[0],), name=name)


def mnist_dense(p: int = 8, *, init: Init = "keras", rngs: nnx.Rngs) -> Sequential:
    """784 → p σ → p σ → 10 softmax (book L5517–5582). Weights 785p + p(p+1) + 10(p+1):
    6 442, 8 070, 12 175, 16 330, 42 310 for p = 8, 10, 15, 20, 50 (table L5617–5624)."""
    p = _size("p", p)
    return dense_network(
        (784, p, p, 10),
        ("sigmoid", "sigmoid", "softmax"),
        name=f"mnist_dense_p{p}",
        init=init,
        rngs=rngs,
    )


def function_1d(p: int = 10, *, init: Init = "keras", rngs: nnx.Rngs) -> Sequential:
    """1 → 4 × tanh(p) → 1 linear, approximating f(x) = cos 2x + x sin 3x + √x − 2
    (L5684–5802); 361 weights."""
    p = _size("p", p)
    return dense_network(
        (1, p, p, p, p, 1), ("tanh",) * 4 + ("linear",), name="function_1d", init=init, rngs=rngs
    )


def function_2d(p: int = 10, *, init: Init = "keras", rngs: nnx.Rngs) -> Sequential:
    """2 → 3 × ReLU(p) → 1 linear, approximating x·cos y on [−4, 4]² (L6016–6110); 261 weights."""
    p = _size("p", p)
    return dense_network(
        (2, p, p, p, 1), ("relu",) * 3 + ("linear",), name="function_2d", init=init, rngs=rngs
    )


def imdb_dense(
    num_words: int = 1000, p: int = 5, *, init: Init = "keras", rngs: nnx.Rngs
) -> Sequential:
    """1000 → 3 × ReLU(5) → 1 σ on multi-hot reviews (L6112–6228); 5 071 weights."""
    num_words, p = _size("num_words", num_words), _size("p", p)
    return dense_network(
        (num_words, p, p, p, 1),
        ("relu",) * 3 + ("sigmoid",),
        name="imdb_dense",
        init=init,
        rngs=rngs,
    )


def cifar_dense(p: int = 30, *, init: Init = "keras", rngs: nnx.Rngs) -> Sequential:
    """3072 → 4 × σ(30) → 10 softmax (L6230–6301); 95 290 weights (the book says "100 000")."""
    p = _size("p", p)
    return dense_network(
        (3072, p, p, p, p, 10),
        ("sigmoid",) * 4 + ("softmax",),
        name="cifar_dense",
        init=init,
        rngs=rngs,
    )


def mnist_cnn(*, init: Init = "keras", impl: ConvImpl = "fast", rngs: nnx.Rngs) -> Sequential:
    """28×28×1 → Conv2D(32, 3, same, relu) → Conv2D(16, 3, same, relu) → Flatten → Dense(10)
    (book L7380–7404): 320 + 4 624 + 125 450 = 130 394 weights."""
    c = partial(Conv2D, init=init, impl=impl, rngs=rngs)
    layers = [
        c(1, 32),
        c(32, 16),
        Flatten(),
        Dense(28 * 28 * 16, 10, "softmax", init=init, rngs=rngs),
    ]
    return Sequential(layers, input_shape=(28, 28, 1), name="mnist_cnn")


def cifar_cnn(
    *, pooling: bool = True, init: Init = "keras", impl: ConvImpl = "fast", rngs: nnx.Rngs
) -> Sequential:
    """32×32×3 → c64 → c64 → pool → c64 → pool → c64 → Flatten → Dense(10, softmax) (L7525–7581):
    153 546 weights; 767 946 without the two pooling layers (``pooling=False``, L7531)."""
    _check("pooling", pooling, isinstance(pooling, (bool, np.bool_)), "True or False")
    c = partial(Conv2D, init=init, impl=impl, rngs=rngs)
    pool = [MaxPool2D()] if pooling else []
    side = 8 if pooling else 32
    layers = [
        c(3, 64),
        c(64, 64),
        *pool,
        c(64, 64),
        *pool,
        c(64, 64),
        Flatten(),
        Dense(side * side * 64, 10, "softmax", init=init, rngs=rngs),
    ]
    return Sequential(
        layers, input_shape=(32, 32, 3), name="cifar_cnn" if pooling else "cifar_cnn_nopool"
    )


def cats_dogs_cnn(
    *, size: int = 64, init: Init = "keras", impl: ConvImpl = "fast", rngs: nnx.Rngs
) -> Sequential:
    """64×64×3 → 3 × [Conv2D(64, relu) → MaxPool 2×2 → Dropout(0.5)] → Flatten (4 096) → Dense(32)
    → Dense(1, sigmoid) (L7628–7711): 206 785 weights."""
    size = _size("size", size, minimum=8, why=" (three 2×2 poolings leave size // 8 pixels a side)")
    c = partial(Conv2D, init=init, impl=impl, rngs=rngs)
    layers: list[nnx.Module] = []
    channels = 3
    for _ in range(3):
        layers += [c(channels, 64), MaxPool2D(), Dropout(0.5, rngs=rngs)]
        channels = 64
    side = size // 8
    layers += [
        Flatten(),
        Dense(side * side * 64, 32, "relu", init=init, rngs=rngs),
        Dense(32, 1, "sigmoid", init=init, rngs=rngs),
    ]
    return Sequential(layers, input_shape=(size, size, 3), name="cats_dogs_cnn")


def viz_cnn(*, init: Init = "keras", impl: ConvImpl = "fast", rngs: nnx.Rngs) -> Sequential:
    """The "what the network sees" network (L7718–7733): 28×28×1 → Conv2D(16) → Conv2D(16) →
    MaxPool 2×2 → Flatten → Dense(10, softmax); 160 + 2 320 + 31 370 = 33 850 weights.
    ``features(x)[0:3]`` are the book's layers 1–3 (two convolutions, then the pooling)."""
    c = partial(Conv2D, init=init, impl=impl, rngs=rngs)
    layers = [
        c(1, 16),
        c(16, 16),
        MaxPool2D(),
        Flatten(),
        Dense(14 * 14 * 16, 10, "softmax", init=init, rngs=rngs),
    ]
    return Sequential(layers, input_shape=(28, 28, 1), name="viz_cnn")


@dataclasses.dataclass(frozen=True)
class BookModel:
    """A book network: its builder and the weight count the book prints (with the line)."""

    build: Callable[..., Sequential]
    weights: int
    book_line: int
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


#: The book's networks and their printed weight counts (viz_cnn's and the 1-D/2-D function
#: networks' counts are computed, the book prints none; the CIFAR dense count 95 290 is exact,
#: the book rounds it to "100 000").
BOOK_MODELS: dict[str, BookModel] = {
    "mnist_dense_p8": BookModel(mnist_dense, 6442, 5621, {"p": 8}),
    "mnist_dense_p10": BookModel(mnist_dense, 8070, 5622, {"p": 10}),
    # p = 15 is in the authors' script comment only (tf2_chiffres.py), beside the book's table.
    "mnist_dense_p15": BookModel(mnist_dense, 12175, 5620, {"p": 15}),
    "mnist_dense_p20": BookModel(mnist_dense, 16330, 5623, {"p": 20}),
    "mnist_dense_p50": BookModel(mnist_dense, 42310, 5624, {"p": 50}),
    "function_1d": BookModel(function_1d, 361, 5697),
    "function_2d": BookModel(function_2d, 261, 6030),
    "imdb_dense": BookModel(imdb_dense, 5071, 6196),
    "cifar_dense": BookModel(cifar_dense, 95290, 6292),
    "mnist_cnn": BookModel(mnist_cnn, 130394, 7404),
    "cifar_cnn": BookModel(cifar_cnn, 153546, 7531),
    "cifar_cnn_nopool": BookModel(cifar_cnn, 767946, 7531, {"pooling": False}),
    "cats_dogs_cnn": BookModel(cats_dogs_cnn, 206785, 7630),
    "viz_cnn": BookModel(viz_cnn, 33850, 7725),
}


def build(name: str, *, seed: int | jax.Array = 0, **kwargs: Any) -> Sequential:
    """Build a book network by name (``BOOK_MODELS``) with ``nnx.Rngs(seed)``."""
    if name not in BOOK_MODELS:
        raise ValueError(f"unknown book model {name!r}: use one of {sorted(BOOK_MODELS)}")
    spec = BOOK_MODELS[name]
    return spec.build(**{**spec.kwargs, **kwargs}, rngs=nnx.Rngs(params=seed, dropout=seed))
