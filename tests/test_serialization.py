"""tinygen.serialization: round trips of nested state, the file format, bad files, and atomic writes that
survive a writer killed with SIGKILL mid-save."""
import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen import atomic, serialization
from tinygen.backend import DeviceError, to_numpy
from tinygen.serialization import CheckpointError, CheckpointNotFoundError, load, save

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_same(a, b):
    """Equal values of exactly the same types, recursively (NaN equals NaN; 0.0 and -0.0 differ)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert [type(k) for k in a] == [type(k) for k in b]
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    elif isinstance(a, tg.Tensor):
        assert a.requires_grad == b.requires_grad and a.dtype == b.dtype
        assert_same(to_numpy(a.data), to_numpy(b.data))
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    else:
        assert a == b


DTYPES = st.sampled_from(["float32", "float64", "int64", "bool", "int8", "uint8", "float16"])
ARRAYS = DTYPES.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
FLOAT_ARRAYS = st.sampled_from(["float32", "float64"]).flatmap(
    lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
TENSORS = st.builds(lambda a, rg: tg.tensor(a, requires_grad=rg), FLOAT_ARRAYS, st.booleans())
SCALARS = ARRAYS.filter(lambda a: a.size).map(lambda a: a.reshape(-1)[0])   # NumPy scalars (np.float32(...))
LEAVES = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8)
          | ARRAYS | TENSORS | SCALARS)
KEYS = st.text(max_size=6) | st.integers(-5, 5) | st.tuples(st.integers(0, 3), st.text(max_size=2))
STRUCTURES = st.recursive(LEAVES, lambda c: st.lists(c, max_size=4) | st.lists(c, max_size=3).map(tuple)
                          | st.dictionaries(KEYS, c, max_size=4), max_leaves=12)


@given(obj=STRUCTURES)
def test_round_trip_of_nested_structures(tmp_path, obj):
    path = tmp_path / "x.ckpt"
    save(obj, path)
    assert_same(load(path), obj)
    assert [f for f in os.listdir(tmp_path) if f != "x.ckpt"] == []   # no temporaries left


def test_strings_none_bools_and_special_floats_survive(tmp_path):
    obj = {"name": "vae-β=4 ☃", "weird": "\ud800 \x00 \"quoted\" \\", "none": None, "flags": (True, False),
           "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "-0": -0.0, "big": 2 ** 100,
           3: "int key", (1, "a"): "tuple key", None: "none key", 2.5: "float key", True: "bool key"}
    save(obj, tmp_path / "m.ckpt")
    assert_same(load(tmp_path / "m.ckpt"), obj)


def test_a_bare_tensor_and_a_bare_array(tmp_path):
    t = tg.randn(3, 4, requires_grad=True)
    save(t, tmp_path / "t.ckpt")
    u = load(tmp_path / "t.ckpt")
    assert isinstance(u, tg.Tensor) and u.requires_grad and u.is_leaf and u.dtype == "float32"
    assert np.array_equal(u.numpy(), t.numpy())
    save(np.arange(5), tmp_path / "a.ckpt")
    assert_same(load(tmp_path / "a.ckpt"), np.arange(5))
    zero_d = tg.tensor(3.5, dtype="float64")
    save(zero_d, tmp_path / "z.ckpt")
    assert load(tmp_path / "z.ckpt").shape == () and float(load(tmp_path / "z.ckpt")) == 3.5


def test_a_non_leaf_tensor_is_saved_as_its_values(tmp_path):
    a = tg.randn(3, requires_grad=True)
    save({"y": a * 2}, tmp_path / "y.ckpt")
    y = load(tmp_path / "y.ckpt")["y"]
    assert y.is_leaf and y.requires_grad and np.allclose(y.numpy(), 2 * a.numpy())


def test_on_both_backends_arrays_go_to_the_host_and_come_back_on_the_device(backend, tmp_path):
    t = tg.randn(2, 3, requires_grad=True)
    arr = tg.ones(4, dtype="int64").data
    assert tg.backend.backend_of(t.data) is backend
    save({"t": t, "arr": arr}, tmp_path / "b.ckpt")
    with np.load(tmp_path / "b.ckpt", allow_pickle=False) as z:       # a plain .npz any NumPy can read
        assert sorted(z.files) == ["__tinygen_header__", "a0", "a1"]
        assert np.array_equal(z["a0"], to_numpy(t.data))
    back = load(tmp_path / "b.ckpt", device=None if backend.device == "cpu" else backend.device)
    assert tg.backend.backend_of(back["t"].data) is backend
    assert tg.backend.backend_of(back["arr"]) is backend
    assert back["t"].requires_grad and np.array_equal(to_numpy(back["t"].data), to_numpy(t.data))
    assert back["t"].device == backend.device


def test_the_device_argument(tmp_path):
    save({"w": tg.randn(2)}, tmp_path / "d.ckpt")
    assert load(tmp_path / "d.ckpt", device="cpu")["w"].device == "cpu"
    if not tg.cuda_available():
        with pytest.raises(DeviceError, match="cuda"):
            load(tmp_path / "d.ckpt", device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        load(tmp_path / "d.ckpt", device="tpu")


def test_the_header_says_what_the_file_holds(tmp_path):
    save({"w": tg.randn(2, 3, requires_grad=True), "step": 7}, tmp_path / "h.ckpt")
    with np.load(tmp_path / "h.ckpt", allow_pickle=False) as z:
        header = json.loads(z["__tinygen_header__"].tobytes().decode("utf-8"))
    assert header["format"] == "tinygen-checkpoint" and header["version"] == 1
    (kw, w), (_, s) = header["root"]["value"]
    assert kw == {"type": "str", "value": "w"} and s == {"type": "int", "value": 7}
    assert w == {"type": "tensor", "key": "a0", "dtype": "float32", "shape": [2, 3], "requires_grad": True,
                 "device": "cpu"}


@pytest.mark.parametrize("obj, error, where", [
    ({"a": [1, object()]}, TypeError, r"obj\['a'\]\[1\]"),
    ({"a": {1, 2}}, TypeError, "set"),
    ({"a": np.array(["x"])}, TypeError, "dtype <U1"),
    ({frozenset([1]): 1}, TypeError, "key"),
    ({("a", np.zeros(1).tobytes()): 1}, TypeError, "key"),
    ({"c": 1j}, TypeError, "complex"),
])
def test_what_cannot_be_saved_is_refused_before_anything_is_written(tmp_path, obj, error, where):
    save({"old": 1}, tmp_path / "c.ckpt")
    with pytest.raises(error, match=where):
        save(obj, tmp_path / "c.ckpt")
    assert load(tmp_path / "c.ckpt") == {"old": 1} and os.listdir(tmp_path) == ["c.ckpt"]


def test_a_cycle_is_refused(tmp_path):
    a = []
    a.append(a)
    with pytest.raises(ValueError, match="contains itself"):
        save({"a": a}, tmp_path / "cyc.ckpt")


def test_saving_into_a_missing_folder_or_onto_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(1, tmp_path / "nope" / "x.ckpt")
    with pytest.raises(IsADirectoryError, match="folder"):
        save(1, tmp_path)


# --- bad files ------------------------------------------------------------------------------------------------
def _one_sentence(e, path):
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_a_missing_file(tmp_path):
    path = tmp_path / "missing.ckpt"
    with pytest.raises(CheckpointNotFoundError) as e:
        load(path)
    assert isinstance(e.value, CheckpointError) and isinstance(e.value, FileNotFoundError)
    assert "no such file" in _one_sentence(e, path)


def test_the_checkpoint_errors_are_public():
    assert tg.CheckpointError is CheckpointError and tg.CheckpointNotFoundError is CheckpointNotFoundError


@pytest.mark.parametrize("content, what", [
    (b"", "not a tinygen checkpoint"),
    (os.urandom(1000), "not a tinygen checkpoint"),
    (b"PK\x03\x04" + os.urandom(500), "not a tinygen checkpoint"),
    (b"just some text\n", "not a tinygen checkpoint"),
])
def test_files_that_are_not_checkpoints(tmp_path, content, what):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert what in _one_sentence(e, path)


def _checkpoint(tmp_path):
    path = tmp_path / "good.ckpt"
    save({"w": np.arange(20000, dtype="float64"), "step": 3}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_a_truncated_checkpoint(tmp_path, keep):
    path, data = _checkpoint(tmp_path)
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError) as e:
        load(path)
    _one_sentence(e, path)


def test_a_corrupted_checkpoint(tmp_path):
    path, data = _checkpoint(tmp_path)
    i = data.index(np.arange(20000, dtype="float64")[1000:1002].tobytes())   # inside the array's bytes
    path.write_bytes(data[:i] + bytes(16) + data[i + 16:])
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert "corrupt" in _one_sentence(e, path)


def _npz_with_header(path, header, **arrays):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path, "wb") as f:
        np.savez(f, __tinygen_header__=np.frombuffer(raw, dtype=np.uint8), **arrays)


@pytest.mark.parametrize("header, what", [
    (None, "without a tinygen header"),
    (b"{not json", "not valid JSON"),
    ({"format": "something-else", "version": 1, "root": {"type": "none"}}, "not a tinygen checkpoint"),
    ({"format": "tinygen-checkpoint", "version": 2, "tinygen": "9.0", "root": {"type": "none"}},
     "newer tinygen"),
    ({"format": "tinygen-checkpoint", "version": "1", "root": {"type": "none"}}, "invalid format version"),
    ({"format": "tinygen-checkpoint", "version": 1}, "no 'root'"),
    ({"format": "tinygen-checkpoint", "version": 1, "root": {"type": "frobnicate"}}, "unknown type"),
    ({"format": "tinygen-checkpoint", "version": 1, "root": {"type": "int", "value": "3"}}, "malformed"),
    ({"format": "tinygen-checkpoint", "version": 1,
      "root": {"type": "array", "key": "a7", "dtype": "float32", "shape": [2]}}, "does not contain"),
    ({"format": "tinygen-checkpoint", "version": 1,
      "root": {"type": "array", "key": "a0", "dtype": "float32", "shape": [3]}}, "but the header says"),
])
def test_npz_files_with_a_missing_or_wrong_header(tmp_path, header, what):
    path = tmp_path / "h.npz"
    if header is None:
        np.savez(path, a0=np.zeros(2))
    else:
        _npz_with_header(path, header, a0=np.zeros(2, dtype="float32"))
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert what in _one_sentence(e, path)


def test_a_npy_file(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(CheckpointError, match=r"\.npy"):
        load(path)


# --- atomic writes --------------------------------------------------------------------------------------------
def _temporaries(folder):
    return [f for f in os.listdir(folder) if ".tmp-" in f]


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_a_save_that_fails_midway_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch, exc):
    path = tmp_path / "ck.ckpt"
    save({"v": 1}, path)
    real = np.savez

    def failing_savez(f, *a, **kw):
        real(f, *a, **kw)
        f.write(b"half")
        raise exc

    monkeypatch.setattr(serialization.np, "savez", failing_savez)
    with pytest.raises(type(exc)):
        save({"v": 2, "w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert load(path) == {"v": 1} and _temporaries(tmp_path) == []


posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid liveness checks are POSIX")


@posix_only
def test_stale_temporaries_of_dead_writers_are_removed_and_others_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = atomic.HOST
        names = {"dead": f".ck.ckpt.tmp-{host}-{dead.pid}-00000000",
                 "alive": f".ck.ckpt.tmp-{host}-{alive.pid}-00000000",
                 "other host": f".ck.ckpt.tmp-otherhost{host}-{dead.pid}-00000000",
                 "other file": f".other.ckpt.tmp-{host}-{dead.pid}-00000000"}
        for n in names.values():
            (tmp_path / n).write_bytes(b"partial")
        save({"v": 1}, tmp_path / "ck.ckpt")
        left = set(os.listdir(tmp_path))
        assert names["dead"] not in left
        assert {names["alive"], names["other host"], names["other file"], "ck.ckpt"} <= left
    finally:
        alive.kill()
        alive.wait()


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    import numpy as np
    from tinygen.serialization import save
    big = np.empty(50 * 2 ** 20 // 8)           # 50 MB, written again and again
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        big.fill(i)
        save({"step": i, "big": big, "small": np.full(7, i)}, sys.argv[1])
""")


