"""Finite-difference checks of gradients: ``gradcheck`` (first order) and ``gradgradcheck`` (second order).

The numeric side uses central differences in float64, ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``, whose
error is O(eps^2). For small problems the whole Jacobian is compared, row by row against backward passes
with one-hot output gradients; for large ones, random directions: ``u . J . v`` computed both ways for random
``u`` (output space) and ``v`` (input space). Never ``sum()`` alone: an all-ones upstream gradient hides
wrong transposes.

:class:`RandomDraw` feeds the ops' ``sample`` methods from a NumPy generator (``tinygen gradcheck`` uses it);
:func:`check_op` runs both checks on one op.
"""
from __future__ import annotations

import math

import numpy as np  # host-side: building perturbations and comparing Jacobians

from . import backend as _backend
from .autograd import REGISTRY, grad as _grad, no_grad
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "RandomDraw", "make_array", "check_op"]


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree. The message names the input, the element and both values."""


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else [o for o in out]
    return outs


def _host(t):
    return np.array(_backend.to_numpy(t.data), dtype=np.float64, copy=True)


def _with(inputs, i, host_value):
    """``inputs`` with input ``i`` replaced by a constant holding ``host_value``."""
    be = _backend.backend_of(inputs[i].data)
    new = list(inputs)
    new[i] = Tensor(be.asarray(host_value), requires_grad=inputs[i].requires_grad)
    return new


def _flat_out(fn, inputs):
    outs = _outputs(fn, inputs)  # with recording on: fn may differentiate inside (gradgradcheck)
    return np.concatenate([np.asarray(_backend.to_numpy(o.data), dtype=np.float64).reshape(-1) for o in outs]) \
        if outs else np.zeros(0)


def _check_inputs(inputs, what):
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype != "float64":
            raise ValueError(f"{what}: input {i} is {t.dtype}; finite differences need float64 inputs "
                             f"(create them with dtype='float64')")


def _compare(kind, names, idx_of, analytic, numeric, atol, rtol, raise_exception):
    diff = np.abs(analytic - numeric)
    tol = atol + rtol * np.abs(numeric)
    bad = diff > tol
    if not bad.any():
        return True, float(diff.max(initial=0.0))
    k = int(np.argmax(np.where(bad, diff - tol, -np.inf)))
    msg = (f"{kind}: {idx_of(k)}: analytic {analytic.flat[k]:.8g} vs numeric {numeric.flat[k]:.8g} "
           f"(|difference| {diff.flat[k]:.3g} > tolerance {tol.flat[k]:.3g})")
    if raise_exception:
        raise GradcheckError(msg)
    return False, float(diff.max())


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096,
              n_directions=3, seed=0):
    """Check the gradients of ``fn(*inputs)`` (a Tensor or a tuple of Tensors) against finite differences.

    ``inputs``: float64 Tensors; those with ``requires_grad=True`` are checked. Returns True, or raises
    :class:`GradcheckError` naming the input, the element and the analytic vs numeric value (with
    ``raise_exception=False``: returns False). The full Jacobian is compared when (input elements) x
    (output elements) <= ``full_jacobian_max``; otherwise ``n_directions`` random directions per input.
    """
    return _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions, seed)[0]


def _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions, seed,
               names=None, what="gradcheck"):
    """gradcheck's work; returns (ok, largest |analytic - numeric| seen)."""
    inputs = _as_list(inputs)
    _check_inputs(inputs, what)
    names = names or [f"input {i}" for i in range(len(inputs))]
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError(f"{what}: no input has requires_grad=True; nothing to check")
    outs = _outputs(fn, inputs)
    outs = [o for o in outs if o is not None]
    if not outs:
        raise ValueError(f"{what}: the function returned no tensors")
    sizes = [o.numel() for o in outs]
    n_out = sum(sizes)
    n_in = sum(inputs[i].numel() for i in checked)
    rng = np.random.default_rng(seed)
    grad_outs = [o for o in outs if o.requires_grad]
    ok, worst = True, 0.0

    if n_in * n_out <= full_jacobian_max:
        # analytic: one backward per output element (row j of the Jacobian)
        analytic = {i: np.zeros((n_out, inputs[i].numel())) for i in checked}
        row = 0
        for o, size in zip(outs, sizes):
            be = _backend.backend_of(o.data)
            for j in range(size):
                if o.requires_grad:
                    onehot = np.zeros(size)
                    onehot[j] = 1.0
                    g = Tensor(be.asarray(onehot.reshape(o.shape), o.dtype))
                    gs = _grad([o], [inputs[i] for i in checked], grad_outputs=[g], retain_graph=True,
                               allow_unused=True)
                    for i, gi in zip(checked, gs):
                        if gi is not None:
                            if tuple(gi.shape) != tuple(inputs[i].shape):
                                raise GradcheckError(f"{what}: the gradient of {names[i]} has shape "
                                                     f"{tuple(gi.shape)}, the input {tuple(inputs[i].shape)}")
                            analytic[i][row] = _host(gi).reshape(-1)
                row += 1
        for i in checked:
            x0 = _host(inputs[i])
            numeric = np.zeros((n_out, x0.size))
            for k in range(x0.size):
                xp_, xm_ = x0.copy().reshape(-1), x0.copy().reshape(-1)
                xp_[k] += eps
                xm_[k] -= eps
                fp = _flat_out(fn, _with(inputs, i, xp_.reshape(x0.shape)))
                fm = _flat_out(fn, _with(inputs, i, xm_.reshape(x0.shape)))
                numeric[:, k] = (fp - fm) / (2 * eps)
            shape = x0.shape

            def where(flat, i=i, shape=shape):
                j, k = divmod(flat, max(math.prod(shape), 1))
                el = np.unravel_index(k, shape) if shape else ()
                return f"d(output element {j})/d({names[i]}{list(map(int, el))})"
            r = _compare(what, names, where, analytic[i], numeric, atol, rtol, raise_exception)
            ok, worst = ok and r[0], max(worst, r[1])
        return ok, worst

    # random directions: u . J . v both ways, one input at a time
    us = [rng.standard_normal(o.shape) for o in outs]
    for i in checked:
        x0 = _host(inputs[i])
        for d in range(n_directions):
            v = rng.standard_normal(x0.shape)
            ana = 0.0
            if grad_outs:
                be = _backend.backend_of(outs[0].data)
                gs = _grad(grad_outs, [inputs[i]], grad_outputs=[
                    Tensor(be.asarray(u, o.dtype)) for u, o in zip(us, outs) if o.requires_grad],
                    retain_graph=True, allow_unused=True)
                if gs[0] is not None:
                    ana = float((_host(gs[0]) * v).sum())
            u_flat = np.concatenate([u.reshape(-1) for u in us])
            fp = _flat_out(fn, _with(inputs, i, x0 + eps * v))
            fm = _flat_out(fn, _with(inputs, i, x0 - eps * v))
            num = float(u_flat @ ((fp - fm) / (2 * eps)))
            r = _compare(what, names, lambda k, i=i, d=d: f"{names[i]}, random direction {d}",
                         np.array([ana]), np.array([num]), atol * math.sqrt(x0.size), rtol, raise_exception)
            ok, worst = ok and r[0], max(worst, r[1])
    return ok, worst


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  full_jacobian_max=4096, n_directions=3, seed=0):
    """Check second derivatives: gradcheck of ``(inputs, gy) -> d<gy, fn(inputs)>/d inputs``.

    The backward pass is run with ``create_graph=True`` and then differentiated, w.r.t. both the inputs and
    the upstream gradient ``gy`` (random unless ``grad_outputs`` is given). This is what WGAN-GP's gradient
    penalty relies on.
    """
    return _gradgradcheck(fn, inputs, grad_outputs, eps, atol, rtol, raise_exception, full_jacobian_max,
                          n_directions, seed)[0]


def _gradgradcheck(fn, inputs, grad_outputs, eps, atol, rtol, raise_exception, full_jacobian_max, n_directions,
                   seed):
    inputs = _as_list(inputs)
    _check_inputs(inputs, "gradgradcheck")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    with no_grad():
        outs = _outputs(fn, inputs)
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
    probe = first_derivative(*inputs, *grad_outputs)
    if not probe:
        return True, 0.0  # the first derivative depends on nothing: nothing of second order to check
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
    """Draw inputs for ``op`` (a registered op class or its name) and run gradcheck (and gradgradcheck).

    Returns ``(first_order_max_error, second_order_max_error_or_None)``; raises GradcheckError on failure.
    """
    cls = REGISTRY[op] if isinstance(op, str) else op
    arrays, fn = cls.sample(draw)
    be = _backend.get_backend("cpu")
    inputs = [Tensor(be.asarray(np.asarray(a, dtype=np.float64)), requires_grad=True) for a in arrays]
    opts = dict(eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096, n_directions=3,
                seed=0)
    opts.update(tol)
    e1 = _gradcheck(fn, inputs, **opts)[1]
    e2 = _gradgradcheck(fn, inputs, None, **opts)[1] if second_order else None
    return e1, e2
