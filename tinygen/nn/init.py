"""Parameter initialisation, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills a tensor IN PLACE (the same Tensor object gets new ``data``, under no_grad) and returns
it. Random numbers come from the generator of the tensor's own device, so ``tinygen.manual_seed(n)`` makes
an initialisation repeatable. (The numbers differ from PyTorch's, whose generator is another: copy weights
across to compare layers number for number.)

Fans: for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel), fan_out = out * prod(kernel).
"""
from __future__ import annotations

import math

from .. import backend as _backend
from ..autograd import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "_calculate_fan_in_and_fan_out"]


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)::

        linear, conv*, sigmoid: 1      tanh: 5/3      relu: sqrt(2)      selu: 3/4
        leaky_relu: sqrt(2 / (1 + negative_slope^2))   (negative_slope = param, default 0.01)"""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) = (shape[1] * receptive field, shape[0] * receptive field), receptive field =
    prod(shape[2:]). Needs at least 2 dimensions."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, draw):
    """Replace ``tensor.data`` by ``draw(backend, shape, dtype)`` (drawn in the tensor's dtype when the
    generator supports it, else in float64 and cast)."""
    be = _backend.backend_of(tensor.data)
    dt = tensor.dtype
    with no_grad(), be.device_scope():
        gen_dt = dt if dt in ("float32", "float64") else _backend.float64
        a = draw(be, tuple(tensor.shape), gen_dt)
        if gen_dt != dt:
            a = be.xp.astype(a, be.dtype(dt))
        tensor.data = a
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    return _fill(tensor, lambda be, shape, dt: be.uniform(shape, dt, float(a), float(b)))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    def draw(be, shape, dt):
        z = be.normal(shape, dt)
        return z * std + mean if (std != 1.0 or mean != 0.0) else z
    return _fill(tensor, draw)


def constant_(tensor, val):
    """Fill with the number ``val``."""
    be = _backend.backend_of(tensor.data)
    with no_grad(), be.device_scope():
        tensor.data = be.xp.full(tuple(tensor.shape), val, dtype=tensor.data.dtype)
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0 if tensor.dtype.is_floating else 1)


def zeros_(tensor):
    return constant_(tensor, 0.0 if tensor.dtype.is_floating else 0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot & Bengio (2010): U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    """Glorot & Bengio (2010): N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): U(-bound, bound), bound = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in or fan_out (``mode``). Linear and Conv layers use a = sqrt(5), which gives
    bound = 1 / sqrt(fan_in)."""
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor  # PyTorch warns and leaves a zero-element tensor alone
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan)."""
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std)
