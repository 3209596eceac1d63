"""Interactive explorers. Each is a thin ipywidgets wrapper around a plotting function of
:mod:`course_lib.plots`, which has a static small-multiples twin for readers of the built book."""

from __future__ import annotations

from typing import Any

from .plots import plot_noise_panel


def noise_slider(n: int = 2000, seed: int = 0) -> Any:
    """A slider for the unexplained noise: R² and both slopes of the best predictor move together.

    Returns the ipywidgets ``interactive`` object (display it in a notebook). Its static twin is
    :func:`course_lib.plots.plot_noise_sweep`.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(noise_std: float) -> None:
        plot_noise_panel(noise_std, n=n, seed=seed)
        plt.show()

    slider = widgets.FloatSlider(value=0.5, min=0.0, max=3.0, step=0.05, description="noise std")
    return widgets.interactive(show, noise_std=slider)
