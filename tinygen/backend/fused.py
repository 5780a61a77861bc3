"""Fused optimizer updates on NumPy arrays: Adam's and RMSprop's update in one pass over memory (optional).

Why: in NumPy every ``*=``, ``+=``, ``sqrt`` of an update rule is its own pass over the parameter's arrays, so
Adam's update is 13 passes over p, g, m and v (RMSprop's 9). On the MLP benchmarks that was a fifth to a
quarter of a training step (``benchmarks/where_time_goes.py``; NOTES.md 28). Here the same rule is ONE loop
over the elements, compiled by numba, 4-5x faster.

Bit for bit the same result: the loop does, per element, exactly the float operations the NumPy passes of
:mod:`tinygen.optim` do, in the same order and in the array's dtype (the scalars are cast to it first, as
NumPy casts a Python float applied to a float32 array). numba compiles without ``fastmath``, so nothing is
reassociated or fused into an FMA, and sqrt and division are IEEE's, correctly rounded, as NumPy's are.
``error_model="numpy"`` only drops Python's ZeroDivisionError check (a division by zero gives inf or nan, as
in NumPy), which is what lets the loop vectorise. tests/backend/test_fused.py checks the equality.

Optional: numba is the ``fast`` extra (``pip install tinygen[fast]``). Without it, or with
``TINYGEN_FUSED=0`` in the environment, or for arrays it does not cover (CuPy and array-api-strict arrays,
non-contiguous or read-only ones, a gradient that overlaps the state), each function returns False and the
optimizer takes its NumPy passes. numba is imported and the loops compiled for float32 and float64 when they
are first needed (2-3 s; the compiled code is cached on disk next to this file, or in numba's user cache, and
later processes load it in about a second).
"""
from __future__ import annotations

import os

import numpy as np

AUTO_AFTER = 50_000_000  # values updated by the NumPy passes before "auto" builds the loops (see _ready)

_mode = None            # "on", "off" or "auto": TINYGEN_FUSED, read on first use
_left = AUTO_AFTER      # "auto": values still to update the NumPy way
_kernels = None         # None: not built (yet); False: unavailable; else {"adam": ..., "rmsprop": ...}
why_not = None          # why the fused updates are off, in a sentence (None while they may still come on)


def mode():
    """TINYGEN_FUSED as "on" (1, on, yes, true: from the first update), "off" (0, off, no, false), or "auto"
    (unset or anything else, the default; see :func:`_ready`)."""
    global _mode
    if _mode is None:
        v = os.environ.get("TINYGEN_FUSED", "auto").strip().lower()
        _mode = "off" if v in ("0", "off", "no", "false") else "on" if v in ("1", "on", "yes", "true") else "auto"
    return _mode


def _build():
    """The loops compiled for float32 and float64 arrays, or False (and ``why_not`` says why)."""
    global why_not
    numba, why_not = _numba()
    if numba is None:
        return False

    def jit(fn, n_arrays, flags, n_scalars):
        """``fn`` compiled now for 1-D float32 and float64 arrays (and scalars of the same dtype)."""
        sigs = [(numba.types.Array(t, 1, "C"),) * n_arrays + (numba.boolean,) * flags + (t,) * n_scalars
                for t in (numba.float32, numba.float64)]
        opts = dict(nogil=True, error_model="numpy")      # no fastmath: IEEE operations, nothing contracted
        try:
            return numba.njit(sigs, cache=True, **opts)(fn)
        except Exception:                       # no writable cache location: compile for this process only
            return numba.njit(sigs, **opts)(fn)

    try:
        return {"adam": jit(_adam, 4, 1, 6), "rmsprop": jit(_rmsprop, 3, 0, 4)}
    except Exception as e:                      # a numba or LLVM that cannot compile here
        why_not = f"numba could not compile the loops ({type(e).__name__}: {e})"
        return False


def _numba():
    """(the numba module, None), or (None, why not) when it is missing or does not fit this NumPy."""
    try:
        import numba
    except ModuleNotFoundError as e:
        if e.name == "numba":
            return None, "numba is not installed (pip install tinygen[fast])"
        return None, f"numba does not import ({type(e).__name__}: {e})"      # e.g. its llvmlite is missing
    except Exception as e:                      # e.g. a numba older than this NumPy refuses to import
        return None, f"numba does not import ({type(e).__name__}: {e})"
    return numba, None


