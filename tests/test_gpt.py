"""The GPT in Flax NNX: checkpoint parity with transformers, generation, training, errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from deepmath_jax.engine import train
from deepmath_jax.language.bpe import CharVocab
from deepmath_jax.engine.checkpoint import run_directory
from deepmath_jax.language.gpt import (
    GPT,
    GPTConfig,
    count_parameters,
    filter_top_k,
    generate,
    lm_loss,
    make_windows,
    next_token_probabilities,
)
from deepmath_jax.language.gpt2_checkpoint import (
    CheckpointNotFoundError,
    find_gpt2_dir,
    load_config,
    load_gpt2,
    save_gpt2,
)

TINY = Path(__file__).parent / "data" / "gpt2-tiny"


@pytest.fixture(scope="module")
def tiny():
    return load_gpt2(TINY)


def test_gpt2_checkpoint_parity(tiny):
    """Our logits and attention patterns equal those of transformers' GPT2LMHeadModel to 1e-5."""
    ref = np.load(TINY / "reference.npz")
    logits, patterns = tiny(jnp.asarray(ref["input_ids"]), return_attention=True)
    assert np.abs(ref["logits"]).max() > 1  # a real test: logits of order 1–10
    np.testing.assert_allclose(logits, ref["logits"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.stack(patterns), ref["attention"], atol=1e-5, rtol=0)
    assert tiny.config == GPTConfig(vocab_size=101, block_size=32, n_layer=2, n_head=4, n_embd=32)


def test_save_load_round_trip(tiny, tmp_path):
    save_gpt2(tiny, tmp_path / "copy")
    again = load_gpt2(tmp_path / "copy")
    ids = jnp.arange(10)[None]
    np.testing.assert_array_equal(again(ids), tiny(ids))


def test_causal_and_generation(tiny):
    ids = jnp.array([[5, 7, 9, 11, 13, 15]])
    other = ids.at[0, 4:].set(jnp.array([1, 2]))
    np.testing.assert_allclose(tiny(ids)[0, :4], tiny(other)[0, :4], atol=1e-6)  # no look ahead
    p = next_token_probabilities(tiny, [5, 7, 9])
    assert p.shape == (101,) and float(p.sum()) == pytest.approx(1, abs=1e-5)
    greedy = generate(tiny, [5, 7, 9], 6, greedy=True)
    assert greedy[:3] == [5, 7, 9] and len(greedy) == 9
    assert greedy[3] == int(jnp.argmax(tiny(jnp.array([[5, 7, 9]]))[0, -1]))
    a = generate(tiny, [5, 7, 9], 5, key=jax.random.key(0), temperature=0.7, top_k=3)
    assert a == generate(tiny, [5, 7, 9], 5, key=jax.random.key(0), temperature=0.7, top_k=3)
    # top-k = 1 is greedy; the generated tokens are among the top-3 of their step.
    assert generate(tiny, [5, 7, 9], 4, key=jax.random.key(1), top_k=1) == generate(tiny, [5, 7, 9], 4, greedy=True)
    logits = tiny(jnp.array([a]))[0]  # causal: position j − 1 predicts token j
    for j in range(3, len(a)):
        assert a[j] in set(np.asarray(jax.lax.top_k(logits[j - 1], 3)[1]).tolist())
    # Prompts longer than the context keep its last block_size tokens.
    assert len(generate(tiny, list(range(40)), 2, greedy=True)) == 42
    np.testing.assert_array_equal(filter_top_k(jnp.array([1.0, 3, 2]), 2), [-jnp.inf, 3, 2])


def test_parameter_count_gpt2_small():
    assert count_parameters(GPTConfig()) == 124_439_808  # the book says 117 million (L8453)


def _char_windows(n: int, seed: int):
    text = "to be or not to be, that is the question. " * 20
    vocab = CharVocab.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    x, y = make_windows(vocab.encode(text), 16, n, jax.random.key(seed))
    return vocab, x, y


SMALL = dict(block_size=16, n_layer=1, n_head=2, n_embd=16)


def test_engine_equals_the_hand_written_training_loop():
    """The engine's ``fit`` (plain jit, donated state) and a hand-written nnx loop of Adam steps
    on the same batches in the same order end with the same weights and losses."""
    vocab, x, y = _char_windows(64, 0)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    config = GPTConfig(vocab_size=vocab.size, **SMALL)
    by_hand, by_engine = (GPT(config, rngs=nnx.Rngs(0)) for _ in range(2))
    opt = nnx.Optimizer(by_hand, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, x, y):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean(lm_loss(m, x, y)[0]))(model)
        opt.update(model, grads)
        return loss

    epochs, bs = 3, 16
    hand = [np.mean([float(step(by_hand, opt, jnp.asarray(x[i : i + bs]), jnp.asarray(y[i : i + bs])))
                     for i in range(0, len(x), bs)]) for _ in range(epochs)]
    hist = train.fit(by_engine, optax.adam(1e-2), (x, y), epochs=epochs, batch_size=bs, loss=lm_loss,
                     metrics=(), key=jax.random.key(0), shuffle=False, progress=False)
    np.testing.assert_allclose(hist.as_dict()["loss"], hand, rtol=1e-5)
    assert hand[0] == pytest.approx(np.log(vocab.size), rel=0.15)  # uniform at the start
    assert hand[-1] < 0.8 * hand[0]
    for a, b in zip(jax.tree.leaves(nnx.state(by_hand, nnx.Param)), jax.tree.leaves(nnx.state(by_engine, nnx.Param)), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_bad_inputs(tiny, tmp_path):
    with pytest.raises(ValueError, match="longer than the model's context of 32"):
        tiny(jnp.zeros((1, 33), jnp.int32))
    with pytest.raises(ValueError, match="unknown token id 101"):
        tiny(jnp.array([[1, 101]]))
    with pytest.raises(TypeError, match="integers"):
        tiny(jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        generate(tiny, [1, 2], 3, key=jax.random.key(0), temperature=0.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        next_token_probabilities(tiny, [1, 2], temperature=-1)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        generate(tiny, [1, 2], 3)
    with pytest.raises(ValueError, match="num_tokens must be an integer ≥ 0"):
        generate(tiny, [1, 2], -1, greedy=True)
    with pytest.raises(ValueError, match="at least one token"):
        generate(tiny, [], 3, greedy=True)
    with pytest.raises(ValueError, match="at least one token"):
        next_token_probabilities(tiny, [])
    with pytest.raises(ValueError, match="unknown token id 101"):
        next_token_probabilities(tiny, [3, 101])
    with pytest.raises(ValueError, match="top_k must be ≥ 1"):
        filter_top_k(jnp.ones(4), 0)
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(n_embd=10, n_head=3)
    # A given configuration must agree with config.json; without one, a checkpoint whose shapes
    # do not match it names the tensor.
    small = GPTConfig(vocab_size=50, block_size=32, n_layer=2, n_head=4, n_embd=32)
    with pytest.raises(ValueError, match=r"vocab_size = 101 in .*config.json, but vocab_size = 50 in the given"):
        load_gpt2(TINY, config=small)
    bad = tmp_path / "bad"
    shutil.copytree(TINY, bad)
    (bad / "config.json").rename(tmp_path / "config.json")
    with pytest.raises(ValueError, match=r"tensor 'wte.weight' .* shape \(101, 32\).* needs \(50, 32\)"):
        load_gpt2(bad, config=small)
    (tmp_path / "config.json").rename(bad / "config.json")
    cfg = json.loads((bad / "config.json").read_text())
    cfg["n_embd"] = 64
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"tensor 'wte.weight' .* has shape \(101, 32\).* needs \(101, 64\)"):
        load_gpt2(bad)
    cfg["n_embd"], cfg["n_layer"] = 32, 3
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"lacks .* tensors .*h\.2\."):
        load_gpt2(bad)
    with pytest.raises(CheckpointNotFoundError, match="config.json and model.safetensors"):
        load_config(tmp_path)
    with pytest.raises(CheckpointNotFoundError, match="DEEPMATH_GPT2_DIR"):
        find_gpt2_dir(tmp_path / "none")
    with pytest.raises(ValueError, match="longer than block_size"):
        make_windows([1, 2, 3], 8, 2, jax.random.key(0))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        CharVocab.from_text("abc").encode("abd")
    with pytest.raises(ValueError, match="unknown token id 3"):
        CharVocab.from_text("abc").decode([3])


def test_attention_module_is_the_books_multi_head_formula():
    """CausalSelfAttention (rows, all heads at once) = Σ_j h_j(x) of the book (columns, L9707–9760)."""
    from deepmath_jax.language.attention import attention_head
    from deepmath_jax.language.gpt import CausalSelfAttention

    cfg = GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=6)
    attn = CausalSelfAttention(cfg, rngs=nnx.Rngs(3))
    attn.c_attn.bias[...] = jnp.zeros_like(attn.c_attn.bias[...])  # the book's heads have no bias
    attn.c_proj.bias[...] = jnp.zeros_like(attn.c_proj.bias[...])
    x = jax.random.normal(jax.random.key(0), (1, 5, 6))  # one sentence of K = 5 tokens
    y, weights = attn(x)
    W, P, r = attn.c_attn.kernel[...], attn.c_proj.kernel[...], 3
    book = 0
    for j in range(2):
        wq, wk, wv = (W[:, s * 6 + j * r : s * 6 + (j + 1) * r].T for s in range(3))  # (r, n)
        wo = P[j * r : (j + 1) * r, :].T  # (n, r)
        book = book + attention_head(x[0].T, wq, wk, wv, wo, causal=True)  # (n, K)
    np.testing.assert_allclose(y[0].T, book, atol=1e-5)
    np.testing.assert_allclose(weights[0], jnp.tril(weights[0]), atol=0)