def _check_consistent(ck):
    step = ck["step"]
    assert ck["big"].shape == (50 * 2 ** 20 // 8,) and ck["big"][0] == step and ck["big"][-1] == step
    assert np.all(ck["big"] == step) and np.all(ck["small"] == step)
    return step


@posix_only
def test_a_writer_killed_mid_save_never_destroys_the_previous_checkpoint(tmp_path):
    path = tmp_path / "run.ckpt"
    save({"step": 0, "big": np.zeros(50 * 2 ** 20 // 8), "small": np.zeros(7, dtype="int64")}, path)
    rng = random.Random(1234)
    killed_mid_write = 0
    for _ in range(5):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), REPO], stdout=subprocess.PIPE)
        assert child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 10
        while not any(f"-{child.pid}-" in f for f in _temporaries(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.002)                  # its first write has begun; kill it at a random moment from here
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        killed_mid_write += bool(_temporaries(tmp_path))
        _check_consistent(load(path))          # the last complete checkpoint, whichever it is
    assert killed_mid_write >= 1, "no kill landed during a write: the test proved nothing"
    save({"step": -1, "big": np.full(50 * 2 ** 20 // 8, -1.0), "small": np.full(7, -1)}, path)
    assert _check_consistent(load(path)) == -1
    assert _temporaries(tmp_path) == []          # the dead writers' temporaries were cleaned up by that save
