"""The GAN (Goodfellow et al. 2014) with the non-saturating generator loss, and the machinery shared by the
whole adversarial family (GAN, WGAN, WGAN-GP): a generator G, a critic / discriminator D, and a training step
that is ONE critic update per call with a generator update after every ``n_critic``-th call.

The GAN's losses, with D(x) a logit and s = sigmoid::

    critic (discriminator):  L_D = BCE(D(x), 1) + BCE(D(G(z)), 0) = -log s(D(x)) - log(1 - s(D(G(z))))
                             (batch means; G(z) detached: only D's parameters move)
    generator:               L_G = BCE(D(G(z)), 1) = -log s(D(G(z)))      (non-saturating: maximise log D(G(z))
                             instead of minimising log(1 - D(G(z))), whose gradient vanishes when D wins)

    dL_D/dD(x) = s(D(x)) - 1,   dL_D/dD(G(z)) = s(D(G(z))),   dL_G/dD(G(z)) = s(D(G(z))) - 1
    (then through D, and for L_G on through G: dL_G/dtheta_G = dL_G/dD . dD/dx . dG/dtheta_G)

Both come from the fused BCE-with-logits primitive (finite for any logit).

Nets (``arch``):
* "conv" (images (C, H, W), H and W divisible by 4), DCGAN-style, ``width`` w = 64:
  D: Conv(C->w, k4 s2 p1) LeakyReLU(0.2) -> Conv(w->2w, k4 s2 p1) [BatchNorm] LeakyReLU(0.2) -> Linear(2w H/4 W/4 -> 1);
  G: Linear(z->2w H/4 W/4) [BatchNorm] ReLU -> ConvT(2w->w, k4 s2 p1) [BatchNorm] ReLU -> ConvT(w->C, k4 s2 p1) tanh.
  ``batchnorm`` (default True, as DCGAN) adds the bracketed BatchNorms; DCGAN's N(0, 0.02) initialisation.
* "mlp": for images G z-256-512-784 (ReLU) tanh and D 784-512-256-1 (LeakyReLU 0.2), ``hidden`` = G's hidden
  sizes (D's are reversed); for vectors (the 2-D toys) G 2-128-128-2 and D 2-128-128-1, both ReLU, linear
  output. PyTorch's default initialisation; no BatchNorm.

Conditional: the one-hot label is concatenated to z for G and to x for D (as constant channels for the conv D).

Defaults: images z = 100, Adam lr 2e-4, betas (0.5, 0.999), batch 64 (DCGAN), data in [-1, 1]; 2-D toys z = 2,
Adam lr 1e-3, betas (0.5, 0.999), batch 256 (the mode-collapse literature's settings).

Differentiable augmentation (``augment``, on by default for the conv nets on images): in training the critic
sees every real and every generated image through DiffAugment (Zhao et al. 2020; tinygen.ops.augment), drawn
anew per image, and the generator's loss is differentiated through it. The default policy is "cutout" alone:
measured on the 8,000 embedded MNIST images (unconditional DCGAN, 6,000 steps, seed 0, `tinygen eval`),
FD-MNIST was 249 with cutout, 362 with the paper's "translation,cutout" (its samples drift towards a few
digit shapes) and 247-270 without augmentation; in short races translation slowed every critic's learning.
``augment="translation,cutout"`` (``tinygen train --augment translation,cutout``) asks for the paper's
policy, ``augment=""`` (``--no-augment``) turns it off; MLP nets and the 2-D toys do not augment by default.
Evaluation (``score``, ``evaluate``) never augments.

Self-conditioning (``clusters``, on by default for the GAN's conv nets on unconditional images: K = 50;
``clusters=0`` or ``tinygen train --clusters 0`` gives the plain DCGAN): before training, k-means splits the
training images into K clusters; a real image's code is its nearest cluster centre, a generated image's code is
read off its own z (z_0 falls into one of K intervals of N(0, 1) sized as the clusters' shares of the data), and
both nets get the code as a one-hot input (tinygen/models/clusters.py; Liu et al. 2020). The user still gives no
labels: G is a function of z alone. Why: an unconditional DCGAN learns the shapes of digits long before their
proportions; measured on the 8,000 embedded MNIST images (6,000 steps, seed 0, `tinygen eval`), FD-MNIST
46.0 with 50 clusters (39.8 with seed 1) against 237.7 without (benchmarks/NOTES.md 26).

The generator's weight average (``ema``, on by default on images, decay 0.999 after a warm-up; ``ema=0`` or
``tinygen train --ema 0`` turns it off): ``sample`` (the pictures, ``tinygen eval``, ``tinygen sample``) draws
from an exponential moving average of the generator's recent weights, with its own BatchNorm statistics;
training is unchanged (tinygen/models/averaging.py). The last iterate of a GAN's generator carries the noise of
its last updates; their average draws cleaner images (Yazıcı et al. 2019; measured: FD-MNIST 93 against 130
for the MLP GAN in `tinygen compare`'s 170 s race, benchmarks/NOTES.md 19). Not on the 2-D toys by default,
where it was not measured.
"""
from __future__ import annotations

