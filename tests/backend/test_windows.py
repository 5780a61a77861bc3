"""tinygen/backend/windows.py: the convolution windows and their fold, on NumPy (strided views and the slice
loop, what CuPy runs too) and on array-api-strict (the pure-standard fallbacks), against the definition."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen import backend as B
from tinygen.testing import arrays, conv_configs


def _arr(data, shape):
    return data.draw(arrays(shape, "float64", -2, 2))


@given(cfg=conv_configs(max_side=6), data=st.data())
def test_sliding_windows_and_fold_agree_across_backends(cfg, data):
    """NumPy runs as_strided and the slice loop (what CuPy runs too); array_api_strict runs the take/matmul
    fallbacks, and the slice loop must also run there (it may use nothing beyond the standard).
    The helpers work on (A, H, W, B) arrays (the ops pass channels as A and the batch as B)."""
    k, s, p, d = cfg["k"], cfg["s"], cfg["p"], cfg["d"]
    size = cfg["hw"]
    x = _arr(data, (cfg["c"],) + tuple(h + 2 * q for h, q in zip(size, p)) + (cfg["n"],))
    out = tuple((x.shape[1 + a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2))
    win = np.array(B.sliding_windows(x, k, s, d, out))
    ref = np.zeros_like(win)  # the definition, one window position at a time
    for i in range(out[0]):
        for j in range(out[1]):
            ref[:, :, :, i, j, :] = x[:, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                                      j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1], :]
    np.testing.assert_array_equal(win, ref)
    # fold: the adjoint of the windows with the padding p cropped: <fold(g), z> == <g, windows(z padded by p)>
    g = _arr(data, k + (cfg["c"],) + out + (cfg["n"],))
    folded = np.asarray(B.fold_windows(g, size, s, d, p))
    z = x[:, p[0]:p[0] + size[0], p[1]:p[1] + size[1], :]
    zpad = np.zeros_like(x)
    zpad[:, p[0]:p[0] + size[0], p[1]:p[1] + size[1], :] = z
    lhs = np.sum(folded * z)
    rhs = np.sum(g * np.moveaxis(np.asarray(B.sliding_windows(zpad, k, s, d, out)), (1, 2), (0, 1)))
    assert folded.shape == z.shape and abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs))
    with B.use_array_api_strict() as strict:
        win_s = B.sliding_windows(strict.asarray(x), k, s, d, out)
        fold_s = B.fold_windows(strict.asarray(g), size, s, d, p)
        slices_s = B.fold_by_slices(strict.xp, strict.asarray(g), size, s, d, p)
        win_s, fold_s, slices_s = (strict.to_numpy(a) for a in (win_s, fold_s, slices_s))
    np.testing.assert_array_equal(win_s, win)
    np.testing.assert_allclose(fold_s, folded, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slices_s, folded, rtol=1e-12, atol=1e-12)


def test_sliding_windows_refuses_windows_outside_the_input():
    with pytest.raises(ValueError, match="do not fit"):
        B.sliding_windows(np.zeros((1, 4, 4, 1)), (3, 3), (1, 1), (1, 1), (3, 2))  # 3 rows of windows need 5
