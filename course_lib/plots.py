"""Plots every chapter uses. Each returns the matplotlib Axes (or Figure) it drew on, with
axis labels and a title."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from ._checks import as_array_1d, as_edges, check_images, check_pair, check_positive_int
from .data import simulate_best_predictor
from .metrics import binned_means, linear_fit, slope_report
from .train import History


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] = (4.5, 4.0)) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _column(pred: Any, target: Any, column: int) -> tuple[np.ndarray, np.ndarray]:
    p, y = check_pair(pred, target)
    if not 0 <= column < p.shape[1]:
        raise ValueError(f"column must be in [0, {p.shape[1] - 1}], got {column}")
    return p[:, column].numpy(), y[:, column].numpy()


def plot_pred_vs_target(pred: Any, target: Any, ax: plt.Axes | None = None, column: int = 0,
                        title: str = "Predicted against target", label: str = "target") -> plt.Axes:
    """Scatter of prediction against target with the y = x line and the fitted line."""
    p, y = _column(pred, target, column)
    ax = _axes(ax)
    ax.scatter(y, p, s=6, alpha=0.4, label="samples")
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
    if np.std(y) > 0:
        fit = linear_fit(y, p)
        xs = np.array([y.min(), y.max()])
        ax.plot(xs, fit["slope"] * xs + fit["intercept"], "r-", lw=1.5,
                label=f"fit: slope {fit['slope']:.2f}")
    ax.set_xlabel(f"true {label}")
    ax.set_ylabel(f"predicted {label}")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_residuals(pred: Any, target: Any, ax: plt.Axes | None = None, column: int = 0,
                   title: str = "Residuals", label: str = "target") -> plt.Axes:
    """Residual (prediction - target) against target, with the zero line."""
    p, y = _column(pred, target, column)
    ax = _axes(ax)
    ax.scatter(y, p - y, s=6, alpha=0.4)
    ax.axhline(0.0, color="k", ls="--", lw=1)
    ax.set_xlabel(f"true {label}")
    ax.set_ylabel("prediction - target")
    ax.set_title(title)
    return ax


def plot_learning_curves(history: History, ax: plt.Axes | None = None, title: str = "Learning curves",
                         baseline: float | None = None, log: bool = True) -> plt.Axes:
    """Training and validation loss per epoch; ``baseline`` draws the mean predictor's loss."""
    if not isinstance(history, History):
        raise TypeError(f"history must be a course_lib History, got {type(history).__name__}")
    if history.epochs == 0:
        raise ValueError("history is empty: train for at least one epoch")
    ax = _axes(ax)
    epochs = np.arange(1, history.epochs + 1)
    ax.plot(epochs, history.train_loss, "o-", ms=3, label="train")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, "s-", ms=3, label="validation")
    if baseline is not None:
        ax.axhline(baseline, color="gray", ls=":", label="mean predictor (Var y)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def show_images(x: torch.Tensor, y: Any = None, n: int = 8, ncols: int = 8, title: str = "Images",
                fmt: str = "{:.0f}") -> plt.Figure:
    """A grid of the first ``n`` images of ``x`` (raw pixels in [0, 255]) titled with their targets."""
    check_images(x, "x")
    n = min(check_positive_int(n, "n"), x.shape[0])
    ncols = min(check_positive_int(ncols, "ncols"), n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.8 * nrows + 0.4), squeeze=False)
    lo, hi = float(x[:n].min()), float(x[:n].max())
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = ((x[i] - lo) / max(hi - lo, 1e-8)).permute(1, 2, 0).cpu().numpy()
        ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray")
        if y is not None:
            target = np.atleast_1d(np.asarray(y[i].tolist() if hasattr(y[i], "tolist") else y[i]))
            ax.set_title(", ".join(fmt.format(float(v)) for v in target), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_binned_means(pred: Any, target: Any, bins: int = 10, ax: plt.Axes | None = None,
                      title: str = "Binned means (reliability)", label: str = "target") -> plt.Axes:
    """Mean target against mean prediction in equal-count prediction bins, with y = x.

    This is the right calibration check for a regressor: the prediction is on the x-axis.
    """
    mp, my, _ = binned_means(pred, target, bins)
    ax = _axes(ax)
    lo, hi = float(min(mp.min(), my.min())), float(max(mp.max(), my.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x (calibrated)")
    ax.plot(mp.numpy(), my.numpy(), "o-", label="bin means")
    ax.set_xlabel(f"mean predicted {label}")
    ax.set_ylabel(f"mean true {label}")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_noise_panel(noise_std: float, n: int = 2000, seed: int = 0, ax: plt.Axes | None = None) -> plt.Axes:
    """The best predictor's predicted-vs-target scatter for one level of unexplained noise.

    The title gives R² and both slopes: prediction on target equals R², target on prediction is 1.
    """
    best, target = simulate_best_predictor(n, noise_std, seed=seed)
    rep = slope_report(best, target)
    ax = _axes(ax, figsize=(3.5, 3.5))
    ax.scatter(target.numpy(), best.numpy(), s=4, alpha=0.3)
    lim = float(target.abs().max())
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
    xs = np.array([-lim, lim])
    ax.plot(xs, rep["pred_on_target_slope"] * xs + rep["pred_on_target_intercept"], "r-", lw=1.5)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("target y")
    ax.set_ylabel("best prediction E[y|x]")
    ax.set_title(f"noise {noise_std:g}: R² {rep['r2']:.2f}\nslope pred~y {rep['pred_on_target_slope']:.2f}, "
                 f"y~pred {rep['target_on_pred_slope']:.2f}", fontsize=9)
    return ax


def plot_noise_sweep(noise_stds: Sequence[float] = (0.25, 0.5, 1.0, 2.0), n: int = 2000, seed: int = 0
                     ) -> plt.Figure:
    """Small multiples of :func:`plot_noise_panel`: the static twin of the noise slider."""
    if len(noise_stds) == 0:
        raise ValueError("noise_stds must hold at least one value")
    fig, axes = plt.subplots(1, len(noise_stds), figsize=(3.3 * len(noise_stds), 3.6), squeeze=False)
    for value, ax in zip(noise_stds, axes[0]):
        plot_noise_panel(value, n=n, seed=seed, ax=ax)
    fig.suptitle("More unexplained noise: lower R², flatter prediction-on-target slope")
    fig.tight_layout()
    return fig


def plot_method_comparison(results: dict[str, Sequence[float]], ax: plt.Axes | None = None,
                           title: str = "Test error of each method", ylabel: str = "test MSE",
                           reference: str | None = None) -> plt.Axes:
    """Bar chart of a score per method: the mean over seeds, with min-max error bars when a
    method has several values. ``reference`` names a method whose value is drawn as a dashed line."""
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict {method name: [score, ...]}")
    values = {}
    for name, scores in results.items():
        arr = np.atleast_1d(np.asarray(scores, dtype=float))
        if arr.size == 0 or not np.isfinite(arr).all():
            raise ValueError(f"results[{name!r}] must hold one or more finite numbers")
        values[name] = arr
    if reference is not None and reference not in values:
        raise ValueError(f"reference must be one of {list(values)}, got {reference!r}")
    ax = _axes(ax, figsize=(1.1 * len(values) + 2.5, 4.0))
    names = list(values)
    means = np.array([values[k].mean() for k in names])
    low = means - np.array([values[k].min() for k in names])
    high = np.array([values[k].max() for k in names]) - means
    ax.bar(range(len(names)), means, yerr=np.vstack([low, high]), capsize=4, color="tab:blue", alpha=0.8)
    if reference is not None:
        ax.axhline(values[reference].mean(), color="k", ls="--", lw=1, label=reference)
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("method")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def _plot_lines(ax: plt.Axes, xs: np.ndarray, lines: dict[str, Sequence[float]], name: str, per: str) -> None:
    """Draw one line per entry of ``lines`` against ``xs``, checking each has one value per x."""
    if not isinstance(lines, dict) or not lines:
        raise ValueError(f"{name} must be a non-empty dict {{label: [value per {per}]}}")
    for label, values in lines.items():
        arr = np.asarray(values, dtype=float)
        if arr.shape != xs.shape:
            raise ValueError(f"{name}[{label!r}] must have one value per {per} ({xs.size}), got {arr.shape}")
        ax.plot(xs, arr, "o-", label=label)


def plot_size_curves(sizes: Sequence[int], curves: dict[str, Sequence[float]], ax: plt.Axes | None = None,
                     title: str = "Test error against training-set size", ylabel: str = "test MSE") -> plt.Axes:
    """Learning curves against data: a score for each training-set size, one line per setting,
    on log-log axes."""
    sizes_arr = np.asarray(sizes, dtype=float)
    if sizes_arr.ndim != 1 or sizes_arr.size < 2 or (sizes_arr <= 0).any():
        raise ValueError("sizes must hold two or more positive training-set sizes")
    ax = _axes(ax)
    _plot_lines(ax, sizes_arr, curves, "curves", "size")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_reliability(probs: Any, labels: Any, bins: int = 10, ax: plt.Axes | None = None,
                     title: str = "Reliability diagram") -> plt.Axes:
    """Accuracy against confidence per confidence bin, with the diagonal of a calibrated
    classifier; bars below the diagonal mean over-confidence. The title gives the ECE."""
    from .metrics import expected_calibration_error, reliability_bins

    conf, acc, counts = reliability_bins(probs, labels, bins)
    ax = _axes(ax)
    edges = np.linspace(0, 1, bins + 1)
    used = counts.numpy() > 0
    ax.bar(edges[:-1][used], acc.numpy()[used], width=1 / bins, align="edge", alpha=0.7, edgecolor="k",
           label="accuracy in bin")
    ax.plot(conf.numpy()[used], conf.numpy()[used], "r.", label="mean confidence in bin")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}\nECE {expected_calibration_error(probs, labels, bins):.3f}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_coverage(levels: Sequence[float], coverages: dict[str, Sequence[float]], ax: plt.Axes | None = None,
                  title: str = "Interval coverage") -> plt.Axes:
    """Observed coverage of prediction intervals against their nominal level, one line per
    method, with the diagonal that calibrated intervals follow."""
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or lv.size == 0 or ((lv <= 0) | (lv >= 1)).any():
        raise ValueError("levels must hold one or more nominal levels in (0, 1)")
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    _plot_lines(ax, lv, coverages, "coverages", "level")
    ax.set_xlabel("nominal level")
    ax.set_ylabel("observed coverage on test data")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_error_by_range(edges: Sequence[float], errors: dict[str, Sequence[float]], ax: plt.Axes | None = None,
                        title: str = "Error by target range", ylabel: str = "mean absolute error") -> plt.Axes:
    """One line per model of an error per target range (from :func:`course_lib.metrics.error_by_range`),
    with the ranges split at ``edges`` labelled on the x-axis."""
    e = as_edges(edges).numpy()
    ax = _axes(ax, figsize=(6.0, 4.0))
    xs = np.arange(e.size + 1, dtype=float)
    _plot_lines(ax, xs, errors, "errors", "range")
    names = [f"< {e[0]:g}"] + [f"{a:g}–{b:g}" for a, b in zip(e[:-1], e[1:])] + [f"≥ {e[-1]:g}"]
    ax.set_xticks(xs, names, fontsize=8)
    ax.set_xlabel("target range")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_error_by_angle(degrees: Sequence[float], errors: dict[str, Sequence[float]], ax: plt.Axes | None = None,
                        title: str = "Test error against the test image's turn") -> plt.Axes:
    """One line per model of an error at each angle the test images were turned by (from
    :func:`course_lib.diagnose.error_by_rotation`), on a log scale, with a tick every 15 degrees."""
    xs = as_array_1d(degrees, "degrees")
    ax = _axes(ax, figsize=(6.0, 4.0))
    _plot_lines(ax, xs, errors, "errors", "angle")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(0, xs.max() + 1, 15))
    ax.set_xlabel("test images turned by (degrees)")
    ax.set_ylabel("test MSE / Var(y)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_angle_errors(target_deg: Any, errors: dict[str, Any], bins: int = 18, ax: plt.Axes | None = None,
                      title: str = "Angular error against the true angle") -> plt.Axes:
    """Mean angular error (degrees) in ``bins`` equal sectors of the true angle, one line per
    model: a model that regresses degrees as plain numbers shows peaks at 0° and 360°."""
    t = np.asarray(torch.as_tensor(target_deg, dtype=torch.float64).reshape(-1))
    if t.size < 2 or not np.isfinite(t).all() or (t < 0).any() or (t >= 360).any():
        raise ValueError("target_deg must hold two or more finite angles in [0, 360)")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if not isinstance(errors, dict) or not errors:
        raise ValueError("errors must be a non-empty dict {model name: angular errors}")
    sector = np.minimum((t / 360 * bins).astype(int), bins - 1)
    centres = (np.arange(bins) + 0.5) * 360 / bins
    lines = {}
    for name, err in errors.items():
        e = np.asarray(torch.as_tensor(err, dtype=torch.float64).reshape(-1))
        if e.shape != t.shape:
            raise ValueError(f"errors[{name!r}] must have one error per target ({t.size}), got {e.size}")
        lines[name] = [float(e[sector == k].mean()) if (sector == k).any() else float("nan") for k in range(bins)]
    ax = _axes(ax, figsize=(6.0, 4.0))
    _plot_lines(ax, centres, lines, "errors", "sector")
    ax.set_xticks(range(0, 361, 60))
    ax.set_xlabel("true angle (degrees)")
    ax.set_ylabel("mean angular error (degrees)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_error_map(positions: Any, errors: Any, held_out: Any = None, ax: plt.Axes | None = None,
                   vmax: float | None = None, title: str = "Error by position") -> plt.Axes:
    """The error at each position of the square, as an image: one cell per centre in ``positions``
    (N, 2), pixels (column, row), coloured by ``errors`` (N,). ``held_out``, a mask (N,), outlines
    the positions that no training image had. Use the same ``vmax`` to compare models."""
    pos = torch.as_tensor(positions, dtype=torch.float64)
    if pos.ndim != 2 or pos.shape[1] != 2 or pos.shape[0] < 1 or not bool(torch.isfinite(pos).all()):
        raise ValueError("positions must be a finite tensor of centres (N, 2)")
    err = torch.as_tensor(errors, dtype=torch.float64).reshape(-1)
    if err.shape[0] != pos.shape[0]:
        raise ValueError(f"errors must hold one error per position ({pos.shape[0]}), got {err.shape[0]}")
    cols, col_idx = torch.unique(pos[:, 0], return_inverse=True)
    rows, row_idx = torch.unique(pos[:, 1], return_inverse=True)
    grid = np.full((len(rows), len(cols)), np.nan)
    grid[row_idx.numpy(), col_idx.numpy()] = err.numpy()
    ax = _axes(ax, figsize=(4.5, 4.0))
    extent = (float(cols[0]) - 0.5, float(cols[-1]) + 0.5, float(rows[-1]) + 0.5, float(rows[0]) - 0.5)
    image = ax.imshow(grid, cmap="magma", vmin=0.0, vmax=vmax, extent=extent)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="error (pixels)")
    if held_out is not None:
        mask = torch.as_tensor(held_out, dtype=torch.bool).reshape(-1)
        if mask.shape[0] != pos.shape[0]:
            raise ValueError(f"held_out must hold one flag per position ({pos.shape[0]}), got {mask.shape[0]}")
        if bool(mask.any()):
            lo, hi = pos[mask].min(0).values - 0.5, pos[mask].max(0).values + 0.5
            ax.add_patch(plt.Rectangle((float(lo[0]), float(lo[1])), float(hi[0] - lo[0]), float(hi[1] - lo[1]),
                                       fill=False, edgecolor="C0", linewidth=2, label="held out"))
            ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel("square centre, column (pixels)")
    ax.set_ylabel("square centre, row (pixels)")
    ax.set_title(title)
    return ax


