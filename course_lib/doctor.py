"""The regression doctor: run the book's checks on any regression model and its data.

``cl.doctor.examine(model, train, val)`` takes a ``torch.nn.Module`` and data as ``(x, y)``
tensors or a ``DataLoader`` of ``(x, y)`` batches, and returns a :class:`Report`: a list of
:class:`Finding` objects, each with its evidence (the numbers), a severity, what to try, and the
section of the book that explains it. A report displays as a table in a notebook and as plain
text in a terminal.

Each check is a function of this module (``check_shapes``, ``check_target_scale``, ...) that takes
the evidence it needs and returns a :class:`Finding` or ``None``; ``SECTIONS`` links each check to
the section of the book that explains it.

It never changes the caller's model: it works on a copy, on the device the model is already on.
Only the optional overfit-one-batch check trains (the copy), and it stops within
``overfit_seconds``.
"""

from __future__ import annotations

import copy
import html
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from ._checks import check_number, check_positive_int
from .diagnose import dead_relu_fractions, shift_check
from .losses import LossFn, get_loss
from .metrics import linear_fit, r2

BOOK_URL = "https://cnn-regression-pitfalls.github.io/cnn-regression-pitfalls/"
SEVERITIES = ("problem", "warning", "note")
SECTIONS = {
    "shapes": "notebooks/02_mean_collapse.html#other-roads-to-the-same-symptom",
    "input_scale": "notebooks/02_mean_collapse.html#fix",
    "target_scale": "notebooks/02_mean_collapse.html#fix",
    "mean_predictor": "notebooks/02_mean_collapse.html#explain-why-the-mean-and-why-vary",
    "collapse": "notebooks/02_mean_collapse.html#reproduce",
    "output_activation": "notebooks/02_mean_collapse.html#other-roads-to-the-same-symptom",
    "dead_relus": "notebooks/02_mean_collapse.html#explain-why-the-mean-and-why-vary",
    "gradients": "notebooks/02_mean_collapse.html#explain-why-the-mean-and-why-vary",
    "overfitting": "notebooks/04_augmentation_invariance.html",
    "plateau": "notebooks/09_plateaus.html#is-it-overfitting",
    "slope": "notebooks/03_slope_shrinkage.html",
    "calibration": "notebooks/03_slope_shrinkage.html#the-right-check-target-on-prediction",
    "rare_ends": "notebooks/05_shift_and_calibration.html#imbalance-the-rare-end-of-the-target",
    "input_shift": "notebooks/05_shift_and_calibration.html#detect-shift-before-it-bites",
    "value_range": "notebooks/05_shift_and_calibration.html",
    "overfit_one_batch": "notebooks/02_mean_collapse.html#separate-the-causes",
}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor noticed: which ``check``, how serious, the numbers, what to try, where to read.

    ``explained_by`` names the check of another finding in the same report that explains this one
    (e.g. validation inputs at another value range explain a validation error far above the
    training error); such a finding is a note, not a separate cause.
    """

    check: str
    severity: str
    title: str
    evidence: str
    advice: str
    explained_by: str | None = None

    @property
    def url(self) -> str:
        """The book section that explains this finding."""
        return BOOK_URL + SECTIONS.get(self.check, "")


@dataclass(repr=False)
class Report:
    """The findings of :func:`examine`, most serious first, and the headline numbers it measured."""

    findings: list[Finding] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> set[str]:
        """The checks that found a problem or a warning."""
        return {f.check for f in self.findings if f.severity in ("problem", "warning")}

    def __str__(self) -> str:
        if not self.findings:
            return "The doctor found nothing to report."
        lines = []
        for f in self.findings:
            lines.append(f"[{f.severity.upper()}] {f.title}\n    evidence: {f.evidence}\n    try: {f.advice}\n"
                         f"    read: {f.url}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # a terminal shows the readable text, not the dataclass fields
        return str(self)

    def _repr_html_(self) -> str:
        if not self.findings:
            return "<p>The doctor found nothing to report.</p>"
        # The severity is a word and a coloured bar beside it (a border carries no text, so it needs no
        # contrast); text and links keep the page's colours, so the table reads in light and dark themes.
        bars = {"problem": "#c0392b", "warning": "#d68910", "note": "#2e86c1"}
        plain = "background:transparent;color:inherit"
        rows = "".join(
            f"<tr style='{plain}'><td style='{plain};font-weight:bold;border-left:6px solid {bars[f.severity]}'>"
            f"{f.severity}</td>" + "".join(f"<td style='{plain}'>{html.escape(t)}</td>"
                                           for t in (f.title, f.evidence, f.advice))
            + f"<td style='{plain}'><a style='color:inherit;text-decoration:underline' "
              f"href='{html.escape(f.url)}'>read</a></td></tr>" for f in self.findings)
        return (f"<table style='{plain}'><thead><tr><th>severity</th><th>finding</th><th>evidence</th>"
                f"<th>what to try</th><th>book</th></tr></thead><tbody>{rows}</tbody></table>")


def _collect(data: Any, name: str, max_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` tensors from a pair or from a DataLoader of pairs (at most ``max_samples``)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = data
    elif isinstance(data, Iterable) and not isinstance(data, (torch.Tensor, str, bytes)):
        xs, ys, n = [], [], 0
        for batch in data:
            if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
                raise TypeError(f"{name} must yield (x, y) batches, got {type(batch).__name__}")
            xs.append(torch.as_tensor(batch[0]))
            ys.append(torch.as_tensor(batch[1]))
            n += xs[-1].shape[0]
            if n >= max_samples:
                break
        if not xs:
            raise ValueError(f"{name} is empty: it yielded no batches")
        x, y = torch.cat(xs), torch.cat(ys)
    else:
        raise TypeError(f"{name} must be an (x, y) pair of tensors or a DataLoader of (x, y) batches, "
                        f"got {type(data).__name__}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty: it holds no samples")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    if not x.is_floating_point():
        x = x.float()
    y = y.float()
    if not bool(torch.isfinite(y).all()):
        raise ValueError(f"{name}: the targets y contain NaN or infinite values")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name}: the inputs x contain NaN or infinite values")
    return x[:max_samples], y[:max_samples]


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int) -> torch.Tensor:
    return torch.cat([model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, x.shape[0], batch_size)])


WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@torch.no_grad()
def _layer_ends(model: nn.Module, x: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """What the first weight layer receives and what the last one outputs, on a batch ``x``."""
    layers = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    seen: dict[str, torch.Tensor] = {}
    if not layers:
        out = model(x.to(device)).float().cpu()
        return x.float(), out
    handles = [layers[0].register_forward_pre_hook(lambda _m, inp: seen.setdefault("first", inp[0].detach())),
               layers[-1].register_forward_hook(lambda _m, _i, out: seen.__setitem__("last", out.detach()))]
    try:
        model(x.to(device))
    finally:
        for h in handles:
            h.remove()
    return seen["first"].float().cpu(), seen["last"].float().cpu()


def _last_leaf(model: nn.Module) -> nn.Module | None:
    leaves = [m for m in model.modules() if not list(m.children())]
    return leaves[-1] if leaves else None


def _fmt(v: float) -> str:
    return f"{v:.3g}"


# ---------------------------------------------------------------------------------------------
# The checks. Each takes the evidence it needs (tensors of shape (N, k) for predictions and
# targets) and returns a Finding, or None when it finds nothing. Measured values go into
# ``numbers`` when it is given. :func:`examine` gathers the evidence once and calls them in order.
# ---------------------------------------------------------------------------------------------


def check_shapes(pred: torch.Tensor, target: torch.Tensor) -> Finding | None:
    """``shapes``: outputs and targets of different shapes (a (N,) target against (N, 1) outputs
    broadcasts to an (N, N) comparison in the loss)."""
    if pred.shape == target.shape:
        return None
    if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        return Finding("shapes", "problem", "Targets (N,) against outputs (N, 1): a loss would broadcast them",
                       f"outputs {tuple(pred.shape)}, targets {tuple(target.shape)}",
                       "Reshape the targets to (N, 1) (y[:, None]) before the loss.")
    return Finding("shapes", "problem", "Outputs and targets differ in shape",
                   f"outputs {tuple(pred.shape)}, targets {tuple(target.shape)}",
                   "Make the model output one column per target.")


def check_finite(*preds: torch.Tensor) -> Finding | None:
    """``collapse`` (its gravest form): the model outputs NaN or infinite values."""
    if all(bool(torch.isfinite(p).all()) for p in preds):
        return None
    return Finding("collapse", "problem", "The model outputs NaN or infinite values",
                   "non-finite predictions", "Lower the learning rate; check the loss for log(0) or division by 0.")


def check_input_scale(first_input: torch.Tensor, numbers: dict[str, float] | None = None) -> Finding | None:
    """``input_scale``: what the first weight layer receives is far from unit scale (std above 10
    or a value above 20). A model that standardises inside (cl.models.ScaledModel, a normalisation
    layer) passes, since the values are taken where the first weight layer receives them."""
    x_std, x_max = float(first_input.std()), float(first_input.abs().max())
    if numbers is not None:
        numbers.update(input_std=x_std, input_max=x_max)
    if x_max > 20 or x_std > 10:
        return Finding("input_scale", "warning", "Inputs far from unit scale",
                       f"the first layer receives values with std {_fmt(x_std)}, largest |value| {_fmt(x_max)} "
                       "(raw 0-255 pixels?)",
                       "Divide pixels by 255 or standardise the inputs with training statistics.")
    return None


def _on_scale(values: torch.Tensor, target: torch.Tensor, low: float, high: float) -> bool:
    """Whether every column of ``values`` sits at the scale of the same column of ``target``: its
    mean within one target std of the targets' mean, its std between ``low`` and ``high`` times theirs."""
    if values.ndim != 2 or values.shape[1:] != target.shape[1:] or values.shape[0] < 2:
        return False
    y_mean, y_std = target.mean(0), target.std(0).clamp_min(1e-12)
    gap = (values.mean(0) - y_mean).abs() / y_std
    spread = values.std(0) / y_std
    return bool(((gap <= 1) & (spread >= low) & (spread <= high)).all())


