"""The variational autoencoder (Kingma & Welling 2014), optionally conditional (Sohn et al. 2015) and with a
beta weight on the KL term (Higgins et al. 2017).

The model::

    encoder:  x -> (mu, logvar)           q(z | x) = N(mu, diag sigma^2),  sigma^2 = exp(logvar)
    sample:   z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)      (the reparameterisation: z is a
              differentiable function of mu and logvar, the randomness is in eps)
    decoder:  z -> the parameters of p(x | z): Bernoulli logits, or a Gaussian mean
    prior:    p(z) = N(0, I)

The loss minimised is the negative ELBO per sample, averaged over the batch::

    -ELBO(x) = E_q[-log p(x | z)] + KL(q(z | x) || N(0, I))       (one-sample estimate of the first term)
    rec      = -log p(x | z) summed over the pixels (nats per image):
               Bernoulli:  sum_i BCE_with_logits(l_i, x_i) = sum_i max(l_i, 0) - l_i x_i + log(1 + e^-|l_i|)
               Gaussian:   sum_i 1/2 (log 2 pi + log s^2 + (x_i - m_i)^2 / s^2)
    kl       = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))          (closed form)
    loss     = mean over the batch of rec + beta kl

and its gradients, which the tests check against finite differences with eps held fixed::

    dkl/dmu = mu,   dkl/dlogvar = (sigma^2 - 1) / 2
    Bernoulli: drec/dl_i = sigmoid(l_i) - x_i                    Gaussian: drec/dm_i = (m_i - x_i) / s^2
    dz/dmu = 1,     dz/dlogvar = eps exp(logvar / 2) / 2        (then the chain rule through the nets)

MNIST pixels are grey levels in [0, 1], not binary: with the Bernoulli likelihood "rec" is then the
cross-entropy of the pixel values (the convention of the PyTorch example and of most VAE tutorials), not a
log-likelihood of discrete data. The Gaussian likelihood's variance s^2 is one learned scalar shared by all
dimensions (``sigma=None``, the "calibrated decoder" of Rybkin et al. 2021; the parameter is
``decoder_logvar``) or the fixed ``sigma ** 2``.

Defaults (the PyTorch example): MLP 784-400-20 (encoder 784-400 ReLU, 400->20 mu, 400->20 logvar; decoder
20-400 ReLU-784), Bernoulli, beta 1, Adam lr 1e-3, batch 128. The conv variant uses the DCGAN-style
:class:`~tinygen.models.nets.ConvEncoder` / :class:`~tinygen.models.nets.ConvDecoder` with ``width`` 32.
Conditional: the one-hot label is concatenated to the encoder's input (as constant channels for the conv
encoder) and to z at the decoder's input.
"""
from __future__ import annotations

import math

from .. import creation as _creation
from .. import functional as F
from .. import nn
from ..tensor import Tensor
from .autoencoder import Autoencoder
from .base import is_image_shape, register_model

__all__ = ["VAE"]

LIKELIHOODS = ("bernoulli", "gaussian")


