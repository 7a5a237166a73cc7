"""Statistics of a text corpus — chapter 17 *ChatGPT partie 1* (ChatGPT part 1), §2
*Statistique et linguistique* (Statistics and linguistics), book lines 8465–8626.

The book counts words in the Reuters corpus (nltk, a download). This module works on any
UTF-8 text:

- :func:`load_corpus` finds one: a local file, ``tiny_shakespeare`` from tensorflow-datasets
  (a download, or a prepared ``data_dir``), or offline the English prose of the Debian package
  ``fortunes`` (``apt-get install -y fortunes``), and as a last resort, present in every Python,
  the English text of Python's own reference topics (``pydoc_data``). A named corpus that is not
  there → :class:`CorpusNotFoundError` saying how to supply it.
- :func:`split_sentences` cuts the text into sentences of words; as the book (L8479) keeps words
  of two letters or more, case-sensitive, and counts n-grams inside sentences (anchor
  ``linguistique.py``).
- Word frequencies, the Zipf–Mandelbrot law f_i = a/(i + b)^c (L8499) fitted by Gauss–Newton in
  log space (:func:`fit_zipf_mandelbrot`, checked against ``scipy.optimize`` in the tests).
- Bigram/trigram successor counts (L8517–8527, L8614–8626), the greedy completion (L8529–8533),
  the weighted random choice (L8537–8539) and the temperature sampling exactly as the book does
  it (L8588–8612): the counts of the ``top_k`` most frequent successors are normalised to
  frequencies summing to 1 and **softmax_T is applied to these frequencies** (not to logits), then
  a successor is drawn with the book's cumulative-sum sampler.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.probability.distributions import softmax_temperature

FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Files of the `fortunes` package that are drawings or non-English, not prose.
_FORTUNES_SKIP = {"ascii-art", "translate-me"}

Successors = dict[tuple[str, ...], Counter]


class CorpusNotFoundError(FileNotFoundError):
    """No text corpus could be found; the message says where we looked and how to supply one."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A text and where it came from."""

    text: str
    name: str
    source: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError(f"the corpus {self.name!r} ({self.source}) is empty: it has no text")


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def load_text_file(path: str | os.PathLike[str]) -> Corpus:
    """A local UTF-8 text file as a corpus (empty file → ``ValueError``)."""
    p = Path(path)
    if not p.is_file():
        raise CorpusNotFoundError(
            f"no text file at {p}: pass the path of a UTF-8 text file, or a corpus name "
            "(tiny_shakespeare, fortunes, python_docs, auto)"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{p} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    return Corpus(text, p.stem, str(p))


def load_fortunes(directory: str | os.PathLike[str] | None = None) -> Corpus:
    """The English prose of the Debian package ``fortunes`` (quotations, jokes, ~440 000 words).

    Each file holds texts separated by lines ``%``; they become paragraphs. ``directory``
    defaults to ``$DEEPMATH_FORTUNES_DIR`` (a package unpacked elsewhere, as CI does), else the
    installed ``/usr/share/games/fortunes``.
    """
    d = Path(directory or os.environ.get("DEEPMATH_FORTUNES_DIR") or FORTUNES_DIR)
    files = sorted(
        f for f in d.glob("*")
        if f.is_file() and not f.is_symlink() and f.suffix == "" and f.name not in _FORTUNES_SKIP
    ) if d.is_dir() else []
    if not files:
        raise CorpusNotFoundError(
            f"the fortunes corpus is not installed (no files in {d}): "
            "run `apt-get install -y fortunes` (Debian/Ubuntu) or pass a text file"
        )
    parts = []
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        parts.extend(p.strip() for p in re.split(r"^%$", text, flags=re.M) if p.strip())
    return Corpus("\n\n".join(parts), "fortunes", str(d))


def load_tiny_shakespeare(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = False, split: str = "train"
) -> Corpus:
    """The ``tiny_shakespeare`` text of tensorflow-datasets (1 MB of Shakespeare's plays), read
    by the engine's :func:`deepmath_jax.engine.data.load_text` (``split``: train, validation or test).

    Raises :class:`CorpusNotFoundError` when it is not prepared in ``data_dir`` and ``download``
    is false (or the download fails): the message says how to get it (``--download``,
    ``python -m deepmath_jax.engine.data download tiny_shakespeare``, ``--data-dir``) and the offline
    alternatives (a text file, the Debian package ``fortunes``).
    """
    from deepmath_jax.engine import data

    offline = ("offline: pass the path of a UTF-8 text file (--corpus PATH) or install the "
               "Debian package `fortunes` (apt-get install -y fortunes; --corpus fortunes)")
    try:
        text = data.load_text("tiny_shakespeare", split, data_dir=data_dir, download=download)
    except data.DatasetNotFoundError as err:
        raise CorpusNotFoundError(f"{err}\n  - {offline}.") from None
    except ImportError as err:  # tensorflow-datasets / TensorFlow missing
        raise CorpusNotFoundError(
            f"tiny_shakespeare needs tensorflow-datasets and tensorflow-cpu ({err}); {offline}"
        ) from err
    return Corpus(text, "tiny_shakespeare", f"tensorflow-datasets tiny_shakespeare/{split}")


def load_python_docs() -> Corpus:
    """The English prose of Python's reference topics (``pydoc_data.topics``, ~60 000 words,
    shipped with CPython): a real text that every machine has, the last resort of ``"auto"``."""
    try:
        from pydoc_data.topics import topics
    except ImportError as err:  # some distributions split the standard library
        raise CorpusNotFoundError(
            f"Python's pydoc_data is not installed ({err}): pass a text file or install the "
            "Debian package `fortunes`"
        ) from err
    return Corpus("\n\n".join(topics[k] for k in sorted(topics)), "python_docs", "pydoc_data.topics")


CORPORA = ("tiny_shakespeare", "fortunes", "python_docs")


def load_corpus(
    source: str | os.PathLike[str] = "auto",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> Corpus:
    """A corpus by name: a file path, ``"tiny_shakespeare"``, ``"fortunes"``, ``"python_docs"``
    or ``"auto"``.

    ``"auto"`` tries ``tiny_shakespeare`` (prepared in ``data_dir``, or downloaded when
    ``download``), then the ``fortunes`` package, then ``python_docs``;
    :class:`CorpusNotFoundError` lists what was tried and how to supply a corpus.
    """
    name = str(source)
    loaders = {"tiny_shakespeare": lambda: load_tiny_shakespeare(data_dir, download=download),
               "fortunes": load_fortunes, "python_docs": load_python_docs}
    if name in loaders:
        return loaders[name]()
    if name != "auto":
        return load_text_file(name)
    errors = []
    for loader in loaders.values():
        try:
            return loader()
        except CorpusNotFoundError as err:
            errors.append(str(err))
    raise CorpusNotFoundError("no text corpus found:\n  - " + "\n  - ".join(errors))


# ------------------------------------------------------------------------------------------------
# Words and sentences
# ------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n")


def split_sentences(text: str, *, min_length: int = 2, lowercase: bool = False) -> list[list[str]]:
    """Sentences as lists of words (letters/digits, inner apostrophes kept).

    As the book (L8479), only words of ``min_length`` = 2 characters or more are kept and case
    is kept (``lowercase=True`` folds it). Raises ``ValueError`` when the text has no word.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    sentences = []
    for chunk in _SENTENCE_END.split(text):
        words = [w.lower() if lowercase else w for w in _WORD.findall(chunk) if len(w) >= min_length]
        if words:
            sentences.append(words)
    if not sentences:
        raise ValueError(f"the corpus has no word of {min_length} characters or more (empty corpus?)")
    return sentences


def word_counts(sentences: Iterable[Sequence[str]]) -> Counter:
    """Occurrences of each word (L8479–8483), in order of first appearance for equal counts."""
    counts: Counter = Counter()
    for s in sentences:
        counts.update(s)
    if not counts:
        raise ValueError("no word to count: the corpus is empty")
    return counts


def rank_frequencies(counts: Counter) -> np.ndarray:
    """f_i = (occurrences of the i-th most frequent word) / (total number of words) (L8497)."""
    values = np.array(sorted(counts.values(), reverse=True), dtype=np.float64)
    return values / values.sum()


# ------------------------------------------------------------------------------------------------
# Zipf–Mandelbrot
# ------------------------------------------------------------------------------------------------


def zipf_mandelbrot(i: ArrayLike, a: float, b: float, c: float) -> Array:
    """f_i = a / (i + b)^c, i ≥ 1 the rank (book L8499; book's hand fit a = 0.1, b = 1.5, c = 0.95)."""
    return a / (jnp.asarray(i) + b) ** c


@jax.jit
def _gauss_newton(theta: Array, ranks: Array, log_f: Array) -> Array:
    # Residuals of ln f_i = ln a − c ln(i + b): parameters θ = (ln a, b, c).
    def residuals(t: Array) -> Array:
        return t[0] - t[2] * jnp.log(ranks + t[1]) - log_f

    def step(t: Array, _: None) -> tuple[Array, None]:
        r = residuals(t)
        J = jax.jacfwd(residuals)(t)  # (m, 3)
        # Levenberg–Marquardt damping keeps the step finite when b makes J nearly singular.
        H = J.T @ J + 1e-6 * jnp.diag(jnp.diag(J.T @ J) + 1.0)
        new = t - jnp.linalg.solve(H, J.T @ r)
        new = new.at[1].set(jnp.maximum(new[1], 0.5 - ranks[0]))  # keep i + b > 0
        return new, None

    theta, _ = jax.lax.scan(step, theta, None, length=200)
    return theta


def fit_zipf_mandelbrot(
    frequencies: ArrayLike, *, init: tuple[float, float, float] = (0.1, 1.5, 0.95)
) -> tuple[float, float, float]:
    """Least-squares fit of ln f_i = ln a − c ln(i + b) (L8509–8513) by Gauss–Newton.

    ``frequencies`` are f_1 ≥ f_2 ≥ … (ranks 1, 2, …). Fitting in log space gives every rank
    the same weight, as the book's log–log figure does. Returns (a, b, c).
    """
    f = np.asarray(frequencies, dtype=np.float64)
    if f.ndim != 1 or f.size < 3:
        raise ValueError(f"need a vector of at least 3 frequencies, got shape {f.shape}")
    if np.any(f <= 0):
        raise ValueError("frequencies must be > 0 to be fitted in log space")
    ranks = jnp.arange(1, f.size + 1, dtype=jnp.float32 if not jax.config.jax_enable_x64 else jnp.float64)
    theta0 = jnp.asarray([np.log(init[0]), init[1], init[2]], dtype=ranks.dtype)
    t = np.asarray(_gauss_newton(theta0, ranks, jnp.log(jnp.asarray(f, dtype=ranks.dtype))))
    return float(np.exp(t[0])), float(t[1]), float(t[2])


# ------------------------------------------------------------------------------------------------
# n-grams and generation
# ------------------------------------------------------------------------------------------------


def ngram_successors(sentences: Iterable[Sequence[str]], n: int = 2) -> Successors:
    """For each context of n − 1 consecutive words, the counts of the word that follows.

    n = 2: co-occurrences (bigrams, L8517–8519): ``succ[("the",)]["company"]`` = 1941 in the
    book's Reuters; n = 3: trigrams (L8614–8616). Counted inside sentences, as the anchor does.
    """
    if n < 2:
        raise ValueError(f"an n-gram model needs n ≥ 2, got {n}")
    succ: Successors = {}
    for s in sentences:
        for j in range(len(s) - n + 1):
            succ.setdefault(tuple(s[j : j + n - 1]), Counter())[s[j + n - 1]] += 1
    if not succ:
        raise ValueError(f"no {n}-gram in the corpus (sentences shorter than {n} words, or empty corpus)")
    return succ


def top_successors(successors: Successors, context: Sequence[str], k: int) -> list[tuple[str, int]]:
    """The k most frequent successors of ``context`` with their counts (ties: first seen first)."""
    if k < 1:
        raise ValueError(f"top_k must be ≥ 1, got {k}")
    return successors.get(tuple(context), Counter()).most_common(k)


def temperature_weights(counts: ArrayLike, temperature: float) -> Array:
    """The book's weights (L8588–8612): softmax_T of the counts normalised to frequencies.

    Frequencies lie in [0, 1] and sum to 1, so T = 1 already gives an almost uniform choice
    (L8584) and T → 0 the most frequent successor; T ≤ 0 raises ``ValueError``.
    """
    c = jnp.asarray(counts, dtype=jnp.result_type(float))
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"counts must be a non-empty vector, got shape {c.shape}")
    return softmax_temperature(c / jnp.sum(c), temperature)


def weighted_choice(key: Array, weights: ArrayLike) -> int:
    """The book's weighted random choice (anchor ``aleatoire_poids``, L8537–8539).

    Normalise the weights, draw r uniform in [0, 1) and return the first index whose cumulative
    sum exceeds r (the last index if rounding leaves the total just below r).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty vector, got shape {w.shape}")
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("weights must be finite, ≥ 0 and not all zero")
    r = float(jax.random.uniform(key, dtype=jnp.float32))
    cumulative = np.cumsum(w / w.sum())
    above = np.nonzero(cumulative > r)[0]
    return int(above[0]) if above.size else w.size - 1


def greedy_sentence(successors: Successors, start: Sequence[str] | str, *, num_words: int = 10) -> list[str]:
    """Always the most frequent successor (L8529–8533): the book's Reuters gives
    "the company said it has been made by the company" (10 words)."""
    words = [start] if isinstance(start, str) else list(start)
    order = _context_length(successors)
    while len(words) < num_words:
        best = top_successors(successors, words[-order:], 1)
        if not best:
            break
        words.append(best[0][0])
    return words


def sample_sentence(
    successors: Successors,
    start: Sequence[str] | str,
    key: Array,
    *,
    max_words: int = 15,
    top_k: int = 10,
    temperature: float = 1.0,
) -> list[str]:
    """A sentence drawn word by word as the book does (anchor ``generation_phrase``, L8588–8626).

    At each step: the ``top_k`` most frequent successors of the last n − 1 words, their counts
    normalised to frequencies, softmax with temperature T of these frequencies, the book's
    weighted choice. Stops at ``max_words`` words or when the context has no successor.
    """
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    words = [start] if isinstance(start, str) else list(start)
    order = _context_length(successors)
    if len(words) < order:
        raise ValueError(f"the start needs {order} words for this {order + 1}-gram model, got {words}")
    while len(words) < max_words:
        top = top_successors(successors, words[-order:], top_k)
        if not top:
            break
        key, sub = jax.random.split(key)
        weights = temperature_weights([c for _, c in top], temperature)
        words.append(top[weighted_choice(sub, weights)][0])
    return words


def _context_length(successors: Successors) -> int:
    if not successors:
        raise ValueError("the n-gram table is empty")
    return len(next(iter(successors)))
