"""The autoencoder: a deterministic encoder and decoder trained to reconstruct their input (the seed's
worked example).

    z = enc(x),   x_rec = dec(z),   loss = mean_i (x_rec_i - x_i)^2        (MSE over every pixel of the batch)
    dloss/dx_rec_i = 2 (x_rec_i - x_i) / (N D)                             (then the chain rule through the nets)

For images the decoder ends with a sigmoid (outputs in [0, 1], the data range); for vectors (the 2-D toys) it
is linear. The nets are the VAE's (MLP 784-400-20 by default, or the DCGAN-style conv pair), with one Linear
from the encoder's body to z instead of the VAE's two heads.

An autoencoder has no prior to sample from. ``sample(n)`` decodes z ~ N(m, diag v), where m and v are running
averages of the mean and variance of the codes of the training batches (the buffers ``code_mean`` and
``code_var``, updated by ``train_step`` with momentum 0.05 and saved with the state dict). Such samples are
often poor (the codes need not fill a Gaussian): that is the point of comparing the AE with the VAE.
"""
from __future__ import annotations

import math

from .. import backend as _backend
from .. import creation as _creation
from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .autoencoder import Autoencoder
from .base import is_image_shape, register_model

__all__ = ["AE"]

CODE_MOMENTUM = 0.05


@register_model("ae")
class AE(Autoencoder):
    """The autoencoder (see the module docstring). Arguments as the VAE's: ``data_shape``, ``arch``,
    ``latent_dim`` (20 for images, 2 for vectors), ``hidden``, ``width``, ``conditional``, ``num_classes``."""

    display_name = "AE"
    objective_text = "reconstruction (MSE)"
    default_epochs = 10

    def __init__(self, data_shape=(1, 28, 28), arch="mlp", latent_dim=None, hidden=None, width=32,
                 conditional=False, num_classes=10):
        super().__init__(data_shape, arch, latent_dim, hidden, width, conditional, num_classes,
                         decoder_out="sigmoid" if is_image_shape(data_shape) else None)
        self.register_buffer("code_mean", _creation.zeros(self.latent_dim))
        self.register_buffer("code_var", _creation.ones(self.latent_dim))

    # --- the pieces -------------------------------------------------------------------------------------------
    def make_heads(self, features):
        """One Linear from the encoder's features to z."""
        self.fc_z = nn.Linear(features, self.latent_dim)

    def encode(self, x, y=None):
        """The code z = enc(x), (N, latent_dim). Records a graph when gradients are enabled."""
        x = self.as_batch(x, "encoder's input")
        return self.fc_z(self.encoder(x, self.onehot_for(y, x.shape[0], "encode")))

    def code(self, x, y=None):
        """z = enc(x) (what ``reconstruct`` and ``interpolate`` decode)."""
        return self.encode(x, y)

    def decode_onehot(self, z, c):
        """dec(z) given the condition as floats, (N, *data_shape), in [0, 1] for images."""
        return self.decoder(z, c)

    def loss(self, x, y=None):
        """(MSE over all pixels of the batch, the codes z)."""
        x = self.as_batch(x)
        z = self.encode(x, y)
        return F.mse_loss(self.decode(z, y), x), z

    # --- the contract (sample, reconstruct, interpolate, make_optimizers: Autoencoder's) -------------------
    def train_step(self, x, y, optimizers):
        """One Adam step on the batch's MSE; updates the running code statistics. Returns {"loss"} (MSE per
        pixel)."""
        opt = optimizers["opt"]
        opt.zero_grad()
        loss, z = self.loss(x, y)
        loss.backward()
        opt.step()
        with no_grad(), _backend.device_scope(z.data):
            m = CODE_MOMENTUM
            zd = z.data
            xp = z.xp
            self.code_mean.data[...] = (1 - m) * self.code_mean.data + m * xp.mean(zd, axis=0)
            if zd.shape[0] > 1:
                self.code_var.data[...] = (1 - m) * self.code_var.data + m * xp.var(zd, axis=0, correction=1)
        return {"loss": loss.detach()}

    def heldout_sums(self, x, y=None):
        """{"mse": the squared errors of the reconstructions, summed over the chunk's samples and pixels}."""
        return {"mse": float(F.mse_loss(self.decode(self.encode(x, y), y), x, reduction="sum").item())}

    def evaluate(self, x, y=None):
        """Held-out {"mse"}: the mean squared error per pixel of the reconstructions."""
        sums, n = self.heldout_totals(x, y)
        return {"mse": sums["mse"] / (n * math.prod(self.data_shape))}

    def sample_latent(self, n):
        """z ~ N(code_mean, diag code_var): a Gaussian fitted to the training codes (see the module docstring)."""
        eps = _creation.randn(int(n), self.latent_dim, dtype=self.dtype, device=self.device)
        with no_grad():
            return eps * self.code_var.sqrt() + self.code_mean