def check_target_scale(target: torch.Tensor, pred: torch.Tensor, last_output: torch.Tensor,
                       numbers: dict[str, float] | None = None) -> Finding | None:
    """``target_scale``: targets far from unit scale that the model does not handle.

    Whether the targets are unscaled is read from the targets alone: a std above 10 or below 0.01,
    or a mean more than 10 std from 0. Such targets are handled only by a model that rescales after
    its last weight layer (cl.models.ScaledModel, an output bias started at the mean is not
    enough): its predictions ``pred`` (on the training data) sit at the targets' scale, mean within
    one target std and spread 0.01 to 100 times theirs, while its last weight layer's raw output
    ``last_output`` (on the first rows of the same data) does not (a spread 0.1 to 10 times theirs),
    and is not simply the output. A dead output ReLU (constant 0) or a saturated sigmoid (stuck
    near 0 or 1) does not sit at the scale of 80-350 targets, so it is flagged.
    """
    y_std = target.std(0)
    far = float((target.mean(0).abs() / y_std.clamp_min(1e-12)).max())
    if numbers is not None:
        numbers.update(target_std=float(y_std.max()))
    if not (float(y_std.max()) > 10 or float(y_std.min()) < 0.01 or far > 10):
        return None
    first = pred[: last_output.shape[0]]
    is_output = last_output.shape == first.shape and bool(torch.allclose(
        last_output, first, rtol=1e-4, atol=1e-6 * max(float(first.abs().max()), 1.0)))
    handled = (_on_scale(pred, target, 0.01, 100) and not is_output
               and not _on_scale(last_output.reshape(last_output.shape[0], -1), target, 0.1, 10))
    if handled:
        return None
    return Finding("target_scale", "warning", "Targets far from unit scale",
                   f"target std {_fmt(float(y_std.min()))}..{_fmt(float(y_std.max()))}, |mean| / std up to "
                   f"{_fmt(far)}; the model's outputs (mean {_fmt(float(pred.mean()))}, std "
                   f"{_fmt(float(pred.std()))}) do not come from a rescaling that reaches them, so the loss "
                   "compares them with the last layer's raw output",
                   "Standardise the targets (cl.Standardizer) or start the output bias at their mean.")


