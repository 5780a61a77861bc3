"""An exponential moving average of a module's weights, for sampling (Yazıcı et al. 2019, "The Unusual
Effectiveness of Averaging in GAN Training"; the generators of Progressive GAN, StyleGAN and BigGAN are drawn
this way).

A GAN's generator does not settle: each update chases the critic's latest view, so the last iterate carries the
noise of the last few hundred steps. The average of the recent iterates is a better generator than any one of
them. After each generator update, with t the number of updates so far::

    a  <-  d_t a + (1 - d_t) p,        d_t = min(decay, (1 + t) / (10 + t))

for every parameter p and its average a (the warm-up d_t lets the first updates move a quickly instead of
keeping it near the initial weights for ~1 / (1 - decay) steps). Training never sees the average: the critic
and the generator's updates use the weights p, as without averaging; only ``sample`` (pictures, evaluation,
``tinygen sample``) draws from the averaged weights.

BatchNorm: the generator's running statistics belong to its current weights, not to the averaged ones (measured
on MNIST, DCGAN width 16, 4,000 steps, a plain 0.999 average: FD-MNIST 225 with the generator's statistics,
193 with the averaged net's own batch statistics; benchmarks/NOTES.md 19). So the
average keeps its own statistics ("standing statistics", as BigGAN), recomputed when it has changed since they
were last computed: the averaged net runs in training mode on ``STAT_BATCHES`` batches of inputs drawn from
generators seeded afresh (``tinygen.rng.isolated_rng``: the user's and the training's random numbers are not
touched) and its BatchNorms average those batches' statistics.

The averages are buffers: they are saved in checkpoints (resume stays exact) and move with the model, and they
are not parameters: no optimizer, gradient check or parameter count sees them.
"""
from __future__ import annotations

import contextlib

from .. import backend as _backend
from .. import nn
from ..autograd import no_grad
from ..optim import _lerp_
from ..rng import isolated_rng

__all__ = ["WeightAverage"]


STAT_BATCHES, STAT_BATCH = 4, 256


class WeightAverage(nn.Module):
    """The running average of ``module``'s parameters (buffers ``p0, p1, ...`` in ``parameters()`` order) and
    the standing statistics of its BatchNorms (buffers ``s0, s1, ...`` in ``buffers()`` order)."""

    def __init__(self, module, decay):
        super().__init__()
        decay = float(decay)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"WeightAverage: decay must be in (0, 1), got {decay}")
        self.decay = decay
        for i, p in enumerate(module.parameters()):
            self.register_buffer(f"p{i}", p.detach().clone())
        for i, (_, b) in enumerate(module.named_buffers()):
            self.register_buffer(f"s{i}", b.detach().clone())
        self._norms = [m for m in module.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
        self._updates, self._stats_for = 0, None     # host-side: what the statistics were computed for

    def _mine(self, letter):
        return [b for name, b in self.named_buffers(recurse=False) if name[0] == letter]

    def _paired(self, module):
        pairs = list(zip(module.parameters(), self._mine("p"))) + \
            list(zip((b for _, b in module.named_buffers()), self._mine("s")))
        if len(pairs) != len(self._mine("p")) + len(self._mine("s")) or \
                any(tuple(x.shape) != tuple(a.shape) for x, a in pairs):
            raise ValueError("WeightAverage: the module's parameters are not the ones this average was made for")
        return pairs

    @no_grad()
    def update(self, module, t):
        """One step of the average towards ``module``'s current weights; ``t`` = updates before this one."""
        d = min(self.decay, (1.0 + t) / (10.0 + t))
        self._updates += 1
        for p, a in zip(module.parameters(), self._mine("p")):
            with _backend.device_scope(a.data):
                _lerp_(a.data, p.data, 1.0 - d)             # a <- a + (1 - d)(p - a) = d a + (1 - d) p

    @contextlib.contextmanager
    def swapped_into(self, module, inputs=None):
        """``module`` runs with the averaged weights and their BatchNorm statistics for the duration (arrays are
        swapped, not copied, and swapped back afterwards, also on an error). ``inputs(n)`` draws the arguments
        of ``module`` for n samples: needed to (re)compute the statistics when the module has BatchNorms."""
        pairs = self._paired(module)
        mine = self._mine("p")
        key = (self._updates, id(mine[0].data) if mine else None)    # a load replaces the arrays
        for p, a in pairs:
            p.data, a.data = a.data, p.data
        try:
            if self._norms and inputs is not None and self._stats_for != key:
                self._standing_statistics(module, inputs)
                self._stats_for = key
            yield module
        finally:
            for p, a in pairs:
                p.data, a.data = a.data, p.data

    @no_grad()
    def _standing_statistics(self, module, inputs):
        """The BatchNorms' running statistics of ``module`` (now holding the averaged weights) recomputed as
        the mean over STAT_BATCHES training-mode batches (momentum None: a cumulative average)."""
        was, momenta = module.training, [m.momentum for m in self._norms]
        try:
            for m in self._norms:
                m.momentum = None
                m.reset_running_stats()
            module.train()
            with isolated_rng(self._mine("p")[0].device, 0):
                for _ in range(STAT_BATCHES):
                    module(*inputs(STAT_BATCH))
        finally:
            module.train(was)
            for m, mom in zip(self._norms, momenta):
                m.momentum = mom

    def extra_repr(self):
        return f"decay={self.decay}"
