"""deepmath_jax.engine.data: mock-data pipelines for every dataset, batching, IDX import, errors.

Never downloads: tensorflow-datasets runs under ``tfds.testing.mock_data`` or on folders
written here, always with ``download=False``.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds  # a dependency (pyproject): a broken install fails, not skips

from deepmath_jax.engine import data

FASHION = Path("/usr/share/datasets/fashion-mnist")


def mock(n: int = 12):
    return tfds.testing.mock_data(num_examples=n)


# --------------------------------------------------------------------------------------------
# Mock-data pipelines (random content, the real shapes and dtypes)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [
        ("mnist", (28, 28, 1), 10),
        ("fashion_mnist", (28, 28, 1), 10),
        ("cifar10", (32, 32, 3), 10),
        ("cats_vs_dogs", (64, 64, 3), 2),
    ],
)
def test_image_pipelines(tmp_path, name, shape, classes):
    with mock(12):
        ds = data.load(name, "train", data_dir=tmp_path, download=False)
        flat = data.load(name, "test", data_dir=tmp_path, flatten=True, one_hot=True)
        raw = data.load(name, "test", data_dir=tmp_path, dtype=np.uint8)
    assert ds.x.shape == (12, *shape) and ds.x.dtype == np.float32
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.y.shape == (12,) and ds.y.dtype == np.int32 and ds.y.max() < classes
    assert ds.num_classes == classes and len(ds.class_names) == classes and len(ds) == 12
    assert "mock" in ds.source
    assert flat.x.shape == (12, int(np.prod(shape)))
    assert flat.y.shape == (12, classes) and np.allclose(flat.y.sum(1), 1.0)
    # the float images are the raw pixels / 255 (the book's X / 255)
    assert raw.x.dtype == np.uint8
    np.testing.assert_allclose(flat.x, raw.x.reshape(12, -1) / np.float32(255), rtol=1e-6)


def test_cats_vs_dogs_image_size(tmp_path):
    with mock(3):
        ds = data.load("cats_vs_dogs", "train", data_dir=tmp_path, image_size=32)
    assert ds.x.shape == (3, 32, 32, 3)
    assert ds.class_names == ("cat", "dog")  # the book's 0 = chat, 1 = chien


def test_imdb_multi_hot_keras_layout(tmp_path):
    with mock(20):
        train = data.load("imdb_reviews", "train", data_dir=tmp_path, num_words=40)
        test = data.load("imdb_reviews", "test", data_dir=tmp_path, num_words=40)
    assert train.x.shape == (20, 40) and train.x.dtype == np.float32
    assert set(np.unique(train.x)) <= {0.0, 1.0}
    assert train.vocabulary[:4] == ("<pad>", "<start>", "<oov>", "<unused>")
    assert train.vocabulary == test.vocabulary  # counted on the train split
    # Keras's layout: the start marker is in every review, padding and index 3 never
    assert np.all(train.x[:, 1] == 1) and np.all(train.x[:, 0] == 0) and np.all(train.x[:, 3] == 0)
    assert train.num_classes == 2 and set(np.unique(train.y)) <= {0, 1}


def test_imdb_vocabulary_and_multi_hot_book_example():
    # The book's toy vocabulary (L6128–6146): film, bon, mauvais, voir, éviter, très, bien,
    # mal, moyen, super.
    vocab = ("film", "bon", "mauvais", "voir", "éviter", "très", "bien", "mal", "moyen", "super")
    rows = data.multi_hot(
        ["bon film à voir absolument", "début moyen mais après c'est très mauvais",
         "film drôle et émouvant on passe un bon moment"],
        vocab,
    )
    np.testing.assert_array_equal(rows[0], [1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(rows[1], [0, 0, 1, 0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(rows[2], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0])


def test_imdb_vocabulary_ranks_by_frequency():
    texts = ["the cat the dog", "the cat<br />sat", "a dog"]
    vocab = data.imdb_vocabulary(texts, num_words=7)
    # the (2 ties broken alphabetically: cat, dog), then a/sat by count 1 → 'a'
    assert vocab == ("<pad>", "<start>", "<oov>", "<unused>", "the", "cat", "dog")
    rows = data.multi_hot(["the sat", "cat dog"], vocab)
    np.testing.assert_array_equal(rows, [[0, 1, 1, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1, 1]])
    assert data.tokenize("Don't <br />STOP!") == ["don't", "stop"]
    with pytest.raises(ValueError, match="num_words must exceed 4"):
        data.imdb_vocabulary(texts, num_words=4)


def test_tiny_shakespeare_blocks(tmp_path):
    with mock(4):
        text = data.load_text("tiny_shakespeare", "train", data_dir=tmp_path)
        ds = data.load("tiny_shakespeare", "train", data_dir=tmp_path, block_size=8)
    codes = np.frombuffer(text.encode(), np.uint8)
    rows = (len(codes) - 1) // 8
    assert ds.x.shape == (rows, 8) and ds.y.shape == (rows, 8) and ds.num_classes == 256
    np.testing.assert_array_equal(ds.x.ravel(), codes[: rows * 8])
    np.testing.assert_array_equal(ds.y.ravel(), codes[1 : rows * 8 + 1])  # next characters
    with pytest.raises(ValueError, match="not a text corpus"):
        data.load_text("mnist")


def test_limit_reads_first_examples(tmp_path):
    with mock(10):
        ds = data.load("mnist", "train", data_dir=tmp_path, limit=4)
    assert len(ds) == 4


# --------------------------------------------------------------------------------------------
# Missing data and bad input
# --------------------------------------------------------------------------------------------


def test_missing_dataset_error_names_dataset_folder_and_remedies(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load("mnist", "train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "'mnist'" in message and str(tmp_path) in message
    assert "download=True" in message and "import-idx" in message and "--data-dir" in message
    with pytest.raises(data.DatasetNotFoundError, match="cifar10.*not prepared") as info:
        data.load("cifar10", "test", data_dir=tmp_path)
    assert "import-idx" not in str(info.value)  # IDX import is for the MNIST formats only


def test_fashion_message_mentions_debian_package(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match="dataset-fashion-mnist"):
        data.load("fashion_mnist", "train", data_dir=tmp_path)


def test_unknown_dataset_and_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnits'"):
        data.load("mnits", data_dir=tmp_path)
    with mock(2), pytest.raises(ValueError, match="dtype must be"):
        data.load("mnist", data_dir=tmp_path, dtype=np.int32)
    with pytest.raises(ValueError, match="labels must lie in"):
        data.to_categorical(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="x has 3 rows but y has 2"):
        data.ArrayDataset.from_arrays(np.zeros((3, 2)), np.zeros(2, np.int32))


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


def test_batches_pad_and_mask_the_last_batch():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10, dtype=np.int32)
    out = list(data.batches((x, y), 4))
    assert [b.x.shape for b in out] == [(4, 1)] * 3
    np.testing.assert_array_equal(out[-1].mask, [1, 1, 0, 0])
    np.testing.assert_array_equal(np.concatenate([b.y[b.mask > 0] for b in out]), y)
    assert len(list(data.batches((x, y), 4, drop_remainder=True))) == 2
    assert [b.y[0] for b in data.batches((x, y), 4, start=1)] == [4, 8]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        next(data.batches((x, y), 0))


def test_seeded_shuffle_is_a_permutation_and_reproducible():
    ds = data.ArrayDataset.from_arrays(np.arange(50.0)[:, None], np.arange(50, dtype=np.int32))
    key = jax.random.key(3)
    seen = np.concatenate([b.y[b.mask > 0] for b in data.batches(ds, 16, key=key)])
    again = np.concatenate([b.y[b.mask > 0] for b in data.batches(ds, 16, key=key)])
    other = np.concatenate([b.y[b.mask > 0] for b in data.batches(ds, 16, key=jax.random.key(4))])
    assert sorted(seen) == list(range(50))
    np.testing.assert_array_equal(seen, again)
    assert not np.array_equal(seen, other)
    np.testing.assert_array_equal(seen, np.asarray(jax.random.permutation(key, 50)))


def test_prefetch_to_device_keeps_order():
    ds = (np.arange(7.0)[:, None], np.arange(7, dtype=np.int32))
    got = [np.asarray(b.y) for b in data.prefetch_to_device(data.batches(ds, 3), size=2)]
    assert all(isinstance(b, np.ndarray) for b in got)
    np.testing.assert_array_equal(np.concatenate(got), [0, 1, 2, 3, 4, 5, 6, 0, 0])


def test_array_dataset_take_and_one_hot():
    ds = data.ArrayDataset.from_arrays(np.zeros((5, 2), np.float32), np.array([0, 1, 2, 1, 0]))
    assert ds.num_classes == 3 and len(ds.take(2)) == 2 and ds.take(2).split == "train[:2]"
    np.testing.assert_array_equal(ds.one_hot().y[2], [0, 0, 1])


# --------------------------------------------------------------------------------------------
# IDX files and offline import
# --------------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def idx_folder(folder: Path, *, n_train: int = 30, n_test: int = 12, gz: bool = True,
               seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, stem, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{stem}-images-idx3-ubyte{suffix}", images, gz=gz)
        write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", labels, gz=gz)
        out[split] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_gzipped_or_not(tmp_path, gz):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", a, gz=gz)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), a)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="is not an IDX file"):
        data.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((2, 3), np.uint8), gz=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "short")


def _gzipped_idx(tmp_path: Path) -> bytes:
    write_idx(tmp_path / "ok.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4), gz=True)
    return (tmp_path / "ok.gz").read_bytes()


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda raw: raw[: len(raw) // 2], "ended before"),  # a download cut short
        (lambda raw: raw[:12] + b"\xff" * 8 + raw[20:], "decompressing"),  # a damaged body
        (lambda raw: raw[:-8] + bytes(b ^ 0xFF for b in raw[-8:-4]) + raw[-4:], "CRC"),  # checksum
    ],
    ids=["truncated", "corrupt", "crc"],
)
def test_read_idx_damaged_gzip_names_the_file(tmp_path, damage, cause):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(_gzipped_idx(tmp_path)))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))} is a damaged gzip file .*{cause}"):
        data.read_idx(path)


def test_read_idx_header_sizes_are_exact_python_integers(tmp_path):
    # 65536⁴ = 2⁶⁴ values: NumPy's int64 product wraps to 0, which matched an empty payload
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 0x08, 4]) + (65536).to_bytes(4, "big") * 4)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: the header announces dimensions "
                                         r"\(65536, 65536, 65536, 65536\), 18446744073709551616 "
                                         r"values \(18446744073709551616 bytes\), but the file holds "
                                         r"0 bytes after it"):
        data.read_idx(path)
    # int16 values: the byte count is the value count × 2
    write_idx(tmp_path / "i16", np.zeros(3, np.uint8), gz=False)
    raw = (tmp_path / "i16").read_bytes()
    (tmp_path / "i16").write_bytes(raw[:2] + b"\x0b" + raw[3:])
    with pytest.raises(ValueError, match=r"\(3,\), 3 values \(6 bytes\), but the file holds 3 bytes"):
        data.read_idx(tmp_path / "i16")


@pytest.mark.parametrize(("cut", "gz"), [(5, False), (15, False), (8, True)])
def test_read_idx_cut_inside_its_header(tmp_path, cut, gz):
    # before: "holds -6 bytes", from dimensions read out of missing bytes
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (2, 3, 4))
    path = tmp_path / "a"
    path.write_bytes(gzip.compress(header[:cut]) if gz else header[:cut])
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: the header is incomplete: 3 "
                                         rf"dimensions need 16 header bytes, the file has {cut}"):
        data.read_idx(path)


def test_idx_folder_missing_files_are_named(tmp_path):
    idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DatasetNotFoundError, match="t10k-labels-idx1-ubyte") as info:
        data.read_idx_folder(tmp_path)
    # the names looked for, each gzipped or not (not a doubled '.gz[.gz]'); the others are found
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte[.gz] or t10k-labels.idx1-ubyte[.gz]" in message
    assert ".gz[.gz]" not in message and "t10k-images-idx3" not in message.split(";")[0]
    with pytest.raises(data.DatasetNotFoundError, match="not a folder"):
        data.read_idx_folder(tmp_path / "nowhere")


def test_import_idx_then_load_runs_the_same_pipeline(tmp_path):
    raw = idx_folder(tmp_path / "raw", gz=False)
    target = data.import_idx(tmp_path / "raw", "fashion_mnist", data_dir=tmp_path / "tfds")
    assert target == tmp_path / "tfds" / "fashion_mnist" / "3.0.1"
    for split in ("train", "test"):
        ds = data.load("fashion_mnist", split, data_dir=tmp_path / "tfds", dtype=np.uint8)
        images, labels = raw[split]
        assert ds.x.shape == (len(images), 28, 28, 1) and "IDX files" in ds.source
        # tfds stores examples in its own (hashed) order, as a download would: compare as sets
        got = sorted((im.tobytes(), int(lb)) for im, lb in zip(ds.x[..., 0], ds.y, strict=True))
        want = sorted((im.tobytes(), int(lb)) for im, lb in zip(images, labels, strict=True))
        assert got == want
    # importing the same folder again is a no-op; another folder needs overwrite=True
    assert data.import_idx(tmp_path / "raw", "fashion_mnist", data_dir=tmp_path / "tfds") == target
    idx_folder(tmp_path / "other", n_train=5, n_test=3, seed=1)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        data.import_idx(tmp_path / "other", "fashion_mnist", data_dir=tmp_path / "tfds")
    data.import_idx(tmp_path / "other", "fashion_mnist", data_dir=tmp_path / "tfds",
                    overwrite=True)
    assert len(data.load("fashion_mnist", "test", data_dir=tmp_path / "tfds")) == 3
    with pytest.raises(ValueError, match="'mnist' or 'fashion_mnist'"):
        data.import_idx(tmp_path / "raw", "cifar10", data_dir=tmp_path / "tfds")


def test_command_line(tmp_path, capsys):
    idx_folder(tmp_path / "raw", n_train=4, n_test=2)
    assert data.main(["import-idx", str(tmp_path / "raw"), "--data-dir", str(tmp_path / "d")]) == 0
    assert "mnist imported" in capsys.readouterr().out
    assert data.main(["info", "mnist", "--split", "test", "--data-dir", str(tmp_path / "d")]) == 0
    assert "x (2, 28, 28, 1)" in capsys.readouterr().out
    assert data.main(["info", "cifar10", "--data-dir", str(tmp_path / "d")]) == 1
    assert "not prepared" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist_from_debian(tmp_path):
    data.import_idx(FASHION, "fashion_mnist", data_dir=tmp_path)
    test = data.load("fashion_mnist", "test", data_dir=tmp_path, flatten=True)
    assert test.x.shape == (10_000, 784) and np.bincount(test.y).tolist() == [1000] * 10
    assert os.fspath(FASHION) in test.source
