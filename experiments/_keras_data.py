"""The data of the Keras chapters' experiments (ch10, ch14), all through ``deepmath_jax.engine.data``.

- :func:`load_splits`: train and test splits of one of the book's tensorflow-datasets datasets
  (``mnist``, ``cifar10``, ``imdb_reviews``, ``cats_vs_dogs``) from ``--data-dir`` — never
  downloaded here; when it is not prepared, the data module's message (what, where, how to
  supply it) becomes the reason of the skipped rows.
- :func:`mnist_like`: the MNIST of a run. With ``--mnist-format-dir DIR`` the four IDX files of
  DIR are imported once (:func:`deepmath_jax.engine.data.import_idx`) into a tfds folder inside the
  results folder, then read by the same pipeline; the run is about that dataset (e.g. Debian's
  Fashion-MNIST), so its accuracies are reported as ``explained``, unless
  ``--mnist-format-is-mnist`` says the files are the real MNIST. ``$DEEPMATH_MNIST_FORMAT_DIR``
  is the default of ``--mnist-format-dir`` (CI sets it when it has unpacked Fashion-MNIST).

Training itself is :func:`deepmath_jax.engine.train.fit` / ``evaluate`` / ``predict``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from deepmath_jax.engine import data

IMPORT_FOLDER = "_tfds_import"  # under the results root: shared by ch10 and ch14


@dataclasses.dataclass(frozen=True)
class MnistLike:
    """Train and test splits of MNIST or of an MNIST-format dataset standing in for it."""

    train: data.ArrayDataset
    test: data.ArrayDataset
    label: str  # "mnist", "fashion_mnist" or the IDX folder's name
    is_mnist: bool

    @property
    def source(self) -> str:
        return self.train.source

    def class_name(self, c: int) -> str:
        """A label as the figures show it (the digit for MNIST, the class name otherwise)."""
        if self.is_mnist or self.label != "fashion_mnist" or not self.train.class_names:
            return str(c)
        return self.train.class_names[c]


def add_data_arguments(parser: Any) -> None:
    parser.add_argument(
        "--mnist-format-dir",
        default=os.environ.get("DEEPMATH_MNIST_FORMAT_DIR") or None,
        help="folder of MNIST-format IDX files (train-images-idx3-ubyte[.gz], …), e.g. Debian's "
        "dataset-fashion-mnist in /usr/share/datasets/fashion-mnist: imported with "
        "deepmath_jax.engine.data.import_idx and used where the book uses MNIST "
        "(default: $DEEPMATH_MNIST_FORMAT_DIR, which CI sets when it has unpacked it)",
    )
    parser.add_argument(
        "--mnist-format-is-mnist",
        action="store_true",
        help="the IDX files are the real MNIST: compare with the book's accuracies",
    )
    parser.add_argument(
        "--mnist-format-data-dir",
        default=None,
        help=f"tfds folder the IDX files are imported into (default: <out>/{IMPORT_FOLDER})",
    )


def load_splits(
    exp: Any, name: str, *, train_limit: int | None = None, test_limit: int | None = None,
    **kwargs: Any,
) -> tuple[data.ArrayDataset, data.ArrayDataset] | str:
    """``(train, test)`` of ``name`` from ``exp.data_dir`` (never downloaded), or the message
    saying how to supply it when it is not prepared there."""
    try:
        train = data.load(name, "train", data_dir=exp.data_dir, limit=train_limit, **kwargs)
        test = data.load(name, "test", data_dir=exp.data_dir, limit=test_limit, **kwargs)
    except data.DatasetNotFoundError as err:
        return str(err)
    return train, test


def mnist_like(
    exp: Any, *, flatten: bool, train_limit: int | None = None
) -> MnistLike | str:
    """The run's MNIST (see the module docstring), or how to supply it."""
    folder = exp.options.get("mnist_format_dir")
    if not folder:
        pair = load_splits(exp, "mnist", train_limit=train_limit, flatten=flatten)
        if isinstance(pair, str):
            return pair + (
                "\n  - or run this experiment on another MNIST-format dataset: "
                "--mnist-format-dir DIR (e.g. /usr/share/datasets/fashion-mnist from Debian's "
                "dataset-fashion-mnist; reported as explained, not compared)"
            )
        return MnistLike(*pair, label="mnist", is_mnist=True)
    is_mnist = bool(exp.options.get("mnist_format_is_mnist"))
    # tfds knows two MNIST-format datasets; any other IDX folder goes in as fashion_mnist's
    # format (same shapes), its figures then show class numbers.
    tfds_name = "mnist" if is_mnist else "fashion_mnist"
    label = "mnist" if is_mnist else (
        "fashion_mnist" if "fashion" in str(folder).lower() else Path(folder).name)
    root = exp.options.get("mnist_format_data_dir") or exp.dir.parent / IMPORT_FOLDER
    try:  # a no-op when this folder was imported there before
        data.import_idx(folder, tfds_name, data_dir=root)
    except FileExistsError:  # our own folder: another IDX folder imported there is replaced
        data.import_idx(folder, tfds_name, data_dir=root, overwrite=True)
    train = data.load(tfds_name, "train", data_dir=root, limit=train_limit, flatten=flatten)
    test = data.load(tfds_name, "test", data_dir=root, flatten=flatten)
    return MnistLike(train, test, label, is_mnist)
