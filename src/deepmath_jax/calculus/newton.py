"""Newton's method — chapter 1 *Dérivée* (Derivative), §5 *Méthode de Newton*, book lines 1061–1193.

x_{n+1} = x_n − f(x_n)/f'(x_n) (L1096–1098): follow the tangent at x_n down to the x-axis.

- :func:`newton`: the book's algorithm (L1151–1161) jitted (``jax.lax.scan``) and returning every
  iterate x₀, …, xₙ; f' is ``jax.grad(f)`` unless written by hand. Float64 when
  ``jax_enable_x64`` is on (``dtype=jnp.float64`` insists on it).
- :func:`newton_python`: the same recursion in exact or arbitrary-precision Python arithmetic
  (:class:`fractions.Fraction`, :class:`decimal.Decimal`): x₂ = 262/49 exactly for ∛100, and with
  :func:`newton_decimal` the 1 000 correct decimals of ∛100 after 13 iterations from 10 (L1124–1147).
- :func:`newton_minimize`: Newton on f = g' to find where g is minimal (L1163–1193): for
  g(x) = x² − sin x + 1, ℓ ≈ 0.4501836112 and g(ℓ) ≈ 0.7675344248.
- :func:`root_decimals`: the exact decimals of ᵏ√a by integer arithmetic, an independent reference.

Bad input gets a ``ValueError`` naming the iteration: f'(xₖ) = 0 (horizontal tangent) — exactly,
or to the precision of xₖ (f' changes by at least |f'(xₖ)| between xₖ and a neighbouring float,
e.g. f = cos at the float π, where f' ≈ −1.2e-16 would send x₁ to −8e15) — f(xₖ) or xₖ₊₁ not
finite (the iterates left the domain of f, e.g. √ of a negative number, or overflowed).
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike


def newton_step(f: Callable[[Any], Any], df: Callable[[Any], Any], x: Any) -> Any:
    """One step x − f(x)/f'(x) (L1092), for JAX arrays or Python numbers."""
    return x - f(x) / df(x)


@functools.partial(jax.jit, static_argnames=("f", "df", "n"))
def newton_iterates(f: Callable, df: Callable, x0: Array, n: int, args: tuple = ()) -> tuple[Array, Array, Array]:
    """The pure, jitted loop: (x₀…xₙ, f(x₀)…f(xₙ₋₁), f'(x₀)…f'(xₙ₋₁)) for f(x, *args).
    No checks, so it can be ``jax.vmap``-ed over x0 or args.

    A step from an exact root (f(xₖ) = 0) stays there, whatever f'(xₖ): ℓ is a fixed point.
    """
    xs, fxs, dfxs, _ = _scan(f, df, x0, n, args, False)
    return xs, fxs, dfxs


@functools.partial(jax.jit, static_argnames=("f", "df", "n"))
def _iterates_and_slopes(f: Callable, df: Callable, x0: Array, n: int, args: tuple = ()):
    """:func:`newton_iterates` plus f' at the two floats next to each xₖ (for :func:`_check`)."""
    return _scan(f, df, x0, n, args, True)


def _scan(f: Callable, df: Callable, x0: Array, n: int, args: tuple, neighbours: bool):
    def step(x, _):
        fx, dfx = f(x, *args), df(x, *args)
        new = jnp.where(fx == 0, x, x - fx / dfx)
        if not neighbours:
            return new, (new, fx, dfx, ())
        below, above = jnp.nextafter(x, -jnp.inf), jnp.nextafter(x, jnp.inf)
        return new, (new, fx, dfx, jnp.stack([df(below, *args), df(above, *args)]))

    _, (xs, fxs, dfxs, near) = jax.lax.scan(step, x0, None, length=n)
    return jnp.concatenate([x0[None], xs]), fxs, dfxs, near


@functools.lru_cache(maxsize=256)
def _grad(f: Callable) -> Callable:
    """``jax.grad(f)``, the same object for the same f (a static argument of the jitted loop)."""
    return jax.grad(f)


def newton(f: Callable, x0: ArrayLike, n: int, *, df: Callable | None = None, args: tuple = (),
           dtype: Any = None) -> Array:
    """Newton's method (algorithm L1151–1161): the iterates x₀, x₁, …, xₙ as an array (n + 1,).

    Args:
      f: a scalar function ``f(x, *args)`` written with ``jax.numpy``.
      x0: the starting value (a scalar).
      n: the number of iterations.
      df: f' written by hand, ``df(x, *args)``; ``jax.grad(f)`` when omitted.
      args: parameters of f, traced (a new value does not recompile; a new f does).
      dtype: the float type; the default float (float64 under ``jax_enable_x64``).

    Raises:
      ValueError: ``n`` < 0 or x0 not a scalar; float64 asked without x64; and, naming the
        iteration k: f'(xₖ₋₁) = 0 (exactly, or to the precision of xₖ₋₁: see :func:`_flat_tangent`),
        or f(xₖ₋₁), f'(xₖ₋₁) or xₖ not finite (left the domain of f).
    """
    if int(n) != n or n < 0:
        raise ValueError(f"newton needs a number of iterations n ≥ 0, got {n!r}")
    dtype = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    if dtype == jnp.float64 and jax.dtypes.canonicalize_dtype(jnp.float64) != jnp.float64:
        raise ValueError("newton in float64 needs x64: jax.config.update('jax_enable_x64', True) "
                         "or `with jax.enable_x64(True):`")
    x0 = jnp.asarray(x0, dtype=dtype)
    if x0.ndim != 0:
        raise ValueError(f"newton takes a scalar x0 (use jax.vmap over newton_iterates for many), got shape {x0.shape}")
    if not np.isfinite(float(x0)):
        raise ValueError(f"newton: x0 = {float(x0)} is not finite")
    args = tuple(jnp.asarray(a, dtype=dtype) for a in args)
    xs, fxs, dfxs, near = _iterates_and_slopes(f, df if df is not None else _grad(f), x0, int(n), args)
    _check(np.asarray(xs), np.asarray(fxs), np.asarray(dfxs), np.asarray(near))
    return xs


