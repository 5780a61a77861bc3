"""tinygen.optim: every update rule against three steps computed by hand in NumPy from its docstring's formula,
on NumPy and on array_api_strict arrays; against torch.optim where torch is installed; state dicts, clipping,
schedulers and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen import _blockwise, _threads, optim
from tinygen.backend import to_numpy
from tinygen.serialization import load, save

try:
    import torch
except ImportError:  # the torch cross-checks are optional
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

SHAPES = [(3, 4), (5,)]
SCALES = [1.0, 0.02, 0.3]  # gradient size per step: step 2's small gradient makes v shrink (AMSGrad matters)


def problem(shapes=SHAPES, seed=0, dtype="float64"):
    """Initial params and three steps of fixed gradients, as host arrays."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[(s * rng.standard_normal(shape)).astype(dtype) for shape in shapes] for s in SCALES]
    return params, grads


def run(cls, kw, params, grads, groups=None):
    """Three ``step()``s of ``cls`` with the given gradients set by hand; returns (params as host arrays, opt)."""
    ps = [tg.tensor(p, requires_grad=True) for p in params]
    opt = cls(ps if groups is None else [dict(g, params=[ps[i] for i in g["params"]]) for g in groups], **kw)
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = tg.tensor(g)
        opt.step()
    return [to_numpy(p.data) for p in ps], opt, ps


# --- the formulas of the docstrings, written the textbook way in plain NumPy ----------------------------------
def ref_sgd(p, gs, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False,
            zero_init=False):
    b = np.zeros_like(p) if zero_init else None      # zero_init: a planted bug (the buffer must start at g1)
    for g in gs:
        g = (-g if maximize else g) + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def ref_rmsprop(p, gs, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                eps_inside=False):
    v, mbar, b = 0.0, 0.0, 0.0
    for g in gs:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        mbar = alpha * mbar + (1 - alpha) * g
        var = v - mbar ** 2 if centered else v
        s = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps   # eps_inside: TensorFlow's, a planted bug
        if momentum > 0:
            b = momentum * b + g / s
            p = p - lr * b
        else:
            p = p - lr * g / s
    return p


def ref_adam(p, gs, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
             decoupled=False, eps_before_correction=False):
    b1, b2 = betas
    m, v, vmax = 0.0, 0.0, 0.0
    for t, g in enumerate(gs, 1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat, v_hat = m / (1 - b1 ** t), (vmax if amsgrad else v) / (1 - b2 ** t)
        e = eps * math.sqrt(1 - b2 ** t) if eps_before_correction else eps   # the paper's "efficient" variant
        p = p - lr * m_hat / (np.sqrt(v_hat) + e)
    return p


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.5),
             dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
             dict(lr=0.1, weight_decay=0.1, maximize=True),
             dict(lr=0.05, momentum=0.5, dampening=0.2, weight_decay=0.05, maximize=True)]
RMS_CASES = [dict(), dict(lr=0.01, eps=0.1), dict(lr=0.01, centered=True, eps=0.05), dict(lr=0.01, momentum=0.9),
             dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1), dict(lr=5e-5)]
ADAM_CASES = [dict(), dict(lr=0.1, eps=0.1), dict(lr=0.1, amsgrad=True), dict(lr=0.1, weight_decay=0.1),
              dict(lr=1e-4, betas=(0.0, 0.9)), dict(lr=0.1, maximize=True),
              dict(lr=0.1, betas=(0.5, 0.99), amsgrad=True, weight_decay=0.1, eps=0.1)]
ADAMW_CASES = [dict(lr=0.1), dict(lr=0.1, weight_decay=0.5, amsgrad=True, eps=0.1)]
CASES = ([(optim.SGD, kw, ref_sgd) for kw in SGD_CASES] + [(optim.RMSprop, kw, ref_rmsprop) for kw in RMS_CASES]
         + [(optim.Adam, kw, ref_adam) for kw in ADAM_CASES]
         + [(optim.AdamW, kw, lambda p, gs, **k: ref_adam(p, gs, **{"weight_decay": 1e-2, **k}, decoupled=True))
            for kw in ADAMW_CASES])
