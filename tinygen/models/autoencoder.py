"""What the AE and the VAE share: an encoder from x to a code, a decoder back, and what is done with the pair
without a graph (``sample``, ``reconstruct``, ``interpolate``, the held-out ``evaluate`` in chunks).

Both build the same nets (:func:`~tinygen.models.nets.encoder_net` to features, then the model's own heads to
z, then :func:`~tinygen.models.nets.decoder_net`), in this order, so that a seed draws the same weights:

    encoder   x [+ c] -> features             MLP (784-400 for images, 2-128-128 for vectors) or conv
    heads     features -> z                   the AE: one Linear; the VAE: two (mu, logvar)
    decoder   z [+ c] -> x                    the mirror of the encoder

A subclass gives ``make_heads(features)``, ``encode``, ``code`` (the deterministic code of x: the AE's z, the
VAE's posterior mean), ``decode_onehot`` and ``heldout_sums`` (one chunk's numbers, summed over its samples).
"""
from __future__ import annotations

from .. import optim
from ..ops import stack
from .base import EVAL_CHUNK, GenerativeModel, is_image_shape
from .nets import check_arch, decoder_net, encoder_net

__all__ = ["Autoencoder"]


class Autoencoder(GenerativeModel):
    """An encoder, heads to the latent code and a decoder (see the module docstring). Arguments: ``data_shape``;
    ``arch`` "mlp" or "conv"; ``latent_dim`` (20 for images, 2 for vectors); ``hidden`` the MLP encoder's hidden
    sizes, mirrored by the decoder ((400,) for images, (128, 128) for vectors); ``width`` the conv nets' base
    channels; ``conditional``, ``num_classes``; ``decoder_out`` the decoder's last activation (None: linear);
    ``extra``: the subclass's own arguments, for ``config()``."""

    has_encoder = True

    def __init__(self, data_shape, arch, latent_dim, hidden, width, conditional, num_classes, decoder_out=None,
                 **extra):
        image = is_image_shape(data_shape)
        latent_dim = (20 if image else 2) if latent_dim is None else int(latent_dim)
        super().__init__(data_shape, latent_dim, conditional, num_classes)
        check_arch(arch, self.data_shape, self.kind)
        hidden = tuple(int(h) for h in (((400,) if image else (128, 128)) if hidden is None else hidden))
        self.arch = arch
        self._remember(data_shape=self.data_shape, arch=arch, latent_dim=latent_dim, hidden=hidden,
                       width=int(width), **extra, conditional=self.conditional, num_classes=self.num_classes)
        k = self.num_classes if self.conditional else 0
        self.encoder = encoder_net(self.data_shape, arch, hidden, int(width), cond_dim=k)
        self.make_heads(self.encoder.features)
        self.decoder = decoder_net(latent_dim, self.data_shape, arch, hidden[::-1], int(width), cond_dim=k,
                                   out_act=decoder_out)

    # --- what a subclass gives --------------------------------------------------------------------------------
    def make_heads(self, features):
        """Make the layers from the encoder's ``features`` to the latent code (called between the nets)."""
        raise NotImplementedError

    def code(self, x, y=None):
        """The deterministic code of x, (N, latent_dim): what ``reconstruct`` and ``interpolate`` decode."""
        raise NotImplementedError

    def decode_onehot(self, z, c):
        """``decode`` with the condition given as (N, num_classes) floats (one-hot, or a blend of them)."""
        raise NotImplementedError

    def heldout_sums(self, x, y=None):
        """The held-out numbers of one chunk of x, each summed over its samples (floats)."""
        raise NotImplementedError

    # --- written once for both --------------------------------------------------------------------------------
    @property
    def default_batch_size(self):
        return 128

    def make_optimizers(self, lr=None):
        """{"opt": Adam(lr=1e-3)} (the PyTorch VAE example's)."""
        return {"opt": optim.Adam(self.parameters(), lr=1e-3 if lr is None else lr)}

    def decode(self, z, y=None):
        """The decoder's mean of x given z, (N, *data_shape)."""
        return self.decode_onehot(z, self.onehot_for(y, z.shape[0], "decode"))

    def heldout_totals(self, x, y=None):
        """(``heldout_sums`` added up over ``x`` in chunks of EVAL_CHUNK samples, the number of samples), in
        evaluation mode without a graph."""
        x = self.as_batch(x, "held-out batch")
        n, sums = x.shape[0], {}
        with self.evaluating():
            for s in range(0, n, EVAL_CHUNK):
                yb = None if y is None or not self.conditional else y[s:s + EVAL_CHUNK]
                for k, v in self.heldout_sums(x[s:s + EVAL_CHUNK], yb).items():
                    sums[k] = sums.get(k, 0.0) + v
        return sums, n

    def evaluate(self, x, y=None):
        """The held-out numbers (``heldout_sums``), averaged over the samples of ``x``."""
        sums, n = self.heldout_totals(x, y)
        return {k: v / n for k, v in sums.items()}

    def sample(self, n, labels=None, z=None):
        """``n`` decodings of z drawn by ``sample_latent`` (or of the given z), (n, *data_shape)."""
        n = self.check_n(n)
        with self.evaluating():
            z = self.latent_for(n, z)
            return self.decode(z, self.labels_for(n, labels, self.device))

    def reconstruct(self, x, y=None):
        """decode(code(x)): the reconstruction through the deterministic code, shape (N, *data_shape)."""
        with self.evaluating():
            return self.decode(self.code(x, y), y)

    def interpolate(self, x1, x2, steps=8, y1=None, y2=None):
        """Decodings of the straight line z(t) = (1 - t) code(x1) + t code(x2) (x1, x2: batches of k samples
        each): (k, steps, *data_shape), from x1's code (t = 0) to x2's (t = 1). For a conditional model the
        one-hot labels are interpolated too (y2 defaults to y1)."""
        steps = int(steps)
        if steps < 2:
            raise ValueError(f"{self.kind}: interpolate needs steps >= 2, got {steps}")
        with self.evaluating():
            x1, x2 = self.as_batch(x1, "first batch"), self.as_batch(x2, "second batch")
            if x1.shape[0] != x2.shape[0]:
                raise ValueError(f"{self.kind}: interpolate needs as many samples in x1 as in x2, got "
                                 f"{x1.shape[0]} and {x2.shape[0]}")
            k = x1.shape[0]
            if self.conditional and y2 is None:
                y2 = y1
            z1, z2 = self.code(x1, y1), self.code(x2, y2)
            c1, c2 = self.onehot_for(y1, k, "interpolate"), self.onehot_for(y2, k, "interpolate")
            rows = []
            for i in range(steps):
                t = i / (steps - 1)
                c = None if c1 is None else c1 * (1.0 - t) + c2 * t
                rows.append(self.decode_onehot(z1 * (1.0 - t) + z2 * t, c))
            return stack(rows, axis=1)
