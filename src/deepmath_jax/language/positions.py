"""Position embedding — chapter 18 *ChatGPT partie 2* (ChatGPT part 2), §4 *Plongement de
position* (Position embedding), book lines 9398–9502.

- ω_i = 1 / p^{2i/n} (L9428) and the position vector
  w_k = (cos kω_0, sin kω_0, cos kω_1, sin kω_1, …, cos kω_{n/2−1}, sin kω_{n/2−1}) ∈ ℝ^n
  (L9431–9433), cosine first as the book (the original Transformer puts the sine first; GPT-2
  itself learns its position table, see :mod:`deepmath_jax.language.gpt`).
- The base-b digits c_i = (k // b^i) % b that motivate it (L9445–9458).
- Relative positions (§4.4, L9479–9502): M(ω) the plane rotation, R_ℓ = blockdiag(M(ℓω_i)) and
  Proposition 2: w_{k+ℓ} = R_ℓ w_k for every k.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def _check(n: int, p: float) -> None:
    if n <= 0 or n % 2:
        raise ValueError(f"the embedding dimension n must be even and > 0, got {n}")
    if not p > 1:
        raise ValueError(f"p must be > 1, got {p}")


def frequencies(n: int, p: float = 10_000.0) -> Array:
    """(ω_0, …, ω_{n/2−1}) with ω_i = 1/p^{2i/n} (L9428); ω_0 = 1, strictly decreasing."""
    _check(n, p)
    i = jnp.arange(n // 2)
    return 1.0 / jnp.power(p, 2.0 * i / n)


def position_vectors(num_positions: int, n: int, p: float = 10_000.0, *, start: int = 0) -> Array:
    """The matrix whose row k is w_{start + k} (shape (K, n)); the book's w_k are its rows
    (its columns in the book's M_{n,K} convention). Book example K = 4, n = 6, p = 100 (L9435)."""
    if num_positions < 0:
        raise ValueError(f"the number of positions must be ≥ 0, got {num_positions}")
    w = frequencies(n, p)
    k = jnp.arange(start, start + num_positions, dtype=w.dtype)[:, None]  # (K, 1)
    angles = k * w[None, :]  # (K, n/2)
    return jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1).reshape(num_positions, n)


def position_vectors_loops(num_positions: int, n: int, p: float = 10_000.0) -> list[list[float]]:
    """The same matrix written coordinate by coordinate as the formula reads (reference)."""
    import math

    _check(n, p)
    rows = []
    for k in range(num_positions):
        row = []
        for i in range(n // 2):
            omega = 1 / p ** (2 * i / n)
            row += [math.cos(k * omega), math.sin(k * omega)]
        rows.append(row)
    return rows


def rotation(omega: ArrayLike) -> Array:
    """M(ω) = [[cos ω, −sin ω], [sin ω, cos ω]] (L9483)."""
    c, s = jnp.cos(omega), jnp.sin(omega)
    return jnp.stack([jnp.stack([c, -s], -1), jnp.stack([s, c], -1)], -2)


def block_rotation(shift: float, n: int, p: float = 10_000.0) -> Array:
    """R_ℓ = blockdiag(M(ℓω_0), …, M(ℓω_{n/2−1})) ∈ M_{n,n} (L9489–9493)."""
    blocks = rotation(shift * frequencies(n, p))  # (n/2, 2, 2)
    m = n // 2
    eye = jnp.eye(m, dtype=blocks.dtype)
    # R[2i + a, 2j + b] = δ_ij M_i[a, b]
    return jnp.einsum("ij,iab->iajb", eye, blocks).reshape(n, n)


def digits(k: int, base: int = 2, num_digits: int | None = None) -> list[int]:
    """c_i = (k // b^i) % b, units first (L9449–9455): 22 in base 2 → [0, 1, 1, 0, 1]."""
    if k < 0 or base < 2:
        raise ValueError(f"need k ≥ 0 and a base ≥ 2, got k = {k}, base = {base}")
    if num_digits is None:
        num_digits = 1
        while base**num_digits <= k:
            num_digits += 1
    return [(k // base**i) % base for i in range(num_digits)]
