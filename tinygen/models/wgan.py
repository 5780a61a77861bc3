"""The Wasserstein GAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).

Both train a critic f (no sigmoid: any real number) to estimate the Wasserstein-1 distance
W(P_r, P_g) = sup over 1-Lipschitz f of E_x[f(x)] - E_z[f(G(z))], and the generator to reduce it::

    critic:     L_f = E_z[f(G(z))] - E_x[f(x)]            (batch means; minimising L_f maximises the estimate)
    generator:  L_G = -E_z[f(G(z))]
    dL_f/df(x_n) = -1/N,   dL_f/df(G(z_n)) = 1/N,   dL_G/df(G(z_n)) = -1/N   (then through f, and G)

The log's "wdist" is -L_f (without the penalty): the critic's current estimate of W, the curve of the papers.

How f is kept (roughly) Lipschitz:

* WGAN: after every critic update, every critic parameter is clipped to [-c, c] (``optim.clip_weights_``).
  Defaults: exactly the paper's Algorithm 1: RMSprop lr 0.00005, c = 0.01, m = 64, n_critic = 5.
* WGAN-GP: the penalty lambda E[(||grad_x f(x_hat)||_2 - 1)^2] is added to L_f, at x_hat = e x + (1 - e) G(z),
  e ~ U[0, 1] per sample (``F.gradient_penalty``: grad_x f comes from ``tinygen.grad(create_graph=True)``, so
  the penalty's gradient w.r.t. the critic's weights is a second derivative through every op of f).
  Defaults: the paper's: lambda = 10, n_critic = 5, Adam lr 1e-4, betas (0, 0.9), m = 64; and no BatchNorm in
  the critic (the penalty is per sample; BatchNorm couples the samples of a batch). ``batchnorm`` then only
  applies to the generator. For vector data (the 2-D toys) lambda defaults to 0.1, the value of the authors'
  own toy experiments ("smaller lambda seems to help for toy tasks specifically", their gan_toy.py): with
  lambda = 10 on ring8 (std 0.01) the generator's cloud drifts around the ring and covers 0/8 modes after
  10,000 generator iterations (PyTorch does the same); with 0.1 it covers 8/8 (benchmarks/quality.py).

One call of ``train_step`` is ONE critic update (on one real batch of m samples); the generator is updated after
every n_critic-th call, as in Algorithm 1 (see :class:`~tinygen.models.gan.AdversarialModel`). The nets are the
GAN's (DCGAN-style conv or MLP; see :mod:`tinygen.models.gan`). For the 2-D toys the batch is 256, like the GAN's.
"""
from __future__ import annotations

from .. import functional as F
from .. import optim
from .base import is_image_shape, register_model
from .gan import AdversarialModel

__all__ = ["WGAN", "WGANGP"]


class _Wasserstein(AdversarialModel):
    default_n_critic = 5

    def generator_objective(self, f_fake):
        return -f_fake.mean()

    def _critic_terms(self, real, fake, y):
        """E f(fake) - E f(real) (batch means) as one weighted sum over the critic's outputs on both batches."""
        n, m = real.shape[0], fake.shape[0]
        f = self.critic_outputs(real, fake, y)
        return (f * self.per_batch(f, n, m, -1.0 / n, 1.0 / m)).sum()

    def evaluate(self, x, y=None):
        """Held-out {"wdist"}: mean f(x) over the held-out x minus mean f(G(z)) over as many fresh samples."""
        x = self.as_batch(x, "held-out batch")
        with self.evaluating():
            real, fake = self._scores(x, y)
            n = x.shape[0]
            return {"wdist": (sum(float(r.sum().item()) for r in real) - sum(float(f.sum().item()) for f in fake)) / n}

    @property
    def default_batch_size(self):
        return 64 if self.is_image else 256


