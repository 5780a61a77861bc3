"""Measuring generative models: likelihood bounds, distance to N(0, I), mode coverage, sample quality.

* :mod:`.likelihood`: the VAE's held-out ELBO and the importance-weighted bound IWAE_k (k up to thousands).
* :mod:`.latent`: how far the latent distribution is from N(0, I): KL per dimension, active units, the
  aggregate posterior's KL (Monte Carlo) and its Gaussian fit's KL and Frechet distance.
* :mod:`.modes`: VEEGAN's mode coverage on 2-D mixtures (modes covered, % high-quality samples, KL to uniform).
* :mod:`.images`: MNIST sample quality through a classifier trained here (:mod:`.classifier`): FD-MNIST, the
  classifier Inception Score, the histogram of digits.
* :mod:`.distances`: Frechet distance and KL between Gaussians, sliced Wasserstein distance between samples.

Every metric is tested on a case whose answer is known in closed form (tests/metrics/).
"""
from .distances import frechet_distance, gaussian_fit, gaussian_kl, sliced_wasserstein
from .latent import active_units, aggregate_gaussian_fit, aggregate_kl, kl_per_dim
from .likelihood import iwae
from .modes import mode_coverage
from . import images  # noqa: E402  (FD-MNIST, Inception Score, digit histograms; loads the classifier lazily)

__all__ = ["frechet_distance", "gaussian_fit", "gaussian_kl", "sliced_wasserstein", "active_units",
           "aggregate_gaussian_fit", "aggregate_kl", "kl_per_dim", "iwae", "mode_coverage"]
