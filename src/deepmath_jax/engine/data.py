"""The datasets of the book's Keras chapters, through tensorflow-datasets, as NumPy arrays.

Chapter 10 *Python : tensorflow avec keras, partie 2* (Keras part 2, book lines 5435–6302) trains
on MNIST (L5458), IMDB reviews as multi-hot vectors of the most frequent words (L6112–6228) and
CIFAR-10 (L6230–6301); chapter 14 *Convolution avec tensorflow/keras* (Convolution with Keras,
L7350–7780) adds cats vs dogs at 64×64 (L7591–7711); the ChatGPT chapters train on a text corpus
(``tiny_shakespeare``). The book loads them with ``keras.datasets``; here tensorflow-datasets
(tfds) reads them, and every split ends as an in-memory :class:`ArrayDataset` (they are small:
MNIST is 190 MB as float32, cats vs dogs at 64×64 is 1.1 GB)::

    from deepmath_jax.engine import data
    train = data.load("mnist", "train", data_dir="~/tensorflow_datasets", download=True)
    test = data.load("mnist", "test", flatten=True, one_hot=True)
    for batch in data.batches(train, 32, key=jax.random.key(0)):   # seeded shuffle
        ...                                                          # Batch(x, y, mask)

- images are float32 in [0, 1] (``x / 255`` as the book does), NHWC (``flatten=True`` gives
  the book's 784- or 3 072-vectors); labels int32, or one-hot float32 with ``one_hot=True``;
- :func:`batches` pads the last batch and masks it (``mask`` 1 for real rows, 0 for padding):
  an evaluation sees every example exactly once, and one compiled step serves every batch;
- :func:`prefetch_to_device` keeps the next batches already on the device (or sharded over a
  mesh) while the current step runs.

Without internet (these build machines, CI), a prepared ``data_dir`` is used as is (never
downloaded again), and :func:`import_idx` builds ``mnist`` or ``fashion_mnist`` in tfds's own
format from the original IDX files (gzipped or not; Debian's ``dataset-fashion-mnist`` package
installs the real Fashion-MNIST ones in ``/usr/share/datasets/fashion-mnist``), so the same
pipeline runs::

    data.import_idx("/usr/share/datasets/fashion-mnist", "fashion_mnist", data_dir="data")
    python -m deepmath_jax.engine.data import-idx /usr/share/datasets/fashion-mnist \
        --name fashion_mnist --data-dir data                       # the same from a shell

A dataset that is neither prepared nor downloadable raises :class:`DatasetNotFoundError` (a
``FileNotFoundError``) naming the dataset, the folder looked in, and the ways to supply it.

TensorFlow (``tensorflow-cpu``) is a dependency: tfds needs it to decode and prepare image
datasets (``tfds.load``, ``download_and_prepare``); it is imported on first use only.

Refinements of the engine contract (``ENGINE_CONTRACT.md``): :func:`load` also takes
``one_hot``, ``flatten``, ``dtype``, ``limit``, ``num_words``, ``image_size`` and
``block_size``; :class:`ArrayDataset` also carries ``class_names`` and ``vocabulary`` and has
``take``, ``one_hot`` and ``from_arrays``; :func:`batches` takes ``start`` (resuming an epoch);
:func:`import_idx` returns the prepared folder and takes ``overwrite``. tfds keeps examples in
its own (hashed) order, the same for a download and an import — not Keras's order.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gzip
import json
import math
import os
import re
import shutil
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

# --------------------------------------------------------------------------------------------
# The datasets
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What :func:`load` knows about one of the book's datasets."""

    tfds_name: str
    kind: str  # "image", "text" (labelled reviews) or "corpus" (one long text)
    book: str  # where the book uses it
    splits: dict[str, str]  # our split name → the tfds split expression
    how: str  # how to get it (for the error message)