def check_collapse(pred: torch.Tensor, target: torch.Tensor, on: str = "validation",
                   numbers: dict[str, float] | None = None) -> Finding | None:
    """``collapse``: the predictions spread less than 0.05 times the targets (averaged over columns)."""
    spread = _spread(pred, target)
    if numbers is not None:
        numbers["spread_ratio"] = spread
    if spread < 0.05:
        return Finding("collapse", "problem", "Predictions have collapsed to (nearly) a constant",
                       f"prediction std / target std {_fmt(spread)} on {on} data",
                       "Lower the learning rate, scale inputs and targets, and check for dead ReLUs and the output "
                       "layer.")
    return None


def check_mean_predictor(pred: torch.Tensor, target: torch.Tensor, on: str = "validation",
                         numbers: dict[str, float] | None = None) -> Finding | None:
    """``mean_predictor``: R² at most 0.05, no better than predicting the targets' mean."""
    score = r2(pred, target)
    if numbers is not None:
        numbers["r2"] = score
    if score <= 0.05:
        return Finding("mean_predictor", "problem", "No better than predicting the mean",
                       f"{on} R² {_fmt(score)} (MSE against Var(y))",
                       "Overfit one batch first; then check scaling, learning rate and the output layer.")
    return None


OUTPUT_BOUNDS: dict[type[nn.Module], tuple[float, float]] = {
    nn.ReLU: (0.0, math.inf), nn.Softplus: (0.0, math.inf), nn.Sigmoid: (0.0, 1.0), nn.Tanh: (-1.0, 1.0)}


