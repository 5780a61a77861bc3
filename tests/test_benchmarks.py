"""The speed harness (benchmarks/compare.py and its helpers) runs end to end: a smoke test with tinygen alone."""
import json
import os
import subprocess
import sys
import time

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
import machine  # noqa: E402


def test_the_machine_is_described():
    info = machine.describe()
    assert info["cores"] >= 1 and info["cpu"] and info["blas"]
    assert set(info["flags"]) <= set(machine.FLAGS)


@pytest.mark.skipif(machine.cpu_busy() is None, reason="needs /proc/stat")
def test_a_busy_process_beside_us_is_seen():
    with machine.background_load(1) as pids:
        assert len(pids) == 1
        with machine.BusyMeter() as m:
            time.sleep(0.5)
    assert m.other_cores > 0.3 and m.own_cores < 0.3
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)                      # stopped when the block ended


def test_compare_runs_one_process_per_round_and_prints_the_table(tmp_path):
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(BENCH))
    p = subprocess.run([sys.executable, os.path.join(BENCH, "compare.py"), "--frameworks", "tinygen",
                        "--workloads", "vae_mlp", "--modes", "1", "--rounds", "2", "--solo-rounds", "1",
                        "--min-time", "0.2", "--warmup", "0.1", "--check-steps", "3", "--no-roofline",
                        "--json", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode in (0, 2), p.stderr          # 2: the self-check failed (a busy machine)
    assert "| vae_mlp | 1 thread |" in p.stdout and "load average (1 min) before" in p.stdout
    row = json.loads(out.read_text())["modes"]["1"]["vae_mlp"]["frameworks"]["tinygen"]
    assert len(row["rounds_ms"]) == 2 and row["decreased"] and row["deterministic"] and "solo_median" in row
