"""Chapter 17 §4–5 — distances, cosine, projections, PCA, co-occurrences, learned embeddings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepmath_jax.language.embedding import (
    DigitEmbeddingCNN,
    NextWordEmbedding,
    analogy,
    conditional_probability_matrix,
    cooccurrence_matrix,
    cosine_similarity,
    embed,
    euclidean_distance,
    line_coordinate,
    nearest,
    pca,
    pca_power_iteration,
    pca_svd,
    project_on_basis,
    project_on_line,
    top_words,
)
from helpers import assert_float32_close

vec4 = hnp.arrays(np.float64, 4, elements=st.floats(-10, 10)).filter(lambda v: np.linalg.norm(v) > 1e-3)


def test_book_examples(x64):
    # L8850–8863: X = (2, 3), Y = (4, 4)
    assert float(euclidean_distance([2.0, 3], [4.0, 4])) == pytest.approx(np.sqrt(5))
    assert float(cosine_similarity([2.0, 3], [4.0, 4])) == pytest.approx(5 / np.sqrt(26))
    # L8890–8908: roi, reine, princesse against Y = (3, 0, 0, 2) → 0.98, 0.39, 0.32
    X = jnp.array([[1.0, 0, 0, 1], [0, 1, 0, 1], [0, 1, 1, 1]])
    s = cosine_similarity(X, jnp.array([3.0, 0, 0, 2]))
    np.testing.assert_allclose(s, [0.9806, 0.3922, 0.3203], atol=1e-4)


@given(vec4, vec4, st.floats(0.1, 10), st.floats(0.1, 10))
def test_cosine_identities(x64, x, y, a, b):
    s = float(cosine_similarity(x, y))
    assert -1 - 1e-12 <= s <= 1 + 1e-12
    assert s == pytest.approx(float(cosine_similarity(y, x)))
    assert float(cosine_similarity(x, x)) == pytest.approx(1.0)
    assert float(cosine_similarity(a * x, b * y)) == pytest.approx(s, abs=1e-12)
    assert float(cosine_similarity(x, -y)) == pytest.approx(-s, abs=1e-12)
    ux, uy = x / np.linalg.norm(x), y / np.linalg.norm(y)
    assert float(euclidean_distance(ux, uy)) ** 2 == pytest.approx(2 - 2 * s, abs=1e-9)


@given(vec4, vec4)
def test_projection_identities(x64, x, u):
    p = np.asarray(project_on_line(x, u))
    np.testing.assert_allclose(project_on_line(p, u), p, atol=1e-9)  # idempotent
    assert abs(np.dot(x - p, u)) <= 1e-9 * max(1, np.linalg.norm(x) * np.linalg.norm(u))  # x − p ⟂ u
    assert abs(float(line_coordinate(x, u))) <= np.linalg.norm(x) + 1e-9
    basis = np.linalg.qr(np.stack([u, x + np.arange(4.0)], 1))[0].T  # orthonormal (2, 4)
    c = np.asarray(project_on_basis(x, basis))
    rest = x - c @ basis
    assert np.dot(c, c) + np.dot(rest, rest) == pytest.approx(np.dot(x, x), rel=1e-9)


def test_embedding_is_a_linear_map():
    A = jax.random.normal(jax.random.key(0), (7, 3))  # rows v_i
    ids = jnp.array([0, 4, 6])
    # the one-hot product sums 7 terms, one of them v_i (Σ|terms| = |v_i|)
    assert_float32_close(embed(A, ids), jax.nn.one_hot(ids, 7) @ A, reduction=7,
                         scale=np.abs(np.asarray(A)[np.asarray(ids)]))
    with pytest.raises(ValueError, match="unknown token id 7"):
        embed(A, [1, 7])
    with pytest.raises(TypeError, match="integers"):
        embed(A, [1.5])


def test_pca_three_ways(x64):
    X = jax.random.normal(jax.random.key(1), (60, 5)) @ jnp.diag(jnp.array([5.0, 3, 2, 1, 0.5]))
    s1, c1, l1 = pca(X, 3)
    s2, c2, l2 = pca_svd(X, 3)
    s3, c3, l3 = pca_power_iteration(X, 3, iterations=2000)
    np.testing.assert_allclose(l1, l2, rtol=1e-9)
    np.testing.assert_allclose(l1, l3, rtol=1e-6)
    for c in (c2, c3):
        signs = jnp.sign(jnp.sum(c1 * c, axis=1))[:, None]
        np.testing.assert_allclose(c1, signs * c, atol=1e-5)
    # Scores: zero mean, covariance diag(λ) in decreasing order, orthonormal components.
    np.testing.assert_allclose(s1.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(s1.T @ s1 / 59, jnp.diag(l1), atol=1e-9)
    np.testing.assert_allclose(c1 @ c1.T, jnp.eye(3), atol=1e-10)
    assert np.all(np.diff(np.asarray(l1)) <= 0)
    # Invariant under translation of the data.
    np.testing.assert_allclose(pca(X + 7.0, 3)[0], s1, atol=1e-9)


@given(hnp.arrays(np.float64, (8, 3), elements=st.floats(-5, 5)))
def test_pca_property(x64, X):
    if np.linalg.matrix_rank(X - X.mean(0)) < 3:
        return
    s, c, lam = pca(X, 2)
    np.testing.assert_allclose(c @ c.T, np.eye(2), atol=1e-9)
    assert lam[0] >= lam[1] - 1e-12
    np.testing.assert_allclose(np.asarray(s).T @ np.asarray(s) / 7, np.diag(lam), atol=1e-8 * (1 + float(lam[0])))


def test_cooccurrence_book_conventions():
    # Column i = first word, row j = follower (L9084–9095); P column-stochastic (L9097–9103).
    sentences = [["le", "chat", "et", "le", "chien"], ["le", "chat"], ["chat", "et", "chien"]]
    vocab = ["le", "et", "chat", "chien"]
    M = cooccurrence_matrix(sentences, vocab)
    assert M[2, 0] == 2  # "le chat" twice: column le, row chat
    assert M[0, 1] == 1 and M[3, 1] == 1 and M[1, 2] == 2 and M[3, 0] == 1 and M.sum() == 7
    P = conditional_probability_matrix(M, empty_columns="self")
    np.testing.assert_allclose(P.sum(0), 1)
    assert P[3, 3] == 1  # "chien" never followed: the anchor's diagonal fill
    with pytest.raises(ValueError, match=r"columns \[3\] are empty"):
        conditional_probability_matrix(M)
    # The book's minimal table (L9088–9103): P = M / column totals (10, 15, 10, 5).
    book = np.array([[0, 10, 1, 0], [0, 0, 8, 5], [6, 2, 0, 0], [4, 3, 1, 0]])
    P = conditional_probability_matrix(book)
    np.testing.assert_allclose(P[:, 1], [10 / 15, 0, 2 / 15, 3 / 15])
    np.testing.assert_allclose(P @ np.eye(4)[2], P[:, 2])  # P e_i = P_i
    assert top_words(sentences, 2) == ["le", "chat"]  # 3 each: first seen first


def test_nearest_and_analogy():
    # A toy table where king − man + woman = queen exactly.
    man, woman, royal = np.eye(3)
    table = np.stack([man, woman, man + royal, woman + royal, royal + 0.1 * man])
    best = analogy(table, 0, 2, 1, k=1)  # king − man + woman
    assert best[0][0] == 3 and best[0][1] == pytest.approx(1.0)
    assert nearest(table, table[2], 2, exclude=[2])[0][0] == 4


def test_models_shapes_and_errors():
    m = NextWordEmbedding(12, 4, rngs=nnx.Rngs(0))
    assert m(jnp.eye(12)).shape == (12, 12) and m.embed(jnp.eye(12)).shape == (12, 4)
    with pytest.raises(ValueError, match="12 coordinates"):
        m.embed(jnp.eye(5))
    c = DigitEmbeddingCNN(8, 8, dim=6, rngs=nnx.Rngs(0))
    assert c.embed(jnp.zeros((3, 8, 8, 1))).shape == (3, 6)
    with pytest.raises(ValueError, match=r"\(B, 8, 8, 1\)"):
        c(jnp.zeros((3, 28, 28, 1)))


def test_bad_inputs():
    with pytest.raises(ValueError, match="zero vector"):
        cosine_similarity([0.0, 0], [1.0, 2])
    with pytest.raises(ValueError, match="same dimension"):
        euclidean_distance([1.0, 2], [1.0, 2, 3])
    with pytest.raises(ValueError, match="zero vector"):
        project_on_line([1.0, 2], [0.0, 0])
    with pytest.raises(ValueError, match="orthonormal"):
        project_on_basis(jnp.ones(3), jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="at least 2 vectors"):
        pca(jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"\(m, n\)"):
        pca(jnp.ones(3))
    with pytest.raises(ValueError, match="empty corpus"):
        top_words([], 3)
    with pytest.raises(ValueError, match="square"):
        conditional_probability_matrix(np.ones((2, 3)))
    table = np.eye(3)
    with pytest.raises(ValueError, match=r"unknown word id 5: ids are in \[0, 3\)"):
        analogy(table, 0, 1, 5)  # jnp indexing alone would clamp 5 to 2 silently
    with pytest.raises(ValueError, match="unknown word id -1"):
        nearest(table, np.ones(3), 2, exclude=[-1])
    with pytest.raises(ValueError, match="k must be ≥ 1"):
        nearest(table, np.ones(3), 0)
    with pytest.raises(ValueError, match=r"\(N, n\)"):
        analogy(np.ones(3), 0, 1, 2)
    with pytest.raises(ValueError, match="vocabulary is empty"):
        cooccurrence_matrix([["a", "b"]], [])
