"""Chapter 17 §2 — corpus statistics, Zipf–Mandelbrot, n-grams, temperature sampling."""

from __future__ import annotations

from collections import Counter

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepmath_jax.language.corpus import (
    FORTUNES_DIR,
    Corpus,
    CorpusNotFoundError,
    fit_zipf_mandelbrot,
    greedy_sentence,
    load_corpus,
    load_fortunes,
    load_text_file,
    ngram_successors,
    rank_frequencies,
    sample_sentence,
    split_sentences,
    temperature_weights,
    weighted_choice,
    word_counts,
    zipf_mandelbrot,
)

TEXT = (
    "The cat sat on the mat. The cat ate the fish! A dog sat on the cat. "
    "The dog and the cat sat on the mat again.\n\nThe end"
)


def test_sentences_words_and_counts():
    s = split_sentences(TEXT)
    assert s[0] == ["The", "cat", "sat", "on", "the", "mat"]  # case kept, one-letter "A" dropped
    assert s[2] == ["dog", "sat", "on", "the", "cat"]
    c = word_counts(s)
    assert c["the"] == 5 and c["The"] == 4 and c["cat"] == 4 and "A" not in c
    f = rank_frequencies(c)
    assert f.sum() == pytest.approx(1) and np.all(np.diff(f) <= 0)


def test_ngrams_inside_sentences():
    s = split_sentences(TEXT)
    succ = ngram_successors(s, 2)
    assert succ[("the",)] == Counter({"mat": 2, "fish": 1, "cat": 2})
    assert succ[("cat",)]["sat"] == 2
    assert "The" not in succ.get(("mat",), Counter())  # no pair across a sentence end
    tri = ngram_successors(s, 3)
    assert tri[("sat", "on")]["the"] == 3
    assert greedy_sentence(succ, "The", num_words=4) == ["The", "cat", "sat", "on"]


def test_sampling_follows_the_book_and_is_reproducible():
    s = split_sentences(TEXT)
    succ = ngram_successors(s, 2)
    a = sample_sentence(succ, "The", jax.random.key(3), max_words=8, top_k=3, temperature=0.5)
    b = sample_sentence(succ, "The", jax.random.key(3), max_words=8, top_k=3, temperature=0.5)
    assert a == b and a[0] == "The"
    for w1, w2 in zip(a, a[1:], strict=False):
        assert succ[(w1,)][w2] > 0
    # T → 0: the most frequent successor, as the greedy sentence (book L8592).
    cold = sample_sentence(succ, "The", jax.random.key(0), max_words=6, top_k=20, temperature=1e-3)
    assert cold == greedy_sentence(succ, "The", num_words=6)


def test_temperature_weights_are_softmax_of_frequencies():
    w = np.asarray(temperature_weights([2, 5, 25, 3, 14, 4], 0.2))
    x = np.array([2, 5, 25, 3, 14, 4]) / 53
    e = np.exp(x / 0.2)
    np.testing.assert_allclose(w, e / e.sum(), rtol=1e-6)
    # Book figure L8584 (computed in the inventory): T = 0.1 → 0.8359 on the largest frequency.
    assert float(temperature_weights([2, 5, 25, 3, 14, 4], 0.1)[2]) == pytest.approx(0.8359, abs=1e-4)


@given(st.lists(st.integers(1, 1000), min_size=2, max_size=6), st.floats(0.01, 5), st.floats(0.01, 5))
def test_temperature_weight_identities(x64, counts, t1, t2):
    w1 = np.asarray(temperature_weights(counts, t1))
    assert w1.sum() == pytest.approx(1) and np.all(w1 > 0)
    # order-preserving: a more frequent successor never gets a smaller weight
    c = np.array(counts)
    assert np.all((c[:, None] > c[None, :]) <= (w1[:, None] >= w1[None, :]))
    # entropy is non-decreasing in T
    lo, hi = sorted((t1, t2))
    H = [float(-(w * np.log(w)).sum()) for w in (np.asarray(temperature_weights(counts, T)) for T in (lo, hi))]
    assert H[0] <= H[1] + 1e-12
    # T → 0: the most frequent; T → ∞: uniform
    if (c == c.max()).sum() == 1:
        assert float(temperature_weights(counts, 1e-4)[int(np.argmax(c))]) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(temperature_weights(counts, 1e6), np.full(len(c), 1 / len(c)), atol=1e-6)


@given(st.lists(st.floats(0.01, 10), min_size=2, max_size=5))
def test_weighted_choice_matches_cumulative_rule(weights):
    key = jax.random.key(7)
    r = float(jax.random.uniform(key))
    cum = np.cumsum(np.array(weights) / sum(weights))
    expected = int(np.argmax(cum > r)) if (cum > r).any() else len(weights) - 1
    assert weighted_choice(key, weights) == expected


