"""Finite-difference checks of gradients: ``gradcheck`` (first order) and ``gradgradcheck`` (second order).

The numeric side uses central differences in float64, ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``, whose
error is O(eps^2). For small problems the whole Jacobian is compared, row by row against backward passes
with one-hot output gradients; for large ones, random directions: ``u . J . v`` computed both ways for random
``u`` (output space) and ``v`` (input space). Never ``sum()`` alone: an all-ones upstream gradient hides
wrong transposes. Each input is perturbed in place (its array swapped, then restored), so a function that
reads a Module's parameters through a closure is checked too; :func:`as_function_of_params` turns a Module's
loss into a true function of its parameters.

:class:`RandomDraw` feeds the ops' ``sample`` methods from a NumPy generator (``tinygen gradcheck`` uses it);
:func:`check_op` runs both checks on one op.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np  # host-side: building perturbations and comparing Jacobians

from . import backend as _backend
from .autograd import REGISTRY, Function, grad as _grad
from .tensor import Tensor

__all__ = ["GradcheckError", "CheckResult", "gradcheck", "gradgradcheck", "RandomDraw", "make_array", "check_op",
           "as_function_of_params"]


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree. The message names the input, the element and both values."""


class CheckResult:
    """What a check saw: ``ok``, the largest ``|analytic - numeric|`` (``max_abs``) and the largest relative
    error ``|analytic - numeric| / max(|analytic|, |numeric|, atol / rtol)`` (``max_rel``: below atol / rtol,
    0.01 by default, a derivative counts as that small number, so values near 0 do not blow it up)."""

    __slots__ = ("ok", "max_abs", "max_rel")

    def __init__(self, ok=True, max_abs=0.0, max_rel=0.0):
        self.ok, self.max_abs, self.max_rel = ok, max_abs, max_rel

    def merge(self, other):
        return CheckResult(self.ok and other.ok, max(self.max_abs, other.max_abs), max(self.max_rel, other.max_rel))

    def __repr__(self):
        return f"CheckResult(ok={self.ok}, max_abs={self.max_abs:.3g}, max_rel={self.max_rel:.3g})"


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else [o for o in out]
    return outs


def _host(t):
    return np.array(_backend.to_numpy(t.data), dtype=np.float64, copy=True)


@contextlib.contextmanager
def _holding(t, host_value):
    """Input ``t`` itself holds ``host_value`` for the duration (its array is swapped, then put back): a
    function that reads ``t`` through a closure (a Module's parameters) sees the perturbation too."""
    old = t.data
    t.data = _backend.backend_of(old).asarray(np.asarray(host_value, dtype=np.float64))
    try:
        yield
    finally:
        t.data = old


def _flat_at(fn, inputs, i, host_value):
    """fn's outputs, flattened and concatenated on the host, with input ``i`` holding ``host_value``."""
    with _holding(inputs[i], host_value):
        outs = _outputs(fn, inputs)  # with recording on: fn may differentiate inside (gradgradcheck)
        return np.concatenate([np.asarray(_backend.to_numpy(o.data), dtype=np.float64).reshape(-1)
                               for o in outs]) if outs else np.zeros(0)


def _check_inputs(inputs, what):
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype != "float64":
            raise ValueError(f"{what}: input {i} is {t.dtype}; finite differences need float64 inputs "
                             f"(create them with dtype='float64', or call module.to('float64'))")


def _compare(kind, idx_of, analytic, numeric, atol, rtol):
    """(CheckResult, None or the sentence naming the worst element beyond tolerance)."""
    diff = np.abs(analytic - numeric)
    tol = atol + rtol * np.abs(numeric)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), atol / rtol if rtol > 0 else 1.0)
    bad = diff > tol
    res = CheckResult(not bad.any(), float(diff.max(initial=0.0)), float((diff / scale).max(initial=0.0)))
    if res.ok:
        return res, None
    k = int(np.argmax(np.where(bad, diff - tol, -np.inf)))
    return res, (f"{kind}: {idx_of(k)}: analytic {analytic.flat[k]:.8g} vs numeric {numeric.flat[k]:.8g} "
                 f"(|difference| {diff.flat[k]:.3g} > tolerance {tol.flat[k]:.3g})")


