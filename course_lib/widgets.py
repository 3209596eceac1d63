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


def error_map_explorer(positions: Any, errors: dict[str, Any], held_out: Any = None, vmax: float | None = None
                       ) -> Any:
    """A menu of models: the chosen one's error at every position of the square (chapter 7).

    ``errors`` maps a model's name to its errors (N,) at ``positions`` (N, 2); ``held_out``
    outlines the positions no training image had. One colour scale (``vmax``, default the largest
    error) for every choice, so maps compare at a glance. Its static twin is a row of
    :func:`course_lib.plots.plot_error_map` panels.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import plot_error_map

    if not isinstance(errors, dict) or not errors:
        raise ValueError("errors must be a non-empty dict {model name: errors at each position}")
    top = vmax if vmax is not None else max(float(max(e)) for e in errors.values())

    def show(model: str) -> None:
        plot_error_map(positions, errors[model], held_out=held_out, vmax=top, title=f"{model}: error by position")
        plt.show()

    menu = widgets.Dropdown(options=list(errors), value=next(iter(errors)), description="model")
    return widgets.interactive(show, model=menu)
