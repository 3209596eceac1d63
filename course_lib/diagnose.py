"""Diagnostics for a regressor that does not learn: collapse, dead ReLUs, gradient norms.

Each function takes a model and data and returns plain numbers, so a notebook can print,
plot or assert them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ._checks import as_array_1d, check_finite, check_images, check_number, check_pair, check_positive_int
from .config import get_device
from .losses import LossFn, get_loss


def spread_ratio(pred: Any, target: Any) -> float:
    """Standard deviation of the predictions over that of the targets (averaged over outputs).

    Near 0: the model predicts (almost) the same value for every input, i.e. it has collapsed.
    """
    p, y = check_pair(pred, target)
    std_y = y.std(dim=0)
    if bool((std_y == 0).any()):
        raise ValueError("target is constant in some output: the spread ratio is undefined")
    return float((p.std(dim=0) / std_y).mean())


def is_collapsed(pred: Any, target: Any, threshold: float = 0.05) -> bool:
    """True when the predictions spread less than ``threshold`` times the targets' spread."""
    threshold = check_number(threshold, "threshold", low=0.0)
    return spread_ratio(pred, target) < threshold


def late_spread(spread_history: Sequence[float], tail: float = 0.5) -> float:
    """The largest spread ratio over the last ``tail`` (a fraction) of a run's epochs. Below 0.05,
    the run lost its spread and did not regain it: it collapsed for good.

    ``spread_history`` is the validation spread ratio after each epoch (for example
    ``history.extra["spread_ratio"]`` with a :class:`PredictionTracker`). A single epoch's
    spread cannot tell a dead network from a slow or unsteady one: a run can start slowly, or lose
    its spread in a loss spike and regain it a few epochs later, while a network whose ReLUs have
    died stays at zero spread.
    """
    if isinstance(spread_history, (str, bytes)) or not isinstance(spread_history, Sequence):
        raise TypeError(f"spread_history must be a sequence of numbers, got {type(spread_history).__name__}")
    if len(spread_history) == 0:
        raise ValueError("spread_history must hold at least one epoch's spread ratio")
    values = [check_number(v, "spread_history") for v in spread_history]
    tail = check_number(tail, "tail", low=0.0, high=1.0)
    if tail == 0:
        raise ValueError("tail must be above 0 (a fraction of the epochs, up to 1)")
    return max(values[-max(1, math.ceil(tail * len(values))):])


def collapse_report(pred: Any, target: Any) -> dict[str, float]:
    """The numbers of a collapse: spread ratio, MSE over Var(y), and the gap between the mean
    prediction and the target mean in target standard deviations."""
    p, y = check_pair(pred, target)
    var = ((y - y.mean(0)) ** 2).mean(0)
    return {
        "spread_ratio": spread_ratio(p, y),
        "mse_over_var": float((((p - y) ** 2).mean(0) / var).mean()),
        "mean_gap_in_std": float(((p.mean(0) - y.mean(0)).abs() / y.std(0)).mean()),
    }


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


@torch.no_grad()
def dead_relu_fractions(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """For each ``nn.ReLU`` in ``model``: the fraction of its units that output 0 for every input in ``x``.

    ``x`` is a batch of inputs (N, ...): images, signals or table rows. A unit is a channel for
    convolutional activations and a neuron for dense ones. A dead unit passes no gradient, so a
    layer that is 100% dead has stopped learning for good. A ReLU module that is never called is
    left out; one reused on activations of another width is reported again, its name primed.
    """
    _check_model(model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must have a batch dimension and at least one sample, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    relus = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model has no nn.ReLU module to probe")
    alive: dict[str, torch.Tensor] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_module: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            active = (out > 0).any(dim=0) if out.ndim == 2 else (out > 0).flatten(2).any(dim=2).any(dim=0)
            key = name  # one ReLU module reused on activations of another width counts apart
            while key in alive and alive[key].shape != active.shape:
                key += "'"
            alive[key] = alive.get(key, torch.zeros_like(active)) | active
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in relus]
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    try:
        for i in range(0, x.shape[0], 512):
            model(x[i:i + 512].to(dev))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {name: 1.0 - float(units.float().mean()) for name, units in alive.items()}


def grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str | LossFn = "mse"
               ) -> dict[str, float]:
    """L2 norm of the loss gradient for each weight tensor of ``model`` on one batch ``(x, y)``.

    The model's gradients are cleared afterwards; nothing is updated.
    """
    _check_model(model)
    check_images(x, "x")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    check_finite(y, "y")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    dev = next(model.parameters()).device
    model.zero_grad(set_to_none=True)
    out = model(x.to(dev))
    if out.shape != y.shape:
        raise ValueError(f"model output shape {tuple(out.shape)} differs from y's {tuple(y.shape)}")
    get_loss(loss)(out, y.to(dev)).backward()
    norms = {name: float(p.grad.norm()) for name, p in model.named_parameters()
             if p.grad is not None and name.endswith("weight")}
    model.zero_grad(set_to_none=True)
    return norms


