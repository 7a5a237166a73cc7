"""Chapter 18 — unembedding, residual stream, positions, tensor products, attention, GELU."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepmath_jax.language import gelu as G
from deepmath_jax.language.attention import (
    attention_from_scores,
    attention_head,
    attention_head_factored,
    attention_pattern,
    causal_mask,
    dot_product_attention,
    multi_head,
    multi_head_block_form,
)
from deepmath_jax.language.positions import (
    block_rotation,
    digits,
    frequencies,
    position_vectors,
    position_vectors_loops,
    rotation,
)
from deepmath_jax.language.tensor_product import kronecker, tensor_action, tensor_action_columns, unvec, vec
from deepmath_jax.language.unembedding import (
    bypass_matrices,
    min_norm_matrix,
    min_norm_solution,
    residual_stream,
)
from helpers import assert_float32_close, assert_within, float32_tolerance

small = st.floats(-3, 3, allow_nan=False)


# ------------------------------------------------------------------ unembedding


def test_book_min_norm_example(x64):
    A = jnp.array([[1.0, 2, 0, -1], [1, 1, -1, 0]])
    B = min_norm_matrix(A)
    np.testing.assert_allclose(A @ A.T, [[6, 3], [3, 3]])
    np.testing.assert_allclose(B, np.array([[0, 1], [1, 0], [1, -2], [-1, 1]]) / 3, atol=1e-15)
    x = min_norm_solution(A, jnp.array([2.0, -1]))
    np.testing.assert_allclose(x, np.array([-1, 2, 4, -3]) / 3, atol=1e-15)
    np.testing.assert_allclose(B, jnp.linalg.pinv(A), atol=1e-14)
    np.testing.assert_allclose(x, jnp.linalg.lstsq(A, jnp.array([2.0, -1]))[0], atol=1e-14)


@given(hnp.arrays(np.float64, (2, 5), elements=small), hnp.arrays(np.float64, 2, elements=small), hnp.arrays(np.float64, 5, elements=small))
def test_min_norm_is_projection_of_any_solution(x64, A, y, z):
    if np.linalg.matrix_rank(A) < 2 or np.linalg.cond(A @ A.T) > 1e8:
        return
    x = np.asarray(min_norm_solution(A, y))
    np.testing.assert_allclose(A @ x, y, atol=1e-8)
    # Any other solution x + k (k ∈ ker A) is longer, and x is its projection on range(Aᵀ).
    k = z - np.linalg.pinv(A) @ (A @ z)
    other = x + k
    assert np.linalg.norm(x) <= np.linalg.norm(other) + 1e-9
    P = A.T @ np.linalg.inv(A @ A.T) @ A  # orthogonal projector on range(Aᵀ) = (ker A)^⟂
    np.testing.assert_allclose(P @ other, x, atol=1e-8)
    np.testing.assert_allclose(A @ np.asarray(min_norm_matrix(A)), np.eye(2), atol=1e-8)


def test_min_norm_errors():
    with pytest.raises(ValueError, match="rank n = 2"):
        min_norm_matrix(jnp.array([[1.0, 2, 3], [2, 4, 6]]))
    with pytest.raises(ValueError, match="N ≥ n"):
        min_norm_matrix(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        min_norm_solution(jnp.eye(2, 3), jnp.ones(3))


def test_residual_bypass(x64):
    # L9375–9387: block 3 receives Z X u_1 on R^p whatever W_in^2 and Ỹ are.
    key = jax.random.key(0)
    p, n, K = 2, 5, 3
    ks = jax.random.split(key, 8)
    X, Z = jax.random.normal(ks[0], (p, p)), jax.random.normal(ks[1], (p, p))
    Xt, Yt, Zt = (jax.random.normal(ks[i], (n - p, n - p)) for i in (2, 3, 4))
    w_out1, w_out2, w_in3 = bypass_matrices(X, Xt, Yt, Z, Zt)
    x1 = jnp.zeros((n, K)).at[:p].set(0.0)
    u1 = jax.random.normal(ks[5], (p, K))

    def run(w_in2: jax.Array, Yt: jax.Array) -> jax.Array:
        _, w_out2, _ = bypass_matrices(X, Xt, Yt, Z, Zt)
        blocks = [lambda v: v.at[:p].set(u1), jnp.tanh]  # block 1 emits u_1 on R^p
        xs = residual_stream(x1, blocks, [jnp.eye(n), w_in2], [w_out1, w_out2])
        return (w_in3 @ xs[-1])[:p]

    a = run(jax.random.normal(ks[6], (n, n)), Yt)
    b = run(jax.random.normal(ks[7], (n, n)), 3 * Yt)
    np.testing.assert_allclose(a, Z @ X @ u1, atol=1e-12)
    np.testing.assert_allclose(a, b, atol=1e-12)
    with pytest.raises(ValueError, match="changed the shape"):
        residual_stream(x1, [lambda v: v[:2]], [jnp.eye(n)], [jnp.eye(2)])


# ------------------------------------------------------------------ positions


def test_book_position_vectors(x64):
    W = position_vectors(4, 6, 100.0)
    np.testing.assert_allclose(W, position_vectors_loops(4, 6, 100.0), atol=1e-15)
    np.testing.assert_allclose(W[0], [1, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(W[1], [0.540, 0.841, 0.976, 0.213, 0.998, 0.046], atol=1e-3)
    np.testing.assert_allclose(W[2], [-0.416, 0.909, 0.908, 0.417, 0.995, 0.0926], atol=1e-3)
    np.testing.assert_allclose(W[3], [-0.990, 0.141, 0.798, 0.602, 0.990, 0.138], atol=1e-3)
    assert digits(22, 2) == [0, 1, 1, 0, 1]  # L9449
    assert sum(c * 10**i for i, c in enumerate(digits(2024, 10))) == 2024


@given(st.integers(0, 300), st.integers(-50, 50), st.sampled_from([2, 6, 16]), st.sampled_from([100.0, 10_000.0]))
def test_rotation_identity(x64, k, shift, n, p):
    W = position_vectors(1, n, p, start=k)[0]
    R = block_rotation(shift, n, p)
    np.testing.assert_allclose(R @ W, position_vectors(1, n, p, start=k + shift)[0], atol=1e-9)
    np.testing.assert_allclose(R @ R.T, np.eye(n), atol=1e-12)
    assert float(jnp.linalg.det(R)) == pytest.approx(1.0)
    np.testing.assert_allclose(block_rotation(1, n, p) @ block_rotation(shift, n, p), block_rotation(shift + 1, n, p), atol=1e-9)
    assert float(W @ W) == pytest.approx(n / 2)
    # ⟨w_k, w_{k+ℓ}⟩ = Σ cos(ℓ ω_i) depends only on ℓ.
    W2 = position_vectors(1, n, p, start=k + shift)[0]
    assert float(W @ W2) == pytest.approx(float(jnp.sum(jnp.cos(shift * frequencies(n, p)))), abs=1e-9)


def test_position_properties(x64):
    w = frequencies(768, 10_000.0)
    assert float(w[0]) == 1.0 and bool(jnp.all(jnp.diff(w) < 0))
    np.testing.assert_allclose(jnp.linalg.matrix_power(rotation(0.3), 5), rotation(1.5), atol=1e-12)
    W = np.asarray(position_vectors(1024, 768))
    assert len({tuple(np.round(r, 9)) for r in W}) == 1024  # k ↦ w_k injective
    with pytest.raises(ValueError, match="even"):
        position_vectors(3, 5)
    with pytest.raises(ValueError, match="p must be > 1"):
        frequencies(4, 1.0)


# ------------------------------------------------------------------ tensor products


def test_book_tensor_examples(x64):
    A, B, M = jnp.array([[1.0, 2], [3, 4]]), jnp.array([[2.0, -1], [1, 0]]), jnp.array([[1.0, 2], [0, 1]])
    np.testing.assert_allclose(tensor_action(A, B, M), [[8, 18], [5, 11]])
    np.testing.assert_allclose(tensor_action_columns(A, B, M), [[8, 18], [5, 11]])
    np.testing.assert_allclose(kronecker(A, B), [[2, -1, 4, -2], [1, 0, 2, 0], [6, -3, 8, -4], [3, 0, 4, 0]])
    np.testing.assert_allclose(vec(M), [1, 0, 2, 1])
    np.testing.assert_allclose(kronecker(A, B) @ vec(M), [8, 5, 18, 11])
    np.testing.assert_allclose(unvec(kronecker(A, B) @ vec(M), (2, 2)), [[8, 18], [5, 11]])


mats = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
    lambda s: st.tuples(*[hnp.arrays(np.float64, shape, elements=small) for shape in
                          [(s[0], s[0]), (s[1], s[1]), (s[0], s[0]), (s[1], s[1]), (s[1], s[0])]]))


@given(mats)
def test_tensor_identities(x64, m):
    A1, B1, A2, B2, M = m
    p, n = A1.shape[0], B1.shape[0]
    np.testing.assert_allclose(kronecker(A1, B1), jnp.kron(A1, B1), atol=1e-12)
    np.testing.assert_allclose(kronecker(A1, B1) @ vec(M), vec(tensor_action(A1, B1, M)), atol=1e-10)
    np.testing.assert_allclose(tensor_action_columns(A1, B1, M), tensor_action(A1, B1, M), atol=1e-10)
    # Mixed product, as operators and as Kronecker matrices.
    lhs = tensor_action(A1, B1, tensor_action(A2, B2, M))
    np.testing.assert_allclose(lhs, tensor_action(A1 @ A2, B1 @ B2, M), atol=1e-9)
    np.testing.assert_allclose(jnp.kron(A1, B1) @ jnp.kron(A2, B2), jnp.kron(A1 @ A2, B1 @ B2), atol=1e-9)
    # (I ⊗ B)M = BM, (A ⊗ I)M = MAᵀ, bilinearity, transpose.
    np.testing.assert_allclose(tensor_action(np.eye(p), B1, M), B1 @ M, atol=1e-12)
    np.testing.assert_allclose(tensor_action(A1, np.eye(n), M), M @ A1.T, atol=1e-12)
    np.testing.assert_allclose(tensor_action(A1 + A2, B1, M), tensor_action(A1, B1, M) + tensor_action(A2, B1, M), atol=1e-10)
    np.testing.assert_allclose(kronecker(A1, B1).T, kronecker(A1.T, B1.T), atol=1e-12)


def test_tensor_errors():
    with pytest.raises(ValueError, match=r"M must be \(n, p\) = \(2, 3\)"):
        tensor_action(jnp.eye(3), jnp.eye(2), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="square"):
        tensor_action(jnp.ones((2, 3)), jnp.eye(2), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="length 6"):
        unvec(jnp.ones(5), (2, 3))


# ------------------------------------------------------------------ attention


def test_book_attention_examples():
    q = jnp.array([2.0, 1, 4, 3])
    assert float(q @ jnp.array([-1.0, 3, 0, 2])) == 7  # L9790
    assert float(q @ jnp.array([-2.0, 0, 2, 2])) == 10  # L9800
    # "Jeanne visite le zoo, émerveillée" (L9868–9876): rows are probability vectors; the
    # pattern is softmax of log-weights, and each w_j = Σ_i A_ji v_i.
    A = jnp.array([[0.2, 0.4, 0.1, 0.3], [0.2, 0.4, 0.4, 0.0], [0.1, 0.4, 0.4, 0.1], [0.3, 0.0, 0.2, 0.5]])
    np.testing.assert_allclose(A.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(attention_from_scores(jnp.log(A)), A, atol=1e-6)


def _head(key, n=6, r=3):
    ks = jax.random.split(key, 4)
    return (jax.random.normal(ks[0], (r, n)), jax.random.normal(ks[1], (r, n)),
            jax.random.normal(ks[2], (r, n)), jax.random.normal(ks[3], (n, r)))


def _pattern_tolerance(x, wq, wk, *, causal=False, score_terms=None):
    """The |difference| allowed between two float32 evaluations of the pattern A that sum in
    other orders (helpers.float32_tolerance): a score ⟨q_j|k_i⟩/√r sums n then r terms
    (``score_terms``: r alone when both share q and k); softmax turns errors ds in a row into at
    most 2·A·max|ds| and rounds K + 3 times (exp, the K-term sum, the division)."""
    ax, aq, ak = (np.abs(np.asarray(a, np.float64)) for a in (x, wq, wk))
    r, n = aq.shape
    A = np.asarray(attention_pattern(x, wq, wk, causal=causal), np.float64)
    scores = (aq @ ax).T @ (ak @ ax) / np.sqrt(r)  # Σ|terms| of the scores
    ds = float32_tolerance(n + r if score_terms is None else score_terms,
                           scores.max(axis=1, keepdims=True))
    return 2 * A * ds + float32_tolerance(ax.shape[1] + 3, A)


def _head_tolerance(x, wq, wk, wv, wo, *, causal=False, score_terms=None, same_pattern=False):
    """The same for the head h = W_O W_V x Aᵀ: it sums r + n + K terms and carries the
    pattern's error (none when both evaluations share A)."""
    ax, av, ao = (np.abs(np.asarray(a, np.float64)) for a in (x, wv, wo))
    r, n = av.shape
    A = np.asarray(attention_pattern(x, wq, wk, causal=causal), np.float64)
    tol_A = 0.0 * A if same_pattern else _pattern_tolerance(x, wq, wk, causal=causal,
                                                           score_terms=score_terms)
    read = ao @ av @ ax  # Σ|terms| of W_O W_V x
    return float32_tolerance(r + n + ax.shape[1], read @ A.T) + read @ tol_A.T


