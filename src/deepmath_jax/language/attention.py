"""Attention — chapter 18 *ChatGPT partie 2* (ChatGPT part 2), §6 *Attention*, book lines
9604–9914.

The book's convention (L9705): token vectors are the **columns** of x ∈ M_{n,K}. For one head
with W_Q, W_K, W_V ∈ M_{r,n} and W_O ∈ M_{n,r} (the book prints M_{r,n} at L9725; n × r is
needed for W_OV = W_O W_V ∈ M_{n,n}):

- Q = W_Q x, K = W_K x ∈ M_{r,K}; the attention pattern A = softmax_rows(QᵀK / √r) (L9745–9760),
  row j the weights given by token j to every token i; a causal mask (GPT-2, L9893) sets the
  scores of i > j to −∞, so A is lower triangular.
- h(x) = (A ⊗ W_OV) x = W_OV x Aᵀ (L9712–9716; product (A⊗B)M = B M Aᵀ of §5): column j of
  the output is Σ_i A_{ji} W_OV x_i; A ⊗ W_OV = (I ⊗ W_O)(A ⊗ I)(I ⊗ W_V) ("écriture ·
  attention · lecture", L9727).
- Several heads: x_{i+1} = x_i + Σ_j W_out^{(j)} h_j W_in^{(j)} x_i (L9681), equal to the
  block-diagonal form W_out H W_in x_i (L9685–9697).

:func:`dot_product_attention` is the same computation in the row convention of code
(B, T, heads, head_dim), checked against ``jax.nn.dot_product_attention``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.language.tensor_product import tensor_action


def causal_mask(num_tokens: int) -> Array:
    """Boolean (K, K) lower-triangular mask: token j may look at tokens i ≤ j only (L9893)."""
    return jnp.tril(jnp.ones((num_tokens, num_tokens), dtype=bool))


def attention_from_scores(scores: ArrayLike, *, causal: bool = False) -> Array:
    """softmax applied to each row of the (K, K) scores (L9749), masked above the diagonal."""
    s = jnp.asarray(scores)
    if s.ndim < 2 or s.shape[-1] != s.shape[-2]:
        raise ValueError(f"scores must be square (K, K), got shape {s.shape}")
    if causal:
        s = jnp.where(causal_mask(s.shape[-1]), s, -jnp.inf)
    return jax.nn.softmax(s, axis=-1)


def _check_head(x: Array, *mats: Array) -> None:
    if x.ndim != 2:
        raise ValueError(f"x must be the matrix (n, K) of the K token vectors as columns, got shape {x.shape}")
    for m in mats:
        if m.ndim != 2 or m.shape[1] != x.shape[0]:
            raise ValueError(f"W_Q, W_K, W_V must be (r, n) with n = {x.shape[0]}, got {m.shape}")


def attention_pattern(x: ArrayLike, w_q: ArrayLike, w_k: ArrayLike, *, causal: bool = False, scale: bool = True) -> Array:
    """A = softmax_rows(QᵀK / √r) with Q = W_Q x, K = W_K x (L9745–9760)."""
    x, w_q, w_k = jnp.asarray(x), jnp.asarray(w_q), jnp.asarray(w_k)
    _check_head(x, w_q, w_k)
    if w_q.shape != w_k.shape:
        raise ValueError(f"W_Q and W_K must have the same shape (r, n), got {w_q.shape} and {w_k.shape}")
    q, k = w_q @ x, w_k @ x  # (r, K)
    scores = q.T @ k  # (K, K): ⟨q_j | k_i⟩
    if scale:
        scores = scores / jnp.sqrt(jnp.asarray(w_q.shape[0], scores.dtype))
    return attention_from_scores(scores, causal=causal)


def attention_head(
    x: ArrayLike, w_q: ArrayLike, w_k: ArrayLike, w_v: ArrayLike, w_o: ArrayLike, *, causal: bool = False, scale: bool = True
) -> Array:
    """h(x) = (A ⊗ W_O W_V) x = W_O W_V x Aᵀ ∈ M_{n,K} (L9712–9727)."""
    x, w_v, w_o = jnp.asarray(x), jnp.asarray(w_v), jnp.asarray(w_o)
    _check_head(x, w_v)
    if w_o.shape != (x.shape[0], w_v.shape[0]):
        raise ValueError(f"W_O must be (n, r) = ({x.shape[0]}, {w_v.shape[0]}), got {w_o.shape}")
    A = attention_pattern(x, w_q, w_k, causal=causal, scale=scale)
    return tensor_action(A, w_o @ w_v, x)


def attention_head_factored(
    x: ArrayLike, w_q: ArrayLike, w_k: ArrayLike, w_v: ArrayLike, w_o: ArrayLike, *, causal: bool = False, scale: bool = True
) -> Array:
    """The same head as three actions (L9727): read (I ⊗ W_V), attend (A ⊗ I), write (I ⊗ W_O)."""
    x = jnp.asarray(x)
    A = attention_pattern(x, w_q, w_k, causal=causal, scale=scale)
    r = jnp.asarray(w_v).shape[0]
    K = x.shape[1]
    read = tensor_action(jnp.eye(K), jnp.asarray(w_v), x)  # W_V x ∈ M_{r,K}
    attend = tensor_action(A, jnp.eye(r), read)  # (W_V x) Aᵀ
    return tensor_action(jnp.eye(K), jnp.asarray(w_o), attend)  # W_O (W_V x Aᵀ)


def multi_head(x: ArrayLike, heads: Sequence[tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]], *, causal: bool = False) -> Array:
    """Σ_h h(x) over heads (W_Q, W_K, W_V, W_O): the attention layer's update H_i(x_i) (L9707–9710)."""
    if not heads:
        raise ValueError("an attention layer needs at least one head")
    return sum(attention_head(x, *h, causal=causal) for h in heads)