IDS = [f"{c.__name__}-{','.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for c, kw, _ in CASES]


@pytest.mark.parametrize("cls, kw, ref", CASES, ids=IDS)
def test_three_steps_match_the_docstring_formula(cls, kw, ref, backend):
    params, grads = problem()
    got, _, ps = run(cls, kw, params, grads)
    for i, (p0, p) in enumerate(zip(params, got)):
        want = ref(p0, [step[i] for step in grads], **kw)
        np.testing.assert_allclose(p, want, rtol=1e-6, atol=1e-12)
        assert not np.allclose(p, p0)
    assert all(tg.backend.backend_of(p.data) is backend for p in ps)


@pytest.mark.parametrize("plant", ["sgd buffer starts at 0", "rmsprop eps inside sqrt",
                                   "adam eps before bias correction", "adam without amsgrad"])
def test_the_references_catch_planted_variants(plant):
    """Each reference reproduces the PyTorch choice and not its common alternative, on the same data."""
    params, grads = problem()
    p0, gs = params[0], [s[0] for s in grads]
    cls, kw, good, bad = {
        "sgd buffer starts at 0": (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5), ref_sgd,
                                   dict(zero_init=True)),
        "rmsprop eps inside sqrt": (optim.RMSprop, dict(lr=0.01, eps=0.1), ref_rmsprop, dict(eps_inside=True)),
        "adam eps before bias correction": (optim.Adam, dict(lr=0.1, eps=0.1), ref_adam,
                                            dict(eps_before_correction=True)),
        "adam without amsgrad": (optim.Adam, dict(lr=0.1, amsgrad=True), ref_adam, dict(amsgrad=False)),
    }[plant]
    got = run(cls, kw, params, grads)[0][0]
    np.testing.assert_allclose(got, good(p0, gs, **kw), rtol=1e-6)
    assert not np.allclose(got, good(p0, gs, **{**kw, **bad}), rtol=1e-4, atol=0)


def test_adam_with_beta1_zero_keeps_exactly_the_last_gradient(backend):
    """WGAN-GP's Adam(betas=(0, 0.9)): m = g bit for bit, as PyTorch's lerp gives (m + 1 (g - m) would not)."""
    params, grads = problem(shapes=[(50, 40)], dtype="float32")
    p = tg.tensor(params[0], requires_grad=True)
    opt = optim.Adam([p], lr=1e-4, betas=(0.0, 0.9))
    for step in grads:
        p.grad = tg.tensor(step[0])
        opt.step()
        assert np.array_equal(to_numpy(opt.state[p]["exp_avg"].data), step[0])


def test_param_groups_have_their_own_hyper_parameters(backend):
    params, grads = problem()
    groups = [{"params": [0], "lr": 0.1, "momentum": 0.9}, {"params": [1], "lr": 0.01}]
    got, opt, _ = run(optim.SGD, dict(lr=0.5), params, grads, groups=groups)
    np.testing.assert_allclose(got[0], ref_sgd(params[0], [s[0] for s in grads], lr=0.1, momentum=0.9), rtol=1e-6)
    np.testing.assert_allclose(got[1], ref_sgd(params[1], [s[1] for s in grads], lr=0.01), rtol=1e-6)
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.0]


def test_add_param_group_takes_defaults_and_refuses_duplicates():
    a, b = tg.randn(3, requires_grad=True), tg.randn(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.5, 0.9))
    opt.add_param_group({"params": b, "lr": 0.2})
    assert opt.param_groups[1]["lr"] == 0.2 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="twice"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="betas"):
        opt.add_param_group({"params": [tg.randn(2, requires_grad=True)], "betas": (1.0, 0.9)})


def test_params_without_grad_are_skipped(backend):
    a, b = tg.randn(3, requires_grad=True), tg.randn(2, requires_grad=True)
    before = to_numpy(b.data).copy()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.ones(3)
    opt.step()
    assert np.array_equal(to_numpy(b.data), before) and b not in opt.state and opt.state[a]["step"] == 1


def threads_(monkeypatch, n):
    """tinygen's thread count fixed at ``n`` for the optimizers' blocks (the BLAS pool left alone)."""
    monkeypatch.setattr(_threads, "_fixed", n)
    monkeypatch.setattr(_threads, "_current", n)


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                                     (optim.RMSprop, dict(centered=True, momentum=0.5, weight_decay=0.1)),
                                     (optim.Adam, dict(amsgrad=True, weight_decay=0.1)), (optim.AdamW, {})])
