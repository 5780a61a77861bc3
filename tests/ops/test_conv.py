"""conv2d / conv_transpose2d / conv2d_weight (tinygen/ops/conv.py).

Checked against slow, obviously-correct loops written here with NumPy (one output pixel, or one scattered
input pixel, at a time), by adjointness, against PyTorch when it is installed (outputs, gradients and a
gradient penalty's second derivatives), for dtypes and for the error messages. The first- and second-order
gradient checks of the three primitives run in test_gradcheck_all.py (importing this module registers them).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
import tinygen.ops.conv  # registers the conv primitives, so test_gradcheck_all.py checks them too
from tinygen.ops.conv import Conv2d, conv2d, conv2d_weight, conv_transpose2d
from tinygen.testing import arrays, conv_configs

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is an optional, test-only dependency
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (optional cross-check)")


# ---------------------------------------------------------------------------------------------------------
# The slow references
# ---------------------------------------------------------------------------------------------------------
def ref_conv2d(x, w, b, stride, padding, dilation):
    """Direct definition: every output pixel is the sum over its (dilated) window of the padded input."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xpad = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xpad[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0 if b is None else b[oi]
                    for ci in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                acc += w[oi, ci, u, v] * xpad[ni, ci, i * sh + u * dh, j * sw + v * dw]
                    y[ni, oi, i, j] = acc
    return y


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation):
    """Direct definition: scatter every input pixel times the kernel into the output, then crop the padding."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, cout, (h - 1) * sh + dh * (kh - 1) + 1 + oph, (wd - 1) * sw + dw * (kw - 1) + 1 + opw))
    for ni in range(n):
        for ci in range(cin):
            for i in range(h):
                for j in range(wd):
                    for co in range(cout):
                        for u in range(kh):
                            for v in range(kw):
                                full[ni, co, i * sh + u * dh, j * sw + v * dw] += x[ni, ci, i, j] * w[ci, co, u, v]
    y = full[:, :, ph:ph + oh, pw:pw + ow]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


# ---------------------------------------------------------------------------------------------------------
# Configurations drawn by hypothesis
# ---------------------------------------------------------------------------------------------------------
def _arr(data, shape):
    return data.draw(arrays(shape, "float64", -2, 2))


# ---------------------------------------------------------------------------------------------------------
# 1. Against the direct loops
# ---------------------------------------------------------------------------------------------------------
@given(cfg=conv_configs(), data=st.data())
def test_conv2d_matches_the_direct_loop(cfg, data, backend):
    x = _arr(data, (cfg["n"], cfg["c"]) + cfg["hw"])
    w = _arr(data, (cfg["o"], cfg["c"]) + cfg["k"])
    b = _arr(data, (cfg["o"],)) if cfg["bias"] else None
    y = conv2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b), cfg["s"], cfg["p"], cfg["d"])
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, b, cfg["s"], cfg["p"], cfg["d"]), rtol=1e-12, atol=1e-12)


@given(cfg=conv_configs(transposed=True), data=st.data())
def test_conv_transpose2d_matches_the_direct_scatter(cfg, data, backend):
    x = _arr(data, (cfg["n"], cfg["c"]) + cfg["hw"])
    w = _arr(data, (cfg["c"], cfg["o"]) + cfg["k"])
    b = _arr(data, (cfg["o"],)) if cfg["bias"] else None
    y = conv_transpose2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b), cfg["s"], cfg["p"],
                         cfg["op"], cfg["d"])
    ref = ref_conv_transpose2d(x, w, b, cfg["s"], cfg["p"], cfg["op"], cfg["d"])
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)


@given(cfg=conv_configs(max_side=5), data=st.data())
def test_conv2d_weight_is_the_weight_gradient_of_the_direct_loop(cfg, data, backend):
    # dL/dw[o, c, u, v] for L = <conv2d(x, w), gy>: the direct loop is linear in w, so its gradient is the
    # loop applied to one-hot weights
    x = _arr(data, (cfg["n"], cfg["c"]) + cfg["hw"])
    args = (cfg["s"], cfg["p"], cfg["d"])
    out = ref_conv2d(x, np.zeros((1, cfg["c"]) + cfg["k"]), None, *args).shape[2:]
    gy = _arr(data, (cfg["n"], cfg["o"]) + out)
    ref = np.zeros((cfg["o"], cfg["c"]) + cfg["k"])
    for idx in np.ndindex(*ref.shape[1:]):
        onehot = np.zeros((1, cfg["c"]) + cfg["k"])
        onehot[(0,) + idx] = 1.0
        col = ref_conv2d(x, onehot, None, *args)[:, 0]  # (N, OH, OW)
        ref[(slice(None),) + idx] = np.einsum("nij,noij->o", col, gy)
    gw = conv2d_weight(tg.tensor(x), tg.tensor(gy), cfg["k"], *args)
    np.testing.assert_allclose(gw.numpy(), ref, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# 2. Adjointness: <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>
# ---------------------------------------------------------------------------------------------------------
@given(cfg=conv_configs(max_side=9), data=st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(cfg, data, backend):
    s, p, d = cfg["s"], cfg["p"], cfg["d"]
    x = _arr(data, (cfg["n"], cfg["c"]) + cfg["hw"])
    w = _arr(data, (cfg["o"], cfg["c"]) + cfg["k"])
    cx = conv2d(tg.tensor(x), tg.tensor(w), stride=s, padding=p, dilation=d)
    y = _arr(data, cx.shape)
    # the rows of the padded x no window reads come back through output_padding (< stride)
    op = tuple((cfg["hw"][a] + 2 * p[a] - d[a] * (cfg["k"][a] - 1) - 1) % s[a] for a in range(2))
    ty = conv_transpose2d(tg.tensor(y), tg.tensor(w), stride=s, padding=p, output_padding=op, dilation=d)
    assert ty.shape == x.shape
    lhs, rhs = float(np.sum(cx.numpy() * y)), float(np.sum(x * ty.numpy()))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs))


@given(cfg=conv_configs(max_side=6), data=st.data())
def test_conv2d_input_gradient_is_conv_transpose2d_and_weight_gradient_is_conv2d_weight(cfg, data, backend):
    s, p, d = cfg["s"], cfg["p"], cfg["d"]
    x = tg.tensor(_arr(data, (cfg["n"], cfg["c"]) + cfg["hw"]), requires_grad=True)
    w = tg.tensor(_arr(data, (cfg["o"], cfg["c"]) + cfg["k"]), requires_grad=True)
    y = conv2d(x, w, stride=s, padding=p, dilation=d)
    gy = tg.tensor(_arr(data, y.shape))
    y.backward(gy)
    op = tuple((cfg["hw"][a] + 2 * p[a] - d[a] * (cfg["k"][a] - 1) - 1) % s[a] for a in range(2))
    np.testing.assert_allclose(x.grad.numpy(), conv_transpose2d(gy, w.detach(), None, s, p, op, d).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), conv2d_weight(x.detach(), gy, cfg["k"], s, p, d).numpy(),
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# 3. Against PyTorch (optional)
# ---------------------------------------------------------------------------------------------------------
CONV_CASES = [  # (x shape, w shape, stride, padding, dilation, bias)
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, True),
    ((2, 3, 8, 8), (5, 3, 4, 4), 2, 1, 1, True),        # the DCGAN layer shape
    ((1, 2, 9, 7), (3, 2, 3, 2), (2, 1), (1, 2), (2, 1), False),
    ((3, 1, 5, 5), (2, 1, 1, 1), 3, 2, 1, True),
    ((2, 2, 7, 6), (2, 2, 2, 2), 2, 0, (3, 2), False),
]
CONVT_CASES = [  # (x shape, w shape, stride, padding, output_padding, dilation, bias)
    ((2, 4, 3, 3), (4, 3, 4, 4), 2, 1, 0, 1, True),   # the DCGAN layer shape
    ((2, 3, 4, 3), (3, 2, 3, 3), 2, 1, 1, 1, True),
    ((1, 2, 3, 4), (2, 3, 3, 2), (3, 2), (1, 0), (2, 1), 1, False),
    ((2, 2, 3, 3), (2, 2, 3, 3), 1, 1, 1, 2, True),   # output_padding >= stride (allowed by the dilation)
    ((1, 3, 2, 2), (3, 1, 2, 2), 1, 0, 0, (1, 3), False),
]


def _rel_close(a, b, rtol=1e-5):
    b = np.asarray(b)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= rtol * max(1.0, np.max(np.abs(b)))


def _to_torch(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


@needs_torch
@pytest.mark.parametrize("xs, ws, s, p, d, bias", CONV_CASES)
def test_conv2d_outputs_and_gradients_equal_pytorch(xs, ws, s, p, d, bias, backend):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    tx, tw, tb = _to_torch(x, w, b)
    ty = F.conv2d(tx, tw, tb if bias else None, s, p, d)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    gx, gw, gb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d(gx, gw, gb if bias else None, s, p, d)
    y.backward(tg.tensor(gy))
    _rel_close(y.numpy(), ty.detach().numpy())
    _rel_close(gx.grad.numpy(), tx.grad.numpy())
    _rel_close(gw.grad.numpy(), tw.grad.numpy())
    if bias:
        _rel_close(gb.grad.numpy(), tb.grad.numpy())


@needs_torch
@pytest.mark.parametrize("xs, ws, s, p, op, d, bias", CONVT_CASES)
def test_conv_transpose2d_outputs_and_gradients_equal_pytorch(xs, ws, s, p, op, d, bias, backend):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1])
    tx, tw, tb = _to_torch(x, w, b)
    ty = F.conv_transpose2d(tx, tw, tb if bias else None, s, p, op, 1, d)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    gx, gw, gb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv_transpose2d(gx, gw, gb if bias else None, s, p, op, d)
    y.backward(tg.tensor(gy))
    _rel_close(y.numpy(), ty.detach().numpy())
    _rel_close(gx.grad.numpy(), tx.grad.numpy())
    _rel_close(gw.grad.numpy(), tw.grad.numpy())
    if bias:
        _rel_close(gb.grad.numpy(), tb.grad.numpy())


@needs_torch
@pytest.mark.parametrize("transpose", [False, True])
def test_gradient_penalty_second_derivatives_equal_pytorch(transpose, backend):
    """WGAN-GP through a conv critic: d/d(x, w, b) of ||d critic / dx||^2 (conv -> tanh -> <., v>)."""
    rng = np.random.default_rng(3)
    if transpose:
        x, w, b = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(2)
        kw = {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1}
        t_fn = lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 1, 1)
        g_fn = lambda x, w, b: conv_transpose2d(x, w, b, **kw)
    else:
        x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
        t_fn = lambda x, w, b: F.conv2d(x, w, b, 2, 1, (1, 2))
        g_fn = lambda x, w, b: conv2d(x, w, b, 2, 1, (1, 2))
    tx, tw, tb = _to_torch(x, w, b)
    v = rng.standard_normal(tuple(t_fn(tx, tw, tb).shape))
    tcrit = (torch.tanh(t_fn(tx, tw, tb)) * torch.tensor(v)).sum()
    (tgx,) = torch.autograd.grad(tcrit, tx, create_graph=True)
    (tgx ** 2).sum().backward()

    gx, gw, gb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    crit = (g_fn(gx, gw, gb).tanh() * tg.tensor(v)).sum()
    (ggx,) = tg.grad(crit, gx, create_graph=True)
    (ggx ** 2).sum().backward()
    _rel_close(ggx.detach().numpy(), tgx.detach().numpy())
    for mine, theirs in ((gx, tx), (gw, tw), (gb, tb)):
        _rel_close(mine.grad.numpy(), theirs.grad.numpy())


@needs_torch
def test_a_conv_chain_equals_pytorch(backend):
    """conv -> leaky relu -> conv -> conv_transpose -> conv_transpose: intermediate layouts feed each other."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 1, 12, 12))
    ws = [rng.standard_normal(s) for s in [(4, 1, 4, 4), (6, 4, 4, 4), (6, 4, 4, 4), (4, 1, 4, 4)]]
    bs = [rng.standard_normal(s) for s in [4, 6, 4, 1]]

    def net(x, ws, bs, conv, convt, act):
        h = act(conv(x, ws[0], bs[0], 2, 1))
        h = act(conv(h, ws[1], bs[1], 2, 1))
        h = act(convt(h, ws[2], bs[2], 2, 1))
        return convt(h, ws[3], bs[3], 2, 1)

    tp = _to_torch(x, *ws, *bs)
    ty = net(tp[0], tp[1:5], tp[5:], F.conv2d, F.conv_transpose2d, lambda t: F.leaky_relu(t, 0.2))
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    gp = [tg.tensor(a, requires_grad=True) for a in (x, *ws, *bs)]
    y = net(gp[0], gp[1:5], gp[5:], conv2d, conv_transpose2d, lambda t: t.leaky_relu(0.2))
    y.backward(tg.tensor(gy))
    _rel_close(y.numpy(), ty.detach().numpy())
    for mine, theirs in zip(gp, tp):
        _rel_close(mine.grad.numpy(), theirs.grad.numpy())


