"""Sliding windows (im2col) and their adjoint, the fold (col2im), for tinygen.ops.conv.

On NumPy and CuPy the windows are a zero-copy strided view (``as_strided``, which the array API standard does
not have) and the fold adds one slab per kernel tap into strided slices; on any other namespace (the
``array-api-strict`` test suite) both are done with standard functions only (``take`` and 0/1 matmuls).
"""
from __future__ import annotations

import numpy as np

from . import _by_type, backend_of, dtype_of


def sliding_windows(x, kernel, stride, dilation, out_size):
    """The convolution windows over axes 1 and 2 of a (padded) 4-D array ``x`` of shape ``(A, H, W, B)``, as a
    6-D array ``(A, kh, kw, OH, OW, B)``::

        win[a, p, q, i, j, b] = x[a, i*sh + p*dh, j*sw + q*dw, b]

    (tinygen.ops.conv passes channels as A and the batch as B.) ``kernel``, ``stride``, ``dilation``,
    ``out_size``: (height, width) pairs of ints. Every window must lie inside ``x`` (pad ``x`` first). The
    result is READ-ONLY: on NumPy and CuPy it is a zero-copy strided view of ``x`` (``as_strided``; the caller's
    reshape into the im2col matrix is then the one copy); the standard has no such view, so other namespaces
    get a copy gathered with two ``take``s.
    """
    a, h, w, bb = x.shape
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    if min(kh, kw, sh, sw, dh, dw, oh, ow) < 1 or (kh - 1) * dh + (oh - 1) * sh >= h or \
            (kw - 1) * dw + (ow - 1) * sw >= w:
        raise ValueError(f"sliding_windows: {oh}x{ow} windows of {kh}x{kw} (stride {(sh, sw)}, dilation "
                         f"{(dh, dw)}) do not fit in a {h}x{w} input")
    shape = (a, kh, kw, oh, ow, bb)
    b = _by_type.get(type(x)) or backend_of(x)
    if b.name == "numpy":
        x = np.asarray(x)
        s_a, s_h, s_w, s_b = x.strides
        return np.lib.stride_tricks.as_strided(x, shape, (s_a, s_h * dh, s_w * dw, s_h * sh, s_w * sw, s_b),
                                               writeable=False)
    if b.name == "cupy":
        # CuPy's as_strided takes byte strides like NumPy's (it has no writeable flag: never write to it)
        s_a, s_h, s_w, s_b = x.strides
        return b.cupy.lib.stride_tricks.as_strided(x, shape, (s_a, s_h * dh, s_w * dw, s_h * sh, s_w * sw, s_b))
    # the pure-standard fallback (a copy): gather the rows i*sh + p*dh, then the columns j*sw + q*dw, with two
    # `take`s (index arrays built on the host: a handful of array calls, whatever the kernel size); then
    # (A, kh, OH, kw, OW, B) -> (A, kh, kw, OH, OW, B)
    xp = b.xp
    rows = b.asarray(np.add.outer(np.arange(kh) * dh, np.arange(oh) * sh).reshape(-1), "int64")
    cols = b.asarray(np.add.outer(np.arange(kw) * dw, np.arange(ow) * sw).reshape(-1), "int64")
    win = xp.take(xp.take(x, rows, axis=1), cols, axis=2)
    return xp.permute_dims(xp.reshape(win, (a, kh, oh, kw, ow, bb)), (0, 1, 3, 2, 4, 5))


def fold_windows(win, out_size, stride, dilation, padding):
    """The adjoint of :func:`sliding_windows` (col2im): add every kernel tap's slab into an output grid.

    ``win``: ``(kh, kw, A, H, W, B)`` (tap-major); returns ``out`` of shape ``(A, OH, OW, B)`` with::

        out[a, i*sh + u*dh - ph, j*sw + v*dw - pw, b] += win[u, v, a, i, j, b]

    for the targets inside the output (the padding ``ph``, ``pw`` is cropped away; rows past the last
    target stay zero). On NumPy and CuPy: a loop over the kh*kw taps, each adding a slab into a strided
    slice (:func:`fold_by_slices`); elsewhere two matmuls with 0/1 matrices (the transposes of the two
    ``take``s of :func:`sliding_windows`): a few array calls, whatever the kernel size.
    """
    b = _by_type.get(type(win)) or backend_of(win)
    if b.name in ("numpy", "cupy"):
        return fold_by_slices(b.xp, win, out_size, stride, dilation, padding)
    kh, kw, a, h, w, bb = win.shape
    (oh, ow), (sh, sw), (dh, dw), (ph, pw) = out_size, stride, dilation, padding
    xp = b.xp
    dt = dtype_of(win)
    # sel_h[t, u*H + i] = 1 where i*sh + u*dh - ph == t (and the same for the columns)
    sel_h = b.asarray(np.arange(oh)[:, None] == np.add.outer(np.arange(kh) * dh, np.arange(h) * sh - ph).reshape(
        1, -1), dt)
    sel_w = b.asarray(np.arange(ow)[:, None] == np.add.outer(np.arange(kw) * dw, np.arange(w) * sw - pw).reshape(
        1, -1), dt)
    m = xp.reshape(xp.permute_dims(win, (2, 5, 0, 3, 1, 4)), (a, bb, kh * h, kw * w))
    out = xp.matmul(xp.matmul(sel_h, m), xp.matrix_transpose(sel_w))      # (A, B, OH, OW)
    return xp.permute_dims(out, (0, 2, 3, 1))


def fold_by_slices(xp, win, out_size, stride, dilation, padding):
    """:func:`fold_windows` as a loop over the kernel taps with strided slices, in the standard's terms only
    (slicing with steps, ``+=`` through ``__setitem__``): what NumPy and CuPy run."""
    kh, kw, a, h, w, bb = win.shape
    (oh, ow), (sh, sw), (dh, dw), (ph, pw) = out_size, stride, dilation, padding
    full_h = max((h - 1) * sh + (kh - 1) * dh + 1, ph + oh)
    full_w = max((w - 1) * sw + (kw - 1) * dw + 1, pw + ow)
    buf = xp.zeros((a, full_h, full_w, bb), dtype=win.dtype, device=win.device)
    for u in range(kh):
        for v in range(kw):
            buf[:, u * dh:u * dh + (h - 1) * sh + 1:sh, v * dw:v * dw + (w - 1) * sw + 1:sw, :] += win[u, v, ...]
    return buf if (ph, pw, oh, ow) == (0, 0, full_h, full_w) else buf[:, ph:ph + oh, pw:pw + ow, :]
