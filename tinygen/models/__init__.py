"""The generative models: AE, VAE, GAN, WGAN, WGAN-GP (each MLP or DCGAN-style conv, each optionally
conditional), behind one contract (:mod:`tinygen.models.base`)::

    from tinygen.models import build_model
    vae = build_model("vae", data_shape=(1, 28, 28))              # the 784-400-20 MLP, Bernoulli
    gan = build_model("gan", data_shape=(2,), arch="mlp")          # the 2-D toy GAN, 2-128-128-{2,1}
    wgan = build_model("wgan-gp", data_shape=(1, 28, 28), arch="conv", conditional=True)
    wgan.sample(16, labels=7)                                       # sixteen sevens (once trained)

A model registers itself (``@register_model("kind")``) when its module is imported. The five are imported
here in the order they are listed in (the CLI, ``tinygen compare``); every other module of this package is
imported after them, so that a model in a new file here is registered, and offered, without another edit.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .base import MODELS, GenerativeModel, build_model, model_class, model_kinds, register_model
from .ae import AE                                  # noqa: I001 (the order of registration)
from .vae import VAE
from .gan import GAN, AdversarialModel
from .wgan import WGAN, WGANGP
from .nets import MLP, ConvDecoder, ConvEncoder, dcgan_init_
from .autoencoder import Autoencoder


def _import_every_module():
    """Import each module of this package that is not imported yet (a model in it registers itself)."""
    for module in _pkgutil.iter_modules(__path__):
        _importlib.import_module(f"{__name__}.{module.name}")


_import_every_module()

__all__ = ["MODELS", "GenerativeModel", "build_model", "register_model", "model_kinds", "model_class", "MLP",
           "ConvEncoder", "ConvDecoder", "dcgan_init_", "Autoencoder", "AE", "VAE", "GAN", "AdversarialModel", "WGAN",
           "WGANGP"]
