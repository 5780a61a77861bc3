"""The training's random generators: their states, which a checkpoint keeps (:func:`rng_states`,
:func:`set_rng_states`), and :class:`isolated_rng`, which sets them aside while pictures and held-out numbers
draw, so that these never change a run's noise. :mod:`tinygen.runs` re-exports all three."""
from __future__ import annotations

from . import backend as _backend

__all__ = ["rng_states", "set_rng_states", "isolated_rng"]


def rng_states(device):
    """The states of the device's generator and of the CPU generator (data order): what a resume restores."""
    be = _backend.get_backend(device)
    dev = None if _backend.normalize_device(device) == "cpu" else be.rng_state()   # the CPU: one generator
    return {"device": device, "device_state": dev, "cpu": _backend.cpu_generator().bit_generator.state}


def set_rng_states(states):
    """Restore what :func:`rng_states` returned."""
    _backend.cpu_generator().bit_generator.state = states["cpu"]
    if states.get("device_state") is not None:
        _backend.get_backend(states["device"]).set_rng_state(states["device_state"])


class isolated_rng:
    """``with isolated_rng(device, seed):`` draw from freshly seeded generators, then put the training
    generators back exactly as they were: pictures and held-out numbers never change the training's noise,
    and every sample grid of a run starts from the same noise (so the grids show the same z's learning)."""

    def __init__(self, device, seed):
        self.device, self.seed = device, int(seed)

    def __enter__(self):
        backends = [_backend.NUMPY]                       # the CPU generator: data order, host-side draws
        be = _backend.get_backend(self.device)
        if be is not _backend.NUMPY and "rng" in vars(be):
            backends.append(be)
        self.saved = [(b, b.rng) for b in backends]       # the generator objects themselves
        for b in backends:
            b.reseed(self.seed)                           # new objects: the saved ones are left untouched
        return self

    def __exit__(self, *exc):
        for b, rng in self.saved:
            b.rng = rng
        return False