def plot_heatmaps(images: torch.Tensor, heat: torch.Tensor, targets: Any = None, predictions: Any = None,
                  title: str = "Heat maps") -> plt.Figure:
    """Images (N, 1, H, W) above their heat maps (N, 1, H, W), the maps shown as the softmax
    probabilities that :class:`course_lib.heads.SoftArgmax2d` averages, with the true centre
    (``targets``, pixels, x) and the read-out position (``predictions``, pixels, +) marked."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor (N, C, H, W), got {getattr(images, 'shape', type(images).__name__)}")
    if not isinstance(heat, torch.Tensor) or heat.ndim != 4 or heat.shape[0] != images.shape[0] or heat.shape[1] != 1:
        raise ValueError(f"heat must be a tensor ({images.shape[0]}, 1, H, W), got {getattr(heat, 'shape', None)}")
    n = images.shape[0]
    probs = heat.detach().float().flatten(1).softmax(1).reshape(heat.shape)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4.0), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i].detach().float().mean(0).cpu(), cmap="gray")
        axes[1, i].imshow(probs[i, 0].cpu(), cmap="viridis")
        for row in (0, 1):
            if targets is not None:
                axes[row, i].plot(*[float(v) for v in targets[i]], "x", color="C1", markersize=8)
            if predictions is not None:
                axes[row, i].plot(*[float(v) for v in predictions[i]], "+", color="C3", markersize=10)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("heat map")
    fig.suptitle(title)
    fig.tight_layout()
    return fig




def plot_made_up_predictions(target: Any, slope: float = 1.0, offset: float = 0.0, noise: float = 0.0,
                             seed: int = 0, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Predictions made up from the targets, ``mean + slope·(y − mean) + offset + noise·std(y)·ε``,
    against the targets, titled with their MSE / Var(y), R² and both slopes (chapter 1).

    ``slope`` shrinks (< 1) or stretches (> 1) around the mean, ``offset`` is in units of the
    target's standard deviation, ``noise`` is the standard deviation of the added noise in the
    same units. ``slope=0, offset=0, noise=0`` is the mean predictor.
    """
    from ._checks import check_number
    from .metrics import mse, r2

    y = torch.as_tensor(np.asarray(target, dtype=np.float64))
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(f"target must be one column of numbers, (N,) or (N, 1); got shape {tuple(y.shape)}")
    y = y.reshape(-1, 1)
    if y.shape[0] < 3 or not bool(torch.isfinite(y).all()) or float(y.std()) == 0:
        raise ValueError("target must hold at least 3 finite values that are not all equal")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    slope = check_number(slope, "slope", -10, 10)
    offset = check_number(offset, "offset", -10, 10)
    noise = check_number(noise, "noise", 0, 10)
    g = torch.Generator().manual_seed(int(seed))
    std = float(y.std())
    pred = y.mean() + slope * (y - y.mean()) + offset * std
    pred = pred + noise * std * torch.randn(y.shape, generator=g, dtype=y.dtype)
    var = float(((y - y.mean()) ** 2).mean())
    ax = plot_pred_vs_target(pred, y, ax=ax, title="")
    constant = float(pred.std()) <= 1e-9 * std
    calib = float("nan") if constant else linear_fit(pred[:, 0], y[:, 0])["slope"]
    calib_text = f"calibration {calib:.2f}" if np.isfinite(calib) else "calibration undefined"
    measured = linear_fit(y[:, 0], pred[:, 0])["slope"]
    head = title or f"shrink {slope:g}, offset {offset:g} std, noise {noise:g} std"
    ax.set_title(f"{head}\nMSE/Var {mse(pred, y) / var:.2f}, R² {r2(pred, y):.2f}, "
                 f"slopes: pred on target {measured:.2f}, {calib_text}", fontsize=9)
    return ax