@pytest.mark.parametrize("causal", [False, True])
def test_attention_properties(causal):
    key = jax.random.key(0)
    x = jax.random.normal(key, (6, 5))  # n = 6, K = 5 tokens as columns
    wq, wk, wv, wo = _head(jax.random.key(1))
    A = attention_pattern(x, wq, wk, causal=causal)
    # float32 (helpers): each A_ji divides by the row's 5-term sum, adding the row 5 more
    assert_within(A.sum(1), np.ones(5), float32_tolerance(2 * 5, 1.0))
    if causal:
        np.testing.assert_allclose(A, jnp.tril(A))
        np.testing.assert_allclose(A[0], [1, 0, 0, 0, 0])
    h = attention_head(x, wq, wk, wv, wo, causal=causal)
    # the same pattern A (the same code): only the r + n + K-term products differ in order
    tol_h = _head_tolerance(x, wq, wk, wv, wo, causal=causal, same_pattern=True)
    assert_within(h, attention_head_factored(x, wq, wk, wv, wo, causal=causal), tol_h)
    assert_within(h[:, 2], sum(A[2, i] * (wo @ wv @ x[:, i]) for i in range(5)), tol_h[:, 2])
    # W_Q = 0: uniform rows (1/K, or 1/j with the mask); same vector added to all keys: no change.
    U = attention_pattern(x, jnp.zeros_like(wq), wk, causal=causal)
    expected = (jnp.tril(jnp.ones((5, 5))) / jnp.arange(1, 6)[:, None]) if causal else jnp.full((5, 5), 0.2)
    np.testing.assert_allclose(U, expected, atol=1e-6)
    # Library version (row convention) agrees with the book's column convention.
    out, weights = dot_product_attention((wq @ x).T[None, :, None], (wk @ x).T[None, :, None], (wv @ x).T[None, :, None], causal=causal)
    # the same q and k: the scores differ by their r-term sums only; then the 5-term A·v
    tol_A = _pattern_tolerance(x, wq, wk, causal=causal, score_terms=wq.shape[0])
    assert_within(weights[0, 0], A, tol_A)
    ref = jax.nn.dot_product_attention((wq @ x).T[None, :, None], (wk @ x).T[None, :, None], (wv @ x).T[None, :, None], is_causal=causal)
    v = np.abs(np.asarray(wv @ x, np.float64)).T
    assert_within(out[0, :, 0], ref[0, :, 0], float32_tolerance(5, np.asarray(A) @ v) + tol_A @ v)
    tol_h = _head_tolerance(x, wq, wk, wv, wo, causal=causal, score_terms=wq.shape[0])
    assert_within(wo @ out[0, :, 0].T, h, tol_h)


