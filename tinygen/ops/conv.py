"""2-D convolutions (NCHW, PyTorch's semantics and weight layouts): ``conv2d`` and ``conv_transpose2d``.

Three primitives, each linear in every input, each one's backward written with the other two:

* :class:`Conv2d`           y = conv2d(x, w) + b                      x (N, C, H, W), w (O, C, kh, kw)
* :class:`ConvTranspose2d`  y = conv_transpose2d(x, w) + b            x (N, C_in, H, W), w (C_in, C_out, kh, kw)
* :class:`Conv2dWeight`     gw = dL/dw of conv2d, from x and gy         (bilinear in x and gy)

The math, per output pixel (``x~`` is x zero-padded by ``p`` on every side; s stride, d dilation)::

    conv2d:      y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x~[n, c, i*s + u*d, j*s + v*d]

    dL/dx~[n, c, i*s + u*d, j*s + v*d] += sum_o w[o, c, u, v] * gy[n, o, i, j]   (scatter: conv_transpose2d)
    dL/dw[o, c, u, v]  = sum_{n, i, j} gy[n, o, i, j] * x~[n, c, i*s + u*d, j*s + v*d]   (conv2d_weight)
    dL/db[o]           = sum_{n, i, j} gy[n, o, i, j]

``conv_transpose2d`` with weight w IS the first line: the adjoint of ``conv2d`` with the same w read as
(O, C, kh, kw) = (C_in, C_out, kh, kw), i.e. <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>. So:

* Conv2d.backward:          gx = conv_transpose2d(gy, w),  gw = conv2d_weight(x, gy),  gb = sum(gy, (0, 2, 3))
* ConvTranspose2d.backward: gx = conv2d(gy, w),            gw = conv2d_weight(gy, x),  gb = sum(gy, (0, 2, 3))
  (the roles swap: the transposed conv's *output* plays conv2d's input, its input plays conv2d's output)
* Conv2dWeight.backward (upstream ggw, shaped like w): d/dx = conv_transpose2d(gy, ggw), d/dgy = conv2d(x, ggw)
  (gw is bilinear: <ggw, conv2d_weight(x, gy)> = <conv2d(x, ggw), gy>)

and every second derivative (WGAN-GP's gradient penalty through a conv critic) comes out of the same three.

Sizes. conv2d: OH = floor((H + 2p - d(k-1) - 1) / s) + 1. The rows of x~ past (OH-1)s + d(k-1) are read by no
window, so the adjoint alone cannot tell H from H - r (r = that remainder); ``output_padding`` (< max(s, d),
as PyTorch requires) adds those rows back: H_out = (H-1)s - 2p + d(k-1) + output_padding + 1. Internally the
primitives are a little more general than the public functions (Conv2d may compute only the first OH x OW
outputs, ConvTranspose2d takes any output_padding >= 0) so that every backward is again one of them.

How it is computed (GEMM-based, no Python loop over pixels or batch elements):

* im2col: the windows of the padded input (``backend.sliding_windows``: a zero-copy strided view on NumPy and
  CuPy) reshaped into one matrix ``cols`` of shape (C*kh*kw, OH*OW*N): one copy. conv2d is then ONE matmul
  ``w.reshape(O, C*kh*kw) @ cols`` -> (O, OH*OW*N), and the weight gradient ONE matmul
  ``gy_matrix (O, OH*OW*N) @ cols^T``.
* col2im (conv_transpose2d, and so conv2d's input gradient): ONE matmul ``w^T @ x_matrix`` gives every pixel's
  contribution for every kernel tap, then ``backend.fold_windows`` adds them up (on NumPy and CuPy a loop
  over the kh*kw taps, each adding one contiguous slab into a strided slice of the output).
* Layout: the matrices' columns run over (i, j, n), the batch innermost, so the ops compute in (C, H, W, N)
  memory and hand out NCHW *views* of it (``permute_dims``, no copy). With the batch innermost every copy
  above (the im2col gather, the col2im adds) moves runs of N contiguous numbers instead of single pixels with a
  stride (about 4x faster for the DCGAN layers than with (n, i, j) columns); the next conv reads such a view
  without a copy (its reshape to (C, H*W*N) is free), and NumPy's elementwise ops keep the layout.
"""
from __future__ import annotations

import operator

from .. import autograd as _autograd
from .. import backend as _backend
from ..autograd import Function
from ..tensor import Tensor
from . import reduce as _reduce

__all__ = ["conv2d", "conv2d_output_size", "conv2d_weight", "conv_transpose2d", "conv_transpose2d_output_size"]


