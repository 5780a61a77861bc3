"""Pictures of a run: sample grids, reconstructions, interpolations, latent scatters, 2-D toy densities, curves.

Every function takes host arrays (NumPy arrays, nested lists, or anything with a ``.numpy()`` method such as a
tinygen ``Tensor``, on any device), writes ONE PNG to ``path`` (creating the parent folders; written to a
temporary file and renamed, so a viewer never sees half a picture) and returns ``path`` as a ``pathlib.Path``.

Only matplotlib's object API is used (``Figure`` + the Agg canvas): importing this module never touches pyplot,
never changes the interactive backend and never registers a figure with pyplot's global state, so it is safe in
a notebook, in a headless training job and from several threads.

    from tinygen import plots
    plots.save_image_grid(samples, "runs/gan/samples_001000.png", value_range=(-1, 1))
    plots.save_curves("runs/gan/metrics.jsonl", "runs/gan/curves.png", smooth=20)

Bad input (wrong number of dimensions, an empty array, lengths that do not match) raises ``ValueError`` with
one sentence that names the function and the problem.
"""
from ._base import DPI, _np, _save, grid_shape  # noqa: F401
from .curves import _moving_average, save_curves  # noqa: F401
from .images import save_comparison_grid, save_image_grid, save_interpolations, save_reconstructions
from .points import _pca2, save_latent_scatter, save_toy_grid, save_toy_samples  # noqa: F401

__all__ = ["grid_shape", "save_image_grid", "save_reconstructions", "save_interpolations", "save_latent_scatter",
           "save_toy_samples", "save_curves", "save_comparison_grid", "save_toy_grid"]
