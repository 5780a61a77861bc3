"""Fixtures for tests/data: small IDX folders, a local HTTP server, and no real network ever."""
from __future__ import annotations

import hashlib
import http.server
import os
import re
import socket
import threading

import numpy as np
import pytest

from tinygen.data import write_idx


def closed_port():
    """A localhost port that nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch, tmp_path_factory):
    """Any download a test did not point somewhere explicitly goes to a closed local port and a temp cache."""
    monkeypatch.setenv("TINYGEN_DATA_URL", f"http://127.0.0.1:{closed_port()}/")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path_factory.mktemp("cache")))


def assert_one_sentence(msg):
    """A message of one sentence: one line, ends with a full stop, no second sentence starting after '. '."""
    assert "\n" not in msg, msg
    assert msg.endswith("."), msg
    assert not re.search(r"[.!?]\s+[A-Z]", msg), msg


def make_idx_folder(folder, n_train=6, n_test=4, rows=28, cols=28, gz=True, seed=0):
    """Write a small MNIST-style folder; returns {"train": (images, labels), "test": (...)}."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for kind, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        ext = ".gz" if gz else ""
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), labels)
        out[kind] = (images, labels)
    return out


def md5_of(data):
    return hashlib.md5(data).hexdigest()


class FileServer:
    """A local HTTP server on 127.0.0.1 serving ``files`` (name -> bytes) from the URL root.

    Names in ``truncate`` are announced with their full Content-Length but cut in half. ``requests`` counts
    the GETs per name.
    """

    def __init__(self):
        self.files, self.truncate, self.requests = {}, set(), {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests[name] = server.requests.get(name, 0) + 1
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if name in server.truncate else data)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server():
    s = FileServer()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def idx_folder(tmp_path):
    folder = tmp_path / "idx"
    data = make_idx_folder(folder)
    return folder, data


# helpers as fixtures, so that test modules never import conftest (robust to any pytest import mode)
@pytest.fixture
def one_sentence():
    return assert_one_sentence


@pytest.fixture(name="make_idx_folder")
def _make_idx_folder_fixture():
    return make_idx_folder


@pytest.fixture(name="closed_port")
def _closed_port_fixture():
    return closed_port()
