"""tinygen/ops/augment.py: DiffAugment's translation and cutout, their values, their adjoints, the policy.

(Their first and second derivatives are checked with every other op in test_gradcheck_all.py.)"""
import numpy as np
import pytest

import tinygen as tg
from tinygen.ops import cutout, diff_augment, translate


def _grid(n=2, c=1, h=4, w=5):
    return tg.tensor(np.arange(n * c * h * w, dtype=np.float64).reshape(n, c, h, w) + 1.0)


def test_translate_moves_every_image_by_its_own_shift_with_zeros_moved_in(backend):
    x = _grid()
    y = translate(x, [1, -2], [0, 3]).numpy()
    a = x.numpy()
    np.testing.assert_array_equal(y[0, 0, 1:], a[0, 0, :-1])              # down by one row
    np.testing.assert_array_equal(y[0, 0, 0], 0)
    np.testing.assert_array_equal(y[1, 0, :2, 3:], a[1, 0, 2:, :2])        # up by two, right by three
    assert (y[1, 0, 2:] == 0).all() and (y[1, 0, :, :3] == 0).all()


def test_translate_by_a_whole_side_or_more_empties_the_image():
    y = translate(_grid(n=1), [4], [0]).numpy()
    assert (y == 0).all()


def test_cutout_zeroes_one_square_per_image_clipped_at_the_border(backend):
    x = _grid(h=4, w=4)
    y = cutout(x, [-1, 2], [1, 3], 2).numpy()
    hole0 = np.zeros((4, 4), bool)
    hole0[0:1, 1:3] = True                                                 # top row only: the square hangs over
    hole1 = np.zeros((4, 4), bool)
    hole1[2:4, 3:4] = True
    for i, hole in enumerate((hole0, hole1)):
        assert (y[i, 0][hole] == 0).all()
        np.testing.assert_array_equal(y[i, 0][~hole], x.numpy()[i, 0][~hole])


@pytest.mark.parametrize("op", ["translate", "cutout"])
def test_backward_is_the_adjoint(op):
    """<T x, g> = <x, T^T g> for random x and g: the gradient of <T x, g> with respect to x is T^T g."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 2, 5, 6)), requires_grad=True)
    g = rng.standard_normal((3, 2, 5, 6))
    fn = (lambda t: translate(t, [2, -1, 0], [-3, 1, 5])) if op == "translate" else \
        (lambda t: cutout(t, [1, -2, 3], [0, 4, -1], 3))
    y = fn(x)
    (y * tg.tensor(g)).sum().backward()
    tg_g = x.grad.numpy()
    # the adjoint, by brute force: column k of T is T applied to the k-th unit image
    basis = np.eye(x.numpy().size).reshape(-1, 3, 2, 5, 6)
    expected = np.array([(fn(tg.tensor(e)).numpy() * g).sum() for e in basis]).reshape(x.shape)
    np.testing.assert_allclose(tg_g, expected, atol=1e-12)


def test_diff_augment_draws_fresh_parameters_per_image_and_per_call(backend):
    tg.manual_seed(0)
    x = tg.ones(64, 1, 28, 28)
    a, b = diff_augment(x).numpy(), diff_augment(x).numpy()
    assert a.shape == (64, 1, 28, 28) and not np.array_equal(a, b)
    zeros = (a == 0).reshape(64, -1).mean(1)
    assert len(np.unique(zeros)) > 10                       # different shifts and holes per image
    assert zeros.max() <= 1 - (28 - 4) * (28 - 4) / 784 + 14 * 14 / 784 + 1e-9   # at most a 4-pixel shift + a hole
    assert zeros.min() > 0                                   # a cutout square always meets the image


def test_diff_augment_passes_the_gradient_to_the_images():
    tg.manual_seed(1)
    x = tg.randn(8, 1, 28, 28, requires_grad=True)
    diff_augment(x).sum().backward()
    g = x.grad.numpy()
    assert set(np.unique(g)) <= {0.0, 1.0} and 0.3 < g.mean() < 1.0   # each pixel reaches the output once or not


def test_diff_augment_policies_and_bad_input():
    x = tg.randn(2, 1, 8, 8)
    assert diff_augment(x, ()) is x
    only = diff_augment(x, ("cutout",)).numpy()
    kept = only != 0
    np.testing.assert_array_equal(only[kept], x.numpy()[kept])            # cutout alone moves nothing
    with pytest.raises(ValueError, match="unknown policy 'color'"):
        diff_augment(x, ("color",))
    with pytest.raises(tg.ShapeError, match=r"images \(N, C, H, W\)"):
        diff_augment(tg.randn(2, 64), ("translation",))
    with pytest.raises(tg.ShapeError, match="one integer per image"):
        translate(x, [1], [0, 0])
