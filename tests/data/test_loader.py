"""tinygen/data/loader.py: batches, drop_last, shuffling with the global seed, validation, resuming."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen.data import DataLoader, load_dataset


def _epoch(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


def test_batch_shapes_and_dtypes():
    x = np.random.default_rng(0).random((10, 1, 4, 4), dtype=np.float32)
    y = np.arange(10, dtype=np.uint8)
    loader = DataLoader(x, y, batch_size=4, shuffle=False)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 1, 4, 4), (4, 1, 4, 4), (2, 1, 4, 4)]
    for xb, yb in batches:
        assert isinstance(xb, tg.Tensor) and isinstance(yb, tg.Tensor)
        assert xb.dtype == "float32" and yb.dtype == "int64"
        assert xb.device == "cpu" and not xb.requires_grad
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)


def test_dtypes():
    x64 = np.zeros((5, 2), np.float64)
    y32 = np.zeros(5, np.int32)
    mask = np.zeros(5, bool)
    xb, yb, mb = next(iter(DataLoader(x64, y32, mask, batch_size=5)))
    assert xb.dtype == "float64" and yb.dtype == "int64" and mb.dtype == "bool"
    xb, yb = next(iter(DataLoader(np.zeros((5, 2), np.float32), y32, batch_size=5, dtype="float64")))
    assert xb.dtype == "float64" and yb.dtype == "int64"  # dtype applies to floating arrays only
    with pytest.raises(ValueError):
        DataLoader(x64, dtype="int32")


def test_single_array_and_lists():
    batches = list(DataLoader([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], batch_size=2, shuffle=False))
    assert len(batches) == 2 and len(batches[0]) == 1
    assert batches[0][0].shape == (2, 2) and batches[1][0].shape == (1, 2)


def test_drop_last():
    x = np.arange(10.0)
    loader = DataLoader(x, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].shape for b in loader] == [(4,), (4,)]
    assert len(DataLoader(x, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(x, batch_size=11, drop_last=True)) == 0
    assert list(DataLoader(x, batch_size=11, drop_last=True)) == []
    assert len(DataLoader(x, batch_size=11)) == 1


def test_shuffle_repeatable_with_manual_seed():
    x = np.arange(100.0)
    loader = DataLoader(x, batch_size=16)
    tg.manual_seed(3)
    e1, e2 = _epoch(loader), _epoch(loader)
    tg.manual_seed(3)
    f1, f2 = _epoch(loader), _epoch(loader)
    for a, b in zip(e1 + e2, f1 + f2):
        np.testing.assert_array_equal(a[0], b[0])
    order1 = np.concatenate([b[0] for b in e1])
    order2 = np.concatenate([b[0] for b in e2])
    assert not np.array_equal(order1, order2)        # a new permutation each epoch
    assert not np.array_equal(order1, x)              # actually shuffled
    tg.manual_seed(3)
    np.testing.assert_array_equal(order1, tg.backend.cpu_generator().permutation(100))  # drawn from the CPU RNG


def test_shuffle_keeps_arrays_aligned():
    x = np.arange(50.0)
    y = np.arange(50)
    for xb, yb in DataLoader(x, y, batch_size=7):
        np.testing.assert_array_equal(xb.numpy(), yb.numpy().astype(np.float64))


def test_no_shuffle_in_order():
    x = np.arange(20)
    order = np.concatenate([b[0].numpy() for b in DataLoader(x, batch_size=6, shuffle=False)])
    np.testing.assert_array_equal(order, x)


def test_batches_do_not_alias_source():
    x = np.zeros((4, 2), np.float32)
    (xb,) = next(iter(DataLoader(x, batch_size=4, shuffle=False)))
    xb.data[...] = 5
    assert x.max() == 0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 130), batch_size=st.integers(1, 40), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2**16))
def test_batch_arithmetic(n, batch_size, drop_last, shuffle, seed):
    tg.manual_seed(seed)
    x = np.arange(n, dtype=np.float32)
    y = np.arange(n)
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    expected_len = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loader) == expected_len
    for _ in range(2):  # two epochs
        batches = [(xb.numpy(), yb.numpy()) for xb, yb in loader]
        assert len(batches) == expected_len
        sizes = [len(b[1]) for b in batches]
        assert all(s == batch_size for s in sizes[:-1])
        if sizes:
            assert 1 <= sizes[-1] <= batch_size and (not drop_last or sizes[-1] == batch_size)
        seen = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, np.int64)
        assert len(seen) == ((n // batch_size) * batch_size if drop_last else n)
        assert len(np.unique(seen)) == len(seen)  # nobody twice
        if not drop_last:
            np.testing.assert_array_equal(np.sort(seen), y)  # everybody once
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, yb.astype(np.float32))


def test_validation(one_sentence):
    with pytest.raises(ValueError) as e:
        DataLoader(np.zeros(5), np.zeros(6))
    one_sentence(str(e.value))
    assert "5" in str(e.value) and "6" in str(e.value)
    for bs in (0, -1, 1.5, True, "8"):
        with pytest.raises(ValueError) as e:
            DataLoader(np.zeros(5), batch_size=bs)
        one_sentence(str(e.value))
    with pytest.raises(ValueError):
        DataLoader()
    with pytest.raises(ValueError):
        DataLoader(np.float32(3.0))
    with pytest.raises(ValueError):
        DataLoader(np.array(["a", "b"]))
    with pytest.raises(ValueError):
        DataLoader(np.zeros(3), device="tpu")


def test_device():
    (xb,) = next(iter(DataLoader(np.zeros((3, 2), np.float32), batch_size=2, device="cpu")))
    assert xb.device == "cpu"
    if not tg.cuda_available():
        with pytest.raises(tg.DeviceError):
            DataLoader(np.zeros(3), device="cuda")


def test_dataset_objects():
    ds = load_dataset("ring8", "test", n=100)
    loader = DataLoader(ds, batch_size=32)
    xb, yb = next(iter(loader))
    assert xb.shape == (32, 2) and xb.dtype == "float32" and yb.dtype == "int64"
    assert len(ds.loader(batch_size=10, drop_last=True)) == 10


def test_mnist_batches():
    ds = load_dataset("mnist", "test", range=(-1, 1))
    xb, yb = next(iter(DataLoader(ds.x, ds.y, batch_size=64)))
    assert xb.shape == (64, 1, 28, 28) and xb.dtype == "float32" and yb.shape == (64,) and yb.dtype == "int64"


def test_resume_mid_epoch():
    x = np.arange(40)
    tg.manual_seed(11)
    loader = DataLoader(x, batch_size=6)
    it = iter(loader)
    first = [next(it)[0].numpy() for _ in range(3)]
    state = loader.state_dict()
    assert state["epoch"] == 1 and state["batch"] == 3
    rest = [b[0].numpy() for b in it]
    rng_state = tg.backend.cpu_generator().bit_generator.state

    other = DataLoader(x, batch_size=6)
    other.load_state_dict(state)
    resumed = [b[0].numpy() for b in other]
    assert len(resumed) == len(rest) == len(loader) - 3
    for a, b in zip(resumed, rest):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.sort(np.concatenate(first + resumed)), x)
    assert tg.backend.cpu_generator().bit_generator.state == rng_state  # resuming draws nothing
    assert other.epoch == 1
    list(other)
    assert other.epoch == 2  # the next iteration is a fresh epoch
    with pytest.raises(ValueError):
        other.load_state_dict({"epoch": 1, "batch": 2, "perm": np.arange(39)})
    with pytest.raises(ValueError):
        other.load_state_dict({"epoch": 1, "batch": 99, "perm": None})


def test_repr():
    assert "batch_size=8" in repr(DataLoader(np.zeros((3, 2)), batch_size=8))
