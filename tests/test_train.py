"""The training loop (tinygen/train.py, tinygen/runs.py): run folders, metrics, checkpoints, exact resume,
Ctrl-C, NaN detection, bad arguments.

Most tests use ``TinyVAE``, a test double that follows the model contract of tinygen/models/base.py with a
few dozen parameters (and hooks to inject a NaN or a KeyboardInterrupt at a given optimizer step); the resume
tests also run the real models (tiny configurations) so that their buffers (BatchNorm statistics, the GAN's
critic-step counter) and optimizers (Adam, RMSprop) are covered.
"""
import json
import math
import os
import signal

import numpy as np
import pytest

import tinygen as tg
from tinygen import functional as F
from tinygen import nn
from tinygen.data import Dataset, load_dataset
from tinygen.models import build_model
from tinygen.models.base import GenerativeModel, register_model
from tinygen.runs import RunError, load_checkpoint, load_run, read_metrics
from tinygen.train import NonFiniteLossError, TrainingInterrupted, train


@register_model("_tiny_vae")
class TinyVAE(GenerativeModel):
    """A VAE with one small hidden layer: the contract's test double (registered as "_tiny_vae")."""
    has_encoder = True
    has_likelihood = True

    def __init__(self, data_shape=(2,), latent_dim=2, hidden=8, conditional=False, num_classes=10,
                 poison_at=None, interrupt_at=None):
        super().__init__(data_shape, latent_dim, conditional, num_classes)
        d = math.prod(self.data_shape)
        self.hidden, self.poison_at, self.interrupt_at = hidden, poison_at, interrupt_at
        c = num_classes if conditional else 0
        self.enc = nn.Linear(d + c, hidden)
        self.mu = nn.Linear(hidden, latent_dim)
        self.lv = nn.Linear(hidden, latent_dim)
        self.dec = nn.Sequential(nn.Linear(latent_dim + c, hidden), nn.Tanh(), nn.Linear(hidden, d))
        self._remember(data_shape=self.data_shape, latent_dim=latent_dim, hidden=hidden,
                       conditional=self.conditional, num_classes=num_classes)

    def make_optimizers(self, lr=None):
        return {"opt": tg.optim.Adam(self.parameters(), lr=lr or 1e-2)}

    def _cat(self, h, y):
        return tg.concat([h, F.one_hot(y, self.num_classes, dtype="float32")], axis=1) if self.conditional else h

    def encode(self, x, y=None):
        h = self.enc(self._cat(x.reshape(x.shape[0], -1), y)).tanh()
        return self.mu(h), self.lv(h)

    def decode(self, z, y=None):
        out = self.dec(self._cat(z, y))
        return out.sigmoid().reshape(z.shape[0], *self.data_shape) if self.is_image else out

    def reconstruct(self, x, y=None):
        with tg.no_grad():
            return self.decode(self.encode(x, y)[0], y)

    def interpolate(self, x1, x2, steps=8, y1=None, y2=None):
        with tg.no_grad():
            z1, z2 = self.encode(x1, y1)[0], self.encode(x2, y2)[0]
            return tg.stack([self.decode(z1 * (1 - i / (steps - 1)) + z2 * (i / (steps - 1)), y1)
                             for i in range(steps)], axis=1)

    def _loss(self, x, y):
        n = x.shape[0]
        mu, lv = self.encode(x, y)
        z = mu + (lv * 0.5).exp() * tg.randn_like(mu)
        rec = ((self.dec(self._cat(z, y)) - x.reshape(n, -1)) ** 2).sum() / n
        return rec, F.gaussian_kl(mu, lv).sum() / n

    def train_step(self, x, y, optimizers):
        opt = optimizers["opt"]
        t = opt.state.get(next(iter(self.parameters())), {}).get("step", 0) + 1   # restored by a resume
        if self.interrupt_at == t:
            raise KeyboardInterrupt                 # in the middle of a step
        rec, kl = self._loss(x, y)
        loss = rec + kl
        if self.poison_at is not None and t >= self.poison_at:
            loss = loss + (x.sum() * 0 - 1).sqrt()  # NaN from sqrt's forward
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "kl": kl.item()}

    def sample(self, n, labels=None, z=None):
        y = self.labels_for(n, labels, self.device)
        with tg.no_grad():
            return self.decode(tg.randn(n, self.latent_dim, device=self.device) if z is None else z, y)

    def evaluate(self, x, y=None):
        rec, kl = self._loss(x, y)
        return {"loss": (rec + kl).item()}


def toy(n=320):
    return load_dataset("ring8", n=n)


