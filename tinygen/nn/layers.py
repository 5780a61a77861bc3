"""Layers with PyTorch's names, weight shapes and default initialisations.

    Linear(in, out)               weight (out, in), bias (out,)
    Conv2d(in, out, k)            weight (out, in, kh, kw), bias (out,)
    ConvTranspose2d(in, out, k)   weight (in, out, kh, kw), bias (out,)
    BatchNorm1d/2d(C)             weight (C,), bias (C,); buffers running_mean, running_var, num_batches_tracked

Default initialisation, as ``torch.nn`` does it (``reset_parameters``): weight ~ kaiming_uniform_(a=sqrt(5)),
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm: weight 1,
bias 0, running mean 0, running variance 1. Every layer takes ``device=`` and ``dtype=``.
"""
from __future__ import annotations

import math

from .. import backend as _backend
from .. import creation as _creation
from .. import functional as F
from ..tensor import ShapeError, Tensor
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "Dropout", "ReLU", "LeakyReLU",
           "Sigmoid", "Tanh", "Softplus", "Flatten", "Unflatten", "Identity"]


def _empty(shape, device, dtype):
    return Parameter(_creation.zeros(*shape, dtype=dtype, device=device))


def _input(x, layer):
    """A layer's input as a Tensor: an array (NumPy, CuPy) is taken as it is, like a Tensor made from it;
    anything else is refused in one sentence."""
    if isinstance(x, Tensor):
        return x
    try:
        _backend.backend_of(x)
    except (TypeError, _backend.DeviceError):
        raise TypeError(f"{type(layer).__name__}: the input must be a Tensor or an array, got "
                        f"{type(x).__name__}") from None
    return Tensor(x)


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
    return v


def _reset_weight_and_bias(weight, bias):
    """PyTorch's reset_parameters of Linear and the convolutions."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b for x of shape (..., in_features) -> (..., out_features).

    dL/dx = dL/dy W,  dL/dW = dL/dy^T x (summed over the leading axes),  dL/db = sum of dL/dy (one fused op)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _empty((self.out_features, self.in_features), device, dtype)
        if bias:
            self.bias = _empty((self.out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        x = _input(x, self)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, bias, wshape, device,
                 dtype):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.weight = _empty(wshape + self.kernel_size, device, dtype)
        if bias:
            self.bias = _empty((self.out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch computes fan_in from weight.shape[1] for both Conv and ConvTranspose (for the latter that is
        # out_channels * kh * kw): the same here, so that initial scales match.
        _reset_weight_and_bias(self.weight, self.bias)

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{type(self).__name__}: expected input of shape (N, {self.in_channels}, H, W), "
                             f"got {x.shape}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation): (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1. The derivatives are the
    conv primitive's (:mod:`tinygen.ops.conv`)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        if groups != 1 or padding_mode != "zeros":
            raise NotImplementedError("Conv2d supports groups=1 and padding_mode='zeros' only")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         (int(out_channels), int(in_channels)), device, dtype)

    def forward(self, x):
        x = _input(x, self)
        self._check_input(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the adjoint of Conv2d; "fractionally strided"): (N, C_in, H, W) ->
    (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
    Weight (in_channels, out_channels, kh, kw) as in PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if groups != 1 or padding_mode != "zeros":
            raise NotImplementedError("ConvTranspose2d supports groups=1 and padding_mode='zeros' only")
        self.output_padding = _pair(output_padding, "output_padding")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         (int(in_channels), int(out_channels)), device, dtype)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"output_padding {self.output_padding} must be smaller than stride "
                                 f"{self.stride} or dilation {self.dilation}")

    def forward(self, x):
        x = _input(x, self)
        self._check_input(x)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.dilation)


class _BatchNorm(Module):
    _dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(_creation.ones(c, dtype=dtype, device=device))
            self.bias = Parameter(_creation.zeros(c, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", _creation.zeros(c, dtype=dtype, device=device))
            self.register_buffer("running_var", _creation.ones(c, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", _creation.tensor(0, dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        x = _input(x, self)
        if x.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            raise ShapeError(f"{type(self).__name__}: expected {dims} input, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}): input has {x.shape[1]} channels "
                             f"(shape {x.shape})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self.num_batches_tracked
            nbt.data[...] = nbt.data + 1
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / int(nbt.item())
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over N (and L), per channel. See F.batch_norm for
    the formulas and derivatives."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over N, H, W, per channel. See F.batch_norm."""
    _dims = (4,)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the others by 1/(1-p)
    (so E[y] = x); in evaluation, the identity."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = float(p), bool(inplace)  # inplace is accepted; the result is always a new tensor

    def forward(self, x):
        x = _input(x, self)
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class ReLU(Module):
    """y = max(x, 0)        dy/dx = [x > 0]"""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        x = _input(x, self)
        return F.relu(x)


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope x        dy/dx = 1 or negative_slope"""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        x = _input(x, self)
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))        dy/dx = y (1 - y)"""

    def forward(self, x):
        x = _input(x, self)
        return F.sigmoid(x)


class Tanh(Module):
    """y = tanh(x)        dy/dx = 1 - y^2"""

    def forward(self, x):
        x = _input(x, self)
        return F.tanh(x)


class Softplus(Module):
    """y = log(1 + exp(beta x)) / beta        dy/dx = sigmoid(beta x)   (exact for all x; threshold unused)"""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        x = _input(x, self)
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        x = _input(x, self)
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (e.g. Unflatten(1, (1, 28, 28)))."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x):
        x = _input(x, self)
        if math.prod(self.unflattened_size) != x.shape[self.dim]:
            raise ShapeError(f"Unflatten: axis {self.dim} of shape {x.shape} cannot be split into "
                             f"{self.unflattened_size}")
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """y = x (a placeholder; arguments are accepted and ignored, like PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x