def plot_spread_strips(spreads: dict[str, Sequence[float]], threshold: float = 0.05, ax: plt.Axes | None = None,
                       title: str = "Spread ratio of every run",
                       xlabel: str = "spread ratio (std of predictions / std of targets)") -> plt.Axes:
    """One row per setup, one dot per run (initialisation), at its prediction spread ratio
    (std of predictions / std of targets, or any spread figure named by ``xlabel``, such as
    :func:`course_lib.diagnose.late_spread`); runs left of ``threshold`` have collapsed
    (chapter 2)."""
    if not isinstance(spreads, dict) or not spreads:
        raise ValueError("spreads must be a non-empty dict {setup: spread ratios of its runs}")
    ax = _axes(ax, figsize=(7, 0.6 * len(spreads) + 1.4))
    names = list(spreads)
    for row, name in enumerate(names):
        values = np.asarray(spreads[name], dtype=float)
        if values.ndim != 1 or not len(values) or not np.isfinite(values).all():
            raise ValueError(f"spreads[{name!r}] must be a non-empty list of finite numbers")
        collapsed = values < threshold
        ax.scatter(values[~collapsed], np.full((~collapsed).sum(), row), s=30, color="C0", zorder=3)
        ax.scatter(values[collapsed], np.full(collapsed.sum(), row), s=30, color="C3", marker="x", zorder=3)
        ax.text(1.02, row, f"{collapsed.mean():.0%} collapsed", va="center", fontsize=8,
                transform=ax.get_yaxis_transform())
    ax.axvline(threshold, color="C3", lw=1, ls="--", label=f"collapse threshold {threshold:g}")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("setup")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def show_augmentations(x: torch.Tensor, augmentations: dict[str, Any], n: int = 6, seed: int = 0,
                       title: str = "The same images under each augmentation") -> plt.Figure:
    """A grid: one row per augmentation (``{name: augment(x, generator) -> x}``, ``None`` for the
    images as they are), the same first ``n`` images of ``x`` in every row, one random draw per
    image from ``seed`` (chapter 4)."""
    check_images(x, "x")
    n = min(check_positive_int(n, "n"), x.shape[0])
    if not isinstance(augmentations, dict) or not augmentations:
        raise ValueError("augmentations must be a non-empty dict {name: augment function}")
    fig, axes = plt.subplots(len(augmentations), n, figsize=(1.5 * n, 1.6 * len(augmentations) + 0.5),
                             squeeze=False)
    batch = x[:n].float()
    lo, hi = float(batch.min()), float(batch.max())
    for row, (name, augment) in enumerate(augmentations.items()):
        if augment is not None and not callable(augment):
            raise TypeError(f"augmentations[{name!r}] must be a function (x, generator) -> x, or None")
        g = torch.Generator().manual_seed(int(seed))
        out = augment(batch.clone(), g) if augment is not None else batch
        for i, ax in enumerate(axes[row]):
            img = ((out[i] - lo) / max(hi - lo, 1e-8)).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bin_probabilities(logits: Any, centres: Any, target: float | None = None, ax: plt.Axes | None = None,
                           title: str = "Predicted distribution over bins") -> plt.Axes:
    """The softmax over bins of one image (``logits`` of shape (K,)), with its expected value,
    its arg-max and the true value marked (chapter 6)."""
    z = torch.as_tensor(logits, dtype=torch.float32).reshape(-1)
    c = torch.as_tensor(centres, dtype=torch.float32).reshape(-1)
    if z.numel() != c.numel() or z.numel() < 2:
        raise ValueError(f"logits and centres must have the same length K >= 2; got {z.numel()} and {c.numel()}")
    if not bool(torch.isfinite(z).all()):
        raise ValueError("logits must be finite")
    p = z.softmax(0).numpy()
    cn = c.numpy()
    width = float(np.min(np.diff(cn))) if len(cn) > 1 else 1.0
    ax = _axes(ax)
    ax.bar(cn, p, width=0.9 * width, color="C0", alpha=0.7, label="probability")
    ax.axvline(float((p * cn).sum()), color="C2", lw=2, label=f"expected value {float((p * cn).sum()):.0f}")
    ax.axvline(float(cn[p.argmax()]), color="C1", lw=2, ls=":", label=f"arg-max {float(cn[p.argmax()]):.0f}")
    if target is not None:
        ax.axvline(float(target), color="k", lw=1.5, ls="--", label=f"true {float(target):.0f}")
    ax.set_xlabel("bin centre")
    ax.set_ylabel("probability")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.6)
    return ax