def _diagnose(what, name, reached, moved, failed):
    """When analytic and numeric derivatives disagree (``failed``) because the function does not use input
    ``name`` the way a check needs, the sentence that says so; else None.

    ``reached``: the graph gives the input a gradient; ``moved``: perturbing it changes the output at all.
    (Neither is fine: the derivative is 0 both ways, e.g. a critic's last bias in the gradient penalty.)"""
    if not failed:
        return None
    if not reached and moved:
        return (f"{what}: the output changes when {name} is perturbed but the graph does not reach {name}: the "
                f"function uses its value outside the graph (.numpy(), .detach(), .data or a copy)")
    if reached and not moved:
        return (f"{what}: the graph gives {name} a gradient, but perturbing {name} does not change the output at "
                f"all: the function ignores the tensor it is given (does it return a tensor computed beforehand, "
                f"or read a copy of {name}?)")
    return None


def _fail(res, msg, raise_exception):
    """``res`` as failed with ``msg`` (raised as GradcheckError when asked), or ``res`` when msg is None."""
    if msg is None:
        return res
    if raise_exception:
        raise GradcheckError(msg)
    return CheckResult(False, res.max_abs, res.max_rel)


def _sampled(op, draw):
    """(float64 input Tensors requiring grad, fn) drawn by the op's ``sample(draw)``."""
    if not (isinstance(op, type) and issubclass(op, Function)):
        raise TypeError(f"expected an op (a tinygen.Function subclass) or a registered op's name, got {op!r}")
    arrays, fn = op.sample(draw)
    be = _backend.get_backend("cpu")
    return [Tensor(be.asarray(np.asarray(a, dtype=np.float64)), requires_grad=True) for a in arrays], fn


def _resolve(fn, inputs, seed, what):
    """``fn`` may be an op class: its ``apply``, and without inputs, inputs drawn by its ``sample``."""
    if isinstance(fn, type) and issubclass(fn, Function):
        if inputs is None:
            return _sampled(fn, RandomDraw(seed))[::-1]
        return fn.apply, inputs
    if inputs is None:
        raise TypeError(f"{what}: give the inputs to check at (a list of float64 Tensors); only an op class "
                        f"can draw its own (through its sample method)")
    return fn, inputs


def gradcheck(fn, inputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096,
              n_directions=3, seed=0):
    """Check the gradients of ``fn(*inputs)`` (a Tensor or a tuple of Tensors) against finite differences.

    ``inputs``: float64 Tensors; those with ``requires_grad=True`` are checked. Each is perturbed IN PLACE
    (and restored), so a function that reads them through a closure works too, PyTorch's idiom::

        tg.gradcheck(lambda *ps: model_loss(), list(model.parameters()))

    ``fn`` may also be an op class (a :class:`~tinygen.Function` subclass): its ``apply`` is checked, at
    ``inputs`` or, when they are not given, at inputs drawn by its ``sample`` method.

    Returns True, or raises :class:`GradcheckError` naming the input, the element and the analytic vs numeric
    value (with ``raise_exception=False``: returns False). A function that does not use an input the way the
    check needs (ignores it, cuts the graph, returns a tensor computed beforehand) is told so in one sentence.
    The full Jacobian is compared when (input elements) x (output elements) <= ``full_jacobian_max``;
    otherwise ``n_directions`` random directions per input.
    """
    fn, inputs = _resolve(fn, inputs, seed, "gradcheck")
    return _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions, seed).ok


