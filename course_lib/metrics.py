"""Regression metrics a practitioner should always print.

All functions take predictions and targets of the same shape, (N,) or (N, k), as tensors,
arrays or lists. For k > 1 outputs, scores are averaged over the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._checks import as_array_1d, as_edges, as_tensor, check_finite, check_pair


def mse(pred: Any, target: Any) -> float:
    """Mean squared error."""
    p, y = check_pair(pred, target)
    return float(((p - y) ** 2).mean())


def mae(pred: Any, target: Any) -> float:
    """Mean absolute error."""
    p, y = check_pair(pred, target)
    return float((p - y).abs().mean())


def mean_bias(pred: Any, target: Any) -> float:
    """Mean of ``pred - target`` (averaged over outputs): negative means predictions too low on
    average. A shifted or mis-preprocessed test set shows here first."""
    p, y = check_pair(pred, target)
    return float((p - y).mean())


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


def regression_report(pred: Any, target: Any) -> dict[str, float | None]:
    """Every number this course prints for a regressor, averaged over outputs.

    ``mse``, ``mae``, ``r2``, ``baseline_mse`` (= Var y), ``spread_ratio`` (std of predictions /
    std of targets), and the slope and intercept of prediction on target and of target on
    prediction. A constant prediction has slope 0 on the target; the target-on-prediction line is
    then undefined (there is no spread to regress on) and reported as ``None``.
    """
    p, y = check_pair(pred, target)
    report: dict[str, float | None] = {
        "mse": mse(p, y), "mae": mae(p, y), "r2": r2(p, y), "baseline_mse": baseline_mse(y),
        "spread_ratio": float((p.std(dim=0) / y.std(dim=0)).mean())}
    keys = ("pred_on_target_slope", "pred_on_target_intercept", "target_on_pred_slope", "target_on_pred_intercept")
    sums: dict[str, float | None] = dict.fromkeys(keys, 0.0)
    for j in range(p.shape[1]):
        on_target = linear_fit(y[:, j], p[:, j])
        sums["pred_on_target_slope"] += on_target["slope"] / p.shape[1]
        sums["pred_on_target_intercept"] += on_target["intercept"] / p.shape[1]
        if float(p[:, j].std()) == 0.0 or sums["target_on_pred_slope"] is None:
            sums["target_on_pred_slope"] = sums["target_on_pred_intercept"] = None
            continue
        on_pred = linear_fit(p[:, j], y[:, j])
        sums["target_on_pred_slope"] += on_pred["slope"] / p.shape[1]
        sums["target_on_pred_intercept"] += on_pred["intercept"] / p.shape[1]
    report.update(sums)
    return report


def format_report(report: dict[str, float | None]) -> str:
    """A one-metric-per-line text of a report, for printing in a notebook (``None``: undefined)."""
    if not isinstance(report, dict):
        raise TypeError(f"report must be a dict, got {type(report).__name__}")
    return "\n".join(f"{key:>26}: {'undefined':>10}" if value is None else f"{key:>26}: {value:10.4g}"
                     for key, value in report.items())


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


def error_by_range(pred: Any, target: Any, edges: Sequence[float]) -> dict[str, list[float]]:
    """Error per range of the *target*: the ranges are split at ``edges`` (increasing), giving
    ``len(edges) + 1`` ranges. Returns per range the ``mae``, the ``bias`` (mean of pred - target:
    negative means predictions too low) and the ``count``; an empty range gives NaN errors.

    Imbalanced targets show here: the error is largest where training targets were rare.
    """
    p, y = check_pair(pred, target)
    if p.shape[1] != 1:
        raise ValueError(f"error_by_range takes one output, got {p.shape[1]}")
    e = as_edges(edges)
    which = torch.bucketize(y[:, 0].double(), e, right=True)
    err = (p[:, 0] - y[:, 0]).double()
    out: dict[str, list[float]] = {"mae": [], "bias": [], "count": []}
    for i in range(e.numel() + 1):
        sel = err[which == i]
        out["count"].append(float(sel.numel()))
        out["mae"].append(float(sel.abs().mean()) if sel.numel() else math.nan)
        out["bias"].append(float(sel.mean()) if sel.numel() else math.nan)
    return out


def equivalent_size(sizes: Any, scores: Any, score: float) -> float:
    """How many training images a learning curve needs to reach ``score``.

    ``scores[i]`` is the test error after training on ``sizes[i]`` images (sizes increasing,
    errors falling). The answer is interpolated linearly in log(size) and log(error) between the
    two sizes that bracket ``score``; it is ``inf`` when even the largest size does not reach it
    and the smallest size when the smallest size already does. Use it to say what an augmentation
    is worth: the plain curve's equivalent size of the augmented model's error.
    """
    s = as_array_1d(sizes, "sizes")
    e = as_array_1d(scores, "scores")
    if s.size != e.size or s.size < 2:
        raise ValueError(f"sizes and scores must have the same length >= 2, got {s.size} and {e.size}")
    if (s <= 0).any() or (e <= 0).any():
        raise ValueError("sizes and scores must be positive")
    if (np.diff(s) <= 0).any():
        raise ValueError("sizes must be strictly increasing")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or score <= 0:
        raise ValueError(f"score must be a positive number, got {score!r}")
    if score >= e[0]:
        return float(s[0])
    for i in range(1, s.size):
        if e[i] <= score:
            ls, le = np.log(s[i - 1:i + 1]), np.log(e[i - 1:i + 1])
            if le[0] == le[1]:
                return float(s[i])
            frac = (np.log(score) - le[0]) / (le[1] - le[0])
            return float(np.exp(ls[0] + frac * (ls[1] - ls[0])))
    return math.inf


# ----- probabilities (classifiers) and intervals (regressors) -----------------------------------

def _check_probs(probs: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities (N, K) in [0, 1] with rows summing to 1, and integer labels (N,) in 0..K-1."""
    p = check_finite(as_tensor(probs, "probs"), "probs")
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must have shape (N, K) with K >= 2 classes, got {tuple(p.shape)}")
    if bool((p < 0).any()) or bool((p > 1).any()):
        raise ValueError("probs must lie in [0, 1] (pass probabilities, e.g. logits.softmax(1), not logits)")
    if not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=p.dtype), atol=1e-4):
        raise ValueError("each row of probs must sum to 1")
    lab = as_tensor(labels, "labels")
    if lab.ndim != 1 or lab.shape[0] != p.shape[0]:
        raise ValueError(f"labels must have shape ({p.shape[0]},) to match probs, got {tuple(lab.shape)}")
    if bool((lab != lab.round()).any()) or bool((lab < 0).any()) or bool((lab >= p.shape[1]).any()):
        raise ValueError(f"labels must be integers in 0..{p.shape[1] - 1}")
    return p, lab.long()


