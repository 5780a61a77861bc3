"""Making tensors (tinygen/creation.py): bad shapes, steps and dtypes are refused in one sentence."""
import numpy as np
import pytest

import tinygen as tg


@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.rand, tg.randn, lambda *s: tg.full(s, 1.0)])
@pytest.mark.parametrize("shape", [(2.5,), (2, 3.0), ((2, "3"),)])
def test_a_shape_of_non_integers_is_a_type_error(make, shape):
    # tg.zeros(2.5) made 2 zeros: a float size was truncated
    with pytest.raises(TypeError, match="a shape is a sequence of ints"):
        make(*shape)


def test_shapes_of_numpy_integers_and_negative_sizes():
    assert tg.zeros(np.int64(2), np.int32(3)).shape == (2, 3) and tg.full(np.int64(2), 0.5).shape == (2,)
    with pytest.raises(ValueError, match=r"^ones: a shape cannot have negative sizes, got \(2, -1\)$"):
        tg.ones(2, -1)


@pytest.mark.parametrize("args", [(0, 10, 0), (0.0, 1.0, 0.0), (5, 1, 0)])
def test_arange_with_a_zero_step_is_a_value_error(args):
    with pytest.raises(ValueError, match="^arange: step must not be zero$"):
        tg.arange(*args)


@pytest.mark.parametrize("make", [tg.rand, tg.randn])
def test_random_tensors_in_float16(make):
    tg.manual_seed(0)
    x = make(1000, dtype="float16")
    a = x.numpy()
    assert x.dtype == "float16" and a.dtype == np.float16 and np.isfinite(a).all()
    if make is tg.rand:
        assert 0 <= a.min() and a.max() < 1 and abs(float(a.mean()) - 0.5) < 0.05
    else:
        assert abs(float(a.mean())) < 0.15 and 0.85 < float(a.std()) < 1.15
    tg.manual_seed(0)
    np.testing.assert_array_equal(make(1000, dtype="float16").numpy(), a)     # seeded like the others


@pytest.mark.parametrize("make", [tg.rand, tg.randn, tg.rand_like, tg.randn_like])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_random_tensors_of_a_non_float_dtype_are_refused_in_one_sentence(make, dtype):
    arg = tg.zeros(3) if make in (tg.rand_like, tg.randn_like) else 3
    with pytest.raises(TypeError, match=rf"^randn?: random numbers are drawn in a floating-point dtype "
                                        rf"\(float16, float32, float64\), not {dtype}$"):
        make(arg, dtype=dtype)
