"""Downloading full MNIST / Fashion-MNIST once into a cache folder, with the published MD5 checksums.

    folder = tinygen.data.download()                          # ~/.cache/tinygen/mnist (4 files, 11 MB)
    folder = tinygen.data.download(dataset="fashion-mnist")   # ~/.cache/tinygen/fashion-mnist
    images, labels = tinygen.data.load_mnist("train", path=folder)

Where the files go: ``root`` if given, else ``$TINYGEN_CACHE``, else ``~/.cache/tinygen``; each dataset has its
own sub-folder. Where they come from: ``base_url`` if given, else ``$TINYGEN_DATA_URL``, else the official
mirrors below, tried in order (a base URL is a folder URL; the file name is appended; several may be given
separated by commas).

Each file is fetched into a temporary file next to its destination, checked (length against the published
size and ``Content-Length``, MD5 against the published sum) and only then renamed into place, so an
interrupted or corrupt download never leaves a file under the real name. Reading stops at the published size
(or, for a file whose MD5 you override, at ``Content-Length``, else at 256 MiB): a server that streams
forever cannot fill the disk before the checksum is checked. A file already present whose MD5 matches is not
fetched again; one whose MD5 does not match is removed and fetched again. When no mirror can deliver a good
file (no network, a timeout, an HTTP error, a checksum mismatch) the call raises :class:`DatasetError` with one
sentence.

The MD5 sums are the published ones of the gzipped files: for MNIST as listed in torchvision's
``torchvision/datasets/mnist.py`` (``MNIST.resources``) and matching the embedded test files; for
Fashion-MNIST as published in the "Get the Data" table of github.com/zalandoresearch/fashion-mnist (README).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request

from .idx import DatasetError

__all__ = ["download", "cache_dir", "verify_md5", "DOWNLOADS", "CACHE_ENV", "URL_ENV"]

CACHE_ENV = "TINYGEN_CACHE"
URL_ENV = "TINYGEN_DATA_URL"

_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz")


def _idx_dataset(mirrors, md5s, sizes):
    """A dataset of the four MNIST-style files: its mirrors, and each file's MD5 and size, in _IDX_FILES' order."""
    return {"mirrors": mirrors, "md5": dict(zip(_IDX_FILES, md5s)), "size": dict(zip(_IDX_FILES, sizes))}


DOWNLOADS = {
    "mnist": _idx_dataset(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432", "9fb629c4189551a2d022fa330f9573f3",
         "ec29112dd5afa0611ce80d1b7f02629c"),
        (9912422, 28881, 1648877, 4542)),
    "fashion-mnist": _idx_dataset(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79",
         "bb300cfdad3c16e7a12a480ee83cd310"),
        (26421880, 29515, 4422102, 5148)),
}

_CHUNK = 1 << 16
_MAX_UNKNOWN = 1 << 28   # a file of unknown size (its MD5 overridden, no Content-Length) stops at 256 MiB


def cache_dir(root=None):
    """The cache folder: ``root``, else ``$TINYGEN_CACHE``, else ``~/.cache/tinygen``."""
    if root is None:
        root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "tinygen")
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def verify_md5(path, md5):
    """True when the file at ``path`` exists and its MD5 hex digest is ``md5``."""
    try:
        return _md5_of(path) == md5.lower()
    except OSError:
        return False


def _md5_of(path):
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _mirrors(dataset, base_url):
    src = base_url if base_url is not None else os.environ.get(URL_ENV)
    if src is None:
        return list(DOWNLOADS[dataset]["mirrors"])
    if isinstance(src, str):
        src = src.replace(",", " ").split()
    urls = [u if u.endswith("/") else u + "/" for u in src]
    if not urls:
        raise DatasetError(f"the download base URL is empty (from the base_url argument or ${URL_ENV}).")
    return urls


class _BadFile(Exception):
    """A download that arrived but is not the published file (truncated or wrong checksum)."""


def _reason(e):
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP error {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        r = e.reason
        return str(getattr(r, "strerror", None) or r)
    if isinstance(e, TimeoutError):
        return "timed out"
    return str(e) or type(e).__name__


def _limit(size, length):
    """How many bytes to accept: the published size, else the announced Content-Length, else _MAX_UNKNOWN."""
    announced = int(length) if length is not None and length.isdigit() else None
    if size is not None and announced is not None and announced != size:
        raise _BadFile(f"the server announced {announced} bytes, but the published file has {size}")
    return size if size is not None else announced if announced is not None else _MAX_UNKNOWN


def _fetch(url, dest, md5, timeout, size=None):
    """Fetch ``url`` into ``dest`` through a temporary file, reading no more than the file's size (``size``,
    the published one when known); raise _BadFile or a network error."""
    folder, base = os.path.split(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                limit = _limit(size, length)
                h, got = hashlib.md5(usedforsecurity=False), 0
                while True:
                    chunk = resp.read(min(_CHUNK, limit + 1 - got))
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > limit:   # a server streaming forever must not fill the disk
                        raise _BadFile(f"the server sent more than the {limit} bytes of the file; stopped there")
                    out.write(chunk)
                    h.update(chunk)
        if size is not None and got != size:
            raise _BadFile(f"truncated download: expected {size} bytes, got {got}")
        if length is not None and length.isdigit() and got != int(length):
            raise _BadFile(f"truncated download: expected {int(length)} bytes, got {got}")
        digest = h.hexdigest()
        if md5 is not None and digest != md5.lower():
            raise _BadFile(f"checksum mismatch: MD5 {digest}, expected {md5.lower()}")
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _published_size(dataset, name, md5):
    """The published size of ``name``, when the file wanted is the published one (its MD5 not overridden)."""
    published = DOWNLOADS[dataset]
    return published["size"][name] if md5 is not None and md5 == published["md5"][name] else None


def download(root=None, dataset="mnist", *, base_url=None, md5=None, files=None, timeout=30.0, verbose=True):
    """Download ``dataset`` ("mnist" or "fashion-mnist") once into ``cache_dir(root)/dataset``; its path.

    ``base_url`` (a URL or a list of them; default ``$TINYGEN_DATA_URL`` or the official mirrors) is where
    the files are fetched from. ``md5`` maps file names to expected MD5 sums, overriding the published ones
    (``None`` values skip the check); ``files`` restricts which of the four files to fetch. Files already
    present with the right MD5 are not fetched again. ``verbose`` prints one line per fetched file to stderr.
    """
    if dataset not in DOWNLOADS:
        raise DatasetError(f"cannot download {dataset!r}: the downloadable datasets are "
                           f"{', '.join(repr(d) for d in DOWNLOADS)}.")
    sums = dict(DOWNLOADS[dataset]["md5"])
    if md5:
        sums.update(md5)
    names = list(DOWNLOADS[dataset]["md5"]) if files is None else list(files)
    unknown = [n for n in names if n not in sums]
    if unknown:
        raise DatasetError(f"{dataset} has no file {unknown[0]!r}: its files are {', '.join(sums)}.")
    folder = os.path.join(cache_dir(root), dataset)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"cannot create the download folder '{folder}': {e.strerror or e}.") from None
    mirrors = None
    for name in names:
        dest, want = os.path.join(folder, name), sums[name]
        if os.path.isfile(dest):
            if want is None or verify_md5(dest, want):
                continue
            if verbose:
                print(f"tinygen: '{dest}' does not match its published MD5; removing it and fetching again",
                      file=sys.stderr)
            os.remove(dest)
        mirrors = mirrors or _mirrors(dataset, base_url)
        failures = []
        for base in mirrors:
            url = base + name
            if verbose:
                print(f"tinygen: downloading {url}", file=sys.stderr)
            try:
                _fetch(url, dest, want, timeout, _published_size(dataset, name, want))
                break
            except _BadFile as e:
                failures.append(f"{url} gave a bad file ({e}, removed)")
            except (OSError, http.client.HTTPException, ValueError) as e:  # URLError, timeouts, resets, bad URL
                failures.append(f"{url} failed ({_reason(e)})")
        else:
            raise DatasetError(f"could not download {name} into '{folder}': {'; '.join(failures)}; check the "
                               f"network, set ${URL_ENV} to a reachable mirror, or copy the file there yourself.")
    return folder