def plot_bin_panels(logits: dict[int, Any], centres: dict[int, Any], target: Any, image: int = 0,
                    label: str = "image") -> plt.Figure:
    """One image's predicted distribution over bins for each number of bins K, side by side:
    ``logits`` maps K to logits (N, K), ``centres`` maps K to the K bin centres, ``target`` holds the
    N true values (chapter 6). The static twin of :func:`course_lib.widgets.bins_explorer`; panel
    titles read ``"{K} bins, {label} {image}"``."""
    if not isinstance(logits, dict) or not isinstance(centres, dict) or not logits or set(logits) != set(centres):
        raise ValueError("logits and centres must be non-empty dicts with the same keys (numbers of bins)")
    y = torch.as_tensor(target, dtype=torch.float32).reshape(-1)
    image = check_positive_int(image, "image", minimum=0)
    if image >= len(y):
        raise ValueError(f"image must be below the number of targets, {len(y)}; got {image}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    fig, axes = plt.subplots(1, len(logits), figsize=(14 / 3 * len(logits), 3.8), squeeze=False)
    for ax, k in zip(axes[0], logits):
        plot_bin_probabilities(logits[k][image], centres[k], float(y[image]), ax=ax, title=f"{k} bins, {label} {image}")
    fig.tight_layout()
    return fig


def plot_collapse_evidence(history: History, spreads: Sequence[Sequence[float]], dead: dict[str, float],
                           collapsed: Sequence[int] = (), baseline: float | None = None) -> plt.Figure:
    """A collapsed run's evidence in three panels (chapter 2).

    Left, its learning curves (``history``) against ``baseline``, Var(y), the mean predictor's loss;
    middle, the validation spread ratio after each epoch of every run in ``spreads`` (one list per
    run, such as ``history.extra["spread_ratio"]`` with a :class:`course_lib.diagnose.PredictionTracker`),
    the runs whose indices are in ``collapsed`` in red; right, the fraction of dead units of each ReLU
    layer, ``dead`` (:func:`course_lib.diagnose.dead_relu_fractions` of the collapsed model).
    """
    if isinstance(spreads, (str, bytes)) or not isinstance(spreads, Sequence) or not spreads:
        raise ValueError("spreads must be a non-empty list with one list of spread ratios per run")
    if any(isinstance(s, (str, bytes)) or not isinstance(s, Sequence) or not s for s in spreads):
        raise ValueError("each entry of spreads must be a non-empty list of spread ratios (one per epoch)")
    if not isinstance(dead, dict) or not dead:
        raise ValueError("dead must be a non-empty dict {ReLU layer: fraction of dead units}")
    if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(spreads) for i in collapsed):
        raise ValueError(f"collapsed must list indices of runs in spreads (0 to {len(spreads) - 1}), got {collapsed!r}")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    plot_learning_curves(history, ax=axes[0], baseline=baseline, title="Loss stuck at Var(y)")
    for i, values in enumerate(spreads):
        axes[1].plot(range(1, len(values) + 1), values, "o-", ms=3, color="C3" if i in collapsed else "C0",
                     alpha=0.7)
    axes[1].set(xlabel="epoch", ylabel="std(prediction) / std(target)", title="Prediction spread (red: collapsed)")
    axes[2].bar(list(dead), list(dead.values()), color="C3")
    axes[2].set(xlabel="ReLU layer", ylabel="fraction of dead units", title="Dead ReLUs in the collapsed run",
                ylim=(0, 1.05))
    fig.tight_layout()
    return fig