@given(st.permutations(range(5)), st.integers(0, 2**16))
def test_permutation_equivariance_without_mask(perm, seed):
    x = jax.random.normal(jax.random.key(seed), (6, 5))
    heads = [_head(jax.random.key(seed + 1)), _head(jax.random.key(seed + 2))]
    P = jnp.eye(5)[:, list(perm)]  # x Π permutes the columns
    A, Ap = attention_pattern(x, *heads[0][:2]), attention_pattern(x @ P, *heads[0][:2])
    # x Π recomputes every product (helpers): within the bounds of two evaluations
    assert_within(Ap, P.T @ A @ P, np.asarray(P).T @ _pattern_tolerance(x, *heads[0][:2]) @ np.asarray(P))
    # each head's bound, and the sum of the 2 heads rounded once more
    tol = sum(_head_tolerance(x, *h) for h in heads) + float32_tolerance(
        2, sum(np.abs(np.asarray(attention_head(x, *h))) for h in heads))
    assert_within(multi_head(x @ P, heads), multi_head(x, heads) @ P, tol @ np.asarray(P))


@given(st.integers(1, 4), st.integers(0, 2**16))
def test_causal_no_dependence_on_future(j, seed):
    x = jax.random.normal(jax.random.key(seed), (6, 5))
    y = x.at[:, j:].set(jax.random.normal(jax.random.key(seed + 7), (6, 5 - j)))  # change the future
    head = _head(jax.random.key(seed + 1))
    # exact: the masked weights are 0, so the future enters the first j columns as 0·v terms
    np.testing.assert_array_equal(attention_head(x, *head, causal=True)[:, :j], attention_head(y, *head, causal=True)[:, :j])