import contextlib

from .. import backend as _backend
from .. import creation as _creation
from .. import functional as F
from .. import nn, optim
from ..ops import concat
from ..autograd import no_grad
from ..tensor import ShapeError, Tensor
from ..ops.augment import POLICIES, diff_augment
from .averaging import WeightAverage
from .base import EVAL_CHUNK, GenerativeModel, is_image_shape, register_model
from .clusters import ClusterCode
from .nets import check_arch, dcgan_init_, decoder_net, encoder_net

__all__ = ["AdversarialModel", "GAN"]


DEFAULT_POLICY = ("cutout",)       # measured: see the module docstring
DEFAULT_EMA = 0.999                # the generator's weight average on images (see the module docstring)
DEFAULT_CLUSTERS = 50              # the unconditional DCGAN's self-conditioning (see the module docstring)


def _ema_decay(ema, image, kind):
    """``ema`` as the decay of the generator's weight average, 0.0 for none: None means DEFAULT_EMA on images and
    none on vector data; True DEFAULT_EMA; False or 0 none; else a number in (0, 1)."""
    if ema is None:
        ema = image
    if ema is True:
        return DEFAULT_EMA
    if ema is False:
        return 0.0
    try:
        ema = float(ema)
    except (TypeError, ValueError):
        raise ValueError(f"{kind}: ema must be a decay in [0, 1) (0: no average), got {ema!r}") from None
    if not 0.0 <= ema < 1.0:
        raise ValueError(f"{kind}: ema must be a decay in [0, 1) (0: no average), got {ema}")
    return ema


def _augment_policy(augment, image, arch, kind):
    """``augment`` as a tuple of DiffAugment policies: None means the default (DEFAULT_POLICY for the conv nets
    on images; nothing for MLPs or vector data); True the default policy; False or "" none; or a
    comma-separated subset such as "translation,cutout"."""
    if augment is None:
        augment = image and arch == "conv"
    if augment is True:
        augment = DEFAULT_POLICY
    if augment is False or augment == "" or augment == "none":
        return ()
    parts = tuple(p.strip() for p in (augment.split(",") if isinstance(augment, str) else augment) if p.strip())
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        raise ValueError(f"{kind}: unknown augmentation {bad[0]!r}; use a subset of {','.join(POLICIES)} or ''")
    if parts and not image:
        raise ValueError(f"{kind}: augmentation (translation, cutout) needs images (C, H, W)")
    return parts


def _cluster_count(clusters, model, image, arch, conditional):
    """``clusters`` as a number of clusters, 0 for none: None means DEFAULT_CLUSTERS for a model that offers
    them (``model.offers_clusters``) with the conv nets on unconditional images, else none."""
    kind = model.kind
    if clusters is None:
        return DEFAULT_CLUSTERS if model.offers_clusters and image and arch == "conv" and not conditional else 0
    if isinstance(clusters, bool) or not isinstance(clusters, int) or clusters < 0 or clusters == 1:
        raise ValueError(f"{kind}: clusters must be 0 (none) or an integer >= 2, got {clusters!r}")
    if clusters and not model.offers_clusters:
        raise ValueError(f"{kind}: self-conditioning on clusters is offered for the GAN only (where it was "
                         f"measured); use clusters=0")
    if clusters and conditional:
        raise ValueError(f"{kind}: a conditional model has labels; clusters replace them for an unconditional "
                         f"one, so give clusters=0 with conditional=True")
    return clusters