@register_model("vae")
class VAE(Autoencoder):
    """The VAE (see the module docstring). ``build_model("vae", data_shape=(1, 28, 28))`` gives the 784-400-20
    MLP with the Bernoulli likelihood.

    Arguments: ``data_shape``; ``arch`` "mlp" or "conv"; ``latent_dim`` (20 for images, 2 for vectors);
    ``hidden`` the MLP encoder's hidden sizes, mirrored by the decoder ((400,) for images, (128, 128) for
    vectors); ``width`` the conv nets' base channels (32); ``likelihood`` "bernoulli" (images' default) or
    "gaussian" (vectors' default); ``sigma`` the Gaussian's fixed std (None: learned); ``beta`` the KL weight;
    ``conditional`` and ``num_classes``."""

    display_name = "VAE"
    objective_text = "ELBO: E_q[log p(x|z)] - KL(q(z|x) || N(0, I))"
    default_epochs = 10
    has_likelihood = True

    def __init__(self, data_shape=(1, 28, 28), arch="mlp", latent_dim=None, hidden=None, width=32,
                 likelihood=None, sigma=None, beta=1.0, conditional=False, num_classes=10):
        if likelihood is None:
            likelihood = "bernoulli" if is_image_shape(data_shape) else "gaussian"
        likelihood = str(likelihood).lower()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"vae: unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
        if sigma is not None and (likelihood != "gaussian" or not float(sigma) > 0):
            raise ValueError("vae: sigma (a positive fixed std) only goes with likelihood='gaussian'")
        if float(beta) < 0:
            raise ValueError(f"vae: beta must be >= 0, got {beta!r}")
        sigma = None if sigma is None else float(sigma)
        super().__init__(data_shape, arch, latent_dim, hidden, width, conditional, num_classes,
                         likelihood=likelihood, sigma=sigma, beta=float(beta))
        self.likelihood, self.beta, self.sigma = likelihood, float(beta), sigma
        if likelihood == "gaussian" and sigma is None:
            self.decoder_logvar = nn.Parameter(_creation.zeros(1))   # log s^2, learned, shared

    # --- the pieces -------------------------------------------------------------------------------------------
    def make_heads(self, features):
        """Two Linears from the encoder's features: mu and logvar of q(z | x)."""
        self.fc_mu = nn.Linear(features, self.latent_dim)
        self.fc_logvar = nn.Linear(features, self.latent_dim)

    def encode(self, x, y=None):
        """(mu, logvar) of q(z | x), each (N, latent_dim). Records a graph when gradients are enabled."""
        x = self.as_batch(x, "encoder's input")
        h = self.encoder(x, self.onehot_for(y, x.shape[0], "encode"))
        return self.fc_mu(h), self.fc_logvar(h)

    @staticmethod
    def reparameterize(mu, logvar, eps=None):
        """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) unless given (the tests hold it fixed)."""
        if eps is None:
            eps = _creation.randn(*mu.shape, dtype=mu.dtype, device=mu.device)
        return mu + (logvar * 0.5).exp() * eps

    def decoder_output(self, z, y=None):
        """The decoder's raw output (N, *data_shape): Bernoulli logits, or the Gaussian mean."""
        return self.decoder(z, self.onehot_for(y, z.shape[0], "decode"))

    def code(self, x, y=None):
        """The posterior mean mu(x) (what ``reconstruct`` and ``interpolate`` decode: no noise)."""
        return self.encode(x, y)[0]

    def decode_onehot(self, z, c):
        """The mean of p(x | z), (N, *data_shape), given the condition as (N, num_classes) floats (one-hot, or a
        blend of them): sigmoid(logits) in [0, 1] (Bernoulli) or the Gaussian mean."""
        out = self.decoder(z, c)
        return out.sigmoid() if self.likelihood == "bernoulli" else out

    def _logvar_out(self):
        """log s^2 of the Gaussian likelihood: the learned parameter, or the constant log sigma^2."""
        if self.sigma is not None:
            w = self.fc_mu.weight
            return Tensor(w.xp.full((1,), 2.0 * math.log(self.sigma), dtype=w.data.dtype))
        return self.decoder_logvar

    def reconstruction_nll(self, x, out):
        """-log p(x | z) per sample, from the decoder's output ``out`` for z (logits or the Gaussian mean),
        summed over the pixels: BCE with logits (Bernoulli) or the Gaussian negative log-density."""
        axes = tuple(range(1, x.ndim))
        if self.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(axes)
        return F.gaussian_nll(x, out, self._logvar_out(), reduction="none").sum(axes)

    def negative_elbo(self, x, y=None, eps=None, reduction="mean"):
        """The loss and its parts as Tensors: {"loss": rec + beta kl, "nelbo": rec + kl, "rec", "kl"}, each the
        mean over the batch (``reduction="mean"``) or one per sample ("none"). ``eps`` (N, latent_dim) fixes
        the reparameterisation noise."""
        x = self.as_batch(x)
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar, eps)
        rec = self.reconstruction_nll(x, self.decoder_output(z, y))
        kl = F.gaussian_kl(mu, logvar)                          # (N,): one KL per sample
        terms = {"loss": rec + kl * self.beta, "nelbo": rec + kl, "rec": rec, "kl": kl}
        if reduction == "mean":
            return {k: v.mean() for k, v in terms.items()}
        if reduction != "none":
            raise ValueError(f"vae: reduction must be 'mean' or 'none', got {reduction!r}")
        return terms

    # --- the contract (sample, reconstruct, interpolate, make_optimizers: Autoencoder's) -------------------
    def train_step(self, x, y, optimizers):
        """One Adam step on the batch's mean negative ELBO (rec + beta kl). Returns {"loss", "rec", "kl"}
        in nats per sample (batch means)."""
        opt = optimizers["opt"]
        opt.zero_grad()
        terms = self.negative_elbo(x, y)
        terms["loss"].backward()
        opt.step()
        return {k: terms[k].detach() for k in ("loss", "rec", "kl")}

    def heldout_sums(self, x, y=None):
        """{"nelbo", "rec", "kl"} of the chunk (beta = 1; one draw of eps per sample), summed over its samples:
        ``evaluate`` gives their means, in nats per sample."""
        terms = self.negative_elbo(x, y, reduction="none")
        return {k: float(terms[k].sum().item()) for k in ("nelbo", "rec", "kl")}
