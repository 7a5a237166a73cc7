"""Embeddings — chapter 17 *ChatGPT partie 1* (ChatGPT part 1), §4 *Plongement* and §5
*Réalisation d'un plongement* (Embedding, building an embedding), book lines 8776–9165.

- The embedding is the linear map φ(e_i) = A e_i = v_i, A ∈ M_{n,N} whose i-th column is the
  token vector v_i (L8789–8808). In code the table is stored as rows, ``table[i] = v_i``
  (shape (N, n), as ``nnx.Embed`` and GPT-2's ``wte``): :func:`embed` is ``table[ids]`` and
  equals ``one_hot(ids) @ table`` (tested).
- Euclidean distance (L8810–8812), cosine similarity S_cos(X, Y) = ⟨X|Y⟩ / (‖X‖‖Y‖) (L8824–8843).
- Projections on a line p(x) = ⟨x|u⟩u, π(x) = ⟨x|u⟩ for a unit u (L8946–8950), on a plane or
  a 3-space with an orthonormal family (L8979–8988).
- PCA (L9001–9013): the book's algorithm (covariance, ``eigh``, eigenvalues sorted in decreasing
  order, projection on the k first eigenvectors) beside a hand-written power iteration with
  deflation and the SVD (``jnp.linalg.svd``); they agree up to the sign of each component.
- Nearest tokens by cosine and the analogy king − man + woman (L9032–9053).
- Co-occurrence matrix with the book's convention — column i, row j = occurrences of
  (word_i, word_j), word_i followed by word_j (L9084–9095) — and the column-stochastic matrix
  P with p_ij = count(word_i, word_j) / count(word_i) (L9097–9103), P e_i = P_i (L9121–9124).
- Learned embeddings (Flax NNX): :class:`NextWordEmbedding`, the network ℝ^N → … → Dense(n) →
  Dense(N, softmax) trained so that F(e_i) ≈ P_i (L9126–9160), and :class:`DigitEmbeddingCNN`,
  the classifier whose penultimate layer embeds images (L9057–9078).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import Array
from jax.typing import ArrayLike

# ------------------------------------------------------------------------------------------------
# Vectors
# ------------------------------------------------------------------------------------------------


def _vec(x: ArrayLike, name: str) -> Array:
    a = jnp.asarray(x)
    if a.ndim < 1:
        raise ValueError(f"{name} must be a vector (shape (n,) or (..., n)), got a scalar")
    return a


def embed(table: ArrayLike, ids: ArrayLike) -> Array:
    """v_i = A e_i (L8804): row ``ids`` of the (N, n) table; unknown ids raise ``ValueError``."""
    table = jnp.asarray(table)
    ids = np.asarray(ids)
    if table.ndim != 2:
        raise ValueError(f"the embedding table must have shape (N, n), got {table.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"token ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        bad = ids[(ids < 0) | (ids >= table.shape[0])].ravel()[0]
        raise ValueError(f"unknown token id {bad}: ids are in [0, {table.shape[0]})")
    return table[jnp.asarray(ids)]


def euclidean_distance(x: ArrayLike, y: ArrayLike) -> Array:
    """‖X − Y‖ = √Σ(x_i − y_i)² (L8810–8812), along the last axis."""
    x, y = _vec(x, "x"), _vec(y, "y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape} and {y.shape}")
    x, y = jnp.broadcast_arrays(x, y)  # explicit: one vector against a stack of vectors
    return jnp.sqrt(jnp.sum((x - y) ** 2, axis=-1))


def cosine_similarity(x: ArrayLike, y: ArrayLike) -> Array:
    """S_cos(X, Y) = ⟨X|Y⟩ / (‖X‖ ‖Y‖) ∈ [−1, 1] (L8824–8843), along the last axis.

    Zero vectors have no direction: ``ValueError`` when the inputs are concrete.
    """
    x, y = _vec(x, "x"), _vec(y, "y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape} and {y.shape}")
    x, y = jnp.broadcast_arrays(x, y)
    nx, ny = jnp.linalg.norm(x, axis=-1), jnp.linalg.norm(y, axis=-1)
    if not isinstance(nx, jax.core.Tracer) and (bool(jnp.any(nx == 0)) or bool(jnp.any(ny == 0))):
        raise ValueError("the cosine similarity of a zero vector is undefined (it has no direction)")
    return jnp.sum(x * y, axis=-1) / (nx * ny)


def cosine_to_all(table: ArrayLike, v: ArrayLike) -> Array:
    """S_cos(v, v_i) for every row v_i of ``table`` (N, n) → (N,)."""
    table, v = jnp.asarray(table), jnp.asarray(v)
    if table.ndim != 2 or v.shape != (table.shape[1],):
        raise ValueError(f"need a table (N, n) and a vector (n,), got {table.shape} and {v.shape}")
    return (table @ v) / (jnp.linalg.norm(table, axis=1) * jnp.linalg.norm(v)[None])


def nearest(table: ArrayLike, v: ArrayLike, k: int = 10, *, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
    """The k rows most similar to ``v`` by cosine, as (index, similarity), most similar first."""
    s = np.asarray(cosine_to_all(table, v), dtype=np.float64).copy()
    if int(k) < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    exclude = [int(i) for i in exclude]
    _check_rows(exclude, s.size)
    s[exclude] = -np.inf
    order = np.argsort(-s, kind="stable")[:k]
    return [(int(i), float(s[i])) for i in order]


def _check_rows(ids: Iterable[int], n: int) -> None:
    bad = [int(i) for i in ids if not 0 <= int(i) < n]
    if bad:
        raise ValueError(f"unknown word id {bad[0]}: ids are in [0, {n})")


def analogy(table: ArrayLike, a: int, b: int, c: int, k: int = 5, *, exclude_inputs: bool = True) -> list[tuple[int, float]]:
    """Nearest rows to v_b − v_a + v_c (king − man + woman: a = man, b = king, c = woman, L9044–9053).

    The book notes that the input words usually come first and are excluded (L9053).
    """
    t = jnp.asarray(table)
    if t.ndim != 2:
        raise ValueError(f"the embedding table must be (N, n), one row per word, got {t.shape}")
    _check_rows((a, b, c), t.shape[0])  # jnp indexing would clamp an unknown id silently
    v = t[b] - t[a] + t[c]
    return nearest(t, v, k, exclude=(a, b, c) if exclude_inputs else ())


# ------------------------------------------------------------------------------------------------
# Projections
# ------------------------------------------------------------------------------------------------


def project_on_line(x: ArrayLike, u: ArrayLike) -> Array:
    """p(x) = ⟨x|u⟩u, the orthogonal projection on the line of the unit vector u (L8946–8948).

    ``u`` is normalised first (the book: "que l'on peut rendre unitaire si besoin", L8968).
    """
    x, u = jnp.asarray(x), _unit(u)
    x, u = jnp.broadcast_arrays(x, u)
    return jnp.sum(x * u, axis=-1, keepdims=True) * u


def line_coordinate(x: ArrayLike, u: ArrayLike) -> Array:
    """π(x) = ⟨x|u⟩ for the unit vector along u (L8950)."""
    x, u = jnp.broadcast_arrays(jnp.asarray(x), _unit(u))
    return jnp.sum(x * u, axis=-1)


def _unit(u: ArrayLike) -> Array:
    u = _vec(u, "u")
    n = jnp.linalg.norm(u)
    if not isinstance(n, jax.core.Tracer) and float(n) == 0:
        raise ValueError("the direction u of a line cannot be the zero vector")
    return u / n


def project_on_basis(x: ArrayLike, basis: ArrayLike, *, atol: float = 1e-5) -> Array:
    """π(x) = (⟨x|u⟩, ⟨x|v⟩[, ⟨x|w⟩]) for an orthonormal family given as rows (L8979–8988)."""
    x, basis = jnp.asarray(x), jnp.asarray(basis)
    if basis.ndim != 2 or x.shape[-1] != basis.shape[1]:
        raise ValueError(f"basis must be (k, n) with n = x.shape[-1], got {basis.shape} for x {x.shape}")
    gram = np.asarray(basis @ basis.T)
    if not np.allclose(gram, np.eye(basis.shape[0]), atol=atol):
        raise ValueError("the basis vectors must be orthonormal (‖u‖ = 1, ⟨u|v⟩ = 0)")
    return x @ basis.T


# ------------------------------------------------------------------------------------------------
# PCA
# ------------------------------------------------------------------------------------------------


def _data(X: ArrayLike, k: int) -> Array:
    X = jnp.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"PCA needs data of shape (m, n) (m vectors of R^n), got {X.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"PCA needs at least 2 vectors, got {X.shape[0]}")
    if not 1 <= k <= X.shape[1]:
        raise ValueError(f"k must be in [1, {X.shape[1]}], got {k}")
    return X


def pca(X: ArrayLike, k: int = 2) -> tuple[Array, Array, Array]:
    """The book's PCA (L9003–9013): centre, C = XXᵀXX/(m − 1), ``eigh``, sort, project.

    Returns (scores (m, k), components (k, n) as rows, eigenvalues (k,) in decreasing order).
    """
    X = _data(X, k)
    XX = X - X.mean(axis=0, keepdims=True)
    C = XX.T @ XX / (X.shape[0] - 1)
    d, u = jnp.linalg.eigh(C)
    idx = jnp.argsort(d)[::-1][:k]
    U = u[:, idx]
    return XX @ U, U.T, d[idx]


def pca_svd(X: ArrayLike, k: int = 2) -> tuple[Array, Array, Array]:
    """PCA from the SVD of the centred data (library route): XX = U S Vᵀ, λ = S²/(m − 1)."""
    X = _data(X, k)
    XX = X - X.mean(axis=0, keepdims=True)
    _, s, vt = jnp.linalg.svd(XX, full_matrices=False)
    return XX @ vt[:k].T, vt[:k], s[:k] ** 2 / (X.shape[0] - 1)


def pca_power_iteration(X: ArrayLike, k: int = 2, *, iterations: int = 500, key: Array | None = None) -> tuple[Array, Array, Array]:
    """Hand-written PCA: power iteration on the covariance, then deflation C ← C − λ u uᵀ."""
    X = _data(X, k)
    XX = X - X.mean(axis=0, keepdims=True)
    C = XX.T @ XX / (X.shape[0] - 1)
    key = jax.random.key(0) if key is None else key
    comps, vals = [], []
    for j in range(k):
        v = jax.random.normal(jax.random.fold_in(key, j), (C.shape[0],), dtype=C.dtype)

        def step(v: Array, _: None, C: Array = C) -> tuple[Array, None]:
            w = C @ v
            return w / jnp.linalg.norm(w), None

        v, _ = jax.lax.scan(step, v / jnp.linalg.norm(v), None, length=iterations)
        lam = v @ C @ v
        comps.append(v)
        vals.append(lam)
        C = C - lam * jnp.outer(v, v)
    U = jnp.stack(comps)
    return XX @ U.T, U, jnp.stack(vals)


# ------------------------------------------------------------------------------------------------
# Co-occurrences
# ------------------------------------------------------------------------------------------------


def top_words(sentences: Iterable[Sequence[str]], n: int) -> list[str]:
    """The n most frequent words (the book's vocabulary of N = 500 words, L9105–9107)."""
    counts: Counter = Counter()
    for s in sentences:
        counts.update(s)
    if not counts:
        raise ValueError("empty corpus: no word to build a vocabulary from")
    return [w for w, _ in counts.most_common(n)]


def cooccurrence_matrix(sentences: Iterable[Sequence[str]], vocab: Sequence[str]) -> np.ndarray:
    """M (N × N) with M[j, i] = occurrences of (word_i, word_j), word_i followed by word_j —
    column i, row j as in the book (L9084–9095); pairs are counted inside sentences and only
    between vocabulary words."""
    index = {w: i for i, w in enumerate(vocab)}
    if not index:
        raise ValueError("the vocabulary is empty")
    if len(index) != len(vocab):
        raise ValueError("the vocabulary has repeated words")
    M = np.zeros((len(vocab), len(vocab)), dtype=np.int64)
    for s in sentences:
        for w1, w2 in zip(s, s[1:], strict=False):
            if w1 in index and w2 in index:
                M[index[w2], index[w1]] += 1
    return M


def conditional_probability_matrix(M: ArrayLike, *, empty_columns: str = "raise") -> np.ndarray:
    """P with p_ij = M[j, i] / Σ_j M[j, i]: column i is the law of the word after word_i
    (L9097–9103); P is column-stochastic.

    A word never followed by a vocabulary word has an empty column: ``empty_columns="raise"``
    (default) raises ``ValueError`` naming it; ``"self"`` puts its mass on the diagonal, as the
    authors' script does (``np.fill_diagonal(M, 1)`` before normalising).
    """
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"a co-occurrence matrix is square (N, N), got {M.shape}")
    if np.any(M < 0):
        raise ValueError("co-occurrence counts must be ≥ 0")
    totals = M.sum(axis=0)
    empty = np.nonzero(totals == 0)[0]
    if empty.size:
        if empty_columns == "raise":
            raise ValueError(f"columns {empty[:5].tolist()} are empty (a word never followed by a vocabulary word); use empty_columns='self'")
        if empty_columns != "self":
            raise ValueError(f"empty_columns must be 'raise' or 'self', got {empty_columns!r}")
        M = M.copy()
        M[empty, empty] = 1.0
        totals = M.sum(axis=0)
    return M / totals[None, :]