# ---------------------------------------------------------------------------------------------------------
# 4. dtypes
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("transpose", [False, True])
def test_float32_in_float32_out_and_float32_gradients(transpose, backend):
    x = tg.randn(2, 3, 6, 6, requires_grad=True)
    w = tg.randn(3, 4, 3, 3, requires_grad=True) if transpose else tg.randn(4, 3, 3, 3, requires_grad=True)
    b = tg.randn(4, requires_grad=True)
    y = conv_transpose2d(x, w, b, 2, 1, 1) if transpose else conv2d(x, w, b, 2, 1)
    assert y.dtype == "float32"
    (y * y).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == "float32"
    # and the float32 result is the float64 one, rounded
    x64, w64, b64 = (tg.tensor(t.numpy().astype(np.float64)) for t in (x, w, b))
    y64 = conv_transpose2d(x64, w64, b64, 2, 1, 1) if transpose else conv2d(x64, w64, b64, 2, 1)
    np.testing.assert_allclose(y.numpy(), y64.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------------------
# 5. Errors
# ---------------------------------------------------------------------------------------------------------
def test_channel_mismatch_names_the_op_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"^conv2d: input has 3 channels but the weight expects 1 .*"
                                            r"weight shape \(8, 1, 3, 3\)"):
        conv2d(tg.zeros(2, 3, 8, 8), tg.zeros(8, 1, 3, 3))
    with pytest.raises(tg.ShapeError, match=r"^conv_transpose2d: input has 3 channels but the weight expects 8"):
        conv_transpose2d(tg.zeros(2, 3, 8, 8), tg.zeros(8, 3, 3, 3))


