"""Classifier-based image metrics: the shipped classifier, FD-MNIST, Inception Score, class histograms."""
import math

import numpy as np
import pytest

from tinygen.data import load_mnist
from tinygen.metrics.classifier import accuracy, load_classifier
from tinygen.metrics.images import class_histogram, fd_floor, fd_mnist, image_metrics, inception_score


def test_the_shipped_classifier_reaches_98_percent_on_held_out_images():
    x, y = load_mnist("test")
    assert accuracy(load_classifier(), x, y) >= 0.98


def test_inception_score_known_answers():
    assert inception_score(np.eye(10)) == pytest.approx(10.0)        # every digit, each one certain
    assert inception_score(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(1.0)  # one digit only
    assert inception_score(np.full((20, 10), 0.1)) == pytest.approx(1.0)  # nothing certain


def test_class_histogram():
    probs = np.eye(10)[[0, 0, 1, 2, 2, 2]]
    counts, covered, entropy = class_histogram(probs, min_share=0.2)
    assert counts.tolist()[:3] == [2, 1, 3] and covered == 2
    assert entropy == pytest.approx(-(2 / 6 * math.log(2 / 6) + 1 / 6 * math.log(1 / 6) + 3 / 6 * math.log(3 / 6)))


def test_fd_mnist_orders_real_noise_and_blur():
    x, _ = load_mnist("test")
    floor = fd_floor(x)
    noise = np.random.default_rng(0).random((1000, 1, 28, 28)).astype(np.float32)
    halves = fd_mnist(x[:1000], x[1000:])
    assert 0.5 * floor < halves < 2 * floor          # any two halves of real data: the same noise floor
    assert fd_mnist(noise, x) > 20 * floor
    blurred = (x[:1000] + np.roll(x[:1000], 1, axis=2) + np.roll(x[:1000], 1, axis=3)) / 3
    assert fd_mnist(blurred, x[1000:]) > 2 * floor   # blur moves the features
    # the same images in [-1, 1], with their range given, are the same images
    assert fd_mnist(x[:1000] * 2 - 1, x[1000:], range_a=(-1, 1)) == pytest.approx(halves, rel=1e-6)


def test_image_metrics_of_real_digits():
    x, _ = load_mnist("test")
    m = image_metrics(x[:1000], x[1000:])
    assert m["digits_covered"] == 10 and m["inception_score"] > 8.5
    assert m["class_entropy"] > 0.95 * math.log(10)


def test_diversity_and_pixel_spread_known_answers():
    from tinygen.metrics.images import diversity, pixel_spread
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((400, 8))
    probs = np.eye(4)[rng.integers(0, 4, 400)]
    assert diversity(feats, probs, feats, probs) == pytest.approx(1.0)
    assert diversity(feats * 0.5, probs, feats, probs) == pytest.approx(0.25)    # a squared distance
    same = np.repeat(feats[:1], 400, 0)
    assert diversity(same, probs, feats, probs) == pytest.approx(0.0)
    assert math.isnan(diversity(feats[:3], probs[:3], feats, probs))          # too few samples of any class
    imgs = rng.uniform(0, 1, (50, 1, 4, 4))
    assert pixel_spread(np.repeat(imgs[:1], 50, 0)) == pytest.approx(0.0, abs=1e-12)
    assert pixel_spread(imgs * 2 - 1, value_range=(-1, 1)) == pytest.approx(pixel_spread(imgs))
    assert pixel_spread(rng.integers(0, 2, (4000, 9)).astype(float)) == pytest.approx(0.5, abs=0.01)
