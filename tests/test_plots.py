"""tinygen.plots: every function writes a readable PNG; pixel values, grid layout and bad input are checked."""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.image import imread

from tinygen import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    """Check the signature and read the picture back as an (H, W, 3) float array in [0, 1]."""
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    return imread(str(path))[..., :3]


def digits(n, h=28, seed=0):
    """n blurry strokes in [0, 1]: enough like digits for a picture, cheap to make."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:h] / (h - 1)
    out = np.empty((n, h, h))
    for i in range(n):
        cx, cy, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.15, 0.3)
        out[i] = np.exp(-((np.hypot(xx - cx, yy - cy) - r) / 0.07) ** 2)
    return out


class Panel:
    """What a test needs of an Axes, copied before the figure is freed."""
    def __init__(self, ax):
        self.title = ax.get_title()
        self.xlim = tuple(ax.get_xlim())
        self.lines = [(np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)) for ln in ax.lines]
        self.texts = [t.get_text() for t in ax.texts]


@pytest.fixture
def captured(monkeypatch):
    """The Figure objects handed to plots._save (inspected before they are written and freed)."""
    figs = []
    original = plots._base._save

    def spy(fig, path):
        axes = [ax for ax in fig.axes if ax.get_visible()]
        figs.append({"titles": [ax.get_title() for ax in axes],
                     "visible_axes": [Panel(ax) for ax in axes],
                     "images": [ax.images[0].get_array().copy() for ax in fig.axes if ax.images],
                     "suptitle": fig._suptitle.get_text() if fig._suptitle else ""})
        return original(fig, path)

    monkeypatch.setattr(plots._base, "_save", spy)
    return figs


def tile_centers(png, rows, cols, h, w, pad=1, title_px=0):
    """The pixel value at the centre of each tile of a save_image_grid picture without labels."""
    H, W = png.shape[:2]
    mh, mw = rows * (h + pad) + pad, cols * (w + pad) + pad
    scale = (H - title_px) / mh
    assert abs(scale - W / mw) < 1e-9 and scale == int(scale)
    out = np.empty((rows, cols, 3))
    for r in range(rows):
        for c in range(cols):
            y = title_px + int((pad + r * (h + pad) + h / 2) * scale)
            x = int((pad + c * (w + pad) + w / 2) * scale)
            out[r, c] = png[y, x]
    return out


# ----------------------------------------------------------------------------------------------------------------
# the _np helper and the file handling
# ----------------------------------------------------------------------------------------------------------------
class HasNumpy:
    def __init__(self, a):
        self.a = np.asarray(a)

    def numpy(self):
        return self.a


def test_np_accepts_arrays_lists_and_objects_with_numpy():
    a = np.arange(6.0).reshape(2, 3)
    assert plots._np(a) is a
    np.testing.assert_array_equal(plots._np(a.tolist()), a)
    np.testing.assert_array_equal(plots._np(HasNumpy(a)), a)
    np.testing.assert_array_equal(plots._np([HasNumpy(a[0]), HasNumpy(a[1])]), a)


def test_tinygen_tensors_are_accepted(tmp_path):
    tg = pytest.importorskip("tinygen")
    x = tg.tensor(digits(4).astype(np.float32), requires_grad=True)
    png = read_png(plots.save_image_grid(x, tmp_path / "t.png"))
    assert png.shape[0] > 0


def test_writes_into_new_folders_returns_path_and_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "a" / "b" / "grid.png"
    got = plots.save_image_grid(digits(4), out)
    assert got == out and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["grid.png"]


def test_importing_plots_leaves_pyplot_and_the_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import sys, tinygen.plots; "
            "print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "svg"]


# ----------------------------------------------------------------------------------------------------------------
# save_image_grid
# ----------------------------------------------------------------------------------------------------------------
def test_every_image_layout_gives_the_same_picture(tmp_path):
    x = digits(6)
    pictures = [read_png(plots.save_image_grid(v, tmp_path / f"{i}.png"))
                for i, v in enumerate([x, x[:, None], x.reshape(6, 784), x[..., None]])]
    for p in pictures[1:]:
        np.testing.assert_array_equal(p, pictures[0])
    assert pictures[0].shape[:2] == ((2 * 29 + 1) * 3, (3 * 29 + 1) * 3)     # 2 x 3 tiles of 28 px, 3x upscaled


@pytest.mark.parametrize("value, value_range, expected", [
    (-1.0, (-1, 1), 0.0), (1.0, (-1, 1), 1.0), (0.0, (-1, 1), 0.5),
    (0.0, (0, 1), 0.0), (1.0, (0, 1), 1.0), (0.25, (0, 1), 0.25),
    (-3.0, (0, 1), 0.0), (7.0, (0, 1), 1.0),                                  # clipped
    (5.0, (0, 10), 0.5),
])
def test_value_range_maps_linearly_to_black_and_white(tmp_path, value, value_range, expected):
    imgs = np.full((4, 1, 28, 28), value)
    png = read_png(plots.save_image_grid(imgs, tmp_path / "g.png", value_range=value_range))
    centers = tile_centers(png, 2, 2, 28, 28)
    np.testing.assert_allclose(centers, expected, atol=1 / 255 + 1e-6)


def test_digits_are_white_on_black_and_separators_are_neither(tmp_path):
    x = np.zeros((1, 28, 28))
    x[0, 10:18, 10:18] = 1.0
    png = read_png(plots.save_image_grid(x, tmp_path / "g.png"))
    scale = png.shape[1] // 30
    assert png[scale * 2, scale * 2].max() < 0.01                            # background: black
    assert png[scale * 15, scale * 15].min() > 0.99                          # stroke: white
    sep = png[0, png.shape[1] // 2]                                          # the outer separator line
    assert 0.2 < sep.mean() < 0.8 and sep[2] > sep[0]


def test_auto_value_range_and_nonfinite_pixels(tmp_path):
    x = np.full((2, 8, 8), 5.0)
    x[1] = 9.0
    x[0, 0, 0] = np.nan
    png = read_png(plots.save_image_grid(x, tmp_path / "g.png", value_range=None))
    centers = tile_centers(png, 1, 2, 8, 8)
    np.testing.assert_allclose(centers[0, 0], 0.0, atol=0.01)
    np.testing.assert_allclose(centers[0, 1], 1.0, atol=0.01)
    scale = png.shape[1] // (2 * 9 + 1)
    np.testing.assert_allclose(png[scale + 1, scale + 1], [1.0, 0.0, 0.0], atol=0.01)   # the NaN pixel is red


def test_title_and_labels(tmp_path):
    x = np.zeros((3, 28, 28))
    plain = read_png(plots.save_image_grid(x, tmp_path / "a.png"))
    titled = read_png(plots.save_image_grid(x, tmp_path / "b.png", title="samples", labels=[7, None, "3"]))
    assert titled.shape[0] == plain.shape[0] + 30 and titled.shape[1] >= plain.shape[1]
    # a label is drawn in the tile's top-left corner (yellow text); an unlabelled tile stays black
    scale = plain.shape[1] // (2 * 29 + 1)
    corner = titled[30 + scale: 30 + 12 * scale, scale: 10 * scale]
    assert (corner[..., 0] > 0.5).any() and (corner[..., 2] < 0.5).any()
    second = titled[30 + scale: 30 + 12 * scale, 30 * scale: 39 * scale]
    assert second.max() < 0.01


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 200), nrow=st.one_of(st.none(), st.integers(1, 30)))
def test_grid_shape_arithmetic(n, nrow):
    rows, cols = plots.grid_shape(n, nrow)
    assert rows * cols >= n > (rows - 1) * cols                              # every image, no empty row
    if nrow is None:
        assert cols == int(np.ceil(np.sqrt(n))) and rows <= cols
    else:
        assert cols == min(nrow, n)


def _count_runs(line):
    """Runs of white pixels along a line of the picture."""
    white = line.min(axis=-1) > 0.99
    return int(np.sum(white[1:] & ~white[:-1]) + white[0])


def test_grid_shape_rejects_bad_counts():
    for n, nrow in [(0, None), (3, 0), (3, 2.5), (True, None)]:
        with pytest.raises(ValueError, match="^grid_shape: "):
            plots.grid_shape(n, nrow)
    assert plots.grid_shape(np.int64(5), np.int64(2)) == (3, 2)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 20), nrow=st.one_of(st.none(), st.integers(1, 8)))
def test_grid_layout_in_the_picture(tmp_path_factory, n, nrow):
    path = tmp_path_factory.mktemp("grid") / "g.png"
    png = read_png(plots.save_image_grid(np.ones((n, 6, 6)), path, nrow=nrow))
    rows, cols = plots.grid_shape(n, nrow)
    scale = png.shape[1] // (cols * 7 + 1)
    assert png.shape[:2] == ((rows * 7 + 1) * scale, (cols * 7 + 1) * scale)
    mid = lambda i: (1 + i * 7 + 3) * scale                                  # noqa: E731  centre of tile i
    assert _count_runs(png[mid(0)]) == cols
    assert _count_runs(png[:, mid(0)]) == rows
    tiles = sum(_count_runs(png[mid(r)]) for r in range(rows))
    assert tiles == n


# ----------------------------------------------------------------------------------------------------------------
# reconstructions, interpolations
# ----------------------------------------------------------------------------------------------------------------
def test_reconstructions_alternate_rows(tmp_path):
    orig, rec = np.ones((16, 784)), np.zeros((16, 1, 28, 28))                # flat and conv shapes mixed
    png = read_png(plots.save_reconstructions(orig, rec, tmp_path / "r.png", n=16))
    # 16 pairs -> 2 blocks of 8: rows original, reconstr., original, reconstr.
    x = png.shape[1] - 10                                                    # inside the last column's tile
    whites, blacks = _count_runs(png[:, x]), _count_runs(1 - png[:, x])
    assert whites == 2 and blacks == 2
    assert png[:, x].min(axis=-1).argmax() < png[:, x].max(axis=-1).argmin()   # the first run is an original


def test_reconstructions_take_the_first_n(tmp_path, captured):
    plots.save_reconstructions(digits(5), digits(5, seed=1), tmp_path / "r.png", n=3)
    mosaic = captured[-1]["images"][0]
    assert mosaic.shape[:2] == (2 * 29 + 1, 3 * 29 + 1)


def test_interpolations_one_row_per_pair(tmp_path, captured):
    rows = np.linspace(0, 1, 7)[None, :, None, None] * np.ones((4, 7, 28, 28))
    read_png(plots.save_interpolations(rows, tmp_path / "i.png"))
    mosaic = captured[-1]["images"][0]
    assert mosaic.shape[:2] == (4 * 29 + 1, 7 * 29 + 1)
    first_row = [mosaic[15, 1 + c * 29 + 14, 0] for c in range(7)]
    np.testing.assert_allclose(first_row, np.linspace(0, 1, 7))              # start -> end, left to right
    read_png(plots.save_interpolations(rows.reshape(4, 7, 784), tmp_path / "flat.png", title="z walk"))


# ----------------------------------------------------------------------------------------------------------------
# latent scatter
# ----------------------------------------------------------------------------------------------------------------
def test_latent_scatter_2d(tmp_path, captured):
    rng = np.random.default_rng(0)
    png = read_png(plots.save_latent_scatter(rng.normal(size=(500, 2)), rng.integers(0, 10, 500),
                                             tmp_path / "z.png", title="latent"))
    assert 400 <= png.shape[1] <= 800 and 400 <= png.shape[0] <= 700
    assert captured[-1]["titles"][0] == "latent"


def test_latent_scatter_projects_with_pca_and_says_so(tmp_path, captured):
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(300, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(20, 2)))[0]                        # a 2-D plane inside 20-D
    z = plane @ basis.T + 5.0
    read_png(plots.save_latent_scatter(z, rng.integers(0, 10, 300), tmp_path / "z.png", title="VAE"))
    title = captured[-1]["titles"][0]
    assert title.startswith("VAE\nPCA of 20-d z") and "(100% of variance)" in title
    proj, frac = plots._pca2(z)
    np.testing.assert_allclose(frac.sum(), 1.0, atol=1e-9)
    # the projection keeps every distance of points that lie in a plane
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)              # noqa: E731
    np.testing.assert_allclose(d(proj[:50]), d(plane[:50]), atol=1e-8)


def test_latent_scatter_drops_nonfinite_codes_and_takes_real_labels(tmp_path, captured):
    z = np.random.default_rng(1).normal(size=(100, 2))
    z[:3, 0] = np.nan
    read_png(plots.save_latent_scatter(z, np.linspace(0, 1, 100), tmp_path / "z.png"))
    assert "3 codes with NaN/inf not shown" in captured[-1]["titles"][0]
    read_png(plots.save_latent_scatter(z, None, tmp_path / "none.png"))


# ----------------------------------------------------------------------------------------------------------------
# 2-D toys
# ----------------------------------------------------------------------------------------------------------------
def ring(n, seed=0, std=0.05):
    rng = np.random.default_rng(seed)
    angles = np.arange(8) * np.pi / 4
    modes = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return modes, modes[rng.integers(0, 8, n)] + rng.normal(0, std, (n, 2))


def test_toy_samples_with_and_without_density(tmp_path, captured):
    modes, real = ring(1000)
    _, fake = ring(1000, seed=1, std=0.05)
    fake[:4] = 1e6                                                           # a few diverged samples
    both = read_png(plots.save_toy_samples(real, fake, tmp_path / "t.png", modes=modes, title="GAN"))
    one = read_png(plots.save_toy_samples(real, fake, tmp_path / "t1.png", density=False))
    assert both.shape[1] > 1.6 * one.shape[1]
    assert captured[0]["titles"][:2] == ["real (light) vs generated (dark)", "generated (density, sqrt colour scale)"]
    ax = captured[0]["visible_axes"][0]
    assert ax.xlim[1] < 3                                                    # the view ignores the 1e6 outliers
    assert "4 of 1000 generated points outside the view" in ax.texts


def test_toy_grid_panels_share_one_view(tmp_path, captured):
    modes, real = ring(500)
    sets = {"GAN": ring(300, 1, 0.1)[1], "WGAN": ring(300, 2, 0.4)[1], "WGAN-GP": ring(300, 3, 0.1)[1]}
    png = read_png(plots.save_toy_grid(sets, real, tmp_path / "g.png", modes=modes))
    assert png.shape[1] > 2.5 * png.shape[0]
    axes = captured[-1]["visible_axes"]
    assert [ax.title for ax in axes] == ["GAN", "WGAN", "WGAN-GP"]
    assert len({ax.xlim for ax in axes}) == 1


# ----------------------------------------------------------------------------------------------------------------
# curves
# ----------------------------------------------------------------------------------------------------------------
def metric_records(n=200):
    rng = np.random.default_rng(0)
    return [{"step": 10 * i, "epoch": i // 50, "loss_d": 1.0 + rng.normal(0, .1), "loss_g": 2.0 - i / n,
             "kl": float(i), "lr": 1e-4, "note": "text"} for i in range(n)]


def test_curves_from_a_jsonl_file_with_a_cut_off_last_line(tmp_path, captured):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps(r) for r in metric_records()] + ["", '{"step": 2000, "loss_d": 0.']
    path.write_text("\n".join(lines))
    png = read_png(plots.save_curves(path, tmp_path / "c.png", title="run"))
    assert png.shape[0] > 200 and png.shape[1] > 400
    # loss_d + loss_g share the "loss" panel, kl its own; step/epoch are x-like; constant lr and text skipped
    assert captured[-1]["titles"] == ["loss", "kl"]
    assert [len(ax.lines) for ax in captured[-1]["visible_axes"]] == [2, 1]


def test_curves_from_records_with_chosen_keys_and_smoothing(tmp_path, captured):
    recs = metric_records()[::-1]                                            # unsorted: sorted by step
    plots.save_curves(recs, tmp_path / "c.png", keys=["kl", ("loss_d", "loss_g"), "lr"], smooth=10)
    axes = captured[-1]["visible_axes"]
    assert [ax.title for ax in axes] == ["kl", "loss", "lr"]
    (raw_x, raw_y), (_, smoothed) = axes[0].lines[:2]
    np.testing.assert_array_equal(raw_x, np.arange(0, 2000, 10))
    np.testing.assert_array_equal(raw_y, np.arange(200))
    np.testing.assert_allclose(smoothed[20], np.mean(np.arange(11, 21)))     # trailing window of 10
    np.testing.assert_allclose(smoothed[0], 0.0)
    assert "moving average over 10 points" in captured[-1]["suptitle"]


def test_curves_count_nan_values_and_draw_them_as_gaps(tmp_path, captured):
    recs = [{"step": i, "loss": float("nan") if i in (5, 9) else 1.0 / (i + 1)} for i in range(20)]
    recs[3] = {"step": 3}                                                    # not logged at this step: no gap
    plots.save_curves(recs, tmp_path / "c.png")
    panel = captured[-1]["visible_axes"][0]
    assert panel.texts == ["loss: 2 NaN/inf values (gaps)"]
    x, y = panel.lines[0]
    assert len(x) == 19 and np.isnan(y).sum() == 2


def test_moving_average():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(plots._moving_average(y, 2), [1.0, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(plots._moving_average(y, 1), y)


# ----------------------------------------------------------------------------------------------------------------
# comparison grid
# ----------------------------------------------------------------------------------------------------------------
def test_comparison_grid_with_a_range_per_set(tmp_path, captured):
    sets = {"VAE": np.full((9, 784), 1.0), "GAN": np.full((9, 1, 28, 28), -1.0), "WGAN-GP": digits(16)}
    png = read_png(plots.save_comparison_grid(sets, tmp_path / "c.png", value_range_per_set={"GAN": (-1, 1)},
                                              title="equal budget"))
    assert png.shape[1] > 2 * png.shape[0]
    vae, gan, wgan = captured[-1]["images"]
    assert captured[-1]["titles"] == ["VAE", "GAN", "WGAN-GP"]
    assert vae[15, 15].min() == 1.0 and gan[15, 15].max() == 0.0             # white, and -1 -> black
    assert wgan.shape[:2] == (4 * 29 + 1, 4 * 29 + 1)
    plots.save_comparison_grid(list(sets.items()), tmp_path / "c2.png", value_range_per_set=(-1, 1))
    assert captured[-1]["images"][0][15, 15].min() == 1.0 and captured[-1]["images"][1][15, 15].max() == 0.0


# ----------------------------------------------------------------------------------------------------------------
# bad input: ValueError, one sentence naming the function
# ----------------------------------------------------------------------------------------------------------------
def _jsonl_with_bad_middle_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"step": 1, "loss": 1}\nnot json\n{"step": 2, "loss": 0.5}\n')
    return p


P2 = np.zeros((10, 2))
BAD = [
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((0, 28, 28)), t), "empty"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros(784), t), r"\(784,\)"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 780)), t), "780 is not a square"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 5, 28, 28)), t), "channels"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 8, 8)), t, labels=[1, 2]), "2 labels for 4"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 8, 8)), t, nrow=0), "nrow"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 8, 8)), t, nrow="2"), "nrow"),
    ("save_reconstructions", lambda t: plots.save_reconstructions(np.zeros((4, 64)), np.zeros((4, 64)), t, n=0),
     "n must be"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.zeros((4, 8, 8)), t, value_range=(1, 1)), "low < high"),
    ("save_image_grid", lambda t: plots.save_image_grid(np.array([["a"]]), t), "numeric"),
    ("save_reconstructions", lambda t: plots.save_reconstructions(np.zeros((4, 784)), np.zeros((3, 784)), t),
     "4 originals but 3 reconstructions"),
    ("save_reconstructions", lambda t: plots.save_reconstructions(np.zeros((4, 784)), np.zeros((4, 64)), t),
     "28x28.*8x8"),
    ("save_interpolations", lambda t: plots.save_interpolations(np.zeros((3, 784)), t), r"\(R, S"),
    ("save_latent_scatter", lambda t: plots.save_latent_scatter(np.zeros((10, 1)), None, t), "at least 2"),
    ("save_latent_scatter", lambda t: plots.save_latent_scatter(np.zeros((10, 3)), np.zeros(9), t), r"\(10\)"),
    ("save_latent_scatter", lambda t: plots.save_latent_scatter(np.full((5, 2), np.nan), None, t), "NaN"),
    ("save_toy_samples", lambda t: plots.save_toy_samples(np.zeros((10, 3)), P2, t), r"real must have shape"),
    ("save_toy_samples", lambda t: plots.save_toy_samples(P2, np.zeros((0, 2)), t), "fake is empty"),
    ("save_toy_samples", lambda t: plots.save_toy_samples(P2, P2, t, modes=np.zeros(2)), "modes"),
    ("save_toy_grid", lambda t: plots.save_toy_grid({}, P2, t), "no sets"),
    ("save_toy_grid", lambda t: plots.save_toy_grid({"GAN": np.zeros(5)}, P2, t), "'GAN'"),
    ("save_curves", lambda t: plots.save_curves([], t), "no records"),
    ("save_curves", lambda t: plots.save_curves([{"step": 1, "loss": 1}], t, keys=["kl"]), "'kl'"),
    ("save_curves", lambda t: plots.save_curves([{"step": 1, "loss": 1}], t, smooth=-1), "smooth"),
    ("save_curves", lambda t: plots.save_curves(t.parent / "missing.jsonl", t), "no metrics file"),
    ("save_curves", lambda t: plots.save_curves(_jsonl_with_bad_middle_line(t.parent), t), "line 2"),
    ("save_comparison_grid", lambda t: plots.save_comparison_grid({"VAE": np.zeros((4, 784))}, t,
                                                                  value_range_per_set={"GAN": (-1, 1)}), "GAN"),
    ("save_comparison_grid", lambda t: plots.save_comparison_grid({"VAE": np.zeros((4, 7))}, t), "'VAE'"),
]


@pytest.mark.parametrize("fn, call, match", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_one_clear_value_error(tmp_path, fn, call, match):
    out = tmp_path / "out.png"
    with pytest.raises(ValueError, match=match) as info:
        call(out)
    msg = str(info.value)
    assert msg.startswith(fn + ": ") and "\n" not in msg
    assert not out.exists()


def test_toy_grid_writes_a_note_under_a_panel(tmp_path, captured):
    modes, real = ring(500)
    sets = {"GAN": ring(300, 1, 0.1)[1], "WGAN": ring(300, 2, 0.4)[1]}
    plots.save_toy_grid(sets, real, tmp_path / "g.png", modes=modes, notes={"WGAN": "Falls short: 4/8 modes."})
    texts = [t for ax in captured[-1]["visible_axes"] for t in ax.texts]
    assert "Falls short: 4/8 modes." in texts
    assert [ax.title for ax in captured[-1]["visible_axes"]][:2] == ["GAN", "WGAN"]


def test_curves_with_titles_and_legend_names(tmp_path, captured):
    plots.save_curves(metric_records(), tmp_path / "c.png", keys=["kl", ("loss_d", "loss_g")],
                      titles=["KL term (nats per image)", "losses (nats)"], names={"loss_d": "discriminator"})
    axes = captured[-1]["visible_axes"]
    assert [ax.title for ax in axes] == ["KL term (nats per image)", "losses (nats)"]
    with pytest.raises(ValueError, match="one title per panel"):
        plots.save_curves(metric_records(), tmp_path / "c.png", keys=["kl"], titles=["a", "b"])
