"""Sample quality on MNIST through the shipped classifier (:mod:`.classifier`).

* :func:`fd_mnist`: the Frechet distance between Gaussian fits of the classifier's 128-d penultimate features
  of two image sets (real held-out vs generated). FID's idea with a classifier trained on this data;
  :func:`fd_floor` is the distance between two halves of the real data: no model can expect to beat it.
* :func:`inception_score`: exp(E_x KL(p(y|x) || p(y))), between 1 and 10 for 10 classes: high when each sample
  is confidently one digit and all digits appear.
* :func:`class_histogram`: how many samples the classifier puts in each class, how many digits appear (a digit
  counts when it gets at least ``min_share`` of the samples), and the entropy of the histogram (log 10 =
  uniform).
* :func:`diversity`: how varied the samples of each digit are, against the real images of that digit: the
  within-class spread of the classifier's features (the mean squared distance to the class mean), samples over
  real, averaged over the digits the samples show (weighted by their counts). About 1 for samples as varied
  as the data; near 0 when a model draws each digit (nearly) the same way: mode collapse inside a class.
* :func:`pixel_spread`: the mean over pixels of the standard deviation across samples (images in [0, 1]): near
  0 for a model whose samples are all one image (a blank or constant output), about 0.19 for MNIST.
"""
from __future__ import annotations

import math

import numpy as np

from .classifier import classify
from .distances import frechet_distance, gaussian_fit

__all__ = ["fd_mnist", "fd_floor", "inception_score", "class_histogram", "diversity", "pixel_spread", "image_metrics"]


def fd_mnist(images_a, images_b, range_a=(0.0, 1.0), range_b=(0.0, 1.0)):
    """FD-MNIST between two image sets (each in its own value range)."""
    fa, _ = classify(images_a, value_range=range_a)
    fb, _ = classify(images_b, value_range=range_b)
    return frechet_distance(*gaussian_fit(fa), *gaussian_fit(fb))


def fd_floor(real_images, seed=0):
    """FD-MNIST between two random halves of ``real_images``: the noise floor of the metric at half that size."""
    a = real_images.numpy() if hasattr(real_images, "numpy") else np.asarray(real_images)
    perm = np.random.default_rng(seed).permutation(len(a))
    h = len(a) // 2
    return fd_mnist(a[perm[:h]], a[perm[h:2 * h]])


def inception_score(probs, eps=1e-12):
    """exp(mean_x KL(p(y|x) || p(y))) from class probabilities (N, C)."""
    p = np.asarray(probs, np.float64)
    py = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(py + eps))).sum(1)
    return float(math.exp(kl.mean()))


def class_histogram(probs, min_share=0.01):
    """(counts per class of the argmax, number of classes with >= min_share of samples, entropy in nats)."""
    p = np.asarray(probs)
    counts = np.bincount(p.argmax(1), minlength=p.shape[1])
    share = counts / max(counts.sum(), 1)
    nz = share[share > 0]
    return counts, int((share >= min_share).sum()), float(-(nz * np.log(nz)).sum()) + 0.0  # no "-0.0"


def _class_spread(features, labels, k):
    """The mean squared distance of class k's features to their mean (None with fewer than 2 samples)."""
    f = features[labels == k]
    return None if len(f) < 2 else float(((f - f.mean(0)) ** 2).sum(1).mean())


def diversity(feat_samples, probs_samples, feat_real, probs_real, min_count=5):
    """Within-class feature spread of the samples over that of the real images, averaged over the classes the
    samples show with at least ``min_count`` samples (weighted by their counts); nan when there is none."""
    ls, lr = np.asarray(probs_samples).argmax(1), np.asarray(probs_real).argmax(1)
    fs, fr = np.asarray(feat_samples, np.float64), np.asarray(feat_real, np.float64)
    num = den = 0.0
    for k in range(np.asarray(probs_samples).shape[1]):
        count = int((ls == k).sum())
        a, b = _class_spread(fs, ls, k), _class_spread(fr, lr, k)
        if count < min_count or a is None or not b:
            continue
        num += count * a / b
        den += count
    return num / den if den else float("nan")


def pixel_spread(images, value_range=(0.0, 1.0)):
    """Mean over pixels of the standard deviation across images, after mapping ``value_range`` to [0, 1]."""
    a = np.asarray(images.numpy() if hasattr(images, "numpy") else images, np.float64)
    lo, hi = value_range
    a = np.clip((a.reshape(len(a), -1) - lo) / (hi - lo), 0.0, 1.0)
    return float(a.std(0).mean())


def image_metrics(samples, real, sample_range=(0.0, 1.0)):
    """Every classifier metric of ``samples`` against ``real`` held-out images (in [0, 1]) as a dict."""
    fs, ps = classify(samples, value_range=sample_range)
    fr, pr = classify(real)
    counts, covered, entropy = class_histogram(ps)
    return {"fd_mnist": frechet_distance(*gaussian_fit(fs), *gaussian_fit(fr)),
            "inception_score": inception_score(ps), "digits_covered": covered,
            "class_entropy": entropy, "class_counts": counts.tolist(),
            "diversity": diversity(fs, ps, fr, pr), "pixel_spread": pixel_spread(samples, sample_range)}