def test_kernel_larger_than_the_padded_input():
    with pytest.raises(tg.ShapeError, match=r"^conv2d: the kernel \(5x5, dilation 1\) is larger than the padded "
                                            r"input \(4x4\)"):
        conv2d(tg.zeros(1, 1, 4, 4), tg.zeros(1, 1, 5, 5))
    with pytest.raises(tg.ShapeError, match=r"^conv2d: the kernel \(3x3, dilation 3\) is larger than the padded "
                                            r"input \(6x6\)"):
        conv2d(tg.zeros(1, 1, 4, 4), tg.zeros(1, 1, 3, 3), padding=1, dilation=3)
    with pytest.raises(tg.ShapeError, match=r"^conv_transpose2d: the output would be"):
        conv_transpose2d(tg.zeros(1, 1, 1, 1), tg.zeros(1, 1, 1, 1), padding=1)


def test_wrong_number_of_dimensions():
    with pytest.raises(tg.ShapeError, match=r"^conv2d: the input must be 4-D \(N, C, H, W\), got shape "
                                            r"\(3, 8, 8\) \(add a batch axis"):
        conv2d(tg.zeros(3, 8, 8), tg.zeros(4, 3, 3, 3))
    with pytest.raises(tg.ShapeError, match=r"^conv2d: the weight must be 4-D"):
        conv2d(tg.zeros(1, 3, 8, 8), tg.zeros(4, 27))
    with pytest.raises(tg.ShapeError, match=r"^conv_transpose2d: the input must be 4-D"):
        conv_transpose2d(tg.zeros(8, 8), tg.zeros(4, 3, 3, 3))