def check_output_activation(last_module: nn.Module | None, target: torch.Tensor) -> Finding | None:
    """``output_activation``: the model's last module is a bounded activation (ReLU, Softplus,
    Sigmoid, Tanh) and some targets lie outside its range."""
    for kind, (lo, hi) in OUTPUT_BOUNDS.items():
        if isinstance(last_module, kind):
            outside = float(((target < lo) | (target > hi)).float().mean())
            if outside > 0:
                return Finding("output_activation", "problem", f"The output layer ends in {kind.__name__}",
                               f"{outside:.0%} of the training targets lie outside its range [{lo}, {hi}]",
                               "Remove the activation after the last layer (a linear output), or rescale the "
                               "targets.")
    return None


def check_dead_relus(model: nn.Module, x: torch.Tensor, numbers: dict[str, float] | None = None) -> Finding | None:
    """``dead_relus``: a ReLU layer with 90% of its units or more silent on every input of ``x``.
    A healthy network has some dead units; a layer that is (nearly) all dead has stopped learning."""
    if not any(isinstance(m, nn.ReLU) for m in model.modules()):
        return None
    dead = dead_relu_fractions(model, x)  # the ReLU modules the forward pass calls
    if not dead:
        return None
    worst = max(dead, key=dead.get)
    if numbers is not None:
        numbers["dead_relu_max"] = dead[worst]
    if dead[worst] >= 0.9:
        return Finding("dead_relus", "problem", "A layer of dead ReLU units",
                       f"{dead[worst]:.0%} of the units of '{worst}' never fire on {x.shape[0]} training images",
                       "Lower the learning rate; scale the inputs; check the initialisation.")
    return None


def relative_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn,
                       device: torch.device) -> dict[str, float]:
    """|grad| / |w| for each weight of ``model`` (a copy: its gradients are set), after one backward
    pass of ``loss_fn`` on the batch ``(x, y)`` in units of Var(y) (scale-free gradients). Empty if
    the loss does not depend on any parameter."""
    model.zero_grad(set_to_none=True)
    xb, yb = x.to(device), y.to(device)
    out = model(xb).float()
    var_y = float(((y - y.mean(0)) ** 2).mean()) or 1.0
    loss_value = loss_fn(out.reshape(yb.shape) if out.numel() == yb.numel() else out, yb) / var_y
    if not loss_value.requires_grad:
        return {}
    loss_value.backward()
    rel = {n: float(p.grad.norm() / p.detach().norm().clamp_min(1e-12)) for n, p in model.named_parameters()
           if p.grad is not None and n.endswith("weight")}
    model.zero_grad(set_to_none=True)
    return rel


def check_gradients(rel: dict[str, float], numbers: dict[str, float] | None = None) -> Finding | None:
    """``gradients``: from |grad| / |w| per weight (:func:`relative_gradients`), exploding (above 100
    in a layer), vanishing everywhere (below 1e-7 in every layer) or vanishing in some layers
    (below 1e-4 times the largest)."""
    if not rel:
        return None
    top, low = max(rel, key=rel.get), min(rel, key=rel.get)
    if numbers is not None:
        numbers.update(grad_rel_min=rel[low], grad_rel_max=rel[top])
    if rel[top] > 100:
        return Finding("gradients", "warning", "Exploding gradients", f"|grad| / |w| = {_fmt(rel[top])} for '{top}'",
                       "Lower the learning rate, scale the inputs and targets, fix the initialisation, "
                       "or clip gradients.")
    if rel[top] < 1e-7:
        return Finding("gradients", "warning", "Vanishing gradients in every layer",
                       f"|grad| / |w| at most {_fmt(rel[top])} (in '{top}')",
                       "Check for dead units, saturated activations or a loss that no longer depends on the outputs.")
    if rel[low] < 1e-4 * rel[top]:
        return Finding("gradients", "warning", "Vanishing gradients in some layers",
                       f"|grad| / |w| = {_fmt(rel[low])} for '{low}' against {_fmt(rel[top])} for '{top}'",
                       "Those layers barely learn: look for saturated activations (sigmoid, tanh) or dead units "
                       "between them and the output; use ReLU, normalisation or residual connections.")
    return None


