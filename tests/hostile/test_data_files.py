"""Hostile data files and download servers: every crafted input gets one sentence naming the file.

The files are made here, byte by byte: an IDX folder without images, headers whose size does not fit in
int64, gzip bombs (a few KB inflating to many MB), and HTTP servers that stream without end. Nothing may be
inflated or downloaded beyond the size the header or the published file list declares.
"""
from __future__ import annotations

import gzip
import http.server
import importlib
import os
import re
import threading
import tracemalloc

import numpy as np
import pytest

from tinygen.data import DOWNLOADS, DatasetError, download, load_idx_folder, read_idx, write_idx

download_module = importlib.import_module("tinygen.data.download")     # the module, not the function

IMAGES = "train-images-idx3-ubyte"
LABELS = "train-labels-idx1-ubyte"
HUGE = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)        # 7.9e28 bytes: the product overflows int64


def _header(*dims, code=0x08):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _one_sentence_naming(msg, path):
    assert "\n" not in msg and msg.endswith("."), msg
    assert not re.search(r"[.!?]\s+[A-Z]", msg), msg
    assert str(path) in msg, msg


def _folder(tmp_path, n_images, n_labels=None):
    folder = tmp_path / "idx"
    folder.mkdir()
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n_images, 28, 28), np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(n_images if n_labels is None else n_labels,
                                                                     np.uint8))
    return folder


# --- IDX files ---------------------------------------------------------------------------------------------
def test_a_folder_with_zero_images(tmp_path):
    folder = _folder(tmp_path, 0)
    with pytest.raises(DatasetError) as e:
        load_idx_folder(folder, "train")
    _one_sentence_naming(str(e.value), folder / f"{IMAGES}.gz")
    assert "holds no images" in str(e.value) and "(0, 28, 28)" in str(e.value)


def test_the_cli_on_a_folder_with_zero_images(tmp_path, run_main, one_sentence):
    folder = _folder(tmp_path, 0)
    code, _, err = run_main("train", "vae", "--data", folder, "--steps", 1, "--out", tmp_path / "run")
    one_sentence(code, err, f"{folder / IMAGES}.gz' holds no images")


@pytest.mark.parametrize("gz", [False, True])
def test_a_header_whose_size_overflows_int64(tmp_path, gz):
    path = tmp_path / (IMAGES + (".gz" if gz else ""))
    payload = _header(*HUGE) + bytes(64)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    with pytest.raises(DatasetError) as e:
        read_idx(path)
    msg = str(e.value)
    _one_sentence_naming(msg, path)
    assert "truncated" in msg and str(16 + HUGE[0] ** 3) in msg      # the true size, not a wrapped int64


def test_a_header_declaring_more_than_gzip_can_hold_is_refused_before_inflating(tmp_path):
    path = tmp_path / f"{IMAGES}.gz"
    path.write_bytes(gzip.compress(_header(60000, 1000, 1000) + bytes(1 << 20)))   # 60 GB declared, 1 MB inside
    with pytest.raises(DatasetError, match="more than a gzip file of .* bytes can hold") as e:
        read_idx(path)
    _one_sentence_naming(str(e.value), path)


@pytest.mark.parametrize("members", [1, 3])
def test_a_gzip_bomb_is_not_inflated_beyond_its_declared_shape(tmp_path, members):
    # 32 MB of zeros after a header that declares two 28x28 images: a few KB on disk
    path = tmp_path / f"{IMAGES}.gz"
    part = gzip.compress(bytes(32 << 20) if members == 1 else bytes(11 << 20), compresslevel=1)
    path.write_bytes(gzip.compress(_header(2, 28, 28)) + part * members)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as e:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    _one_sentence_naming(msg, path)
    assert f"inflates to more than the {16 + 2 * 28 * 28} bytes its IDX header declares" in msg
    assert peak < 4 << 20, f"inflated {peak} bytes"


def test_an_exact_file_in_several_gzip_members_still_reads(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = _header(2, 3, 4) + a.tobytes()
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(raw[:10]) + gzip.compress(raw[10:]) + bytes(8))   # zero padding after
    np.testing.assert_array_equal(read_idx(path), a)


def test_a_gzip_stream_with_a_bad_checksum(tmp_path):
    data = bytearray(gzip.compress(_header(3) + bytes([1, 2, 3])))
    data[-8] ^= 0xFF                                             # the CRC32 in the trailer
    path = tmp_path / LABELS
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="not a valid gzip file") as e:
        read_idx(path)
    _one_sentence_naming(str(e.value), path)


# --- downloads ---------------------------------------------------------------------------------------------
class _EndlessServer:
    """Serves every GET with zeros, with no Content-Length (or a false one), until the client hangs up or
    ``cap`` bytes are out; ``sent`` counts the bytes per request."""

    def __init__(self, length=None, cap=64 << 20):
        self.sent = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                outer.sent.append(0)
                block = bytes(1 << 16)
                try:
                    while outer.sent[-1] < cap:
                        self.wfile.write(block)
                        outer.sent[-1] += len(block)
                except OSError:  # the client stopped reading and closed the connection
                    pass
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endless():
    servers = []

    def make(**kw):
        servers.append(_EndlessServer(**kw))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def _nothing_left(folder):
    return not os.path.isdir(folder) or os.listdir(folder) == []


def test_a_download_that_never_ends_stops_at_the_published_size(tmp_path, endless):
    server = endless()
    name = "t10k-labels-idx1-ubyte.gz"                         # published: 4,542 bytes
    with pytest.raises(DatasetError) as e:
        download(tmp_path, files=[name], base_url=server.url, verbose=False)
    msg = str(e.value)
    assert "\n" not in msg and f"more than the {DOWNLOADS['mnist']['size'][name]} bytes" in msg, msg
    assert server.sent[0] < 8 << 20                           # the client hung up long before the cap
    assert _nothing_left(tmp_path / "mnist")


def test_a_false_content_length_is_refused_before_reading(tmp_path, endless):
    server = endless(length=10 ** 12)
    with pytest.raises(DatasetError, match=r"announced 1000000000000 bytes, but the published file has 4542"):
        download(tmp_path, files=["t10k-labels-idx1-ubyte.gz"], base_url=server.url, verbose=False)
    assert _nothing_left(tmp_path / "mnist")


def test_a_file_of_unknown_size_stops_at_the_cap(tmp_path, endless, monkeypatch):
    # an overridden MD5 means another file than the published one: its size is unknown, so the cap applies
    monkeypatch.setattr(download_module, "_MAX_UNKNOWN", 1 << 20)
    server = endless()
    with pytest.raises(DatasetError, match=r"more than the 1048576 bytes"):
        download(tmp_path, files=["t10k-labels-idx1-ubyte.gz"], md5={"t10k-labels-idx1-ubyte.gz": "0" * 32},
                 base_url=server.url, verbose=False)
    assert server.sent[0] < 8 << 20 and _nothing_left(tmp_path / "mnist")
