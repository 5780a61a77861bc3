"""tinygen/data/download.py: fetching once into a cache, checksums, atomic writes, and no network.

Every test serves small IDX files from a local http.server (or points at a closed port); the conftest's
autouse fixture sends anything else to a closed local port too, so the real network is never touched.
"""
from __future__ import annotations

import gzip
import os
import socket

import numpy as np
import pytest

import tinygen.data
from tinygen.data import (CACHE_ENV, DOWNLOADS, URL_ENV, DatasetError, cache_dir, download, load_dataset,
                          load_mnist, verify_md5, write_idx)

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def _small_files(tmp_path):
    """The four MNIST file names holding 5 train / 3 test tiny images; name -> bytes."""
    rng = np.random.default_rng(0)
    out = {}
    for prefix, n in (("train", 5), ("t10k", 3)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    for name in NAMES:
        out[name] = (tmp_path / name).read_bytes()
    return out


@pytest.fixture
def served(tmp_path, file_server):
    import hashlib
    src = tmp_path / "src"
    src.mkdir()
    files = _small_files(src)
    file_server.files.update(files)
    sums = {n: hashlib.md5(b).hexdigest() for n, b in files.items()}
    return file_server, sums


def _leftovers(folder):
    return [f for f in os.listdir(folder) if f.endswith(".part")]


def test_published_sizes():
    # the sizes the mirrors serve (torchvision's and Keras's download logs); the embedded t10k files agree
    assert DOWNLOADS["mnist"]["size"] == {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
                                          "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542}
    assert DOWNLOADS["fashion-mnist"]["size"] == {
        "train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148}
    embedded = os.path.join(os.path.dirname(tinygen.data.__file__), "mnist")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert os.path.getsize(os.path.join(embedded, name)) == DOWNLOADS["mnist"]["size"][name]


def test_published_md5s():
    # torchvision/datasets/mnist.py (MNIST.resources, FashionMNIST.resources); Fashion-MNIST README table
    assert DOWNLOADS["mnist"]["md5"] == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    assert DOWNLOADS["fashion-mnist"]["md5"] == {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in DOWNLOADS["mnist"]["mirrors"]


def test_download_once_and_load(tmp_path, served):
    server, sums = served
    root = tmp_path / "cache"
    folder = download(root, base_url=server.url, md5=sums, verbose=False)
    assert folder == os.path.join(str(root), "mnist")
    assert sorted(os.listdir(folder)) == sorted(NAMES)
    for name in NAMES:
        assert verify_md5(os.path.join(folder, name), sums[name])
        assert server.requests[name] == 1
    x, y = load_mnist("train", path=folder)
    assert x.shape == (5, 1, 28, 28) and y.shape == (5,)
    # second call: everything present and verified, nothing fetched
    assert download(root, base_url=server.url, md5=sums, verbose=False) == folder
    assert all(server.requests[n] == 1 for n in NAMES)


def test_env_vars_for_cache_and_url(tmp_path, served, monkeypatch):
    server, sums = served
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "envcache"))
    monkeypatch.setenv(URL_ENV, server.url.rstrip("/"))  # a trailing slash is optional
    assert cache_dir() == str(tmp_path / "envcache")
    folder = download(dataset="fashion-mnist", md5=sums, verbose=False)
    assert folder == str(tmp_path / "envcache" / "fashion-mnist")
    assert sorted(os.listdir(folder)) == sorted(NAMES)
    assert cache_dir(tmp_path / "arg") == str(tmp_path / "arg")  # the argument wins over the env var
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == os.path.expanduser(os.path.join("~", ".cache", "tinygen"))


def test_checksum_mismatch_removes_file(tmp_path, served, one_sentence):
    server, sums = served
    bad = dict(sums, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(DatasetError) as e:
        download(tmp_path, base_url=server.url, md5=bad, verbose=False)
    msg = str(e.value)
    one_sentence(msg)
    assert "train-labels-idx1-ubyte.gz" in msg and "checksum mismatch" in msg
    folder = tmp_path / "mnist"
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()
    assert _leftovers(folder) == []
    assert (folder / "train-images-idx3-ubyte.gz").exists()  # the good file before it stays


def test_truncated_download_removed(tmp_path, served, one_sentence):
    server, sums = served
    server.truncate.add("t10k-images-idx3-ubyte.gz")
    with pytest.raises(DatasetError) as e:
        download(tmp_path, base_url=server.url, md5=sums, verbose=False)
    msg = str(e.value)
    one_sentence(msg)
    assert "t10k-images-idx3-ubyte.gz" in msg and "truncated" in msg
    assert not (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert _leftovers(tmp_path / "mnist") == []


def test_existing_mismatching_file_is_refetched(tmp_path, served):
    server, sums = served
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"garbage from an old, interrupted run")
    download(tmp_path, base_url=server.url, md5=sums, verbose=False)
    assert verify_md5(folder / "train-images-idx3-ubyte.gz", sums["train-images-idx3-ubyte.gz"])
    assert server.requests["train-images-idx3-ubyte.gz"] == 1


def test_no_network_closed_port(tmp_path, closed_port, one_sentence):
    with pytest.raises(DatasetError) as e:
        download(tmp_path, base_url=f"http://127.0.0.1:{closed_port}/", verbose=False)
    msg = str(e.value)
    one_sentence(msg)
    assert "could not download" in msg and "train-images-idx3-ubyte.gz" in msg and URL_ENV in msg
    assert _leftovers(tmp_path / "mnist") == [] and os.listdir(tmp_path / "mnist") == []


def test_no_network_by_default_in_tests(tmp_path, one_sentence):
    # the autouse fixture points TINYGEN_DATA_URL at a closed port: the official mirrors are never tried
    with pytest.raises(DatasetError) as e:
        download(tmp_path, verbose=False)
    one_sentence(str(e.value))
    assert "127.0.0.1" in str(e.value) and "amazonaws" not in str(e.value)


def test_timeout(tmp_path, one_sentence):
    # a server that accepts connections (the kernel's backlog) but never answers
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        with pytest.raises(DatasetError) as e:
            download(tmp_path, base_url=f"http://127.0.0.1:{s.getsockname()[1]}/", timeout=0.3, verbose=False,
                     files=["t10k-labels-idx1-ubyte.gz"])
    finally:
        s.close()
    one_sentence(str(e.value))
    assert "timed out" in str(e.value)


def test_http_404(tmp_path, file_server, one_sentence):
    with pytest.raises(DatasetError) as e:
        download(tmp_path, base_url=file_server.url, verbose=False)
    one_sentence(str(e.value))
    assert "404" in str(e.value)


def test_falls_back_to_next_mirror(tmp_path, served, closed_port):
    server, sums = served
    folder = download(tmp_path, base_url=[f"http://127.0.0.1:{closed_port}/", server.url], md5=sums,
                      verbose=False)
    assert sorted(os.listdir(folder)) == sorted(NAMES)
    folder = download(tmp_path / "b", base_url=f"http://127.0.0.1:{closed_port}/,{server.url}", md5=sums,
                      verbose=False)
    assert sorted(os.listdir(folder)) == sorted(NAMES)


def test_verbose_prints_to_stderr(tmp_path, served, capsys):
    server, sums = served
    download(tmp_path, base_url=server.url, md5=sums, files=["t10k-labels-idx1-ubyte.gz"])
    err = capsys.readouterr().err
    assert "downloading" in err and "t10k-labels-idx1-ubyte.gz" in err


def test_bad_arguments(tmp_path, one_sentence):
    with pytest.raises(DatasetError) as e:
        download(tmp_path, dataset="cifar10")
    one_sentence(str(e.value))
    with pytest.raises(DatasetError):
        download(tmp_path, files=["readme.txt"])


def test_load_dataset_downloads_named_datasets(tmp_path, served, monkeypatch):
    server, sums = served
    for name, md5 in sums.items():     # the served files stand in for the published ones: sums and sizes
        monkeypatch.setitem(DOWNLOADS["fashion-mnist"]["md5"], name, md5)
        monkeypatch.setitem(DOWNLOADS["fashion-mnist"]["size"], name, len(server.files[name]))
    ds = load_dataset("fashion-mnist", "test", root=tmp_path, base_url=server.url)
    assert ds.x.shape == (3, 1, 28, 28) and ds.kind == "image"
    assert os.path.isfile(tmp_path / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")
    with gzip.open(tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        assert f.read()[8:] == bytes(ds.y.astype(np.uint8))