_BOOK_MNIST_HOW = (
    "download it once on a machine with internet (download=True), or build it from the "
    "original IDX files with deepmath_jax.engine.data.import_idx(folder, {name!r}, data_dir=...)"
)

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "image", "ch10 L5458, ch14 L7370", {"train": "train", "test": "test"},
        _BOOK_MNIST_HOW,
    ),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", "image", "(MNIST's format, for offline runs)",
        {"train": "train", "test": "test"},
        _BOOK_MNIST_HOW + " (Debian: `apt-get install dataset-fashion-mnist` puts the real files "
        "in /usr/share/datasets/fashion-mnist)",
    ),
    "cifar10": DatasetSpec(
        "cifar10", "image", "ch10 L6236, ch14 L7513", {"train": "train", "test": "test"},
        "download it once on a machine with internet (download=True, 163 MB)",
    ),
    "imdb_reviews": DatasetSpec(
        "imdb_reviews", "text", "ch10 L6122", {"train": "train", "test": "test"},
        "download it once on a machine with internet (download=True, 80 MB)",
    ),
    # tfds has one split of 23 262 photos; the book splits Kaggle's 25 000 into 20 000 / 5 000
    # (L7600): 80 % / 20 % of tfds's split here.
    "cats_vs_dogs": DatasetSpec(
        "cats_vs_dogs", "image", "ch14 L7591", {"train": "train[:80%]", "test": "train[80%:]"},
        "download it once on a machine with internet (download=True, 786 MB)",
    ),
    "tiny_shakespeare": DatasetSpec(
        "tiny_shakespeare", "corpus", "ch17–18 (a text corpus)",
        {"train": "train", "validation": "validation", "test": "test"},
        "download it once on a machine with internet (download=True, 1 MB)",
    ),
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither prepared in the data folder nor downloadable; says how to supply it."""


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayDataset:
    """One split of a dataset, in memory.

    Attributes:
      x: inputs, one row per example (images ``(N, H, W, C)`` float32 in [0, 1], or ``(N, D)``
        when flattened; multi-hot reviews ``(N, num_words)``; character windows ``(N, T)``).
      y: labels ``(N,)`` int32, or one-hot ``(N, num_classes)`` float32 (or next characters).
      name, split: the dataset and split (``"train"``, ``"test"``, ``"train[:1000]"`` …).
      num_classes: number of classes (2 for the binary datasets, 256 byte values for a corpus).
      source: what was read and from where (a prepared folder, imported IDX files, mock data).
      class_names: the label names, when the dataset has them.
      vocabulary: for multi-hot text, the word of each column.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    num_classes: int
    source: str
    class_names: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(
                f"{self.name}/{self.split}: x has {len(self.x)} rows but y has {len(self.y)}"
            )

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        return (
            f"ArrayDataset({self.name}/{self.split}: x {self.x.shape} {self.x.dtype}, "
            f"y {self.y.shape} {self.y.dtype}, {self.num_classes} classes, from {self.source})"
        )

    @classmethod
    def from_arrays(
        cls, x: Any, y: Any, *, name: str = "arrays", split: str = "train",
        num_classes: int | None = None, source: str = "arrays in memory",
    ) -> ArrayDataset:
        """Wrap two arrays (inputs, labels) with the same number of rows."""
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"x and y need one row per example, got shapes {x.shape}, {y.shape}")
        if num_classes is None:
            if y.ndim == 2:
                num_classes = y.shape[1]
            elif np.issubdtype(y.dtype, np.integer) and y.size:
                num_classes = int(y.max()) + 1
            else:
                num_classes = 0
        return cls(x, y, name, split, num_classes, source)

    def take(self, n: int) -> ArrayDataset:
        """The first ``n`` examples (quick runs)."""
        return dataclasses.replace(self, x=self.x[:n], y=self.y[:n], split=f"{self.split}[:{n}]")

    def one_hot(self) -> ArrayDataset:
        """Labels as one-hot float32 rows (Keras's ``to_categorical``)."""
        if self.y.ndim == 2:
            return self
        return dataclasses.replace(self, y=to_categorical(self.y, self.num_classes))


class Batch(NamedTuple):
    """A batch: inputs, labels and a mask (1.0 for real examples, 0.0 for padding rows)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray


# --------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------


def to_categorical(labels: Any, num_classes: int) -> np.ndarray:
    """Keras's ``to_categorical`` (book L6236): integer labels ``(N,)`` → float32 rows
    ``(N, num_classes)``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"to_categorical needs integer labels of shape (N,), got {labels.shape} "
                         f"{labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]"
        )
    return np.eye(num_classes, dtype=np.float32)[labels]


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # letters/digits (accents too), inner apostrophes
_KERAS_RESERVED = ("<pad>", "<start>", "<oov>", "<unused>")