# ---------------------------------------------------------------------------------------------------------
# Sizes and arguments
# ---------------------------------------------------------------------------------------------------------
def _pair(v, what, op, minimum):
    """An int or a pair of ints as a (height, width) tuple, each >= ``minimum``."""
    try:
        t = (_int(v),) * 2
    except TypeError:
        try:
            t = tuple(_int(e) for e in v)
        except TypeError:
            t = ()
        if len(t) != 2:
            raise TypeError(f"{op}: {what} must be an int or a pair of ints, got {v!r}") from None
    if min(t) < minimum:
        raise ValueError(f"{op}: {what} must be >= {minimum}, got {v!r}")
    return t


def _int(v):
    """``v`` as an int (Python or NumPy integers; not bools, floats or arrays)."""
    if isinstance(v, bool) or not hasattr(v, "__index__") or hasattr(v, "shape") and getattr(v, "ndim", 0):
        raise TypeError
    return operator.index(v)


def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """floor((H + 2p - d(k-1) - 1) / s) + 1 for one axis (<= 0 when the kernel does not fit)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose2d_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """(H - 1)s - 2p + d(k-1) + output_padding + 1 for one axis."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _adjoint_output_padding(in_size, out_size, kernel, stride, padding, dilation):
    """The output_padding with which conv_transpose2d maps ``out_size`` back to ``in_size`` (per axis)."""
    return tuple(h + 2 * p - d * (k - 1) - 1 - (o - 1) * s
                 for h, o, k, s, p, d in zip(in_size, out_size, kernel, stride, padding, dilation))


def _hw(a):
    return tuple(a.shape[-2:])


def _check_4d(op, what, a, layout):
    if a.ndim != 4:
        raise ValueError(f"the {what} must be 4-D {layout}, got shape {tuple(a.shape)}"
                         + (" (add a batch axis: x.unsqueeze(0))" if what == "input" and a.ndim == 3 else ""))


def _check_bias(b, n):
    if b is not None and tuple(b.shape) != (n,):
        raise ValueError(f"the bias must have shape ({n},), got {tuple(b.shape)}")


