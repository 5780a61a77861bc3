"""tinygen.viz: the graph as DOT text and as a picture with no system package (tinygen's own layered layout
drawn with matplotlib, or Graphviz's dot when it is on the PATH), inline in notebooks; `tinygen graph MODEL`."""
import os
import stat

import numpy as np
import pytest

import tinygen as tg
import tinygen.functional as F
from tinygen import nn, viz
from tinygen._graph_layout import box_size, layout
from tinygen.cli import main
from tinygen.model_steps import KINDS, small_model, step_graph

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def no_dot(monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)


def expression():
    a = tg.tensor(2.0, requires_grad=True)
    b = tg.tensor([1.0, -3.0], requires_grad=True)
    a.name, b.name = "a", "b"
    c = a * b
    c.name = "c"
    loss = (c.exp() + b).sum()
    return a, b, c, loss


def test_to_dot_has_one_box_per_op_with_its_name_and_output_shape():
    a, b, c, loss = expression()
    dot = viz.to_dot(loss, values=False)
    assert dot.startswith("digraph tinygen {") and dot.rstrip().endswith("}")
    labels = [line for line in dot.splitlines() if "[label=" in line]
    assert len(labels) == 6                                # a, b, mul, exp, add, sum
    for text in ('label="a\\n()"', 'label="b\\n(2,)"', 'label="c = mul\\n(2,)"', 'label="exp\\n(2,)"',
                 'label="add\\n(2,)"', 'label="sum\\n()", style="rounded,filled", fillcolor="white", penwidth=2.5'):
        assert text in dot, text
    assert dot.count("->") == 6                            # a, b -> mul; mul -> exp; exp, b -> add; add -> sum


def test_after_backward_values_and_grads_small_in_full_large_as_a_norm():
    a, b, c, loss = expression()
    big = tg.ones(3, 4, requires_grad=True)
    big.name = "big"
    total = loss + (big * 2.0).sum()
    viz.retain_grads(total)
    total.backward()
    dot = viz.to_dot(total)
    assert "data 2\\ngrad " in dot                          # a: a scalar value and its gradient
    assert "b\\n(2,)\\ndata [1, -3]\\ngrad [" in dot        # b: both numbers
    assert "data ‖·‖ 3.464\\ngrad ‖·‖ 6.928" in dot         # big (12 elements): norms
    e2, e6 = np.exp(2.0), np.exp(-6.0)
    assert f"c = mul\\n(2,)\\ndata [2, -6]\\ngrad [{e2:.4g}, {e6:.4g}]" in dot   # an intermediate, retained
    assert "mul  (+1 const)" in dot                        # big * 2.0: a constant input


def test_leaves_are_named_from_a_modules_parameters():
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    out = net(tg.randn(4, 2)).sum()
    dot = viz.to_dot(out, params=net)
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'label="{name}\\n' in dot
    assert 'label="x\\n' in viz.to_dot(out, params={**dict(net.named_parameters()), "x": net[0].weight})


def test_groups_become_clusters_and_a_legend():
    a, b, c, loss = expression()
    dot = viz.to_dot(loss, groups={"product": c, "the rest": loss}, title="a title")
    assert 'subgraph cluster_0 { label="product"' in dot and 'subgraph cluster_1 { label="the rest"' in dot
    assert 'label="a title"' in dot
    g = viz.graph(loss, groups={"product": c, "empty": [], "the rest": loss})
    assert g.groups == ["product", "the rest"]             # a group that claims nothing is left out


