"""A GPT in Flax NNX — the network of chapters 17–18 *ChatGPT* (book lines 8431–8456,
9171–9396): GPT-2's architecture, small enough to read in one sitting.

- Token embedding ``wte`` (N, n) and **learned** position embedding ``wpe`` (K, n): the input of
  token t_k at position k is u_k = v(t_k) + w_k (L9416–9420). (The book's sinusoidal w_k,
  :mod:`deepmath_jax.language.positions`, is the original Transformer's; GPT-2 learns its table.)
- ``n_layer`` blocks on the residual stream (L9319–9347), each pre-LayerNorm:
  x ← x + attn(ln_1(x)), x ← x + mlp(ln_2(x)). The attention is causal and multi-head
  (``n_head`` heads of size r = n/n_head, L9661–9760), the MLP is n → 4n → n with GELU (tanh
  form, as GPT-2).
- A final LayerNorm, then the unembedding tied to the embedding: logits = x Aᵀ with A = ``wte``
  (GPT-2 ties them; the book's L9313 remark that they are not symmetric holds for other models).

Shapes in comments: B batch, T tokens, C = n_embd, nh heads, hs = C/nh. Token vectors are the
rows here (the code convention), the columns in the book.

:func:`generate` completes a text token by token with temperature and top-k (L8388–8409,
L8588–8612); :func:`next_token_probabilities` gives the law of the next token (L9241–9256).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.language.gelu import gelu_tanh  # GPT-2's GELU: the tanh form (the book's L9969, corrected)


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """Sizes of a GPT-2-shaped network. Defaults: GPT-2 small (L8446–8456): N = 50 257 tokens,
    n = 768, K = 1024 positions, 12 layers of 12 heads, MLP 3 072."""

    vocab_size: int = 50257
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GPTConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd = {self.n_embd} must be a multiple of n_head = {self.n_head} (r = n/heads, L9669)")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head


class CausalSelfAttention(nnx.Module):
    """All heads at once: one Linear C → 3C gives q, k, v; weights softmax(q kᵀ/√hs) masked
    above the diagonal; heads concatenated then projected C → C (W_out of L9685–9697)."""

    def __init__(self, config: GPTConfig, *, rngs: nnx.Rngs):
        c = config.n_embd
        self.c_attn = nnx.Linear(c, 3 * c, kernel_init=nnx.initializers.normal(0.02), rngs=rngs)
        self.c_proj = nnx.Linear(c, c, kernel_init=nnx.initializers.normal(0.02 / math.sqrt(2 * config.n_layer)), rngs=rngs)
        self.n_head = config.n_head

    def __call__(self, x: Array) -> tuple[Array, Array]:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = jnp.split(self.c_attn(x), 3, axis=-1)  # 3 × (B, T, C)
        q, k, v = (t.reshape(B, T, nh, hs).transpose(0, 2, 1, 3) for t in (q, k, v))  # (B, nh, T, hs)
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hs)  # (B, nh, T, T)
        mask = jnp.tril(jnp.ones((T, T), dtype=bool))
        weights = jax.nn.softmax(jnp.where(mask, scores, jnp.finfo(scores.dtype).min), axis=-1)  # (B, nh, T, T)
        y = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, nh, T, hs) → (B, T, C)
        return self.c_proj(y), weights


class MLP(nnx.Module):
    """Dense C → 4C, GELU, Dense 4C → C (GPT-2: 768 → 3 072 → 768, L9347)."""

    def __init__(self, config: GPTConfig, *, rngs: nnx.Rngs):
        c = config.n_embd
        self.c_fc = nnx.Linear(c, 4 * c, kernel_init=nnx.initializers.normal(0.02), rngs=rngs)
        self.c_proj = nnx.Linear(4 * c, c, kernel_init=nnx.initializers.normal(0.02 / math.sqrt(2 * config.n_layer)), rngs=rngs)

    def __call__(self, x: Array) -> Array:
        return self.c_proj(gelu_tanh(self.c_fc(x)))


class Block(nnx.Module):
    """One transformer block on the residual stream (pre-LayerNorm, as GPT-2)."""

    def __init__(self, config: GPTConfig, *, rngs: nnx.Rngs):
        c, eps = config.n_embd, config.layer_norm_eps
        self.ln_1 = nnx.LayerNorm(c, epsilon=eps, rngs=rngs)
        self.attn = CausalSelfAttention(config, rngs=rngs)
        self.ln_2 = nnx.LayerNorm(c, epsilon=eps, rngs=rngs)
        self.mlp = MLP(config, rngs=rngs)

    def __call__(self, x: Array) -> tuple[Array, Array]:
        a, weights = self.attn(self.ln_1(x))
        x = x + a  # x_{i+1} = x_i + attention(x_i)
        x = x + self.mlp(self.ln_2(x))  # x_{i+2} = x_{i+1} + MLP(x_{i+1})
        return x, weights


class GPT(nnx.Module):
    """GPT-2: embeddings, ``n_layer`` blocks, final LayerNorm, tied unembedding."""

    def __init__(self, config: GPTConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.wte = nnx.Embed(config.vocab_size, config.n_embd, embedding_init=nnx.initializers.normal(0.02), rngs=rngs)
        self.wpe = nnx.Embed(config.block_size, config.n_embd, embedding_init=nnx.initializers.normal(0.01), rngs=rngs)
        self.h = nnx.List([Block(config, rngs=rngs) for _ in range(config.n_layer)])
        self.ln_f = nnx.LayerNorm(config.n_embd, epsilon=config.layer_norm_eps, rngs=rngs)

    def check_ids(self, ids: ArrayLike) -> None:
        """``ValueError`` for a sequence longer than the context or an unknown token id."""
        shape = jnp.shape(ids)
        if len(shape) != 2:
            raise ValueError(f"token ids must have shape (B, T), got {shape}")
        if shape[1] > self.config.block_size:
            raise ValueError(f"sequence of {shape[1]} tokens is longer than the model's context of {self.config.block_size}")
        if not isinstance(ids, jax.core.Tracer):
            a = np.asarray(ids)
            if not np.issubdtype(a.dtype, np.integer):
                raise TypeError(f"token ids must be integers, got dtype {a.dtype}")
            if a.size and (a.min() < 0 or a.max() >= self.config.vocab_size):
                bad = a[(a < 0) | (a >= self.config.vocab_size)].ravel()[0]
                raise ValueError(f"unknown token id {bad}: ids are in [0, {self.config.vocab_size})")

    def __call__(self, ids: Array, *, return_attention: bool = False) -> Array | tuple[Array, list[Array]]:
        """Logits (B, T, N) of the next token at every position; with ``return_attention`` also
        the attention patterns, one (B, nh, T, T) array per layer."""
        self.check_ids(ids)
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(jnp.arange(T))[None]  # u_k = v(t_k) + w_k: (B, T, C)
        patterns = []
        for block in self.h:
            x, w = block(x)
            patterns.append(w)
        x = self.ln_f(x)
        logits = self.wte.attend(x)  # tied unembedding: x Aᵀ, (B, T, N)
        return (logits, patterns) if return_attention else logits


def count_parameters(config: GPTConfig) -> int:
    """Number of weights, counted on abstract shapes (nothing allocated): 124 439 808 for GPT-2
    small with its tied unembedding (the book says 117 million, L8453)."""
    abstract = nnx.eval_shape(lambda: GPT(config, rngs=nnx.Rngs(0)))
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(abstract, nnx.Param)))


def lm_loss(model: GPT, x: Array, y: Array) -> tuple[Array, dict[str, Array]]:
    """Cross-entropy of the next token, per sequence: x, y of shape (B, T), y = x shifted by
    one → (loss (B,), {"accuracy": (B,)}), each averaged over the T positions (the engine's
    per-example form; take ``.mean()`` for the batch loss)."""
    logits = model(x)
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(logp, y[..., None], axis=-1)[..., 0]  # (B, T)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == y, axis=-1)
    return jnp.mean(nll, axis=-1), {"accuracy": accuracy}


def filter_top_k(logits: Array, top_k: int | None) -> Array:
    """Logits outside the k largest set to −∞ (L8391–8394: choose among the most probable)."""
    if top_k is None:
        return logits
    k = min(int(top_k), logits.shape[-1])
    if k < 1:
        raise ValueError(f"top_k must be ≥ 1, got {top_k}")
    kth = jax.lax.top_k(logits, k)[0][..., -1:]
    return jnp.where(logits < kth, -jnp.inf, logits)


def _logits_at_position(graphdef: nnx.GraphDef, state: nnx.State, window: Array, pos: Array) -> Array:
    logits = nnx.merge(graphdef, state)(window)  # (1, K, N)
    return jax.lax.dynamic_index_in_dim(logits[0], pos, keepdims=False)


_logits_at = jax.jit(_logits_at_position, static_argnums=0)  # one compilation per architecture


def _last_logits_fn(model: GPT):
    """(ids padded to the context, position) → logits at that position, jitted.

    Right-padding never changes earlier positions (the mask is causal), so one compilation
    serves every prompt length."""
    graphdef, state = nnx.split(model)
    return lambda window, pos: _logits_at(graphdef, state, window, pos)


def next_token_probabilities(model: GPT, ids: ArrayLike, *, temperature: float = 1.0) -> Array:
    """softmax_T of the logits of the token after ``ids`` (a 1-D prompt), shape (N,)."""
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    ids = np.asarray(ids).reshape(1, -1)
    if ids.shape[1] == 0:
        raise ValueError("the prompt must have at least one token")
    logits = model(jnp.asarray(ids))[0, -1]
    return jax.nn.softmax(logits / temperature)


def generate(
    model: GPT,
    ids: ArrayLike,
    num_tokens: int,
    *,
    key: Array | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
) -> list[int]:
    """Complete the 1-D prompt ``ids`` with ``num_tokens`` tokens (L8388–8409).

    ``greedy``: always the most probable token (the book's "This dog is a great companion for
    me."); otherwise draw from softmax(logits / T) restricted to the ``top_k`` most probable.
    The context keeps the last ``block_size`` tokens.
    """
    if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 0:
        raise ValueError(f"num_tokens must be an integer ≥ 0, got {num_tokens!r}")
    if not greedy:
        if key is None:
            raise ValueError("sampling needs a PRNG key (key=jax.random.key(seed)), or greedy=True")
        if not float(temperature) > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
    out = [int(i) for i in np.asarray(ids).reshape(-1)]
    if not out:
        raise ValueError("the prompt must have at least one token")
    model.check_ids(np.asarray(out)[None, -model.config.block_size :])
    K = model.config.block_size
    step = _last_logits_fn(model)
    for _ in range(num_tokens):
        context = out[-K:]
        window = jnp.zeros((1, K), jnp.int32).at[0, : len(context)].set(jnp.asarray(context, jnp.int32))
        logits = step(window, jnp.asarray(len(context) - 1))
        if greedy:
            out.append(int(jnp.argmax(logits)))
        else:
            key, sub = jax.random.split(key)
            out.append(int(jax.random.categorical(sub, filter_top_k(logits / temperature, top_k))))
    return out


def make_windows(tokens: ArrayLike, block_size: int, num_windows: int, key: Array) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs for next-token prediction: x = tokens[s : s + T], y = tokens[s + 1 : s + T + 1]
    at ``num_windows`` random starts s (drawn with ``key``). Shapes (num_windows, T), int32."""
    t = np.asarray(tokens, dtype=np.int32)
    if t.ndim != 1 or t.size < block_size + 1:
        raise ValueError(f"need a 1-D token sequence longer than block_size = {block_size}, got shape {t.shape}")
    starts = np.asarray(jax.random.randint(key, (num_windows,), 0, t.size - block_size))
    idx = starts[:, None] + np.arange(block_size)[None, :]
    return t[idx], t[idx + 1]