def _flat_tangent(fx: Any, dfx: Any, neighbour_slopes: Any, ulp: Any) -> Any:
    """How much f' moves when x moves to a neighbouring float, when that makes f'(x) = 0 to the
    precision of x; ``None`` otherwise.

    x is a float: the floats just below and above it are the smallest change the arithmetic can
    make to x (x stands for any real within half a unit in the last place, ``ulp``). If f'
    changes there by at least |f'(x)| — in particular if it changes sign — the computed f'(x)
    is a rounding of 0 (f = cos at the float π: f'(π) ≈ −1.2e-16, while f' ≈ +3.2e-16 one float
    above): the tangent is horizontal within rounding and x − f/f' a meaningless jump, so it is
    treated like f'(x) = 0. The threshold is thus relative to f' itself (its change over one
    ulp, ≈ |f''(x)|·eps·|x| with eps that of the float type), with no tuned constant. Not when the step
    |f/f'| is at most one ulp: then x is a root to that precision (e.g. a double root, where f'
    vanishes too) and the iterate moves by at most one float. Neighbour slopes that are not
    finite (outside the domain of f) are ignored.
    """
    spread = max((abs(d - dfx) for d in neighbour_slopes if _finite(d)), default=None)
    if spread is None or abs(dfx) > spread or abs(fx / dfx) <= ulp:
        return None
    return spread


def _flat_message(where: str, k: int, dfx: Any, spread: Any, step: Any) -> str:
    return (f"{where}: f'(x_{k}) = {dfx!r} is 0 to the precision of x_{k} (f' changes by {float(spread):.3g} "
            f"≥ |f'(x_{k})| between x_{k} and its nearest representable neighbour): the tangent is horizontal "
            f"within rounding and its step f/f' = {float(step):.3g} is meaningless; start away from the "
            "critical point or use a higher precision")


def _check(xs: np.ndarray, fxs: np.ndarray, dfxs: np.ndarray, near: np.ndarray) -> None:
    """The host check after the jitted loop; ``near[k]`` = f' at the floats below and above xₖ."""
    for k in range(len(fxs)):  # iteration k + 1 computes x_{k+1} from x_k
        where = f"Newton iteration {k + 1} (from x_{k} = {float(xs[k])!r})"
        if not np.isfinite(fxs[k]):
            raise ValueError(f"{where}: f(x_{k}) = {fxs[k]} is not finite: x_{k} is outside the domain "
                             "of f (the iterates left the reals?)")
        if fxs[k] == 0:
            continue  # an exact root: a fixed point
        if dfxs[k] == 0:
            raise ValueError(f"{where}: f'(x_{k}) = 0, the tangent is horizontal and never meets the x-axis")
        if not np.isfinite(dfxs[k]):
            raise ValueError(f"{where}: f'(x_{k}) = {dfxs[k]} is not finite")
        spread = _flat_tangent(float(fxs[k]), float(dfxs[k]), near[k].astype(np.float64), float(np.spacing(np.abs(xs[k]))))
        if spread is not None:
            raise ValueError(_flat_message(where, k, float(dfxs[k]), spread, fxs[k] / dfxs[k]))
        if not np.isfinite(xs[k + 1]):
            raise ValueError(f"{where}: x_{k + 1} = {xs[k + 1]} is not finite (overflow)")


def newton_minimize(g: Callable, x0: ArrayLike, n: int, *, dg: Callable | None = None,
                    d2g: Callable | None = None, args: tuple = (), dtype: Any = None) -> Array:
    """Newton on f = g' (L1163–1193): iterates towards a critical point of g, its minimum when
    g'' > 0. g' and g'' are ``jax.grad`` unless given by hand."""
    dg = dg if dg is not None else _grad(g)
    d2g = d2g if d2g is not None else _grad(dg)
    return newton(dg, x0, n, df=d2g, args=args, dtype=dtype)