def multi_head_block_form(x: ArrayLike, w_in: Sequence[ArrayLike], w_out: Sequence[ArrayLike], patterns: Sequence[ArrayLike]) -> tuple[Array, Array]:
    """Both forms of L9681–9697 with heads h_j(M) = M A_jᵀ acting on M ∈ M_{r,K}.

    Returns (Σ_j W_out^{(j)} h_j(W_in^{(j)} x), W_out H(W_in x)) with W_in = vstack(W_in^{(j)}),
    W_out = hstack(W_out^{(j)}) and H the block-diagonal action h_1 ⊕ … ⊕ h_{n/r}.
    """
    x = jnp.asarray(x)
    summed = sum(jnp.asarray(wo) @ tensor_action(jnp.asarray(A), jnp.eye(jnp.asarray(wi).shape[0]), jnp.asarray(wi) @ x)
                 for wi, wo, A in zip(w_in, w_out, patterns, strict=True))
    W_in, W_out = jnp.concatenate([jnp.asarray(w) for w in w_in], 0), jnp.concatenate([jnp.asarray(w) for w in w_out], 1)
    z = W_in @ x  # (Σr, K): row blocks, one per head
    sizes = [jnp.asarray(w).shape[0] for w in w_in]
    offsets = [sum(sizes[:j]) for j in range(len(sizes))]
    Hz = jnp.concatenate([z[o : o + s] @ jnp.asarray(A).T for o, s, A in zip(offsets, sizes, patterns, strict=True)], 0)
    return summed, W_out @ Hz


def dot_product_attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, causal: bool = False) -> tuple[Array, Array]:
    """Row convention of code: q, k, v of shape (B, T, H, D) → (output (B, T, H, D), weights
    (B, H, T, T)); weights = softmax(q kᵀ / √D) with the causal mask (equals
    ``jax.nn.dot_product_attention``)."""
    q, k, v = jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)
    if q.ndim != 4 or q.shape != k.shape or k.shape != v.shape:
        raise ValueError(f"q, k, v must share a shape (B, T, H, D), got {q.shape}, {k.shape}, {v.shape}")
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(jnp.asarray(q.shape[-1], q.dtype))
    weights = attention_from_scores(scores, causal=causal)  # (B, H, T, T)
    return jnp.einsum("bhqk,bkhd->bqhd", weights, v), weights
