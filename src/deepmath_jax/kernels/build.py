"""Compiled CPU kernels for the convolution layers of the book's CNNs — chapter 14
*Convolution avec tensorflow/keras* (the forward pass y = act(conv(x, K) + b), book L7482–7493)
and chapter 12 *Convolution*, §4 *Rétropropagation* (the weight gradient, L7013).

``kernels/convolution.cc`` holds three XLA FFI custom calls (see its header for the method):

- ``deepmath_conv_layer``: y = act(Σ_{i,j,c} x̃[b,h+i,w+j,c] K[i,j,c,o] + bias[o]), 3×3 kernels,
  act = ReLU or identity (:mod:`deepmath_jax.kernels.conv_layer_forward`; also the input gradient);
- ``deepmath_conv_weight_gradient``: dW[i,j,c,o] = Σ_{b,h,w} x̃[b,h+i,w+j,c] δ[b,h,w,o]
  (:mod:`deepmath_jax.kernels.conv_weight_gradient`);
- ``deepmath_conv_weight_gradient_one_channel``: the same for one input channel, with
  db[o] = Σ_{b,h,w} δ[b,h,w,o].

The library is compiled once per machine with the system's C++ compiler (``$CXX``, else
``c++``; -O3 -march=native and ``$DEEPMATH_KERNEL_FLAGS``, ≈ 5 s) into ``$DEEPMATH_KERNEL_CACHE`` (default
``~/.cache/deepmath_jax``), keyed by the source, the compiler, jaxlib and the CPU; before its
first use in a process :func:`available` runs the three kernels on small shapes and compares
them with float64 NumPy sums (≈ 0.1 s). ``DEEPMATH_CONV_KERNELS=0`` turns them off (the
primitives then lower to their ``lax`` / oneDNN forms), ``=1`` requires them (an error says why
they cannot be built).
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
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from deepmath_jax.kernels.onednn_convolution import local_program

ENV_SWITCH = "DEEPMATH_CONV_KERNELS"
ENV_CACHE = "DEEPMATH_KERNEL_CACHE"
ENV_FLAGS = "DEEPMATH_KERNEL_FLAGS"  # extra compiler flags, after the defaults (e.g. -march=haswell)
SOURCE = Path(__file__).with_name("convolution.cc")
#: FFI target name → the handler symbol in the library
TARGETS = {
    "deepmath_conv_layer": "DeepmathConvLayer",
    "deepmath_conv_weight_gradient": "DeepmathConvWeightGradient",
    "deepmath_conv_weight_gradient_one_channel": "DeepmathConvWeightGradientOneChannel",
}
_FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=fast", "-w")


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
    """Compile ``kernels/convolution.cc`` for this machine (once: the library is kept under
    :func:`cache_dir`, keyed by the source, the flags, the compiler, jaxlib and the CPU) and
    return its path. Raises ``RuntimeError`` naming the problem when no C++ compiler is found or
    the compilation fails."""
    cxx = compiler or os.environ.get("CXX") or "c++"
    exe = shutil.which(cxx)
    if exe is None:
        raise RuntimeError(
            f"no C++ compiler {cxx!r} on PATH: install one (e.g. `apt-get install g++`) or set "
            f"CXX; {ENV_SWITCH}=0 uses the lax / oneDNN convolutions instead"
        )
    include = jax.ffi.include_dir()
    flags = [*_FLAGS, *os.environ.get(ENV_FLAGS, "").split()]
    key = hashlib.sha256()
    for part in (SOURCE.read_text(), " ".join(flags), exe, _jaxlib_version(), include,
                 _machine_id()):
        key.update(part.encode())
    target = cache_dir() / f"convolution-{key.hexdigest()[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Compile next to the target and rename: parallel processes (pytest-xdist) never see half a file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [exe, *flags, f"-I{include}", str(SOURCE), "-o", tmp]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"compiling {SOURCE.name} failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@functools.cache
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(build()))
    for target, symbol in TARGETS.items():
        jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    return lib


def lanes() -> int:
    """Floats per SIMD register of the compiled library (16 with AVX-512, 8 with AVX2, 4 else);
    0 when it cannot be built."""
    try:
        return int(_library().DeepmathConvolutionLanes())
    except (RuntimeError, OSError):
        return 0


def usable(ctx) -> bool:
    """May this lowering emit the kernels: float32 operands, none empty, a program that sees
    one device's arrays (one device, or a ``shard_map`` body manual over the whole mesh: XLA's
    partitioner has no rule for a custom call), and :func:`available`."""
    avals = (*ctx.avals_in, *ctx.avals_out)
    return (
        all(a.dtype == np.float32 and a.size > 0 for a in avals)
        and local_program(ctx)
        and available()
    )


def kernel_primitive(
    name: str,
    reference: Callable,
    *,
    applies: Callable[..., bool],
    attributes: Sequence[str] = (),
    multiple_results: bool = False,
) -> Primitive:
    """A JAX primitive equal to ``reference(*arrays, **params)`` that lowers on CPU to the FFI
    custom call ``name`` (one of :data:`TARGETS`) when :func:`usable` and
    ``applies(avals_in, lanes, **params)`` — passing it the params named in ``attributes`` — and to
    ``reference`` everywhere else. Shapes, JVP (hence every derivative) and vmap come from
    ``reference``; an eager call compiles the primitive, kernel included."""
    prim = Primitive(name)
    prim.multiple_results = multiple_results

    def abstract_eval(*avals, **params):
        out = jax.eval_shape(functools.partial(reference, **params), *avals)
        return jax.tree.map(lambda o: jax.core.ShapedArray(o.shape, o.dtype), out)

    @functools.cache
    def jitted(params: tuple) -> Callable:
        return jax.jit(functools.partial(prim.bind, **dict(params)))

    def jvp(primals, tangents, **params):
        tangents = tuple(ad.instantiate_zeros(t) for t in tangents)
        return jax.jvp(functools.partial(reference, **params), tuple(primals), tangents)

    def batch(args, dims, **params):
        out = jax.vmap(functools.partial(reference, **params), in_axes=dims)(*args)
        return out, ((0,) * len(out) if multiple_results else 0)

    lower_reference = mlir.lower_fun(reference, multiple_results=multiple_results)

    def lower_cpu(ctx, *args, **params):
        n = lanes() if usable(ctx) else 0
        if n and applies(ctx.avals_in, n, **params):
            return jax.ffi.ffi_lowering(name)(ctx, *args, **{a: params[a] for a in attributes})
        return lower_reference(ctx, *args, **params)

    prim.def_abstract_eval(abstract_eval)
    prim.def_impl(lambda *args, **params: jitted(tuple(sorted(params.items())))(*args))
    ad.primitive_jvps[prim] = jvp
    batching.primitive_batchers[prim] = batch
    mlir.register_lowering(prim, lower_reference)
    mlir.register_lowering(prim, lower_cpu, platform="cpu")
    return prim


def _definition_conv(x, kernel, bias, relu):
    b, h, w, _ = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = sum(np.einsum("bhwc,co->bhwo", xp[:, i : i + h, j : j + w], kernel[i, j])
            for i in range(3) for j in range(3)) + bias
    return np.maximum(y, 0) if relu else y


def _definition_weight_gradient(x, delta, k):
    p = k // 2
    h, w = x.shape[1:3]
    xp = np.pad(x.astype(np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    return np.stack([
        np.stack([np.einsum("bhwc,bhwo->co", xp[:, i : i + h, j : j + w], delta) for j in range(k)])
        for i in range(k)
    ])


def _check() -> float:
    """Largest relative difference between the three kernels and float64 NumPy sums on small
    shapes (widths with and without a divisor block, batches below and above the weight
    gradients' 16 chunks), in one compiled program of fresh functions (no later jit reuses it)."""
    from deepmath_jax.kernels import conv_layer_forward as fwd
    from deepmath_jax.kernels import conv_weight_gradient as cwg

    rng = np.random.default_rng(0)
    n = lanes()

    def draw(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    convs = [(draw(2, 5, 28, n), draw(3, 3, n, 2 * n), draw(2 * n)),
             (draw(3, 4, 9, 1), draw(3, 3, 1, n), draw(n))]
    relus = [True, False]
    grads = [(draw(3, 7, 6, 2 * n), draw(3, 7, 6, 7)), (draw(17, 4, 5, n), draw(17, 4, 5, 3))]
    ks = [3, 5]
    ones = [(draw(17, 6, 5, 1), draw(17, 6, 5, 2 * n))]

    def kernels(convs, grads, ones):
        return ([fwd.conv_layer(*c, relu=r) for c, r in zip(convs, relus, strict=True)],
                [cwg.weight_gradient(*g, k) for g, k in zip(grads, ks, strict=True)],
                [cwg.weight_and_bias_gradient_one_channel(*o, 3) for o in ones])

    got = jax.jit(kernels)(convs, grads, ones)
    wants = ([_definition_conv(*c, r) for c, r in zip(convs, relus, strict=True)],
             [_definition_weight_gradient(*g, k) for g, k in zip(grads, ks, strict=True)],
             [(_definition_weight_gradient(x, d, 3), d.astype(np.float64).sum((0, 1, 2)))
              for x, d in ones])
    worst = 0.0
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(wants), strict=True):
        worst = max(worst, float(np.max(np.abs(np.asarray(g) - w)) / np.max(np.abs(w))))
    return worst


_verdict: bool | None = None  # the check's result, once per process
_checking = False  # while checking, the check's own programs lower to the kernels


def available() -> bool:
    """Whether this process's CPU convolution layers use the compiled kernels: built (or found
    in the cache) and equal to float64 sums on small shapes, checked once per process.
    ``DEEPMATH_CONV_KERNELS=0`` says no; ``=1`` raises if they cannot be built or disagree."""
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
                problem = f"they differ from float64 sums by {error:.1e} (relative)"
        except (RuntimeError, OSError) as err:
            problem = str(err)
        finally:
            _checking = False
        if problem is not None and switch == "1":
            raise RuntimeError(f"{ENV_SWITCH}=1 but the CPU convolution kernels are unusable: "
                               f"{problem}")
        _verdict = problem is None
    return _verdict