def test_bad_bias_and_arguments():
    with pytest.raises(tg.ShapeError, match=r"^conv2d: the bias must have shape \(4,\), got \(3,\)"):
        conv2d(tg.zeros(1, 3, 8, 8), tg.zeros(4, 3, 3, 3), tg.zeros(3))
    with pytest.raises(ValueError, match=r"^conv2d: stride must be >= 1"):
        conv2d(tg.zeros(1, 3, 8, 8), tg.zeros(4, 3, 3, 3), stride=0)
    with pytest.raises(TypeError, match=r"^conv2d: padding must be an int or a pair of ints"):
        conv2d(tg.zeros(1, 3, 8, 8), tg.zeros(4, 3, 3, 3), padding=(1, 1, 1))
    with pytest.raises(ValueError, match=r"^conv_transpose2d: output_padding 2 must be smaller than either stride"):
        conv_transpose2d(tg.zeros(1, 3, 8, 8), tg.zeros(3, 4, 3, 3), stride=2, output_padding=2)


# ---------------------------------------------------------------------------------------------------------
# The gradient checks catch a planted bug in a conv backward
# ---------------------------------------------------------------------------------------------------------
def test_gradcheck_catches_a_conv2d_backward_with_the_wrong_output_padding(monkeypatch):
    original = Conv2d.backward

    def bad_backward(self, gy):
        gx, gw, gb = original(self, gy)
        stride, padding, dilation = self.opts
        w = self.saved_tensors[1]
        # always output_padding 0: the rows no window reads get dropped, the shapes no longer match x
        gx = conv_transpose2d(gy, w, None, stride, padding, 0, dilation) if gx is not None else None
        return gx, gw, gb

    monkeypatch.setattr(Conv2d, "backward", bad_backward)
    x = tg.randn(1, 1, 6, 6, dtype="float64", requires_grad=True)
    w = tg.randn(1, 1, 3, 3, dtype="float64", requires_grad=True)
    with pytest.raises((tg.GradcheckError, RuntimeError)):
        tg.gradcheck(lambda x, w: conv2d(x, w, stride=2), [x, w])


def test_gradcheck_catches_a_conv_transpose2d_weight_gradient_in_the_wrong_layout(monkeypatch):
    from tinygen.ops.conv import Conv2dWeight, ConvTranspose2d

    def bad_backward(self, gy):
        x, w = self.saved_tensors
        stride, padding, dilation = self.opts
        gx = Conv2d.apply(gy, w, stride=stride, padding=padding, dilation=dilation, _out_size=tuple(x.shape[2:]))
        gw = Conv2dWeight.apply(gy, x, kernel_size=tuple(w.shape[2:]), stride=stride, padding=padding,
                                dilation=dilation)
        # conv2d's (out, in) layout mixed up with conv_transpose2d's (in, out): same shape when C_in == C_out
        return gx, gw.permute(1, 0, 2, 3), None

    monkeypatch.setattr(ConvTranspose2d, "backward", bad_backward)
    x = tg.randn(1, 2, 3, 3, dtype="float64", requires_grad=True)
    w = tg.randn(2, 2, 3, 3, dtype="float64", requires_grad=True)
    with pytest.raises(tg.GradcheckError, match="input 1"):
        tg.gradcheck(lambda x, w: conv_transpose2d(x, w, stride=2), [x, w])