# ---------------------------------------------------------------------------------------------------------
# im2col / col2im on arrays (the forward passes' machinery)
# ---------------------------------------------------------------------------------------------------------
def _im2col(xp, x, kernel, stride, padding, dilation, out_size):
    """cols[(c, u, v), (i, j, n)] = x~[n, c, i*s + u*d, j*s + v*d]: shape (C*kh*kw, OH*OW*N), one copy (two
    with padding: x~, zero-padded, is materialised first, and only as far as the windows read it)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    ph, pw = padding
    xc = xp.permute_dims(x, (1, 2, 3, 0))                                      # (C, H, W, N): a view
    if ph or pw:
        need_h, need_w = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
        h2, w2 = max(0, min(h, need_h - ph)), max(0, min(w, need_w - pw))      # the part of x that is read
        xpad = xp.zeros((c, need_h, need_w, n), dtype=x.dtype, device=x.device)
        if h2 and w2:
            xpad[:, ph:ph + h2, pw:pw + w2, :] = xc if (h2, w2) == (h, w) else xc[:, :h2, :w2, :]
        xc = xpad
    win = _backend.sliding_windows(xc, kernel, stride, dilation, out_size)    # (C, kh, kw, OH, OW, N)
    return xp.reshape(win, (c * kh * kw, oh * ow * n))


def _matrix(xp, a):
    """(N, C, H, W) -> the (C, H*W*N) matrix: free when ``a`` is a view of (C, H, W, N) memory, as the
    outputs of these ops are."""
    n, c, h, w = a.shape
    return xp.reshape(xp.permute_dims(a, (1, 2, 3, 0)), (c, h * w * n))


def _nchw(xp, y):
    """(C, H, W, N) memory -> the NCHW view handed out."""
    return xp.permute_dims(y, (3, 0, 1, 2))


def _conv2d(xp, x, w, b, stride, padding, dilation, out_size, cols=None):
    n = x.shape[0]
    o = w.shape[0]
    if cols is None:
        cols = _im2col(xp, x, _hw(w), stride, padding, dilation, out_size)
    y = xp.matmul(xp.reshape(w, (o, -1)), cols)                 # (O, OH*OW*N): the one GEMM
    y = xp.reshape(y, (o,) + tuple(out_size) + (n,))
    if b is not None:
        y += xp.reshape(b, (o, 1, 1, 1))
    return _nchw(xp, y), cols


def _conv_transpose2d(xp, x, w, b, stride, padding, output_padding, dilation, xm=None):
    n, cin, h, wd = x.shape
    cout, (kh, kw) = w.shape[1], _hw(w)
    oh, ow = (conv_transpose2d_output_size(*a) for a in zip((h, wd), (kh, kw), stride, padding, output_padding,
                                                             dilation))
    # every input pixel times every kernel tap, tap-major so that each tap's slab is contiguous:
    # cols[(u, v, co), (i, j, n)] = sum_ci w[ci, co, u, v] x[n, ci, i, j]
    wt = xp.reshape(xp.permute_dims(w, (2, 3, 1, 0)), (kh * kw * cout, cin))   # a small copy of w
    if xm is None:
        xm = _matrix(xp, x)
    cols = xp.reshape(xp.matmul(wt, xm), (kh, kw, cout, h, wd, n))
    # col2im: tap (u, v) of input pixel (i, j) lands on output row i*s + u*d - p, column j*s + v*d - p
    y = _backend.fold_windows(cols, (oh, ow), stride, dilation, padding)       # (C_out, OH, OW, N)
    if b is not None:
        y += xp.reshape(b, (cout, 1, 1, 1))   # in place: y is our own (possibly cropped) buffer
    return _nchw(xp, y), xm


def _conv2d_weight(xp, x, gy, kernel, stride, padding, dilation, cols=None, gym=None):
    o = gy.shape[1]
    c = x.shape[1]
    if cols is None:
        cols = _im2col(xp, x, kernel, stride, padding, dilation, _hw(gy))
    if gym is None:
        gym = _matrix(xp, gy)
    gw = xp.matmul(gym, xp.matrix_transpose(cols))               # (O, C*kh*kw): the one GEMM
    return xp.reshape(gw, (o, c) + tuple(kernel))


def _bias_grad(gy, gym=None):
    """sum(gy, (0, 2, 3)). First order (nothing records the backward): row sums of gy's (O, OH*OW*N) matrix,
    contiguous when gy has these ops' layout (the NCHW reduction strides over memory: ~7x slower for the
    DCGAN's maps); with create_graph the Tensor op, so that it is differentiated again."""
    if _autograd.is_grad_enabled():
        return _reduce.sum(gy, (0, 2, 3))
    xp = _backend.namespace(gy.data)
    return Tensor(xp.sum(_matrix(xp, gy.data) if gym is None else gym, axis=1))


# ---------------------------------------------------------------------------------------------------------
# The primitives
# ---------------------------------------------------------------------------------------------------------
class _ConvBase(Function):
    register = False

    def shape_error(self, datas, kwargs, err):
        return f"{self.name}: {err}"

    cols = x_matrix = None   # arrays forward keeps for backward (see Conv2d, ConvTranspose2d)

    def free(self):
        super().free()
        self.cols = self.x_matrix = None


