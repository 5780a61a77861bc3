"""tinygen/data/idx.py: reading, checking and writing IDX files; MNIST-style folders."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from tinygen.data import (IMAGES_MAGIC, LABELS_MAGIC, DatasetError, find_idx_files, load_idx_folder, parse_idx,
                          read_idx, write_idx)


def _header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def test_magic_numbers():
    assert IMAGES_MAGIC == 2051 and LABELS_MAGIC == 2049


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("gz", [False, True])
def test_write_read_round_trip(tmp_path, dtype, gz):
    a = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype == "uint8":
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(path, a)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == gz
    b = read_idx(path)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    b[0, 0, 0] = 1  # writable, native order


def test_parse_mnist_style_bytes():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = _header(2051, 2, 3, 3) + images.tobytes()
    np.testing.assert_array_equal(parse_idx(data, "x", IMAGES_MAGIC), images)
    labels = parse_idx(_header(2049, 3) + bytes([7, 0, 9]), "y", LABELS_MAGIC)
    assert labels.tolist() == [7, 0, 9]


def test_big_endian_values():
    data = bytes([0, 0, 0x0C, 1]) + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + (-2).to_bytes(4, "big",
                                                                                                   signed=True)
    assert parse_idx(data).tolist() == [1, -2]


def test_wrong_magic_number(tmp_path, one_sentence):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_header(2049, 2) + bytes(2))  # a labels file under an images name
    with pytest.raises(DatasetError) as e:
        read_idx(path, IMAGES_MAGIC)
    msg = str(e.value)
    one_sentence(msg)
    assert str(path) in msg and "magic number" in msg and "2049" in msg and "2051" in msg


def test_not_an_idx_file(tmp_path, one_sentence):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello world, not IDX")
    with pytest.raises(DatasetError) as e:
        read_idx(path)
    one_sentence(str(e.value))
    assert "not an IDX file" in str(e.value) and str(path) in str(e.value)


def test_truncated_data(tmp_path, one_sentence):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(_header(2051, 10, 28, 28) + bytes(100))
    with pytest.raises(DatasetError) as e:
        read_idx(path, IMAGES_MAGIC)
    msg = str(e.value)
    one_sentence(msg)
    assert "truncated" in msg and f"expected {16 + 10 * 784} bytes" in msg and "got 116" in msg


def test_truncated_header(tmp_path, one_sentence):
    for data in (b"\x00\x00", _header(2051, 10)):
        path = tmp_path / "short"
        path.write_bytes(data)
        with pytest.raises(DatasetError, match="truncated") as e:
            read_idx(path)
        one_sentence(str(e.value))


def test_longer_than_header(tmp_path, one_sentence):
    path = tmp_path / "long"
    path.write_bytes(_header(2049, 2) + bytes(5))
    with pytest.raises(DatasetError, match="longer than its header") as e:
        read_idx(path)
    one_sentence(str(e.value))


def test_truncated_gzip(tmp_path, one_sentence):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    full = gzip.compress(_header(2049, 1000) + bytes(1000))
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DatasetError, match="gzip") as e:
        read_idx(path)
    one_sentence(str(e.value))
    assert str(path) in str(e.value)


def test_missing_file(tmp_path, one_sentence):
    with pytest.raises(DatasetError, match="does not exist") as e:
        read_idx(tmp_path / "nope-idx1-ubyte")
    one_sentence(str(e.value))


def test_load_idx_folder(idx_folder):
    folder, data = idx_folder
    for kind in ("train", "test"):
        images, labels = load_idx_folder(folder, kind)
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, data[kind][0])
        np.testing.assert_array_equal(labels, data[kind][1])


@pytest.mark.parametrize("gz", [False, True])
def test_find_files_with_or_without_gz(tmp_path, make_idx_folder, gz):
    make_idx_folder(tmp_path, gz=gz)
    img, lab = find_idx_files(tmp_path, "test")
    assert os.path.basename(img) == "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    assert os.path.basename(lab) == "t10k-labels-idx1-ubyte" + (".gz" if gz else "")


def test_dotted_file_names(tmp_path):
    write_idx(tmp_path / "train-images.idx3-ubyte", np.zeros((2, 4, 4), np.uint8))
    write_idx(tmp_path / "train-labels.idx1-ubyte", np.zeros(2, np.uint8))
    images, labels = load_idx_folder(tmp_path, "train")
    assert images.shape == (2, 4, 4) and labels.shape == (2,)


def test_missing_files_in_folder(tmp_path, one_sentence):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DatasetError) as e:
        load_idx_folder(tmp_path, "train")
    msg = str(e.value)
    one_sentence(msg)
    assert "train-labels-idx1-ubyte[.gz]" in msg and "train-images" not in msg and str(tmp_path) in msg
    with pytest.raises(DatasetError) as e:
        load_idx_folder(tmp_path, "test")
    assert "t10k-images-idx3-ubyte[.gz]" in str(e.value) and "t10k-labels-idx1-ubyte[.gz]" in str(e.value)
    with pytest.raises(DatasetError, match="does not exist"):
        load_idx_folder(tmp_path / "absent", "train")


def test_count_mismatch(tmp_path, one_sentence):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError) as e:
        load_idx_folder(tmp_path, "train")
    msg = str(e.value)
    one_sentence(msg)
    assert "4 labels" in msg and "5 images" in msg


def test_swapped_files_are_caught_by_magic(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(5, np.uint8))          # labels-shaped
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((5, 2, 2), np.uint8))  # images-shaped
    with pytest.raises(DatasetError, match="magic number"):
        load_idx_folder(tmp_path, "train")


def test_bad_kind_and_bad_array(tmp_path):
    with pytest.raises(ValueError):
        load_idx_folder(tmp_path, "validation")
    with pytest.raises(ValueError):
        write_idx(tmp_path / "x", np.zeros(3, np.complex64))
    with pytest.raises(ValueError):
        write_idx(tmp_path / "x", np.float32(1.0))


def test_dataset_error_is_value_error():
    assert issubclass(DatasetError, ValueError)