def test_tiny_gpt_trains_with_the_engine(tmp_path):
    """The experiment's recipe at toy size: engine (Orbax checkpoints in a folder named by the
    run's settings), validation, generation with temperature and top-k, and a rerun that
    restores the finished run instead of training again."""
    vocab, x, y = _char_windows(64, 0)
    _, xv, yv = _char_windows(32, 1)
    config = GPTConfig(vocab_size=vocab.size, **SMALL)
    settings = {"model": dataclasses.asdict(config), "epochs": 4, "lr": 1e-2}
    ckpt = run_directory(tmp_path / "ckpt", settings, prefix="quick")

    def run():
        model = GPT(config, rngs=nnx.Rngs(0))
        hist = train.fit(model, optax.adam(1e-2), (x, y), epochs=4, batch_size=16, loss=lm_loss, metrics=(),
                         validation=(xv, yv), key=jax.random.key(2), checkpoint_dir=ckpt, progress=False)
        return model, hist.as_dict()

    model, h = run()
    assert len(h["loss"]) == 4 and h["loss"][-1] < 0.8 * h["loss"][0] and h["val_loss"][-1] < h["val_loss"][0]
    assert any(ckpt.iterdir())
    assert train.evaluate(model, (xv, yv), loss=lm_loss)["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    out = generate(model, vocab.encode("to be"), 10, key=jax.random.key(3), temperature=0.8, top_k=5)
    assert len(vocab.decode(out)) == 15
    again, h2 = run()  # same settings: the finished run is restored, not trained again
    assert h2 == h
    probe = jnp.asarray(xv[:2])
    np.testing.assert_array_equal(again(probe), model(probe))
    # Other settings (a full run beside a quick one) get another folder, even under one prefix.
    assert run_directory(tmp_path / "ckpt", settings | {"epochs": 15}, prefix="quick") != ckpt
    assert run_directory(tmp_path / "ckpt", settings, prefix="full") != ckpt
    assert run_directory(tmp_path / "ckpt", dict(reversed(settings.items())), prefix="quick") == ckpt


def test_run_directory_errors(tmp_path):
    with pytest.raises(TypeError, match="JSON-able"):
        run_directory(tmp_path, {"f": object()})
    with pytest.raises(TypeError, match="mapping"):
        run_directory(tmp_path, [1, 2])
    with pytest.raises(ValueError, match="plain file name"):
        run_directory(tmp_path, {}, prefix="../x")
    d = run_directory(tmp_path, {"a": 1})
    Path(f"{d}.json").write_text('{"a": 2}')
    with pytest.raises(ValueError, match="other settings"):
        run_directory(tmp_path, {"a": 1})
