"""Chapter 18 — ChatGPT partie 2 / ChatGPT part 2 (book lines 9167–9981).

Unembedding (softmax of the logits, minimum-norm least squares, learned), the residual stream,
sinusoidal positions and their rotations, tensor and Kronecker products, attention (the book's
examples, causal masks, heatmaps), GELU and its approximations — and a GPT in Flax NNX trained
here on a character-level corpus with the training engine (progress bar, checkpoints), whose
text and attention patterns are shown. With GPT-2's weights (``--gpt2 DIR``), the book's GPT-2
numbers: "The cat sat on the" → _floor 7.64 %, …, and the layer-4 head-11 pattern.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)  # the book's small examples are float64 computations

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

from deepmath_jax.language import corpus as C  # noqa: E402
from deepmath_jax.language import gelu as G  # noqa: E402
from deepmath_jax.language.attention import attention_from_scores, attention_head, attention_pattern  # noqa: E402
from deepmath_jax.language.bpe import CharVocab, TokenizerNotFoundError, token_strings  # noqa: E402
from deepmath_jax.language.embedding import top_words  # noqa: E402
from deepmath_jax.book.experiment import Chapter, Experiment, run_chapter  # noqa: E402
from deepmath_jax.language.gpt import GPT, GPTConfig, count_parameters, generate, lm_loss, make_windows  # noqa: E402
from deepmath_jax.language.gpt2_checkpoint import (  # noqa: E402
    CheckpointNotFoundError,
    load_gpt2,
    load_gpt2_with_tokenizer,
    save_gpt2,
    top_next_tokens,
)
from deepmath_jax.language.positions import block_rotation, digits, frequencies, position_vectors  # noqa: E402
from deepmath_jax.probability.distributions import softmax  # noqa: E402
from deepmath_jax.language.tensor_product import kronecker, tensor_action, unvec, vec  # noqa: E402
from deepmath_jax.language.unembedding import (  # noqa: E402
    EmbedUnembed,
    bypass_matrices,
    min_norm_matrix,
    min_norm_solution,
    residual_stream,
)

CHAPTER = Chapter(18, "chatgpt_part2", "ChatGPT partie 2 / ChatGPT part 2", book_lines=(9167, 9981))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default="auto", help="text file, tiny_shakespeare, fortunes, python_docs or auto (default)")
    parser.add_argument("--download", action="store_true", help="allow tensorflow-datasets downloads")
    parser.add_argument("--gpt2", default=os.environ.get("DEEPMATH_GPT2_DIR"), help="Hugging Face GPT-2 folder")
    parser.add_argument("--gpt2-vocab", default=os.environ.get("DEEPMATH_GPT2_VOCAB"), help="folder with encoder.json and vocab.bpe")


def heatmap(ax, A: np.ndarray, labels: list[str], title: str) -> None:
    """An attention pattern: row = the token that looks (query), column = the token looked at."""
    ax.imshow(A, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key (looked at)")
    ax.set_ylabel("query")
    ax.set_title(title, fontsize=9)


# ------------------------------------------------------------------------------------------------
# §2 Unembedding
# ------------------------------------------------------------------------------------------------


def unembedding(exp: Experiment, gpt2, reason: str, corpus: C.Corpus) -> None:
    from deepmath_jax.engine import train

    x = jnp.array([2.2, -1.1, 3.3, 0.44])
    exp.compare("σ(2.2, −1.1, 3.3, 0.44)", book_line=9235, book_value=["0.237", "0.008", "0.713", "0.040"], value=softmax(x))

    cat = {"prompt": "The cat sat on the", "line": 9250,
           "top": [(4314, "_floor", "7.64"), (3996, "_bed", "6.53"), (18507, "_couch", "5.41"), (2323, "_ground", "5.21"), (5743, "_edge", "4.78")]}
    child = {"prompt": "The child sat on the", "line": 9260,
             "top": [(3996, "_bed", "13.11"), (4314, "_floor", "11.66"), (18507, "_couch", "7.06"), (34902, "_sofa", "5.06"), (2323, "_ground", "4.78")]}
    if gpt2 is None:
        exp.skip("logits x_1, x_2, …, x_50256, x_50257 for 'The cat sat on the'", book_line=9243,
                 book_value=["-94.1504", "-91.7648", "-95.7328", "-93.9105"], reason=reason)
        exp.skip("σ(x) at the same places", book_line=9243, book_value=["1.0507e-7", "1.1417e-6", "2.1591e-8", "1.3356e-7"], reason=reason)
        for t in (cat, child):
            exp.skip(f"top-5 after {t['prompt']!r}", book_line=t["line"], book_value=[f"{i} {s} {p} %" for i, s, p in t["top"]], reason=reason)
    else:
        model, enc = gpt2
        logits = np.asarray(model(jnp.asarray([enc.encode(cat["prompt"])]))[0, -1], dtype=np.float64)
        ends = [logits[0], logits[1], logits[-2], logits[-1]]
        # float32 logits of size ~100 computed by two implementations (XLA here, PyTorch in the
        # book) differ by ~1e-5 relative: 2e-3 absolute, and σ = e^x/Σ then by 2e-3 relative.
        exp.compare("logits x_1, x_2, …, x_50256, x_50257 for 'The cat sat on the'", book_line=9243,
                    book_value=["-94.1504", "-91.7648", "-95.7328", "-93.9105"], value=ends, tolerance=2e-3)
        p = np.asarray(softmax(jnp.asarray(logits)))
        exp.compare("σ(x) at the same places", book_line=9243, book_value=["1.0507e-7", "1.1417e-6", "2.1591e-8", "1.3356e-7"],
                    value=[p[0], p[1], p[-2], p[-1]], tolerance=3e-9)
        for t in (cat, child):
            top = top_next_tokens(model, enc, t["prompt"], 5)
            exp.compare(f"top-5 ids after {t['prompt']!r}", book_line=t["line"], book_value=[i for i, _, _ in t["top"]], value=[i for i, _, _ in top])
            exp.compare("their tokens", book_line=t["line"], book_value=[s for _, s, _ in t["top"]], value=[s for _, s, _ in top])
            exp.compare("their probabilities (%)", book_line=t["line"], book_value=[q for _, _, q in t["top"]], value=[100 * q for _, _, q in top])

    # §2.2 minimum-norm least squares (L9288–9305), exact fractions in float64.
    A = jnp.array([[1.0, 2, 0, -1], [1, 1, -1, 0]])
    y = jnp.array([2.0, -1])
    exp.compare("A Aᵀ", book_line=9298, book_value=[[6, 3], [3, 3]], value=A @ A.T)
    exp.compare("(A Aᵀ)⁻¹", book_line=9298, book_value=[["1/3", "-1/3"], ["-1/3", "2/3"]], value=jnp.linalg.inv(A @ A.T), tolerance=1e-12)
    B = min_norm_matrix(A)
    exp.compare("B = Aᵀ(AAᵀ)⁻¹", book_line=9302, book_value=[["0", "1/3"], ["1/3", "0"], ["1/3", "-2/3"], ["-1/3", "1/3"]], value=B, tolerance=1e-12)
    x_min = min_norm_solution(A, y)
    exp.compare("x_min = B y", book_line=9305, book_value=["-1/3", "2/3", "4/3", "-1"], value=x_min, tolerance=1e-12)
    exp.compare("A x_min = y", book_line=9284, book_value=[2, -1], value=A @ x_min, tolerance=1e-12)
    exp.agree("B = Aᵀ(AAᵀ)⁻¹", book_line=9278, ours=B, reference=jnp.linalg.pinv(A), tolerance=1e-12,
              reference_name="jnp.linalg.pinv(A) (Moore–Penrose)")
    # Any other solution x_min + z (z ∈ ker A) is longer (Proposition 1).
    z = jnp.array([1.0, 0, 1, 1])  # A z = 0
    exp.compare("‖x_min‖ < ‖x_min + z‖ for z = (1, 0, 1, 1) ∈ ker A", book_line=9280, book_value=True,
                value=bool(jnp.all(A @ z == 0)) and float(jnp.linalg.norm(x_min)) < float(jnp.linalg.norm(x_min + z)))

    # §2.3 learned embedding and unembedding on bigrams (L9307–9315).
    sentences = [[w.lower() for w in s] for s in C.split_sentences(corpus.text)]
    vocab = top_words(sentences, 300)
    idx = {w: i for i, w in enumerate(vocab)}
    pairs = np.array([(idx[a], idx[b]) for s in sentences for a, b in zip(s, s[1:], strict=False) if a in idx and b in idx], dtype=np.int32)
    model = EmbedUnembed(len(vocab), 32, rngs=nnx.Rngs(exp.seed))

    def loss(model, x, y):
        logits = model(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), y), {}

    epochs = 2 if exp.quick else 10
    hist = train.fit(model, optax.adam(3e-3), (pairs[:, 0], pairs[:, 1]), epochs=epochs, batch_size=256, loss=loss, metrics=(), key=exp.key(1))
    A_l = np.asarray(model.embed.kernel[...]).T  # (n, N): y = A x
    B_l = np.asarray(model.unembed.kernel[...]).T  # (N, n): z = B y
    BA = B_l @ A_l
    learned = {"pairs": int(len(pairs)), "loss": hist.as_dict()["loss"],
               "relative ‖BA − I‖": float(np.linalg.norm(BA - np.eye(len(vocab))) / np.sqrt(len(vocab))),
               "relative ‖B − pinv(A)‖": float(np.linalg.norm(B_l - np.linalg.pinv(A_l)) / np.linalg.norm(B_l))}
    exp.path("learned_unembedding.json").write_text(json.dumps(learned, indent=2))
    print(f"   learned embedding/unembedding on {len(pairs)} bigrams: {learned}")


# ------------------------------------------------------------------------------------------------
# §3 residual stream, sizes
# ------------------------------------------------------------------------------------------------


def residual_and_sizes(exp: Experiment) -> None:
    k = jax.random.split(exp.key(2), 8)
    p, n, K = 3, 8, 4
    X, Z = jax.random.normal(k[0], (p, p)), jax.random.normal(k[1], (p, p))
    Xt, Yt, Zt = (jax.random.normal(k[i], (n - p, n - p)) for i in (2, 3, 4))
    u1 = jax.random.normal(k[5], (p, K))
    results = []
    for trial in range(2):  # two different W_in^2 and Ỹ: block 3 must see the same
        w_out1, w_out2, w_in3 = bypass_matrices(X, Xt, (trial + 1) * Yt, Z, Zt)
        w_in2 = jax.random.normal(jax.random.fold_in(k[6], trial), (n, n))
        xs = residual_stream(jnp.zeros((n, K)), [lambda v: v.at[:p].set(u1), jnp.tanh], [jnp.eye(n), w_in2], [w_out1, w_out2])
        results.append((w_in3 @ xs[-1])[:p])
    exp.agree("what block 3 receives, for two different blocks 2", book_line=9385, ours=jnp.stack(results),
              reference=jnp.stack([Z @ X @ u1] * len(results)), tolerance=1e-12,
              reference_name="Z X u_1, as if block 2 did not exist")

    cfg = GPTConfig()
    exp.compare("MLP block: 768 → 3072 → 768", book_line=9347, book_value=3072, value=4 * cfg.n_embd)
    exp.compare("heads per layer n/r = 768/64", book_line=9671, book_value=12, value=cfg.n_embd // 64)
    exp.compare("K² = 1024² weights for a free attention matrix (> 10⁶)", book_line=9699, book_value=True, value=cfg.block_size**2 > 10**6)
    exp.explain("weights of W_Q (r × n)", book_line=9699, book_value="65536", value=(cfg.n_embd // cfg.n_head) * cfg.n_embd,
                expected=64 * 768, exact=True, reason="r n = 64 × 768 = 49 152; 65 536 = 2¹⁶ is a misprint")
    # 124 439 808: the count of Hugging Face's gpt2 checkpoint (tied unembedding).
    exp.explain("GPT-2 small: number of weights", book_line=8453, book_value="117 millions", value=count_parameters(cfg),
                expected=124_439_808, exact=True,
                reason="counted on the architecture (tied unembedding, as Hugging Face's gpt2): 124 439 808; "
                "117 M is the figure of the GPT-2 paper")


# ------------------------------------------------------------------------------------------------
# §4 positions
# ------------------------------------------------------------------------------------------------


def positions(exp: Experiment) -> None:
    W = np.asarray(position_vectors(4, 6, 100.0))
    book = {0: ["1", "0", "1", "0", "1", "0"], 1: ["0.540", "0.841", "0.976", "0.213", "0.998", "0.046"],
            2: ["-0.416", "0.909", "0.908", "0.417", "0.995", "0.0926"], 3: ["-0.989", "0.141", "0.798", "0.602", "0.990", "0.138"]}
    for k, v in book.items():
        # w_3[0] = cos 3 = −0.98999…: the book truncates it to −0.989, within one printed unit.
        # w_0 = (1, 0, 1, 0, 1, 0) is exact (cos 0, sin 0): a round-off tolerance, not the "1"'s digit.
        exp.compare(f"w_{k} (K = 4, n = 6, p = 100)", book_line=9437, book_value=v, value=W[k], tolerance=1e-12 if k == 0 else None)
    exp.compare("22 in base 2, units first", book_line=9449, book_value=[0, 1, 1, 0, 1], value=digits(22, 2))
    # Proposition 2 (L9495–9500) for the book's sizes n = 768, p = 10 000.
    n, p = 768, 10_000.0
    Wbig = position_vectors(200, n, p)
    kl = [(0, 1), (5, 17), (100, 99), (37, 2)]
    exp.agree("R_ℓ w_k for (k, ℓ) = (0, 1), (5, 17), (100, 99), (37, 2) (n = 768, p = 10 000)", book_line=9497,
              ours=jnp.stack([block_rotation(l, n, p) @ Wbig[k] for k, l in kl]), reference=jnp.stack([Wbig[k + l] for k, l in kl]),
              tolerance=1e-9, reference_name="w_{k+ℓ} (Proposition 2)")
    R1 = block_rotation(1, n, p)
    exp.agree("R_1^ℓ (ℓ = 5)", book_line=9493, ours=jnp.linalg.matrix_power(R1, 5), reference=block_rotation(5, n, p),
              tolerance=1e-9, reference_name="R_ℓ")

    # Figures (L9466–9477): n = 100, p = 10 000.
    n, p = 100, 10_000.0
    k = np.linspace(0, 50, 200)
    fig, axes = plt.subplots(5, 1, figsize=(10, 8), sharex=True)
    for i, ax in enumerate(axes):
        ax.plot(k, np.sin(k * float(frequencies(n, p)[i])))
        ax.set_title(f"k ↦ sin(k ω_{i})", fontsize=9)
    exp.savefig(fig, "position-icst")
    xs = np.linspace(0, 20, 200)
    fig, axes = plt.subplots(5, 1, figsize=(10, 8), sharex=True)
    for j, ax in enumerate(axes):
        ax.plot(xs, np.sin(10 * j / p ** (2 * xs / n)))
        ax.set_title(f"i ↦ sin(k ω_i), k = {10 * j}", fontsize=9)
    exp.savefig(fig, "position-kcst")
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(np.asarray(position_vectors(100, n, p)).T, cmap="hot", interpolation="nearest")
    ax.set_xlabel("position k")
    ax.set_ylabel("coordinate of w_k")
    exp.savefig(fig, "position-matrix")


# ------------------------------------------------------------------------------------------------
# §5 tensor products
# ------------------------------------------------------------------------------------------------


def tensor_products(exp: Experiment) -> None:
    A, B, M = jnp.array([[1.0, 2], [3, 4]]), jnp.array([[2.0, -1], [1, 0]]), jnp.array([[1.0, 2], [0, 1]])
    exp.compare("(A ⊗ B)M = B M Aᵀ", book_line=9528, book_value=[[8, 18], [5, 11]], value=tensor_action(A, B, M))
    exp.compare("A ⊗ B (Kronecker)", book_line=9596, book_value=[[2, -1, 4, -2], [1, 0, 2, 0], [6, -3, 8, -4], [3, 0, 4, 0]], value=kronecker(A, B))
    exp.agree("A ⊗ B (kronecker)", book_line=9578, ours=kronecker(A, B), reference=jnp.kron(A, B), tolerance=0.0,
              reference_name="jnp.kron(A, B)")
    exp.compare("vec(M)", book_line=9596, book_value=[1, 0, 2, 1], value=vec(M))
    exp.compare("(A ⊗ B) vec(M)", book_line=9596, book_value=[8, 5, 18, 11], value=kronecker(A, B) @ vec(M))
    exp.compare("… as a matrix", book_line=9600, book_value=[[8, 18], [5, 11]], value=unvec(kronecker(A, B) @ vec(M), (2, 2)))
    A2, B2 = jnp.array([[0.0, 1], [-1, 2]]), jnp.array([[1.0, 1], [0, 3]])
    exp.agree("mixed product (A₁⊗B₁)(A₂⊗B₂) applied to M", book_line=9558, ours=tensor_action(A, B, tensor_action(A2, B2, M)),
              reference=tensor_action(A @ A2, B @ B2, M), tolerance=1e-12, reference_name="(A₁A₂)⊗(B₁B₂) applied to M")


# ------------------------------------------------------------------------------------------------
# §6 attention
# ------------------------------------------------------------------------------------------------


def attention(exp: Experiment, gpt2, reason: str) -> None:
    q = jnp.array([2.0, 1, 4, 3])
    exp.compare("qᵀk, k = (−1, 3, 0, 2)", book_line=9790, book_value=7, value=float(q @ jnp.array([-1.0, 3, 0, 2])))
    exp.compare("qᵀk', k' = (−2, 0, 2, 2)", book_line=9800, book_value=10, value=float(q @ jnp.array([-2.0, 0, 2, 2])))
    H = np.array([[0.2, 0.4, 0.1, 0.3], [0.2, 0.4, 0.4, 0.0], [0.1, 0.4, 0.4, 0.1], [0.3, 0.0, 0.2, 0.5]])
    exp.compare("'Jeanne visite le zoo': rows of h(x_1) sum to 1", book_line=9872, book_value=[1, 1, 1, 1], value=H.sum(1), tolerance=1e-12)
    # The pattern is softmax(QᵀK): scores log h give it back; w_j = Σ_i h_ji v_i (L9843, γ not α).
    v = np.eye(4)  # v_i as the canonical basis: w_j reads the weights
    exp.compare("w_3 = 0.1 v_1 + 0.4 v_2 + 0.4 v_3 + 0.1 v_4", book_line=9827, book_value=["0.1", "0.4", "0.4", "0.1"],
                value=np.asarray(attention_from_scores(jnp.log(jnp.asarray(H))) @ v)[2], tolerance=1e-12)
    # Scores α = log h(x_1) (so that σ(α) is the first row of H): the book's α-weighted sum, ours,
    # and the right one, the γ = σ(α)-weighted sum = the first row of H.
    alpha = np.log(H[0])
    exp.explain("w_1 written with α_j (L9843): weights of v_1 … v_4", book_line=9843, book_value=(alpha @ v).tolist(),
                value=np.asarray(attention_from_scores(jnp.log(jnp.asarray(H))) @ v)[0].tolist(), expected=H[0].tolist(),
                tolerance=1e-12,
                reason="the book writes w_1 = α_1 v_1 + … + α_4 v_4; the weights are γ = σ(α), the softmax of the scores, "
                "as the next lines of the book use: w_1 = γ_1 v_1 + … + γ_4 v_4")
    # A causal head (random weights): lower triangular, first row e_1 (L9893).
    x = jax.random.normal(exp.key(3), (8, 4))
    wq, wk = jax.random.normal(exp.key(4), (2, 4, 8))
    Acausal = attention_pattern(x, wq, wk, causal=True)
    exp.compare("causal pattern is lower triangular, first row (1, 0, 0, 0)", book_line=9893, book_value=[1, 0, 0, 0], value=Acausal[0])
    hx = attention_head(x, wq, wk, *jax.random.normal(exp.key(5), (2, 4, 8))[:1], jax.random.normal(exp.key(6), (8, 4)), causal=True)
    exp.compare("h(x) = (A ⊗ W_OV)x keeps the shape n × K", book_line=9712, book_value=[8, 4], value=list(hx.shape))

    book_h = [["1.0000e+00", "0", "0", "0"], ["9.9992e-01", "7.8670e-05", "0", "0"],
              ["2.3590e-06", "9.9987e-01", "1.2841e-04", "0"], ["9.9210e-08", "1.6798e-08", "1.0000e+00", "1.6479e-07"]]
    if gpt2 is None:
        exp.skip("GPT-2 layer 4 head 11, 'The dog is black'", book_line=9884, book_value=book_h, reason=reason)
        return
    model, enc = gpt2
    figures = [("The dog is black", 4, 11, "attention_l4_h11_01"), ("To be or not to be that is the question", 4, 11, "attention_l4_h11_02"),
               ("To be or not to be that is the question", 0, 3, "attention_l0_h3"), ("To be or not to be that is the question", 0, 9, "attention_l0_h9"),
               ("To be or not to be that is the question", 0, 5, "attention_l0_h5")]
    for text, layer, head, name in figures:
        ids = enc.encode(text)
        _, pats = model(jnp.asarray([ids]), return_attention=True)
        A = np.asarray(pats[layer][0, head], dtype=np.float64)
        if name == "attention_l4_h11_01":
            # 5 significant digits are printed (1.0000e+00 → 1e-4); the "0" above the diagonal are
            # exact (mask) and must not widen the tolerance to their printed unit 1.
            exp.compare("GPT-2 layer 4 head 11, 'The dog is black'", book_line=9884, book_value=book_h, value=A, tolerance=1e-4)
        fig, ax = plt.subplots(figsize=(5, 5))
        heatmap(ax, A, token_strings(enc, ids), f"GPT-2 layer {layer}, head {head}")
        exp.savefig(fig, name)


# ------------------------------------------------------------------------------------------------
# §7 GELU
# ------------------------------------------------------------------------------------------------


def gelu_section(exp: Experiment) -> None:
    x = jnp.linspace(-4, 4, 8001)
    err_tanh = float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_tanh(x))))
    err_sig = float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_sigmoid(x))))
    err_printed = float(jnp.max(jnp.abs(G.gelu(x) - G.gelu_tanh_as_printed(x))))
    pts = jnp.array([-3.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    exp.explain("tanh approximation of GELU at x = −3, −1, −½, ½, 1, 3", book_line=9969,
                book_value=np.asarray(G.gelu_tanh_as_printed(pts)).tolist(), value=np.asarray(G.gelu_tanh(pts)).tolist(),
                expected=np.asarray(jax.nn.gelu(pts, approximate=True)).tolist(), tolerance=1e-12,
                reason=f"misprint: the book prints (x/2)(1 + th(√(2/π) + 0.44715 x³)), {err_printed:.2f} away from GELU on "
                "[−4, 4]; the right one, (x/2)(1 + th(√(2/π)(x + 0.044715 x³))) (authors' gelu.py, GPT-2, "
                f"jax.nn.gelu(approximate=True)), is within {err_tanh:.1e}")
    exp.agree("GELU on [−4, 4]", book_line=9958, ours=G.gelu(x), reference=jax.nn.gelu(x, approximate=False), tolerance=1e-12,
              reference_name="jax.nn.gelu(approximate=False)")
    exp.compare("tanh and sigmoid forms 'indiscernables' from GELU at the figure's scale (max error < 1 % of the range)",
                book_line=9977, book_value=True, value=max(err_tanh, err_sig) < 0.01 * 7)
    g = np.asarray(G.gelu(x))
    exp.compare("GELU is non-monotone with negative values", book_line=9952, book_value=True, value=bool(g.min() < 0 and np.any(np.diff(g) < 0) and np.any(np.diff(g) > 0)))
    print(f"   GELU: min {g.min():.5f} at x = {float(x[np.argmin(g)]):.4f}; |tanh − GELU| ≤ {err_tanh:.2e}, |sigmoid − GELU| ≤ {err_sig:.4f}")

    xs = np.linspace(-5, 5, 200)
    for name, fy, color in (("gelu01", G.normal_density, "blue"), ("gelu02", G.normal_cdf, "orange")):
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.plot(xs, fy(xs), color=color)
        ax.set_title("f(x) = e^{−x²/2}/√(2π)" if name == "gelu01" else "Φ(x) = P(X ≤ x)")
        exp.savefig(fig, name)
    xs = np.linspace(-4, 3, 200)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, G.gelu(xs))
    ax.set_title("GELU(x) = x Φ(x)")
    exp.savefig(fig, "gelu03")
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, jax.nn.relu(xs), label="ReLU", color="orange")
    ax.plot(xs, G.gelu(xs), label="GELU", color="blue")
    ax.legend()
    exp.savefig(fig, "gelu04")
    xs = np.linspace(-3, 2, 200)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, G.gelu(xs), label="GELU", lw=3)
    ax.plot(xs, G.gelu_tanh(xs), label="tanh form (corrected)")
    ax.plot(xs, G.gelu_sigmoid(xs), label="x σ(1.702x)")
    ax.legend()
    exp.savefig(fig, "gelu05")
    xs = np.linspace(-4, 4, 400)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, G.gelu(xs) - G.gelu_tanh(xs), label="GELU − tanh form", color="orange")
    ax.plot(xs, G.gelu(xs) - G.gelu_sigmoid(xs), label="GELU − x σ(1.702x)", color="green")
    ax.legend()
    exp.savefig(fig, "gelu06")


# ------------------------------------------------------------------------------------------------
# A GPT trained here
# ------------------------------------------------------------------------------------------------


def tiny_gpt(exp: Experiment, corpus: C.Corpus) -> None:
    """A small GPT trained here by the engine (:func:`deepmath_jax.engine.train.fit`): progress bar,
    checkpoints in the results folder, loss curve, text with temperature and top-k."""
    from deepmath_jax.engine import train
    from deepmath_jax.engine.checkpoint import run_directory

    text = corpus.text
    vocab = CharVocab.from_text(text)
    ids = np.asarray(vocab.encode(text), dtype=np.int32)
    split = int(0.9 * ids.size)
    batch_size, warmup, peak, floor = 32, 50, 3e-3, 3e-4
    if exp.quick:
        config = GPTConfig(vocab_size=vocab.size, block_size=64, n_layer=2, n_head=4, n_embd=64)
        epochs, windows = 10, 30 * batch_size  # 300 steps
    else:
        config = GPTConfig(vocab_size=vocab.size, block_size=64, n_layer=4, n_head=4, n_embd=128)
        # 1 500 steps (minutes on 2 cores); 9 600 windows (a quarter of the text) seen 5 times
        # each: more passes over fewer windows overfit (validation rises after ~8 passes).
        epochs, windows = 5, 300 * batch_size
    steps = epochs * windows // batch_size
    x, y = make_windows(ids[:split], config.block_size, windows, exp.key(7))
    xv, yv = make_windows(ids[split:], config.block_size, 256, exp.key(8))
    model = GPT(config, rngs=nnx.Rngs(exp.seed))
    n_params = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
    print(f"   tiny GPT on {corpus.name} characters ({vocab.size} tokens): {config}, {n_params} weights, {epochs} epochs × {windows // batch_size} steps")
    tx = optax.adamw(optax.warmup_cosine_decay_schedule(peak / 30, peak, warmup, steps, floor), weight_decay=0.01)
    # One checkpoint folder per configuration: a quick and a full run (or another corpus, seed,
    # size, schedule) in the same results folder never resume each other's checkpoints; the same
    # configuration run again resumes (a finished run is not redone: its history is restored).
    settings = {"model": dataclasses.asdict(config), "corpus": corpus.name, "corpus_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "windows": windows, "validation_windows": len(xv), "batch_size": batch_size, "epochs": epochs, "seed": exp.seed,
                "optimizer": {"name": "adamw", "weight_decay": 0.01, "schedule": "warmup_cosine_decay", "init": peak / 30,
                              "peak": peak, "warmup_steps": warmup, "decay_steps": steps, "end": floor}}
    ckpt = run_directory(exp.dir / "gpt_checkpoints", settings, prefix="quick" if exp.quick else "full")
    hist = train.fit(model, tx, (x, y), epochs=epochs, batch_size=batch_size, loss=lm_loss, metrics=(), validation=(xv, yv),
                     key=exp.key(9), checkpoint_dir=ckpt, progress=True, desc="tiny GPT")
    h = hist.as_dict()
    final = train.evaluate(model, (xv, yv), loss=lm_loss)
    print(f"   validation: {final} (uniform guess ln {vocab.size} = {np.log(vocab.size):.3f}); checkpoints in {ckpt}")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, epochs + 1), h["loss"], "o-", label="training")
    ax.plot(range(1, epochs + 1), h["val_loss"], "s-", label="validation (last 10 % of the text)")
    ax.axhline(np.log(vocab.size), color="gray", ls="--", label=f"uniform guess ln {vocab.size}")
    ax.set_xticks(range(1, epochs + 1))
    ax.set_xlabel(f"epoch ({windows // batch_size} steps of {batch_size} windows of {config.block_size} characters)")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(f"A GPT trained on {corpus.name} ({n_params} weights)")
    ax.legend()
    exp.savefig(fig, "gpt-loss")

    prompt = vocab.encode("The ")
    samples = {f"T={T}, top-k={k}": vocab.decode(generate(model, prompt, 200 if not exp.quick else 120, key=jax.random.fold_in(exp.key(10), i), temperature=T, top_k=k))
               for i, (T, k) in enumerate([(0.5, 10), (1.0, 10), (1.0, None)])}
    samples["greedy"] = vocab.decode(generate(model, prompt, 80, greedy=True))
    # The trained model in Hugging Face's layout, read back: same logits.
    folder = save_gpt2(model, exp.dir / "gpt_hf")
    again = load_gpt2(folder)
    probe = jnp.asarray(xv[:2])
    same = float(jnp.max(jnp.abs(again(probe) - model(probe))))
    summary = {"config": dataclasses.asdict(config), "weights": n_params, "history": h, "validation": final, "samples": samples,
               "hf_export_max_logit_difference": same, "checkpoints": str(ckpt)}
    exp.path("gpt.json").write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False))
    for k, s in samples.items():
        print(f"   [{k}] {s!r}")

    sentence = "The cat sat on the mat."
    sids = vocab.encode(sentence) if set(sentence) <= set(vocab.chars) else prompt
    _, pats = model(jnp.asarray([sids]), return_attention=True)
    labels = list(vocab.decode(sids))
    fig, axes = plt.subplots(1, config.n_head, figsize=(4 * config.n_head, 4.4))
    for hd, ax in enumerate(axes):
        heatmap(ax, np.asarray(pats[-1][0, hd], dtype=np.float64), labels, f"our GPT, layer {config.n_layer - 1}, head {hd}")
    exp.savefig(fig, "gpt-attention")


def run(exp: Experiment) -> None:
    try:
        gpt2, reason = load_gpt2_with_tokenizer(exp.options.get("gpt2"), exp.options.get("gpt2_vocab")), ""
    except (CheckpointNotFoundError, TokenizerNotFoundError) as err:
        gpt2, reason = None, f"needs GPT-2's weights: {err}"
    corpus = C.load_corpus(exp.options.get("corpus", "auto"), data_dir=exp.data_dir, download=bool(exp.options.get("download")))
    print(f"   corpus: {corpus.name} ({corpus.source})")
    with exp.section("§2 unembedding"):
        unembedding(exp, gpt2, reason, corpus)
    with exp.section("§3 residual stream"):
        residual_and_sizes(exp)
    with exp.section("§4 positions"):
        positions(exp)
    with exp.section("§5 tensor product"):
        tensor_products(exp)
    with exp.section("§6 attention"):
        attention(exp, gpt2, reason)
    with exp.section("§7 GELU"):
        gelu_section(exp)
    with exp.section("GPT"), jax.enable_x64(False):  # the network trains in float32
        tiny_gpt(exp, corpus)


if __name__ == "__main__":
    sys.exit(run_chapter(CHAPTER, run, add_arguments=add_arguments))
