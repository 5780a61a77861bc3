"""Optimizers: SGD, RMSprop, Adam, AdamW; the WGAN weight clip; gradient-norm clipping; two LR schedulers.

Every update rule is written as math in its class docstring and follows PyTorch's default (single-tensor,
non-fused) implementation operation for operation, so that a run can be compared with ``torch.optim`` number
for number. Updates happen in place on ``p.data`` under :func:`tinygen.no_grad`, using only array-API
operations through the array's own namespace (NumPy, CuPy or array_api_strict). Hyper-parameters are turned
into Python floats before use, so float32 parameters and their state stay float32.

On NumPy arrays, with numba installed (``pip install tinygen[fast]``), Adam's and RMSprop's plain update runs
as one compiled loop per parameter (:mod:`tinygen.backend.fused`) instead of the passes written below: the
same float operations in the same order, so the same bits, in about a quarter of the time.

Notation for one parameter p with gradient g at step t (t = 1, 2, ...): lr, weight decay λ, momentum μ.
"""
from __future__ import annotations

from . import _threads
from . import backend as _backend
from .backend import fused as _fused
from .autograd import enable_grad, no_grad
from .creation import zeros
from .tensor import ShapeError, Tensor

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "clip_weights_", "clip_grad_norm_",
           "StepLR", "ExponentialLR"]


required = type("_Required", (), {"__repr__": lambda self: "<required>"})()


def _check(ok, msg):
    if not ok:
        raise ValueError(msg)


def _nonneg(opt, group, *keys):
    for k in keys:
        _check(group[k] >= 0.0, f"{type(opt).__name__}: {k} must be >= 0, got {group[k]}")


