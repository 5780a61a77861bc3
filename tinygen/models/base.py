"""What every generative model in tinygen offers: the contract the trainer, the CLI and the metrics rely on.

A model is an ``nn.Module`` that knows its data (``data_shape``, ``data_range``), builds its own
optimizers, and performs one documented training step on one batch::

    model = build_model("vae", data_shape=(1, 28, 28), arch="mlp")
    opts = model.make_optimizers()                  # {"opt": Adam(...)} or {"d": ..., "g": ...}
    loader = DataLoader(x, y, batch_size=model.default_batch_size)
    for x, y in loader:
        logs = model.train_step(x, y, opts)         # {"loss": 103.2, "kl": 25.1, ...}: 0-d Tensors, for the log
    images = model.sample(64)                       # a Tensor (64, *data_shape) in data_range, no graph
    model.evaluate(x_heldout, y_heldout)            # cheap held-out numbers (e.g. the VAE's negative ELBO)

The contract, attribute by attribute:

``kind``              the registered name ("ae", "vae", "gan", "wgan", "wgan-gp").
``display_name``      the name in reports and figures ("WGAN-GP"; by default the kind in capitals).
``objective_text``    what the model minimises, in a few words, for the table of ``tinygen compare``.
``default_epochs``    the length of ``tinygen train KIND`` on images when neither --epochs nor --steps is given.
``data_shape``        the shape of one sample: (1, 28, 28) for MNIST, (2,) for the 2-D toys. Batches may come as
                      (N, *data_shape) or flat (N, prod(data_shape)); anything else raises ShapeError.
``data_range``        (0, 1) for the AE/VAE on images, (-1, 1) for the GAN family on images (tanh output), and
                      None for vector data such as the 2-D toys (unbounded: use the data as they are).
                      Load the data with ``load_dataset(name, range=model.data_range)`` for images.
``default_batch_size`` the published batch size of the model for its data (VAE 128, DCGAN 64, WGAN's m = 64,
                      the toy GANs 256): what the trainer uses unless the user says otherwise.
``has_encoder``       True for the AE and VAE: ``encode``, ``decode``, ``reconstruct``, ``interpolate`` exist.
``has_likelihood``    True for the VAE: ``evaluate`` reports a bound on -log p(x) ("nelbo", nats per sample).
``conditional``       True when the model takes labels: ``train_step(x, y)`` needs y, ``sample(n, labels=7)``
                      gives sevens (an int, a list of n ints, an int Tensor, or None for uniformly random labels).

``config()`` returns the constructor arguments as a JSON-able dict, including ``"kind"``, so that
``build_model(**model.config())`` rebuilds the same architecture when a run is loaded (``build_model(kind,
**config)`` works too).

``make_optimizers(lr=None)`` returns a dict of optimizers with the model's published defaults (``lr``
overrides every learning rate); ``train_step(x, y, optimizers)`` takes that same dict.

For the GAN family ONE call of ``train_step`` is ONE critic (discriminator) update on one fresh real batch;
the generator is updated after every ``n_critic``-th call (WGAN's Algorithm 1: n_critic = 5; the plain GAN
has n_critic = 1, i.e. one D and one G update per call). The count lives in the buffer ``critic_steps`` (so it
is saved with the state dict and a resumed run continues the cycle). Logs have "g_loss" only on the calls
that updated the generator.

Randomness: ``train_step``, ``sample`` (unless given z, and labels for a conditional model) and ``evaluate``
(the VAE's eps, the GANs' fakes) draw from the global generator of the model's device (``tinygen.manual_seed``),
like PyTorch; ``reconstruct`` and ``interpolate`` are deterministic (the VAE uses the posterior mean). So a
trainer that wants a resumed run to match a straight one must checkpoint the generator's state after such
calls, or make them at the same points in both. ``sample_latent(n)`` draws the prior's z (the AE: a Gaussian
fitted to its codes), and ``sample(n, z=z)`` decodes given z (for a fixed-noise grid during training).

``sample``, ``reconstruct``, ``interpolate`` and ``evaluate`` run in evaluation mode (BatchNorm uses its
running statistics) under ``no_grad``, and put the model back into the mode it was in.

Models never import matplotlib, tqdm or the data package (DESIGN §1); the trainer feeds them Tensors.
"""
from __future__ import annotations

import contextlib
import math

from .. import backend as _backend
from .. import creation as _creation
from .. import functional as F
from .. import nn
from ..autograd import no_grad
from ..tensor import ShapeError, Tensor

__all__ = ["GenerativeModel", "MODELS", "register_model", "build_model", "model_kinds", "model_class"]

EVAL_CHUNK = 1000   # samples per forward pass of a held-out evaluation
MODELS = {}         # kind -> class, in the order of registration (the order models are listed in)