class Conv2d(_ConvBase):
    """y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x~[n, c, i*s + u*d, j*s + v*d]   (x~: x zero-padded)

    dL/dx = conv_transpose2d(dL/dy, w)  (output_padding chosen so that it has x's size)
    dL/dw = conv2d_weight(x, dL/dy)     = sum_{n,i,j} dL/dy[n, o, i, j] x~[n, c, i*s + u*d, j*s + v*d]
    dL/db = sum_{n,i,j} dL/dy[n, o, i, j]

    x (N, C, H, W), w (O, C, kh, kw), b (O,) optional. ``out_size`` (internal): compute only the first
    (OH, OW) outputs (the adjoint of a conv_transpose2d whose output_padding is >= its stride).
    ``cols`` (internal): x's im2col matrix if the caller already has it; forward keeps it for the weight
    gradient (the one im2col of x serves both)."""

    name = "conv2d"

    def forward(self, x, w, b=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), out_size=None, cols=None):
        _check_4d(self.name, "input", x, "(N, C, H, W)")
        _check_4d(self.name, "weight", w, "(out_channels, in_channels, kh, kw)")
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"input has {x.shape[1]} channels but the weight expects {w.shape[1]} "
                             f"(input shape {tuple(x.shape)}, weight shape {tuple(w.shape)})")
        _check_bias(b, w.shape[0])
        kernel = _hw(w)
        natural = tuple(conv2d_output_size(*a) for a in zip(_hw(x), kernel, stride, padding, dilation))
        if min(natural) <= 0:
            (kh, kw), (h, wd) = kernel, _hw(x)
            raise ValueError(f"the kernel ({kh}x{kw}, dilation {_fmt(dilation)}) is larger than the padded input "
                             f"({h + 2 * padding[0]}x{wd + 2 * padding[1]})")
        if out_size is None:
            out_size = natural
        elif not all(1 <= o <= m for o, m in zip(out_size, natural)):
            raise ValueError(f"out_size {tuple(out_size)} is not between (1, 1) and {natural}")
        self.opts = (stride, padding, dilation)
        y, self.cols = _conv2d(self.xp, x, w, b, stride, padding, dilation, tuple(out_size), cols)
        self.save_for_backward(x, w)
        return y

    def backward(self, gy):
        x, w = self.saved_tensors
        need = list(self.needs_input_grad) + [False]
        stride, padding, dilation = self.opts
        gx = gw = gb = None
        # both gradients read gy as a (O, OH*OW*N) matrix: build it once (a copy unless gy has our layout)
        gym = _matrix(_backend.namespace(gy.data), gy.data) if need[0] and need[1] else None
        if need[0]:
            op = _adjoint_output_padding(x.shape[2:], gy.shape[2:], w.shape[2:], stride, padding, dilation)
            gx = ConvTranspose2d.apply(gy, w, stride=stride, padding=padding, output_padding=op, dilation=dilation,
                                       x_matrix=gym)
        if need[1]:
            gw = Conv2dWeight.apply(x, gy, kernel_size=tuple(w.shape[2:]), stride=stride, padding=padding,
                                    dilation=dilation, cols=self.cols, gy_matrix=gym)
        if need[2]:
            gb = _bias_grad(gy, gym)
        self.cols = None
        return gx, gw, gb

    @staticmethod
    def sample(draw):
        n, c, o = _draw_sizes(draw)
        k, s, p, d = _draw_geometry(draw)
        hw = _draw_input_size(draw, k, p, d)
        arrays = [draw.array((n, c) + hw), draw.array((o, c) + k)]
        if draw.boolean():
            arrays.append(draw.array((o,)))
        natural = tuple(conv2d_output_size(hw[a], k[a], s[a], p[a], d[a]) for a in range(2))
        if draw.integer(0, 3) == 0:  # the internal "first OH x OW outputs only" form
            out = tuple(draw.integer(1, m) for m in natural)
            return arrays, lambda *t: Conv2d.apply(*t, stride=s, padding=p, dilation=d, out_size=out)
        return arrays, lambda *t: conv2d(*t, stride=s, padding=p, dilation=d)