def test_float32_stays_float32(cls, kw, backend):
    params, grads = problem(dtype="float32")
    kw = {k: (np.float64(v) if isinstance(v, float) else v) for k, v in kw.items()}  # NumPy scalars upcast
    got, opt, ps = run(cls, {"lr": np.float64(0.01), **kw}, params, grads)
    assert all(p.dtype == "float32" for p in ps)
    assert all(v.dtype == "float32" for st in opt.state.values() for v in st.values() if isinstance(v, tg.Tensor))
    params64 = [p.astype("float64") for p in params]
    want = run(cls, {"lr": 0.01, **kw}, params64, [[g.astype("float64") for g in s] for s in grads])[0]
    for p, w in zip(got, want):
        np.testing.assert_allclose(p, w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                                     (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
                                     (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5, eps=0.1)),
                                     (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1, eps=0.1)),
                                     (optim.Adam, dict(lr=0.01, betas=(0.0, 0.9)))])
def test_large_params_updated_block_by_block_give_the_same_numbers(cls, kw, backend, monkeypatch):
    params, grads = problem(shapes=[(300, 500), (7, 100, 200), (150000,)], dtype="float32")
    threads_(monkeypatch, 3)           # blocks shared by three threads
    threaded = run(cls, kw, params, grads)[0]
    threads_(monkeypatch, 2)
    monkeypatch.setattr(_blockwise, "BLOCK", 1000)       # many small blocks, two threads
    blocked = run(cls, kw, params, grads)[0]
    threads_(monkeypatch, 1)           # one thread: whole arrays
    whole = run(cls, kw, params, grads)[0]
    for a, b, c in zip(threaded, blocked, whole):
        assert np.array_equal(a, b) and np.array_equal(b, c)


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_blocks_are_equal_shares_and_cover_every_row(threads, monkeypatch):
    threads_(monkeypatch, threads)
    a = np.arange(1000 * 300, dtype=np.float32).reshape(1000, 300)
    blks = [b for b, in _blockwise.blocks(a)]
    if threads == 1:
        assert len(blks) == 1 and blks[0] is a
        return
    assert len(blks) % threads == 0 and max(b.size for b in blks) <= _blockwise.BLOCK * 1.01
    assert np.array_equal(np.concatenate(blks), a) and all(np.shares_memory(b, a) for b in blks)
    shares = _blockwise._shares([(b,) for b in blks] + [(np.zeros(7),)], threads)
    loads = [sum(it[0].size for it in s) for s in shares]
    assert max(loads) - min(loads) <= max(b.size for b in blks)


def test_weight_clip_of_a_large_parameter_in_place():
    w = tg.randn(600, 500) * 0.05
    ref = np.clip(w.numpy(), -0.01, 0.01)
    optim.clip_weights_([w], 0.01)
    assert np.array_equal(w.numpy(), ref)


def test_zero_grad(backend):
    a = tg.randn(3, 2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    (a * 2.0).sum().backward()          # a.grad may be a read-only broadcast view: zeroing must not write to it
    opt.zero_grad(set_to_none=False)
    assert a.grad.shape == (3, 2) and a.grad.dtype == "float32" and not np.any(to_numpy(a.grad.data))
    opt.zero_grad()
    assert a.grad is None


def test_step_records_no_graph_and_runs_the_closure_with_grad_on():
    a = tg.randn(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    seen = []

    def closure():
        seen.append(tg.is_grad_enabled())
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert seen == [True] and float(loss) > 0 and a.is_leaf and a.requires_grad and a.grad_fn is None


def test_a_zero_d_param_holding_an_immutable_numpy_scalar_is_updated():
    a = (tg.tensor(2.0) * 1.0).detach().requires_grad_()  # 0-d op results are NumPy scalars, not arrays
    opt = optim.SGD([a], lr=0.5)
    a.grad = tg.tensor(1.0)
    opt.step()
    assert float(a) == 1.5


def test_gradients_of_the_wrong_shape_or_dtype_are_refused():
    a = tg.randn(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    a.grad = tg.ones(1)
    with pytest.raises(tg.ShapeError, match="shape"):
        opt.step()
    a.grad = tg.ones(3, dtype="float64")
    with pytest.raises(TypeError, match="float64 gradient for a float32 parameter"):
        opt.step()


BAD = [(optim.SGD, dict(lr=-0.1)), (optim.SGD, dict(lr=float("nan"))), (optim.SGD, dict(lr=0.1, momentum=-1)),
       (optim.SGD, dict(lr=0.1, weight_decay=-1)), (optim.SGD, dict(lr=0.1, nesterov=True)),
       (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)), (optim.SGD, {}),
       (optim.RMSprop, dict(lr=-1)), (optim.RMSprop, dict(alpha=1.5)), (optim.RMSprop, dict(eps=-1e-8)),
       (optim.RMSprop, dict(momentum=-0.1)), (optim.Adam, dict(lr=-1e-3)), (optim.Adam, dict(betas=(1.0, 0.9))),
       (optim.Adam, dict(betas=(0.9, -0.1))), (optim.Adam, dict(betas=(0.9,))), (optim.Adam, dict(eps=-1.0)),
       (optim.Adam, dict(weight_decay=-1.0)), (optim.AdamW, dict(betas=(0.9, 1.0)))]


@pytest.mark.parametrize("cls, kw", BAD, ids=[f"{c.__name__}-{kw}" for c, kw in BAD])
def test_bad_hyper_parameters_raise_one_sentence(cls, kw):
    with pytest.raises(ValueError) as e:
        cls([tg.randn(2, requires_grad=True)], **kw)
    msg = str(e.value)
    assert cls.__name__ in msg and "\n" not in msg and len(msg) < 120


def test_bad_params_are_refused():
    a = tg.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(TypeError, match="Tensor"):
        optim.Adam(a)
    with pytest.raises(TypeError, match="set"):
        optim.Adam({a})
    with pytest.raises(ValueError, match="twice"):
        optim.Adam([a, a])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([a * 2])
    with pytest.raises(TypeError, match="ndarray"):
        optim.Adam([np.zeros(2)])


# --- state dicts ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     (optim.RMSprop, dict(centered=True, momentum=0.5)),
                                     (optim.Adam, dict(lr=0.1, amsgrad=True)), (optim.AdamW, dict(lr=0.1))])
