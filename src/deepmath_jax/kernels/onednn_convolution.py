"""The 'same' convolution of a Keras ``Conv2D`` layer run by oneDNN on x86-64 CPUs — chapter 14,
*convolution avec tensorflow/keras* (convolution with TensorFlow/Keras), book L7482–7493:

    y[b, h, w, o] = Σ_{i, j, c} x̃[b, h+i, w+j, c] K[i, j, c, o]

(a correlation, stride 1, zero padding k//2, images NHWC, kernels HWIO — the same function as
:func:`deepmath_jax.engine.models.conv2d_same`).

Why: jaxlib's x86-64 CPU backend links Intel's oneDNN and can run a convolution as XLA's own
``__onednn$convolution`` custom call (the form XLA's oneDNN rewriter emits, executed by its
``OneDnnOpThunk``), but its compiler pipeline never produces it: convolutions go to Eigen or
YNNPACK. oneDNN's direct convolution is the fastest of the three for the MNIST network's 32→16
layer (batch 32, 2-core Xeon, inside the training step: forward ≈ 1.0 ms and input gradient
≈ 0.85 ms, against Eigen's 1.6 and 1.3 ms). The package's own compiled kernels
(:mod:`deepmath_jax.kernels.build`) are faster still; :mod:`deepmath_jax.engine.models` falls back to this
path where they are unavailable.

:data:`conv_same_p` is a JAX primitive with that lowering on CPU and ``lax.conv_general_dilated``
everywhere else — on GPU and TPU, for non-float32 dtypes, for empty arrays, in programs that XLA
partitions over several devices (its partitioner knows no rule for the custom call; the body of
a ``jax.shard_map`` manual over the whole mesh sees one device's arrays and keeps oneDNN), and
when :func:`available` says no. The custom call and its JSON configuration are XLA internals
that can change between jaxlib versions and that abort the process when oneDNN rejects them, so
:func:`available` first runs the convolution in a separate Python process and compares it with
``lax``; ``DEEPMATH_ONEDNN_CONV=0`` turns the path off, ``=1`` skips that check.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Primitive
from jax.extend.mlir import ir
from jax.extend.mlir.dialects import stablehlo
from jax.interpreters import ad, batching, mlir

Array = jax.Array

#: images NHWC, kernels HWIO, as Keras (``dimension_numbers`` of ``lax.conv_general_dilated``)
NHWC_HWIO = ("NHWC", "HWIO", "NHWC")
_TARGET = "__onednn$convolution"
ENV_SWITCH = "DEEPMATH_ONEDNN_CONV"


def reference(x: Array, kernel: Array) -> Array:
    """The same convolution with ``lax.conv_general_dilated`` (what every non-oneDNN path runs)."""
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=NHWC_HWIO)


conv_same_p = Primitive("deepmath_conv_same")


def check_conv_args(x: Array, kernel: Array, name: str = "conv2d_same") -> None:
    """A clear error for images that are not (B, H, W, C), a kernel that is not (k, k, C, O)
    with k odd, or channels that disagree."""
    if x.ndim != 4:
        raise ValueError(
            f"{name} expects images (batch, height, width, channels), got shape {x.shape}"
        )
    if kernel.ndim != 4 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"kernel must be (k, k, in, out) with k odd, got shape {kernel.shape}")
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"kernel expects {kernel.shape[2]} input channels, the images have {x.shape[3]} "
            f"(images {x.shape}, kernel {kernel.shape})"
        )


def conv_same(x: Array, kernel: Array) -> Array:
    """y = conv(x, K), 'same' padding, stride 1 (x: (B, H, W, C), K: (k, k, C, O), k odd);
    oneDNN's convolution on x86-64 CPUs where :func:`available`, ``lax`` elsewhere."""
    check_conv_args(x, kernel, "conv_same")
    return conv_same_p.bind(x, kernel)


def _abstract_eval(x, kernel):
    return jax.core.ShapedArray((*x.shape[:3], kernel.shape[3]), jnp.result_type(x, kernel))


conv_same_p.def_abstract_eval(_abstract_eval)
_bind_jitted = jax.jit(conv_same_p.bind)  # eager calls compile the primitive, oneDNN included
conv_same_p.def_impl(lambda x, kernel: _bind_jitted(x, kernel))

# Derivatives and vmap through lax's convolution (bilinear: the tangent is linear in ẋ and K̇, so
# lax's transpose rules give the reverse mode, and second derivatives of the layers work).
ad.defjvp(
    conv_same_p,
    lambda x_dot, x, kernel: reference(x_dot, kernel),
    lambda kernel_dot, x, kernel: reference(x, kernel_dot),
)


def _batch_rule(args, dims):
    return jax.vmap(reference, in_axes=dims)(*args), 0


batching.primitive_batchers[conv_same_p] = _batch_rule

