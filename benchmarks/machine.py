"""What the benchmarks need to know about the machine: its CPU, its BLAS, how busy it is, and a way to make it busy.

* :func:`describe`: CPU model, the SIMD flags that decide GEMM speed (AVX2, FMA, AVX-512), cores, NumPy's
  BLAS (name, version, the kernel OpenBLAS picked for this CPU) and the Python/NumPy versions.
* :func:`cpu_busy` / :class:`BusyMeter`: how many cores the REST of the machine kept busy during a timed
  window (the machine's busy time from ``/proc/stat`` minus this process's own CPU time), the check that no
  other process ran, or spun, while a framework was timed.
* :func:`background_load`: ``n`` CPU-bound processes for the "under load" measurements, stopped by their own
  process ids when the block ends.
"""
from __future__ import annotations

import contextlib
import os
import platform
import resource
import subprocess
import sys
import time

FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def _cpuinfo():
    model, flags = platform.processor() or "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = val.strip()
                elif key == "flags":
                    flags = set(val.split())
                    break
    except OSError:
        pass
    return model, flags


def blas():
    """'<library> <version> (<kernel>)' of NumPy's BLAS, from threadpoolctl (which sees the loaded library)."""
    import numpy as np
    try:
        from threadpoolctl import threadpool_info
        np.ones((2, 2)) @ np.ones((2, 2))                      # make sure the BLAS is loaded
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                arch = lib.get("architecture")
                return f"{lib.get('internal_api')} {lib.get('version')}" + (f" ({arch} kernels)" if arch else "")
    except ImportError:
        pass
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{cfg.get('name', '?')} {cfg.get('version', '')}".strip()
    except Exception:  # older NumPy: no dicts mode
        return "unknown BLAS"


def describe():
    """A dict describing the machine (see the module docstring)."""
    import numpy as np
    model, flags = _cpuinfo()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {"cpu": model, "cores": cores, "flags": [f for f in FLAGS if f in flags], "blas": blas(),
            "python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()}


def load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


IDLE_LOAD = 0.5


def wait_until_idle(limit, threshold=IDLE_LOAD, poll=5.0):
    """Wait (at most ``limit`` seconds) until the 1-minute load average is below ``threshold``: after a busy job,
    or after this script's own timing, the load takes a minute or two to decay. Returns (load, seconds waited);
    a load still above the threshold at the limit means something else keeps the machine busy."""
    waited = 0.0
    load = load_average()
    while load is not None and load >= threshold and waited < limit:
        time.sleep(poll)
        waited += poll
        load = load_average()
    return load, waited


def cpu_busy():
    """(machine busy seconds, wall seconds) now: the non-idle time of all cores from /proc/stat (None if absent)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)          # idle + iowait
    return (sum(fields[:8]) - idle) / tick


def _own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


class BusyMeter:
    """``with BusyMeter() as m: ...``; then ``m.other_cores``: the cores the rest of the machine kept busy
    on average over the block (0 on an idle machine; 2 with two CPU-bound processes beside us), and
    ``m.own_cores``: this process's CPU time over the wall time (its threads at work or spinning)."""

    other_cores = own_cores = None

    def __enter__(self):
        self._t, self._busy, self._own = time.perf_counter(), cpu_busy(), _own_cpu()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t
        own = _own_cpu() - self._own
        self.own_cores = own / wall
        busy = cpu_busy()
        if busy is not None and self._busy is not None:
            # /proc/stat counts in clock ticks (10 ms): clamp the rounding below zero away
            self.other_cores = max(0.0, (busy - self._busy - own) / wall)
        return False


SPIN = "import time\nt = time.time()\nwhile time.time() - t < {limit}:\n    sum(range(10000))\n"


@contextlib.contextmanager
def background_load(n, limit=7200):
    """``n`` CPU-bound processes (pure Python loops) while the block runs; each also stops by itself after
    ``limit`` seconds, so that none outlives a crashed benchmark for long."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN.format(limit=limit)]) for _ in range(n)]
    try:
        time.sleep(1.0)            # let the scheduler see them
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def gemm_rate(threads, shape=(1024, 1024, 1024), repeat=10):
    """NumPy's best float32 GEMM rate (GFLOP/s) at ``threads`` BLAS threads, measured in a fresh process."""
    code = ("import sys; sys.path.insert(0, %r); import roofline; print(roofline.sgemm_rate(%d, %d, %d, %d) / 1e9)"
            % (os.path.dirname(os.path.abspath(__file__)), *shape, repeat))
    env = dict(os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                          "MKL_NUM_THREADS")})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)