def plot_overfit_ladder(ladders: dict[str, dict[int, float]], threshold: float = 0.1, ax: plt.Axes | None = None,
                        title: str = "The overfitting ladder, from one initialisation") -> plt.Axes:
    """Each pipeline's overfitting ladder (``{name: overfit_ladder(...)}``, see
    :func:`course_lib.diagnose.overfit_ladder`): the final loss / Var(y) of every rung against its
    number of examples (log axis), with the line below which a rung counts as memorised (chapter 2)."""
    from ._checks import check_number

    if not isinstance(ladders, dict) or not ladders:
        raise ValueError("ladders must be a non-empty dict {pipeline: {rung size: loss / Var(y)}}")
    for name, rungs in ladders.items():
        if not isinstance(rungs, dict) or not rungs:
            raise ValueError(f"ladders[{name!r}] must be a non-empty dict {{rung size: loss / Var(y)}}")
    threshold = check_number(threshold, "threshold", low=0.0)
    ax = _axes(ax, figsize=(6, 3.5))
    for name, rungs in ladders.items():
        ax.plot(list(rungs), list(rungs.values()), "o-", label=name)
    ax.axhline(threshold, color="gray", linestyle=":", label=f"memorised below {threshold:g}")
    ax.set(xscale="log", xlabel="examples to memorise (rung)", ylabel="final loss / Var(y)", title=title)
    sizes = sorted({n for rungs in ladders.values() for n in rungs})
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.legend(fontsize=8)
    return ax