def _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions, seed,
               names=None, what="gradcheck"):
    """gradcheck's work; returns a :class:`CheckResult`."""
    inputs = _as_list(inputs)
    _check_inputs(inputs, what)
    names = names or [f"input {i}" for i in range(len(inputs))]
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError(f"{what}: no input has requires_grad=True; nothing to check")
    outs = [o for o in _outputs(fn, inputs) if o is not None]
    if not outs:
        raise ValueError(f"{what}: the function returned no tensors")
    n_out = sum(o.numel() for o in outs)
    n_in = sum(inputs[i].numel() for i in checked)
    ctx = dict(fn=fn, inputs=inputs, outs=outs, names=names, what=what, eps=eps, atol=atol, rtol=rtol,
               raise_exception=raise_exception)
    res = CheckResult()
    if n_in * n_out <= full_jacobian_max:
        analytic = _analytic_jacobian(ctx, checked)
        for i in checked:
            res = res.merge(_check_jacobian(ctx, i, analytic[i]))
        return res
    rng = np.random.default_rng(seed)
    us = [rng.standard_normal(o.shape) for o in outs]
    for i in checked:
        res = res.merge(_check_directions(ctx, i, us, rng, n_directions))
    return res


def _analytic_jacobian(ctx, checked):
    """{input index: (n_out, n_in_i) Jacobian or None where the graph does not reach the input}: one backward
    per output element (row j), with a one-hot upstream gradient."""
    inputs, outs = ctx["inputs"], ctx["outs"]
    n_out = sum(o.numel() for o in outs)
    analytic = {i: None for i in checked}
    row = 0
    for o in outs:
        be = _backend.backend_of(o.data)
        for j in range(o.numel()):
            if o.requires_grad:
                onehot = np.zeros(o.numel())
                onehot[j] = 1.0
                g = Tensor(be.asarray(onehot.reshape(o.shape), o.dtype))
                gs = _grad([o], [inputs[i] for i in checked], grad_outputs=[g], retain_graph=True,
                           allow_unused=True)
                for i, gi in zip(checked, gs):
                    if gi is None:
                        continue
                    if tuple(gi.shape) != tuple(inputs[i].shape):
                        raise GradcheckError(f"{ctx['what']}: the gradient of {ctx['names'][i]} has shape "
                                             f"{tuple(gi.shape)}, the input {tuple(inputs[i].shape)}")
                    if analytic[i] is None:
                        analytic[i] = np.zeros((n_out, inputs[i].numel()))
                    analytic[i][row] = _host(gi).reshape(-1)
            row += 1
    return analytic


def _check_jacobian(ctx, i, analytic):
    """Input i's Jacobian column by column (central differences) against ``analytic``."""
    fn, inputs, eps, name = ctx["fn"], ctx["inputs"], ctx["eps"], ctx["names"][i]
    x0 = _host(inputs[i])
    n_out = sum(o.numel() for o in ctx["outs"])
    numeric = np.zeros((n_out, x0.size))
    moved = False
    for k in range(x0.size):
        xp_, xm_ = x0.copy().reshape(-1), x0.copy().reshape(-1)
        xp_[k] += eps
        xm_[k] -= eps
        fp = _flat_at(fn, inputs, i, xp_.reshape(x0.shape))
        fm = _flat_at(fn, inputs, i, xm_.reshape(x0.shape))
        moved = moved or bool(np.any(fp != fm))
        numeric[:, k] = (fp - fm) / (2 * eps)
    reached = analytic is not None
    if not reached:
        analytic = np.zeros_like(numeric)
    shape = x0.shape

    def where(flat):
        j, k = divmod(flat, max(math.prod(shape), 1))
        el = np.unravel_index(k, shape) if shape else ()
        return f"d(output element {j})/d({name}{list(map(int, el))})"
    res, mismatch = _compare(ctx["what"], where, analytic, numeric, ctx["atol"], ctx["rtol"])
    msg = _diagnose(ctx["what"], name, reached, moved, not res.ok)
    return _fail(res, msg or mismatch, ctx["raise_exception"])


