"""Shared test helpers: the float32 tolerance of two implementations of one computation.

Two float32 programs that compute the same sums in different orders (XLA's Eigen or YNNPACK
convolutions, oneDNN, the compiled kernels, a hand-written loop; AVX-512, AVX2, SSE or NEON
builds, each blocking its reductions differently) do not round alike. The standard bound for
a sum of n terms (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2) is

    |fl(Σ t_i) − Σ t_i| ≤ γ_n Σ |t_i|,   γ_n = n·u / (1 − n·u),   u = eps / 2,

so two such evaluations differ by at most 2·γ_n·Σ|t_i| ≈ n·eps·Σ|t_i|. That is the tolerance
here: stated once, from the reduction length and the size of the terms, never tuned per
machine. ``scale`` is Σ|t_i| (an upper bound of it for the largest entry: e.g. the same
convolution of |x| and |K|); for a whole computation graph (a gradient through several
layers) ``reduction`` is the number of terms that reach one output (the sum of the lengths
of the reductions chained on its path) and ``scale`` the largest |value| met on the way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)  # 2⁻²³ ≈ 1.19e-7


def float32_tolerance(reduction: int, scale: Any) -> Any:
    """Absolute difference allowed between two float32 evaluations of sums of ``reduction``
    terms whose absolute values add up to at most ``scale``: ``reduction · eps · scale``
    (two evaluations, each within γ_n·Σ|t_i| ≈ n·(eps/2)·Σ|t_i| of the exact sum).
    ``scale`` is a number, or an array of element-wise Σ|t_i|."""
    if reduction < 1:
        raise ValueError(f"reduction must be a positive number of terms, got {reduction}")
    return reduction * EPS32 * np.asarray(scale, np.float64)


def assert_float32_close(
    got: Any, want: Any, *, reduction: int, scale: Any = None, err_msg: str = ""
) -> None:
    """``got`` equals ``want`` within :func:`float32_tolerance` (element-wise, absolute).

    ``scale`` defaults to the largest |want| (a norm-wise bound: right when the terms do not
    cancel much); pass Σ|t_i| (a number, or an array element-wise) where they do, e.g. the
    same computation on |x| and |K|.
    """
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"shapes differ: {got.shape} and {want.shape}. {err_msg}")
    if scale is None:
        scale = float(np.abs(want).max(initial=0.0))
    tol = np.broadcast_to(float32_tolerance(reduction, scale), want.shape)
    error = np.abs(got - want)
    bad = ~(error <= tol)  # NaN differences fail
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, error - tol, -np.inf)), want.shape)
        raise AssertionError(
            f"{int(bad.sum())} of {want.size} entries differ by more than {reduction}·eps·scale; "
            f"worst at {tuple(int(j) for j in i)}: got {got[i]!r}, want {want[i]!r}, "
            f"|diff| {error[i]:.3g} > {tol[i]:.3g}. {err_msg}"
        )


def assert_within(got: Any, want: Any, tol: Any, *, err_msg: str = "") -> None:
    """``|got − want| ≤ tol`` element-wise, for a tolerance assembled from several
    :func:`float32_tolerance` terms (e.g. a backward pass plus the forward error it carries);
    NaN differences fail."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"shapes differ: {got.shape} and {want.shape}. {err_msg}")
    tol = np.broadcast_to(np.asarray(tol, np.float64), want.shape)
    error = np.abs(got - want)
    bad = ~(error <= tol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, error - tol, -np.inf)), want.shape)
        raise AssertionError(
            f"{int(bad.sum())} of {want.size} entries differ by more than the tolerance; worst at "
            f"{tuple(int(j) for j in i)}: got {got[i]!r}, want {want[i]!r}, "
            f"|diff| {error[i]:.3g} > {tol[i]:.3g}. {err_msg}"
        )
