"""A float32 training step stays float32: no silent upcast to float64 anywhere in forward, backward or update.

A float64 temporary (a Python float turned into a float64 array, a float64 constant, a mask built in float64)
would double the memory traffic of every op it touches; a float64 parameter or optimizer buffer would
silently double the model's memory and slow every later step. NumPy 2 keeps ``float32_array * 0.5`` float32
(Python scalars are "weak"), but a 0-d float64 array or ``np.float64`` scalar would not.
"""
from __future__ import annotations

import pytest

import tinygen as tg
import tinygen.functional as F
from tinygen import nn, optim


class Net(nn.Module):
    """A bit of everything the generative models use: conv, conv-transpose, linear, the activations."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 4, 2, 1)
        self.fc = nn.Linear(4 * 4 * 4, 6)
        self.mu, self.logvar = nn.Linear(6, 3), nn.Linear(6, 3)
        self.up = nn.Linear(3, 2 * 4 * 4)
        self.deconv = nn.ConvTranspose2d(2, 1, 4, 2, 1)

    def forward(self, x, eps):
        h = F.leaky_relu(self.conv(x), 0.2).flatten(1)
        h = F.relu(self.fc(h))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + (logvar * 0.5).exp() * eps
        out = self.deconv(F.softplus(self.up(z)).reshape((x.shape[0], 2, 4, 4)))
        return out.tanh() * 3.0, mu, logvar


OPTIMIZERS = [
    (optim.Adam, dict(lr=1e-3, weight_decay=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=1e-3)),
    (optim.RMSprop, dict(lr=1e-3, momentum=0.9, centered=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01)),
]


@pytest.mark.parametrize("cls, kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_a_float32_training_step_stays_float32(cls, kw):
    tg.manual_seed(0)
    net = Net()
    opt = cls(net.parameters(), **kw)
    x = tg.rand(5, 1, 8, 8)
    eps = tg.randn(5, 3)
    for _ in range(2):                   # the second step reads the state the first one wrote
        opt.zero_grad()
        logits, mu, logvar = net(x, eps)
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + F.gaussian_kl(mu, logvar, "sum")
        loss = loss + F.mse_loss(logits.sigmoid(), x) + F.binary_cross_entropy_with_logits(mu, 1.0)
        assert loss.dtype == "float32" and logits.dtype == "float32"
        loss.backward()
        opt.step()
        optim.clip_weights_(net.parameters(), 10.0)
    for name, p in net.named_parameters():
        assert p.dtype == "float32", name
        assert p.data.dtype == p.grad.data.dtype and p.grad.dtype == "float32", name
    for p, st in opt.state.items():
        for k, v in st.items():
            if isinstance(v, tg.Tensor):
                assert v.dtype == "float32", (k, type(opt).__name__)


def test_gradients_of_a_float32_graph_are_float32_at_every_node():
    x = tg.randn(4, 6, requires_grad=True)
    w = tg.randn(3, 6, requires_grad=True)
    seen = []
    h = F.linear(x, w)
    for t in (h, h.sigmoid(), F.leaky_relu(h, 0.2), h.softplus(), h.exp(), (h * h + 1.0).sqrt()):
        t.register_hook(lambda g: seen.append(g.dtype))
        (t * 0.5).sum().backward(retain_graph=True)
    assert seen and all(d == "float32" for d in seen)
    assert x.grad.dtype == "float32" and w.grad.dtype == "float32"