def _check_directions(ctx, i, us, rng, n_directions):
    """u . J . v computed both ways for ``n_directions`` random v (input i's space) and the fixed u's."""
    fn, inputs, outs, eps, name = ctx["fn"], ctx["inputs"], ctx["outs"], ctx["eps"], ctx["names"][i]
    x0 = _host(inputs[i])
    grad_outs = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    gi = None
    if grad_outs:
        be = _backend.backend_of(outs[0].data)
        (gi,) = _grad([o for o, _ in grad_outs], [inputs[i]], grad_outputs=[
            Tensor(be.asarray(u, o.dtype)) for o, u in grad_outs], retain_graph=True, allow_unused=True)
    g_host = None if gi is None else _host(gi)
    u_flat = np.concatenate([u.reshape(-1) for u in us])
    res, moved, mismatch = CheckResult(), False, None
    for d in range(n_directions):
        v = rng.standard_normal(x0.shape)
        ana = 0.0 if g_host is None else float((g_host * v).sum())
        fp = _flat_at(fn, inputs, i, x0 + eps * v)
        fm = _flat_at(fn, inputs, i, x0 - eps * v)
        moved = moved or bool(np.any(fp != fm))
        num = float(u_flat @ ((fp - fm) / (2 * eps)))
        r, m = _compare(ctx["what"], lambda k, d=d: f"{name}, random direction {d}", np.array([ana]),
                        np.array([num]), ctx["atol"] * math.sqrt(x0.size), ctx["rtol"])
        res, mismatch = res.merge(r), mismatch or m
    msg = _diagnose(ctx["what"], name, g_host is not None, moved, not res.ok)
    return _fail(res, msg or mismatch, ctx["raise_exception"])


def gradgradcheck(fn, inputs=None, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  full_jacobian_max=4096, n_directions=3, seed=0):
    """Check second derivatives: gradcheck of ``(inputs, gy) -> d<gy, fn(inputs)>/d inputs``.

    The backward pass is run with ``create_graph=True`` and then differentiated, w.r.t. both the inputs and
    the upstream gradient ``gy`` (random unless ``grad_outputs`` is given). This is what WGAN-GP's gradient
    penalty relies on. ``fn`` and ``inputs`` as for :func:`gradcheck` (an op class, a closure over a
    Module's parameters).
    """
    fn, inputs = _resolve(fn, inputs, seed, "gradgradcheck")
    return _gradgradcheck(fn, inputs, grad_outputs, eps, atol, rtol, raise_exception, full_jacobian_max,
                          n_directions, seed).ok


