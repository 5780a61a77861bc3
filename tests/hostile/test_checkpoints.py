"""Hostile checkpoints: files forged by an attacker (or damaged by accident) that ``tg.load``, ``train --resume``
and ``tinygen sample`` must refuse with one sentence naming the file and the problem, before reading or
allocating what the file claims. Every file here is crafted by the test itself, member by member:

* a .npy header declaring a shape of hundreds of TiB in a member of a few hundred bytes;
* a zip bomb: a member of about 64 KiB that inflates to 64 MiB of zeros;
* a JSON header nested 2,000 levels (and one nested just past the limit that save itself enforces);
* members that are not .npy data; leaves of dtypes ``save`` refuses (str, complex, datetime, object, records);
* training checkpoints whose RNG entry or PCG64 state (and other entries) are malformed.
"""
import io
import json
import time
import zipfile

import numpy as np
import pytest

import tinygen as tg
from tinygen.serialization import MAX_DEPTH, CheckpointError

HEADER = "__tinygen_header__.npy"


def npy(array):
    """The bytes of ``array`` as a .npy file (what np.savez stores in each member)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=True)
    return buf.getvalue()


def npy_header_only(descr, shape):
    """A .npy header declaring ``shape`` of ``descr``, with no data after it."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def header_json(root):
    return json.dumps({"format": "tinygen-checkpoint", "version": 1, "root": root}).encode()


def leaf(key, dtype, shape, kind="array"):
    return {"type": kind, "key": key, "dtype": dtype, "shape": list(shape)}


