"""Tensor and Kronecker products — chapter 18 *ChatGPT partie 2* (ChatGPT part 2), §5
*Produit tensoriel* (Tensor product), book lines 9504–9602.

- The action of A ⊗ B on M ∈ M_{n,p} (A ∈ M_{p,p}, B ∈ M_{n,n}; B may also be rectangular
  M_{m,n}): (A ⊗ B)M = B M Aᵀ (L9516),
  column by column C'_j = Σ_i a_{ji} B C_i (formula (†), L9520).
- The Kronecker product A ⊗ B = [a_ij B] ∈ M_{np,np} (L9576–9580) and vec(M), the columns of M
  stacked (column-major, L9582–9586): (A ⊗ B) vec(M) = vec(B M Aᵀ) (L9588).
  :func:`kronecker` is written block by block and checked against ``jnp.kron``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def _shapes(A: Array, B: Array, M: Array) -> None:
    # The book takes B square; a rectangular B ∈ M_{m,n} (M_{n,p} → M_{m,p}) is what the
    # attention's "lecture" I ⊗ W_V and "écriture" I ⊗ W_O need (L9727).
    if A.ndim != 2 or A.shape[0] != A.shape[1] or B.ndim != 2:
        raise ValueError(f"A must be a square matrix and B a matrix, got {A.shape} and {B.shape}")
    if M.shape != (B.shape[1], A.shape[0]):
        raise ValueError(f"M must be (n, p) = ({B.shape[1]}, {A.shape[0]}) for A {A.shape} and B {B.shape}, got {M.shape}")


def tensor_action(A: ArrayLike, B: ArrayLike, M: ArrayLike) -> Array:
    """(A ⊗ B)M = B M Aᵀ (L9516); book example gives [[8, 18], [5, 11]] (L9524–9530)."""
    A, B, M = jnp.asarray(A), jnp.asarray(B), jnp.asarray(M)
    _shapes(A, B, M)
    return B @ M @ A.T


def tensor_action_columns(A: ArrayLike, B: ArrayLike, M: ArrayLike) -> Array:
    """Formula (†) (L9520): the j-th column of (A ⊗ B)M is Σ_i a_{ji} B C_i."""
    A, B, M = jnp.asarray(A), jnp.asarray(B), jnp.asarray(M)
    _shapes(A, B, M)
    p = A.shape[0]
    BC = [B @ M[:, i] for i in range(p)]
    return jnp.stack([sum(A[j, i] * BC[i] for i in range(p)) for j in range(p)], axis=1)


def kronecker(A: ArrayLike, B: ArrayLike) -> Array:
    """A ⊗ B = [a_ij B] ∈ M_{np,np} (L9576–9580), assembled block by block (= ``jnp.kron``)."""
    A, B = jnp.asarray(A), jnp.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"the Kronecker product takes two matrices, got shapes {A.shape} and {B.shape}")
    return jnp.concatenate([jnp.concatenate([A[i, j] * B for j in range(A.shape[1])], axis=1) for i in range(A.shape[0])], axis=0)


def vec(M: ArrayLike) -> Array:
    """vec(M): the columns C_1, …, C_p stacked (L9582–9586) — column-major flattening."""
    M = jnp.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"vec takes a matrix, got shape {M.shape}")
    return M.T.reshape(-1)


def unvec(v: ArrayLike, shape: tuple[int, int]) -> Array:
    """The matrix (n, p) whose vec is ``v``."""
    v = jnp.asarray(v)
    n, p = shape
    if v.shape != (n * p,):
        raise ValueError(f"a vector of length {n * p} is needed for shape {shape}, got {v.shape}")
    return v.reshape(p, n).T