# ------------------------------------------------------------------------------------------------
# Learned embeddings (Flax NNX)
# ------------------------------------------------------------------------------------------------


class NextWordEmbedding(nnx.Module):
    """F: ℝ^N → ℝ^N trained so that F(e_i) ≈ P_i (L9126–9160): hidden dense layers, the
    embedding layer Dense(n), then Dense(N) whose softmax is the law of the next word.

    The authors' script: Dense(50, relu) ×2, Dense(n = 50, relu), Dense(500, softmax). The
    model returns logits (the softmax is in the loss); :meth:`embed` is φ(e_i), the output of
    the n-neuron layer.
    """

    def __init__(self, num_words: int, dim: int = 50, hidden: Sequence[int] = (50, 50), *, rngs: nnx.Rngs):
        sizes = [num_words, *hidden]
        self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:], strict=False)])
        self.to_embedding = nnx.Linear(sizes[-1], dim, rngs=rngs)
        self.out = nnx.Linear(dim, num_words, rngs=rngs)
        self.num_words = num_words

    def embed(self, x: Array) -> Array:
        """φ(x): the output of the n-neuron layer, x of shape (..., N) (e_i for token i)."""
        if x.shape[-1] != self.num_words:
            raise ValueError(f"inputs must have {self.num_words} coordinates, got shape {x.shape}")
        for layer in self.hidden:
            x = jax.nn.relu(layer(x))
        return jax.nn.relu(self.to_embedding(x))

    def __call__(self, x: Array) -> Array:
        return self.out(self.embed(x))


