"""Backends and devices: the NumPy/CuPy boundary, device errors, the strict stand-in, seeds."""
import ast
import pathlib

import numpy as np
import pytest

import tinygen as tg
from tinygen import backend
from tinygen.backend import use_array_api_strict

PKG = pathlib.Path(tg.__file__).parent


def test_cuda_without_cupy_or_gpu_is_one_clear_sentence():
    if backend.cuda_available():
        pytest.skip("this machine has a GPU")
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: tg.ones(2).to("cuda"),
                 lambda: tg.set_default_device("cuda:0"), lambda: backend.get_backend("cuda")):
        with pytest.raises(tg.DeviceError) as e:
            make()
        msg = str(e.value)
        assert "cuda" in msg and ("pip install tinygen[gpu]" in msg or "no GPU" in msg)
        assert msg.count("\n") == 0
    assert backend.get_default_device() == "cpu"


def test_unknown_device_names():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.zeros(2, device="tpu")
    assert backend.normalize_device("cuda") == "cuda:0"
    assert backend.normalize_device("CPU") == "cpu"


def test_mixing_array_libraries_in_one_op_is_a_device_error():
    a = tg.ones(3)
    with use_array_api_strict():
        b = tg.ones(3)
        assert type(b.data).__module__.startswith("array_api_strict")
        with pytest.raises(tg.DeviceError, match="add"):
            a + b
        with pytest.raises(tg.DeviceError):
            tg.stack([a, b])


def test_strict_backend_computes_the_same_numbers():
    tg.manual_seed(3)
    x = tg.randn(4, 5, dtype="float64")
    w = tg.randn(5, 2, dtype="float64")
    ref = (x @ w).tanh().sum(axis=0).numpy()
    with use_array_api_strict():
        xs, ws = tg.tensor(x.numpy()), tg.tensor(w.numpy())
        out = (xs @ ws).tanh().sum(axis=0)
        assert type(out.data).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)


def test_manual_seed_gives_the_same_numbers_on_both_cpu_namespaces():
    tg.manual_seed(7)
    a = tg.randn(6).numpy()
    with use_array_api_strict():
        tg.manual_seed(7)
        b = tg.randn(6).numpy()
    np.testing.assert_array_equal(a, b)


def test_rng_state_round_trip():
    be = backend.get_backend("cpu")
    state = be.rng_state()
    a = tg.randn(4).numpy()
    be.set_rng_state(state)
    np.testing.assert_array_equal(a, tg.randn(4).numpy())


def test_dtype_names():
    assert tg.float32 == "float32" and repr(tg.float32) == "tinygen.float32"
    assert tg.zeros(1, dtype=tg.float64).dtype == tg.float64
    with pytest.raises(TypeError, match="unknown dtype"):
        tg.zeros(1, dtype="float99")


def _imports(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


COMPUTE_MODULES = ["autograd.py", "ops", "functional.py", "nn", "optim.py", "models"]


@pytest.mark.parametrize("where", COMPUTE_MODULES)
def test_only_backend_imports_numpy_or_cupy_in_the_compute_path(where):
    paths = [PKG / where] if where.endswith(".py") else sorted((PKG / where).glob("*.py"))
    for p in paths:
        if p.exists():
            bad = _imports(p) & {"numpy", "cupy", "cupyx"}
            assert not bad, f"{p.relative_to(PKG)} imports {bad}: compute through the backend's namespace"