class ConvTranspose2d(_ConvBase):
    """y[n, o, i*s + u*d - p, j*s + v*d - p] += sum_c w[c, o, u, v] * x[n, c, i, j]  (+ b[o]): the adjoint of conv2d

    dL/dx = conv2d(dL/dy, w)            (w read as conv2d's (O, C, kh, kw) = (C_in, C_out, kh, kw))
    dL/dw = conv2d_weight(dL/dy, x)     = sum_{n,i,j} x[n, c, i, j] dL/dy~[n, o, i*s + u*d, j*s + v*d]
    dL/db = sum_{n,i,j} dL/dy[n, o, i, j]

    x (N, C_in, H, W), w (C_in, C_out, kh, kw), b (C_out,) optional;
    H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1. ``x_matrix`` (internal): x as the (C_in, H*W*N)
    matrix if the caller already has it; forward keeps it for the weight gradient."""

    name = "conv_transpose2d"

    def forward(self, x, w, b=None, *, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                x_matrix=None):
        _check_4d(self.name, "input", x, "(N, C_in, H, W)")
        _check_4d(self.name, "weight", w, "(in_channels, out_channels, kh, kw)")
        if x.shape[1] != w.shape[0]:
            raise ValueError(f"input has {x.shape[1]} channels but the weight expects {w.shape[0]} "
                             f"(input shape {tuple(x.shape)}, weight shape {tuple(w.shape)}; "
                             f"conv_transpose2d weights are (in_channels, out_channels, kh, kw))")
        _check_bias(b, w.shape[1])
        out = tuple(conv_transpose2d_output_size(*a) for a in zip(_hw(x), _hw(w), stride, padding, output_padding,
                                                                  dilation))
        if min(out) <= 0:
            raise ValueError(f"the output would be {out[0]}x{out[1]}: padding {_fmt(padding)} crops away "
                             f"everything of the {_hw(x)[0]}x{_hw(x)[1]} input's full "
                             f"{out[0] + 2 * padding[0]}x{out[1] + 2 * padding[1]} result")
        self.opts = (stride, padding, dilation)
        self.save_for_backward(x, w)
        y, self.x_matrix = _conv_transpose2d(self.xp, x, w, b, stride, padding, output_padding, dilation, x_matrix)
        return y

    def backward(self, gy):
        x, w = self.saved_tensors
        need = list(self.needs_input_grad) + [False]
        stride, padding, dilation = self.opts
        kernel, out = tuple(w.shape[2:]), tuple(x.shape[2:])
        gx = gw = gb = None
        # both gradients read gy's im2col matrix: build it once
        cols = _im2col(_backend.namespace(gy.data), gy.data, kernel, stride, padding, dilation, out) \
            if need[0] and need[1] else None
        if need[0]:
            gx = Conv2d.apply(gy, w, stride=stride, padding=padding, dilation=dilation, out_size=out, cols=cols)
        if need[1]:
            gw = Conv2dWeight.apply(gy, x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                                    cols=cols, gy_matrix=self.x_matrix)
        if need[2]:
            gb = _bias_grad(gy)
        self.x_matrix = None
        return gx, gw, gb

    @staticmethod
    def sample(draw):
        n, cin, cout = _draw_sizes(draw)
        k, s, _, d = _draw_geometry(draw)
        hw = (draw.integer(1, 3), draw.integer(1, 3))
        op = tuple(draw.integer(0, max(s[a], d[a]) - 1) for a in range(2))
        # padding may not crop the whole output away
        p = tuple(draw.integer(0, min(2, ((hw[a] - 1) * s[a] + d[a] * (k[a] - 1) + op[a]) // 2)) for a in range(2))
        arrays = [draw.array((n, cin) + hw), draw.array((cin, cout) + k)]
        if draw.boolean():
            arrays.append(draw.array((cout,)))
        return arrays, lambda *t: conv_transpose2d(*t, stride=s, padding=p, output_padding=op, dilation=d)


class Conv2dWeight(_ConvBase):
    """gw[o, c, u, v] = sum_{n, i, j} gy[n, o, i, j] * x~[n, c, i*s + u*d, j*s + v*d]   (conv2d's dL/dw)

    Bilinear in x and gy; for an upstream gradient ggw (shaped like w):
    d/dx = conv_transpose2d(gy, ggw),   d/dgy = conv2d(x, ggw)

    x (N, C, H, W), gy (N, O, OH, OW) with OH x OW at most conv2d's output size (the first windows are used);
    ``kernel_size`` (kh, kw) is needed because the sizes do not determine it. ``cols``, ``gy_matrix``
    (internal): x's im2col matrix and gy as the (O, OH*OW*N) matrix, if the caller already has them."""

    name = "conv2d_weight"

    def forward(self, x, gy, *, kernel_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1), cols=None,
                gy_matrix=None):
        _check_4d(self.name, "input", x, "(N, C, H, W)")
        _check_4d(self.name, "output gradient", gy, "(N, O, OH, OW)")
        if x.shape[0] != gy.shape[0]:
            raise ValueError(f"the input has batch size {x.shape[0]} but the output gradient {gy.shape[0]}")
        natural = tuple(conv2d_output_size(*a) for a in zip(_hw(x), kernel_size, stride, padding, dilation))
        if not all(1 <= g <= m for g, m in zip(_hw(gy), natural)):
            raise ValueError(f"an output gradient of spatial size {_hw(gy)} does not fit a {_fmt(kernel_size)} "
                             f"kernel on input {tuple(x.shape)} (the convolution's output is {natural})")
        self.opts = (tuple(kernel_size), stride, padding, dilation)
        self.save_for_backward(x, gy)
        return _conv2d_weight(self.xp, x, gy, tuple(kernel_size), stride, padding, dilation, cols, gy_matrix)

    def backward(self, ggw):
        x, gy = self.saved_tensors
        nx, ngy = self.needs_input_grad
        kernel, stride, padding, dilation = self.opts
        gx = ggy = None
        if nx:
            op = _adjoint_output_padding(x.shape[2:], gy.shape[2:], kernel, stride, padding, dilation)
            gx = ConvTranspose2d.apply(gy, ggw, stride=stride, padding=padding, output_padding=op, dilation=dilation)
        if ngy:
            ggy = Conv2d.apply(x, ggw, stride=stride, padding=padding, dilation=dilation, out_size=tuple(gy.shape[2:]))
        return gx, ggy

    @staticmethod
    def sample(draw):
        n, c, o = _draw_sizes(draw)
        k, s, p, d = _draw_geometry(draw)
        hw = _draw_input_size(draw, k, p, d)
        natural = tuple(conv2d_output_size(hw[a], k[a], s[a], p[a], d[a]) for a in range(2))
        out = natural if draw.boolean() else tuple(draw.integer(1, m) for m in natural)
        return [draw.array((n, c) + hw), draw.array((n, o) + out)], \
            lambda x, gy: conv2d_weight(x, gy, k, stride=s, padding=p, dilation=d)


def _draw_sizes(draw):
    """Batch, input and output channels for the gradient checks: small, since a full-Jacobian check costs two
    forward passes per input element."""
    return draw.integer(1, 2), draw.integer(1, 2), draw.integer(1, 2)


def _draw_input_size(draw, k, p, d):
    """(H, W) for which conv2d has at least one output, at most 2 more than the least such size."""
    lo = [max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]) for a in range(2)]
    return tuple(draw.integer(lo[a], lo[a] + 2) for a in range(2))