@register_model("wgan")
class WGAN(_Wasserstein):
    """WGAN with weight clipping. Extra argument: ``clip`` (c; default 0.01, Algorithm 1's)."""

    display_name = "WGAN"
    objective_text = "Wasserstein (critic clipped to [-c, c])"
    default_epochs = 10
    default_clip = 0.01                      # Algorithm 1's c

    def __init__(self, data_shape=(1, 28, 28), arch="conv", latent_dim=None, hidden=None, width=64,
                 batchnorm=True, n_critic=None, conditional=False, num_classes=10, clip=None, augment=None, ema=None):
        clip = float(self.default_clip if clip is None else clip)
        if not clip > 0:
            raise ValueError(f"wgan: clip must be > 0, got {clip}")
        super().__init__(data_shape, arch, latent_dim, hidden, width, batchnorm, n_critic, conditional,
                         num_classes, augment, ema, clip=clip)
        self.clip = clip
        self.after_critic_step()             # the critic starts inside the box, as after any update

    def critic_loss(self, real, fake, y=None):
        loss = self._critic_terms(real, fake, y)
        return loss, {"d_loss": loss.detach(), "wdist": -loss.detach()}

    def after_critic_step(self):
        """Clip every critic parameter to [-clip, clip] (in place)."""
        optim.clip_weights_(self.critic.parameters(), self.clip)

    def make_optimizers(self, lr=None):
        """{"d": RMSprop, "g": RMSprop}, lr 0.00005 (Algorithm 1)."""
        lr = 5e-5 if lr is None else lr
        return {"d": optim.RMSprop(self.critic.parameters(), lr=lr),
                "g": optim.RMSprop(self.generator.parameters(), lr=lr)}


@register_model("wgan-gp")
class WGANGP(_Wasserstein):
    """WGAN-GP. Extra argument: ``gp_weight`` (lambda: 10 for images, 0.1 for vector data such as the 2-D toys).
    The critic never has BatchNorm."""

    display_name = "WGAN-GP"
    objective_text = "Wasserstein + gradient penalty"
    default_epochs = 10
    critic_batchnorm_allowed = False

    def __init__(self, data_shape=(1, 28, 28), arch="conv", latent_dim=None, hidden=None, width=64,
                 batchnorm=True, n_critic=None, conditional=False, num_classes=10, gp_weight=None, augment=None,
                 ema=None):
        if gp_weight is None:
            gp_weight = 10.0 if is_image_shape(data_shape) else 0.1
        gp_weight = float(gp_weight)
        if gp_weight < 0:
            raise ValueError(f"wgan-gp: gp_weight must be >= 0, got {gp_weight}")
        super().__init__(data_shape, arch, latent_dim, hidden, width, batchnorm, n_critic, conditional,
                         num_classes, augment, ema, gp_weight=gp_weight)
        self.gp_weight = gp_weight

    def gradient_penalty(self, real, fake, y=None, eps=None):
        """lambda E[(||grad_x f(x_hat)||_2 - 1)^2], x_hat = eps real + (1 - eps) fake (eps ~ U[0, 1) per sample
        unless given): F.gradient_penalty with this critic (and the labels, held constant)."""
        real, fake = self.as_batch(real), self.as_batch(fake)
        c = self.onehot_for(y, real.shape[0], "gradient_penalty")

        def f(x):
            return self.critic(x, c)
        return F.gradient_penalty(f, real, fake, lambda_=self.gp_weight, eps=eps)

    def critic_loss(self, real, fake, y=None, eps=None):
        w = self._critic_terms(real, fake, y)
        gp = self.gradient_penalty(real, fake, y, eps)
        loss = w + gp
        return loss, {"d_loss": loss.detach(), "wdist": -w.detach(), "gp": gp.detach()}

    def make_optimizers(self, lr=None):
        """{"d": Adam, "g": Adam}, lr 1e-4, betas (0, 0.9) (the paper's)."""
        lr = 1e-4 if lr is None else lr
        return {"d": optim.Adam(self.critic.parameters(), lr=lr, betas=(0.0, 0.9)),
                "g": optim.Adam(self.generator.parameters(), lr=lr, betas=(0.0, 0.9))}
