"""Run folders: what ``tinygen.train`` writes and what ``tinygen sample/reconstruct/interpolate`` read back.

A run folder holds::

    config.json        the model's kind and constructor arguments, the data, the training settings, versions
    metrics.jsonl      one JSON object per logged step: step, epoch, time, the training losses (averaged over
                       the steps since the previous line) and, now and then, held-out numbers (``*_heldout``)
    checkpoint.npz     model state + every optimizer's state + RNG states + DataLoader position + step/epoch
    samples_NNNNNN.png sample grids (2-D scatters over the true modes for the toy data) at step NNNNNN
    curves.png         the curves of metrics.jsonl
    reconstructions.png, interpolations.png, latent.png    for the AE and the VAE on images
    eval.json, sample*.png    written by ``tinygen eval`` and ``tinygen sample``
    .tinygen.lock      while a training writes the folder (:mod:`tinygen.runlock`)

Every file is written atomically (:mod:`tinygen.atomic`). These names are a run's own files: ``--overwrite``
deletes them and nothing else (:func:`files_to_replace`).

    run = load_run("runs/vae-mnist")          # the model rebuilt from config.json, weights from the checkpoint
    images = run.model.sample(16)

Training opens a folder through :class:`Session` (a fresh run, or a resumed one: the checks, the checkpoint
restored, config.json completed); the generators' states and :class:`isolated_rng` are in :mod:`tinygen.rng`.

Errors about a run folder (missing, no config, an unreadable, damaged or forged config or checkpoint, a resume
that does not match) raise :class:`RunError` (a ``ValueError``) with one sentence.
"""
from __future__ import annotations

import json
import math
import platform
import re
import time
from pathlib import Path

import numpy as np  # host-side bookkeeping (data arrays, RNG states)

from . import backend as _backend
from .atomic import atomic_write, open_append, write_error
from .rng import isolated_rng, rng_states, set_rng_states  # noqa: F401 (runs.isolated_rng: the callers' name)
from .serialization import CheckpointError
from .serialization import load as _load
from .serialization import save as _save

__all__ = ["RunError", "Run", "load_run", "read_config", "write_config", "read_metrics", "versions",
           "CONFIG", "METRICS", "CHECKPOINT", "CHECKPOINT_FORMAT"]

CONFIG, METRICS, CHECKPOINT = "config.json", "metrics.jsonl", "checkpoint.npz"
CHECKPOINT_FORMAT = "tinygen-training-checkpoint"
RUN_FORMAT = "tinygen-run"


class RunError(ValueError):
    """A run folder that cannot be used: missing, incomplete, corrupt, or not matching what was asked."""