def test_state_dict_round_trip_mid_training_gives_identical_steps(cls, kw, backend, tmp_path):
    params, grads = problem(dtype="float32")
    more = problem(seed=1, dtype="float32")[1]
    got, a, ps = run(cls, kw, params, grads)
    sd = a.state_dict()
    assert sorted(sd["state"]) == [0, 1] and [g["params"] for g in sd["param_groups"]] == [[0, 1]]
    save(sd, tmp_path / "opt.ckpt")     # through a checkpoint file: int keys, tuples (betas) and Tensors survive
    loaded = load(tmp_path / "opt.ckpt")
    qs = [tg.tensor(p, requires_grad=True) for p in got]
    b = cls(qs, **{**kw, "lr": 123.0})
    b.load_state_dict(loaded)
    assert b.param_groups[0]["lr"] == a.param_groups[0]["lr"]
    for step in more:
        for p, q, g in zip(ps, qs, step):
            p.grad, q.grad = tg.tensor(g), tg.tensor(g)
        a.step()
        b.step()
    for p, q in zip(ps, qs):
        assert np.array_equal(to_numpy(p.data), to_numpy(q.data))
    # the state dict taken earlier is a snapshot: the steps since did not change it
    again = cls([tg.tensor(p, requires_grad=True) for p in got], **kw)
    again.load_state_dict(sd)
    assert all(np.array_equal(to_numpy(again.state[again.param_groups[0]["params"][0]][k].data),
                              to_numpy(loaded["state"][0][k].data)) for k in loaded["state"][0] if k != "step")


