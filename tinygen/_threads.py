"""How many threads tinygen's CPU work uses: NumPy's BLAS pool (through threadpoolctl).

Why a policy at all: a multi-threaded GEMM waits for its slowest thread. On an idle machine two threads make
a DCGAN step ~1.5x faster; on a machine whose cores are busy with other processes, each thread of each GEMM
waits for the scheduler to give it a core, and a step became 11-43x SLOWER than on one thread (issue 14:
67 s against 5.9 s for `tinygen train wgan-gp --steps 1000` with load 4 on 2 cores).

So by default ("auto") the thread count follows the machine: :func:`adapt`, called from one place,
``Optimizer.step`` (so once per training step), looks every ``PROBE_EVERY`` seconds at the runnable threads
of OTHER processes (the kernel's count of runnable threads from ``/proc/loadavg`` minus this process's own
runnable threads) and uses the cores left over, at least one: ``max(1, cores - others)``, the median of the
last three probes so that a passing process does not flip it. Idle: every core; beside two CPU-bound
processes on two cores: one.

:func:`set_num_threads` fixes the count instead (``tinygen train --threads N``); so does the environment
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``: the user's choice, left alone). Without
``/proc`` (not Linux) "auto" means every core, as the BLAS would do anyway.
"""
from __future__ import annotations

import os
import statistics
import time

PROBE_EVERY = 0.25      # seconds between two looks at the machine's load
_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _from_env():
    for var in _ENV:
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    return None


CORES = _cores()
_fixed = _from_env()     # an int: a fixed thread count; None: automatic
_current = _fixed or CORES
_controller = None       # threadpoolctl's, made on first use (it scans the loaded libraries: ~1 ms)
_libraries = 0           # how many shared libraries were loaded when it scanned
_next_probe = 0.0
_seen = []               # the last probes' counts of other runnable threads
_PROC = os.path.exists("/proc/loadavg") and os.path.isdir("/proc/self/task")


def get_num_threads():
    """The threads tinygen's CPU work uses now (the BLAS's)."""
    return _current


def set_num_threads(n):
    """Use ``n`` threads for the BLAS from now on; ``None`` or ``"auto"``: follow the machine's load (the
    default; see the module docstring)."""
    global _fixed, _next_probe
    if n is None or n == "auto":
        _fixed, _next_probe = None, 0.0
        _seen.clear()
        adapt()
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: a positive int or 'auto', got {n!r}")
    _fixed = n
    _apply(n)


def _apply(n):
    global _current, _controller, _libraries
    if n == _current and _controller is not None:
        return
    _current = n
    try:
        loaded = _loaded_libraries()
        if _controller is None or loaded != _libraries:
            # scanned again when libraries were loaded since: a second BLAS may have come (numba loads
            # SciPy's OpenBLAS beside NumPy's), and it gets the count from this change on (nothing in
            # tinygen calls it; a user's code might)
            from threadpoolctl import ThreadpoolController
            _controller, _libraries = ThreadpoolController(), loaded
        _controller.limit(limits=n, user_api="blas")
    except ImportError:   # threadpoolctl is a dependency; without it the BLAS keeps its own count
        pass


def _loaded_libraries():
    """The number of shared libraries mapped in the process (Linux; 0 elsewhere: never rescanned)."""
    try:
        with open("/proc/self/maps") as f:
            return len({line.rsplit(None, 1)[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line})
    except OSError:
        return 0


def _others_running():
    """Runnable threads on the machine that are not ours (they compete with our BLAS threads for cores)."""
    with open("/proc/loadavg", "rb") as f:
        running = int(f.read().split()[3].split(b"/")[0])
    own = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                s = f.read()
        except OSError:   # the thread ended meanwhile
            continue
        own += s[s.rindex(b")") + 2:s.rindex(b")") + 3] == b"R"
    return max(0, running - own)


def adapt():
    """In "auto" mode, look at the machine's load if the last look is older than PROBE_EVERY seconds and set
    the thread count to the cores left over. Cheap when it is not yet time (one clock read)."""
    global _next_probe
    if _fixed is not None:
        return
    now = time.monotonic()
    if now < _next_probe:
        return
    _next_probe = now + PROBE_EVERY
    if not _PROC:
        _apply(CORES)
        return
    try:
        _seen.append(_others_running())
    except (OSError, ValueError, IndexError):
        _seen.append(0)
    del _seen[:-3]
    _apply(max(1, CORES - int(statistics.median_high(_seen))))