def accuracy(probs: Any, labels: Any) -> float:
    """Fraction of samples whose most probable class is the label."""
    p, lab = _check_probs(probs, labels)
    return float((p.argmax(1) == lab).double().mean())


def per_class_recall(probs: Any, labels: Any) -> list[float]:
    """For each class, the fraction of its samples whose most probable class is right (NaN for a
    class with no sample). A classifier that always answers the majority class has recall 1 for
    it and 0 for every other class."""
    p, lab = _check_probs(probs, labels)
    hit = p.argmax(1) == lab
    return [float(hit[lab == k].double().mean()) if bool((lab == k).any()) else math.nan
            for k in range(p.shape[1])]


def balanced_accuracy(probs: Any, labels: Any) -> float:
    """The mean of the per-class recalls over the classes present: 1/K for a majority-class
    guess, however imbalanced the classes, where plain accuracy rewards the guess."""
    recalls = [r for r in per_class_recall(probs, labels) if not math.isnan(r)]
    return sum(recalls) / len(recalls)


def log_loss(probs: Any, labels: Any, eps: float = 1e-12) -> float:
    """Mean negative log-probability of the true class (cross-entropy); 0 is perfect, log K is a
    uniform guess. Punishes confident mistakes without bound."""
    p, lab = _check_probs(probs, labels)
    return float(-torch.log(p[torch.arange(p.shape[0]), lab].clamp_min(eps)).mean())