def _draw_geometry(draw):
    """Kernel, stride, padding, dilation pairs for the gradient checks."""
    square = draw.boolean()
    k = (draw.integer(1, 3),) * 2 if square else (draw.integer(1, 3), draw.integer(1, 3))
    s = (draw.integer(1, 2),) * 2 if square else (draw.integer(1, 2), draw.integer(1, 2))
    p = (draw.integer(0, 2),) * 2 if square else (draw.integer(0, 2), draw.integer(0, 2))
    d = (draw.integer(1, 2),) * 2 if square else (draw.integer(1, 2), draw.integer(1, 2))
    return k, s, p, d


def _fmt(pair):
    return f"{pair[0]}x{pair[1]}" if pair[0] != pair[1] else f"{pair[0]}"


# ---------------------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------------------
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation, like PyTorch's ``F.conv2d``) of x (N, C, H, W) with weight
    (O, C, kh, kw), plus bias (O,). ``stride``, ``padding`` (zeros), ``dilation``: an int or an (h, w) pair.
    Output (N, O, OH, OW), OH = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1."""
    s = _pair(stride, "stride", "conv2d", 1)
    p = _pair(padding, "padding", "conv2d", 0)
    d = _pair(dilation, "dilation", "conv2d", 1)
    if bias is None:
        return Conv2d.apply(x, weight, stride=s, padding=p, dilation=d)
    return Conv2d.apply(x, weight, bias, stride=s, padding=p, dilation=d)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed 2-D convolution (PyTorch's ``F.conv_transpose2d``, groups=1): the adjoint of ``conv2d`` with
    the same weight, i.e. the gradient of conv2d w.r.t. its input. x (N, C_in, H, W), weight
    (C_in, C_out, kh, kw) (PyTorch's layout), bias (C_out,). Output (N, C_out, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1; ``output_padding`` (extra rows
    and columns at the bottom/right) must be smaller than stride or dilation."""
    s = _pair(stride, "stride", "conv_transpose2d", 1)
    p = _pair(padding, "padding", "conv_transpose2d", 0)
    op = _pair(output_padding, "output_padding", "conv_transpose2d", 0)
    d = _pair(dilation, "dilation", "conv_transpose2d", 1)
    if any(o >= max(sa, da) for o, sa, da in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding!r} must be smaller than either stride "
                         f"{stride!r} or dilation {dilation!r}")
    if bias is None:
        return ConvTranspose2d.apply(x, weight, stride=s, padding=p, output_padding=op, dilation=d)
    return ConvTranspose2d.apply(x, weight, bias, stride=s, padding=p, output_padding=op, dilation=d)


def conv2d_weight(x, grad_output, kernel_size, stride=1, padding=0, dilation=1):
    """The gradient of ``conv2d(x, w, stride=..., padding=..., dilation=...)`` w.r.t. a weight of spatial size
    ``kernel_size``, given the output gradient (N, O, OH, OW): a (O, C, kh, kw) tensor. Differentiable in both."""
    k = _pair(kernel_size, "kernel_size", "conv2d_weight", 1)
    s = _pair(stride, "stride", "conv2d_weight", 1)
    p = _pair(padding, "padding", "conv2d_weight", 0)
    d = _pair(dilation, "dilation", "conv2d_weight", 1)
    return Conv2dWeight.apply(x, grad_output, kernel_size=k, stride=s, padding=p, dilation=d)