class PredictionTracker:
    """An ``on_epoch_end`` callback for :func:`course_lib.fit` that records, after every epoch,
    the validation predictions and their R², both slopes and spread ratio.

    ``inverse`` maps model outputs back to target units (e.g. ``Standardizer.inverse_transform``);
    ``y`` is then in target units too. ``keep_predictions`` stores each epoch's predictions in
    ``self.predictions``.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor,
                 inverse: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 keep_predictions: bool = True) -> None:
        check_images(x, "x")
        if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
            raise ValueError("y must be a tensor with as many samples as x")
        check_finite(y, "y")
        self.x, self.y, self.inverse = x, y, inverse
        self.keep_predictions = keep_predictions
        self.predictions: list[torch.Tensor] = []

    def __call__(self, epoch: int, model: nn.Module) -> dict[str, float]:
        """Predict on the tracked data and return the epoch's numbers."""
        from .metrics import regression_report
        from .models import predict

        pred = predict(model, self.x)
        if self.inverse is not None:
            pred = self.inverse(pred)
        if self.keep_predictions:
            self.predictions.append(pred)
        rep = regression_report(pred, self.y)
        return {"r2": rep["r2"], "spread_ratio": rep["spread_ratio"],
                "pred_on_target_slope": rep["pred_on_target_slope"],
                "target_on_pred_slope": rep["target_on_pred_slope"]}


def overfit_one_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 200,
                      lr: float = 1e-3, device: str | torch.device | None = None) -> float:
    """Train on one small batch for ``steps`` steps and return the final loss over the batch's Var(y).

    Karpathy's check: a model and pipeline that work drive this near 0. A ratio that stays near 1
    means the model cannot fit even a handful of examples, so more data will not help.
    """
    from .train import fit

    _check_model(model)
    check_images(x, "x")
    if x.shape[0] > 256:
        raise ValueError(f"x must be one small batch (at most 256 samples), got {x.shape[0]}")
    hist = fit(model, (x, y), epochs=steps, lr=lr, batch_size=x.shape[0], device=get_device(device),
               progress=False)
    var = float(((y - y.mean(0)) ** 2).mean())
    return hist.train_loss[-1] / var


def overfit_ladder(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor,
                   sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128), steps: int = 100, lr: float = 1e-3,
                   seed: int = 0, device: str | torch.device | None = None) -> dict[int, float]:
    """The overfitting ladder: fit the first 1, 2, 4 ... ``sizes`` examples, each from the same fresh
    initialisation, and return ``{size: final training loss / Var(y)}``.

    ``Var(y)`` is the variance of all of ``y`` (a single example has none of its own), so every rung
    is measured on the same scale: near 0, memorised; near 1 or above, no better than predicting the
    mean of the whole set. A pipeline that works memorises every rung; the rung where the ratio
    rises says how many examples it takes to expose a problem. ``make_model()`` builds a new
    model; PyTorch is seeded with ``seed`` before each call.
    """
    from .train import fit

    if not callable(make_model) or isinstance(make_model, nn.Module):
        raise TypeError("make_model must be a function that returns a new nn.Module (not a model)")
    check_images(x, "x")
    if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a tensor with one target per image ({x.shape[0]})")
    check_finite(y.float(), "y")
    sizes = [check_positive_int(n, "sizes") for n in sizes]
    if not sizes or max(sizes) > min(x.shape[0], 256):
        raise ValueError(f"sizes must be one or more batch sizes up to {min(x.shape[0], 256)}, got {sizes}")
    var = float(((y - y.mean(0)) ** 2).mean())
    if var == 0.0:
        raise ValueError("y has no variance: every rung would be memorised by a constant")
    ratios = {}
    for n in sizes:
        torch.manual_seed(seed)
        hist = fit(make_model(), (x[:n], y[:n]), epochs=steps, lr=lr, batch_size=n, device=get_device(device),
                   seed=seed, progress=False)
        ratios[n] = hist.train_loss[-1] / var
    return ratios