def images(n=192, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset(rng.random((n, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, n), "tiny-images", "train",
                   "image", 10)


def params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k} differs"


QUIET = dict(progress=False, pictures=False)


# --- the run folder -----------------------------------------------------------------------------------------
def test_run_folder_metrics_checkpoint_and_pictures(tmp_path):
    data, held = images(), images(64, seed=1)
    tg.manual_seed(0)
    m = TinyVAE(data_shape=(1, 8, 8), conditional=True)
    res = train(m, data, heldout=held, steps=12, batch_size=32, out_dir=tmp_path, log_every=3, eval_every=6,
                sample_every=12, progress=False)
    assert res.step == 12 and res.epoch == 2 and set(res.logs) == {"loss", "kl"}
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "samples_000012.png", "curves.png",
            "reconstructions.png", "interpolations.png", "latent.png"} <= names
    assert not [n for n in names if n.startswith(".")]                # no temporaries left behind

    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["model"]["kind"] == "_tiny_vae" and cfg["model"]["config"]["conditional"] is True
    assert cfg["data"] == {"name": "tiny-images", "kind": "image", "num_train": 192, "num_heldout": 64,
                           "shape": [1, 8, 8], "range": [0.0, 1.0]}
    t = cfg["training"]
    assert (t["steps"], t["total_steps"], t["batch_size"], t["steps_per_epoch"], t["seed"]) == (12, 12, 32, 6, 0)
    assert cfg["optimizers"]["opt"]["type"] == "Adam" and cfg["optimizers"]["opt"]["lr"] == 0.01
    assert {"tinygen", "numpy", "python"} <= set(cfg["versions"])

    recs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [3, 6, 9, 12]
    assert [r["epoch"] for r in recs] == [0.5, 1.0, 1.5, 2.0]
    assert all({"step", "epoch", "time", "loss", "kl"} <= set(r) for r in recs)
    assert [("loss_heldout" in r) for r in recs] == [False, True, False, True]
    assert all(math.isfinite(r["loss"]) for r in recs)

    ck = load_checkpoint(tmp_path)
    assert ck["step"] == 12 and ck["epoch"] == 2
    assert set(ck["model"]) == set(m.state_dict())
    assert set(ck["optimizers"]) == {"opt"} and ck["optimizers"]["opt"]["state"]
    assert ck["rng"]["cpu"]["bit_generator"] == "PCG64"
    assert ck["loader"]["batch"] == 6 and sorted(ck["loader"]["perm"]) == list(range(192))

    run = load_run(tmp_path)                                          # rebuilt from config.json + checkpoint
    assert_same(params(run.model), params(m))
    assert run.step == 12 and not run.model.training


def test_pictures_and_evaluation_do_not_change_the_training(tmp_path):
    data = images(96)
    tg.manual_seed(0)
    a = TinyVAE(data_shape=(1, 8, 8))
    train(a, data, heldout=images(32, 1), steps=6, batch_size=32, out_dir=tmp_path / "a", sample_every=2,
          eval_every=1, log_every=1, progress=False)
    tg.manual_seed(0)
    b = TinyVAE(data_shape=(1, 8, 8))
    train(b, data, heldout=False, steps=6, batch_size=32, out_dir=tmp_path / "b", **QUIET)
    assert_same(params(a), params(b))
    assert len(list((tmp_path / "a").glob("samples_*.png"))) == 3


# --- exact resume -------------------------------------------------------------------------------------------
REAL = {
    "vae": dict(kind="vae", data_shape=(1, 28, 28), hidden=(16,), latent_dim=3),
    "wgan-gp": dict(kind="wgan-gp", data_shape=(2,), hidden=(8, 8), arch="mlp"),
    "wgan": dict(kind="wgan", data_shape=(2,), hidden=(8, 8), arch="mlp"),
    "dcgan-bn": dict(kind="gan", data_shape=(1, 8, 8), width=4, arch="conv"),
}


def _data_for(cfg):
    if cfg["data_shape"] == (2,):
        return toy(320)
    if cfg["data_shape"] == (1, 8, 8):
        d = images(192)
        d.x = d.x * 2 - 1                                              # the GANs read [-1, 1]
        return d
    x, y = load_dataset("mnist", "train")
    return Dataset(x[:320], y[:320], "mnist-320", "train", "image", 10)