def _errors(p_tr: torch.Tensor, y_tr: torch.Tensor, p_va: torch.Tensor, y_va: torch.Tensor,
            numbers: dict[str, float] | None) -> tuple[float, float, float, float]:
    mse_tr, mse_va = float(((p_tr - y_tr) ** 2).mean()), float(((p_va - y_va) ** 2).mean())
    r2_tr, r2_va = r2(p_tr, y_tr), r2(p_va, y_va)
    if numbers is not None:
        numbers.update(train_mse=mse_tr, val_mse=mse_va, train_r2=r2_tr)
    return mse_tr, mse_va, r2_tr, r2_va


def check_overfitting(p_tr: torch.Tensor, y_tr: torch.Tensor, p_va: torch.Tensor, y_va: torch.Tensor,
                      numbers: dict[str, float] | None = None) -> Finding | None:
    """``overfitting``: validation MSE over twice the training MSE, and validation R² over 0.1 below
    the training R²."""
    mse_tr, mse_va, r2_tr, r2_va = _errors(p_tr, y_tr, p_va, y_va, numbers)
    if mse_va > 2 * mse_tr and r2_tr - r2_va > 0.1:
        return Finding("overfitting", "warning", "Overfitting: validation error far above training error",
                       f"train MSE {_fmt(mse_tr)}, validation MSE {_fmt(mse_va)}; R² {_fmt(r2_tr)} against "
                       f"{_fmt(r2_va)}",
                       "Augment (use the task's symmetries), regularise, or get more data; choose on validation "
                       "data. If the validation inputs lie where no training input was (held-out positions, an "
                       "unseen range), it is extrapolation: build the invariance into the model (chapter 7).")
    return None


def check_plateau(p_tr: torch.Tensor, y_tr: torch.Tensor, p_va: torch.Tensor, y_va: torch.Tensor,
                  numbers: dict[str, float] | None = None) -> Finding | None:
    """``plateau`` (a note): 0.05 < validation R² < 0.9 with no train/validation gap (validation
    MSE under 1.5 times the training MSE): underfitting or a noise floor, not overfitting (chapter 9)."""
    mse_tr, mse_va, _, r2_va = _errors(p_tr, y_tr, p_va, y_va, numbers)
    if 0.05 < r2_va < 0.9 and mse_va < 1.5 * mse_tr:
        return Finding("plateau", "note", "A plateau without a train/validation gap: not overfitting",
                       f"train MSE {_fmt(mse_tr)}, validation MSE {_fmt(mse_va)}; validation R² {_fmt(r2_va)}",
                       "Tell underfitting from a noise floor: train longer or larger; estimate label noise from "
                       "repeated labels; read learning curves of both.")
    return None