@torch.no_grad()
def invariance_error(model: nn.Module, x: torch.Tensor, elements: tuple[int, ...] = tuple(range(8))) -> float:
    """How much ``model``'s predictions change when its input is rotated or mirrored.

    Returns the largest ``|f(g x) - f(x)|`` over the images of ``x`` and the D4 elements
    ``elements`` (see :func:`course_lib.augment.d4_transform`), divided by the standard deviation
    of ``f(x)`` over ``x``: 0 for an exactly invariant model, of order 1 for one that is not.
    """
    from .augment import d4_transform
    from .models import predict

    _check_model(model)
    check_images(x, "x")
    if x.shape[0] < 2:
        raise ValueError(f"x needs at least 2 images to measure the spread of predictions, got {x.shape[0]}")
    if not elements or any(isinstance(e, bool) or not isinstance(e, int) or not 0 <= e < 8 for e in elements):
        raise ValueError(f"elements must be D4 element numbers in 0..7, got {elements!r}")
    base = predict(model, x)
    scale = float(base.std(dim=0).mean())
    if scale == 0.0:
        raise ValueError("the model predicts the same value for every image: the relative change is undefined")
    worst = max(float((predict(model, d4_transform(x, e)) - base).abs().max()) for e in elements)
    return worst / scale


def error_by_rotation(model: nn.Module | Sequence[nn.Module], x: torch.Tensor, y: torch.Tensor,
                      degrees: Sequence[float], predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None
                      ) -> list[float]:
    """MSE on ``x`` turned by each angle of ``degrees`` (see :func:`course_lib.augment.rotate`), over
    Var(y): one number per angle, in the unit of a standardised target. ``model`` may be a list of
    models (runs from several initialisations): the result is then their mean. For a target that
    does not change when the image turns (a dish's concentration), any rise above the 0-degree
    value is the model's, or the resampling's. ``predict(model, images)`` reads the model
    (default :func:`course_lib.models.predict`; e.g. :func:`course_lib.augment.tta_predict`, the
    average over the 8 D4 transforms of each turned image)."""
    from .augment import rotate
    from .models import predict as plain_predict

    if predict is None:
        predict = plain_predict
    elif not callable(predict):
        raise TypeError(f"predict must be a function predict(model, images), got {type(predict).__name__}")
    models = [model] if isinstance(model, nn.Module) else list(model) if isinstance(model, Sequence) else []
    if not models or not all(isinstance(m, nn.Module) for m in models):
        raise TypeError("model must be a torch.nn.Module or a non-empty list of them")
    x = check_images(x, "x")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor of targets, got {type(y).__name__}")
    if len(check_finite(y, "y")) != len(x):
        raise ValueError(f"y must hold one target per image ({len(x)}), got {len(y)}")
    angles = as_array_1d(degrees, "degrees")
    if angles.size == 0:
        raise ValueError("degrees must hold at least one angle")
    target, var = y.double().cpu(), float(y.double().var())
    turned = [rotate(x, float(a)) for a in angles]
    return [sum(float(((predict(m, xt).double().cpu() - target) ** 2).mean()) for m in models) / len(models) / var
            for xt in turned]


