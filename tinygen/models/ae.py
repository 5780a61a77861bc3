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

from .. import backend as _backend
from .. import creation as _creation
from .. import functional as F
from .. import nn, optim
from ..autograd import no_grad
from .base import GenerativeModel, register_model
from .nets import check_arch, decoder_net, encoder_net
from .vae import EVAL_CHUNK, _interpolate

__all__ = ["AE"]

CODE_MOMENTUM = 0.05


@register_model("ae")
class AE(GenerativeModel):
    """The autoencoder (see the module docstring). Arguments as the VAE's: ``data_shape``, ``arch``,
    ``latent_dim`` (20 for images, 2 for vectors), ``hidden``, ``width``, ``conditional``, ``num_classes``."""

    display_name = "AE"
    objective_text = "reconstruction (MSE)"
    default_epochs = 10
    has_encoder = True

    def __init__(self, data_shape=(1, 28, 28), arch="mlp", latent_dim=None, hidden=None, width=32,
                 conditional=False, num_classes=10):
        image = len(tuple(data_shape) if not isinstance(data_shape, int) else (data_shape,)) == 3
        latent_dim = (20 if image else 2) if latent_dim is None else int(latent_dim)
        super().__init__(data_shape, latent_dim, conditional, num_classes)
        check_arch(arch, self.data_shape, "ae")
        hidden = tuple(int(h) for h in ((400,) if image else (128, 128))) if hidden is None else \
            tuple(int(h) for h in hidden)
        self.arch = arch
        self._remember(data_shape=self.data_shape, arch=arch, latent_dim=latent_dim, hidden=hidden,
                       width=int(width), conditional=self.conditional, num_classes=self.num_classes)
        k = self.num_classes if self.conditional else 0
        self.encoder = encoder_net(self.data_shape, arch, hidden, int(width), cond_dim=k)
        self.fc_z = nn.Linear(self.encoder.features, latent_dim)
        self.decoder = decoder_net(latent_dim, self.data_shape, arch, hidden[::-1], int(width), cond_dim=k,
                                   out_act="sigmoid" if image else None)
        self.register_buffer("code_mean", _creation.zeros(latent_dim))
        self.register_buffer("code_var", _creation.ones(latent_dim))

    # --- the pieces -------------------------------------------------------------------------------------------
    def encode(self, x, y=None):
        """The code z = enc(x), (N, latent_dim). Records a graph when gradients are enabled."""
        x = self.as_batch(x, "encoder's input")
        return self.fc_z(self.encoder(x, self.onehot_for(y, x.shape[0], "encode")))

    def decode(self, z, y=None):
        """dec(z), (N, *data_shape), in [0, 1] for images."""
        return self.decode_onehot(z, self.onehot_for(y, z.shape[0], "decode"))

    def decode_onehot(self, z, c):
        return self.decoder(z, c)

    def loss(self, x, y=None):
        """(MSE over all pixels of the batch, the codes z)."""
        x = self.as_batch(x)
        z = self.encode(x, y)
        return F.mse_loss(self.decode(z, y), x), z

    # --- the contract ---------------------------------------------------------------------------------------
    @property
    def default_batch_size(self):
        return 128

    def make_optimizers(self, lr=None):
        """{"opt": Adam(lr=1e-3)}."""
        return {"opt": optim.Adam(self.parameters(), lr=1e-3 if lr is None else lr)}

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

    def evaluate(self, x, y=None):
        """Held-out {"mse"}: the mean squared error per pixel of the reconstructions."""
        x = self.as_batch(x, "held-out batch")
        n, total = x.shape[0], 0.0
        with self.evaluating():
            for s in range(0, n, EVAL_CHUNK):
                yb = None if y is None or not self.conditional else y[s:s + EVAL_CHUNK]
                xb = x[s:s + EVAL_CHUNK]
                total += float(F.mse_loss(self.decode(self.encode(xb, yb), yb), xb, reduction="sum").item())
        return {"mse": total / (n * x[0].numel())}

    def sample_latent(self, n):
        """z ~ N(code_mean, diag code_var): a Gaussian fitted to the training codes (see the module docstring)."""
        eps = _creation.randn(int(n), self.latent_dim, dtype=self.dtype, device=self.device)
        with no_grad():
            return eps * self.code_var.sqrt() + self.code_mean

    def sample(self, n, labels=None, z=None):
        """``n`` decodings of z drawn by ``sample_latent`` (or of the given z)."""
        n = self.check_n(n)
        with self.evaluating():
            z = self.latent_for(n, z)
            return self.decode(z, self.labels_for(n, labels, self.device))

    def reconstruct(self, x, y=None):
        """dec(enc(x)), shape (N, *data_shape)."""
        with self.evaluating():
            return self.decode(self.encode(x, y), y)

    def interpolate(self, x1, x2, steps=8, y1=None, y2=None):
        """Decodings along the straight line from enc(x1) to enc(x2): (k, steps, *data_shape)."""
        steps = int(steps)
        if steps < 2:
            raise ValueError(f"ae: interpolate needs steps >= 2, got {steps}")
        with self.evaluating():
            return _interpolate(self, x1, x2, steps, y1, y2, self.encode)