def brier_score(probs: Any, labels: Any) -> float:
    """Mean squared distance between the probability vector and the one-hot label (0 is perfect, at most 2)."""
    p, lab = _check_probs(probs, labels)
    onehot = torch.nn.functional.one_hot(lab, p.shape[1]).double()
    return float(((p - onehot) ** 2).sum(1).mean())


def classification_report(probs: Any, labels: Any) -> dict[str, float]:
    """Every number this course prints for a classifier: ``accuracy``, ``ece`` (expected
    calibration error), ``log_loss`` and ``brier``. Accuracy alone hides over-confidence."""
    return {"accuracy": accuracy(probs, labels), "ece": expected_calibration_error(probs, labels),
            "log_loss": log_loss(probs, labels), "brier": brier_score(probs, labels)}


def reliability_bins(probs: Any, labels: Any, bins: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Confidence (top probability) split into ``bins`` equal-width bins on [0, 1]: each bin's mean
    confidence, accuracy and count (empty bins give NaN means and count 0)."""
    p, lab = _check_probs(probs, labels)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    conf, guess = p.max(1)
    correct = (guess == lab).double()
    which = (conf * bins).long().clamp(max=bins - 1)
    counts = torch.bincount(which, minlength=bins)
    sum_conf = torch.zeros(bins, dtype=torch.float64).index_add_(0, which, conf)
    sum_acc = torch.zeros(bins, dtype=torch.float64).index_add_(0, which, correct)
    with torch.no_grad():
        mean_conf = torch.where(counts > 0, sum_conf / counts.clamp_min(1), torch.nan)
        mean_acc = torch.where(counts > 0, sum_acc / counts.clamp_min(1), torch.nan)
    return mean_conf, mean_acc, counts


def expected_calibration_error(probs: Any, labels: Any, bins: int = 15) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over confidence bins.
    0 for a calibrated classifier; an over-confident one has accuracy below its confidence."""
    conf, acc, counts = reliability_bins(probs, labels, bins)
    used = counts > 0
    return float(((conf[used] - acc[used]).abs() * counts[used]).sum() / counts.sum())


def interval_coverage(mean: Any, std: Any, target: Any, level: float = 0.9) -> float:
    """Fraction of targets inside the central Gaussian interval ``mean ± z·std`` of probability
    ``level``. For calibrated intervals it is close to ``level``."""
    m, y = check_pair(mean, target, "mean", "target")
    s, _ = check_pair(std, target, "std", "target")
    if bool((s <= 0).any()):
        raise ValueError("std must be positive")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    z = gaussian_quantile(0.5 + level / 2)
    return float(((y - m).abs() <= z * s).double().mean())


def gaussian_quantile(q: float) -> float:
    """The ``q``-quantile of the standard normal distribution (0 < q < 1)."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
        raise ValueError(f"q must be a number in (0, 1), got {q!r}")
    return float(torch.special.ndtri(torch.tensor(float(q), dtype=torch.float64)))


def coverage_between(lower: torch.Tensor, upper: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of targets inside their interval ``[lower, upper]`` (ends included): the outer
    columns of a quantile head, say. Compare it with the level the intervals promise, on data the
    model never trained on. The three tensors have one shape, e.g. (N, 1)."""
    for name, t in (("lower", lower), ("upper", upper), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not lower.shape == upper.shape == target.shape or target.numel() == 0:
        raise ValueError(f"lower, upper and target must have one non-empty shape, got {tuple(lower.shape)}, "
                         f"{tuple(upper.shape)} and {tuple(target.shape)}")
    return float(((target >= lower) & (target <= upper)).float().mean())


def slope_summary(pred: Any, target: Any) -> dict[str, float]:
    """A predictor's slopes as one row of a table (``cl.report.print_table``), for one output.

    ``r2``; ``slope``: of the prediction on the target (the scatter plot's line, R² for every
    calibrated predictor); ``cal_slope``: of the target on the prediction (1 when calibrated);
    ``mse``. The numbers of :func:`slope_report` and :func:`mse`, under short names.
    """
    rep = slope_report(pred, target)
    return {"r2": rep["r2"], "slope": rep["pred_on_target_slope"],
            "cal_slope": rep["target_on_pred_slope"], "mse": mse(pred, target)}