def ks_two_sample(a: Any, b: Any) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: the largest gap between the two empirical CDFs and
    its asymptotic p-value (small when the samples come from different distributions)."""
    x, y = np.sort(as_array_1d(a, "a")), np.sort(as_array_1d(b, "b"))
    if x.size < 2 or y.size < 2:
        raise ValueError("a and b need at least 2 values each")
    grid = np.concatenate([x, y])
    gap = float(np.abs(np.searchsorted(x, grid, side="right") / x.size
                       - np.searchsorted(y, grid, side="right") / y.size).max())
    ne = x.size * y.size / (x.size + y.size)
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * gap
    if lam < 0.2:
        return gap, 1.0
    p = 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return gap, float(min(1.0, max(0.0, p)))


def image_statistics(x: torch.Tensor) -> torch.Tensor:
    """Per-image summary statistics (N, 2C): each channel's mean, then each channel's standard deviation."""
    check_images(x, "x")
    flat = x.detach().cpu().double().flatten(2)
    return torch.cat([flat.mean(2), flat.std(2)], dim=1)


def shift_check(
    reference: torch.Tensor, incoming: torch.Tensor, alpha: float = 0.01
) -> dict[str, Any]:
    """Does ``incoming`` look like ``reference`` (e.g. the training images)?
    Compare each per-image statistic (channel means and standard deviations)
    with a two-sample KS test.

    Returns ``statistics`` (names), ``ks`` and ``p_values`` per statistic,
    the mean of each statistic in both sets, and ``shifted``: whether any
    p-value is below ``alpha`` divided by the number of statistics
    (Bonferroni), i.e. whether the sets differ beyond chance.
    """
    check_images(reference, "reference")
    check_images(incoming, "incoming")
    if reference.shape[1:] != incoming.shape[1:]:
        raise ValueError(
            "reference and incoming must hold images of the same shape, "
            f"got {tuple(reference.shape[1:])} and "
            f"{tuple(incoming.shape[1:])}"
        )
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0)
    a, b = image_statistics(reference), image_statistics(incoming)
    c = reference.shape[1]
    names = [f"mean of channel {i}" for i in range(c)] + [
        f"std of channel {i}" for i in range(c)
    ]
    tests = [ks_two_sample(a[:, j], b[:, j]) for j in range(a.shape[1])]
    p_values = [p for _, p in tests]
    return {
        "statistics": names,
        "ks": [k for k, _ in tests],
        "p_values": p_values,
        "reference_means": a.mean(0).tolist(),
        "incoming_means": b.mean(0).tolist(),
        "shifted": min(p_values) < alpha / len(p_values),
    }


def label_noise_variance(first: Any, second: Any) -> float:
    """Estimate the label-noise variance from two independent labellings of the same samples.

    If each reading is the truth plus independent noise of variance s², their difference has
    variance 2 s², so s² = Var(first - second) / 2. Divided by Var(y), it is the floor under any
    model's MSE / Var(y) (chapter 9): no image can predict noise that the image does not show.
    """
    a = torch.as_tensor(first, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(second, dtype=torch.float64).reshape(-1)
    if a.numel() != b.numel():
        raise ValueError(f"first and second must have the same number of labels, got {a.numel()} and {b.numel()}")
    if a.numel() < 2:
        raise ValueError(f"first and second need at least 2 labels, got {a.numel()}")
    if not bool(torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("first and second must not hold NaN or infinite values")
    return float((a - b).var() / 2)


def diverged(history: Any, pred: torch.Tensor | None = None) -> bool:
    """Whether a run diverged: its training loss stopped being a finite number in some epoch (what
    :func:`course_lib.train.fit` records in ``history.train_loss``), or, when ``pred`` is given, its
    predictions hold NaN or infinity. Count such a run as diverged instead of scoring its numbers."""
    losses = getattr(history, "train_loss", None)
    if not isinstance(losses, (list, tuple)):
        raise TypeError(f"history must be the History that fit returns, got {type(history).__name__}")
    if pred is not None and not isinstance(pred, torch.Tensor):
        raise TypeError(f"pred must be a torch.Tensor of predictions or None, got {type(pred).__name__}")
    finite = all(math.isfinite(float(v)) for v in losses)
    return not (finite and (pred is None or bool(torch.isfinite(pred).all())))