def test_weighted_choice_frequencies_converge():
    p = np.array([0.1, 0.2, 0.7])
    keys = jax.random.split(jax.random.key(0), 3000)
    draws = np.bincount([weighted_choice(k, p) for k in keys], minlength=3) / 3000
    np.testing.assert_allclose(draws, p, atol=0.03)


def test_zipf_fit_recovers_parameters_and_agrees_with_scipy():
    from scipy.optimize import curve_fit

    ranks = np.arange(1, 301)
    f = np.asarray(zipf_mandelbrot(ranks, 0.1, 1.5, 0.95), dtype=np.float64)
    f = f * np.exp(0.05 * np.sin(ranks))  # a little structured noise
    a, b, c = fit_zipf_mandelbrot(f)
    popt, _ = curve_fit(lambda i, la, b, c: la - c * np.log(i + b), ranks, np.log(f), p0=(np.log(0.1), 1.5, 0.95))
    np.testing.assert_allclose([np.log(a), b, c], popt, rtol=2e-3, atol=2e-3)
    assert abs(c - 0.95) < 0.05


def test_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        Corpus("   ", "x", "y")
    with pytest.raises(ValueError, match="empty corpus"):
        split_sentences("... ! ?")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        temperature_weights([1, 2], 0.0)
    succ = ngram_successors(split_sentences(TEXT), 2)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample_sentence(succ, "The", jax.random.key(0), temperature=-1)
    with pytest.raises(ValueError, match="n ≥ 2"):
        ngram_successors([["a", "b"]], 1)
    with pytest.raises(ValueError, match="at least 3"):
        fit_zipf_mandelbrot([0.5, 0.2])
    with pytest.raises(ValueError, match="> 0"):
        fit_zipf_mandelbrot([0.5, 0.2, 0.0])
    with pytest.raises(CorpusNotFoundError, match="UTF-8 text file"):
        load_text_file("/nonexistent/corpus.txt")
    with pytest.raises(CorpusNotFoundError, match="apt-get install -y fortunes"):
        load_fortunes("/nonexistent")


def test_tiny_shakespeare_offline_message(tmp_path):
    """Not prepared and no download: the message says how to get it and the offline ways."""
    with pytest.raises(CorpusNotFoundError, match="tiny_shakespeare") as info:
        load_corpus("tiny_shakespeare", data_dir=tmp_path, download=False)
    message = str(info.value)
    for hint in ("is not prepared in " + str(tmp_path), "download=True",
                 "python -m deepmath_jax.engine.data download tiny_shakespeare", "--data-dir",
                 "apt-get install -y fortunes", "--corpus PATH"):
        assert hint in message


def test_tiny_shakespeare_through_the_data_module(tmp_path):
    """The tfds path end to end, offline, on tfds's mock data (random text, real format)."""
    import tensorflow_datasets as tfds  # a dependency: a broken install fails, not skips
    with tfds.testing.mock_data(num_examples=1):
        c = load_corpus("tiny_shakespeare", data_dir=tmp_path)
    assert c.name == "tiny_shakespeare" and c.source == "tensorflow-datasets tiny_shakespeare/train"
    assert isinstance(c.text, str) and c.text.strip()


def test_offline_corpora():
    """Python's reference topics are on every machine: a real English text, Zipf-like."""
    c = load_corpus("python_docs")
    assert c.name == "python_docs" and len(c.text) > 100_000
    counts = word_counts(split_sentences(c.text))
    assert counts.most_common(1)[0][0] == "the"
    assert 0.8 < fit_zipf_mandelbrot(rank_frequencies(counts)[:500])[2] < 1.2
    if FORTUNES_DIR.is_dir():  # the Debian package `fortunes`, when installed
        assert load_corpus("auto", data_dir="/nonexistent/tfds").name == "fortunes"
    with pytest.raises(CorpusNotFoundError, match="python_docs"):
        load_corpus("no_such_corpus")


def test_local_file_corpus(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text(TEXT, encoding="utf-8")
    c = load_corpus(p)
    assert c.text == TEXT and c.name == "c"
    (tmp_path / "e.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        load_corpus(tmp_path / "e.txt")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_corpus(tmp_path / "b.txt")


def test_fortunes_from_an_unpacked_package(tmp_path, monkeypatch):
    """``$DEEPMATH_FORTUNES_DIR``: the package unpacked without installing it (CI); `%` splits."""
    (tmp_path / "wisdom").write_text("The cat sat.\n%\nThe dog ran.\n", encoding="utf-8")
    monkeypatch.setenv("DEEPMATH_FORTUNES_DIR", str(tmp_path))
    c = load_corpus("fortunes")
    assert c.name == "fortunes" and "The cat sat." in c.text and "The dog ran." in c.text
    assert "%" not in c.text
    monkeypatch.setenv("DEEPMATH_FORTUNES_DIR", str(tmp_path / "missing"))
    with pytest.raises(CorpusNotFoundError, match="missing"):
        load_corpus("fortunes")
