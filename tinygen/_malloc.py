"""Keep freed array memory in the process instead of handing it back to the kernel (glibc only).

Why: training allocates and frees the same large temporaries (activations, gradients, im2col matrices) every
step. With glibc's default settings, memory freed at the top of the heap beyond ``M_TRIM_THRESHOLD`` is
returned to the kernel, and blocks above ``M_MMAP_THRESHOLD`` are fresh ``mmap``s; either way the next step
gets new pages, and the kernel must fault in and zero every 4 KB page of them again. Measured on the DCGAN
benchmark step (benchmarks/NOTES.md): ~9,000 page faults per step, about a fifth of its time; the WGAN step:
~3,000. With the two settings below: a few hundred, and none.

What it costs: the process keeps up to ``TRIM`` bytes of freed memory mapped (its RSS stays near its peak
instead of shrinking after a step), which is what a training process wants anyway.

It is a process-wide setting, so ``import tinygen`` does not make it: it is applied where tinygen owns the
process, by :func:`tinygen.train.train` and the ``tinygen`` command (``tinygen.cli.main``), once (later calls
do nothing), only on glibc, and only if the user has not configured malloc already
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_`` or ``GLIBC_TUNABLES`` in the
environment). ``TINYGEN_MALLOC=default`` in the environment leaves malloc alone. A training loop of your own
can call :func:`tune` itself.
"""
from __future__ import annotations

import ctypes
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # glibc's mallopt parameter numbers (malloc.h)
MMAP = 32 << 20        # blocks below this come from the heap (and are reused); 32 MB is glibc's maximum
TRIM = 256 << 20       # freed memory kept at the top of the heap before any is returned to the kernel

applied = False        # True once the settings are in force (for tests and `tinygen info`)


def tune():
    """Apply the settings (see the module docstring); return True if they are in force."""
    global applied
    if applied:
        return True
    env = os.environ
    if env.get("TINYGEN_MALLOC", "").lower() == "default" or "GLIBC_TUNABLES" in env or any(
            k in env for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # both, or neither: setting either one switches off glibc's dynamic threshold, and the mmap threshold
    # alone (or the trim threshold alone) makes things worse than the defaults
    if mallopt(M_MMAP_THRESHOLD, MMAP) != 1:
        return False
    if mallopt(M_TRIM_THRESHOLD, TRIM) != 1:
        return False
    applied = True
    return True
