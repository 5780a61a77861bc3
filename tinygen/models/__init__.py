"""The generative models: AE, VAE, GAN, WGAN, WGAN-GP (each MLP or DCGAN-style conv, each optionally
conditional), behind one contract (:mod:`tinygen.models.base`)::

    from tinygen.models import build_model
    vae = build_model("vae", data_shape=(1, 28, 28))              # the 784-400-20 MLP, Bernoulli
    gan = build_model("gan", data_shape=(2,), arch="mlp")          # the 2-D toy GAN, 2-128-128-{2,1}
    wgan = build_model("wgan-gp", data_shape=(1, 28, 28), arch="conv", conditional=True)
    wgan.sample(16, labels=7)                                       # sixteen sevens (once trained)
"""
from .ae import AE
from .base import MODELS, GenerativeModel, build_model, register_model
from .gan import GAN, AdversarialModel
from .nets import MLP, ConvDecoder, ConvEncoder, dcgan_init_
from .vae import VAE
from .wgan import WGAN, WGANGP

__all__ = ["MODELS", "GenerativeModel", "build_model", "register_model", "MLP", "ConvEncoder", "ConvDecoder",
           "dcgan_init_", "AE", "VAE", "GAN", "AdversarialModel", "WGAN", "WGANGP"]