def register_model(kind):
    """Class decorator: make a model buildable by name (``build_model(kind, ...)``, ``tinygen train kind``).

    Everything that lists the models reads this registry (``model_kinds``, ``model_class``): the CLI's
    choices, ``tinygen compare``'s models and its report's names and objectives. A kind that starts with "_"
    (a test double) can be built by name but is not offered in those lists."""
    def deco(cls):
        cls.kind = kind
        if "display_name" not in vars(cls):         # not inherited: a subclass is another model
            cls.display_name = kind.upper()
        MODELS[kind] = cls
        return cls
    return deco


def model_kinds():
    """The registered kinds a user is offered, in the order of registration: ("ae", "vae", "gan", "wgan",
    "wgan-gp") and any model registered since (kinds starting with "_" are left out)."""
    return tuple(k for k in MODELS if not k.startswith("_"))


def model_class(kind):
    """The class registered as ``kind``; a ValueError in one sentence for a kind nobody registered."""
    try:
        return MODELS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(model_kinds())}") from None


def build_model(kind=None, /, **config):
    """A model by its registered name, e.g. ``build_model("wgan-gp", data_shape=(1, 28, 28), arch="conv")``.

    ``build_model(**model.config())`` (the config holds "kind") rebuilds a model with the same architecture."""
    named = config.pop("kind", None)
    if kind is None:
        kind = named
    elif named is not None and named != kind:
        raise ValueError(f"build_model: the kind {kind!r} differs from the config's kind {named!r}")
    if kind is None:
        raise ValueError(f"build_model: which model? Give one of {', '.join(model_kinds())}")
    return model_class(kind)(**config)


def is_image_shape(data_shape):
    """True for (C, H, W) data (images), False for vectors such as the 2-D toys' (2,) (or the int 2)."""
    return not isinstance(data_shape, int) and len(tuple(data_shape)) == 3


