"""Writing your own op: tg.Function is public, user ops never collide (with each other or with tinygen's), and
one call checks one (tg.gradcheck / tg.gradgradcheck on the class, tinygen.testing under hypothesis)."""
import importlib.util
import textwrap

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.autograd import REGISTRY
from tinygen.testing import check_op, op_inputs, op_test


class Cube(tg.Function):
    """y = x^3            dy/dx = 3 x^2"""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x * x

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 3.0 * x * x

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape())], Cube.apply


class BadCube(Cube):
    """y = x^3 with a wrong derivative (2 x^2): the checks must catch it."""

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 2.0 * x * x

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape(min_dims=1), "nonzero")], BadCube.apply


CELL = '''
import tinygen as tg

class Cube(tg.Function):
    """y = x^3            dy/dx = 3 x^2"""
    def forward(self, x):
        self.save_for_backward(x)
        return x ** 3
    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 3.0 * x * x
'''


def test_function_is_public_and_user_ops_stay_out_of_the_builtin_registry():
    assert tg.Function is tg.autograd.Function
    assert "cube" not in REGISTRY and "badcube" not in REGISTRY
    assert Cube.name == "cube"
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    assert np.allclose(x.grad.numpy(), [3.0, 12.0])


def test_running_a_notebook_cell_twice_defines_the_op_again():
    first, second = {}, {}
    exec(CELL, first)
    exec(CELL, second)                                      # the same cell, run again: no "two ops are named"
    assert first["Cube"] is not second["Cube"] and first["Cube"].name == second["Cube"].name == "cube"
    x = tg.tensor([2.0], requires_grad=True)
    second["Cube"].apply(x).backward()
    assert x.grad.item() == 12.0


def test_two_test_files_may_define_ops_of_the_same_name(tmp_path):
    mods = []
    for name in ("test_a_ops", "test_b_ops"):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(CELL))
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    assert mods[0].Cube is not mods[1].Cube


def test_a_user_op_named_like_a_tinygen_op_does_not_replace_it():
    builtin = REGISTRY["exp"]

    class Exp(tg.Function):
        """my own exp"""

        def forward(self, x):
            return self.xp.exp(x)

    assert Exp.name == "exp" and REGISTRY["exp"] is builtin
    assert np.allclose(Exp.apply(tg.tensor([0.0])).numpy(), [1.0])


def test_two_builtin_ops_with_one_name_are_still_a_bug():
    with pytest.raises(TypeError, match="two ops are named 'exp'"):
        type("Exp", (tg.Function,), {"__module__": "tinygen.ops.mine", "forward": lambda self, x: x})


def test_gradcheck_takes_the_op_class_and_draws_its_inputs():
    assert tg.gradcheck(Cube) and tg.gradgradcheck(Cube)
    x = tg.tensor([0.5, -1.5], dtype="float64", requires_grad=True)
    assert tg.gradcheck(Cube, [x])                           # the class's apply, at given inputs
    with pytest.raises(tg.GradcheckError, match=r"d\(output element \d+\)/d\(input 0\[[\d, ]+\]\): analytic"):
        tg.gradcheck(BadCube)
    assert not tg.gradcheck(BadCube, raise_exception=False)


def test_gradcheck_of_a_plain_function_still_needs_inputs():
    with pytest.raises(TypeError, match="give the inputs"):
        tg.gradcheck(lambda a: a * 2)


@given(data=st.data())
def test_testing_check_op_runs_sample_under_hypothesis(data):
    first, second = check_op(Cube, data)
    assert first.ok and second.ok and first.max_rel < 1e-6


test_cube_gradients = op_test(Cube)                        # what the README tells a user to write


@given(st.data())
def test_op_inputs_strategy_gives_float64_tensors_and_the_function(data):
    inputs, fn = data.draw(op_inputs(Cube))
    assert all(t.dtype == "float64" and t.requires_grad for t in inputs)
    assert tg.gradcheck(fn, inputs)


def test_op_test_catches_a_wrong_backward():
    test = op_test(BadCube, second_order=False)
    assert test.__name__ == "test_badcube_gradients"
    with pytest.raises(tg.GradcheckError):
        test()