def forge(path, members, header=None):
    """A zip written member by member: ``members`` maps names to bytes; ``header`` (bytes of JSON) goes in
    as the tinygen header, a .npy uint8 array."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        if header is not None:
            z.writestr(HEADER, npy(np.frombuffer(header, dtype=np.uint8)))
        for name, data in members.items():
            z.writestr(name, data)
    return path


def refused(path, *texts):
    """tg.load(path) raises CheckpointError: one line naming the file and each of ``texts``."""
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError) as e:
        tg.load(path)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg, msg
    for t in texts:
        assert t in msg, msg
    assert time.perf_counter() - t0 < 5, "the refusal must come before reading what the file claims"
    return msg


# --- forged files -------------------------------------------------------------------------------------------
def huge_shape(path):
    """A few hundred bytes whose .npy header declares 2^47 float32 values: 512 TiB."""
    shape = (2 ** 47,)
    return forge(path, {"a0.npy": npy_header_only("<f4", shape)}, header_json(leaf("a0", "float32", shape)))


def huge_header_member(path):
    """The header member itself declares 2^46 bytes."""
    return forge(path, {HEADER: npy_header_only("|u1", (2 ** 46,))})


def zip_bomb(path, inflated=64 * 2 ** 20):
    """A DEFLATE member of about 64 KiB that inflates to 64 MiB of zeros, its .npy header consistent with that
    size (so only the compression ratio gives it away)."""
    n = inflated // 4
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(HEADER, npy(np.frombuffer(header_json(leaf("a0", "float32", (n,))), dtype=np.uint8)))
        with z.open("a0.npy", "w", force_zip64=True) as f:
            f.write(npy_header_only("<f4", (n,)))
            chunk = bytes(2 ** 20)
            for _ in range(inflated // len(chunk)):
                f.write(chunk)
    return path


def nested(levels):
    """A header whose root is ``levels`` lists inside each other (2 JSON levels each)."""
    def make(path):
        text = '{"type": "list", "value": [' * levels + '{"type": "none"}' + "]}" * levels
        return forge(path, {}, json.dumps({"format": "tinygen-checkpoint", "version": 1,
                                           "root": "@"}).encode().replace(b'"@"', text.encode()))
    return make


def header_not_npy(path):
    """The header member holds raw JSON bytes, not a .npy array."""
    return forge(path, {HEADER: header_json({"type": "none"})})


def leaf_not_npy(path):
    """The header refers to a member that holds text."""
    return forge(path, {"a0.npy": b"this is not an array\n"}, header_json(leaf("a0", "float32", (3,))))


def shorter_than_declared(path):
    """A stored member whose .npy header declares 1,000 floats but which holds 8 bytes of them."""
    return forge(path, {"a0.npy": npy_header_only("<f8", (1000,)) + bytes(8)},
                 header_json(leaf("a0", "float64", (1000,))))


def refused_dtype(value):
    def make(path):
        a = np.asarray(value)
        return forge(path, {"a0.npy": npy(a)}, header_json(leaf("a0", a.dtype.name, a.shape)))
    return make


FORGED = {
    "huge declared shape": (huge_shape, ["declares shape (140737488355328,)", "corrupt or forged"]),
    "huge header member": (huge_header_member, ["declares shape (70368744177664,)"]),
    "zip bomb": (zip_bomb, ["inflate", "zip bomb"]),
    "header nested 2,000 levels": (nested(1000), ["nested"]),
    "header nested past the limit": (nested(MAX_DEPTH + 5), [f"more than {MAX_DEPTH} levels"]),
    "header member not .npy": (header_not_npy, ["is not .npy data"]),
    "leaf member not .npy": (leaf_not_npy, ["'a0' is not .npy data"]),
    "member shorter than declared": (shorter_than_declared, ["holds 8 bytes"]),
    "str leaf": (refused_dtype(["a", "bc"]), ["dtype <U2", "save never writes"]),
    "complex leaf": (refused_dtype([1 + 2j]), ["complex128"]),
    "datetime leaf": (refused_dtype(np.array(["2024-01-01"], dtype="datetime64[D]")), ["datetime64"]),
    "object leaf": (refused_dtype(np.array([{"x": 1}], dtype=object)), ["dtype object"]),
    "record leaf": (refused_dtype(np.zeros(2, dtype=[("a", "<f4")])), ["save never writes"]),
}


@pytest.mark.parametrize("name", FORGED)
def test_tg_load_refuses_a_forged_checkpoint_with_one_sentence(tmp_path, name):
    make, texts = FORGED[name]
    refused(make(tmp_path / "forged.npz"), *texts)


@pytest.mark.parametrize("name", ["huge declared shape", "zip bomb", "header nested 2,000 levels",
                                  "header member not .npy", "str leaf"])
def test_the_cli_answers_a_forged_checkpoint_with_one_sentence(gan_run, run_main, one_sentence, name):
    make, texts = FORGED[name]
    make(gan_run / "checkpoint.npz")
    for argv in (["sample", gan_run], ["train", "gan", "--out", gan_run, "--resume", "--steps", "4"]):
        one_sentence(*run_main(*argv)[::2], gan_run / "checkpoint.npz", *texts)


def test_save_refuses_nesting_that_load_would_refuse(tmp_path):
    deep = None
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValueError, match=f"more than {MAX_DEPTH} levels"):
        tg.save(deep, tmp_path / "deep.npz")
    ok = None
    for _ in range(MAX_DEPTH):
        ok = [ok]
    tg.save(ok, tmp_path / "ok.npz")
    assert tg.load(tmp_path / "ok.npz") == ok


def test_a_compressed_checkpoint_of_plausible_ratio_still_loads(tmp_path):
    """Only implausible ratios are refused: the same state re-zipped with DEFLATE loads."""
    tg.save({"w": np.random.default_rng(0).random(50_000), "z": np.zeros(1000)}, tmp_path / "a.npz")
    with zipfile.ZipFile(tmp_path / "a.npz") as src, \
            zipfile.ZipFile(tmp_path / "b.npz", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    back = tg.load(tmp_path / "b.npz")
    assert back["w"].shape == (50_000,) and not back["z"].any()


# --- training checkpoints with malformed entries --------------------------------------------------------------
def _pcg(**state):
    good = np.random.PCG64(0).state
    return {**good, "state": {**good["state"], **state}}


BAD_ENTRIES = {
    "rng not a dict": ("rng", 5, "RNG entry is malformed"),
    "rng without cpu": ("rng", {"device": "cpu", "device_state": None}, "RNG entry is malformed"),
    "rng of another generator": ("rng", {"device": "cpu", "device_state": None, "cpu": {"bit_generator": "MT19937"}},
                                 "not a valid PCG64 state"),
    "PCG64 state not a number": ("rng", {"device": "cpu", "device_state": None, "cpu": _pcg(state="x")},
                                 "not a valid PCG64 state"),
    "PCG64 state negative": ("rng", {"device": "cpu", "device_state": None, "cpu": _pcg(inc=-1)},
                             "not a valid PCG64 state"),
    "step not a count": ("step", "7", "'step' is '7'"),
    "model not a dict": ("model", [1, 2], "'model' entry is of the wrong type (list)"),
    "loader not a dict": ("loader", 3, "'loader' entry is of the wrong type (int)"),
    "running means malformed": ("extra", {"window": {"loss": "x"}}, "'extra.window'"),
}


@pytest.mark.parametrize("name", BAD_ENTRIES)
def test_malformed_entries_of_a_training_checkpoint_on_resume_and_sample(gan_run, run_main, one_sentence, name):
    key, value, text = BAD_ENTRIES[name]
    path = gan_run / "checkpoint.npz"
    state = tg.load(path)
    state[key] = value
    tg.save(state, path)
    for argv in (["train", "gan", "--out", gan_run, "--resume", "--steps", "4"], ["sample", gan_run]):
        one_sentence(*run_main(*argv)[::2], path, "not a valid training checkpoint", text)
