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


def test_waiting_for_an_idle_machine_polls_the_load_until_the_limit(monkeypatch):
    loads = iter([2.0, 1.0, 0.4, 0.1])
    monkeypatch.setattr(machine, "load_average", lambda: next(loads))
    monkeypatch.setattr(machine.time, "sleep", lambda s: None)
    assert machine.wait_until_idle(60, poll=5) == (0.4, 10.0)        # stops at the first load below 0.5
    monkeypatch.setattr(machine, "load_average", lambda: 3.0)
    assert machine.wait_until_idle(12, poll=5) == (3.0, 15.0)        # gives up at the limit: still busy


def test_compare_runs_one_process_per_round_and_prints_the_table(tmp_path):
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(BENCH))
    p = subprocess.run([sys.executable, os.path.join(BENCH, "compare.py"), "--frameworks", "tinygen",
                        "--workloads", "vae_mlp", "--modes", "1", "--rounds", "2", "--solo-rounds", "1",
                        "--min-time", "0.2", "--warmup", "0.1", "--check-steps", "3", "--no-roofline",
                        "--wait-idle", "0", "--json", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode in (0, 2), p.stderr          # 2: the self-check failed (a busy machine)
    assert "| vae_mlp | 1 thread |" in p.stdout and "load average (1 min) before" in p.stdout
    row = json.loads(out.read_text())["modes"]["1"]["vae_mlp"]["frameworks"]["tinygen"]
    assert len(row["rounds_ms"]) == 2 and row["decreased"] and row["deterministic"] and "solo_median" in row


def test_where_time_goes_counts_a_nested_call_once_and_removes_its_timers():
    import collections

    import where_time_goes as wtg
    from tinygen.ops.linalg import Linear
    acc, nested = collections.Counter(), []
    inner = wtg._timed(lambda: time.sleep(0.05), "inner", acc, nested)
    outer = wtg._timed(lambda: (time.sleep(0.05), inner()), "outer", acc, nested)
    outer()
    assert 0.045 < acc["inner"] < 0.09 and 0.045 < acc["outer"] < 0.09   # self time: not 0.1 for outer
    before = Linear.__dict__["forward"]
    restore = wtg.instrument(collections.Counter())
    assert Linear.__dict__["forward"] is not before
    restore()
    assert Linear.__dict__["forward"] is before


def test_where_time_goes_prints_the_step_by_category():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(BENCH))
    p = subprocess.run([sys.executable, os.path.join(BENCH, "where_time_goes.py"), "vae_mlp", "--steps", "3",
                        "--threads", "1", "--top", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("vae_mlp: ") and lines[0].endswith("ms per step")
    names = [ln.rsplit(None, 2)[0].strip() for ln in lines[2:]]
    assert len(names) == 5 and names[-1] == "rest" and names[-2].endswith("more")
    assert {"linear forward", "linear backward", "Adam update"} & set(names[:3])
    bad = subprocess.run([sys.executable, os.path.join(BENCH, "where_time_goes.py"), "vae_mlp", "--steps", "0"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_race_spec_sets_width_augmentation_learning_rate_and_critic_count():
    import quality
    model, opts = quality.build_race("wgan:conv:16:noaug:lr=2e-4:ncritic=2", seed=0)
    assert model.kind == "wgan" and model.config()["width"] == 16 and model.augment == ()
    assert model.n_critic == 2
    assert quality.build_race("wgan:conv:16:clip=0.05", seed=0)[0].clip == 0.05
    assert quality.build_race("gan:mlp:ema=0", seed=0)[0].ema == 0.0                # the average off
    assert quality.build_race("gan:mlp:ema=0.99", seed=0)[0].ema == 0.99
    assert {g["lr"] for o in opts.values() for g in o.param_groups} == {2e-4}
    model, opts = quality.build_race("wgan:mlp", seed=0)                 # the course's defaults otherwise
    assert model.n_critic == 5 and opts["d"].param_groups[0]["lr"] == 5e-5
    for bad in ("wgan:conv:lr=-1", "wgan:conv:ncritic=0", "wgan:conv:clip=0", "gan:mlp:ema=1", "wgan:conv:fast", "wgan", "wgan:cnn"):
        with pytest.raises(ValueError, match="race: "):
            quality.parse_race_spec(bad)


def test_a_bad_race_spec_is_one_sentence_before_anything_trains():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(BENCH))
    p = subprocess.run([sys.executable, os.path.join(BENCH, "quality.py"), "race", "--models", "gan:conv:16",
                        "gan:conv:lr=abc"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    assert "field 'lr=abc' of 'gan:conv:lr=abc' is not a width, noaug, lr=" in p.stderr.strip().splitlines()[-1]
