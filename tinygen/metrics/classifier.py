"""The MNIST classifier behind the image metrics (FD-MNIST, the classifier Inception Score, digit histograms).

A small conv net trained WITH TINYGEN on the embedded train split (8,000 images); its weights ship in the
package (``mnist_classifier.npz``, about 1 MB) so that the metrics need no training and no download.

    python -m tinygen.metrics.classifier            # retrains and rewrites the shipped weights (~minutes)

Architecture (28x28 input in [0, 1]; strided convolutions instead of pooling, since tinygen keeps its op set
small):

    conv 1->32 k3 p1, ReLU            28x28
    conv 32->64 k4 s2 p1, ReLU        14x14
    conv 64->32 k4 s2 p1, ReLU        7x7
    flatten, linear 1568->128, ReLU   <- the 128 "features" the Frechet distance compares
    dropout 0.3, linear 128->10       <- class logits

Training: Adam 1e-3 (halved every 5 epochs), batch 64, 15 epochs, each image randomly shifted by up to 2
pixels (zero fill) for augmentation, seed 0. Held-out accuracy is printed at the end and stored in the file.
"""
from __future__ import annotations

import argparse
import importlib.resources
import os
import time

import numpy as np  # host-side: augmentation and the evaluation loop

from .. import functional as F
from .. import nn, optim
from ..autograd import no_grad
from ..backend import manual_seed
from ..creation import tensor
from ..serialization import load, save

WEIGHTS = "mnist_classifier.npz"
FEATURES = 128


class MNISTClassifier(nn.Module):
    """The classifier network (see the module docstring). ``features(x)`` gives the 128-d penultimate layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURES, 10)

    def features(self, x):
        return self.conv(x)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))


_cached = {}


def load_classifier(device="cpu"):
    """The shipped classifier (eval mode), cached per device. Raises FileNotFoundError if it was never trained."""
    if device in _cached:
        return _cached[device]
    ref = importlib.resources.files(__package__).joinpath(WEIGHTS)
    with importlib.resources.as_file(ref) as path:
        if not os.path.exists(path):
            raise FileNotFoundError(f"the classifier weights {WEIGHTS} are missing from the package; retrain "
                                    f"them with `python -m tinygen.metrics.classifier`")
        ckpt = load(path)
    model = MNISTClassifier()
    model.load_state_dict(ckpt["model"])
    model.eval()
    if device != "cpu":
        model.to(device)
    _cached[device] = model
    return model


def _as_01(images):
    """Host float32 images (N, 1, 28, 28) in [0, 1] from tensors/arrays, (N, 784) or (N, 28, 28), [0,1] or [-1,1]."""
    a = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 2 and a.shape[1] == 784:
        a = a.reshape(-1, 1, 28, 28)
    elif a.ndim == 3 and a.shape[1:] == (28, 28):
        a = a[:, None]
    if a.ndim != 4 or a.shape[1:] != (1, 28, 28):
        raise ValueError(f"the MNIST classifier takes 28x28 grey images, got an array of shape {a.shape}")
    return a


def classify(images, batch_size=500, value_range=(0.0, 1.0), device="cpu"):
    """(features (N, 128), class probabilities (N, 10)) as host float64 arrays.

    ``value_range``: the range the images are in ((0, 1), or (-1, 1) for GAN samples); they are mapped to
    [0, 1] and clipped first."""
    lo, hi = value_range
    a = np.clip((_as_01(images) - lo) / (hi - lo), 0.0, 1.0)
    model = load_classifier(device)
    feats, probs = [], []
    with no_grad():
        for i in range(0, len(a), batch_size):
            f = model.features(tensor(a[i:i + batch_size], device=device))
            feats.append(f.numpy().astype(np.float64))
            probs.append(F.softmax(model.head(f), axis=1).numpy().astype(np.float64))
    return np.concatenate(feats), np.concatenate(probs)


def _shift(batch, rng, max_shift=2):
    """Each image moved by up to ``max_shift`` pixels in x and y (zero fill)."""
    n = len(batch)
    padded = np.pad(batch, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = dy[:, None] + np.arange(28)[None, :]
    cols = dx[:, None] + np.arange(28)[None, :]
    return padded[np.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]][:, None]


def accuracy(model, x, y, batch_size=500):
    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(tensor(x[i:i + batch_size]))
            correct += int((logits.numpy().argmax(1) == y[i:i + batch_size]).sum())
    return correct / len(x)


def train_classifier(epochs=15, batch_size=64, lr=1e-3, seed=0, out=None, verbose=True):
    """Train the classifier on the embedded train split and save it (to the package, unless ``out``)."""
    from ..data import load_mnist
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    model = MNISTClassifier()
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.StepLR(opt, step_size=5, gamma=0.5)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = perm[i:i + batch_size]
            xb = tensor(_shift(x[idx], rng))
            loss = F.cross_entropy(model(xb), tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        if verbose:
            print(f"epoch {epoch + 1:2d}  loss {total / (len(x) // batch_size):.4f}  held-out accuracy "
                  f"{accuracy(model, xt, yt):.4f}  ({time.time() - t0:.0f} s)", flush=True)
    acc = accuracy(model, xt, yt)
    if out is None:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS)
    save({"model": model.state_dict(), "heldout_accuracy": acc, "epochs": epochs, "seed": seed}, out)
    _cached.clear()
    if verbose:
        print(f"held-out accuracy {acc:.4f}; weights written to {out}")
    return acc


def main(argv=None):
    ap = argparse.ArgumentParser(description="Retrain the MNIST classifier used by the image metrics.")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default=None, help="where to write the weights (default: inside the package)")
    args = ap.parse_args(argv)
    train_classifier(epochs=args.epochs, out=args.out)


if __name__ == "__main__":
    main()