@pytest.mark.parametrize("name", ["tiny", *REAL])
def test_two_epochs_equal_one_plus_resume_plus_one(tmp_path, name):
    if name == "tiny":
        make, data, bs = (lambda: TinyVAE()), toy(320), 32
    else:
        cfg = dict(REAL[name])
        make, data, bs = (lambda: build_model(**cfg)), _data_for(cfg), 32
    kw = dict(batch_size=bs, heldout=False, **QUIET)
    tg.manual_seed(0)
    straight = make()
    train(straight, data, epochs=2, out_dir=tmp_path / "straight", **kw)
    tg.manual_seed(0)
    first = make()
    train(first, data, epochs=1, out_dir=tmp_path / "split", **kw)
    tg.manual_seed(123)                                                # a fresh process would start anywhere
    second = make()
    res = train(second, data, epochs=2, out_dir=tmp_path / "split", resume=True, **kw)
    assert res.step == 2 * (len(data) // bs)
    assert_same(params(straight), params(second))


def test_resume_mid_epoch_gives_identical_parameters_and_metrics(tmp_path):
    kw = dict(batch_size=32, log_every=2, **QUIET)
    tg.manual_seed(0)
    a = TinyVAE()
    train(a, "ring8", steps=25, out_dir=tmp_path / "a", **kw)
    tg.manual_seed(0)
    train(TinyVAE(), "ring8", steps=7, out_dir=tmp_path / "b", **kw)   # stops in the middle of an epoch
    b = TinyVAE()
    train(b, "ring8", steps=25, out_dir=tmp_path / "b", resume=True, **kw)
    assert_same(params(a), params(b))
    strip = [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(tmp_path / "a")]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(tmp_path / "b")]


def test_resume_drops_metrics_written_after_the_checkpoint(tmp_path):
    kw = dict(batch_size=32, log_every=1, checkpoint_every=4, **QUIET)
    tg.manual_seed(0)
    train(TinyVAE(), toy(), steps=10, out_dir=tmp_path, **kw)
    ck = tg.load(tmp_path / "checkpoint.npz")
    ck["step"] = 8                                           # as if killed after step 10 but saved at 8
    tg.save(ck, tmp_path / "checkpoint.npz")
    train(TinyVAE(), toy(), steps=12, out_dir=tmp_path, resume=True, **kw)
    assert [r["step"] for r in read_metrics(tmp_path)] == list(range(1, 13))


# --- Ctrl-C ----------------------------------------------------------------------------------------------
def _straight(tmp_path, steps=20):
    tg.manual_seed(0)
    m = TinyVAE()
    train(m, toy(), steps=steps, batch_size=32, out_dir=tmp_path / "straight", **QUIET)
    return params(m)