def test_multi_head_block_form():
    x = jax.random.normal(jax.random.key(0), (6, 4))
    ks = jax.random.split(jax.random.key(1), 6)
    w_in = [jax.random.normal(ks[i], (2, 6)) for i in range(3)]
    w_out = [jax.random.normal(ks[3 + i], (6, 2)) for i in range(3)]
    patterns = [jax.nn.softmax(jax.random.normal(jax.random.key(9 + i), (4, 4)), -1) for i in range(3)]
    a, b = multi_head_block_form(x, w_in, w_out, patterns)
    # float32 (helpers): W_in x (6 terms), ·Aᵀ (4, and the identity's 2), W_out (2 per head,
    # then 3 heads: 6); Σ|terms| = Σ_j |W_out⁽ʲ⁾| |W_in⁽ʲ⁾| |x| A_jᵀ
    scale = sum(np.abs(np.asarray(wo)) @ np.abs(np.asarray(wi)) @ np.abs(np.asarray(x)) @ np.asarray(A).T
                for wi, wo, A in zip(w_in, w_out, patterns, strict=True))
    assert_float32_close(a, b, reduction=6 + 4 + 2 + 6, scale=scale)


def test_attention_errors():
    x = jnp.ones((6, 5))
    with pytest.raises(ValueError, match=r"\(r, n\) with n = 6"):
        attention_pattern(x, jnp.ones((3, 4)), jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"W_O must be \(n, r\) = \(6, 3\)"):
        attention_head(x, jnp.ones((3, 6)), jnp.ones((3, 6)), jnp.ones((3, 6)), jnp.ones((3, 6)))
    with pytest.raises(ValueError, match="square"):
        attention_from_scores(jnp.ones((2, 3)))
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


