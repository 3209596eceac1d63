"""Regression metrics a practitioner should always print.

All functions take predictions and targets of the same shape, (N,) or (N, k), as tensors,
arrays or lists. For k > 1 outputs, scores are averaged over the outputs.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ._checks import check_pair


def mse(pred: Any, target: Any) -> float:
    """Mean squared error."""
    p, y = check_pair(pred, target)
    return float(((p - y) ** 2).mean())


def mae(pred: Any, target: Any) -> float:
    """Mean absolute error."""
    p, y = check_pair(pred, target)
    return float((p - y).abs().mean())


def baseline_mse(target: Any) -> float:
    """MSE of the best constant predictor, the mean of ``target``: the (population) variance Var(y).

    A model whose MSE is not clearly below this has learned nothing from its input.
    """
    _, y = check_pair(target, target, "target", "target")
    return float(((y - y.mean(dim=0)) ** 2).mean())


def r2(pred: Any, target: Any) -> float:
    """Coefficient of determination, 1 - MSE / Var(y), per output then averaged.

    0 for the mean predictor, 1 for a perfect one, negative for one worse than the mean.
    """
    p, y = check_pair(pred, target)
    sse = ((p - y) ** 2).sum(dim=0)
    sst = ((y - y.mean(dim=0)) ** 2).sum(dim=0)
    if bool((sst == 0).any()):
        raise ValueError("target is constant in some output: R² is undefined")
    return float((1 - sse / sst).mean())


def linear_fit(x: Any, y: Any) -> dict[str, float]:
    """Least-squares line ``y ≈ slope * x + intercept`` with 95% confidence half-widths.

    Returns ``slope``, ``intercept``, ``slope_ci`` and ``intercept_ci`` (normal approximation,
    1.96 standard errors). ``x`` and ``y`` must be 1-D, or (N, 1).
    """
    xs, ys = check_pair(x, y, "x", "y")
    if xs.shape[1] != 1:
        raise ValueError(f"x and y must be 1-D (one output), got shape {tuple(xs.shape)}")
    xs, ys = xs[:, 0], ys[:, 0]
    n = xs.numel()
    if n < 3:
        raise ValueError(f"x needs at least 3 samples for a line with intervals, got {n}")
    xm, ym = xs.mean(), ys.mean()
    sxx = ((xs - xm) ** 2).sum()
    if float(sxx) == 0.0:
        raise ValueError("x is constant: the slope is undefined")
    slope = ((xs - xm) * (ys - ym)).sum() / sxx
    intercept = ym - slope * xm
    resid = ys - (slope * xs + intercept)
    s2 = (resid**2).sum() / (n - 2)
    se_slope = torch.sqrt(s2 / sxx)
    se_intercept = torch.sqrt(s2 * (1.0 / n + xm**2 / sxx))
    return {"slope": float(slope), "intercept": float(intercept),
            "slope_ci": 1.96 * float(se_slope), "intercept_ci": 1.96 * float(se_intercept)}


def slope_report(pred: Any, target: Any) -> dict[str, float]:
    """Both regressions between prediction and target, for one output.

    * ``pred_on_target_*``: the line through the usual predicted-vs-target scatter (prediction on
      the y-axis, target on the x-axis). For the best possible predictor its slope equals R².
    * ``target_on_pred_*``: the calibration line (target regressed on prediction). For a
      calibrated predictor its slope is 1 and its intercept 0.

    Each comes with ``slope``, ``intercept``, ``slope_ci`` and ``intercept_ci``; ``r2`` is added.
    """
    p, y = check_pair(pred, target)
    if p.shape[1] != 1:
        raise ValueError(f"slope_report takes one output; got {p.shape[1]} (pass pred[:, j], target[:, j])")
    out = {"r2": r2(p, y)}
    for name, (a, b) in {"pred_on_target": (y, p), "target_on_pred": (p, y)}.items():
        for key, value in linear_fit(a, b).items():
            out[f"{name}_{key}"] = value
    return out


def regression_report(pred: Any, target: Any) -> dict[str, float]:
    """Every number this course prints for a regressor, averaged over outputs.

    ``mse``, ``mae``, ``r2``, ``baseline_mse`` (= Var y), ``spread_ratio`` (std of predictions /
    std of targets), and the slope and intercept of prediction on target and of target on
    prediction.
    """
    p, y = check_pair(pred, target)
    report = {"mse": mse(p, y), "mae": mae(p, y), "r2": r2(p, y), "baseline_mse": baseline_mse(y),
              "spread_ratio": float((p.std(dim=0) / y.std(dim=0)).mean())}
    keys = ("pred_on_target_slope", "pred_on_target_intercept", "target_on_pred_slope", "target_on_pred_intercept")
    sums = dict.fromkeys(keys, 0.0)
    for j in range(p.shape[1]):
        if float(p[:, j].std()) == 0.0:
            sums = dict.fromkeys(keys, math.nan)
            break
        col = slope_report(p[:, j], y[:, j])
        for key in keys:
            sums[key] += col[key] / p.shape[1]
    report.update(sums)
    return report


def format_report(report: dict[str, float]) -> str:
    """A one-metric-per-line text of a report, for printing in a notebook."""
    if not isinstance(report, dict):
        raise TypeError(f"report must be a dict, got {type(report).__name__}")
    return "\n".join(f"{key:>26}: {value:10.4g}" for key, value in report.items())


def binned_means(pred: Any, target: Any, bins: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort by prediction into ``bins`` equal-count bins; return each bin's mean prediction, mean
    target and count. For a calibrated regressor the two means agree (points on y = x)."""
    p, y = check_pair(pred, target)
    if p.shape[1] != 1:
        raise ValueError(f"binned_means takes one output, got {p.shape[1]}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    if bins > p.shape[0]:
        raise ValueError(f"bins must be at most the number of samples ({p.shape[0]}), got {bins}")
    order = torch.argsort(p[:, 0])
    groups = torch.tensor_split(order, bins)
    mp = torch.stack([p[g, 0].mean() for g in groups])
    my = torch.stack([y[g, 0].mean() for g in groups])
    counts = torch.tensor([len(g) for g in groups])
    return mp, my, counts