@contextlib.contextmanager
def frozen(module):
    """The module's parameters do not require grad for the duration (the generator's step then computes no
    gradient for the critic's weights); restored afterwards."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class AdversarialModel(GenerativeModel):
    """A generator ``self.generator`` (z [, c] -> x) and a critic ``self.critic`` (x [, c] -> one real number
    per sample), trained by ``train_step``: one critic update per call, a generator update after every
    ``n_critic``-th call. Subclasses give ``critic_loss``, ``generator_loss``, ``make_optimizers`` and
    optionally ``after_critic_step`` (WGAN's clip)."""

    default_n_critic = 1
    critic_batchnorm_allowed = True
    offers_clusters = False         # True for the GAN: self-conditioning, on by default for its conv nets on images

    def __init__(self, data_shape=(1, 28, 28), arch="conv", latent_dim=None, hidden=None, width=64,
                 batchnorm=True, n_critic=None, conditional=False, num_classes=10, augment=None, ema=None,
                 clusters=None, **extra):
        image = is_image_shape(data_shape)
        policy = _augment_policy(augment, image, arch, self.kind)
        ema = _ema_decay(ema, image, self.kind)
        clusters = _cluster_count(clusters, self, image, arch, bool(conditional))
        latent_dim = (100 if image else 2) if latent_dim is None else int(latent_dim)
        super().__init__(data_shape, latent_dim, conditional, num_classes)
        check_arch(arch, self.data_shape, self.kind)
        hidden = tuple(int(h) for h in ((256, 512) if image else (128, 128))) if hidden is None else \
            tuple(int(h) for h in hidden)
        n_critic = self.default_n_critic if n_critic is None else int(n_critic)
        if n_critic < 1:
            raise ValueError(f"{self.kind}: n_critic must be >= 1, got {n_critic}")
        self.arch, self.n_critic, self.batchnorm = arch, n_critic, bool(batchnorm)
        self.augment = policy
        self._remember(data_shape=self.data_shape, arch=arch, latent_dim=latent_dim, hidden=hidden,
                       width=int(width), batchnorm=self.batchnorm, n_critic=n_critic,
                       conditional=self.conditional, num_classes=self.num_classes,
                       augment=",".join(self.augment), ema=ema, **extra)
        if self.offers_clusters:
            self._remember(clusters=clusters)
        self.clusters = clusters
        k = self.num_classes if self.conditional else clusters
        conv = arch == "conv"
        self.generator = decoder_net(latent_dim, self.data_shape, arch, hidden, int(width), cond_dim=k,
                                     batchnorm=conv and self.batchnorm, out_act="tanh" if image else None)
        self.critic = encoder_net(self.data_shape, arch, hidden[::-1], int(width), out_features=1, cond_dim=k,
                                  batchnorm=conv and self.batchnorm and self.critic_batchnorm_allowed,
                                  act="leaky_relu" if image else "relu")
        if conv:
            dcgan_init_(self.generator)
            dcgan_init_(self.critic)
        self.ema = ema
        if ema:     # registered after the nets: parameters() and the checkpoints' first keys stay as they were
            self.generator_average = WeightAverage(self.generator, ema)
        if clusters:
            n_features = 1
            for s in self.data_shape:
                n_features *= s
            self.cluster_code = ClusterCode(clusters, n_features)
        # a critic without BatchNorm scores real and fake in one pass (see critic_outputs)
        self._one_pass = not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in self.critic.modules())
        self.register_buffer("critic_steps", _creation.tensor(0, dtype="int64"))

    @property
    def discriminator(self):
        """The GAN's name for ``critic``."""
        return self.critic

    @property
    def data_range(self):
        return (-1.0, 1.0) if self.is_image else None

    @property
    def default_batch_size(self):
        return 64 if self.is_image else 256

    # --- the nets as functions of labels ----------------------------------------------------------------------
    def generate(self, z, y=None):
        """G(z) (N, *data_shape), with a graph when gradients are enabled (``sample`` is the no-graph one). A
        self-conditioned model (``clusters``) reads each sample's cluster off z itself (clusters.py)."""
        if self.clusters:
            if y is not None:
                raise ValueError(f"{self.kind}: this model is not conditional; it cannot take labels")
            y = self.cluster_code.of_latent(z)
        return self.generator(z, self.onehot_for(y, z.shape[0], "generate"))

    def score(self, x, y=None):
        """The critic's output f(x) (D's logit for the GAN), one number per sample: (N,). For a self-conditioned
        model ``y`` are cluster codes, by default each image's nearest cluster centre."""
        x = self.as_batch(x, "critic's input")
        return self.critic(x, self.onehot_for(y, x.shape[0], "score", x)).reshape((x.shape[0],))

    def onehot_for(self, y, n, what="train_step", images=None):
        """As GenerativeModel's; for a self-conditioned model the one-hot cluster codes ``y`` (None: the nearest
        centres of ``images``)."""
        if not self.clusters:
            return super().onehot_for(y, n, what)
        if y is None:
            if images is None:
                raise ValueError(f"{self.kind}: {what} needs cluster codes or the images to read them from")
            y = self.cluster_code.of_images(images)
        if y.shape != (n,):
            raise ShapeError(f"{self.kind}: {what} got {tuple(y.shape)} cluster codes for {n} samples")
        return F.one_hot(y, self.clusters, dtype=str(self.dtype))

    def fit_data(self, x):
        """Before the first step of a fresh run (``train`` calls it with the training samples, a host array in
        the model's range; a Tensor or a device array is copied to the host): a self-conditioned model clusters
        them, unless it has its clusters already. Returns the cluster sizes, or None."""
        if not self.clusters or self.cluster_code.is_fitted:
            return None
        return self.cluster_code.fit(x.numpy() if isinstance(x, Tensor) else _backend.to_numpy(x))

    def _check_fitted(self):
        if self.clusters and not self.cluster_code.is_fitted:
            raise ValueError(f"{self.kind}: this model conditions on {self.clusters} clusters of the training "
                             f"images; call model.fit_data(training_images) once before training (train() does)")

    @staticmethod
    def per_batch(like, n, m, on_real, on_fake):
        """A constant (n + m,) Tensor, ``on_real`` for the n real rows and ``on_fake`` for the m fake ones, in the
        dtype and on the device of ``like`` (the critic's outputs): targets and weights of the critic's loss."""
        xp, dt = like.xp, like.data.dtype
        with _backend.device_scope(like.data):
            return Tensor(xp.concat([xp.full((n,), on_real, dtype=dt), xp.full((m,), on_fake, dtype=dt)]))

    def critic_outputs(self, real, fake, y=None, y_fake=None):
        """f on the real batch then the fake one, as one vector (n_real + n_fake,). A critic without BatchNorm
        scores the two batches stacked, in ONE pass: the same numbers as two passes (each row meets the same
        weights), but half the ops, and ops are what a small net's step is made of. A critic with BatchNorm
        scores them in two passes, as DCGAN does (a batch's statistics are its own). A self-conditioned model's
        codes: ``y`` for the real batch, ``y_fake`` for the fake one (None: each image's nearest centre)."""
        if self.clusters:
            if not self._one_pass:
                return concat([self.score(real, y), self.score(fake, y_fake)], axis=0)
            real, fake = self.as_batch(real), self.as_batch(fake)
            c = concat([self.onehot_for(y, real.shape[0], "score", real),
                        self.onehot_for(y_fake, fake.shape[0], "score", fake)], axis=0)
            both = concat([real, fake], axis=0)
            return self.critic(both, c).reshape((both.shape[0],))
        if not self._one_pass:
            return concat([self.score(real, y), self.score(fake, y)], axis=0)
        real, fake = self.as_batch(real), self.as_batch(fake)
        c = self.onehot_for(y, real.shape[0], "score")
        if c is not None and fake.shape[0] != real.shape[0]:
            raise ValueError(f"{self.kind}: the real and fake batches share their labels, so they must be the same "
                             f"size; got {real.shape[0]} and {fake.shape[0]}")
        both = concat([real, fake], axis=0)
        return self.critic(both, None if c is None else concat([c, c], axis=0)).reshape((both.shape[0],))

    def critic_view(self, x):
        """What the critic sees of the images x in training: DiffAugment(x) with this model's policy (a fresh
        draw per image), or x itself when ``augment`` is off."""
        return diff_augment(x, self.augment) if self.augment else x

    def critic_loss(self, real, fake, y=None):
        """(the critic's loss as a Tensor, a dict of floats to log). ``fake`` is used as given (detach it, or
        generate it under no_grad, for the critic's update); so are both batches (``train_step`` passes them
        through ``critic_view``)."""
        raise NotImplementedError

    def generator_objective(self, f_fake):
        """The generator's loss (a Tensor) from the critic's outputs f(G(z)) (N,)."""
        raise NotImplementedError

    def generator_loss(self, z, y=None, augment=False):
        """The generator's loss (a Tensor) on G(z); ``augment=True`` (training) scores ``critic_view(G(z))``,
        so the gradient flows back through the augmentation into G."""
        fake = self.generate(z, y)
        if self.clusters:
            y = self.cluster_code.of_latent(z)          # D judges G(z) as a member of the cluster it was asked for
        return self.generator_objective(self.score(self.critic_view(fake) if augment else fake, y))

    def after_critic_step(self):
        """Called after each critic update (WGAN clips the weights here)."""

    # --- the contract ---------------------------------------------------------------------------------------
    def train_step(self, x, y, optimizers):
        """ONE critic update on the real batch x against G(z) for a fresh z (as many as x has samples), then
        ``after_critic_step()``; after every ``n_critic``-th call also ONE generator update on a fresh z.
        Returns the critic's numbers ("d_loss", ...) and, on the calls that updated G, "g_loss"."""
        x = self.as_batch(x)
        n = x.shape[0]
        if self.conditional:
            self.onehot_for(y, n)            # fail early on bad labels
        self._check_fitted()
        if self.clusters:
            y = None                        # an unconditional model: the data's labels are not used
        opt_d, opt_g = optimizers["d"], optimizers["g"]
        z = self.sample_latent(n)
        with no_grad():
            fake = self.generate(z, y)
        opt_d.zero_grad()
        if self.clusters:                   # codes of the real images, and the ones the fakes were drawn for
            codes = {"y_fake": self.cluster_code.of_latent(z)}
            y = self.cluster_code.of_images(x)
        else:
            codes = {}
        d_loss, logs = self.critic_loss(self.critic_view(x), self.critic_view(fake), y, **codes)
        d_loss.backward()
        opt_d.step()
        self.after_critic_step()
        steps = self._count_critic_step()
        if steps % self.n_critic == 0:
            opt_g.zero_grad()
            with frozen(self.critic):
                g_loss = self.generator_loss(self.sample_latent(n), None if self.clusters else y, augment=True)
                g_loss.backward()
            opt_g.step()
            if self.ema:
                self.generator_average.update(self.generator, steps // self.n_critic - 1)
            logs["g_loss"] = g_loss.detach()
        return logs

    def _count_critic_step(self):
        """critic_steps += 1 (on its device, for the checkpoint) and the new count, from a host copy kept beside
        the buffer's array: read back from the device only when that array was replaced (a load, a move), so
        that a GPU is not made to wait for the host every step."""
        buf = self.critic_steps.data
        seen = self.__dict__.get("_host_critic_steps")
        n = (seen[1] if seen is not None and seen[0] is buf else int(self.critic_steps.item())) + 1
        with _backend.device_scope(buf):
            buf[...] = buf + 1
        object.__setattr__(self, "_host_critic_steps", (buf, n))
        return n

    def sample(self, n, labels=None, z=None):
        """``n`` samples G(z), z ~ N(0, I) (or the given z), in evaluation mode (BatchNorm's running stats), from
        the averaged generator when the model keeps one (``ema``)."""
        n = self.check_n(n)
        with self.evaluating(), self.averaged_generator():
            z = self.latent_for(n, z)
            return self.generate(z, self.labels_for(n, labels, self.device))

    def averaged_generator(self):
        """A context in which ``self.generator`` holds the averaged weights (and their own BatchNorm statistics);
        a no-op for a model without an average."""
        if not self.ema:
            return contextlib.nullcontext()
        return self.generator_average.swapped_into(self.generator, self._private_inputs)

    def _private_inputs(self, n):
        """(z, one-hot labels or None) for n samples: the inputs from which the averaged generator's BatchNorm
        statistics are computed (drawn inside ``isolated_rng``, see averaging.py)."""
        z = self.sample_latent(n)
        y = self.cluster_code.of_latent(z) if self.clusters else self.labels_for(n, None, self.device)
        return z, self.onehot_for(y, n, "sample")

    def load_state_dict(self, state_dict, strict=True):
        """As Module's; a checkpoint saved before the model kept a generator average (no
        ``generator_average.*`` keys) starts the average at its generator's weights."""
        if self.ema and not any(k.startswith("generator_average.") for k in state_dict):
            gen = {k[len("generator."):]: v for k, v in state_dict.items() if k.startswith("generator.")}
            names = [n for n, _ in self.generator.named_parameters()] + [n for n, _ in self.generator.named_buffers()]
            if all(n in gen for n in names):
                keys = [f"generator_average.p{i}" for i, _ in enumerate(self.generator.parameters())] + \
                       [f"generator_average.s{i}" for i, _ in enumerate(self.generator.buffers())]
                state_dict = {**state_dict, **{k: gen[n] for k, n in zip(keys, names)}}
        return super().load_state_dict(state_dict, strict)

    def _scores(self, x, y):
        """f(x) and f(G(z)) on as many fresh fakes, in chunks, as host floats summed: (sum f(x), sum f(G(z)))."""
        n = x.shape[0]
        real, fake = [], []
        for s in range(0, n, EVAL_CHUNK):
            xb = x[s:s + EVAL_CHUNK]
            yb = None if y is None or not self.conditional else y[s:s + EVAL_CHUNK]
            if self.conditional and yb is None:
                yb = self.labels_for(xb.shape[0], None, self.device)
            real.append(self.score(xb, yb))
            z = self.sample_latent(xb.shape[0])
            fake.append(self.score(self.generate(z, yb), self.cluster_code.of_latent(z) if self.clusters else yb))
        return real, fake


@register_model("gan")
class GAN(AdversarialModel):
    """The GAN with the non-saturating generator loss (see the module docstring)."""

    display_name = "GAN"
    objective_text = "minimax BCE (non-saturating G)"
    default_epochs = 5
    default_n_critic = 1

    offers_clusters = True
    legacy_config = {"clusters": 0}     # a run from before self-conditioning was a plain unconditional GAN

    def critic_loss(self, real, fake, y=None, y_fake=None):
        n, m = real.shape[0], fake.shape[0]
        d = self.critic_outputs(real, fake, y, y_fake)               # logits, real first
        target = self.per_batch(d, n, m, 1.0, 0.0)
        if n == m:          # mean over the real batch + mean over the fake batch = sum over both / n
            loss = F.binary_cross_entropy_with_logits(d, target, reduction="sum") * (1.0 / n)
        else:
            w = self.per_batch(d, n, m, 1.0 / n, 1.0 / m)
            loss = F.binary_cross_entropy_with_logits(d, target, weight=w, reduction="sum")
        p = d.detach().sigmoid()                                      # D's probabilities, for the log only
        return loss, {"d_loss": loss.detach(), "d_real": p[:n].mean(), "d_fake": p[n:].mean()}

    def generator_objective(self, f_fake):
        return F.binary_cross_entropy_with_logits(f_fake, 1.0)

    def make_optimizers(self, lr=None):
        """{"d": Adam, "g": Adam}, betas (0.5, 0.999); lr 2e-4 for images (DCGAN), 1e-3 for vectors."""
        lr = (2e-4 if self.is_image else 1e-3) if lr is None else lr
        return {"d": optim.Adam(self.critic.parameters(), lr=lr, betas=(0.5, 0.999)),
                "g": optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999))}

    def evaluate(self, x, y=None):
        """Held-out {"d_real", "d_fake"}: the mean probability D gives to held-out real samples and to as many
        fresh generated ones."""
        x = self.as_batch(x, "held-out batch")
        with self.evaluating():
            real, fake = self._scores(x, y)
            n = x.shape[0]
            return {"d_real": sum(float(r.sigmoid().sum().item()) for r in real) / n,
                    "d_fake": sum(float(f.sigmoid().sum().item()) for f in fake) / n}
