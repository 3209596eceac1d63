"""Interactive explorers. Each is a thin ipywidgets wrapper around a plotting function of
:mod:`course_lib.plots`, which has a static small-multiples twin for readers of the built book."""

from __future__ import annotations

from typing import Any

import torch

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


def prediction_explorer(target: Any, seed: int = 0) -> Any:
    """Sliders that make up predictions from the targets (shrink or stretch, shift, add noise) and
    show what MSE, R² and the two slopes say about them (chapter 1).

    Its static twin is a row of :func:`course_lib.plots.plot_made_up_predictions` panels.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import plot_made_up_predictions

    plt.close(plot_made_up_predictions(target, seed=seed).figure)  # refuses bad input now, not on a move

    def show(slope: float, offset: float, noise: float) -> None:
        plot_made_up_predictions(target, slope, offset, noise, seed=seed)
        plt.show()

    return widgets.interactive(
        show,
        slope=widgets.FloatSlider(value=1.0, min=0.0, max=1.5, step=0.05, description="slope"),
        offset=widgets.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.05, description="offset (std)"),
        noise=widgets.FloatSlider(value=0.0, min=0.0, max=1.5, step=0.05, description="noise (std)"),
    )


def run_explorer(predictions: dict[str, Any], target: Any) -> Any:
    """Every training run computed ahead (``{setup: [predictions of each run]}``): pick a setup and a
    run and see its final predictions against the targets, with their spread ratio (chapter 2).

    Answers at once: nothing is trained. Its static twin is
    :func:`course_lib.plots.plot_spread_strips` over the same runs.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .diagnose import spread_ratio
    from .plots import plot_pred_vs_target

    if not isinstance(predictions, dict) or not predictions or not all(
            isinstance(v, (list, tuple)) and len(v) for v in predictions.values()):
        raise ValueError("predictions must be a non-empty dict {setup: non-empty list of predictions, one per run}")
    from ._checks import check_pair

    check_pair(next(iter(predictions.values()))[0], target, "predictions", "target")
    runs = min(len(v) for v in predictions.values())

    def show(setup: str, run: int) -> None:
        pred = predictions[setup][run]
        ratio = spread_ratio(pred, target)
        plot_pred_vs_target(pred, target, title=f"{setup}, run {run}: final spread ratio {ratio:.2f}")
        plt.show()

    return widgets.interactive(
        show,
        setup=widgets.Dropdown(options=list(predictions), value=next(iter(predictions)), description="setup"),
        run=widgets.IntSlider(value=0, min=0, max=runs - 1, description="run"),
    )


def augmentation_viewer(x: Any, augmentations: dict[str, Any], n: int = 6) -> Any:
    """Pick an augmentation and draw it again and again on the same images (chapter 4).

    Its static twin is :func:`course_lib.plots.show_augmentations` with every augmentation.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import show_augmentations

    if not isinstance(augmentations, dict) or not augmentations:
        raise ValueError("augmentations must be a non-empty dict {name: augment function}")
    plt.close(show_augmentations(x, augmentations, n=n))  # refuses bad input now

    def show(augmentation: str, draw: int) -> None:
        show_augmentations(x, {augmentation: augmentations[augmentation]}, n=n, seed=draw,
                           title=f"{augmentation}, draw {draw}")
        plt.show()

    return widgets.interactive(
        show,
        augmentation=widgets.Dropdown(options=list(augmentations), description="augment"),
        draw=widgets.IntSlider(value=0, min=0, max=20, description="draw"),
    )


def temperature_slider(logits: Any, labels: Any, fitted: float | None = None) -> Any:
    """A slider for the temperature T: the reliability diagram of ``softmax(logits / T)`` with its
    ECE, log-loss and accuracy (chapter 5). ``fitted`` (if given, between 0.25 and 7.9, the
    slider's range) is where the slider starts.

    Its static twin is the pair of diagrams at T = 1 and at the fitted T.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .metrics import classification_report
    from .plots import plot_reliability

    z = torch.as_tensor(logits, dtype=torch.float32)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, K) with K >= 2; got {tuple(z.shape)}")
    classification_report(z.softmax(1), labels)  # refuses bad labels now

    def show(T: float) -> None:  # noqa: N803 (the temperature is T in the text)
        rep = classification_report((z / T).softmax(1), labels)
        plot_reliability((z / T).softmax(1), labels,
                         title=f"T = {T:.2f}: log-loss {rep['log_loss']:.3f}, accuracy {rep['accuracy']:.3f}")
        plt.show()

    from ._checks import check_number

    start = check_number(fitted, "fitted", 10 ** -0.6, 10 ** 0.9) if fitted is not None else 1.0
    return widgets.interactive(
        show, T=widgets.FloatLogSlider(value=start, base=10, min=-0.6, max=0.9, step=0.02, description="T"))


def bins_explorer(logits: dict[int, Any], centres: dict[int, Any], target: Any) -> Any:
    """For each number of bins K trained ahead (``{K: logits (N, K)}``, ``{K: bin centres}``): pick K
    and a test image and see the predicted distribution, its expected value and its arg-max against
    the true value (chapter 6). Its static twin is one image's distributions for every K.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import plot_bin_probabilities

    if not isinstance(logits, dict) or not isinstance(centres, dict) or not logits or set(logits) != set(centres):
        raise ValueError("logits and centres must be non-empty dicts with the same keys (numbers of bins)")
    y = torch.as_tensor(target, dtype=torch.float32).reshape(-1)
    for k, z in logits.items():
        if tuple(torch.as_tensor(z).shape) != (len(y), len(torch.as_tensor(centres[k]))):
            raise ValueError(f"logits[{k}] must have shape (len(target), K) = ({len(y)}, {len(centres[k])})")

    def show(bins: int, image: int) -> None:
        plot_bin_probabilities(logits[bins][image], centres[bins], float(y[image]),
                               title=f"{bins} bins, test image {image}")
        plt.show()

    return widgets.interactive(
        show,
        bins=widgets.Dropdown(options=sorted(logits), description="bins"),
        image=widgets.IntSlider(value=0, min=0, max=min(len(y), 200) - 1, description="image"),
    )
