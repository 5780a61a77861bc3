"""models/base.py: the model registry is the one list of models. A model registered here, in a test file, is
offered by the CLI and by ``tinygen compare``, named and described in the report, and trained for its own
default epochs, with no edit anywhere else; unregistered, it is gone from all of them."""
import math
import types

import pytest

import tinygen as tg
from tinygen import nn
from tinygen.cli import build_parser, main
from tinygen.models import MODELS, GenerativeModel, build_model, model_class, model_kinds, register_model
from tinygen.models.base import is_image_shape


class Toy(GenerativeModel):
    """The smallest model: a linear decoder of z, trained by nobody (only listed)."""

    objective_text = "nothing at all (a test double)"
    default_epochs = 3

    def __init__(self, data_shape=(2,), conditional=False, num_classes=10):
        super().__init__(data_shape, 2, conditional, num_classes)
        self.decoder = nn.Linear(2, math.prod(self.data_shape))
        self._remember(data_shape=self.data_shape, conditional=self.conditional, num_classes=self.num_classes)

    def make_optimizers(self, lr=None):
        return {"opt": tg.optim.SGD(self.parameters(), lr=lr or 0.1)}

    def sample(self, n, labels=None, z=None):
        with self.evaluating():
            return self.decoder(self.latent_for(self.check_n(n), z)).reshape((n,) + self.data_shape)


@pytest.fixture
def toy():
    """Toy registered as "toy" for the test's duration (named "Toy model" in reports)."""
    Toy.display_name = "Toy model"
    register_model("toy")(Toy)
    try:
        yield Toy
    finally:
        del MODELS["toy"]


def _choices(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if a.dest == "model").choices


def test_the_five_models_are_registered_in_order_with_their_names_objectives_and_epochs():
    kinds = ("ae", "vae", "gan", "wgan", "wgan-gp")
    assert model_kinds()[:5] == kinds
    assert [model_class(k).display_name for k in kinds] == ["AE", "VAE", "GAN", "WGAN", "WGAN-GP"]
    assert [model_class(k).default_epochs for k in kinds] == [10, 10, 5, 10, 10]
    assert model_class("wgan-gp").objective_text == "Wasserstein + gradient penalty"
    assert all(model_class(k).objective_text for k in model_kinds())


def test_a_registered_model_is_offered_everywhere_and_gone_when_unregistered(toy, tmp_path, monkeypatch):
    assert model_kinds()[-1] == "toy" and build_model("toy", data_shape=(2,)).kind == "toy"
    assert "toy" in _choices("train") and "toy" not in _choices("graph")     # graph: model_steps.py's models
    assert build_parser().parse_args(["train", "toy"]).model == "toy"

    import tinygen.compare
    seen = {}
    monkeypatch.setattr(tinygen.compare, "run_compare", lambda **kw: seen.update(kw))
    assert main(["compare", "--data", "ring8"]) == 0 and "toy" in seen["models"]
    assert main(["compare", "--data", "ring8", "--models", "toy,vae"]) == 0 and seen["models"] == ("toy", "vae")

    from tinygen.report import _table
    from tinygen.report_text import sentences
    ev = {"swd": 0.5, "swd_floor": 0.1}
    summary = {"results": {"toy": {"eval": ev, "steps": 1}, "vae": {"eval": {**ev, "swd": 0.7}, "steps": 1}}}
    head, rows = _table(summary)
    assert [r[:2] for r in rows[:2]] == [["VAE", model_class("vae").objective_text],      # the registry's order
                                        ["Toy model", "nothing at all (a test double)"]]
    assert "the closest is the Toy model (0.500" in " ".join(sentences(summary))


def test_tinygen_train_gives_a_registered_model_its_default_epochs(toy, tmp_path, monkeypatch):
    import tinygen.train
    seen = {}

    def fake_train(model, data, **kw):
        seen.update(kw, kind=model.kind)
        return types.SimpleNamespace(logs={}, heldout={}, step=0, elapsed=0.0, out_dir=tmp_path)
    monkeypatch.setattr(tinygen.train, "train", fake_train)
    assert main(["train", "toy", "--out", str(tmp_path / "run")]) == 0
    assert seen["kind"] == "toy" and seen["epochs"] == 3 and seen["steps"] is None


def test_unregistered_models_are_one_sentence_and_test_doubles_are_not_offered(capsys):
    assert "toy" not in model_kinds() and "toy" not in _choices("train")
    with pytest.raises(ValueError, match=r"^unknown model 'toy'; choose one of ae, vae, gan, wgan, wgan-gp"):
        build_model("toy", data_shape=(2,))
    assert main(["compare", "--models", "vae,toy"]) == 2
    assert "unknown model(s) toy" in capsys.readouterr().err
    register_model("_double")(type("Double", (Toy,), {}))
    try:
        assert "_double" not in model_kinds() and "_double" not in _choices("train")
        assert build_model("_double").kind == "_double" and model_class("_double").display_name == "_DOUBLE"
    finally:
        del MODELS["_double"]


def test_a_model_in_a_new_file_of_the_package_registers_itself(tmp_path, monkeypatch):
    """models/__init__ imports every module of the package: one file is all a new model needs."""
    import sys

    import tinygen.models
    (tmp_path / "flowtoy.py").write_text(
        "from .base import GenerativeModel, register_model\n\n\n"
        "@register_model('flowtoy')\n"
        "class FlowToy(GenerativeModel):\n"
        "    objective_text = 'exact likelihood'\n")
    monkeypatch.setattr(tinygen.models, "__path__", [*tinygen.models.__path__, str(tmp_path)])
    try:
        tinygen.models._import_every_module()
        assert model_kinds()[-1] == "flowtoy" and model_class("flowtoy").display_name == "FLOWTOY"
        assert "flowtoy" in _choices("train")
    finally:
        MODELS.pop("flowtoy", None)
        sys.modules.pop("tinygen.models.flowtoy", None)


def test_display_name_is_not_inherited_by_another_registered_model():
    sub = type("Sub", (model_class("wgan"),), {})
    register_model("sub-wgan")(sub)
    try:
        assert sub.display_name == "SUB-WGAN" and model_class("wgan").display_name == "WGAN"
        assert sub.objective_text == model_class("wgan").objective_text     # the loss is the parent's
    finally:
        del MODELS["sub-wgan"]


def test_is_image_shape():
    assert is_image_shape((1, 28, 28)) and is_image_shape([3, 8, 8])
    assert not is_image_shape((2,)) and not is_image_shape(2) and not is_image_shape((4, 4))
