"""The weight gradient of a 'same' convolution layer — chapter 12 *Convolution*, §4
*Rétropropagation* (backpropagation through shared weights), book L7013:

    ∂F/∂a = Σ_i f_{i,*} · g'_{i,*} · ∂F/∂g_i

for a weight a shared by the neurons i. Every tap (i, j) of a Keras ``Conv2D`` kernel is such a
shared weight, so for the layer's pre-activation gradient δ = ∂F/∂z (images NHWC, kernel HWIO,
zero padding p = k//2, as :func:`deepmath_jax.models.conv2d_same`):

    dW[i, j, c, o] = Σ_{b, h, w} x̃[b, h+i, w+j, c] · δ[b, h, w, o].

:func:`reference` is that sum as one ``lax`` convolution (the form XLA:CPU's Eigen kernels run
fastest, ≈ 2.8 ms for the MNIST network's 32→16 layer at batch 32 on a 2-core Xeon — about a
third of the training step). :func:`weight_gradient` runs it instead as a small C++ kernel
(``kernels/conv_weight_gradient.cc``) called through XLA's FFI: broadcast-FMAs into a register
block of dW, reading x and δ in place, its images spread over XLA's CPU threads (≈ 0.9 ms for the
same layer). The kernel is compiled once per machine with the system's C++ compiler (``$CXX``,
else ``c++``; ≈ 2 s) into ``$DEEPMATH_KERNEL_CACHE`` (default ``~/.cache/deepmath_jax``) and
checked against the float64 sum on small shapes before its first use in a process (:func:`available`).

The custom call is used on CPU for float32 operands whose channels fit the kernel's SIMD blocks,
in programs that run on one device or in the body of a ``jax.shard_map`` manual over the whole
mesh; everything else — GPU and TPU, other dtypes, other channel counts, programs XLA partitions
over several devices, no compiler — lowers to :func:`reference`. ``DEEPMATH_CONV_KERNEL=0``
turns the kernel off, ``=1`` requires it (an error says why it cannot be built).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from deepmath_jax.onednn_convolution import NHWC_HWIO, local_program

Array = jax.Array

ENV_SWITCH = "DEEPMATH_CONV_KERNEL"
ENV_CACHE = "DEEPMATH_KERNEL_CACHE"
_SOURCE = Path(__file__).with_name("kernels") / "conv_weight_gradient.cc"
_TARGET = "deepmath_conv_weight_gradient"
_FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=fast", "-w")


def check_args(x: Array, delta: Array, k: int) -> None:
    """A clear error for operands that are not (B, H, W, C) images and a (B, H, W, O) gradient
    of the same batch and size, or a kernel size that is not odd."""
    if x.ndim != 4 or delta.ndim != 4:
        raise ValueError(
            "weight_gradient expects images x (batch, height, width, in) and the output gradient "
            f"(batch, height, width, out), got shapes {x.shape} and {delta.shape}"
        )
    if x.shape[:3] != delta.shape[:3]:
        raise ValueError(
            f"x {x.shape} and the output gradient {delta.shape} must share batch, height and width "
            "(a 'same' convolution keeps the image size)"
        )
    if not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"the kernel size k must be an odd positive int, got {k!r}")


def reference(x: Array, delta: Array, k: int) -> Array:
    """dW = Σ x̃·δ with ``lax``: a convolution whose *input* is δ (its channels o play the batch,
    the images b the input channels) and whose *kernel* is x (spatial extent H×W). XLA's CPU
    convolution runs this arrangement ≈ 1.6× faster than the one JAX's transpose rule emits
    (images as the batch). Its tap index comes out reversed (i' = k−1−i), hence the flip. The
    operands are transposed explicitly to the canonical NHWC / HWIO layouts: XLA:CPU then calls
    its library convolution everywhere, also inside a ``lax.scan`` body, where a convolution with
    other dimension numbers falls back to a naive loop ≈ 35× slower."""
    p = k // 2
    out = lax.conv_general_dilated(
        delta.transpose(3, 1, 2, 0),  # (o, h, w, b): o the batch, b the input channels
        x.transpose(1, 2, 0, 3),  # (h, w, b, c): an H×W kernel from b to c
        (1, 1),
        ((p, p), (p, p)),
        dimension_numbers=NHWC_HWIO,
    )  # (o, k, k, c), taps reversed
    return out[:, ::-1, ::-1, :].transpose(1, 2, 3, 0)


weight_gradient_p = Primitive("deepmath_conv_weight_gradient")


def weight_gradient(x: Array, delta: Array, k: int) -> Array:
    """dW[i, j, c, o] = Σ_{b,h,w} x̃[b, h+i, w+j, c] δ[b, h, w, o] (book L7013 for every tap) of
    the 'same' convolution of x (B, H, W, C) by a (k, k, C, O) kernel, δ (B, H, W, O) the
    gradient of its output: the compiled CPU kernel where usable, :func:`reference` elsewhere."""
    check_args(x, delta, k)
    return weight_gradient_p.bind(x, delta, k=k)


def _abstract_eval(x, delta, *, k):
    dtype = jnp.result_type(x, delta)
    return jax.core.ShapedArray((k, k, x.shape[3], delta.shape[3]), dtype)


weight_gradient_p.def_abstract_eval(_abstract_eval)
_bind_jitted = jax.jit(weight_gradient_p.bind, static_argnames="k")
weight_gradient_p.def_impl(lambda x, delta, *, k: _bind_jitted(x, delta, k=k))

# Bilinear in (x, δ): the tangent goes through lax, whose transpose rules give reverse mode.
ad.defjvp(
    weight_gradient_p,
    lambda x_dot, x, delta, *, k: reference(x_dot, delta, k),
    lambda delta_dot, x, delta, *, k: reference(x, delta_dot, k),
)


def _batch_rule(args, dims, *, k):
    return jax.vmap(functools.partial(reference, k=k), in_axes=dims)(*args), 0


batching.primitive_batchers[weight_gradient_p] = _batch_rule

_lower_reference = mlir.lower_fun(reference, multiple_results=False)
mlir.register_lowering(weight_gradient_p, _lower_reference)


def fits_kernel(channels_in: int, channels_out: int) -> bool:
    """Whether the compiled kernel covers these channel counts (input channels a multiple of its
    SIMD width; checked after :func:`available` has built it)."""
    lanes = _lanes()
    return lanes > 0 and channels_in % lanes == 0 and channels_out > 0


def _lower_cpu(ctx, x, delta, *, k):
    x_aval, d_aval = ctx.avals_in
    usable = (
        x_aval.dtype == np.float32
        and d_aval.dtype == np.float32
        and all(d > 0 for d in (*x_aval.shape, *d_aval.shape))
        and local_program(ctx)
        and available()
        and fits_kernel(x_aval.shape[3], d_aval.shape[3])
    )
    if not usable:
        return _lower_reference(ctx, x, delta, k=k)
    return jax.ffi.ffi_lowering(_TARGET)(ctx, x, delta)


mlir.register_lowering(weight_gradient_p, _lower_cpu, platform="cpu")

# ---------------------------------------------------------------------------------------------
# Building, loading and checking the kernel
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$DEEPMATH_KERNEL_CACHE``, else
    ``$XDG_CACHE_HOME/deepmath_jax`` (``~/.cache/deepmath_jax``)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deepmath_jax"


def _machine_id() -> str:
    """What -march=native depends on: the CPU model and its feature flags."""
    cpu = platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu += "".join([ln for ln in lines if ln.startswith(("model name", "flags", "Features"))][:3])
    except OSError:
        cpu += platform.processor()
    return cpu


def _jaxlib_version() -> str:
    try:
        return importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        return jax.__version__


def build(compiler: str | None = None) -> Path:
    """Compile ``kernels/conv_weight_gradient.cc`` for this machine (once: the library is kept
    under :func:`cache_dir`, keyed by the source, the flags, the compiler, jaxlib's FFI headers
    and the CPU) and return its path. Raises ``RuntimeError`` naming the problem when no C++
    compiler is found or the compilation fails."""
    cxx = compiler or os.environ.get("CXX") or "c++"
    exe = shutil.which(cxx)
    if exe is None:
        raise RuntimeError(
            f"no C++ compiler {cxx!r} on PATH: install one (e.g. `apt-get install g++`) or set "
            f"CXX; {ENV_SWITCH}=0 uses the lax weight gradient instead"
        )
    include = jax.ffi.include_dir()
    key = hashlib.sha256()
    for part in (_SOURCE.read_text(), " ".join(_FLAGS), exe, _jaxlib_version(), include,
                 _machine_id()):
        key.update(part.encode())
    target = cache_dir() / f"conv_weight_gradient-{key.hexdigest()[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Compile next to the target and rename: parallel processes (pytest-xdist) never see half a file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [exe, *_FLAGS, f"-I{include}", str(_SOURCE), "-o", tmp]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"compiling {_SOURCE.name} failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@functools.cache
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(build()))
    jax.ffi.register_ffi_target(
        _TARGET, jax.ffi.pycapsule(lib.DeepmathConvWeightGradient), platform="cpu"
    )
    return lib


def _lanes() -> int:
    try:
        return int(_library().DeepmathConvWeightGradientLanes())
    except (RuntimeError, OSError):
        return 0


_CHECK_SHAPES = (((3, 7, 6, 32), 16, 3), ((2, 9, 5, 16), 24, 5), ((17, 4, 4, 64), 7, 1))


def _sum_by_definition(x: np.ndarray, delta: np.ndarray, k: int) -> np.ndarray:
    """dW = Σ x̃·δ in float64 NumPy, tap by tap (for the check: no XLA compilation)."""
    p = k // 2
    h, w = x.shape[1:3]
    xp = np.pad(x.astype(np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    return np.stack([
        np.stack([np.einsum("bhwc,bhwo->co", xp[:, i : i + h, j : j + w], delta) for j in range(k)])
        for i in range(k)
    ])


def _check() -> float:
    """Largest relative difference between the kernel and the float64 sum on small shapes
    (batch above and below the kernel's 16 chunks, k = 1, 3, 5, odd output channels), all in
    one compiled program (a fresh function: no later jit of weight_gradient reuses it)."""
    rng = np.random.default_rng(0)
    lanes = _lanes()
    cases = [((b, h, w, max(lanes, c // lanes * lanes)), o, k) for (b, h, w, c), o, k in _CHECK_SHAPES]
    args = [(rng.standard_normal(xs).astype(np.float32),
             rng.standard_normal((*xs[:3], o)).astype(np.float32)) for xs, o, k in cases]
    ks = [k for _, _, k in cases]

    def kernels(args):
        return [weight_gradient(x, d, k) for (x, d), k in zip(args, ks, strict=True)]

    worst = 0.0
    for got, (x, d), k in zip(jax.jit(kernels)(args), args, ks, strict=True):
        want = _sum_by_definition(x, d, k)
        worst = max(worst, float(np.max(np.abs(np.asarray(got) - want)) / np.max(np.abs(want))))
    return worst


_verdict: bool | None = None  # the check's result, once per process
_checking = False  # while checking, the check's own programs lower to the kernel


def available() -> bool:
    """Whether this process's CPU weight gradients use the compiled kernel: built (or found in
    the cache) and equal to the float64 sum on small shapes (≈ 30 ms), checked once per process.
    ``DEEPMATH_CONV_KERNEL=0`` says no; ``=1`` raises if it cannot be built or disagrees."""
    global _verdict, _checking
    switch = os.environ.get(ENV_SWITCH, "").strip()
    if switch == "0":
        return False
    if _checking:
        return True
    if _verdict is None:
        problem = None
        _checking = True
        try:
            _library()
            error = _check()
            if error > 1e-5:
                problem = f"it differs from lax by {error:.1e} (relative)"
        except (RuntimeError, OSError) as err:
            problem = str(err)
        finally:
            _checking = False
        if problem is not None and switch == "1":
            raise RuntimeError(f"{ENV_SWITCH}=1 but the conv weight-gradient kernel is unusable: "
                               f"{problem}")
        _verdict = problem is None
    return _verdict