def status():
    """A line for ``tinygen info``: whether the optimizers will take the loops, and when (nothing is built)."""
    if _kernels is False or mode() == "off":
        return f"off: {why_not or 'switched off by TINYGEN_FUSED=0'}"
    numba, reason = _numba()
    if numba is None:
        return f"off: {reason}"
    when = ("from the first update" if mode() == "on" or _kernels
            else f"after the first {AUTO_AFTER:,} values updated")
    return f"Adam and RMSprop as one loop, numba {numba.__version__}, {when}"


def _adam(p, g, m, v, hi, omw, b2c, b2, c2, eps, step):
    # m <- lerp(m, g, w)         optim._lerp_: m + (g - m) w, or if hi (w >= 0.5) g + (m - g)(1 - w);
    #                            omw is w, or 1 - w if hi
    # v <- b2 v + (1 - b2) g g   optim._ema_sq_, b2c = 1 - b2
    # p <- p - step m / (sqrt(v) / c2 + eps)
    for i in range(p.size):
        gi = g[i]
        mi = gi + (m[i] - gi) * omw if hi else m[i] + (gi - m[i]) * omw
        m[i] = mi
        vi = v[i] * b2 + gi * b2c * gi
        v[i] = vi
        p[i] = p[i] - mi / (np.sqrt(vi) / c2 + eps) * step


def _rmsprop(p, g, v, alpha, ac, eps, lr):
    # v <- alpha v + (1 - alpha) g g   (ac = 1 - alpha);   p <- p - lr g / (sqrt(v) + eps)
    for i in range(p.size):
        gi = g[i]
        vi = v[i] * alpha + gi * ac * gi
        v[i] = vi
        p[i] = p[i] - gi / (np.sqrt(vi) + eps) * lr


def _ready(n):
    """The kernels, if an update of ``n`` values is to take them now, else None.

    "auto" builds them only once this process has updated ``AUTO_AFTER`` values the NumPy way: numba's
    import, start-up and loading of the cached loops cost about a second per process (a few more the first
    time, when it compiles), which a short run (a test, ``--quick``) would not win back. 50 million values
    are a VAE on MNIST's first 80 steps, a WGAN's first 16.
    """
    global _left
    if _kernels is None and mode() == "auto":
        _left -= n
        if _left > 0:
            return None
    return kernels()


def kernels():
    """The compiled kernels (built now if need be, whatever the mode), or None if they cannot be had."""
    global _kernels, why_not
    if _kernels is None:
        if mode() == "off":
            _kernels, why_not = False, "switched off by TINYGEN_FUSED=0"
        else:
            _kernels = _build()
    return _kernels or None


def _flat(arrays, writable):
    """Every array as a 1-D view, or None if one of them is not a NumPy array the loop can take: all of one
    float dtype and shape, C-contiguous, the ``writable`` ones writeable, and the gradient (the last one)
    sharing no memory with them. (A 0-d parameter's -g or g + λ p comes back from NumPy as a scalar.)"""
    if isinstance(arrays[-1], np.generic):
        arrays = arrays[:-1] + [np.asarray(arrays[-1])]
    first = arrays[0]
    if first.__class__ is not np.ndarray or first.dtype not in (np.float32, np.float64):
        return None
    for a in arrays:
        if a.__class__ is not np.ndarray or a.dtype != first.dtype or a.shape != first.shape \
                or not a.flags.c_contiguous:
            return None
    for a in arrays[:writable]:
        if not a.flags.writeable or np.may_share_memory(a, arrays[-1]):
            return None
    return [a.reshape(-1) for a in arrays]


def adam_(p, g, m, v, w, b2, c2, eps, step):
    """Adam's update in place (see optim.Adam._update), or False if not taken: ``m <- lerp(m, g, w)``,
    ``v <- b2 v + (1 - b2) g²``, ``p <- p - step m / (sqrt(v) / c2 + eps)``."""
    k = _ready(p.size)
    flat = k and _flat([p, m, v, g], 3)
    if not flat:
        return False
    t = p.dtype.type
    p1, m1, v1, g1 = flat
    hi = w >= 0.5
    k["adam"](p1, g1, m1, v1, hi, t(1.0 - w if hi else w), t(1.0 - b2), t(b2), t(c2), t(eps), t(step))
    return True


def rmsprop_(p, g, v, alpha, eps, lr):
    """RMSprop's plain update in place (no momentum, not centered), or False if not taken:
    ``v <- alpha v + (1 - alpha) g²``, ``p <- p - lr g / (sqrt(v) + eps)``."""
    k = _ready(p.size)
    flat = k and _flat([p, v, g], 2)
    if not flat:
        return False
    t = p.dtype.type
    p1, v1, g1 = flat
    k["rmsprop"](p1, g1, v1, t(alpha), t(1.0 - alpha), t(eps), t(lr))
    return True
