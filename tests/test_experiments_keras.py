"""The Keras chapters' experiments (ch10, ch14) run their code paths offline.

IMDB, CIFAR-10 and cats vs dogs cannot be had here: their experiment functions run at
``--quick`` sizes on ``tfds.testing.mock_data`` (random content, the real shapes; never
downloaded), and the MNIST parts on a tiny folder of MNIST-format IDX files
(``--mnist-format-dir``). Without data, the rows are skipped with the data module's message.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

import ch10_flax_part2 as ch10  # noqa: E402
import ch14_convolution_keras as ch14  # noqa: E402
from deepmath_jax.book.experiment import Experiment  # noqa: E402


def experiment(chapter, tmp_path: Path, **options) -> Experiment:
    return Experiment(chapter, tmp_path / "out", quick=True, data_dir=tmp_path / "tfds",
                      options=options)


def rows(exp: Experiment) -> dict[str, tuple[str, object]]:
    return {r.name: (r.status, r.value) for r in exp.rows}


def test_without_data_rows_are_skipped_with_how_to_supply(tmp_path):
    exp = experiment(ch10.CHAPTER, tmp_path)
    ch10.imdb(exp)
    ch10.cifar_dense(exp)
    skipped = [r for r in exp.rows if r.status == "skipped"]
    assert len(skipped) == 5  # four IMDB rows, one CIFAR row
    for r in skipped:  # the data module's message: what, where, how
        assert "is not prepared in" in r.reason and "--data-dir" in r.reason
        assert str(tmp_path / "tfds") in r.reason
    assert any("'imdb_reviews'" in r.reason for r in skipped)
    assert any("'cifar10'" in r.reason for r in skipped)
    exp14 = experiment(ch14.CHAPTER, tmp_path)
    ch14.mnist_parts(exp14)
    reasons = [r.reason for r in exp14.rows]
    assert len(reasons) == 2 and all("'mnist'" in r and "--mnist-format-dir" in r
                                     for r in reasons)


def test_ch10_imdb_and_cifar_dense_on_mock_data(tmp_path):
    exp = experiment(ch10.CHAPTER, tmp_path)
    with tfds.testing.mock_data(num_examples=48):
        ch10.imdb(exp)
        ch10.cifar_dense(exp)
    got = rows(exp)
    assert got["§5 IMDB 1000 → 3 × ReLU(5) → σ: weights (16 neurons)"] == ("match", 5071)
    explained = [r for r in exp.rows if r.status == "explained" and "--quick" in r.reason]
    assert len(explained) == 5  # four IMDB rows, one CIFAR row: quick sizes, not compared
    for r in explained:
        assert isinstance(r.value, (int, float)) and np.isfinite(r.value)
    imdb = json.loads((exp.dir / "imdb.json").read_text())
    assert "mock" in imdb["data"]
    assert len(imdb["history"]["val_accuracy"]) == 3  # test accuracy after every epoch
    assert len(json.loads((exp.dir / "cifar_dense.json").read_text())["history"]["loss"]) == 2
    for fig in ("tf2-texte-overfit-acc", "tf2-texte-overfit-loss", "tf2-images-test"):
        assert (exp.dir / f"{fig}.png").is_file()


def test_ch14_cifar_and_cats_vs_dogs_on_mock_data(tmp_path):
    exp = experiment(ch14.CHAPTER, tmp_path)
    with tfds.testing.mock_data(num_examples=16):
        cifar = ch14.cifar_cnn(exp)
        cats = ch14.cats_vs_dogs(exp)
    assert [r.status for r in exp.rows] == ["explained"] * 3
    assert "mock" in cifar["data"] and "mock" in cats["data"]
    assert len(cats["history"]["val_accuracy"]) == 1
    for fig in ("tfconv-images-test", "tfconv-chienchat-test", "tfconv-chienchat-acc"):
        assert (exp.dir / f"{fig}.png").is_file()


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_mnist_format_folder_runs_ch10_digits_and_ch14_feature_maps(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    for stem, n in (("train", 64), ("t10k", 20)):
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    exp = experiment(ch10.CHAPTER, tmp_path, mnist_format_dir=str(folder))
    ch10.digits(exp)
    statuses = [r.status for r in exp.rows]
    # weights; p = 8, 50: the band of a network that learns (random images: a few SGD steps on
    # 64 of them learn nothing, the band may well be missed); image 0
    assert [r.kind for r in exp.rows] == ["compare"] * 5 + ["range"] * 2 + ["explain"]
    assert statuses[:5] == ["match"] * 5 and statuses[7] == "explained"
    for r in exp.rows[5:7]:
        assert r.bounds == (ch10.LEARNING_FLOOR_PCT, 100.0)
        assert r.status == ("match" if ch10.LEARNING_FLOOR_PCT <= r.value <= 100 else "mismatch")
    assert all("not MNIST" in r.reason or "tensorflow-datasets orders" in r.reason
               for r in exp.rows[5:])
    summary = json.loads((exp.dir / "mnist_dense.json").read_text())
    assert "import_idx" in summary["data"] and summary["dataset"] == "idx"
    assert summary["results"]["8"]["train_examples"] == 64

    # ch14 reuses the import (same results root) and draws the feature maps of layers 1–3
    exp14 = experiment(ch14.CHAPTER, tmp_path, mnist_format_dir=str(folder))
    summary = ch14.mnist_parts(exp14)
    assert summary["figures"]["map_shapes"] == [[28, 28, 16], [28, 28, 16], [14, 14, 16]]
    got = rows(exp14)
    assert got["§4 what the network sees: layer 3 of the visualisation network"] == ("agrees", 0.0)
    # the two accuracies: the learning band (random images: not met)
    assert [r.kind for r in exp14.rows if "accuracy" in r.name] == ["range", "range"]
    figures = set(exp14.figures)
    assert {f"tfconv-viz3-c{c}-f{f}.png" for c, f in ch14.VIZ3_FILTERS} <= figures
    assert len([f for f in figures if f.startswith("tfconv-viz2-")]) == 6


def test_class_examples_names_a_missing_class():
    assert ch14.class_examples(np.array([3, 0, 1, 2, 0]), 4) == [1, 2, 3, 0]
    with pytest.raises(ValueError, match="no example of class 2"):
        ch14.class_examples(np.array([0, 1, 1]), 3)
