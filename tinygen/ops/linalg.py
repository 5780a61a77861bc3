"""Matrix products: ``matmul`` (NumPy semantics: batched, broadcast, 1-D promotion) and the fused ``linear``."""
from __future__ import annotations

from .. import autograd as _autograd
from ..autograd import Function
from ..tensor import Tensor
from . import reduce as _reduce
from . import shape as _shape
from ._util import unbroadcast


class MatMul(Function):
    """Y = A @ B            dL/dA = dL/dY @ B^T,   dL/dB = A^T @ dL/dY

    Batched: the leading axes broadcast (the gradients are summed back over broadcast axes). A 1-D A is a
    row vector (1, k) and a 1-D B a column vector (k, 1), the added axis removed from the result."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs tensors with at least one dimension")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError("inner dimensions differ")
        self.save_for_backward(a, b)
        return self.xp.asarray(self.xp.matmul(a, b))

    def shape_error(self, datas, kwargs, err):
        a, b = datas
        return f"matmul: cannot multiply {tuple(a.shape)} by {tuple(b.shape)} ({err})"

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        sa, sb = a.shape, b.shape
        a2 = a if len(sa) > 1 else _shape.reshape(a, (1, sa[0]))
        b2 = b if len(sb) > 1 else _shape.reshape(b, (sb[0], 1))
        gshape = list(gy.shape)
        if len(sa) == 1:
            gshape.insert(len(gshape) - (0 if len(sb) == 1 else 1), 1)
        if len(sb) == 1:
            gshape.append(1)
        g2 = gy if tuple(gshape) == gy.shape else _shape.reshape(gy, tuple(gshape))
        ga = gb = None
        if na:
            ga = unbroadcast(matmul(g2, _shape.transpose(b2, -1, -2)), a2.shape)
            ga = ga if len(sa) > 1 else _shape.reshape(ga, sa)
        if nb:
            gb = unbroadcast(matmul(_shape.transpose(a2, -1, -2), g2), b2.shape)
            gb = gb if len(sb) > 1 else _shape.reshape(gb, sb)
        return ga, gb

    @staticmethod
    def sample(draw):
        n, k, m = draw.integer(1, 4), draw.integer(1, 4), draw.integer(1, 4)
        kind = draw.choice(["2d", "1d-left", "1d-right", "1d-both", "batched"])
        if kind == "2d":
            sa, sb = (n, k), (k, m)
        elif kind == "1d-left":
            sa, sb = (k,), (draw.integer(1, 3), k, m) if draw.boolean() else (k, m)
        elif kind == "1d-right":
            sa, sb = (draw.integer(1, 3), n, k) if draw.boolean() else (n, k), (k,)
        elif kind == "1d-both":
            sa, sb = (k,), (k,)
        else:
            ba, bb = draw.broadcast_pair(min_dims=1, max_dims=2, max_side=3)
            sa, sb = ba + (n, k), bb + (k, m)
        return [draw.array(sa), draw.array(sb)], matmul


class Linear(Function):
    """y = x @ W^T + b  (W: (out, in), b: (out,), x: (..., in))   one fused op for the layer everybody uses

    dL/dx = dL/dy @ W,   dL/dW = sum over rows of dL/dy^T x,   dL/db = sum over rows of dL/dy"""

    def forward(self, x, w, b=None):
        xp = self.xp
        if x.ndim == 0 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"input features {x.shape[-1] if x.ndim else None} != weight in_features {w.shape[1]}")
        y = xp.matmul(x, w.mT)                  # .mT: the standard's attribute, faster than matrix_transpose()
        if b is not None:
            y += b
        self.save_for_backward(x, w)
        return y

    def shape_error(self, datas, kwargs, err):
        x, w = datas[0], datas[1]
        return (f"linear: cannot apply a weight of shape {tuple(w.shape)} (out, in) to an input of shape "
                f"{tuple(x.shape)} ({err})")

    def backward(self, gy):
        x, w = self.saved_tensors
        nx, nw, nb = (self.needs_input_grad + [False])[:3]
        out_f = w.shape[0]
        if not _autograd.is_grad_enabled():
            # The usual, first-order backward (nothing records it): the same three products on the arrays.
            # The Tensor version below would record them as four ops (matmul, transpose, matmul, sum),
            # whose bookkeeping is a third of a small MLP's step. create_graph=True takes the Tensor version.
            xp, g, xd = self.xp, gy.data, x.data
            g2 = g if g.ndim == 2 else xp.reshape(g, (-1, out_f))
            x2 = xd if xd.ndim == 2 else xp.reshape(xd, (-1, w.shape[1]))
            # (an out_features=1 layer's dX is an outer product: a broadcast multiply, exact, where NumPy's
            # matmul with an inner size of 1 runs ~20x slower: the DCGAN critic's last layer)
            return (Tensor(xp.matmul(g, w.data) if out_f > 1 or g.ndim != 2 else g * w.data) if nx else None,
                    Tensor(xp.matmul(g2.mT, x2)) if nw else None,
                    Tensor(xp.sum(g2, axis=0)) if nb else None)
        g2 = gy if gy.ndim == 2 else _shape.reshape(gy, (-1, out_f))
        gx = matmul(gy, w) if nx else None
        gw = matmul(_shape.transpose(g2, 0, 1), x if x.ndim == 2 else _shape.reshape(x, (-1, w.shape[1]))) \
            if nw else None
        gb = _reduce.sum(g2, 0) if nb else None
        return gx, gw, gb

    @staticmethod
    def sample(draw):
        lead = draw.shape(min_dims=1, max_dims=2, max_side=3)
        i, o = draw.integer(1, 4), draw.integer(1, 4)
        if draw.boolean():
            return [draw.array(lead + (i,)), draw.array((o, i)), draw.array((o,))], linear
        return [draw.array(lead + (i,)), draw.array((o, i))], linear


def matmul(a, b):
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x @ weight^T + bias, as one op (PyTorch's layout: weight is (out_features, in_features))."""
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