def _spread(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float((pred.std(0) / target.std(0).clamp_min(1e-12)).mean())


def _readable(pred: torch.Tensor, target: torch.Tensor) -> bool:
    """Predictions that neither collapsed nor score like the mean: their slope means something."""
    return _spread(pred, target) >= 0.05 and r2(pred, target) > 0.05


def _slopes(pred: torch.Tensor, target: torch.Tensor, numbers: dict[str, float] | None) -> tuple[float, float]:
    slope = linear_fit(target[:, 0], pred[:, 0])["slope"]
    calib = linear_fit(pred[:, 0], target[:, 0])["slope"]
    if numbers is not None:
        numbers.update(slope=slope, calibration_slope=calib)
    return slope, calib


def check_calibration(pred: torch.Tensor, target: torch.Tensor,
                      numbers: dict[str, float] | None = None) -> Finding | None:
    """``calibration``: the slope of target on prediction (column 0) outside 0.8-1.25; skipped for
    collapsed predictions or R² at most 0.05."""
    if not _readable(pred, target):
        return None
    slope, calib = _slopes(pred, target, numbers)
    if not 0.8 <= calib <= 1.25:
        return Finding("calibration", "warning", "Miscalibrated: target on prediction has slope far from 1",
                       f"calibration slope {_fmt(calib)} (slope of prediction on target {_fmt(slope)})",
                       "Recalibrate on held-out data (fit target on prediction), then re-check.")
    return None


def check_slope(pred: torch.Tensor, target: torch.Tensor, numbers: dict[str, float] | None = None) -> Finding | None:
    """``slope`` (a note): the slope of prediction on target (column 0) below 0.9 while the model is
    calibrated: the shrinkage every good predictor shows (chapter 3)."""
    if not _readable(pred, target):
        return None
    slope, calib = _slopes(pred, target, numbers)
    if 0.8 <= calib <= 1.25 and slope < 0.9:
        return Finding("slope", "note", "Slope of prediction on target below 1: expected shrinkage",
                       f"slope {_fmt(slope)}, R² {_fmt(r2(pred, target))}, calibration slope {_fmt(calib)}",
                       "Do not stretch the predictions: it raises the error. Improve the model instead.")
    return None


def check_rare_ends(p_va: torch.Tensor, y_va: torch.Tensor, y_tr: torch.Tensor,
                    numbers: dict[str, float] | None = None) -> Finding | None:
    """``rare_ends``: errors concentrate at one end of the target range (column 0).

    Both ends of a healthy model err more than the middle (shrinkage towards the mean), and one end
    can be harder than the other; a warning needs an end whose MAE is over twice the other end's and
    over 0.25 target std, and where the training targets are at least twice as sparse (else a note).
    Needs 50 validation samples and readable predictions."""
    if y_va.shape[0] < 50 or r2(p_va, y_va) <= 0.05:
        return None
    t = y_va[:, 0]
    lo, hi = torch.quantile(t, 0.1), torch.quantile(t, 0.9)
    err = (p_va[:, 0] - t).abs()
    low_end, high_end = float(err[t <= lo].mean()), float(err[t >= hi].mean())
    ratio = max(low_end, high_end) / max(min(low_end, high_end), 1e-12)
    worse_mae = max(low_end, high_end) / float(t.std().clamp_min(1e-12))
    worse = "high" if high_end > low_end else "low"
    # how thinly the training targets are spread at each end: the width of the outer tenth (between
    # the 2% and 10% quantiles, and the 90% and 98% ones); a rare end is a wide, sparse one
    q = torch.quantile(y_tr[:, 0], torch.tensor([0.02, 0.1, 0.9, 0.98]))
    low_width, high_width = float(q[1] - q[0]), float(q[3] - q[2])
    w_worse, w_other = (high_width, low_width) if worse == "high" else (low_width, high_width)
    rarity = w_worse / max(w_other, 1e-12)
    if numbers is not None:
        numbers.update(end_to_end_mae_ratio=ratio, worse_end_mae_over_std=worse_mae, worse_end_rarity=rarity)
    if not (ratio > 2 and worse_mae > 0.25):
        return None
    rare = rarity >= 2
    return Finding("rare_ends", "warning" if rare else "note",
                   f"Errors concentrate at the {worse} end of the target range"
                   + (", where training targets are rare" if rare else ""),
                   f"MAE in the {worse}est tenth of the targets is {_fmt(ratio)}× the other end's "
                   f"({_fmt(worse_mae)} target std); the training targets are spread {_fmt(rarity)}× thinner "
                   "at that end",
                   "Collect or up-weight examples at that end; check a bounded head is not saturating."
                   if rare else "That end may simply be harder: look at its images before changing the data.")


def check_value_range(x_tr: torch.Tensor, x_va: torch.Tensor,
                      numbers: dict[str, float] | None = None) -> Finding | None:
    """``value_range``: the largest |value| of the validation inputs over that of the training
    inputs outside 0.67-1.5 (÷127 against ÷255)."""
    range_ratio = float(x_va.abs().amax() / x_tr.abs().amax().clamp_min(1e-12))
    if numbers is not None:
        numbers["value_range_ratio"] = range_ratio
    if not 0.67 <= range_ratio <= 1.5:
        return Finding("value_range", "problem", "Validation inputs have a different value range",
                       f"largest |value| of validation / training inputs = {_fmt(range_ratio)} (÷127 against ÷255?)",
                       "Use one preprocessing object, fitted on training data and saved with the model.")
    return None


def check_input_shift(x_tr: torch.Tensor, x_va: torch.Tensor) -> Finding | None:
    """``input_shift``: a two-sample test on per-image statistics (:func:`course_lib.diagnose.shift_check`)
    rejects 'same distribution' for the validation images (Bonferroni, α 0.01)."""
    if shift_check(x_tr, x_va)["shifted"]:
        return Finding("input_shift", "warning", "Validation inputs are shifted from training",
                       "a two-sample test on image statistics rejects 'same distribution' (Bonferroni, α 0.01)",
                       "Look for lighting, camera or preprocessing differences; train on data like the test data.")
    return None


def check_overfit_one_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn,
                            device: torch.device, seconds: float,
                            numbers: dict[str, float] | None = None) -> Finding | None:
    """``overfit_one_batch``: train ``model`` (pass a copy: it is trained) on the batch ``(x, y)`` for
    at most ``seconds`` (300 Adam steps at 1e-3); flagged if the loss stays above 0.1 Var(y)."""
    ratio, steps = _overfit_one_batch(model, x, y, loss_fn, device, seconds)
    if numbers is not None:
        numbers["overfit_one_batch"] = ratio
    if ratio > 0.1:
        return Finding("overfit_one_batch", "problem", "Cannot memorise 32 training samples",
                       f"loss / Var(y) = {_fmt(ratio)} after {steps} steps ({seconds:g} s allowed)",
                       "A pipeline problem (learning rate, scaling, output layer) comes before any data problem.")
    return None


