"""tinygen/backend/fused.py: the one-pass Adam and RMSprop updates give the NumPy passes' result bit for bit,
are taken when they should be (and only then), and their absence or a switch-off changes nothing but speed."""
import builtins
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen import optim
from tinygen.backend import fused

numba = pytest.importorskip("numba", reason="the fused updates need numba (pip install tinygen[fast])")


@pytest.fixture(scope="module")
def built():
    """The compiled loops, whatever TINYGEN_FUSED says; the module's state is left as it was, so the rest of
    the suite still runs the optimizers the way the environment chose (by default: the NumPy passes)."""
    saved = fused._mode, fused._left, fused._kernels, fused.why_not
    k = fused._kernels or fused._build()
    assert k, fused.why_not
    yield k
    fused._mode, fused._left, fused._kernels, fused.why_not = saved


@pytest.fixture
def use(monkeypatch, built):
    """use(True | False): the optimizers take the fused loops, or the NumPy passes; returns a fresh count of
    the loops' calls."""
    def set_(on):
        calls = {"adam": 0, "rmsprop": 0}

        def counting(name):
            def run(*args):
                calls[name] += 1
                return built[name](*args)
            return run
        monkeypatch.setattr(fused, "_mode", "on" if on else "off")
        monkeypatch.setattr(fused, "_kernels", {n: counting(n) for n in built} if on else False)
        return calls
    return set_


def train(cls, kw, params, grads, dtype):
    """``len(grads)`` steps of ``cls`` from ``params`` with the gradients set by hand: (params, state) as arrays."""
    ps = [tg.tensor(p.astype(dtype), requires_grad=True) for p in params]
    opt = cls(ps, **kw)
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = tg.tensor(g.astype(dtype))
        with np.errstate(all="ignore"):          # g = 3e38 overflows g² (to inf, in both)
            opt.step()
    state = [v.data for p in ps for v in opt.state[p].values() if isinstance(v, tg.Tensor)]
    return [p.data for p in ps] + state


def same_bits(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True), np.max(np.abs(x.astype(np.float64) - y))


OPTIMIZERS = [
    (optim.Adam, dict(lr=1e-3)),                                     # lerp weight 0.1: m + (g - m) w
    (optim.Adam, dict(lr=2e-4, betas=(0.5, 0.999))),                 # weight 0.5: g + (m - g)(1 - w)
    (optim.Adam, dict(lr=1e-4, betas=(0.0, 0.9), weight_decay=0.1)),  # WGAN-GP's betas, coupled decay
    (optim.AdamW, dict(lr=1e-2, maximize=True)),
    (optim.RMSprop, dict(lr=5e-5)),                                  # the WGAN paper's
    (optim.RMSprop, dict(lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=0.01)),
]

finite = st.floats(-1e3, 1e3, width=32)
extreme = st.one_of(finite, st.sampled_from([0.0, -0.0, 1e-30, -1e-38, 1e-45, 3e38, -3e38]))


@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
@given(dtype=st.sampled_from(["float32", "float64"]), data=st.data())
def test_fused_update_equals_the_numpy_passes_bit_for_bit(use, cls, kw, dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9), label="shape")
    draw = lambda label, elements: data.draw(hnp.arrays(np.float32, shape, elements=elements), label=label)
    params = [draw("p", finite), np.linspace(-1, 1, 37).astype(np.float32)]
    grads = [[draw(f"g{i}", extreme), np.full(37, [1e-3, 5.0, 0.0][i], np.float32)] for i in range(3)]
    use(False)
    passes = train(cls, kw, params, grads, dtype)
    calls = use(True)
    loop = train(cls, kw, params, grads, dtype)
    same_bits(loop, passes)
    assert sum(calls.values()) == 6            # two parameters, three steps: every update took the loop


