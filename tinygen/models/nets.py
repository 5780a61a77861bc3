"""The networks of the generative models: MLPs and DCGAN-style convolutional encoders / decoders.

Two families, both taking an optional condition ``c`` (one-hot labels, (N, K) floats) for conditional models:

* :class:`MLP`: flattens its input x (N, ...), concatenates c, then Linear -> act -> ... -> Linear.
  The VAE's MLP is 784-400 ReLU (encoder body) and 20-400 ReLU-784 (decoder); the 2-D toy GANs use
  2-128-128-{2,1} with ReLU.
* :class:`ConvEncoder` (the encoder body / the critic) and :class:`ConvDecoder` (the decoder / the generator),
  for images (C, H, W) with H and W divisible by 4, w = ``width`` (64 by default, DCGAN's)::

      ConvEncoder:  x (N, C, H, W) [+ c broadcast as K constant channels]
                    -> Conv2d(C [+K], w, 4, 2, 1) -> LeakyReLU(0.2)                    (N, w, H/2, W/2)
                    -> Conv2d(w, 2w, 4, 2, 1) [-> BatchNorm2d] -> LeakyReLU(0.2)       (N, 2w, H/4, W/4)
                    -> Flatten [-> Linear(2w H/4 W/4, out)]
      ConvDecoder:  z (N, in) [+ c concatenated]
                    -> Linear(in [+K], 2w H/4 W/4) [-> BatchNorm1d] -> ReLU -> reshape (N, 2w, H/4, W/4)
                    -> ConvTranspose2d(2w, w, 4, 2, 1) [-> BatchNorm2d] -> ReLU            (N, w, H/2, W/2)
                    -> ConvTranspose2d(w, C, 4, 2, 1) [-> tanh / sigmoid]                 (N, C, H, W)

  (k4 s2 p1 halves a side exactly: floor((H + 2 - 4) / 2) + 1 = H/2; the transposed conv doubles it.)

:func:`dcgan_init_` is DCGAN's initialisation (Radford et al. 2016): every conv, transposed conv and linear
weight ~ N(0, 0.02^2), biases 0, BatchNorm weight ~ N(1, 0.02^2), BatchNorm bias 0. The MLPs keep PyTorch's
default initialisation.
"""
from __future__ import annotations

import math

from .. import backend as _backend
from .. import functional as F
from .. import nn
from ..autograd import no_grad
from ..nn import init
from ..ops import concat
from ..tensor import ShapeError, Tensor

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "dcgan_init_", "activation", "check_conv_shape"]

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
}


def activation(name):
    """A new activation module by name: "relu", "leaky_relu" (slope 0.2), "tanh", "sigmoid"; None: identity."""
    if name is None:
        return nn.Identity()
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; use one of {', '.join(_ACTIVATIONS)}") from None


def check_conv_shape(data_shape, who="conv"):
    """Raise ValueError unless ``data_shape`` is (C, H, W) with H and W divisible by 4."""
    if len(data_shape) != 3 or data_shape[1] % 4 or data_shape[2] % 4:
        raise ValueError(f"{who}: the conv nets take images of shape (C, H, W) with H and W divisible by 4, "
                         f"got data shape {tuple(data_shape)}; use arch='mlp'")


class MLP(nn.Module):
    """x (N, ...) -> flatten -> [concat c] -> Linear -> act -> ... -> Linear(out) -> out_act.

    ``hidden``: the hidden sizes; ``out_features=None`` ends after the last hidden layer's activation (an
    encoder body, whose output size is ``self.features``); ``out_shape`` reshapes the output to
    (N, *out_shape) (a decoder producing images)."""

    def __init__(self, in_features, hidden, out_features=None, act="relu", out_act=None, cond_dim=0,
                 out_shape=None):
        super().__init__()
        self.in_features, self.cond_dim = int(in_features), int(cond_dim)
        self.out_shape = None if out_shape is None else tuple(int(s) for s in out_shape)
        layers, d = [], self.in_features + self.cond_dim
        for h in hidden:
            layers += [nn.Linear(d, int(h)), activation(act)]
            d = int(h)
        if out_features is not None:
            layers.append(nn.Linear(d, int(out_features)))
            d = int(out_features)
            if out_act is not None:
                layers.append(activation(out_act))
        if self.out_shape is not None and math.prod(self.out_shape) != d:
            raise ValueError(f"MLP: {d} outputs cannot be shaped as {self.out_shape}")
        self.features = d
        self.net = nn.Sequential(*layers)

    def forward(self, x, c=None):
        n = x.shape[0]
        h = x.reshape((n, math.prod(x.shape[1:])))
        if h.shape[1] != self.in_features:
            raise ShapeError(f"MLP: expected {self.in_features} input features per sample, got input of shape "
                             f"{tuple(x.shape)}")
        if self.cond_dim:
            h = concat([h, c], axis=1)
        out = self.net(h)
        if self.out_shape is not None:
            out = out.reshape((n,) + self.out_shape)
        return out