def tokenize(text: str) -> list[str]:
    """Lower-case words of a text (HTML line breaks removed, apostrophes inside words kept):
    ``"Don't <br />stop!"`` → ``["don't", "stop"]``."""
    return _WORD.findall(text.lower().replace("<br />", " "))


def imdb_vocabulary(texts: Iterable[str], num_words: int = 1000) -> tuple[str, ...]:
    """The word of each multi-hot column, in Keras's IMDB layout (book L6122–6146).

    Keras's ``imdb.load_data(num_words=1000)`` numbers the words by decreasing frequency from
    1 and shifts them by 3 (``index_from=3``); 0 is padding, 1 the start marker, 2 the
    out-of-vocabulary marker and 3 is unused; only indices below ``num_words`` are kept — the
    996 most frequent words. Frequencies are counted on the texts given (the training split);
    ties are broken alphabetically so the vocabulary is deterministic.
    """
    if num_words <= len(_KERAS_RESERVED):
        raise ValueError(f"num_words must exceed {len(_KERAS_RESERVED)}, got {num_words}")
    counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        counts.update(tokenize(text))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    words = [w for w, _ in ranked[: num_words - len(_KERAS_RESERVED)]]
    return _KERAS_RESERVED + tuple(words)


def multi_hot(texts: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Multi-hot rows (book L6128–6146): column i is 1 when the review contains word i.

    In Keras's layout the start column (1) is always 1 and the out-of-vocabulary column (2) is
    1 when the review has a word outside the vocabulary, as in the book's vectors.
    """
    index = {w: i for i, w in enumerate(vocabulary) if w not in _KERAS_RESERVED}
    out = np.zeros((len(texts), len(vocabulary)), np.float32)
    for row, text in enumerate(texts):
        words = tokenize(text)
        cols = [index[w] for w in words if w in index]
        out[row, cols] = 1.0
        if vocabulary[: len(_KERAS_RESERVED)] == _KERAS_RESERVED:
            out[row, 1] = 1.0
            if len(cols) < len(words):
                out[row, 2] = 1.0
    return out


def num_batches(n: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Number of batches of an epoch of ``n`` examples."""
    return n // batch_size if drop_remainder else -(-n // batch_size)


def _pad_rows(a: np.ndarray, size: int) -> np.ndarray:
    if len(a) == size:
        return a
    pad = np.zeros((size - len(a), *a.shape[1:]), a.dtype)
    return np.concatenate([a, pad])


def _as_xy(data: ArrayDataset | tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, ArrayDataset):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        return x, y
    raise TypeError(f"data must be an ArrayDataset or a pair (x, y), got {type(data).__name__}")


def shuffled_indices(key: Any, n: int) -> np.ndarray:
    """The seeded order of an epoch: ``jax.random.permutation(key, n)`` as host indices."""
    import jax

    return np.asarray(jax.random.permutation(key, n))


def batches(
    data: ArrayDataset | tuple[Any, Any],
    batch_size: int,
    *,
    key: Any = None,
    drop_remainder: bool = False,
    start: int = 0,
) -> Iterator[Batch]:
    """Batches of ``data``, shuffled with ``key`` (a JAX PRNG key) or in order (``key=None``).

    The last, incomplete batch is padded with zero rows to ``batch_size`` and its ``mask`` is 0
    on them, so every example is seen once and every batch has one shape (one compilation);
    ``drop_remainder=True`` drops it instead. ``start`` skips the first batches (resuming an
    epoch at a data position).
    """
    x, y = _as_xy(data)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(x)
    order = None if key is None else shuffled_indices(key, n)
    for b in range(start, num_batches(n, batch_size, drop_remainder)):
        lo, hi = b * batch_size, min((b + 1) * batch_size, n)
        if order is None:
            xb, yb = x[lo:hi], y[lo:hi]
        else:
            idx = order[lo:hi]
            xb, yb = x[idx], y[idx]
        mask = np.ones(hi - lo, np.float32)
        if hi - lo < batch_size:
            xb, yb, mask = (_pad_rows(a, batch_size) for a in (xb, yb, mask))
        yield Batch(xb, yb, mask)


def prefetch_to_device(iterator: Iterable[Any], size: int = 2, sharding: Any = None) -> Iterator:
    """Put the next ``size`` batches on the device ahead of use (``jax.device_put`` is
    asynchronous, so the copies overlap the running step). ``sharding`` places each batch
    (e.g. ``NamedSharding(mesh, P("data"))`` splits its rows over the devices); it may also be
    a function ``batch -> device batch`` (multi-process placement)."""
    import jax

    put = sharding if callable(sharding) else (lambda b: jax.device_put(b, sharding))
    queue: collections.deque = collections.deque()
    it = iter(iterator)
    while True:
        while len(queue) < size:
            try:
                queue.append(put(next(it)))
            except StopIteration:
                while queue:
                    yield queue.popleft()
                return
        yield queue.popleft()


# --------------------------------------------------------------------------------------------
# IDX files (MNIST's original format)
# --------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzipped or not: 2 zero bytes, a type byte, the number
    of dimensions, the dimensions as big-endian 32-bit integers, then the values.

    Raises:
      ValueError: naming the file — a damaged gzip file (cut short, corrupt, failed checksum),
        not an IDX file, a header cut short, or a payload that does not have the size the
        header announces.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file name says
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"{path} is a damaged gzip file (truncated or corrupt: {e}); "
                             "download or copy it again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (first bytes {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: the header is incomplete: {ndim} dimensions need {header} header "
                         f"bytes, the file has {len(raw)} (truncated or not an IDX file)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(dims)  # Python integers: np.prod's int64 wraps (65536⁴ → 0)
    expected = count * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: the header announces dimensions {dims}, {count} values ({expected} bytes), "
            f"but the file holds {len(raw) - header} bytes after it (truncated or not an IDX file)"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


_IDX_STEMS = {
    ("train", "images"): "train-images",
    ("train", "labels"): "train-labels",
    ("test", "images"): "t10k-images",
    ("test", "labels"): "t10k-labels",
}


def find_idx_files(folder: str | os.PathLike[str]) -> dict[tuple[str, str], Path]:
    """The four MNIST-format files of ``folder``: ``train-images-idx3-ubyte[.gz]``, …,
    ``t10k-labels-idx1-ubyte[.gz]`` (``train-images.idx3-ubyte`` spellings too)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder} is not a folder (expected MNIST-format IDX files)")
    found, missing = {}, []
    for (split, part), stem in _IDX_STEMS.items():
        dim = 3 if part == "images" else 1
        bases = [f"{stem}{sep}idx{dim}-ubyte" for sep in ("-", ".")]
        names = [base + gz for base in bases for gz in (".gz", "")]
        hit = next((folder / n for n in names if (folder / n).is_file()), None)
        if hit is None:
            missing.append(" or ".join(f"{base}[.gz]" for base in bases))
        else:
            found[(split, part)] = hit
    if missing:
        raise DatasetNotFoundError(
            f"{folder} lacks the MNIST-format file(s) {', '.join(missing)}; an IDX folder holds "
            "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
            "t10k-labels-idx1-ubyte, gzipped or not"
        )
    return found


def read_idx_folder(folder: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images (N, 28, 28) uint8, labels (N,) uint8), "test": (...)}`` from a folder
    of MNIST-format IDX files, checked (shapes, counts, labels 0–9)."""
    files = find_idx_files(folder)
    out = {}
    for split in ("train", "test"):
        images, labels = read_idx(files[(split, "images")]), read_idx(files[(split, "labels")])
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise ValueError(f"{files[(split, 'images')]}: expected uint8 images (N, 28, 28), "
                             f"got {images.dtype} {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{files[(split, 'labels')]}: expected {len(images)} labels, got "
                             f"shape {labels.shape}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{files[(split, 'labels')]}: labels must be 0–9, found "
                             f"{int(labels.max())}")
        out[split] = (images, labels)
    return out


# --------------------------------------------------------------------------------------------
# tensorflow-datasets
# --------------------------------------------------------------------------------------------

IMPORT_MARKER = "deepmath_import.json"


def _tfds():
    """Import tensorflow-datasets and TensorFlow quietly, TensorFlow kept off any GPU."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # already initialised: nothing to do
        pass
    return tfds, tf


def default_data_dir() -> Path:
    """Where tfds keeps datasets unless told: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    return Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def not_found_message(name: str, data_dir: str | os.PathLike[str] | None, detail: str = "") -> str:
    """The message of :class:`DatasetNotFoundError`: what, where, and how to supply it."""
    spec = _spec(name)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    how = spec.how.format(name=name)
    lines = [
        f"dataset {name!r} (tensorflow-datasets {spec.tfds_name!r}, used in {spec.book}) is not "
        f"prepared in {root}{' (' + detail + ')' if detail else ''}.",
        "To supply it:",
        f"  - {how};",
        f"  - in Python: deepmath_jax.engine.data.load({name!r}, data_dir={str(root)!r}, download=True);",
        f"  - from a shell: python -m deepmath_jax.engine.data download {name} --data-dir {root};",
        "  - point to a folder where it is already prepared: data_dir=... "
        "(experiments: --data-dir DIR; default $TFDS_DATA_DIR or ~/tensorflow_datasets).",
    ]
    if name in ("mnist", "fashion_mnist"):
        lines.append(
            f"  - offline, from the 4 IDX files: python -m deepmath_jax.engine.data import-idx FOLDER "
            f"--name {name} --data-dir {root}"
        )
    return "\n".join(lines)


def _builder(name: str, data_dir: str | os.PathLike[str] | None):
    tfds, _ = _tfds()
    spec = _spec(name)
    return tfds.builder(spec.tfds_name, data_dir=None if data_dir is None else str(data_dir))


def _read_examples(builder, split: str, name: str, data_dir, limit: int | None, map_fn=None):
    """All examples of a split as a dict of NumPy arrays, read by tf.data in chunks."""
    tfds, tf = _tfds()
    try:
        ds = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError as err:  # tfds's way of saying "not prepared"
        raise DatasetNotFoundError(not_found_message(name, data_dir)) from err
    except ValueError as err:  # unknown split name
        raise ValueError(f"{name}: cannot read split {split!r}: {err}") from err
    if limit is not None:
        ds = ds.take(limit)
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(2048).prefetch(tf.data.AUTOTUNE)
    parts = list(tfds.as_numpy(ds))
    if not parts:
        raise ValueError(f"{name}/{split} has no examples")
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _describe_source(builder, name: str, split: str) -> str:
    folder = Path(str(builder.data_dir))
    if not builder.is_prepared():  # as_dataset worked on unprepared data: tfds mock data
        return f"tfds.testing.mock_data for {name}/{split} (random content, real shapes)"
    marker = folder / IMPORT_MARKER
    if marker.is_file():
        info = json.loads(marker.read_text())
        return (f"{name}/{split} imported by deepmath_jax.engine.data.import_idx from {info['kind']} in "
                f"{info['folder']} (tfds format in {folder})")
    return f"tensorflow-datasets {builder.info.full_name} split {split!r} in {folder}"


def _prepare(builder, name: str, data_dir) -> None:
    """Download and prepare, turning a failure (no network, …) into DatasetNotFoundError."""
    try:
        builder.download_and_prepare()
    except Exception as err:  # noqa: BLE001 - any failure here means "could not get it"
        raise DatasetNotFoundError(
            not_found_message(name, data_dir, f"download failed: {type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200] if str(err) else ''}")
        ) from err


def load(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    one_hot: bool = False,
    flatten: bool = False,
    dtype: Any = np.float32,
    limit: int | None = None,
    num_words: int = 1000,
    image_size: int = 64,
    block_size: int = 64,
) -> ArrayDataset:
    """One split of one of the book's datasets, as an :class:`ArrayDataset`.

    Args:
      name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``, ``"imdb_reviews"``,
        ``"cats_vs_dogs"`` or ``"tiny_shakespeare"``.
      split: ``"train"`` or ``"test"`` (``"validation"`` too for tiny_shakespeare), or any tfds
        split expression (``"train[:1000]"``). cats_vs_dogs has one tfds split; its ``train``
        / ``test`` are the first 80 % / last 20 % of it, as the book splits 20 000 / 5 000.
      data_dir: the tfds data folder (default ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
      download: download and prepare the dataset when it is not in ``data_dir`` (needs
        internet; off by default so that an offline run fails at once with instructions).
      one_hot: labels as one-hot float32 rows (Keras's ``to_categorical``).
      flatten: images as vectors (784 for MNIST, 3 072 for CIFAR-10, as in chapter 10).
      dtype: image dtype: float32 scaled to [0, 1] (default), or ``np.uint8`` raw pixels.
      limit: read only the first ``limit`` examples of the split.
      num_words: imdb_reviews: size of the multi-hot vectors (book: 1 000, Keras layout —
        see :func:`imdb_vocabulary`; the vocabulary is counted on the train split).
      image_size: cats_vs_dogs: side of the square images (book 64), resized with nearest
        neighbours as Keras's ``flow_from_directory`` does.
      block_size: tiny_shakespeare: characters per row; ``x`` holds consecutive blocks of the
        text's bytes and ``y`` the same shifted by one character (next-character targets).

    Raises:
      DatasetNotFoundError: not prepared in ``data_dir`` (and ``download`` off or failing).
      ValueError: unknown dataset or split.
    """
    spec = _spec(name)
    tfds_split = spec.splits.get(split, split)
    builder = _builder(name, data_dir)
    if download and not builder.is_prepared():
        _prepare(builder, name, data_dir)
    _, tf = _tfds()

    if spec.kind == "corpus":
        text = _corpus_text(builder, name, spec.splits.get(split, split), data_dir)
        codes = np.frombuffer(text.encode("utf-8"), np.uint8)
        if block_size < 1:
            raise ValueError(f"block_size must be positive, got {block_size}")
        rows = (len(codes) - 1) // block_size
        if limit is not None:
            rows = min(rows, limit)
        x = codes[: rows * block_size].reshape(rows, block_size).astype(np.int32)
        y = codes[1 : rows * block_size + 1].reshape(rows, block_size).astype(np.int32)
        return ArrayDataset(x, y, name, split, 256, _describe_source(builder, name, split))

    if spec.kind == "text":
        examples = _read_examples(builder, tfds_split, name, data_dir, limit)
        texts = [t.decode("utf-8", "replace") for t in examples["text"]]
        whole_train = tfds_split == "train" and limit is None
        vocab = _imdb_train_vocabulary(builder, data_dir, num_words,
                                       texts if whole_train else None)
        x = multi_hot(texts, vocab)
        labels = examples["label"].astype(np.int32)
        class_names = tuple(builder.info.features["label"].names)
        y = to_categorical(labels, 2) if one_hot else labels
        return ArrayDataset(x, y, name, split, 2, _describe_source(builder, name, split),
                            class_names, vocab)

    map_fn = None
    if name == "cats_vs_dogs":
        if image_size < 1:
            raise ValueError(f"image_size must be positive, got {image_size}")

        def map_fn(example):
            image = tf.image.resize(example["image"], (image_size, image_size), "nearest")
            return {"image": tf.cast(image, tf.uint8), "label": example["label"]}

    examples = _read_examples(builder, tfds_split, name, data_dir, limit, map_fn)
    images, labels = examples["image"], examples["label"].astype(np.int32)
    if np.dtype(dtype) == np.uint8:
        x = images
    elif np.issubdtype(np.dtype(dtype), np.floating):
        x = images.astype(dtype) / np.asarray(255, dtype)  # the book's X / 255
    else:
        raise ValueError(f"dtype must be a float type or uint8, got {np.dtype(dtype)}")
    if flatten:
        x = x.reshape(len(x), -1)
    num_classes = builder.info.features["label"].num_classes
    class_names = tuple(builder.info.features["label"].names)
    y = to_categorical(labels, num_classes) if one_hot else labels
    return ArrayDataset(x, y, name, split, num_classes, _describe_source(builder, name, split),
                        class_names)


_VOCABULARIES: dict[tuple[str, int], tuple[str, ...]] = {}


def _imdb_train_vocabulary(builder, data_dir, num_words: int,
                           train_texts: list[str] | None) -> tuple[str, ...]:
    """The vocabulary of the train split, counted once per process and data folder (mock data
    changes from one test to the next: never kept)."""
    cache_key = (str(builder.data_dir), num_words)
    if cache_key in _VOCABULARIES:
        return _VOCABULARIES[cache_key]
    if train_texts is None:
        examples = _read_examples(builder, "train", "imdb_reviews", data_dir, None)
        train_texts = [t.decode("utf-8", "replace") for t in examples["text"]]
    vocab = imdb_vocabulary(train_texts, num_words)
    if builder.is_prepared():
        _VOCABULARIES[cache_key] = vocab
    return vocab


def load_text(
    name: str = "tiny_shakespeare",
    split: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> str:
    """The text of a corpus split (tiny_shakespeare: 1 MB of Shakespeare, one text per split)."""
    spec = _spec(name)
    if spec.kind != "corpus":
        raise ValueError(f"{name} is not a text corpus (corpora: "
                         f"{[n for n, s in DATASETS.items() if s.kind == 'corpus']})")
    builder = _builder(name, data_dir)
    if download and not builder.is_prepared():
        _prepare(builder, name, data_dir)
    return _corpus_text(builder, name, spec.splits.get(split, split), data_dir)


def _corpus_text(builder, name: str, tfds_split: str, data_dir) -> str:
    examples = _read_examples(builder, tfds_split, name, data_dir, None)
    return "".join(t.decode("utf-8") for t in examples["text"])


# --------------------------------------------------------------------------------------------
# Offline import of raw files
# --------------------------------------------------------------------------------------------


def import_idx(
    folder: str | os.PathLike[str],
    name: str = "mnist",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Build ``mnist`` or ``fashion_mnist`` in tensorflow-datasets's format from the original
    IDX files in ``folder`` (gzipped or not), so that :func:`load` (and ``tfds.load``) read it
    from ``data_dir`` exactly as if tfds had downloaded it. No network is used; tfds's
    checksum check on the downloaded archives does not apply (Debian's Fashion-MNIST files
    have rewritten gzip headers but the original content).

    Returns the prepared folder (``data_dir/name/3.0.1``); importing the same folder again is
    a no-op, and a dataset already prepared from elsewhere is kept unless ``overwrite``.
    """
    if name not in ("mnist", "fashion_mnist"):
        raise ValueError(f"import_idx builds 'mnist' or 'fashion_mnist', not {name!r}")
    folder = Path(folder).expanduser().resolve()
    arrays = read_idx_folder(folder)
    tfds, _ = _tfds()
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    base = tfds.builder(name, data_dir=str(root))
    target = Path(str(base.data_dir))
    marker = target / IMPORT_MARKER
    if base.is_prepared() and not overwrite:
        if marker.is_file() and json.loads(marker.read_text()).get("folder") == str(folder):
            return target
        raise FileExistsError(
            f"{name} is already prepared in {target}; pass overwrite=True (--overwrite) to "
            "replace it with the IDX files of " + str(folder)
        )
    if target.exists():
        shutil.rmtree(target)

    class _FromIdx(type(base), skip_registration=True):  # the registered builder, local files
        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(*arrays[split]) for split in ("train", "test")}

        def _generate_examples(self, images, labels):  # type: ignore[override]
            for i in range(len(images)):
                yield i, {"image": images[i][..., None], "label": int(labels[i])}

    _FromIdx.name = name
    builder = _FromIdx(data_dir=str(root))
    builder.download_and_prepare()
    marker.write_text(json.dumps({
        "dataset": name,
        "kind": "IDX files",
        "folder": str(folder),
        "files": {f"{s}/{p}": str(f) for (s, p), f in find_idx_files(folder).items()},
        "examples": {s: int(len(a[0])) for s, a in arrays.items()},
    }, indent=2))
    return target


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deepmath_jax.engine.data {download,import-idx,info} …``"""
    parser = argparse.ArgumentParser(prog="python -m deepmath_jax.engine.data", description=__doc__
                                     .split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("download", help="download and prepare a dataset (needs internet)")
    p.add_argument("name", choices=list(DATASETS))
    p.add_argument("--data-dir", default=None)
    p = sub.add_parser("import-idx", help="build mnist/fashion_mnist from local IDX files")
    p.add_argument("folder")
    p.add_argument("--name", default="mnist", choices=["mnist", "fashion_mnist"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--overwrite", action="store_true")
    p = sub.add_parser("info", help="load a split and describe it")
    p.add_argument("name", choices=list(DATASETS))
    p.add_argument("--split", default="train")
    p.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            builder = _builder(args.name, args.data_dir)
            _prepare(builder, args.name, args.data_dir)
            print(f"{args.name} prepared in {builder.data_dir}")
        elif args.command == "import-idx":
            path = import_idx(args.folder, args.name, data_dir=args.data_dir,
                              overwrite=args.overwrite)
            print(f"{args.name} imported from {args.folder} into {path}")
        else:
            print(load(args.name, args.split, data_dir=args.data_dir))
    except (DatasetNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