def test_an_autoencoder_and_a_clipped_critic_train_bit_identically(use):
    """Ten steps of an MLP autoencoder under Adam and of a WGAN critic under RMSprop with the clip."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.random((16, 784), dtype=np.float32))

    def run(on):
        calls = use(on)
        tg.manual_seed(0)
        net = tg.nn.Sequential(tg.nn.Linear(784, 64), tg.nn.ReLU(), tg.nn.Linear(64, 784))
        opt_a = optim.Adam(net.parameters(), lr=1e-3)
        critic = tg.nn.Sequential(tg.nn.Linear(784, 32), tg.nn.LeakyReLU(0.2), tg.nn.Linear(32, 1))
        opt_r = optim.RMSprop(critic.parameters(), lr=5e-5)
        for _ in range(10):
            opt_a.zero_grad()
            tg.functional.binary_cross_entropy_with_logits(net(x), x, reduction="sum").backward()
            opt_a.step()
            opt_r.zero_grad()
            (-critic(x).mean()).backward()
            opt_r.step()
            optim.clip_weights_(critic.parameters(), 0.01)
        return [p.data for p in list(net.parameters()) + list(critic.parameters())], calls

    passes, c0 = run(False)
    loop, c1 = run(True)
    same_bits(loop, passes)
    assert c0 == {"adam": 0, "rmsprop": 0} and c1 == {"adam": 40, "rmsprop": 40}


def test_arrays_the_loop_does_not_cover_take_the_numpy_passes(use):
    calls = use(True)
    f32 = np.float32
    p, g, m, v = (np.ones(6, f32) for _ in range(4))
    args = (0.1, 0.999, 0.5, 1e-8, 1e-3)
    assert fused.adam_(p, g, m, v, *args)
    assert not fused.adam_(np.ones((4, 6), f32)[:, ::2], g[:3].reshape(1, 3).repeat(4, 0), np.ones((4, 3), f32),
                           np.ones((4, 3), f32), *args)                     # a strided parameter
    ro = np.ones(6, f32)
    ro.flags.writeable = False
    assert not fused.adam_(ro, g, m, v, *args)                              # a read-only one
    assert not fused.adam_(p, m, m, v, *args)                               # the gradient IS the state
    assert not fused.adam_(p, g.astype(np.float64), m, v, *args)            # mixed dtypes
    assert not fused.adam_(p.astype(np.float16), *(a.astype(np.float16) for a in (g, m, v)), *args)
    assert not fused.rmsprop_(p, np.ones(5, f32), v, 0.99, 1e-8, 1e-2)      # shapes differ
    assert calls == {"adam": 1, "rmsprop": 0}


def test_rmsprop_with_momentum_or_centered_and_amsgrad_keep_the_numpy_passes(use):
    calls = use(True)
    for cls, kw in [(optim.RMSprop, dict(momentum=0.9)), (optim.RMSprop, dict(centered=True)),
                    (optim.Adam, dict(amsgrad=True))]:
        p = tg.ones(5, requires_grad=True)
        p.grad = tg.ones(5)
        cls([p], **kw).step()
    assert calls == {"adam": 0, "rmsprop": 0}


def test_auto_builds_the_loops_only_after_enough_values(monkeypatch, built):
    monkeypatch.setattr(fused, "_mode", "auto")
    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setattr(fused, "_left", 100)
    monkeypatch.setattr(fused, "_build", lambda: built)
    p = tg.zeros(40, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    for step in range(1, 5):
        p.grad = tg.ones(40)
        opt.step()
        assert (fused._kernels is None) == (step < 3), step       # 40 + 40 + 40 > 100 values: built at step 3
    assert fused._kernels is built


def test_without_numba_or_switched_off_the_optimizers_still_train(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)               # import numba -> ModuleNotFoundError
    monkeypatch.setattr(fused, "_mode", "on")
    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setattr(fused, "why_not", None)
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.grad = tg.tensor([1.0, -1.0])
    optim.Adam([p], lr=0.1).step()
    assert np.allclose(p.data, [0.9, 2.1])
    assert fused.kernels() is None and "pip install tinygen[fast]" in fused.why_not

    monkeypatch.setattr(fused, "_mode", None)
    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setenv("TINYGEN_FUSED", "0")
    assert fused.kernels() is None and "TINYGEN_FUSED=0" in fused.why_not


def test_info_says_whether_the_fused_updates_run(capsys, monkeypatch):
    from tinygen.cli import main
    for mode, says in [("auto", "after the first 50,000,000 values"), ("on", "from the first update"),
                       ("off", "off: switched off by TINYGEN_FUSED=0")]:
        monkeypatch.setattr(fused, "_mode", mode)
        monkeypatch.setattr(fused, "_kernels", None)
        assert main(["info"]) == 0
        line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("fused optimizer updates:")]
        assert len(line) == 1 and says in line[0], line
    monkeypatch.setattr(fused, "_mode", "on")
    monkeypatch.setitem(sys.modules, "numba", None)
    assert fused.status() == "off: numba is not installed (pip install tinygen[fast])"
    broken = ModuleNotFoundError("No module named 'llvmlite'", name="llvmlite")    # numba there, its LLVM not

    def failing_import(name, *args, **kwargs):
        if name == "numba":
            raise broken
        return real_import(name, *args, **kwargs)
    real_import = builtins.__import__
    monkeypatch.setattr("builtins.__import__", failing_import)
    assert fused.status() == "off: numba does not import (ModuleNotFoundError: No module named 'llvmlite')"