def newton_python(f: Callable[[Any], Any], df: Callable[[Any], Any], x0: Any, n: int) -> list[Any]:
    """The iterates x₀, …, xₙ in Python arithmetic: exact with :class:`~fractions.Fraction`
    (x₂ = 262/49 for x³ − 100 from 10, L1117), arbitrary precision with
    :class:`~decimal.Decimal` (see :func:`newton_decimal`).

    Raises:
      ValueError: naming the iteration, when f'(xₖ) = 0 — exactly, or for ``float`` and
        ``Decimal`` iterates to the precision of xₖ (as :func:`newton`) — or f or f' fails at xₖ
        (a domain error, e.g. ``Decimal.sqrt`` of a negative number) or gives a non-finite value.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"newton_python needs a number of iterations n ≥ 0, got {n!r}")
    xs = [x0]
    for k in range(int(n)):
        x, where = xs[-1], f"Newton iteration {k + 1} (from x_{k} = {xs[-1]})"
        try:
            fx, dfx = f(x), df(x)
        except (ArithmeticError, ValueError) as err:
            raise ValueError(f"{where}: f or f' is not defined at x_{k} ({type(err).__name__}): the iterates "
                             "left the domain of f") from err
        for name, v in (("f", fx), ("f'", dfx)):
            if not _finite(v):
                raise ValueError(f"{where}: {name}(x_{k}) = {v} is not finite")
        if fx == 0:
            xs.append(x)
            continue
        if dfx == 0:
            raise ValueError(f"{where}: f'(x_{k}) = 0, the tangent is horizontal and never meets the x-axis")
        around = _neighbours(x)
        if around is not None:  # floats and decimals have a precision; fractions are exact
            below, above, ulp = around
            slopes = []
            for y in (below, above):
                try:
                    slopes.append(df(y))
                except (ArithmeticError, ValueError):
                    pass  # a neighbour outside the domain of f' tells nothing
            spread = _flat_tangent(fx, dfx, slopes, ulp)
            if spread is not None:
                raise ValueError(_flat_message(where, k, dfx, spread, fx / dfx))
        xs.append(x - fx / dfx)
    return xs


def _neighbours(x: Any) -> tuple[Any, Any, Any] | None:
    """The floats (or decimals, in the current context) just below and above x, and the spacing
    at x; ``None`` for exact numbers (int, Fraction)."""
    if isinstance(x, Decimal):
        below, above = x.next_minus(), x.next_plus()
        return below, above, above - x
    if isinstance(x, float) and math.isfinite(x):
        return math.nextafter(x, -math.inf), math.nextafter(x, math.inf), math.ulp(x)
    return None


def _finite(v: Any) -> bool:
    if isinstance(v, Decimal):
        return v.is_finite()
    try:
        return bool(np.isfinite(float(v)))
    except OverflowError:  # a huge Fraction is still a finite number
        return True


def newton_decimal(f: Callable[[Decimal], Decimal], df: Callable[[Decimal], Decimal], x0: Any, n: int,
                   *, digits: int = 1000) -> list[Decimal]:
    """:func:`newton_python` in :class:`~decimal.Decimal` with ``digits`` + 10 significant digits
    (the guard digits keep round-off below the last decimal asked for): ∛100 to 1000 decimals after
    13 iterations from 10 (L1124–1147). ``f`` and ``df`` must use Decimal-safe operations."""
    if digits < 1:
        raise ValueError(f"newton_decimal needs digits ≥ 1, got {digits}")
    with decimal.localcontext() as ctx:
        ctx.prec = digits + 10
        return [+x for x in newton_python(f, df, Decimal(x0), n)]


def root_decimals(a: int, k: int, decimals: int) -> str:
    """The exact decimal expansion of ᵏ√a truncated to ``decimals`` decimals, by integer
    arithmetic (⌊ᵏ√(a·10^(k·decimals))⌋): an independent reference for :func:`newton_decimal`.

    Raises:
      ValueError: a < 0, k < 1 or decimals < 0.
    """
    if a < 0 or k < 1 or decimals < 0:
        raise ValueError(f"root_decimals needs a ≥ 0, k ≥ 1, decimals ≥ 0; got a={a}, k={k}, decimals={decimals}")
    big = a * 10 ** (k * decimals)
    if big == 0:
        return "0." + "0" * decimals if decimals else "0"
    r = 1 << ((big.bit_length() + k - 1) // k)  # ≥ the root
    while True:  # integer Newton, decreasing to ⌊ᵏ√big⌋
        s = ((k - 1) * r + big // r ** (k - 1)) // k
        if s >= r:
            break
        r = s
    digits = str(r).rjust(decimals + 1, "0")
    return f"{digits[:-decimals]}.{digits[-decimals:]}" if decimals else digits


def correct_decimals(x: Decimal | str | float, reference: str) -> int:
    """How many decimals of ``x`` agree with ``reference`` (a decimal string), digit by digit
    after the point — "x₅ a déjà 5 chiffres après la virgule de corrects" (L1121)."""
    text = format(x, "f") if isinstance(x, Decimal) else (x if isinstance(x, str) else repr(float(x)))
    head, _, tail = text.partition(".")
    ref_head, _, ref_tail = reference.partition(".")
    if head != ref_head:
        return 0
    count = 0
    for a, b in zip(tail, ref_tail, strict=False):
        if a != b:
            break
        count += 1
    return count
