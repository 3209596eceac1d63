"""Diagnostics for a regressor that does not learn: collapse, dead ReLUs, gradient norms.

Each function takes a model and data and returns plain numbers, so a notebook can print,
plot or assert them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._checks import check_finite, check_images, check_number, check_pair
from .config import get_device
from .train import LossFn, get_loss


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

    A unit is a channel for convolutional activations and a neuron for dense ones. A dead unit
    passes no gradient, so a layer that is 100% dead has stopped learning for good.
    """
    _check_model(model)
    check_images(x, "x")
    relus = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model has no nn.ReLU module to probe")
    alive: dict[str, torch.Tensor] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_module: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            active = (out > 0).any(dim=0) if out.ndim == 2 else (out > 0).flatten(2).any(dim=2).any(dim=0)
            alive[name] = alive.get(name, torch.zeros_like(active)) | active
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
    return {name: 1.0 - float(alive[name].float().mean()) for name, _ in relus}


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
        from .train import predict

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
