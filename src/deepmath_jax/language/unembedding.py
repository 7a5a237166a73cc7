"""Unembedding and the residual stream — chapter 18 *ChatGPT partie 2* (ChatGPT part 2),
§2 *Retranscription* (L9192–9315) and §3 *Flux résiduel* (L9317–9396).

- Unembedding by minimum-norm least squares (Proposition 1, L9278–9286): for A ∈ M_{n,N} of rank
  n, B = Aᵀ(AAᵀ)^{−1} and x_min = B y is the solution of A x = y of smallest ‖x‖₂ — the
  orthogonal projection of 0 on the affine space of solutions. :func:`min_norm_matrix` is the
  book's formula, checked against ``jnp.linalg.pinv`` and ``jnp.linalg.lstsq``.
- Unembedding by learning (L9307–9315): :class:`EmbedUnembed`, Dense(n) without bias (y = A x)
  then Dense(N) (z = B y), trained on bigrams.
- The residual stream x_{i+1} = x_i + W_out^i b_i(W_in^i x_i) (L9319–9363), matrices x ∈ M_{n,K}
  with tokens as **columns** as in the book; the bypass example of L9375–9387.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import Array
from jax.typing import ArrayLike


def min_norm_matrix(A: ArrayLike) -> Array:
    """B = Aᵀ (A Aᵀ)^{−1} ∈ M_{N,n} (L9278), for A ∈ M_{n,N} of rank n (N ≥ n).

    Raises ``ValueError`` when A is not a wide matrix of full row rank (A Aᵀ not invertible).
    """
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix (n, N), got shape {A.shape}")
    n, N = A.shape
    if N < n:
        raise ValueError(f"A x = y is under-determined only when N ≥ n; got A of shape {A.shape}")
    rank = int(np.linalg.matrix_rank(np.asarray(A, dtype=np.float64)))
    if rank < n:
        raise ValueError(f"A must have rank n = {n} for A Aᵀ to be invertible, its rank is {rank}")
    return A.T @ jnp.linalg.inv(A @ A.T)


def min_norm_solution(A: ArrayLike, y: ArrayLike) -> Array:
    """x_min = B y (Proposition 1, L9278–9280): A x_min = y and ‖x_min‖ is minimal.

    The book's example (L9288–9305): A = [[1, 2, 0, −1], [1, 1, −1, 0]], y = (2, −1) →
    x_min = (1/3)(−1, 2, 4, −3).
    """
    A, y = jnp.asarray(A), jnp.asarray(y)
    if y.shape != (A.shape[0],):
        raise ValueError(f"y must have shape ({A.shape[0]},) for A of shape {A.shape}, got {y.shape}")
    return min_norm_matrix(A) @ y


class EmbedUnembed(nnx.Module):
    """Embedding then unembedding learned together (L9307–9315): y = A x (Dense(n), no bias, no
    activation), z = B y (Dense(N)); trained on bigrams, softmax(z) is the law of the next token.
    A and B are free: nothing makes them inverse of each other."""

    def __init__(self, num_tokens: int, dim: int, *, rngs: nnx.Rngs):
        self.embed = nnx.Linear(num_tokens, dim, use_bias=False, rngs=rngs)
        self.unembed = nnx.Linear(dim, num_tokens, use_bias=False, rngs=rngs)

    def __call__(self, token_ids: Array) -> Array:
        # x = e_i: Dense(n) of a one-hot vector is row i of its kernel.
        y = self.embed.kernel[...][token_ids]
        return self.unembed(y)


def residual_stream(
    x: ArrayLike,
    blocks: Sequence[Callable[[Array], Array]],
    w_in: Sequence[ArrayLike],
    w_out: Sequence[ArrayLike],
) -> list[Array]:
    """x_{i+1} = x_i + W_out^i · b_i(W_in^i · x_i) (L9359–9363) for x ∈ M_{n,K} (tokens as
    columns); returns [x_1, x_2, …, x_{ℓ+1}]. Every block maps M_{n,K} to M_{n,K}."""
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"the residual stream is a matrix (n, K), got shape {x.shape}")
    if not len(blocks) == len(w_in) == len(w_out):
        raise ValueError("need as many W_in and W_out matrices as blocks")
    xs = [x]
    for i, (b, wi, wo) in enumerate(zip(blocks, w_in, w_out, strict=True)):
        y = jnp.asarray(wo) @ b(jnp.asarray(wi) @ xs[-1])
        if y.shape != x.shape:
            raise ValueError(f"block {i + 1} changed the shape of the stream: {x.shape} → {y.shape}")
        xs.append(xs[-1] + y)
    return xs


def bypass_matrices(X: ArrayLike, X_tilde: ArrayLike, Y_tilde: ArrayLike, Z: ArrayLike, Z_tilde: ArrayLike) -> tuple[Array, Array, Array]:
    """The block matrices of the bypass example (L9375–9381): W_out^1 = diag(X, X̃),
    W_out^2 = diag(0, Ỹ), W_in^3 = diag(Z, Z̃), X, Z ∈ M_{p,p}."""

    def blockdiag(a: ArrayLike, b: ArrayLike) -> Array:
        a, b = jnp.asarray(a), jnp.asarray(b)
        top = jnp.concatenate([a, jnp.zeros((a.shape[0], b.shape[1]), a.dtype)], axis=1)
        bottom = jnp.concatenate([jnp.zeros((b.shape[0], a.shape[1]), b.dtype), b], axis=1)
        return jnp.concatenate([top, bottom], axis=0)

    X = jnp.asarray(X)
    return blockdiag(X, X_tilde), blockdiag(jnp.zeros_like(X), Y_tilde), blockdiag(Z, Z_tilde)