def test_keyboard_interrupt_between_steps_saves_that_step_and_resumes_exactly(tmp_path):
    def stop_at_7(step, logs):
        if step == 7:
            raise KeyboardInterrupt
    tg.manual_seed(0)
    with pytest.raises(TrainingInterrupted) as e:
        train(TinyVAE(), toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", callback=stop_at_7,
              checkpoint_every=5, **QUIET)
    assert isinstance(e.value, KeyboardInterrupt) and e.value.saved and e.value.step == 7
    assert "interrupted at step 7" in str(e.value)
    assert load_checkpoint(tmp_path / "r")["step"] == 7
    m = TinyVAE()
    train(m, toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    assert_same(params(m), _straight(tmp_path))


def test_keyboard_interrupt_inside_a_step_keeps_the_last_checkpoint(tmp_path):
    tg.manual_seed(0)
    with pytest.raises(TrainingInterrupted) as e:
        train(TinyVAE(interrupt_at=9), toy(), steps=20, batch_size=32, out_dir=tmp_path / "r",
              checkpoint_every=5, **QUIET)
    assert not e.value.saved and e.value.step == 5 and "during step 9" in str(e.value)
    assert load_checkpoint(tmp_path / "r")["step"] == 5
    m = TinyVAE()
    train(m, toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    assert_same(params(m), _straight(tmp_path))


def test_sigint_stops_after_the_current_step(tmp_path):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def press_ctrl_c(step, logs):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)      # the handler only sets a flag; the loop stops cleanly
    tg.manual_seed(0)
    with pytest.raises(TrainingInterrupted) as e:
        train(TinyVAE(), toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", callback=press_ctrl_c, **QUIET)
    assert e.value.saved and e.value.step == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler          # put back
    m = TinyVAE()
    train(m, toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    assert_same(params(m), _straight(tmp_path))


def test_sigterm_stops_after_the_current_step_like_ctrl_c(tmp_path):
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def terminate(step, logs):
        if step == 4:
            # SIG_DFL here would end the test run itself: only send it when training handles it
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "SIGTERM is not handled in training"
            os.kill(os.getpid(), signal.SIGTERM)
    tg.manual_seed(0)
    with pytest.raises(TrainingInterrupted) as e:
        train(TinyVAE(), toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", callback=terminate, **QUIET)
    assert e.value.saved and e.value.step == 4 and e.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL                    # put back
    m = TinyVAE()
    train(m, toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    assert_same(params(m), _straight(tmp_path))


def test_sigterm_while_the_run_is_set_up_stops_it_at_step_0_with_its_checkpoint(tmp_path, monkeypatch):
    """Before: the guard came up only when the loop began, so a SIGTERM while config.json or the first
    checkpoint was written ended the process with its run folder locked and half-written (a demo worker
    killed so broke the process pool: the flaky demo SIGTERM test)."""
    from tinygen.loop import Loop
    real, sent = Loop.checkpoint, []

    def checkpoint_then_sigterm(self, step):
        real(self, step)
        if not sent:
            sent.append(step)
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "SIGTERM is not handled here"
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(Loop, "checkpoint", checkpoint_then_sigterm)
    with pytest.raises(TrainingInterrupted) as e:
        train(TinyVAE(), toy(), steps=20, batch_size=32, out_dir=tmp_path / "r", **QUIET)
    assert e.value.saved and e.value.step == 0 and e.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL                    # put back
    assert load_checkpoint(tmp_path / "r")["step"] == 0 and not (tmp_path / "r" / ".tinygen.lock").exists()


# --- what a resume may change ----------------------------------------------------------------------------------
class SwitchLrAfter4(TinyVAE):
    def train_step(self, x, y, optimizers):
        opt = optimizers["opt"]
        if opt.state.get(next(iter(self.parameters())), {}).get("step", 0) == 4:
            opt.param_groups[0]["lr"] = 0.5
        return super().train_step(x, y, optimizers)


def test_lr_given_on_resume_takes_effect_from_that_step_and_is_recorded(tmp_path):
    kw = dict(batch_size=32, **QUIET)
    tg.manual_seed(0)
    train(TinyVAE(), toy(), steps=4, out_dir=tmp_path / "r", **kw)
    m = TinyVAE()
    train(m, toy(), steps=6, out_dir=tmp_path / "r", resume=True, lr=0.5, **kw)
    ck = load_checkpoint(tmp_path / "r")
    assert ck["optimizers"]["opt"]["param_groups"][0]["lr"] == 0.5
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["training"]["lr"] == 0.5 and cfg["optimizers"]["opt"]["lr"] == 0.5
    assert [s.get("lr") for s in cfg["sessions"]] == [None, 0.5]
    tg.manual_seed(0)
    ref = SwitchLrAfter4()                         # the same as a straight run switched to lr 0.5 after step 4
    train(ref, toy(), steps=6, out_dir=tmp_path / "ref", **kw)
    assert_same(params(m), params(ref))
    train(TinyVAE(), toy(), steps=8, out_dir=tmp_path / "r", resume=True, **kw)       # None: keeps 0.5
    assert load_checkpoint(tmp_path / "r")["optimizers"]["opt"]["param_groups"][0]["lr"] == 0.5


def test_what_a_resume_cannot_change_is_refused(tmp_path):
    kw = dict(batch_size=32, **QUIET)
    train(TinyVAE(), toy(), steps=2, out_dir=tmp_path / "r", seed=3, **kw)
    with pytest.raises(RunError, match="seed 0: it was started with seed 3"):
        train(TinyVAE(), toy(), steps=4, out_dir=tmp_path / "r", resume=True, seed=0, **kw)
    with pytest.raises(ValueError, match="not both"):
        train(TinyVAE(), toy(), steps=4, out_dir=tmp_path / "r", resume=True, overwrite=True, **kw)
    res = train(TinyVAE(), toy(), steps=4, out_dir=tmp_path / "r", resume=True, **QUIET)   # batch size: the run's
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert res.step == 4 and cfg["training"]["batch_size"] == 32 and cfg["training"]["seed"] == 3


# --- NaN ---------------------------------------------------------------------------------------------------
def test_nan_stops_training_naming_the_step_and_the_op(tmp_path):
    tg.manual_seed(0)
    with pytest.raises(NonFiniteLossError) as e, np.errstate(invalid="ignore"):
        train(TinyVAE(poison_at=6), toy(), steps=20, batch_size=32, out_dir=tmp_path, checkpoint_every=4,
              **QUIET)
    msg = str(e.value)
    assert e.value.step == 6 and e.value.key == "loss"
    assert "step 6" in msg and "'loss' is nan" in msg and "sqrt" in msg and "\n" not in msg
    assert load_checkpoint(tmp_path)["step"] == 4                    # the last good checkpoint, kept
    assert max(r["step"] for r in read_metrics(tmp_path)) <= 5


# --- bad arguments ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, err, text", [
    (dict(epochs=1, steps=5), ValueError, "either epochs or steps"),
    (dict(), ValueError, "epochs=N or steps=N"),
    (dict(steps=-2), ValueError, "steps must be an integer >= 1"),
    (dict(steps=2, batch_size=0), ValueError, "batch_size must be an integer >= 1"),
    (dict(steps=2, batch_size=10_000), ValueError, "larger than the 320 training samples"),
    (dict(steps=2, lr=-1.0), ValueError, "lr must be a positive number"),
    (dict(steps=2, device="tpu"), ValueError, "unknown device 'tpu'"),
    (dict(steps=2, out_dir=None), ValueError, "needs out_dir"),
])
def test_bad_arguments_raise_one_sentence(tmp_path, kw, err, text):
    kw.setdefault("out_dir", tmp_path)
    with pytest.raises(err, match=text) as e:
        train(TinyVAE(), toy(), **kw, **QUIET)
    assert "\n" not in str(e.value)


def test_cuda_without_cupy_is_a_device_error(tmp_path):
    if tg.cuda_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(tg.DeviceError, match="cuda"):
        train(TinyVAE(), toy(), steps=2, out_dir=tmp_path, device="cuda", **QUIET)


def test_data_that_does_not_fit_the_model(tmp_path):
    with pytest.raises(ValueError, match=r"built for samples of shape \(3,\).*\(2,\)"):
        train(TinyVAE(data_shape=(3,)), toy(), steps=2, out_dir=tmp_path, **QUIET)
    x = np.full((64, 1, 8, 8), 5.0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"reads images in \[0, 1\]"):
        train(TinyVAE(data_shape=(1, 8, 8)), (x, None), steps=2, out_dir=tmp_path, **QUIET)
    with pytest.raises(ValueError, match="conditional _tiny_vae model needs labels"):
        train(TinyVAE(conditional=True), (toy().x, None), steps=2, out_dir=tmp_path, **QUIET)
    with pytest.raises(tg.data.DatasetError, match="unknown dataset 'nope'"):
        train(TinyVAE(), "nope", steps=2, out_dir=tmp_path, **QUIET)


def test_run_folder_mistakes(tmp_path):
    train(TinyVAE(), toy(), steps=2, batch_size=32, out_dir=tmp_path / "r", **QUIET)
    with pytest.raises(RunError, match="already holds a run"):
        train(TinyVAE(), toy(), steps=2, batch_size=32, out_dir=tmp_path / "r", **QUIET)
    train(TinyVAE(), toy(), steps=3, batch_size=32, out_dir=tmp_path / "r", overwrite=True, **QUIET)
    with pytest.raises(RunError, match="no run folder"):
        train(TinyVAE(), toy(), steps=2, out_dir=tmp_path / "none", resume=True, **QUIET)
    with pytest.raises(RunError, match=r"settings differ \(hidden: 8 in the run, 5 now\)"):
        train(TinyVAE(hidden=5), toy(), steps=9, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    with pytest.raises(RunError, match="batch size is 16, the run's is 32"):
        train(TinyVAE(), toy(), steps=9, batch_size=16, out_dir=tmp_path / "r", resume=True, **QUIET)
    with pytest.raises(RunError, match="already at step 3"):
        train(TinyVAE(), toy(), steps=3, batch_size=32, out_dir=tmp_path / "r", resume=True, **QUIET)
    (tmp_path / "r" / "checkpoint.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="cannot load"):
        load_run(tmp_path / "r")


def test_a_time_budget_ends_the_run_like_a_finished_one(tmp_path):
    import time
    tg.manual_seed(0)
    model = build_model("wgan", data_shape=(2,), arch="mlp", hidden=(8, 8))
    t0 = time.perf_counter()
    res = train(model, "ring8", steps=10 ** 7, seconds=1.0, out_dir=tmp_path / "run", progress=False,
                pictures=False, log_every=20, eval_every=10 ** 6)
    assert time.perf_counter() - t0 < 30
    assert 0 < res.step < 10 ** 7
    recs = read_metrics(tmp_path / "run")
    last = recs[-1]
    assert last["step"] == res.step and 1.0 <= last["time"] < 5.0
    assert "modes_covered" in last                              # the last step evaluates, as at a run's end
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["training"]["seconds"] == 1.0 and cfg["training"]["ended_on_time_at_step"] == res.step
    assert load_checkpoint(tmp_path / "run")["step"] == res.step
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        train(model, "ring8", steps=10, seconds=0, out_dir=tmp_path / "bad", progress=False)