def _zeros(st, name, like):
    """``st[name]``, created as zeros shaped like array ``like`` when missing."""
    buf = st.get(name)
    if buf is None:
        buf = st[name] = Tensor(_backend.namespace(like).zeros_like(like))
    return buf


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``, ``step``, ``state_dict``.

    ``params`` is an iterable of Tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` (parameter groups
    with their own hyper-parameters; missing ones come from ``defaults``). ``self.state[p]`` is the dict of
    buffers kept for parameter ``p`` (Tensors and the step count). Subclasses implement ``_update(group)``
    and ``_validate(group)``.
    """

    def __init__(self, params, defaults):
        self.defaults, self.state, self.param_groups = dict(defaults), {}, []
        if isinstance(params, (Tensor, set, frozenset, dict)):
            raise TypeError(f"params must be a list of Tensors or of dicts, not a {type(params).__name__} "
                            f"(state_dict() numbers the parameters in order)")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a dict ``{"params": [...], <hyper-parameter>: ...}``; unset hyper-parameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group is a dict with a 'params' key, got {type(param_group).__name__}")
        group, params = dict(param_group), param_group.get("params")
        if params is None:
            raise ValueError("a parameter group needs a 'params' entry")
        params = group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("optimizer can't optimize a non-leaf Tensor (one computed from others); "
                                 "optimize the leaf it came from, or .detach() it")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params} | seen) != len(params) + len(seen):
            raise ValueError("some parameters appear twice (in one parameter group or in two)")
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"{type(self).__name__}: {k} is required (pass {k}=...)")
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group):
        pass

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (``None``), or set it to zeros with ``set_to_none=False``."""
        for p in _tensors(self.param_groups):
            if p.grad is not None and set_to_none:
                p.grad = None
            elif p.grad is not None:  # fresh zeros, as .grad arrays may be shared or read-only
                with _backend.device_scope(p.grad.data):
                    p.grad = Tensor(_backend.namespace(p.grad.data).zeros_like(p.grad.data))

    @no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient (params whose ``.grad`` is None are skipped).

        ``closure``, if given, re-evaluates the model and returns the loss (it runs with gradients on);
        ``step`` returns that loss.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        _threads.adapt()      # once per step: the thread count follows the machine's load (tinygen._threads)
        for group in self.param_groups:
            with _backend.device_scope(group["params"][0].data):    # a GPU's updates run on that GPU
                self._update(group)
        return loss

    def _update(self, group):
        raise NotImplementedError

    def _with_grads(self, group):
        """(p, g, state) for every parameter of ``group`` with a gradient; g is the gradient array (-g if
        maximize; never change it in place: it is the user's)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            g, pd = p.grad.data if isinstance(p.grad, Tensor) else p.grad, p.data
            if g.shape != pd.shape:
                raise ShapeError(f"{type(self).__name__}: a gradient of shape {tuple(g.shape)} for a parameter "
                                 f"of shape {tuple(pd.shape)}")
            if g.dtype != pd.dtype:
                raise TypeError(f"{type(self).__name__}: a {_backend.dtype_of(g)} gradient for a "
                                f"{_backend.dtype_of(pd)} parameter; the dtypes must match")
            yield p, (-g if group.get("maximize") else g), self.state.setdefault(p, {})

    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` in PyTorch's shape.

        Parameters are numbered in order over all groups. Unlike PyTorch, the buffers are copies (a snapshot):
        later steps do not change a state dict already taken.
        """
        groups, n = [], 0
        for g in self.param_groups:
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": list(range(n, n + len(g["params"])))})
            n += len(g["params"])
        state = {i: {k: _copy(v) for k, v in self.state[p].items()}
                 for i, p in enumerate(_tensors(self.param_groups)) if self.state.get(p)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and buffers saved by :meth:`state_dict` (buffers are copied and moved to
        each parameter's device and floating dtype). Mismatches raise ValueError listing what is wrong."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict is a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter group(s) but the optimizer "
                             f"has {len(self.param_groups)}")
        by_index, problems = {}, []
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(mine["params"]):
                problems.append(f"group {i} has {len(saved['params'])} parameters in the state dict but "
                                f"{len(mine['params'])} in the optimizer")
                continue
            for k, p in zip(saved["params"], mine["params"]):
                by_index[int(k)] = p
        new_state = {}
        for k, st in state_dict["state"].items():
            p = by_index.get(int(k))
            if p is None:
                problems.append(f"state for parameter index {k}, which no group has")
                continue
            new_state[p] = {}
            for name, v in st.items():
                if isinstance(v, Tensor):
                    v = v.data
                if hasattr(v, "shape") and hasattr(v, "dtype"):
                    if name == "step" and tuple(v.shape) in ((), (1,)):    # PyTorch keeps the step as a tensor
                        v = int(float(_backend.to_numpy(v).reshape(())))
                    elif tuple(v.shape) != tuple(p.shape):
                        problems.append(f"state[{k}][{name!r}] has shape {tuple(v.shape)} but the parameter has "
                                        f"shape {tuple(p.shape)}")
                        continue
                    else:  # a copy on p's device, floating buffers in p's dtype
                        be = _backend.get_backend(p.device)
                        with be.device_scope():
                            v = Tensor(be.xp.asarray(be.asarray(v, p.dtype if _backend.dtype_of(v).is_floating
                                                                else None), copy=True))
                new_state[p][name] = v
        if problems:
            raise ValueError("cannot load the optimizer state dict: " + "; ".join(problems))
        self.state = new_state
        self.param_groups = [{**{k: v for k, v in saved.items() if k != "params"}, "params": mine["params"]}
                             for mine, saved in zip(self.param_groups, saved_groups)]

    def __repr__(self):
        return f"{type(self).__name__}(" + "; ".join(f"group {i}: {len(g['params'])} params, " + ", ".join(
            f"{k}={v}" for k, v in g.items() if k != "params") for i, g in enumerate(self.param_groups)) + ")"


def _copy(v):
    return Tensor(_backend.namespace(v.data).asarray(v.data, copy=True)) if isinstance(v, Tensor) else v


# PyTorch's in-place helpers (add with alpha, addcmul_, lerp_), with its roundings
def _plus(g, x, a):
    """g + a x as a new array (PyTorch's ``g.add(x, alpha=a)``)."""
    t = x * a
    t += g
    return t


def _ema_sq_(v, g, beta):
    """v <- β v + (1 - β) g g in place (PyTorch's ``v.mul_(β).addcmul_(g, g, value=1 - β)``)."""
    t = g * (1.0 - beta)
    t *= g
    v *= beta
    v += t


def _lerp_(buf, g, w):
    """``buf <- buf + w (g - buf)`` in place as PyTorch's ``lerp_`` computes it (``g - (g - buf)(1 - w)`` for
    w >= 0.5, so that w = 1, e.g. Adam with β1 = 0, gives exactly g)."""
    if w < 0.5:
        d = g - buf
        d *= w
        buf += d
    else:                 # g - (g - buf)(1 - w) = g + (buf - g)(1 - w): the same roundings, all in place
        buf -= g
        buf *= 1.0 - w
        buf += g


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (PyTorch's ``torch.optim.SGD``).

        g  <- -g                         if maximize
        g  <- g + λ p                    (weight_decay λ, coupled: added to the gradient)
        b  <- g                          at the first step (the buffer starts AT the first gradient, not 0)
        b  <- μ b + (1 - dampening) g    afterwards
        g  <- g + μ b  if nesterov,  else  g <- b        (only when μ != 0)
        p  <- p - lr g

    Nesterov needs μ > 0 and dampening = 0. State: ``momentum_buffer`` (only when μ != 0).
    """

    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay, maximize=maximize))

    def _validate(self, g):
        _nonneg(self, g, "lr", "momentum", "weight_decay")
        _check(not g["nesterov"] or (g["momentum"] > 0 and g["dampening"] == 0),
               "SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, group):
        lr, mu, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        damp, nesterov = float(group["dampening"]), group["nesterov"]
        for p, g, st in self._with_grads(group):
            if wd != 0.0:
                g = _plus(g, p.data, wd)                    # g <- g + λ p
            if mu != 0.0:
                first = "momentum_buffer" not in st
                b = _zeros(st, "momentum_buffer", p.data).data
                if first:
                    b[...] = g                              # b <- g
                else:
                    b *= mu                                 # b <- μ b + (1 - dampening) g
                    b += g * (1.0 - damp) if damp != 0.0 else g
                g = _plus(g, b, mu) if nesterov else b      # g <- g + μ b, or g <- b
            p.data -= g * lr                                # p <- p - lr g


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``; the WGAN paper's optimizer).

        g  <- -g                          if maximize
        g  <- g + λ p                     (weight_decay λ)
        v  <- α v + (1 - α) g²            (v starts at 0: "square_avg")
        m̄  <- α m̄ + (1 - α) g            (only when centered; "grad_avg", starts at 0)
        s  <- sqrt(v - m̄²) + eps   if centered,   else   s <- sqrt(v) + eps
        b  <- μ b + g / s,  p <- p - lr b      if momentum μ > 0 (b starts at 0)
        p  <- p - lr g / s                     otherwise

    eps is added OUTSIDE the square root, as PyTorch does (TensorFlow puts it inside). There is no bias
    correction. State: ``step``, ``square_avg``, ``momentum_buffer`` (μ > 0), ``grad_avg`` (centered).
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate(self, g):
        _nonneg(self, g, "lr", "eps", "momentum", "weight_decay")
        _check(0.0 <= g["alpha"] <= 1.0, f"RMSprop: alpha must be in [0, 1], got {g['alpha']}")

    def _update(self, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, mu, centered = float(group["weight_decay"]), float(group["momentum"]), group["centered"]
        for p, g, st in self._with_grads(group):
            xp = _backend.namespace(p.data)
            st["step"] = st.get("step", 0) + 1
            if wd != 0.0:
                g = _plus(g, p.data, wd)                    # g <- g + λ p
            v = _zeros(st, "square_avg", p.data).data
            if not centered and mu == 0.0 and _fused.rmsprop_(p.data, g, v, alpha, eps, lr):
                continue                                    # the lines below in one pass (backend/fused.py)
            _ema_sq_(v, g, alpha)                           # v <- α v + (1 - α) g²
            if centered:
                m = _zeros(st, "grad_avg", p.data).data
                _lerp_(m, g, 1.0 - alpha)                   # m̄ <- α m̄ + (1 - α) g
                s = xp.sqrt(v - m * m)                      # s <- sqrt(v - m̄²) + eps
            else:
                s = xp.sqrt(v)                              # s <- sqrt(v) + eps
            s += eps
            q = g / s
            if mu > 0.0:
                b = _zeros(st, "momentum_buffer", p.data).data
                b *= mu                                     # b <- μ b + g / s
                b += q
                q = b * lr                                  # p <- p - lr b
            else:
                q *= lr                                     # p <- p - lr g / s
            p.data -= q


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``, its default non-fused implementation), with AMSGrad.

        g  <- -g                                  if maximize
        g  <- g + λ p                             (weight_decay λ: coupled L2, added to the gradient)
        m  <- β1 m + (1 - β1) g                   (m, v start at 0)
        v  <- β2 v + (1 - β2) g²
        v̄  <- max(v̄, v)                           (only with amsgrad; v̄ starts at 0)
        m̂  =  m / (1 - β1^t),   v̂ = v / (1 - β2^t)    (or v̄ / (1 - β2^t) with amsgrad)
        p  <- p - lr m̂ / (sqrt(v̂) + eps)

    eps is added to sqrt(v̂) AFTER the bias correction, as PyTorch does; the paper's "efficient version"
    (Algorithm 1's last remark) adds it before, i.e. epŝ = eps sqrt(1 - β2^t). Computed as PyTorch does:
    p <- p - (lr / (1 - β1^t)) m / (sqrt(v) / sqrt(1 - β2^t) + eps).
    State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (v̄, amsgrad).
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _validate(self, g):
        _nonneg(self, g, "lr", "eps", "weight_decay")
        name = type(self).__name__
        _check(len(g["betas"]) == 2, f"{name}: betas must be a pair (beta1, beta2), got {g['betas']!r}")
        for i, b in enumerate(g["betas"]):
            _check(0.0 <= b < 1.0, f"{name}: betas[{i}] must be in [0, 1), got {b}")

    def _update(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        b1, b2 = (float(b) for b in group["betas"])
        for p, g, st in self._with_grads(group):
            xp = _backend.namespace(p.data)
            t = st["step"] = st.get("step", 0) + 1
            if wd != 0.0 and self._decoupled:
                p.data *= 1.0 - lr * wd                     # AdamW: p <- p (1 - lr λ)
            elif wd != 0.0:
                g = _plus(g, p.data, wd)                    # g <- g + λ p
            m, v = _zeros(st, "exp_avg", p.data).data, _zeros(st, "exp_avg_sq", p.data).data
            if not group["amsgrad"] and _fused.adam_(p.data, g, m, v, 1.0 - b1, b2, (1.0 - b2 ** t) ** 0.5, eps,
                                                     lr / (1.0 - b1 ** t)):
                continue                                    # the lines below in one pass (backend/fused.py)
            _lerp_(m, g, 1.0 - b1)                          # m <- β1 m + (1 - β1) g
            _ema_sq_(v, g, b2)                              # v <- β2 v + (1 - β2) g²
            if group["amsgrad"]:
                vmax = _zeros(st, "max_exp_avg_sq", p.data).data
                vmax[...] = xp.maximum(vmax, v)             # v̄ <- max(v̄, v)
                v = vmax
            s = xp.sqrt(v)                                  # s = sqrt(v) / sqrt(1 - β2^t) + eps
            s /= (1.0 - b2 ** t) ** 0.5
            s += eps
            q = m / s
            q *= lr / (1.0 - b1 ** t)                       # p <- p - (lr / (1 - β1^t)) m / s
            p.data -= q


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``; weight_decay defaults to 0.01).

        p  <- p (1 - lr λ)        first, instead of adding λ p to the gradient
        then Adam's update above with λ = 0.
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


# ---------------------------------------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------------------------------------
def _tensors(params):
    """A Tensor, an iterable of Tensors or of parameter groups -> a list of Tensors."""
    if isinstance(params, Tensor):
        return [params]
    return [t for p in params for t in (_tensors(p["params"]) if isinstance(p, dict) else [p])]


@no_grad()
def clip_weights_(params, c):
    """The WGAN weight clip: every parameter's values clamped to [-c, c], in place. Returns nothing."""
    c = float(c)
    _check(c >= 0.0, f"clip_weights_: c must be >= 0, got {c}")
    for p in _tensors(params):
        _backend.backend_of(p.data).clip_(p.data, -c, c)


@no_grad()
def clip_grad_norm_(params, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients so that their total norm is at most ``max_norm``; return the total norm (before
    clipping) as a 0-d Tensor, like ``torch.nn.utils.clip_grad_norm_``.

        N = ‖(‖g_1‖, ..., ‖g_k‖)‖           (the norm of all gradients seen as one vector; p = norm_type)
        g_i <- g_i min(1, max_norm / (N + 1e-6))

    Parameters without a gradient are ignored; with none at all the norm is 0.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = [p.grad for p in _tensors(params) if p.grad is not None]
    if not grads:
        return zeros(())
    with _backend.device_scope(grads[0].data):
        return _clip_grad_norm(grads, max_norm, norm_type, error_if_nonfinite)


def _clip_grad_norm(grads, max_norm, norm_type, error_if_nonfinite):
    xp = _backend.namespace(grads[0].data)
    norms = [xp.linalg.vector_norm(g.data, ord=norm_type) for g in grads]
    total = xp.linalg.vector_norm(xp.stack([xp.astype(n, norms[0].dtype) for n in norms]), ord=norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}; pass error_if_nonfinite=False to clip anyway")
    coef = xp.clip(max_norm / (total + 1e-6), None, 1.0)
    for gt in grads:               # new arrays, not in place: .grad arrays may be shared or read-only views
        gt.data = xp.asarray(gt.data * xp.astype(coef, gt.data.dtype))    # (NumPy: a 0-d product is a scalar)
    return Tensor(total)


# ---------------------------------------------------------------------------------------------------------
# Learning-rate schedulers (PyTorch's chainable form: a step multiplies the current lr)
# ---------------------------------------------------------------------------------------------------------
class StepLR:
    """lr <- lr γ every ``step_size`` epochs: lr_e = lr_0 γ^⌊e / step_size⌋. Call ``step()`` once per epoch,
    after ``optimizer.step()``; resume with ``load_state_dict`` (the optimizer's first)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        _check(int(step_size) >= 1, f"{type(self).__name__}: step_size must be a positive int, got {step_size}")
        self.optimizer, self.step_size, self.gamma, self.last_epoch = optimizer, int(step_size), float(gamma), 0
        self.base_lrs = [g.setdefault("initial_lr", g["lr"]) for g in optimizer.param_groups]

    def step(self):
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            for g in self.optimizer.param_groups:
                g["lr"] *= self.gamma

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class ExponentialLR(StepLR):
    """lr <- lr γ every epoch: lr_e = lr_0 γ^e."""

    def __init__(self, optimizer, gamma):
        super().__init__(optimizer, 1, gamma)