def versions():
    """Versions of what computed the run (recorded in config.json)."""
    import tinygen
    out = {"tinygen": tinygen.__version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        import cupy
        out["cupy"] = cupy.__version__
    except Exception:  # not installed, or a broken CUDA install
        pass
    return out


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def write_config(out_dir, config):
    """Write ``config`` as ``out_dir/config.json`` (atomically, see :mod:`tinygen.atomic`)."""
    text = json.dumps(config, indent=2, default=_json_default) + "\n"
    return Path(atomic_write(Path(out_dir) / CONFIG, lambda f: f.write(text), binary=False))


def read_config(run_dir):
    """``run_dir/config.json`` as a dict; :class:`RunError` when the folder or the file is missing or bad."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunError(f"there is no run folder {str(run_dir)!r}")
    if not run_dir.is_dir():
        raise RunError(f"{str(run_dir)!r} is a file, not a run folder")
    path = run_dir / CONFIG
    if not path.is_file():
        raise RunError(f"{str(run_dir)!r} is not a tinygen run folder: it has no {CONFIG}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"cannot read {path}: {e}") from None
    if not is_run_config(config):
        raise RunError(f"{path} is not the config of a tinygen run")
    _check_config(config, path)
    return config


_MISSING = object()


def is_run_config(config):
    """True for what tinygen writes as a run's config.json (the format tag; the entries are checked apart)."""
    return isinstance(config, dict) and config.get("format") == RUN_FORMAT


def _check_config(config, path):
    """The entries a run's config.json must have for tinygen to rebuild and resume the run."""
    needs = (("model", dict), ("model.kind", str), ("model.config", dict), ("data", dict),
             ("data.name", (str, type(None))), ("training", dict))
    for key, kind in needs:
        node = config
        for part in key.split("."):
            node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
        if not isinstance(node, kind):
            what = f"is missing {key!r}" if node is _MISSING else \
                f"has {key!r} of the wrong type ({type(node).__name__})"
            raise RunError(f"{path} {what}: the file was edited or damaged (tinygen writes it complete)")


_OWN_FILES = re.compile(r"config\.json|metrics\.jsonl|checkpoint\.npz|eval\.json|curves\.png|latent\.png"
                        r"|reconstructions\.png|interpolations\.png|samples_\d{6}\.png|sample(_label\d+)?\.png")


def files_to_replace(out_dir, overwrite):
    """The files a fresh run in ``out_dir`` must delete first: none in a folder without a run; with
    ``overwrite``, the files that a tinygen run writes, when ``out_dir`` holds one. RunError when the folder
    holds a run (and not ``overwrite``), or files with a run's names that tinygen did not write: they are never
    deleted nor written over."""
    out = Path(out_dir)
    own = sorted(p for p in out.iterdir() if _OWN_FILES.fullmatch(p.name)) if out.is_dir() else []
    if not own:
        return []
    where = str(out)
    if (out / CONFIG) not in own:
        names = ", ".join(p.name for p in own[:3]) + (", ..." if len(own) > 3 else "")
        raise RunError(f"{where!r} holds {names} but no {CONFIG}: not a tinygen run, so tinygen will neither "
                       f"delete nor write over them; choose another folder")
    try:
        config = json.loads((out / CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        config = None
    if not is_run_config(config):
        raise RunError(f"{where!r} holds a {CONFIG} that is not a tinygen run's: tinygen will neither delete nor "
                       f"write over it; choose another folder")
    if not overwrite:
        raise RunError(f"{where!r} already holds a run: resume it, choose another folder, or overwrite it")
    return own


def read_metrics(run_dir):
    """The records of ``run_dir/metrics.jsonl`` (a cut-off last line, from a killed process, is skipped)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def truncate_metrics(run_dir, step):
    """Drop the records after ``step`` (written after the checkpoint a resumed run continues from)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return
    keep = [json.dumps(r, default=_json_default) for r in read_metrics(run_dir) if r.get("step", 0) <= step]
    atomic_write(path, lambda f: f.write("".join(line + "\n" for line in keep)), binary=False)


class MetricsLog:
    """Appends one JSON line per record to metrics.jsonl (flushed each time, so a crash loses at most a line)."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / METRICS
        self._f = open_append(self.path)

    def write(self, record):
        try:
            self._f.write(json.dumps(record, default=_json_default, allow_nan=True) + "\n")
            self._f.flush()
        except OSError as e:
            raise write_error(self.path, e) from e

    def close(self):
        self._f.close()


# ---------------------------------------------------------------------------------------------------------
# a training session in a run folder: a fresh run, or a resumed one
# ---------------------------------------------------------------------------------------------------------
def run_config(model, data, held, optimizers, training, command):
    """What config.json records about a run (:meth:`Session.begin` adds ``created`` and ``sessions``)."""
    return {
        "format": RUN_FORMAT, "version": 1,
        "model": {"kind": model.kind, "config": model.config(), "parameters": model.num_parameters()},
        "data": {"name": data.name, "kind": data.kind, "num_train": len(data.x),
                 "num_heldout": 0 if held is None else len(held.x), "shape": list(data.x.shape[1:]),
                 "range": list(getattr(model, "data_range", None) or ())},
        "optimizers": _optimizer_settings(optimizers),
        "training": training, "versions": versions(), "command": command,
    }


def _optimizer_settings(optimizers):
    return {k: {"type": type(o).__name__, **{h: v for h, v in o.param_groups[0].items() if h != "params"}}
            for k, o in optimizers.items()}


class Session:
    """One training session in the run folder ``out`` (locked by the caller): ``resume`` continues the run
    there; otherwise a fresh run starts, after deleting the files of the run there with ``overwrite``.
    RunError with one sentence when the folder does not allow it."""

    def __init__(self, out, resume, overwrite):
        self.out, self.resumed = Path(out), bool(resume)
        self.old = read_config(out) if resume else None                 # the run's config.json
        self._doomed = [] if resume else files_to_replace(out, overwrite)

    def batch_size_and_seed(self, batch_size, seed):
        """The session's batch size (None: the model's default) and seed: a fresh run's default seed is 0; a
        resumed run keeps its own (another seed is refused) and, unless given one, its batch size."""
        if not self.resumed:
            return batch_size, 0 if seed is None else seed
        t = self.old["training"]
        run_seed = t.get("seed", 0)
        if type(run_seed) is not int or run_seed < 0:
            raise ValueError(f"the seed in config.json must be an integer >= 0, got {run_seed!r}")
        if seed is not None and seed != run_seed:
            raise RunError(f"cannot resume this run with seed {seed}: it was started with seed {run_seed}, and a "
                           f"resumed run continues its random generators from the checkpoint")
        run_batch = t.get("batch_size")
        return batch_size or (run_batch if type(run_batch) is int and run_batch >= 1 else None), run_seed

    def begin(self, config, model, optimizers, loader, lr):
        """A fresh run: delete the old run's files. A resumed run: check that ``config`` continues it, restore
        its checkpoint into the model, optimizers, loader and generators, and set the learning rate ``lr``
        (None: the checkpoint's). Completes ``config``; returns (the first step, the checkpoint's "extra")."""
        if not self.resumed:
            for f in self._doomed:
                f.unlink(missing_ok=True)
            config["created"] = now_iso()
            config["sessions"] = [{"started": config["created"], "from_step": 0}]
            return 0, {}
        old = self.old
        _check_resume(old, config)
        state = load_checkpoint(self.out)
        fresh_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}
        restore_checkpoint(state, model=model, optimizers=optimizers, loader=loader)
        start, total = int(state["step"]), config["training"]["total_steps"]
        if start >= total:
            raise RunError(f"the run in {str(self.out)!r} is already at step {start}, which is not before the "
                           f"requested end ({total} steps); ask for more epochs or steps to continue it")
        session = {"started": now_iso(), "from_step": start}
        if lr is not None:        # the new learning rate, as make_optimizers(lr) sets it, from this step on
            for k, o in optimizers.items():
                for g, new_lr in zip(o.param_groups, fresh_lrs[k]):
                    g["lr"] = new_lr
            session["lr"] = lr
        else:
            config["training"]["lr"] = old["training"].get("lr")
        if config["training"]["device"] != old["training"].get("device"):
            session["device"] = config["training"]["device"]
        config["optimizers"] = _optimizer_settings(optimizers)          # what they really use now
        config["created"] = old.get("created")
        sessions = old.get("sessions")
        config["sessions"] = (sessions if isinstance(sessions, list) else []) + [session]
        return start, dict(state.get("extra") or {})

    def write_config(self, config, start, log_every):
        """Write config.json; a resumed run first drops the metrics lines written after its checkpoint at
        ``start`` (a session's last line off the ``log_every`` schedule included: the resume writes it again)."""
        if self.resumed:
            old_every = self.old["training"].get("log_every")
            old_every = old_every if type(old_every) is int and old_every >= 1 else log_every
            truncate_metrics(self.out, start if start % old_every == 0 else start - 1)
        write_config(self.out, config)


def _with_legacy(model_section):
    """A run's model config with the settings it predates filled in as they were then (``legacy_config``: a
    GAN from before self-conditioning had no clusters)."""
    from .models import MODELS
    cfg = model_section.get("config") or {}
    cls = MODELS.get(model_section.get("kind"))
    return {**(cls.legacy_config if cls is not None else {}), **cfg}


def _check_resume(old, new):
    """The resumed run must be the same model, data and batch size (otherwise the data order would differ)."""
    what = []
    if old["model"]["kind"] != new["model"]["kind"]:
        what.append(f"the model is {new['model']['kind']!r}, the run's is {old['model']['kind']!r}")
    elif _with_legacy(old["model"]) != json_roundtrip(new["model"]["config"]):
        o, n = _with_legacy(old["model"]), json_roundtrip(new["model"]["config"])
        keys = sorted(k for k in set(o) | set(n) if o.get(k) != n.get(k))
        what.append("the model's settings differ (" + ", ".join(f"{k}: {o.get(k)!r} in the run, {n.get(k)!r} now"
                                                               for k in keys) + ")")
    if old.get("data", {}).get("name") != new["data"]["name"]:
        what.append(f"the data is {new['data']['name']!r}, the run's is {old.get('data', {}).get('name')!r}")
    ob = old.get("training", {}).get("batch_size")
    if ob != new["training"]["batch_size"]:
        what.append(f"the batch size is {new['training']['batch_size']}, the run's is {ob}")
    if what:
        raise RunError("cannot resume this run: " + "; ".join(what))


# ---------------------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------------------
def save_checkpoint(run_dir, *, model, optimizers, loader, step, epoch, device, extra=None):
    """Write ``run_dir/checkpoint.npz`` atomically (the previous one survives a crash mid-write)."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "step": int(step),
        "epoch": int(epoch),
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "rng": rng_states(device),
        "loader": loader.state_dict() if loader is not None else None,
        "extra": extra or {},
    }
    path = Path(run_dir) / CHECKPOINT
    _save(state, path)
    return path


def load_checkpoint(run_dir):
    """The dict :func:`save_checkpoint` wrote; :class:`RunError` with one sentence when it cannot be read or
    any of its entries is malformed (so that nothing is restored from a damaged or forged file)."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise RunError(f"the run folder {str(run_dir)!r} has no {CHECKPOINT} (training never reached its first "
                       f"checkpoint)")
    try:
        state = _load(path)
    except CheckpointError as e:
        raise RunError(f"cannot load {path}: {e}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RunError(f"{path} is a tinygen file but not a training checkpoint")
    problem = _state_problem(state)
    if problem:
        raise RunError(f"{path} is not a valid training checkpoint: {problem}")
    return state


def _state_problem(state):
    """What is wrong with a training checkpoint's entries, or None."""
    for key in ("step", "epoch"):
        v = state.get(key)
        if type(v) is not int or v < 0:
            return f"its {key!r} is {v!r}, not a count"
    for key, kinds in (("model", dict), ("optimizers", dict), ("loader", (dict, type(None))), ("extra", dict)):
        if not isinstance(state.get(key, {} if key == "extra" else None), kinds):
            return f"its {key!r} entry is of the wrong type ({type(state.get(key)).__name__})"
    return _extra_problem(state.get("extra", {})) or _rng_problem(state.get("rng"))


def _extra_problem(extra):
    """The training loop's own entries: the running means since the last metrics line, the elapsed time."""
    window = extra.get("window", {})
    pairs_ok = isinstance(window, dict) and all(
        isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[0], (int, float)) and type(v[1]) is int
        for v in window.values())
    if not pairs_ok:
        return "its running means ('extra.window') are malformed"
    if not isinstance(extra.get("elapsed", 0.0), (int, float)):
        return f"its elapsed time is {extra.get('elapsed')!r}, not a number"
    return None


def _rng_problem(rng):
    if not isinstance(rng, dict) or not isinstance(rng.get("device"), str) or "cpu" not in rng:
        return "its RNG entry is malformed (it needs 'device' and 'cpu')"
    try:
        type(_backend.cpu_generator().bit_generator)().state = rng["cpu"]   # a scratch generator
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as e:
        name = type(_backend.cpu_generator().bit_generator).__name__
        return f"its CPU random generator state is not a valid {name} state ({e})"
    return None


def restore_checkpoint(state, *, model, optimizers=None, loader=None, rng=True):
    """Load a checkpoint dict into the model (and optimizers, loader, RNG); RunError when they do not fit."""
    try:
        model.load_state_dict(state["model"])
    except (ValueError, TypeError, KeyError) as e:
        raise RunError(f"the checkpoint does not fit the model: {e}") from None
    if optimizers is not None:
        saved = state.get("optimizers") or {}
        if set(saved) != set(optimizers):
            raise RunError(f"the checkpoint has optimizers {sorted(saved)} but the model makes {sorted(optimizers)}")
        for name, opt in optimizers.items():
            _restoring(f"the checkpoint's optimizer {name!r} does not fit", opt.load_state_dict, saved[name])
    if loader is not None and state.get("loader") is not None:
        _restoring("the checkpoint's data position does not fit this data", loader.load_state_dict, state["loader"])
    if rng:
        _restoring("the checkpoint's random generator states cannot be restored", set_rng_states, state["rng"])


def _restoring(what, load, value):
    """``load(value)``; a value from the file that it cannot take is a RunError saying ``what``."""
    try:
        load(value)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as e:
        raise RunError(f"{what}: {e}") from None


# ---------------------------------------------------------------------------------------------------------
# loading a finished (or interrupted) run
# ---------------------------------------------------------------------------------------------------------
class Run:
    """A run folder loaded back: ``config`` (config.json), ``model`` (rebuilt, weights from the checkpoint,
    in eval mode), ``step`` and ``epoch`` of the checkpoint, and ``path``."""

    def __init__(self, path, config, model, step, epoch):
        self.path, self.config, self.model, self.step, self.epoch = Path(path), config, model, step, epoch

    @property
    def kind(self):
        return self.config["model"]["kind"]

    @property
    def data_name(self):
        return self.config.get("data", {}).get("name")

    @property
    def data_kind(self):
        return self.config.get("data", {}).get("kind")

    def __repr__(self):
        return f"Run({str(self.path)!r}, {self.kind}, step {self.step})"


MAX_SIZE = 2 ** 16          # no layer, latent code or class count of these models is wider
MAX_FEATURES = 2 ** 24      # values per sample (data_shape): 4,096 x 4,096 pixels


def build_from_config(config):
    """The model described by a run's config.json (fresh weights). Sizes that no model of tinygen could use
    are refused before anything is allocated."""
    from .models import build_model
    m = config["model"]
    cfg = m.get("config", {})
    problem = _size_problem(cfg)
    if problem:
        raise RunError(f"{CONFIG} describes a {m.get('kind')!r} model that cannot be built: {problem}")
    try:
        return build_model(m["kind"], **_with_legacy(m))
    except (TypeError, ValueError, KeyError) as e:
        raise RunError(f"cannot rebuild the {m.get('kind')!r} model of this run from {CONFIG}: {e}") from None
    except MemoryError:
        raise RunError(f"the {m.get('kind')!r} model that {CONFIG} describes does not fit in memory") from None


def _size_problem(cfg):
    """Why the sizes in a model config are implausible (layers wider than MAX_SIZE, samples of more than
    MAX_FEATURES values), or None."""
    shape = cfg.get("data_shape")
    shape = [shape] if isinstance(shape, int) else shape
    if isinstance(shape, (list, tuple)) and all(isinstance(s, int) for s in shape) and \
            math.prod(max(1, s) for s in shape) > MAX_FEATURES:
        return f"its data_shape {tuple(shape)} has more than {MAX_FEATURES:,} values per sample"
    for key, v in cfg.items():
        sizes = v if isinstance(v, (list, tuple)) and key != "data_shape" else [v]
        big = [s for s in sizes if isinstance(s, int) and not isinstance(s, bool) and s > MAX_SIZE]
        if big:
            return f"its {key} is {big[0]:,}, more than the {MAX_SIZE:,} any layer of these models can use"
    return None


def load_run(run_dir, device="cpu"):
    """A :class:`Run`: the model of ``run_dir`` rebuilt from config.json with the checkpoint's weights."""
    config = read_config(run_dir)
    state = load_checkpoint(run_dir)
    model = build_from_config(config)
    model.to(device)
    restore_checkpoint(state, model=model, rng=False)
    model.eval()
    return Run(run_dir, config, model, int(state["step"]), int(state["epoch"]))


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def json_roundtrip(obj):
    """``obj`` as it reads back from config.json (tuples become lists, NumPy numbers plain numbers)."""
    return json.loads(json.dumps(obj, default=_json_default))
