"""tinygen/rng.py: the generators' states that a checkpoint keeps, and drawing beside them without moving them."""
from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen import runs
from tinygen.rng import isolated_rng, rng_states, set_rng_states


def test_isolated_rng_puts_the_generators_back():
    tg.manual_seed(3)
    before = tg.backend.cpu_generator().bit_generator.state
    with isolated_rng("cpu", 7):
        first = tg.randn(3).numpy()
    assert tg.backend.cpu_generator().bit_generator.state == before
    with isolated_rng("cpu", 7):
        assert np.array_equal(tg.randn(3).numpy(), first)              # the same fixed noise every time


def test_restoring_the_states_repeats_the_draws():
    tg.manual_seed(5)
    tg.randn(4)
    saved = rng_states("cpu")
    a = tg.randn(6).numpy()
    set_rng_states(saved)
    assert np.array_equal(tg.randn(6).numpy(), a)


def test_runs_still_offers_them():
    assert runs.isolated_rng is isolated_rng and runs.rng_states is rng_states
