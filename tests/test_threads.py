"""tinygen's thread policy (tinygen._threads): fixed counts reach the BLAS pool, "auto" follows the load."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

import tinygen as tg
from tinygen import _threads


def blas_threads():
    np.ones((2, 2)) @ np.ones((2, 2))
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def restore():
    fixed, current = _threads._fixed, _threads._current
    yield
    tg.set_num_threads(fixed if fixed is not None else "auto")
    _threads._current = current


def test_a_fixed_count_reaches_the_blas_pool_and_the_optimizer_blocks(restore):
    tg.set_num_threads(1)
    assert tg.get_num_threads() == 1 and blas_threads() == {1}
    tg.set_num_threads(3)
    assert tg.get_num_threads() == 3 and blas_threads() == {3}


def test_a_blas_loaded_after_the_first_scan_follows_the_count_too(restore, monkeypatch):
    """numba, for one, loads SciPy's OpenBLAS (its own thread pool) after tinygen has set NumPy's."""
    tg.set_num_threads(1)
    first = _threads._controller
    tg.set_num_threads(2)
    assert _threads._controller is first                  # nothing new loaded: the scan is reused
    monkeypatch.setattr(_threads, "_loaded_libraries", lambda: _threads._libraries + 1)
    tg.set_num_threads(1)
    assert _threads._controller is not first and blas_threads() == {1}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "two"])
def test_bad_counts_are_refused(bad, restore):
    with pytest.raises(ValueError, match="positive int or 'auto'"):
        tg.set_num_threads(bad)


def test_auto_uses_the_cores_that_other_processes_leave_free(restore, monkeypatch):
    others = iter([2, 0, 2, 2, 0, 0, 0])
    monkeypatch.setattr(_threads, "_others_running", lambda: next(others))
    monkeypatch.setattr(_threads, "_PROC", True)
    monkeypatch.setattr(_threads, "CORES", 2)
    monkeypatch.setattr(_threads, "PROBE_EVERY", 0.0)
    tg.set_num_threads("auto")                       # probe 1: [2] -> 1 thread
    assert tg.get_num_threads() == 1 and blas_threads() == {1}
    seen = []
    for _ in range(6):                               # the median of the last three probes decides
        _threads.adapt()
        seen.append(tg.get_num_threads())
    assert seen == [1, 1, 1, 1, 2, 2] and blas_threads() == {2}


def test_a_fixed_count_is_not_adapted(restore, monkeypatch):
    monkeypatch.setattr(_threads, "_others_running", lambda: 10)
    monkeypatch.setattr(_threads, "PROBE_EVERY", 0.0)
    tg.set_num_threads(2)
    _threads.adapt()
    assert tg.get_num_threads() == 2


def test_the_optimizer_step_probes_the_load(restore, monkeypatch):
    calls = []
    monkeypatch.setattr(_threads, "adapt", lambda: calls.append(1))
    p = tg.zeros(3, requires_grad=True)
    p.grad = tg.ones(3)
    tg.optim.SGD([p], lr=0.1).step()
    assert calls == [1]


def test_the_train_command_takes_a_thread_count():
    from tinygen.cli import build_parser
    p = build_parser()
    assert p.parse_args(["train", "vae", "--threads", "2"]).threads == 2
    assert p.parse_args(["train", "vae", "--threads", "auto"]).threads == "auto"
    assert p.parse_args(["train", "vae"]).threads is None          # auto, or the environment's setting
    with pytest.raises(SystemExit):
        p.parse_args(["train", "vae", "--threads", "0"])