def _gradgradcheck(fn, inputs, grad_outputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions,
                   seed):
    """gradgradcheck's work; returns a :class:`CheckResult`."""
    inputs = _as_list(inputs)
    _check_inputs(inputs, "gradgradcheck")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    outs = _outputs(fn, inputs)          # recorded: fn may differentiate inside (a gradient penalty)
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = []
        for o in outs:
            be = _backend.backend_of(o.data)
            grad_outputs.append(Tensor(be.asarray(rng.standard_normal(o.shape), o.dtype), requires_grad=True))
    grad_outputs = _as_list(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        xs, gys = args[:n], args[n:]
        os = _outputs(fn, xs)
        pairs = [(o, g) for o, g in zip(os, gys) if o.requires_grad]
        if not pairs:
            return []
        gs = _grad([p[0] for p in pairs], [xs[i] for i in checked], grad_outputs=[p[1] for p in pairs],
                   create_graph=True, allow_unused=True)
        return [g for g in gs if g is not None and g.requires_grad]

    names = [f"input {i}" for i in range(n)] + [f"grad_output {j}" for j in range(len(grad_outputs))]
    if not first_derivative(*inputs, *grad_outputs):
        return CheckResult()  # the first derivative depends on nothing: nothing of second order to check
    return _gradcheck(first_derivative, inputs + grad_outputs, eps, atol, rtol, raise_exception,
                      full_jacobian_max, n_directions, seed, names=names, what="gradgradcheck")


# ---------------------------------------------------------------------------------------------------------
# Drawing test inputs
# ---------------------------------------------------------------------------------------------------------
def make_array(kind, u):
    """Map raw draws ``u`` in [0, 1) to an input domain (see ``tinygen.ops._util`` for the kinds)."""
    return np.asarray(_make_array(kind, np.asarray(u, dtype=np.float64)), dtype=np.float64)


def _make_array(kind, u):
    if kind == "real":
        return 4.0 * u - 2.0
    if kind == "positive":
        return 0.5 + 1.5 * u
    if kind == "nonzero":
        return np.where(u < 0.5, -1.0, 1.0) * (0.3 + 1.7 * np.abs(2.0 * u - 1.0))
    if kind == "unit":
        return 0.05 + 0.9 * u
    if kind == "distinct":
        ranks = np.argsort(np.argsort(u.reshape(-1), kind="stable"), kind="stable").reshape(u.shape)
        return (ranks - (u.size - 1) / 2.0) * 0.2
    if kind in ("even", "odd"):
        k = np.floor(4.0 * u)
        jitter = (4.0 * u - k - 0.5) * 0.2
        return k - 2.0 + jitter + (0.5 if kind == "odd" else 0.0)
    raise ValueError(f"unknown array kind {kind!r}")


def broadcast_partner(shape, ones, drop):
    """A shape that broadcasts with ``shape``: axes in ``ones`` set to 1, the first ``drop`` axes removed."""
    s = [1 if i in ones else d for i, d in enumerate(shape)]
    return tuple(s[drop:])


class RandomDraw:
    """The drawer of the ops' ``sample`` protocol, backed by a NumPy generator."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def integer(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def boolean(self):
        return bool(self.rng.integers(0, 2))

    def choice(self, seq):
        seq = list(seq)
        return seq[self.integer(0, len(seq) - 1)]

    def shape(self, min_dims=0, max_dims=3, min_side=1, max_side=4):
        return tuple(self.integer(min_side, max_side) for _ in range(self.integer(min_dims, max_dims)))

    def broadcast_pair(self, min_dims=0, max_dims=3, max_side=4):
        shape = self.shape(min_dims, max_dims, 1, max_side)
        ones = {i for i in range(len(shape)) if self.boolean() and self.boolean()}
        other = broadcast_partner(shape, ones, self.integer(0, max(len(shape) - min_dims, 0)))
        return (shape, other) if self.boolean() else (other, shape)

    def array(self, shape, kind="real"):
        return make_array(kind, self.rng.random(shape))


def check_op(op, draw, second_order=True, **tol):
    """Draw inputs for ``op`` (an op class, or a registered op's name) with its ``sample(draw)`` and run
    gradcheck (and gradgradcheck).

    Returns ``(first_order, second_order_or_None)``, each a :class:`CheckResult`; raises GradcheckError on
    failure."""
    cls = REGISTRY[op] if isinstance(op, str) else op
    inputs, fn = _sampled(cls, draw)
    opts = dict(eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096, n_directions=3,
                seed=0)
    opts.update(tol)
    first = _gradcheck(fn, inputs, **opts)
    second = _gradgradcheck(fn, inputs, None, **opts) if second_order else None
    return first, second


def as_function_of_params(fn, *modules):
    """``(f, params)``: ``f(*tensors)`` runs ``fn()`` with the parameters of ``modules`` replaced by
    ``tensors`` (in the order of ``params``), and ``params`` are the current parameters (each shared one once)::

        f, params = tg.as_function_of_params(lambda: model.negative_elbo(x, eps=eps)["loss"], model)
        tg.gradcheck(f, params)        # f is a true function of its inputs: also for tg.grad, gradgradcheck

    (``tg.gradcheck(lambda *ps: loss(), params)`` works too, as gradcheck perturbs its inputs in place; this
    helper gives a loss you can also evaluate at other parameter values than the module's own.)"""
    groups = {}
    for module in modules:
        for m in module.modules():
            for name, p in m.named_parameters(recurse=False):
                groups.setdefault(id(p), (p, []))[1].append((m, name))
    params = [p for p, _ in groups.values()]
    slots = [s for _, s in groups.values()]

    def f(*tensors):
        if len(tensors) != len(slots):
            raise TypeError(f"this function takes {len(slots)} tensors (one per parameter), got {len(tensors)}")
        saved = [[(m, n, m._parameters[n]) for m, n in group] for group in slots]
        for group, t in zip(slots, tensors):
            for m, n in group:
                m._parameters[n] = t
        try:
            return fn()
        finally:
            for group in saved:
                for m, n, p in group:
                    m._parameters[n] = p
    return f, params
