"""Composite functions of Tensors (``import tinygen.functional as F``): layers, losses, normalisation, dropout,
the VAE's KL term and WGAN-GP's gradient penalty.

Everything here is built from the primitive ops of :mod:`tinygen.ops`, so every gradient comes from theirs
(and second derivatives too). The derivative of each function is written in its docstring as math, so that a
student can check it by hand. Two exceptions are primitives themselves, because fusing them is measurably
faster and more stable: ``linear`` (x W^T + b) and ``binary_cross_entropy_with_logits``
(:mod:`tinygen.ops.loss`).

Losses take ``reduction`` like PyTorch: ``"mean"`` (the default: the mean over all elements, or over the
non-ignored samples for nll/cross-entropy), ``"sum"``, or ``"none"`` (the elementwise / per-sample losses).
"""
from __future__ import annotations

import functools
import math

from . import backend as _backend
from .autograd import grad as _grad, no_grad
from .ops import elementwise as _el
from .ops import activation as _act
from .ops.linalg import linear as _linear
from .ops.loss import binary_cross_entropy_with_logits as _bce_logits
from .ops.reduce import logsumexp as _logsumexp
from .tensor import ShapeError, Tensor

_NDARRAY = _backend.NUMPY.xp.ndarray


def _on_device(fn):
    """Run ``fn`` with the device of its first Tensor argument current: on a GPU its own array work (masks,
    constants, running statistics) must run there (backend.device_scope); on the CPU one type check."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        t = next((a for a in args if isinstance(a, Tensor)), None)
        if t is not None and t.data.__class__ is not _NDARRAY:
            with _backend.device_scope(t.data):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    return run

__all__ = [
    "linear", "conv2d", "conv_transpose2d", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "softmax",
    "log_softmax", "logsumexp", "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "one_hot", "dropout", "batch_norm", "gaussian_kl", "gaussian_nll",
    "interpolate", "gradient_penalty",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------
def linear(x, weight, bias=None):
    """y = x W^T + b, x (..., in), W (out, in) (PyTorch's layout), b (out,): ONE fused primitive.

    dL/dx = dL/dy W,   dL/dW = sum over the leading axes of dL/dy^T x,   dL/db = sum of dL/dy"""
    return _linear(x, weight, bias)


def _conv_module():
    try:
        from .ops import conv
    except ImportError as e:  # pragma: no cover - only while tinygen/ops/conv.py is being written
        raise ImportError(f"tinygen.ops.conv is not available ({e})") from None
    return conv


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation, PyTorch's layout): x (N, C_in, H, W), weight (C_out, C_in, kh, kw),
    bias (C_out,) -> (N, C_out, H_out, W_out), H_out = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1.
    The primitive and its derivatives live in :mod:`tinygen.ops.conv`."""
    return _conv_module().conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed 2-D convolution (the adjoint of conv2d): x (N, C_in, H, W), weight (C_in, C_out, kh, kw) ->
    (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
    The primitive and its derivatives live in :mod:`tinygen.ops.conv`."""
    return _conv_module().conv_transpose2d(x, weight, bias, stride=stride, padding=padding,
                                           output_padding=output_padding, dilation=dilation)


# ---------------------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------------------
def relu(x):
    """y = max(x, 0)            dy/dx = [x > 0]"""
    return _act.relu(x)


def leaky_relu(x, negative_slope=0.01):
    """y = x if x > 0 else negative_slope x          dy/dx = 1 if x > 0 else negative_slope"""
    return _act.leaky_relu(x, negative_slope)


def sigmoid(x):
    """y = 1 / (1 + exp(-x))    dy/dx = y (1 - y)      (stable for any x)"""
    return _act.sigmoid(x)


def tanh(x):
    """y = tanh(x)              dy/dx = 1 - y^2"""
    return _act.tanh(x)


def softplus(x, beta=1.0, threshold=20.0):
    """y = log(1 + exp(beta x)) / beta          dy/dx = sigmoid(beta x)

    Exact for every x (the primitive computes max(x, 0) + log1p(exp(-|x|))), so PyTorch's ``threshold``
    (above which it returns x itself) is accepted for compatibility and not needed."""
    if beta == 1:
        return _act.softplus(x)
    return _act.softplus(x * beta) * (1.0 / beta)


def _axis(axis, dim):
    return dim if dim is not None else axis


def logsumexp(x, axis=None, keepdims=False):
    """y = log sum_i exp(x_i), computed as m + log sum_i exp(x_i - m), m = max x (no overflow)
    dy/dx_i = exp(x_i - y) = softmax(x)_i"""
    return _logsumexp(x, axis, keepdims)


@_on_device
def log_softmax(x, axis=-1, *, dim=None):
    """y_i = x_i - log sum_j exp(x_j)           dy_i/dx_j = [i = j] - softmax(x)_j

    Computed as (x_i - m) - log sum_j exp(x_j - m) with m = max_j x_j held constant (y does not depend on m,
    so the gradient is exact), like PyTorch: logits of any size are fine (no overflow, no log(0) for a class
    whose probability underflows), and the most likely class's y, often a tiny loss, keeps its relative
    precision (x - logsumexp(x) cancels it away). ``dim`` is an alias of ``axis`` (PyTorch's name)."""
    a = _axis(axis, dim)
    xp = x.xp
    m = xp.max(x.data, axis=a, keepdims=True)
    shifted = x - Tensor(xp.where(xp.isfinite(m), m, xp.zeros_like(m)))
    return shifted - _logsumexp(shifted, a, keepdims=True)


def softmax(x, axis=-1, *, dim=None):
    """p_i = exp(x_i) / sum_j exp(x_j) = exp(log_softmax(x)_i)       dp_i/dx_j = p_i ([i = j] - p_j)"""
    return log_softmax(x, _axis(axis, dim)).exp()


# ---------------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------------
def _reduce(loss, reduction, what):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{what}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _target(y, like, what):
    """The target as a Tensor of ``like``'s dtype on ``like``'s device; a different shape is an error (a silent
    broadcast of (N, 1) against (N,) would compare every input with every target)."""
    if isinstance(y, (int, float)):
        return y
    if not isinstance(y, Tensor):
        y = Tensor(_backend.backend_of(like.data).asarray(y))
    if y.dtype != like.dtype:
        y = y.to(dtype=like.dtype)
    if y.shape != like.shape:
        raise ShapeError(f"{what}: the target's shape {y.shape} differs from the input's shape {like.shape}")
    return y


def mse_loss(input, target, reduction="mean"):
    """l_i = (x_i - y_i)^2            dl_i/dx_i = 2 (x_i - y_i),   dl_i/dy_i = -2 (x_i - y_i)"""
    d = input - _target(target, input, "mse_loss")
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """l_i = |x_i - y_i|              dl_i/dx_i = sign(x_i - y_i)  (0 where x_i = y_i, like PyTorch)"""
    return _reduce((input - _target(target, input, "l1_loss")).abs(), reduction, "l1_loss")


def _clamped_log(p):
    """max(log p, -100), like PyTorch's BCE. The derivative is that of the clamped function: 1/p where
    log p > -100 and 0 where it is clamped (p < e^-100, and p = 0, where log p itself would be -inf)."""
    pos = p.data > 0
    safe = _el.where(pos, p, 1.0)              # log never sees 0, so no -inf and no 0/0 in the backward
    return _el.where(pos, safe.log(), -100.0).clip(min=-100.0)


def _check_probabilities(p):
    """PyTorch's check: a value outside [0, 1] (or NaN, which the clamped log would turn into a loss of 100)
    is refused rather than turned into a meaningless, even negative, loss."""
    xp, d = p.xp, p.data
    if bool(xp.all((d >= 0) & (d <= 1))):
        return
    found = "NaN" if bool(xp.any(xp.isnan(d))) else f"values from {float(xp.min(d)):g} to {float(xp.max(d)):g}"
    raise ValueError(f"binary_cross_entropy: every element of the input must be a probability in [0, 1], but "
                     f"it holds {found}; for logits use binary_cross_entropy_with_logits")


@_on_device
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities p (``input``, in [0, 1]) against targets y::

        l_i = -w_i (y_i max(log p_i, -100) + (1 - y_i) max(log(1 - p_i), -100))

        dl_i/dp_i = w_i (p_i - y_i) / (p_i (1 - p_i))            (0 where a log is clamped)
        dl_i/dy_i = -w_i (log p_i - log(1 - p_i))

    The clamp at -100 is PyTorch's: p = 0 or 1 gives a finite loss; p outside [0, 1] (or NaN) is a
    ValueError, as in PyTorch. For logits prefer
    :func:`binary_cross_entropy_with_logits`: sigmoid followed by this loss loses precision for |z| > ~17
    and its gradient vanishes or overflows there. (PyTorch's backward in the clamped region divides by
    max(p (1 - p), 1e-12) instead of returning 0; the two agree wherever log p > -100.)"""
    y = _target(target, input, "binary_cross_entropy")
    _check_probabilities(input)
    loss = -(y * _clamped_log(input) + (1.0 - y) * _clamped_log(1.0 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


@_on_device
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of logits z (``input``) against targets y in [0, 1], as ONE stable primitive::

        l_i = w_i (max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|)))     (= -(y log s + (1-y) log(1-s)), s = sigmoid z)

        dl_i/dz_i = w_i (sigmoid(z_i) - y_i)          dl_i/dy_i = -w_i z_i

    Finite and exact for any z (|z| = 1e4 included). ``target`` may be a number (e.g. 1.0 for the GAN
    generator's "real" label). ``pos_weight`` is not supported. See :mod:`tinygen.ops.loss`."""
    if isinstance(target, (int, float)):
        target = Tensor(input.xp.full(input.data.shape, float(target), dtype=input.data.dtype))
    y = _target(target, input, "binary_cross_entropy_with_logits")
    if weight is None:
        return _bce_logits(input, y, reduction=reduction)
    return _reduce(_bce_logits(input, y, reduction="none") * weight, reduction, "binary_cross_entropy_with_logits")


@_on_device
def one_hot(labels, num_classes=-1, dtype="int64"):
    """Integer class labels of any shape -> one-hot vectors along a new last axis (``num_classes=-1``: the
    largest label + 1). int64 like PyTorch by default; pass ``dtype="float32"`` to multiply with logits.
    No gradient (labels are integers)."""
    t = labels if isinstance(labels, Tensor) else Tensor(_backend.get_backend(None).asarray(labels))
    xp = t.xp
    be = _backend.backend_of(t.data)
    if t.dtype.is_floating or t.dtype == "bool":
        raise TypeError(f"one_hot: labels must be integers, got {t.dtype}")
    lab = xp.astype(t.data, be.dtype("int64"))
    n = int(num_classes)
    if n < 0:
        n = int(xp.max(lab)) + 1 if lab.size else 0  # host sync: only when the number is not given
    if lab.size and (bool(xp.any(lab < 0)) or bool(xp.any(lab >= n))):
        raise ValueError(f"one_hot: labels must lie in [0, {n}), got values from {int(xp.min(lab))} to "
                         f"{int(xp.max(lab))}")
    hot = xp.expand_dims(lab, axis=-1) == xp.arange(n, dtype=lab.dtype)
    return Tensor(xp.astype(hot, be.dtype(dtype)))


def _class_mask(input, target, weight, ignore_index, what):
    """(mask, class axis): mask[n, c, ...] = weight[c] if target[n, ...] == c (else 0), a constant array.
    Targets equal to ``ignore_index`` get an all-zero row."""
    xp = input.xp
    be = _backend.backend_of(input.data)
    t = target if isinstance(target, Tensor) else Tensor(be.asarray(target))
    if t.dtype.is_floating or t.dtype == "bool":
        raise TypeError(f"{what}: class targets must be integers, got {t.dtype} (for probabilities as targets "
                        f"pass a float tensor of the input's shape to cross_entropy)")
    cax = 1 if input.ndim >= 2 else 0
    n_classes = input.shape[cax]
    expected = input.shape[:cax] + input.shape[cax + 1:]
    if t.shape != expected:
        raise ShapeError(f"{what}: input of shape {input.shape} needs class targets of shape {expected}, got "
                         f"{t.shape}")
    lab = xp.astype(t.data, be.dtype("int64"))
    valid = lab != ignore_index
    bad = xp.logical_and(valid, xp.logical_or(lab < 0, lab >= n_classes))
    if bool(xp.any(bad)):
        raise IndexError(f"{what}: target {int(xp.max(xp.where(bad, lab, xp.min(lab))))} is out of bounds for "
                         f"{n_classes} classes")
    lab = xp.expand_dims(lab, axis=cax)
    classes = xp.reshape(xp.arange(n_classes, dtype=lab.dtype), (n_classes,) + (1,) * (input.ndim - cax - 1))
    mask = xp.astype(lab == classes, input.data.dtype)
    if weight is not None:
        w = weight.data if isinstance(weight, Tensor) else be.asarray(weight, input.dtype)
        mask = mask * xp.reshape(w, (n_classes,) + (1,) * (input.ndim - cax - 1))
    return mask, cax


@_on_device
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` ((N, C), (N, C, d1, ...) or (C,)) at integer
    class ``target`` ((N,), (N, d1, ...) or ()), PyTorch's semantics::

        l_n = -w[t_n] input[n, t_n]    (0 where t_n == ignore_index)
        mean: sum_n l_n / sum_n w[t_n] (over the non-ignored n)

        dl_n/d input[n, c] = -w[c] [c = t_n]"""
    mask, cax = _class_mask(input, target, weight, ignore_index, "nll_loss")
    m = Tensor(mask)
    loss = -(input * m).sum(cax)
    if reduction == "mean":
        return loss.sum() / m.sum()
    return _reduce(loss, reduction, "nll_loss")


@_on_device
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Cross-entropy of logits ``input`` (classes on axis 1, or axis 0 for a single sample) against integer
    class targets, = nll_loss(log_softmax(input, class axis), target)::

        l_n = -w[t_n] (z[n, t_n] - log sum_c exp z[n, c])        dl_n/dz[n, c] = w[t_n] (softmax(z_n)_c - [c = t_n])

    A float ``target`` of the input's shape is taken as class probabilities q:
    l_n = -sum_c w[c] q[n, c] log softmax(z_n)_c (mean: over the N samples)."""
    cax = 1 if input.ndim >= 2 else 0
    logp = log_softmax(input, cax)
    if isinstance(target, Tensor) and target.dtype.is_floating:
        q = _target(target, input, "cross_entropy")
        if weight is not None:
            w = weight if isinstance(weight, Tensor) else Tensor(_backend.backend_of(input.data).asarray(
                weight, input.dtype))
            q = q * w.reshape((input.shape[cax],) + (1,) * (input.ndim - cax - 1))
        loss = -(logp * q).sum(cax)
        return _reduce(loss, reduction, "cross_entropy")
    return nll_loss(logp, target, weight, ignore_index, reduction)


def gaussian_kl(mu, logvar, reduction="none"):
    """KL( N(mu, diag sigma^2) || N(0, I) ), sigma^2 = exp(logvar), summed over the latent dimensions::

        KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))

        dKL/dmu_j = mu_j            dKL/dlogvar_j = (exp(logvar_j) - 1) / 2 = (sigma_j^2 - 1) / 2

    The latent dimensions are every axis but the first (batch) one; a 1-D ``mu`` is one latent vector.
    ``reduction="none"`` (the default) returns one KL per sample; "mean" averages them over the batch,
    "sum" adds them up."""
    if mu.shape != logvar.shape:
        raise ShapeError(f"gaussian_kl: mu {mu.shape} and logvar {logvar.shape} must have the same shape")
    axes = tuple(range(1, mu.ndim)) if mu.ndim >= 2 else None
    kl = ((mu * mu + logvar.exp() - logvar - 1.0) * 0.5).sum(axes)
    return _reduce(kl, reduction, "gaussian_kl")


def gaussian_nll(input, mean, logvar, reduction="mean", full=True):
    """Negative log-likelihood of ``input`` x under N(mean, exp(logvar)), elementwise::

        l = 1/2 (log 2 pi + logvar + (x - mean)^2 exp(-logvar))          (``full=False`` drops log 2 pi)

        dl/dmean = -(x - mean) exp(-logvar)    dl/dx = (x - mean) exp(-logvar)
        dl/dlogvar = 1/2 (1 - (x - mean)^2 exp(-logvar))

    PyTorch's ``gaussian_nll_loss(mean, x, var=exp(logvar), full)`` with the variance given as its log (what a
    VAE's decoder outputs): no clamping needed. ``logvar`` broadcasts against ``input`` (a shared variance);
    "mean" averages over all elements like PyTorch; for a VAE's per-sample likelihood sum over the data axes
    of ``reduction="none"``."""
    d = input - mean
    loss = (logvar + d * d * (-logvar).exp()) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll")


# ---------------------------------------------------------------------------------------------------------
# Regularisation and normalisation
# ---------------------------------------------------------------------------------------------------------
def dropout(x, p=0.5, training=True):
    """Inverted dropout: y = x m / (1 - p), m_i ~ Bernoulli(1 - p) drawn from x's device generator
    (seeded by tinygen.manual_seed)           dy/dx = m / (1 - p)

    E[y] = x. Identity when not ``training`` or p = 0; zeros when p = 1."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    be = _backend.backend_of(x.data)
    with be.device_scope():
        mask = be.bernoulli(x.data.shape, 1.0 - p, x.dtype)
        mask *= 1.0 / (1.0 - p)
    return x * Tensor(mask)


@_on_device
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but the channel axis 1 (PyTorch's semantics)::

        training:  mu = mean(x),  var = mean((x - mu)^2)       (biased: what normalises)
                   running_mean <- (1 - momentum) running_mean + momentum mu
                   running_var  <- (1 - momentum) running_var  + momentum var n / (n - 1)   (unbiased)
        otherwise: mu, var = running_mean, running_var
        y = (x - mu) / sqrt(var + eps) * weight + bias

    With xhat = (x - mu) / sqrt(var + eps), g = dL/dxhat and n values per channel, in training::

        dL/dx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)
        dL/dweight = sum(dL/dy xhat),   dL/dbias = sum(dL/dy)

    (it comes from the mean/var primitives below; in eval mode dL/dx = g / sqrt(var + eps)). The running
    estimates are updated in place, under no_grad; pass None for them to use batch statistics only."""
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: needs an input with a channel axis (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = math.prod(x.shape[a] for a in axes)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of "
                             f"shape {x.shape}")
        mu = x.mean(axes, keepdims=True)
        d = x - mu
        var = (d * d).mean(axes, keepdims=True)
        scale = (var + eps) ** -0.5            # (1, C, 1, ...): per-channel work stays small
        if running_mean is not None or running_var is not None:
            with no_grad():
                xp = x.xp
                if running_mean is not None:
                    running_mean.data[...] = (1.0 - momentum) * running_mean.data + momentum * xp.astype(
                        xp.reshape(mu.data, (c,)), running_mean.data.dtype)
                if running_var is not None:
                    running_var.data[...] = (1.0 - momentum) * running_var.data + (momentum * n / (n - 1)) * \
                        xp.astype(xp.reshape(var.data, (c,)), running_var.data.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
        scale = (running_var.reshape(shape) + eps) ** -0.5
        d = x - running_mean.reshape(shape)
    if weight is not None:
        scale = scale * weight.reshape(shape)  # fold the affine weight into the per-channel scale
    y = d * scale
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


# ---------------------------------------------------------------------------------------------------------
# WGAN-GP
# ---------------------------------------------------------------------------------------------------------
@_on_device
def interpolate(real, fake, eps=None):
    """x_hat = eps real + (1 - eps) fake, one eps per sample (eps ~ U[0, 1) from real's device generator when
    not given; a number, a (N,) tensor, or anything that broadcasts).      dx_hat/dreal = eps, dx_hat/dfake = 1 - eps"""
    if real.shape != fake.shape:
        raise ShapeError(f"interpolate: real {real.shape} and fake {fake.shape} must have the same shape")
    per_sample = (real.shape[0],) + (1,) * (real.ndim - 1) if real.ndim else ()
    if eps is None:
        eps = Tensor(_backend.backend_of(real.data).uniform(per_sample, real.dtype))
    elif not isinstance(eps, (int, float)):
        if not isinstance(eps, Tensor):
            eps = Tensor(_backend.backend_of(real.data).asarray(eps, real.dtype))
        if eps.ndim == 1 and real.ndim > 1 and eps.shape[0] == real.shape[0]:
            eps = eps.reshape(per_sample)
    return eps * real + (1.0 - eps) * fake


@_on_device
def gradient_penalty(critic, real, fake, lambda_=10.0, eps=None):
    """WGAN-GP's penalty (Gulrajani et al. 2017): lambda E[(||grad_x f(x_hat)||_2 - 1)^2] over the batch, at
    x_hat = interpolate(real, fake, eps).

    The inner gradient g = grad_x f(x_hat) is computed with ``tinygen.grad(..., create_graph=True)``, so the
    penalty is a differentiable function of the critic's parameters theta (its gradient is second order:
    d/dtheta ||g|| = (g / ||g||) . dg/dtheta, through the backward of every op of the critic). With
    r_n = ||g_n|| (one norm per sample, over all of its axes) the penalty is P = lambda/N sum_n (r_n - 1)^2,
    dP/dr_n = 2 lambda (r_n - 1) / N. The norm is sqrt(sum g^2 + 1e-12): finite derivative at g = 0.

    Detach ``fake`` for the critic's update as usual; if ``real``/``fake`` require grad, the penalty's
    gradient flows into them too."""
    x_hat = interpolate(real, fake, eps)
    if not x_hat.requires_grad:
        x_hat.requires_grad_(True)       # a fresh leaf: the inner gradient is taken w.r.t. it
    x_hat.name = "x_hat"                 # what a picture of the graph (tinygen.viz) calls it
    out = critic(x_hat)
    ones = Tensor(out.xp.ones_like(out.data))
    (g,) = _grad(out, x_hat, grad_outputs=ones, create_graph=True)
    g = g.reshape((g.shape[0], -1)) if g.ndim >= 1 else g.reshape((1, 1))
    norms = ((g * g).sum(1) + 1e-12).sqrt()
    return ((norms - 1.0) ** 2).mean() * lambda_
