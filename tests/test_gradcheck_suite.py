"""`tinygen gradcheck`: the composites and every model's objectives by name, a table of worst relative errors,
`--all` for everything; a planted bug in a model's loss is caught."""
import numpy as np
import pytest

import tinygen as tg
from tinygen.autograd import REGISTRY
from tinygen.cli import main
from tinygen.gradcheck_suite import COMPOSITES
from tinygen.model_steps import KINDS, objectives

COMPOSITE_NAMES = ["softmax", "log_softmax", "cross_entropy", "gaussian_kl", "binary_cross_entropy",
                   "gradient_penalty"]


def rows(out):
    """{check name: [(first order, second order, result)]} from the table."""
    table = {}
    for line in out.splitlines()[2:-1]:
        cells = line.split()
        table.setdefault(cells[0], []).append(tuple(cells[-3:]) if cells[-1] == "ok" else ("-", "-", "FAIL"))
    return table


def test_the_composites_a_course_derives(capsys):
    assert set(COMPOSITES) == set(COMPOSITE_NAMES)
    assert main(["gradcheck", *COMPOSITE_NAMES, "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("worst relative error |analytic - numeric| / max(|analytic|, |numeric|, 0.01)")
    table = rows(out)
    assert list(table) == COMPOSITE_NAMES
    for name, [(e1, e2, result)] in table.items():
        assert result == "ok" and float(e1) < 1e-6 and float(e2) < 1e-6, name
    assert "6/6 checks pass" in out


@pytest.mark.parametrize("kind, whats", [
    ("vae", ["-ELBO, Bernoulli likelihood, eps fixed", "-ELBO, Gaussian likelihood (learned variance)"]),
    ("ae", ["reconstruction MSE"]),
    ("gan", ["D loss, w.r.t. D and, via G(z), G", "G loss (non-saturating), w.r.t. G and D"]),
    ("wgan", ["critic loss, w.r.t. D and, via G(z), G", "G loss, w.r.t. G and D"]),
    ("wgan-gp", ["critic loss + penalty, w.r.t. D and, via G(z), G", "G loss, w.r.t. G and D"]),
])
def test_every_model_objective_by_its_name(kind, whats, capsys):
    assert main(["gradcheck", kind]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(kind + " ")]
    assert len(lines) == len(whats)
    for line, what in zip(lines, whats):
        assert what in line and line.rstrip().endswith("ok")
    assert f"{len(whats)}/{len(whats)} checks pass" in out and "models: one small instance each" in out


def test_model_objectives_cover_every_parameter_at_a_point_where_no_relu_is_dead():
    for kind in KINDS:
        for obj in objectives(kind):
            model_params = obj.params
            assert all(p.dtype == "float64" for p in model_params)
            grads = tg.grad(obj.fn(), model_params, allow_unused=True)
            for p, g in zip(model_params, grads):
                if p.ndim == 2:                              # weights: a dead unit would zero a row or column
                    assert g is not None and np.all(g.numpy() != 0), (kind, obj.what, p.shape)


def test_a_planted_bug_in_a_models_loss_fails_its_row(monkeypatch, capsys):
    from tinygen.ops.loss import BinaryCrossEntropyWithLogits
    real = BinaryCrossEntropyWithLogits.backward

    def wrong(self, gy):
        gz, gt = real(self, gy)
        return gz * 1.01, gt                                 # 1% off: the VAE's Bernoulli -ELBO must fail

    monkeypatch.setattr(BinaryCrossEntropyWithLogits, "backward", wrong)
    assert main(["gradcheck", "vae"]) == 1
    out = capsys.readouterr().out
    bern, gauss = [line for line in out.splitlines() if line.startswith("vae ")]
    assert "FAIL: gradcheck: d(output element 0)/d(input" in bern and gauss.rstrip().endswith("ok")
    assert "1/2 checks pass" in out


def test_all_runs_every_op_composite_and_model(capsys):
    assert main(["gradcheck", "--all", "--seeds", "1"]) == 0
    table = rows(capsys.readouterr().out)
    assert set(table) == set(REGISTRY) | set(COMPOSITE_NAMES) | set(KINDS)
    assert all(r[2] == "ok" for v in table.values() for r in v)


def test_groups_and_bad_names(capsys):
    assert main(["gradcheck", "models"]) == 0
    assert set(rows(capsys.readouterr().out)) == set(KINDS)
    assert main(["gradcheck", "softmax", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygen: error: unknown op(s) nope: give op names") and err.count("\n") == 1