def test_load_state_dict_lists_what_does_not_match():
    a = optim.Adam([tg.randn(3, requires_grad=True), tg.randn(2, requires_grad=True)])
    for p in _params(a):
        p.grad = tg.ones(*p.shape)
    a.step()
    sd = a.state_dict()
    with pytest.raises(ValueError, match="1 parameter group"):
        optim.Adam([{"params": [tg.randn(3, requires_grad=True)]},
                    {"params": [tg.randn(2, requires_grad=True)]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameters in the state dict but 1"):
        optim.Adam([tg.randn(3, requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(2,\) but the parameter has "
                                         r"shape \(4,\)"):
        optim.Adam([tg.randn(3, requires_grad=True), tg.randn(4, requires_grad=True)]).load_state_dict(sd)


def _params(opt):
    return [p for g in opt.param_groups for p in g["params"]]


# --- clipping -------------------------------------------------------------------------------------------------
@given(x=hnp.arrays(st.sampled_from(["float32", "float64"]), hnp.array_shapes(min_dims=0, max_dims=3),
                    elements=st.floats(-1e6, 1e6, width=32)),
       c=st.floats(0, 10, width=32))
def test_clip_weights_bounds_every_value_in_place(backend, x, c):
    p = tg.tensor(x, requires_grad=True)
    data = p.data
    optim.clip_weights_([p], c)
    got = to_numpy(p.data)
    assert p.data is data and got.dtype == x.dtype
    assert np.all(np.abs(got) <= c)
    inside = np.abs(x) <= c
    assert np.array_equal(got[inside], x[inside]) and np.all(np.abs(got[~inside]) == x.dtype.type(c))


def test_clip_weights_refuses_a_negative_c():
    with pytest.raises(ValueError, match="c must be >= 0"):
        optim.clip_weights_([tg.randn(2, requires_grad=True)], -0.01)


@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.5, float("inf")), (1.0, 1.0)])
def test_clip_grad_norm_against_numpy(backend, max_norm, norm_type):
    params, grads = problem()
    ps = [tg.tensor(p, requires_grad=True) for p in params]
    for p, g in zip(ps, grads[0]):
        p.grad = tg.tensor(g)
    total = optim.clip_grad_norm_(ps, max_norm, norm_type)
    flat = np.concatenate([g.ravel() for g in grads[0]])
    want = np.linalg.norm(flat, ord=norm_type)
    np.testing.assert_allclose(float(total), want, rtol=1e-12)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g in zip(ps, grads[0]):
        np.testing.assert_allclose(to_numpy(p.grad.data), g * coef, rtol=1e-12)


def test_clip_grad_norm_without_grads_and_with_nonfinite():
    assert float(optim.clip_grad_norm_([tg.randn(3, requires_grad=True)], 1.0)) == 0.0
    a = tg.randn(3, requires_grad=True)
    a.grad = tg.tensor([1.0, float("inf"), 0.0])
    with pytest.raises(RuntimeError, match="inf"):
        optim.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


# --- schedulers -----------------------------------------------------------------------------------------------
def test_schedulers_follow_the_chainable_rule():
    a = tg.randn(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    s = optim.StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(7):
        s.step()
        lrs.append(s.get_last_lr()[0])
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]
    e = optim.ExponentialLR(optim.SGD([a], lr=1.0), gamma=0.5)
    e.step()
    e.step()
    assert e.get_last_lr() == [0.25]
    f = optim.ExponentialLR(optim.SGD([a], lr=1.0), gamma=0.5)
    f.load_state_dict(e.state_dict())
    assert f.last_epoch == 2


# --- against PyTorch, number for number -----------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls, kw, _", CASES, ids=IDS)
def test_three_steps_match_torch(cls, kw, _, dtype):
    params, grads = problem(dtype=dtype)
    got, opt, ps = run(cls, kw, params, grads)
    tps = [torch.tensor(p, requires_grad=True) for p in params]
    topt = getattr(torch.optim, cls.__name__)(tps, **({"lr": 1e-3} if cls is optim.SGD else {}) | kw)
    for step in grads:
        for p, g in zip(tps, step):
            p.grad = torch.tensor(g)
        topt.step()
    # float32: within a few units in the last place (PyTorch fuses multiply-adds, NumPy rounds each operation)
    rtol = 1e-12 if dtype == "float64" else 1e-6

    def close(mine, theirs):
        theirs = theirs.detach().numpy()
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())

    for p, tp, q in zip(got, tps, ps):
        assert p.dtype == dtype
        close(p, tp)
        for k, v in topt.state[tp].items():
            mine = opt.state[q][k]
            close(to_numpy(mine.data) if isinstance(mine, tg.Tensor) else mine, v)


@needs_torch
def test_clip_grad_norm_and_schedulers_match_torch():
    params, grads = problem()
    ps = [tg.tensor(p, requires_grad=True) for p in params]
    tps = [torch.tensor(p, requires_grad=True) for p in params]
    for p, tp, g in zip(ps, tps, grads[0]):
        p.grad, tp.grad = tg.tensor(g), torch.tensor(g)
    n, tn = optim.clip_grad_norm_(ps, 0.7), torch.nn.utils.clip_grad_norm_(tps, 0.7)
    np.testing.assert_allclose(float(n), float(tn), rtol=1e-14)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(to_numpy(p.grad.data), tp.grad.numpy(), rtol=1e-14)
    for mine, theirs in [(lambda o: optim.StepLR(o, 2, 0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.3)),
                         (lambda o: optim.ExponentialLR(o, 0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(
                             o, 0.9))]:
        o, to = optim.SGD(ps, lr=0.1), torch.optim.SGD(tps, lr=0.1)
        s, ts = mine(o), theirs(to)
        for _ in range(6):
            to.step()
            s.step()
            ts.step()
            assert s.get_last_lr() == ts.get_last_lr()
