"""Fused loss primitives: ``binary_cross_entropy_with_logits``.

A loss is normally a composite in :mod:`tinygen.functional` (its gradient comes from the primitives). The
binary cross-entropy on logits is the exception the design notes allow: as one op it is faster (one pass
over the data instead of eight ops and their backward passes, each allocating an array) and it is stable
for logits of any size, where the obvious composite ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``
overflows or loses all precision once |z| passes ~17 (float32) or ~37 (float64).
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from . import activation as _activation

_REDUCTIONS = ("mean", "sum", "none")


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of logits ``z`` against targets ``y`` (same shape), fused and stable.

    Elementwise, with s = sigmoid(z)::

        l(z, y) = -(y log s + (1 - y) log(1 - s))
                = max(z, 0) - z y + log(1 + exp(-|z|))          (the form computed: no overflow for any z)

        dl/dz = s - y = sigmoid(z) - y                          dl/dy = -z

        d2l/dz2 = s (1 - s),   d2l/dz dy = -1,   d2l/dy2 = 0    (what double backward differentiates)

    ``reduction``: ``"none"`` (the elementwise losses), ``"sum"``, or ``"mean"`` (sum / N, N the number of
    elements), fused into the same op; the backward then spreads the upstream gradient g (a number) over
    the elements: dL/dz = g (s - y) [/ N],  dL/dy = -g z [/ N].

    Exactness for large |z|: exp(-|z|) underflows to 0 gracefully, so for z = 1e4, y = 1 the loss is
    exactly 0 and the gradient exactly 0; sigmoid is computed as 1/(1+e) or e/(1+e), e = exp(-|z|), so it
    never overflows either. The backward is written in Tensor ops (the sigmoid through the Sigmoid
    primitive), so it is itself differentiable; when no graph is being recorded for it (the usual,
    first-order backward) it reuses the sigmoid computed in forward instead of recomputing it.
    """

    name = "binary_cross_entropy_with_logits"

    def forward(self, z, y, *, reduction="mean"):
        xp = self.xp
        if tuple(z.shape) != tuple(y.shape):
            raise ValueError(f"the target's shape {tuple(y.shape)} must equal the logits' shape "
                             f"{tuple(z.shape)}")
        self.reduction = reduction
        self.n = math.prod(z.shape)
        e = xp.exp(-xp.abs(z))                              # in (0, 1]: never overflows
        u = 1.0 + e
        r = 1.0 / u                                         # sigmoid(|z|)
        # log(1 + e) = log1p(e), computed as log(u) corrected for the rounding of u = 1 + e:
        # log1p(e) = log(u) - ((u - 1) - e) / u to first order in that rounding (exact enough: a few ulp;
        # and = e when u rounds to 1). NumPy's float32 log1p has no SIMD loop: ~4x slower than log.
        c = u - 1.0
        c -= e
        c *= r
        sp = xp.log(u)
        sp -= c
        loss = xp.maximum(z, 0.0) - z * y
        loss += sp
        if self.recording:
            # sigmoid(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0, kept for the first-order backward. The
            # choice is made arithmetically with m = [z >= 0] in {0, 1}: r (e + m (1 - e)), no where(), which
            # is ~4x slower on NumPy for a random mask. Relative error <= 1.5 ulp in both tails.
            m = xp.astype(z >= 0, z.dtype)
            m *= 1.0 - e
            m += e
            m *= r
            self.cache_for_backward(s=m)
        self.save_for_backward(z, y)
        if reduction == "none":
            return loss
        return xp.asarray(xp.sum(loss) if reduction == "sum" else xp.mean(loss))

    def backward(self, gy):
        z, y = self.saved_tensors
        nz, ny = self.needs_input_grad
        if self.reduction != "none":
            gy = gy * (1.0 / (self.n or 1)) if self.reduction == "mean" else gy
        gz = gydy = None
        if nz:
            # recorded (create_graph=True): sigmoid as an op, so that d(s)/dz = s (1 - s) reaches the graph
            s = _activation.sigmoid(z) if self.recording_backward else Tensor(self.cache["s"])
            gz = gy * (s - y)
        if ny:
            gydy = gy * -z
        return gz, gydy

    @staticmethod
    def sample(draw):
        shape = draw.shape(min_dims=0, max_dims=3)
        reduction = draw.choice(_REDUCTIONS)
        return ([draw.array(shape, "real"), draw.array(shape, "unit")],
                lambda z, y: binary_cross_entropy_with_logits(z, y, reduction=reduction))


def binary_cross_entropy_with_logits(z, y, reduction="mean"):
    """The binary cross-entropy of logits ``z`` against targets ``y`` in [0, 1], as one stable primitive.

    ``max(z, 0) - z y + log(1 + exp(-|z|))`` per element, then the ``reduction`` ("mean", "sum", "none").
    See :class:`BinaryCrossEntropyWithLogits` for the derivatives.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"binary_cross_entropy_with_logits: reduction must be one of {_REDUCTIONS}, got "
                         f"{reduction!r}")
    return BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction)
