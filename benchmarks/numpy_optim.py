"""Adam and RMSprop on plain NumPy arrays, in place, for the MyGrad and HIPS autograd adapters (neither
library ships an optimizer for this use). The formulas are PyTorch's (torch.optim.Adam / RMSprop defaults),
so every framework in the benchmark runs the same update; every pass writes into a preallocated buffer.
"""
from __future__ import annotations

import numpy as np


class Adam:
    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, (self.b1, self.b2), self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        step_size = self.lr / (1.0 - self.b1 ** self.t)
        bc2 = (1.0 - self.b2 ** self.t) ** 0.5
        for p, g, m, v, t in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= self.b1                                   # m <- b1 m + (1 - b1) g
            np.multiply(g, 1.0 - self.b1, out=t)
            m += t
            v *= self.b2                                   # v <- b2 v + (1 - b2) g^2
            np.multiply(g, g, out=t)
            t *= 1.0 - self.b2
            v += t
            np.sqrt(v, out=t)                              # p <- p - step_size m / (sqrt(v) / bc2 + eps)
            t /= bc2
            t += self.eps
            np.divide(m, t, out=t)
            t *= step_size
            p -= t


class RMSprop:
    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        self.params, self.lr, self.alpha, self.eps = params, lr, alpha, eps
        self.sq = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, grads):
        for p, g, sq, t in zip(self.params, grads, self.sq, self.tmp):
            sq *= self.alpha                               # v <- a v + (1 - a) g^2
            np.multiply(g, g, out=t)
            t *= 1.0 - self.alpha
            sq += t
            np.sqrt(sq, out=t)                             # p <- p - lr g / (sqrt(v) + eps)
            t += self.eps
            np.divide(g, t, out=t)
            t *= self.lr
            p -= t


def clip_(params, c):
    for p in params:
        np.clip(p, -c, c, out=p)