# A finding that explains others measured on the same data: when the key fires, the findings it
# explains are kept as notes marked ``explained_by`` it, not reported as separate causes. Validation
# inputs at another value range distort every comparison of validation predictions with targets.
EXPLAINS: dict[str, tuple[str, ...]] = {
    "value_range": ("overfitting", "plateau", "calibration", "slope", "rare_ends", "collapse", "mean_predictor"),
}
# Measured on validation data but a failure in their own right when the training data shows it too:
# explained only when the training predictions are better than the mean (training R² above 0.05).
VALIDATION_ONLY = ("collapse", "mean_predictor")


def explain(findings: list[Finding], numbers: dict[str, float] | None = None) -> list[Finding]:
    """Mark the findings that another finding explains (see ``EXPLAINS``): each becomes a note whose
    ``explained_by`` names the cause, and the cause's evidence names what it explains. A collapse or
    mean-predictor finding is explained only if ``numbers["train_r2"]`` says training went well."""
    train_ok = numbers is not None and numbers.get("train_r2", -math.inf) > 0.05
    out = list(findings)
    for cause_check, effects in EXPLAINS.items():
        causes = [i for i, f in enumerate(out) if f.check == cause_check and f.explained_by is None]
        if not causes:
            continue
        cause = out[causes[0]]
        explained = []
        for i, f in enumerate(out):
            if f.check in effects and f.explained_by is None and (train_ok or f.check not in VALIDATION_ONLY):
                out[i] = replace(f, severity="note", explained_by=cause.check,
                                 title=f"{f.title} — explained by '{cause.check}' ({cause.title.lower()}), "
                                       "not a separate cause",
                                 advice=f"Fix '{cause.check}' first, then examine again.")
                explained.append(f.check)
        if explained:
            out[causes[0]] = replace(cause, evidence=f"{cause.evidence}; this also explains the "
                                                     f"{', '.join(explained)} finding(s) below")
    return out