# ------------------------------------------------------------------ GELU


def test_gelu_against_jax_and_bounds(x64):
    x = jnp.linspace(-4, 4, 8001)
    np.testing.assert_allclose(G.gelu(x), jax.nn.gelu(x, approximate=False), atol=1e-15)
    np.testing.assert_allclose(G.gelu_tanh(x), jax.nn.gelu(x, approximate=True), atol=1e-15)
    assert float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_tanh(x)))) < 5e-4
    assert float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_sigmoid(x)))) < 0.021
    assert float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_tanh_as_printed(x)))) > 0.5  # the misprint
    # Minimum ≈ −0.16997 at x ≈ −0.7518; GELU ≤ ReLU; GELU(x) − GELU(−x) = x.
    i = int(jnp.argmin(G.gelu(x)))
    assert float(G.gelu(x[i])) == pytest.approx(-0.16997, abs=1e-5) and float(x[i]) == pytest.approx(-0.7518, abs=2e-3)
    assert bool(jnp.all(G.gelu(x) <= jax.nn.relu(x) + 1e-15))
    np.testing.assert_allclose(G.gelu(x) - G.gelu(-x), x, atol=1e-14)
    assert float(jax.grad(G.gelu)(0.0)) == pytest.approx(0.5)
    np.testing.assert_allclose(jax.vmap(jax.grad(G.normal_cdf))(x), G.normal_density(x), atol=1e-14)