class GenerativeModel(nn.Module):
    """Base class of AE, VAE, GAN, WGAN and WGAN-GP (see the module docstring for the contract)."""

    kind = None                 # set by @register_model
    display_name = None         # "WGAN-GP": set by @register_model unless the class sets it
    objective_text = ""         # "Wasserstein + gradient penalty": the compare report's "objective" column
    default_epochs = 10         # tinygen train on images, when neither --epochs nor --steps is given
    has_encoder = False         # AE/VAE: encode/decode/reconstruct/interpolate exist
    has_likelihood = False      # VAE: evaluate() reports a bound on -log p(x)
    legacy_config = {}          # constructor arguments as they were in a config.json written before they existed

    def __init__(self, data_shape, latent_dim, conditional=False, num_classes=10):
        super().__init__()
        data_shape = (data_shape,) if isinstance(data_shape, int) else data_shape
        self.data_shape = tuple(int(s) for s in data_shape)
        if not self.data_shape or any(s < 1 for s in self.data_shape):
            raise ValueError(f"{self.kind}: data_shape must be a non-empty tuple of positive sizes, got "
                             f"{data_shape!r}")
        self.latent_dim = int(latent_dim)
        if self.latent_dim < 1:
            raise ValueError(f"{self.kind}: latent_dim must be >= 1, got {latent_dim!r}")
        self.conditional = bool(conditional)
        self.num_classes = int(num_classes)
        self._config = {}

    # --- the contract ---------------------------------------------------------------------------------------
    @property
    def data_range(self):
        """(0, 1) for images (the GAN family: (-1, 1)); None for vector data (unbounded)."""
        return (0.0, 1.0) if self.is_image else None

    @property
    def is_image(self):
        return is_image_shape(self.data_shape)

    @property
    def default_batch_size(self):
        return 128

    def config(self):
        """Constructor arguments as a JSON-able dict with "kind" (``build_model(**config)`` rebuilds it)."""
        return {"kind": self.kind, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self._config.items()}}

    def make_optimizers(self, lr=None):
        """The model's optimizers with its published defaults (``lr`` overrides the learning rate)."""
        raise NotImplementedError

    def train_step(self, x, y, optimizers):
        """One training step on one batch ``x`` (labels ``y``, used when conditional); returns the numbers to log
        as 0-d Tensors (``float()`` reads one; the training loop reads them back only when it logs, so that a
        GPU is not made to wait for the host every step)."""
        raise NotImplementedError

    def sample_latent(self, n):
        """``n`` draws of the prior's z, N(0, I) of shape (n, latent_dim), on the model's device and dtype."""
        return _creation.randn(int(n), self.latent_dim, dtype=self.dtype, device=self.device)

    def sample(self, n, labels=None, z=None):
        """``n`` new samples (a Tensor of shape (n, *data_shape) in ``data_range``), computed without a graph.

        ``labels`` (conditional models): an int, n ints, or None for random labels. ``z``: the latent codes
        to decode (shape (n, latent_dim)); drawn from the prior when None."""
        raise NotImplementedError

    def evaluate(self, x, y=None):
        """Cheap held-out numbers for the training log (floats). Default: none."""
        return {}

    # --- helpers for subclasses -------------------------------------------------------------------------------
    def _remember(self, **kwargs):
        """Record constructor arguments for ``config()``."""
        self._config.update(kwargs)

    @property
    def dtype(self):
        for p in self.parameters():
            return p.dtype
        return _creation.get_default_dtype()

    @property
    def device(self):
        for p in self.parameters():
            return p.device
        return _backend.get_default_device()

    def check_batch(self, x, what="batch"):
        """Raise a one-sentence ShapeError when ``x`` does not have this model's data shape."""
        shape = tuple(x.shape[1:]) if x.ndim >= 1 else None
        flat = (math.prod(self.data_shape),)
        if x.ndim < 2 or x.shape[0] < 1 or (shape != self.data_shape and shape != flat):
            want = f"(N, {', '.join(map(str, self.data_shape))})"
            if len(self.data_shape) > 1:
                want += f" or (N, {flat[0]})"
            raise ShapeError(f"{self.kind}: the {what} has shape {tuple(x.shape)}, but this model takes {want}")

    def as_batch(self, x, what="batch"):
        """``x`` checked (see ``check_batch``), as a Tensor of shape (N, *data_shape) in the model's dtype."""
        if not isinstance(x, Tensor):
            x = _creation.tensor(_backend.to_numpy(x) if hasattr(x, "shape") and not isinstance(x, list) else x,
                                 device=self.device)
        self.check_batch(x, what)
        if x.dtype != self.dtype:
            x = x.to(dtype=self.dtype)
        if tuple(x.shape[1:]) != self.data_shape:
            x = x.reshape((x.shape[0],) + self.data_shape)
        return x

    def fit_data(self, x):
        """Called by ``train`` once before the first step of a fresh run, with the training samples (a host
        array in the model's range): a model that learns something from the whole data set before training
        does it here (the self-conditioned GAN's clusters). This one learns nothing: returns None."""
        return None

    def onehot_for(self, y, n, what="train_step"):
        """The labels ``y`` of a batch of n samples as one-hot float vectors (n, num_classes), or None for an
        unconditional model (whose labels are ignored)."""
        if not self.conditional:
            return None
        if y is None:
            raise ValueError(f"{self.kind}: this model is conditional; {what} needs the labels y")
        if not isinstance(y, Tensor):
            y = _creation.tensor(y, dtype="int64", device=self.device)
        if y.shape != (n,):
            raise ShapeError(f"{self.kind}: {what} got labels of shape {tuple(y.shape)} for a batch of {n} samples; "
                             f"give one integer label per sample")
        return F.one_hot(y, self.num_classes, dtype=str(self.dtype))

    def labels_for(self, n, labels, device):
        """``labels`` as an int64 Tensor of length n (an int repeats; None draws uniformly at random)."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{self.kind}: this model is not conditional; it cannot take labels")
            return None
        if labels is None:
            be = _backend.get_backend(device)
            u = be.uniform((n,), "float32")
            return Tensor(be.xp.astype(be.xp.floor(u * self.num_classes), be.dtype("int64")))
        if isinstance(labels, int):
            if not 0 <= labels < self.num_classes:
                raise ValueError(f"{self.kind}: label {labels} is outside 0..{self.num_classes - 1}")
            return _creation.full((n,), labels, dtype="int64", device=device)
        t = labels if isinstance(labels, Tensor) else _creation.tensor(labels, dtype="int64", device=device)
        if t.shape != (n,):
            raise ValueError(f"{self.kind}: got {t.shape[0] if t.ndim else 1} labels for {n} samples")
        return t

    def latent_for(self, n, z):
        """``z`` checked to be (n, latent_dim) (drawn from the prior when None)."""
        if z is None:
            return self.sample_latent(n)
        if not isinstance(z, Tensor):
            z = _creation.tensor(z, dtype=self.dtype, device=self.device)
        if tuple(z.shape) != (n, self.latent_dim):
            raise ShapeError(f"{self.kind}: z has shape {tuple(z.shape)}, expected ({n}, {self.latent_dim})")
        return z.to(dtype=self.dtype) if z.dtype != self.dtype else z

    @contextlib.contextmanager
    def evaluating(self):
        """Evaluation mode and no graph for the duration; the previous mode is restored afterwards."""
        was = self.training
        self.eval()
        try:
            with no_grad():
                yield
        finally:
            self.train(was)

    @staticmethod
    def check_n(n):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"the number of samples must be an int >= 1, got {n!r}")
        return n
