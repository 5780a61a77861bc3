"""Hypothesis strategies for property-testing code built on tinygen (needs ``pip install tinygen[test]``).

    from hypothesis import given
    from tinygen.testing import tensors, shapes, broadcast_pairs

    @given(tensors(shape=shapes(min_dims=2, max_dims=2), min_value=-3, max_value=3))
    def test_relu_is_idempotent(x):
        assert (x.relu().relu() == x.relu()).all()

* :func:`shapes`: shape tuples; :func:`broadcastable_shapes`: shapes that broadcast with a given one;
  :func:`broadcast_pairs`: pairs of shapes that broadcast together.
* :func:`arrays`: NumPy arrays with bounded elements (optionally the values that stress an op: very large,
  very small, exactly zero); :func:`tensors`: tinygen Tensors built from them (dtype, device, requires_grad).
* :func:`conv_configs`: valid 2-D convolution (or transposed convolution) settings: kernel, stride,
  padding, dilation, output padding, input size, batch and channels, every output side at least 1.
* :class:`HypothesisDraw`: feeds the ops' ``sample(draw)`` protocol from hypothesis, so that the gradient
  checks of every op run on shapes and values hypothesis draws (and shrinks).
* Your own op (a ``tinygen.Function`` subclass with a ``sample(draw)`` method): :func:`check_op` runs its
  first- and second-order gradient checks on inputs hypothesis draws through ``sample``, :func:`op_test`
  makes that a ready test function, :func:`op_inputs` is the strategy of its inputs::

      test_cube_gradients = op_test(Cube)          # collected by pytest; hypothesis draws Cube.sample's inputs
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from .. import creation as _creation
from ..gradcheck import _sampled, broadcast_partner, check_op as _check_op, make_array

__all__ = ["shapes", "broadcastable_shapes", "broadcast_pairs", "arrays", "tensors", "conv_configs", "HypothesisDraw",
           "op_inputs", "check_op", "op_test"]


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Shape tuples with ``min_dims..max_dims`` axes of ``min_side..max_side`` each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(shape, min_dims=0, max_dims=None, min_side=1, max_side=None):
    """Shapes that broadcast with ``shape`` (NumPy rules)."""
    return hnp.broadcastable_shapes(tuple(shape), min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                    max_side=max_side)


@st.composite
def broadcast_pairs(draw, min_dims=0, max_dims=3, max_side=4):
    """``(shape_a, shape_b)`` that broadcast together (either may be the larger)."""
    shape = draw(shapes(min_dims, max_dims, 1, max_side))
    ones = draw(st.sets(st.integers(0, max(len(shape) - 1, 0)), max_size=len(shape))) if shape else set()
    drop = draw(st.integers(0, max(len(shape) - min_dims, 0)))
    other = broadcast_partner(shape, ones, drop)
    return (shape, other) if draw(st.booleans()) else (other, shape)


def arrays(shape, dtype="float32", min_value=-10.0, max_value=10.0, extremes=False, allow_subnormal=False):
    """NumPy arrays of ``shape`` (a tuple or a strategy) with finite elements in [min_value, max_value].

    ``extremes=True`` mixes in the values that break careless ops: +-max_value, zeros, and tiny numbers
    (1e-30 in float32's normal range). Subnormal numbers (below 1.2e-38 in float32, 2.2e-308 in float64,
    e.g. 5e-324) are left out unless ``allow_subnormal=True``: they lose relative precision, so a check
    with a relative tolerance fails on them for no fault of the code under test."""
    np_dtype = np.dtype(str(dtype))
    width = 32 if np_dtype == np.float32 else 64
    if width == 32:  # bounds must be float32 numbers: round them inwards
        lo, hi = np.float32(min_value), np.float32(max_value)
        min_value = float(lo if lo >= min_value else np.nextafter(lo, np.float32(np.inf)))
        max_value = float(hi if hi <= max_value else np.nextafter(hi, np.float32(-np.inf)))
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=width,
                         allow_subnormal=allow_subnormal)
    if extremes:
        specials = [0.0, min_value, max_value, 1e-30, -1e-30] if width == 64 else [
            0.0, min_value, max_value, float(np.float32(1e-30)), float(np.float32(-1e-30))]
        elements = st.one_of(elements, st.sampled_from([v for v in specials if min_value <= v <= max_value]))
    return hnp.arrays(np_dtype, shape, elements=elements)


@st.composite
def conv_configs(draw, transposed=False, max_kernel=4, max_stride=3, max_padding=3, max_dilation=3, max_side=7,
                 max_batch=3, max_in=3, max_out=4):
    """A dict of settings for ``conv2d`` (or, with ``transposed``, ``conv_transpose2d``): ``n`` (batch),
    ``c`` (input channels), ``o`` (output channels), ``hw`` (input height, width), ``k`` (kernel), ``s``
    (stride), ``p`` (padding), ``d`` (dilation), ``op`` (output padding, below max(stride, dilation) as
    PyTorch requires; (0, 0) unless transposed), ``bias`` (bool); pairs are (height, width) tuples. Every
    drawn setting gives an output of at least one pixel a side."""
    def pair(lo, hi):
        return (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
    k, s, d = pair(1, max_kernel), pair(1, max_stride), pair(1, max_dilation)
    if transposed:
        hw = pair(1, max(1, max_side // 2 + 1))
        op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
        # output side (h - 1) s - 2 p + d (k - 1) + op + 1 >= 1
        p = tuple(draw(st.integers(0, min(max_padding, ((hw[a] - 1) * s[a] + d[a] * (k[a] - 1) + op[a]) // 2)))
                  for a in range(2))
    else:
        p, op = pair(0, max_padding), (0, 0)
        lo = [max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]) for a in range(2)]   # the padded input holds a window
        hw = tuple(draw(st.integers(lo[a], max(lo[a], max_side))) for a in range(2))
    return {"n": draw(st.integers(1, max_batch)), "c": draw(st.integers(1, max_in)),
            "o": draw(st.integers(1, max_out)), "hw": hw, "k": k, "s": s, "p": p, "d": d, "op": op,
            "bias": draw(st.booleans())}


@st.composite
def tensors(draw, shape=None, dtype="float32", min_value=-10.0, max_value=10.0, requires_grad=False, device=None,
            extremes=False, allow_subnormal=False):
    """tinygen Tensors of ``shape`` (a tuple, a strategy, or None for :func:`shapes`) with bounded elements
    (no subnormal numbers unless ``allow_subnormal``: see :func:`arrays`)."""
    if shape is None:
        shape = shapes()
    if not isinstance(shape, tuple):
        shape = draw(shape)
    a = draw(arrays(shape, dtype, min_value, max_value, extremes, allow_subnormal))
    return _creation.tensor(a, dtype=str(dtype), device=device, requires_grad=requires_grad)


class HypothesisDraw:
    """The drawer of the ops' ``sample(draw)`` protocol (see ``tinygen.ops._util``), backed by hypothesis."""

    def __init__(self, data):
        self.data = data

    def integer(self, lo, hi):
        return self.data.draw(st.integers(lo, hi))

    def boolean(self):
        return self.data.draw(st.booleans())

    def choice(self, seq):
        return self.data.draw(st.sampled_from(list(seq)))

    def shape(self, min_dims=0, max_dims=3, min_side=1, max_side=4):
        return self.data.draw(shapes(min_dims, max_dims, min_side, max_side))

    def broadcast_pair(self, min_dims=0, max_dims=3, max_side=4):
        return self.data.draw(broadcast_pairs(min_dims, max_dims, max_side))

    def array(self, shape, kind="real"):
        u = self.data.draw(hnp.arrays(np.float64, tuple(shape),
                                      elements=st.floats(0.0, 1.0, exclude_max=True, allow_subnormal=False)))
        return make_array(kind, u)