class ConvEncoder(nn.Module):
    """The DCGAN discriminator / the conv encoder body (see the module docstring for the layers)."""

    def __init__(self, data_shape, out_features=None, width=64, batchnorm=False, cond_dim=0):
        super().__init__()
        check_conv_shape(data_shape, "ConvEncoder")
        c, h, w = (int(s) for s in data_shape)
        self.data_shape, self.cond_dim, self.width = (c, h, w), int(cond_dim), int(width)
        k = self.width
        layers = [nn.Conv2d(c + self.cond_dim, k, 4, 2, 1), nn.LeakyReLU(0.2),
                  nn.Conv2d(k, 2 * k, 4, 2, 1)]
        if batchnorm:
            layers.append(nn.BatchNorm2d(2 * k))
        layers += [nn.LeakyReLU(0.2), nn.Flatten()]
        d = 2 * k * (h // 4) * (w // 4)
        if out_features is not None:
            layers.append(nn.Linear(d, int(out_features)))
            d = int(out_features)
        self.features = d
        self.net = nn.Sequential(*layers)

    def forward(self, x, c=None):
        if not self.cond_dim:
            return self.net(x)
        first, rest = self.net[0], list(self.net)[1:]
        h = F.conv2d(x, first.weight[:, :self.data_shape[0]], first.bias, first.stride, first.padding,
                     first.dilation) + self.condition_maps(c)
        for layer in rest:
            h = layer(h)
        return h

    def condition_maps(self, c):
        """What the first conv makes of the condition c (N, K), as if c were K constant input planes
        (c_k everywhere in plane k): (N, w, H', W'), laid out in memory as tinygen's conv lays out its own output
        (channel, row, column, sample), so that adding it to conv(x) stays one fast pass.

        A convolution is linear in its input and in its filters. With W_k the filters of plane k (w, kh, kw):
        conv([x, c_1 1, ..., c_K 1]) = conv(x) + sum_k c_k conv(1; W_k) = conv(x) + conv(1; M_n), with each
        sample's condition filters mixed into one, M_n = sum_k c_nk W_k (one small product, (N, K) @ (K, w kh kw)).
        And conv(1; M_n) at output position o is the sum of M_n's taps t that fall inside the image (the
        others meet the padding's zeros): A @ M_n^T, with A (H' W', kh kw) the 0/1 table of taps inside
        (``_inside``). The same numbers as convolving the concatenated planes (a test checks it, to second order),
        without running the first conv over K more input channels for every image (K = 50 clusters: 51 channels
        instead of 1)."""
        first = self.net[0]
        n, k, w = c.shape[0], self.cond_dim, self.width
        kernel = tuple(first.weight.shape[2:])
        taps = kernel[0] * kernel[1]
        per_plane = first.weight[:, self.data_shape[0]:].permute(1, 0, 2, 3).reshape((k, w * taps))
        mixed = (c @ per_plane).reshape((n, w, taps)).permute(2, 1, 0)             # M: (T, w, N)
        inside, (ho, wo) = self._inside(c)
        maps = inside @ mixed.reshape((taps, w * n))                                 # (H' W', w N): one GEMM
        maps = maps.reshape((ho * wo, w, n)).permute(1, 0, 2).reshape((w, ho, wo, n))   # (w, H', W', N)
        return maps.permute(3, 0, 1, 2)

    def _inside(self, like):
        """(A, (H', W')): A (H' W', kh kw) is 1 where the first conv's tap meets the image, 0 where it meets
        padding; the conv of a plane of ones with the identity filters, made once per device and dtype."""
        first = self.net[0]
        key = (_backend.device_of(like.data), str(like.dtype))
        cached = self.__dict__.get("_inside_table")
        if cached is not None and cached[0] == key:
            return cached[1]
        kh, kw = first.weight.shape[2:]
        xp = like.xp
        with _backend.device_scope(like.data), no_grad():
            ones = Tensor(xp.ones((1, 1) + self.data_shape[1:], dtype=like.data.dtype))
            eye = Tensor(xp.reshape(xp.eye(kh * kw, dtype=like.data.dtype), (kh * kw, 1, kh, kw)))
            table = F.conv2d(ones, eye, None, first.stride, first.padding, first.dilation)   # (1, T, H', W')
            size = tuple(table.shape[2:])
            inside = Tensor(xp.permute_dims(xp.reshape(table.data, (kh * kw, size[0] * size[1])), (1, 0)))
        object.__setattr__(self, "_inside_table", (key, (inside, size)))
        return inside, size


class ConvDecoder(nn.Module):
    """The DCGAN generator / the conv decoder (see the module docstring for the layers)."""

    def __init__(self, in_features, data_shape, width=64, batchnorm=False, out_act=None, cond_dim=0):
        super().__init__()
        check_conv_shape(data_shape, "ConvDecoder")
        c, h, w = (int(s) for s in data_shape)
        self.in_features, self.cond_dim, self.width = int(in_features), int(cond_dim), int(width)
        k = self.width
        self.start = (2 * k, h // 4, w // 4)
        layers = [nn.Linear(self.in_features + self.cond_dim, math.prod(self.start))]
        if batchnorm:
            layers.append(nn.BatchNorm1d(math.prod(self.start)))
        layers += [nn.ReLU(), nn.Unflatten(1, self.start), nn.ConvTranspose2d(2 * k, k, 4, 2, 1)]
        if batchnorm:
            layers.append(nn.BatchNorm2d(k))
        layers += [nn.ReLU(), nn.ConvTranspose2d(k, c, 4, 2, 1)]
        if out_act is not None:
            layers.append(activation(out_act))
        self.net = nn.Sequential(*layers)

    def forward(self, z, c=None):
        if self.cond_dim:
            z = concat([z, c], axis=1)
        return self.net(z)


def dcgan_init_(module):
    """DCGAN's initialisation, in place: conv / transposed conv / linear weights ~ N(0, 0.02^2) and biases 0;
    BatchNorm weights ~ N(1, 0.02^2) and biases 0. Returns the module."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.weight is not None:
            init.normal_(m.weight, 1.0, 0.02)
            init.zeros_(m.bias)
    return module


# ---------------------------------------------------------------------------------------------------------
# Builders used by the models (one place that says which net a model gets for which data)
# ---------------------------------------------------------------------------------------------------------
ARCHS = ("mlp", "conv")


def check_arch(arch, data_shape, who):
    if arch not in ARCHS:
        raise ValueError(f"{who}: unknown arch {arch!r}; use 'mlp' or 'conv'")
    if arch == "conv":
        check_conv_shape(data_shape, f"{who} (arch='conv')")


def encoder_net(data_shape, arch, hidden, width, out_features=None, cond_dim=0, batchnorm=False, act="relu"):
    """x (N, *data_shape) [, c] -> features: an MLP over the flattened x (``hidden`` sizes, ``act``), or a
    :class:`ConvEncoder` (``width``, ``batchnorm``). ``out_features=None``: the body only (output size in
    ``.features``); otherwise a last Linear to ``out_features`` (a critic: 1)."""
    if arch == "conv":
        return ConvEncoder(data_shape, out_features, width=width, batchnorm=batchnorm, cond_dim=cond_dim)
    return MLP(math.prod(data_shape), hidden, out_features, act=act, cond_dim=cond_dim)


def decoder_net(latent_dim, data_shape, arch, hidden, width, cond_dim=0, batchnorm=False, out_act=None,
                act="relu"):
    """z (N, latent_dim) [, c] -> (N, *data_shape): an MLP with the hidden sizes ``hidden`` (a mirror of the
    encoder's: pass them reversed), or a :class:`ConvDecoder`; ``out_act`` None (logits / a Gaussian mean),
    "tanh" (GAN images in [-1, 1]) or "sigmoid"."""
    if arch == "conv":
        return ConvDecoder(latent_dim, data_shape, width=width, batchnorm=batchnorm, out_act=out_act,
                           cond_dim=cond_dim)
    return MLP(latent_dim, hidden, math.prod(data_shape), act=act, out_act=out_act, cond_dim=cond_dim,
               out_shape=data_shape)