def examine(model: nn.Module, train: Any, val: Any = None, *, loss: str | LossFn = "mse", batch_size: int = 256,
            max_samples: int = 4096, overfit_seconds: float | None = None) -> Report:
    """Examine ``model`` on ``train`` (and ``val``, if given) and return a :class:`Report`.

    * ``model``: any ``torch.nn.Module`` mapping images to predictions; it is copied, never changed,
      and run on the device its parameters are on.
    * ``train``, ``val``: ``(x, y)`` tensors or a DataLoader of ``(x, y)`` batches (at most
      ``max_samples`` samples of each are used). Without ``val`` the checks that compare training
      with validation data are skipped.
    * ``loss``: the training loss, for the gradient check (a name of :func:`course_lib.losses.get_loss`
      or a callable).
    * ``overfit_seconds``: if set, also try to memorise 32 training samples for at most this many
      seconds (the overfit-one-batch check); off by default because it trains.

    The evidence (predictions, the first and last weight layers' values, gradients) is gathered once
    and each ``check_*`` function of this module reads what it needs; a finding that explains others
    (validation inputs at another value range) marks them (:func:`explain`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())
    if not params:
        raise ValueError("model has no parameters: there is nothing to examine")
    batch_size = check_positive_int(batch_size, "batch_size")
    max_samples = check_positive_int(max_samples, "max_samples")
    loss_fn = get_loss(loss)
    if overfit_seconds is not None:
        overfit_seconds = check_number(overfit_seconds, "overfit_seconds", low=0.0)
    x_tr, y_tr = _collect(train, "train", max_samples)
    has_val = val is not None
    x_va, y_va = _collect(val, "val", max_samples) if has_val else (x_tr, y_tr)
    if x_va.shape[1:] != x_tr.shape[1:]:
        raise ValueError(f"val's images {tuple(x_va.shape[1:])} differ in shape from train's {tuple(x_tr.shape[1:])}")

    device = params[0].device
    work = copy.deepcopy(model).eval()
    findings: list[Finding] = []
    numbers: dict[str, float] = {}
    pairs = _predictions(work, x_tr, y_tr, x_va, y_va, device, batch_size, findings)
    if pairs is not None:
        _run_checks(work, x_tr, x_va, pairs, has_val, loss_fn, device, batch_size, findings, numbers)
        if overfit_seconds is not None:  # trains a fresh copy, bounded in time
            findings.append(check_overfit_one_batch(copy.deepcopy(model), x_tr[:32], pairs[1][:32], loss_fn,
                                                    device, overfit_seconds, numbers))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings = sorted(explain([f for f in findings if f is not None], numbers), key=lambda f: order[f.severity])
    return Report(findings, numbers)


def _predictions(work: nn.Module, x_tr: torch.Tensor, y_tr: torch.Tensor, x_va: torch.Tensor,
                 y_va: torch.Tensor, device: torch.device, batch_size: int, findings: list[Finding | None]
                 ) -> tuple[torch.Tensor, ...] | None:
    """Predictions and targets of both sets in (N, k) form, ``(p_tr, y_tr, p_va, y_va)``; None
    (with the finding added) when their shapes cannot be matched or the predictions are not finite."""
    p_tr, p_va = _predict(work, x_tr, device, batch_size), _predict(work, x_va, device, batch_size)
    findings.append(check_shapes(p_tr, y_tr))
    if findings[-1] is not None:
        if p_tr.numel() != y_tr.numel():
            return None
        y_tr, y_va = y_tr.reshape(p_tr.shape), y_va.reshape(p_va.shape)
    if y_tr.ndim == 1:
        p_tr, p_va, y_tr, y_va = p_tr[:, None], p_va[:, None], y_tr[:, None], y_va[:, None]
    findings.append(check_finite(p_tr, p_va))
    return None if findings[-1] is not None else (p_tr, y_tr, p_va, y_va)


def _run_checks(work: nn.Module, x_tr: torch.Tensor, x_va: torch.Tensor, pairs: tuple[torch.Tensor, ...],
                has_val: bool, loss_fn: LossFn, device: torch.device, batch_size: int,
                findings: list[Finding | None], numbers: dict[str, float]) -> None:
    """Every check on the gathered evidence, in the report's order; findings (or None) appended."""
    p_tr, y_tr, p_va, y_va = pairs
    # What the first weight layer receives and what the last one outputs, on a training batch.
    first_in, last_out = _layer_ends(work, x_tr[:batch_size], device)
    which = "validation" if has_val else "training"
    findings += [check_input_scale(first_in, numbers), check_target_scale(y_tr, p_tr, last_out, numbers),
                 check_collapse(p_va, y_va, which, numbers), check_mean_predictor(p_va, y_va, which, numbers),
                 check_output_activation(_last_leaf(work), y_tr), check_dead_relus(work, x_tr[:1024], numbers),
                 check_gradients(relative_gradients(work, x_tr[:batch_size], y_tr[:batch_size], loss_fn, device),
                                 numbers)]
    if has_val:
        findings += [check_overfitting(p_tr, y_tr, p_va, y_va, numbers), check_plateau(p_tr, y_tr, p_va, y_va, numbers)]
    findings += [check_calibration(p_va, y_va, numbers), check_slope(p_va, y_va, numbers),
                 check_rare_ends(p_va, y_va, y_tr, numbers)]
    if has_val and x_tr.ndim == 4 and x_tr.shape[0] >= 20 and x_va.shape[0] >= 20:
        findings.append(check_value_range(x_tr, x_va, numbers))
        if findings[-1] is None:  # a different range is the shift to name
            findings.append(check_input_shift(x_tr, x_va))


def _overfit_one_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn, device: torch.device,
                       seconds: float, max_steps: int = 300, lr: float = 1e-3) -> tuple[float, int]:
    """Train ``model`` (a copy) on one batch for at most ``seconds``; return (final loss / Var(y), steps)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xb, yb = x.to(device), y.to(device)
    start, steps, value = time.perf_counter(), 0, math.inf
    while steps < max_steps and time.perf_counter() - start < seconds:
        opt.zero_grad(set_to_none=True)
        out = model(xb).float()
        batch_loss = loss_fn(out.reshape(yb.shape) if out.numel() == yb.numel() else out, yb)
        batch_loss.backward()
        opt.step()
        value, steps = float(batch_loss.detach()), steps + 1
    var = float(((y - y.mean(0)) ** 2).mean())
    return (value / var if var > 0 else value), steps


__all__ = ["BOOK_URL", "Finding", "Report", "check_calibration", "check_collapse", "check_dead_relus",
           "check_finite", "check_gradients", "check_input_scale", "check_input_shift", "check_mean_predictor",
           "check_output_activation", "check_overfit_one_batch", "check_overfitting", "check_plateau",
           "check_rare_ends", "check_shapes", "check_slope", "check_target_scale", "check_value_range", "examine",
           "explain", "relative_gradients"]