# ---------------------------------------------------------------------------------------------------------
# An op's own gradient checks, under hypothesis
# ---------------------------------------------------------------------------------------------------------
@st.composite
def op_inputs(draw, op):
    """``(inputs, fn)`` drawn by ``op.sample`` (an op class): float64 Tensors that require grad, and the
    function of them to check (``tinygen.gradcheck(fn, inputs)``)."""
    return _sampled(op, HypothesisDraw(_DataOf(draw)))


class _DataOf:
    """``st.data()``'s ``draw`` interface over a composite strategy's ``draw``."""

    def __init__(self, draw):
        self.draw = draw


def check_op(op, data, second_order=True, **tol):
    """Inside a ``@given(data=st.data())`` test: draw ``op``'s inputs with its ``sample`` and run gradcheck
    (and gradgradcheck) on them. Returns (first order, second order or None) as
    :class:`tinygen.gradcheck.CheckResult`; raises :class:`tinygen.GradcheckError` naming the element that
    disagrees (hypothesis then shrinks the failing example)."""
    return _check_op(op, HypothesisDraw(data), second_order=second_order, **tol)


def op_test(op, second_order=True, max_examples=None):
    """A test function checking ``op``'s first (and second) derivatives on inputs hypothesis draws through
    ``op.sample``: assign it to a ``test_...`` name in a test module and pytest runs it."""
    @given(data=st.data())
    def test(data):
        check_op(op, data, second_order=second_order)
    test.__name__ = f"test_{op.name}_gradients"
    test.__doc__ = f"{op.__name__}: first{' and second' if second_order else ''} derivatives vs finite differences"
    if max_examples is not None:
        test = settings(max_examples=max_examples)(test)
    return test