@given(st.floats(8, 30))
def test_gelu_limits(x64, x):
    assert float(G.gelu(x)) == pytest.approx(x, rel=1e-12)
    assert abs(float(G.gelu(-x))) < 1e-12
    assert float(jax.nn.relu(x) - G.gelu(x)) < 1e-12


@given(st.floats(-1e3, 1e3, allow_nan=False))
def test_gelu_approximation_error_bounds(x64, x):
    """Over the whole line: |GELU − tanh form| ≤ 4.74e−4 and |GELU − x σ(1.702x)| ≤ 0.0204
    (the maxima, 4.732e−4 at |x| ≈ 2.70 and 0.02033 at |x| ≈ 2.27, found on a grid of step
    5e−5 over [−60, 60]); both are exact at 0 and odd-symmetric in the sense f(x) − f(−x) = x."""
    g = float(G.gelu(x))
    assert abs(g - float(G.gelu_tanh(x))) <= 4.74e-4
    assert abs(g - float(G.gelu_sigmoid(x))) <= 0.0204
    for f in (G.gelu, G.gelu_tanh, G.gelu_sigmoid):
        assert float(f(x) - f(-x)) == pytest.approx(x, abs=1e-12 * (1 + abs(x)))


def test_permutations_small():
    # all 3! permutations keep the unmasked pattern equivariant (exhaustive check).
    x = jax.random.normal(jax.random.key(3), (4, 3))
    wq, wk = _head(jax.random.key(4), n=4, r=2)[:2]
    A = attention_pattern(x, wq, wk)
    tol = _pattern_tolerance(x, wq, wk)  # x Π recomputes every product (helpers)
    for perm in itertools.permutations(range(3)):
        P = jnp.eye(3)[:, list(perm)]
        assert_within(attention_pattern(x @ P, wq, wk), P.T @ A @ P, np.asarray(P).T @ tol @ np.asarray(P))