def test_draw_without_graphviz_writes_png_and_svg(no_dot, tmp_path):
    a, b, c, loss = expression()
    loss.backward()
    g = viz.draw(loss, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes().startswith(PNG)
    viz.draw(loss, tmp_path / "g.svg")
    assert "<svg" in (tmp_path / "g.svg").read_text()
    viz.draw(loss, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == g.source


def test_inline_display_in_a_notebook(no_dot):
    a, b, c, loss = expression()
    g = viz.draw(loss)                                     # no path: the object a notebook displays
    assert "<svg" in g._repr_svg_() and g._repr_png_().startswith(PNG)
    assert repr(g) == "<tinygen.viz.Graph: 6 boxes, 6 arrows>"


def test_graphviz_is_used_when_installed(tmp_path, monkeypatch):
    log = tmp_path / "dot-args"
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {log}\ncat > {tmp_path / 'stdin'}\nprintf 'FAKEPICTURE'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    a, b, c, loss = expression()
    viz.draw(loss, tmp_path / "out.png")
    assert (tmp_path / "out.png").read_bytes() == b"FAKEPICTURE" and log.read_text().strip() == "-Tpng"
    assert (tmp_path / "stdin").read_text() == viz.to_dot(loss)
    viz.draw(loss, tmp_path / "own.png", engine="matplotlib")
    assert (tmp_path / "own.png").read_bytes().startswith(PNG)


def test_bad_input_is_one_sentence(no_dot, tmp_path):
    a, b, c, loss = expression()
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot(3.0)
    with pytest.raises(ValueError, match=r"cannot write 'g.jpg': give a path ending in"):
        viz.draw(loss, tmp_path / "g.jpg")
    with pytest.raises(RuntimeError, match="'dot' is not on the PATH"):
        viz.draw(loss, tmp_path / "g.png", engine="dot")
    with pytest.raises(TypeError, match="params must be a Module or a dict"):
        viz.to_dot(loss, params=[a])


# --- the layout ------------------------------------------------------------------------------------------------
def _boxes(n_lines=2):
    return box_size(["x" * 8] * n_lines)


def test_layout_arrows_point_down_and_boxes_do_not_overlap():
    sg = step_graph("wgan-gp")
    g = viz.graph(sg.roots, params=sg.params, groups=sg.groups)
    nodes = [(nid, box_size(lines)) for nid, _, lines, _, _ in g.nodes]
    pos, routes, (w, h) = layout(nodes, g.edges)
    size = dict(nodes)
    for (s, d, _), route in zip(g.edges, routes):
        assert pos[s][1] < pos[d][1]                        # inputs above the op that uses them
        assert route[0][1] == pos[s][1] + size[s][1] / 2 and route[-1][1] == pos[d][1] - size[d][1] / 2
        assert all(p[1] <= q[1] + 1e-9 for p, q in zip(route, route[1:]))
    by_row = {}
    for nid, (x, y) in pos.items():
        by_row.setdefault(y, []).append((x - size[nid][0] / 2, x + size[nid][0] / 2))
    for spans in by_row.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert all(0 <= x <= w and 0 <= y <= h for x, y in pos.values())


def test_layout_puts_a_leaf_just_above_its_first_user_and_orders_inputs_left_to_right():
    # out = f(g(a), b): b is used by f only, so it sits one row above f, not at the top with a
    nodes = [(k, _boxes()) for k in ("a", "g", "b", "f")]
    pos, routes, _ = layout(nodes, [("a", "g", 0), ("g", "f", 0), ("b", "f", 1)])
    assert pos["a"][1] < pos["g"][1] == pos["b"][1] < pos["f"][1]
    assert pos["g"][0] < pos["b"][0]                       # input 0 on the left of input 1
    assert routes[1][-1][0] < routes[2][-1][0]             # and into the left port


def test_barycentre_ordering_untangles_crossed_inputs():
    # two chains whose inputs are listed in the opposite order of their users: sorting removes the crossings
    nodes = [(k, _boxes()) for k in ("p", "q", "u", "v", "out")]
    edges = [("q", "u", 0), ("p", "v", 0), ("u", "out", 0), ("v", "out", 1)]
    pos, routes, _ = layout(nodes, edges)
    assert (pos["q"][0] < pos["p"][0]) == (pos["u"][0] < pos["v"][0])


# --- tinygen graph MODEL --------------------------------------------------------------------------------------
def test_step_graphs_are_the_models_own_losses():
    sg = step_graph("vae")
    model = small_model("vae")
    from tinygen.model_steps import _data
    x, n = _data("vae", 0)
    assert np.isclose(float(sg.roots["loss"]), float(model.negative_elbo(x, eps=n["eps"])["loss"]))
    sg = step_graph("wgan-gp")
    model = small_model("wgan-gp")
    x, n = _data("wgan-gp", 0)
    with tg.no_grad():
        fake = model.generate(n["z"])
    assert np.isclose(float(sg.roots["critic loss"]), float(model.critic_loss(x, fake, eps=n["e"])[0]))


@pytest.mark.parametrize("kind, parts", [
    ("vae", ["reparameterisation z = mu + sigma eps", "KL(q(z|x) || N(0, 1))", "reconstruction -log p(x|z)"]),
    ("ae", ["encoder: z", "MSE"]),
    ("gan", ["discriminator loss", "generator step (critic frozen)"]),
    ("wgan", ["critic loss E f(G(z)) - E f(x)"]),
    ("wgan-gp", ["grad_x f(x_hat): backward ops, recorded", "penalty lambda (||g|| - 1)^2"]),
])
def test_graph_command_names_where_each_part_enters(kind, parts, tmp_path, capsys):
    assert main(["graph", kind, "--out", str(tmp_path / "g.dot")]) == 0
    dot = (tmp_path / "g.dot").read_text()
    for part in parts:
        assert f'label="{part}"' in dot, part
    assert "eps ~ N(0, 1)" in dot if kind == "vae" else True
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'g.dot'}: ")


def test_graph_command_draws_a_png_without_graphviz(no_dot, tmp_path, capsys):
    assert main(["graph", "vae", "--out", str(tmp_path / "g.png")]) == 0
    data = (tmp_path / "g.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 50_000
    assert "coloured by part: encoder: mu, log sigma^2; reparameterisation" in capsys.readouterr().out


def test_graph_command_bad_input(no_dot, tmp_path, capsys):
    assert main(["graph", "vae", "--out", str(tmp_path / "g.jpg")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give a path ending in" in err
    assert main(["graph", "vae", "--engine", "dot", "--out", str(tmp_path / "g.png")]) == 2
    assert "'dot' is not on the PATH" in capsys.readouterr().err
    assert main(["graph", "vqvae"]) == 2
    assert set(KINDS) == {"ae", "vae", "gan", "wgan", "wgan-gp"}


def test_a_penalty_graph_shows_the_recorded_backward_ops():
    """With a smooth critic, the penalty's graph runs through the critic at x_hat and its recorded backward."""
    w = tg.tensor([[0.5, -1.0]], dtype="float64", requires_grad=True)
    w.name = "w"
    real = tg.tensor([[1.0, 0.0]], dtype="float64")
    fake = tg.tensor([[0.2, 0.6]], dtype="float64")
    gp = F.gradient_penalty(lambda x: F.linear(x, w).tanh(), real, fake, eps=0.5)
    dot = viz.to_dot(gp, values=False)
    assert 'label="x_hat\\n(1, 2)"' in dot and "tanh" in dot and "sqrt" in dot
