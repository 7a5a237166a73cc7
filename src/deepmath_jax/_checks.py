"""Argument checks shared by the whole package: one message for one mistake.

Each check runs on the host, before JAX sees the value, and raises an error that names the
argument, the value received and what is allowed: a ``TypeError`` for a value of the wrong
kind (a string for an array, a float for a count, an int for a PRNG key), a ``ValueError``
for a value of the right kind outside its range (a negative size, an empty array, an
unknown name). Values traced by ``jax.jit`` pass the checks that need concrete values
(:func:`is_concrete` says which those are).
"""

from __future__ import annotations

import math
import numbers
import operator
import reprlib
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

__all__ = [
    "choice",
    "integer",
    "is_concrete",
    "is_real_dtype",
    "prng_key",
    "real_array",
    "real_number",
]


def is_concrete(x: Any) -> bool:
    """Whether ``x`` has a value now (not a tracer inside ``jax.jit`` / ``grad`` / ``vmap``)."""
    return not isinstance(x, jax.core.Tracer)


def is_real_dtype(dtype: Any) -> bool:
    """Booleans, integers and floats (not complex, strings or objects)."""
    dtype = np.dtype(dtype) if not hasattr(dtype, "kind") else dtype
    return dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)


def _dtype_of(x: Any) -> Any:
    dtype = getattr(x, "dtype", None)  # JAX / NumPy arrays and scalars
    if dtype is not None:
        return dtype
    try:
        return np.asarray(x).dtype
    except (TypeError, ValueError):  # ragged lists, objects NumPy cannot read
        return np.dtype(object)


def real_array(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    allow_empty: bool = True,
    float_dtype: bool = False,
) -> Array:
    """``x`` as a JAX array of real numbers, after checking its kind and rank.

    Args:
      x: a number, a (nested) list, a NumPy or JAX array.
      name: how the error names it (``"input 'x'"``, ``"the motif g"``).
      ndim: the allowed rank(s), e.g. ``1`` or ``(1, 2)``; ``None``: any.
      allow_empty: whether an array with no element is accepted.
      float_dtype: give integers and booleans the default float dtype (float64 under x64):
        for values that are computed with, not counted.

    Raises:
      TypeError: ``x`` is not real (a string, ``None``, complex, objects); its type is named.
      ValueError: the rank is not allowed, or the array is empty when it must not be.
    """
    dtype = _dtype_of(x)
    if isinstance(x, (str, bytes)) or not is_real_dtype(dtype):
        raise TypeError(
            f"{name} must be a real number or an array of real numbers, got "
            f"{type(x).__name__} {reprlib.repr(x)} (dtype {dtype})"
        )
    a = jnp.asarray(x)
    if a.dtype == jnp.bool_:
        a = a.astype(jnp.int32)
    if float_dtype and not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            ranks = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {ranks}, got shape {tuple(a.shape)} ({a.ndim}-D)")
    if not allow_empty and a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(a.shape)}")
    return a


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python ``int`` in ``[minimum, maximum]`` (a size, a count, an index).

    Integers and NumPy integers are accepted; ``True``/``False`` and floats (even ``2.0``)
    are refused: ``Dense(4, 2.5)`` is a slip, not two neurons.
    """
    allowed = "an integer" + (
        f" in [{minimum}, {maximum}]" if minimum is not None and maximum is not None
        else f" ≥ {minimum}" if minimum is not None
        else f" ≤ {maximum}" if maximum is not None
        else ""
    )
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {reprlib.repr(value)}") from None
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return int(v)


def real_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite Python ``float`` in the interval from ``low`` to ``high``
    (closed unless ``low_open`` / ``high_open``): a rate, a step size, a temperature."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'−∞' if low is None else f'{low:g}'}, {'∞' if high is None else f'{high:g}'}{right}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if not (isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0 and is_real_dtype(value.dtype)):
            raise TypeError(f"{name} must be a real number in {interval}, got "
                            f"{type(value).__name__} {reprlib.repr(value)}")
    v = float(value)
    ok = math.isfinite(v)
    if low is not None:
        ok &= v > low if low_open else v >= low
    if high is not None:
        ok &= v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{name} must be a real number in {interval}, got {v:g}")
    return v


def choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (names of modes, activations, losses…)."""
    options = list(choices)
    if not any(value == c and type(value) is type(c) for c in options):
        shown = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")
    return value


def prng_key(key: Any, name: str = "key") -> Array:
    """``key`` as a typed JAX PRNG key (``jax.random.key(seed)``); a raw ``PRNGKey`` (uint32
    pair) is wrapped. An int seed or ``None`` is refused: every random draw of the package
    takes an explicit key, so that the same key gives the same numbers."""
    if key is None or isinstance(key, (bool, int, np.integer)):
        raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed)), got {key!r}")
    if not isinstance(key, jax.Array):
        try:
            key = jnp.asarray(key)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed)), got "
                            f"{type(key).__name__}") from None
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype == jnp.uint32 and key.shape[-1:] == (2,):  # raw jax.random.PRNGKey keys
        return jax.random.wrap_key_data(key)
    raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed)), got an array "
                    f"{key.dtype}{list(key.shape)}")
