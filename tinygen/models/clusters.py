"""Self-conditioning: k-means clusters of the training images as hidden labels of an unconditional GAN.

An unconditional GAN on MNIST learns the shapes of digits long before it learns how often each digit occurs and
where one digit ends and the next begins: after 6,000 steps the DCGAN drew the ten digits in proportions from
4.5% to 16.4%, and many of its samples halfway between two digits (FD-MNIST 206-250, against 43.9 for the same
nets told the labels; benchmarks/NOTES.md 22 and 26). The labels are what the conditional GAN has and the
unconditional one lacks; clusters of the images are the part of them that can be had without labels (Liu et al.
2020, "Diverse Image Generation via Self-Conditioned GANs"; they cluster the discriminator's features and
re-cluster as it learns, here the pixels are clustered once, before training):

1. Before the first step, k-means (k-means++ seeding, then Lloyd's iterations, a fixed seed) splits the
   training images into K clusters; their centres and their shares p_1..p_K of the data are kept.
2. A real image's code is its nearest centre (squared distance in pixels). A generated image's code is read off
   its own latent vector: z_0 (the first coordinate, N(0, 1)) falls into one of K intervals cut at the normal
   quantiles of p_1, p_1 + p_2, ..., so code k comes up with probability p_k, as often as in the data.
3. Both nets get the code as a one-hot input, as a conditional GAN gets its label: G(z, onehot(code(z))) and
   D(x, onehot(code)). D can now say "not a good member of cluster k", and G is asked for every cluster in
   its share, so the shares come out right by construction.

The model stays unconditional to its user: ``sample(n)`` and ``generate(z)`` take no labels; G is a function of
z alone (the code is part of it). One visible cost: a straight line between two latent vectors crosses
boundaries of the z_0 intervals, where the code and the image jump (so tinygen's interpolations of such a GAN
hold z_0 along each row: one cluster per row).
"""
from __future__ import annotations

from .. import backend as _backend
from .. import creation as _creation
from .. import nn
from ..data.kmeans import kmeans, normal_cuts
from ..tensor import Tensor

__all__ = ["ClusterCode"]


class ClusterCode(nn.Module):
    """The K clusters of one data set: buffers ``centres`` (K, D), ``cuts`` (K - 1,) (the z_0 boundaries) and
    ``fitted`` (0 until ``fit``); saved in checkpoints and moved by ``to`` like any buffer."""

    def __init__(self, k, features, dtype="float32"):
        super().__init__()
        if k < 2:
            raise ValueError(f"clusters: need at least 2 clusters, got {k}")
        self.k, self.features = int(k), int(features)
        self.register_buffer("centres", _creation.zeros(self.k, self.features, dtype=dtype))
        self.register_buffer("cuts", _creation.zeros(self.k - 1, dtype=dtype))
        self.register_buffer("fitted", _creation.tensor(0, dtype="int64"))

    @property
    def is_fitted(self):
        """True once ``fit`` has run (or a fitted state was loaded); read on the host once per loaded array."""
        buf = self.fitted.data
        seen = self.__dict__.get("_host_fitted")
        if seen is None or seen[0] is not buf:
            seen = (buf, bool(int(self.fitted.item())))
            object.__setattr__(self, "_host_fitted", seen)
        return seen[1]

    def fit(self, x):
        """k-means of the host array ``x`` (N, ...) with N >= K (tinygen/data/kmeans.py); sets the centres, the
        cuts and ``fitted``. Returns the cluster sizes (K,) as a host array."""
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.features:
            raise ValueError(f"clusters: the data has {x.shape[1]} values per sample, the model {self.features}")
        centres, labels = kmeans(x, self.k)
        sizes, cuts = normal_cuts(labels, self.k)
        device, dtype = self.centres.device, str(self.centres.dtype)
        self.centres.data = _creation.tensor(centres, dtype=dtype, device=device).data
        self.cuts.data = _creation.tensor(cuts, dtype=dtype, device=device).data
        self.fitted.data = _creation.tensor(1, dtype="int64", device=device).data
        return sizes

    def of_images(self, x):
        """The nearest centre of each image of x (N, ...) (a Tensor or array): an int64 Tensor (N,)."""
        a = x.data if isinstance(x, Tensor) else x
        c = self.centres.data
        xp = _backend.namespace(c)
        with _backend.device_scope(c):
            flat = xp.reshape(xp.astype(a, c.dtype), (a.shape[0], -1))
            d = xp.sum(c * c, axis=1)[None, :] - 2 * (flat @ xp.permute_dims(c, (1, 0)))
            return Tensor(xp.astype(xp.argmin(d, axis=1), _backend.backend_of(c).dtype("int64")))

    def of_latent(self, z):
        """The code of each latent vector of z (N, latent_dim): the interval of the cuts that holds z[:, 0]."""
        a = z.data if isinstance(z, Tensor) else z
        c = self.cuts.data
        xp = _backend.namespace(c)
        with _backend.device_scope(c):
            col = xp.astype(a[:, 0], c.dtype)
            return Tensor(xp.astype(xp.searchsorted(c, col, side="right"), _backend.backend_of(c).dtype("int64")))

    def extra_repr(self):
        return f"k={self.k}, features={self.features}"