class DigitEmbeddingCNN(nnx.Module):
    """The classifier of §5.1 (L9057–9078; authors' ``mnist_embed.py``): Conv(16, 3×3, relu) →
    max-pool 2 → Conv(8, 3×3, relu) → max-pool 2 → Dense(n = 50, relu) → Dense(10).

    :meth:`embed` is φ(image) ∈ ℝ^n, the output of the penultimate layer. Images (B, H, W, 1).
    """

    def __init__(self, height: int = 28, width: int = 28, dim: int = 50, num_classes: int = 10, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 16, (3, 3), padding="SAME", rngs=rngs)
        self.conv2 = nnx.Conv(16, 8, (3, 3), padding="SAME", rngs=rngs)
        self.shape = (height, width)
        flat = (height // 4) * (width // 4) * 8
        self.dense = nnx.Linear(flat, dim, rngs=rngs)
        self.out = nnx.Linear(dim, num_classes, rngs=rngs)

    def embed(self, x: Array) -> Array:
        if x.ndim != 4 or x.shape[1:] != (*self.shape, 1):
            raise ValueError(f"images must have shape (B, {self.shape[0]}, {self.shape[1]}, 1), got {x.shape}")
        x = nnx.max_pool(jax.nn.relu(self.conv1(x)), (2, 2), (2, 2))
        x = nnx.max_pool(jax.nn.relu(self.conv2(x)), (2, 2), (2, 2))
        return jax.nn.relu(self.dense(x.reshape(x.shape[0], -1)))

    def __call__(self, x: Array) -> Array:
        return self.out(self.embed(x))