_lower_reference = mlir.lower_fun(reference, multiple_results=False)
mlir.register_lowering(conv_same_p, _lower_reference)


def onednn_config(kernel_size: int) -> dict:
    """The ``backend_config`` of XLA's ``__onednn$convolution`` for an NHWC × HWIO → NHWC 'same'
    convolution (``OneDnnConvolutionConfig`` of ``xla/service/cpu/onednn_config.proto`` in its
    JSON form, with the offsets this jaxlib's runtime expects: zero-based dimension indices,
    padding and strides as they are, dilations as XLA's (1 = none))."""
    pad = kernel_size // 2
    data = {"batch_dim": 0, "feature_dim": 3, "spatial_dims": [1, 2]}
    return {
        "onednn_conv_config": {
            "dims": 4,
            "input": {"dims": 4, "data": data},
            "kernel": {
                "dims": 4,
                "filter": {"input_feature_dim": 2, "output_feature_dim": 3, "spatial_dims": [0, 1]},
            },
            "output": {"dims": 4, "data": data},
            "window": {
                "size": [kernel_size] * 2,
                "pad_left": [pad] * 2,
                "pad_right": [pad] * 2,
                "strides": [1, 1],
                "window_dilations": [1, 1],
            },
            "feature_groups": 1,
        }
    }


def local_program(ctx) -> bool:
    """Does this lowering see one device's arrays: a one-device program, or the body of a
    ``shard_map`` manual over every mesh axis (each device runs it on its own share)?"""
    axis_context = ctx.module_context.axis_context
    if isinstance(axis_context, mlir.ShardingContext):
        return axis_context.num_devices == 1
    if isinstance(axis_context, mlir.SPMDAxisContext):
        return set(axis_context.mesh.axis_names) <= set(axis_context.manual_axes)
    return False


def _lower_cpu(ctx, x, kernel):
    x_aval, k_aval = ctx.avals_in
    (out_aval,) = ctx.avals_out
    usable = (
        x_aval.dtype == np.float32
        and k_aval.dtype == np.float32
        and all(d > 0 for d in (*x_aval.shape, *k_aval.shape))
        and local_program(ctx)
        and available()
    )
    if not usable:
        return _lower_reference(ctx, x, kernel)
    row_major = ir.DenseIntElementsAttr.get(np.array([3, 2, 1, 0], np.int64), type=ir.IndexType.get())
    op = stablehlo.CustomCallOp(
        [mlir.aval_to_ir_type(ctx.module_context, out_aval)],
        [x, kernel],
        ir.StringAttr.get(_TARGET),
        backend_config=ir.StringAttr.get(json.dumps(onednn_config(k_aval.shape[0]))),
        api_version=ir.IntegerAttr.get(ir.IntegerType.get_signless(32), 1),
        operand_layouts=ir.ArrayAttr.get([row_major, row_major]),
        result_layouts=ir.ArrayAttr.get([row_major]),
    )
    return op.results


mlir.register_lowering(conv_same_p, _lower_cpu, platform="cpu")

# ---------------------------------------------------------------------------------------------
# Is the oneDNN custom call usable here?
# ---------------------------------------------------------------------------------------------

_PROBE_SHAPES = (((2, 7, 6, 3), (3, 3, 3, 5)), ((1, 9, 9, 4), (5, 5, 4, 2)))


def _probe() -> float:
    """Largest relative difference between the oneDNN and lax convolutions on small inputs
    (run in the child process of :func:`available`)."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for x_shape, k_shape in _PROBE_SHAPES:
        x = jnp.asarray(rng.standard_normal(x_shape, np.float32))
        k = jnp.asarray(rng.standard_normal(k_shape, np.float32))
        got = np.asarray(jax.jit(conv_same)(x, k))
        want = np.asarray(reference(x, k))
        worst = max(worst, float(np.max(np.abs(got - want)) / np.max(np.abs(want))))
    return worst


@functools.cache
def available() -> bool:
    """Whether the CPU convolutions of this process use oneDNN: x86-64, a jaxlib whose CPU
    backend runs ``__onednn$convolution``, checked once per process by running it in a child
    process (≈ 1–2 s; a rejected configuration aborts that process, not this one) and comparing
    it with ``lax.conv_general_dilated``. ``DEEPMATH_ONEDNN_CONV=0`` / ``=1`` decide instead."""
    switch = os.environ.get(ENV_SWITCH, "").strip()
    if switch in ("0", "1"):
        return switch == "1"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    env = dict(os.environ, JAX_PLATFORMS="cpu", **{ENV_SWITCH: "1"})
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "deepmath_jax.kernels.onednn_convolution"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip().endswith("ok")


if __name__ == "__main__":  # the check of available(), in its own process
    error = _probe()
    print(f"oneDNN convolution: largest relative difference with lax {error:.2e}")
    if error > 1e-5:
        sys.exit(1)
    print("ok")
