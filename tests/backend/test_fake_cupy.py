"""The CuPy-only branches, run through the NumPy-backed double (tests/fake_cupy.py) on "cuda:1".

The op suite runs on the double too (the ``backend`` fixture's third parameter); here: the double's own rule
(a kernel on another device's array fails), each CuPy-only helper against NumPy, and training on "cuda:1"
from raw CuPy arrays, with the loss read back to the host only on the steps that log.
"""
import numpy as np
import pytest

import fake_cupy
import tinygen as tg
from tinygen import backend as B
from tinygen import loop as loop_mod
from tinygen import train as train_mod
from tinygen.models import build_model


@pytest.fixture
def cp():
    with fake_cupy.installed() as cupy:
        yield cupy


def test_the_double_refuses_a_kernel_on_another_device(cp):
    with cp.cuda.Device(1):
        a = cp.asarray(np.ones(3))
    assert a.device.id == 1 and type(a).__module__ == "cupy"
    with pytest.raises(ValueError, match="current device"):
        a + 1
    with cp.cuda.Device(1):
        assert (a + 1).device.id == 1 and float((a + 1).sum()) == 6.0


def test_cuda_devices_get_the_cupy_backend(cp):
    assert B.cuda_available()
    b = B.get_backend("cuda:1")
    assert b.name == "cupy" and b.gpu and b.device == "cuda:1"
    with pytest.raises(B.DeviceError, match="has 2 GPU"):
        B.get_backend("cuda:2")
    t = tg.randn(2, 3, device="cuda:1")
    assert t.device == "cuda:1" and t.data.device.id == 1
    assert np.array_equal(t.to("cpu").numpy(), B.to_numpy(t.data)) and t.to("cuda:0").data.device.id == 0


def test_a_state_dict_loads_onto_the_modules_gpu(cp):
    m = tg.nn.Linear(3, 2).to("cuda:1")
    m.load_state_dict({k: v.numpy() * 2 for k, v in m.state_dict().items()})
    assert all(B.device_of(v.data) == "cuda:1" for v in m.state_dict().values())


def test_cupy_only_helpers_agree_with_numpy(cp):
    b = B.get_backend("cuda:1")
    rng = np.random.default_rng(0)
    host = rng.standard_normal((3, 9, 8, 2)).astype(np.float32)
    x = b.asarray(host)
    win = B.sliding_windows(x, (3, 2), (2, 3), (1, 2), (4, 2))             # CuPy's as_strided
    want = B.sliding_windows(host, (3, 2), (2, 3), (1, 2), (4, 2))
    assert type(win).__module__ == "cupy" and np.array_equal(B.to_numpy(win), want)
    cols = b.asarray(rng.standard_normal((3, 2, 4, 3, 3, 2)).astype(np.float32))
    with b.device_scope():
        folded = B.fold_windows(cols, (6, 7), (2, 2), (1, 3), (1, 0))      # fold_by_slices on CuPy
    assert np.allclose(B.to_numpy(folded), B.fold_windows(B.to_numpy(cols), (6, 7), (2, 2), (1, 3), (1, 0)))
    with b.device_scope():
        target = b.asarray(np.zeros((4, 2), np.float32))
        b.index_add(target, b.asarray(np.array([0, 2, 0])), b.asarray(np.ones((3, 2), np.float32)))  # scatter_add
    assert np.array_equal(B.to_numpy(target), [[2, 2], [0, 0], [1, 1], [0, 0]])
    with b.device_scope():
        c = b.asarray(np.array([-2.0, 0.5, 3.0]))
    b.clip_(c, -1.0, 1.0)                                                  # clip(out=)
    assert np.array_equal(B.to_numpy(c), [-1.0, 0.5, 1.0])
    tg.manual_seed(3)
    u, z = b.uniform((5,), "float32"), b.normal((5,), "float64")
    tg.manual_seed(3)
    assert np.array_equal(B.to_numpy(u), B.NUMPY.uniform((5,), "float32"))
    assert z.dtype == np.float64 and z.device.id == 1
    state = b.rng_state()
    first = B.to_numpy(b.uniform((4,), "float32", -2.0, 2.0))
    b.set_rng_state(state)
    assert np.array_equal(B.to_numpy(b.uniform((4,), "float32", -2.0, 2.0)), first) and first.min() >= -2.0
    assert b.asarray(u, "float64").dtype == np.float64 and b.asarray([1.0, 2.0]).device.id == 1


@pytest.mark.parametrize("device", ["cpu", "cuda:1"])
def test_training_reads_the_loss_back_only_when_it_logs(device, cp, tmp_path, monkeypatch):
    reads = []
    real = loop_mod._read_back
    monkeypatch.setattr(loop_mod, "_read_back", lambda pending, w: reads.append(len(pending)) or real(pending, w))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 1, 8, 8)).astype(np.float32)
    if device != "cpu":
        with cp.cuda.Device(1):
            x = cp.asarray(x)                                              # raw CuPy arrays are accepted
    model = build_model("wgan-gp", data_shape=(1, 8, 8), width=4, latent_dim=3)    # conv nets
    res = train_mod.train(model, (x,), steps=10, batch_size=16, out_dir=tmp_path, device=device, log_every=5,
                   checkpoint_every=10, eval_every=10, sample_every=10, pictures=False, heldout=False)
    assert res.step == 10 and np.isfinite(res.logs["d_loss"])
    assert reads == ([1] * 10 if device == "cpu" else [5, 5])
    assert all(B.device_of(p.data) == device for p in model.parameters())


@pytest.mark.parametrize("kind", ["gan", "wgan-gp", "vae", "ae"])
def test_a_training_step_on_the_gpu_does_not_wait_for_the_host(kind, cp):
    """No copy to the host inside train_step after the first call (the GAN's n_critic count is kept on the
    host too; the losses come back as 0-d device tensors)."""
    extra = {"clusters": 3} if kind == "gan" else {}                     # the GAN's codes run on the device too
    model = build_model(kind, data_shape=(1, 8, 8), width=4, latent_dim=3, **extra).to("cuda:1")
    opts = model.make_optimizers()
    lo = -1.0 if kind != "vae" else 0.0
    host = np.random.default_rng(0).uniform(lo, 1, (8, 1, 8, 8)).astype(np.float32)
    model.fit_data(host)
    x = tg.tensor(host, device="cuda:1")
    model.train_step(x, None, opts)
    before = fake_cupy.host_reads
    for _ in range(6):
        logs = model.train_step(x, None, opts)
    assert fake_cupy.host_reads == before
    assert all(B.device_of(v.data) == "cuda:1" for v in logs.values()) and np.isfinite(float(logs[next(iter(logs))]))
