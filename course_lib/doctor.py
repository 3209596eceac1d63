"""The regression doctor: run the book's checks on any regression model and its data.

``cl.doctor.examine(model, train, val)`` takes a ``torch.nn.Module`` and data as ``(x, y)``
tensors or a ``DataLoader`` of ``(x, y)`` batches, and returns a :class:`Report`: a list of
:class:`Finding` objects, each with its evidence (the numbers), a severity, what to try, and the
section of the book that explains it. A report displays as a table in a notebook and as plain
text in a terminal.

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
from dataclasses import dataclass, field
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
    "plateau": "notebooks/04_augmentation_invariance.html",
    "slope": "notebooks/03_slope_shrinkage.html",
    "calibration": "notebooks/03_slope_shrinkage.html#the-right-check-target-on-prediction",
    "rare_ends": "notebooks/05_shift_and_calibration.html#imbalance-the-rare-end-of-the-target",
    "input_shift": "notebooks/05_shift_and_calibration.html#detect-shift-before-it-bites",
    "value_range": "notebooks/05_shift_and_calibration.html",
    "overfit_one_batch": "notebooks/02_mean_collapse.html#separate-the-causes",
}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor noticed: which ``check``, how serious, the numbers, what to try, where to read."""

    check: str
    severity: str
    title: str
    evidence: str
    advice: str

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
        colours = {"problem": "#c0392b", "warning": "#d68910", "note": "#2e86c1"}
        rows = "".join(
            f"<tr><td style='color:{colours[f.severity]};font-weight:bold'>{f.severity}</td>"
            f"<td>{html.escape(f.title)}</td><td>{html.escape(f.evidence)}</td><td>{html.escape(f.advice)}</td>"
            f"<td><a href='{html.escape(f.url)}'>read</a></td></tr>" for f in self.findings)
        return ("<table><thead><tr><th>severity</th><th>finding</th><th>evidence</th><th>what to try</th>"
                f"<th>book</th></tr></thead><tbody>{rows}</tbody></table>")


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
    add = findings.append

    p_tr, p_va = _predict(work, x_tr, device, batch_size), _predict(work, x_va, device, batch_size)

    # Shapes: a (N,) target against (N, 1) outputs broadcasts to an (N, N) comparison.
    if p_tr.shape != y_tr.shape:
        if y_tr.ndim == 1 and p_tr.ndim == 2 and p_tr.shape[1] == 1:
            add(Finding("shapes", "problem", "Targets (N,) against outputs (N, 1): a loss would broadcast them",
                        f"outputs {tuple(p_tr.shape)}, targets {tuple(y_tr.shape)}",
                        "Reshape the targets to (N, 1) (y[:, None]) before the loss."))
        else:
            add(Finding("shapes", "problem", "Outputs and targets differ in shape",
                        f"outputs {tuple(p_tr.shape)}, targets {tuple(y_tr.shape)}",
                        "Make the model output one column per target."))
        if p_tr.numel() != y_tr.numel():
            return Report(findings, numbers)
        y_tr, y_va = y_tr.reshape(p_tr.shape), y_va.reshape(p_va.shape)
    if y_tr.ndim == 1:
        p_tr, p_va, y_tr, y_va = p_tr[:, None], p_va[:, None], y_tr[:, None], y_va[:, None]
    if not (bool(torch.isfinite(p_tr).all()) and bool(torch.isfinite(p_va).all())):
        add(Finding("collapse", "problem", "The model outputs NaN or infinite values",
                    "non-finite predictions", "Lower the learning rate; check the loss for log(0) or division by 0."))
        return Report(findings, numbers)

    # Scales of what the first weight layer receives and of what the loss compares: a model that
    # standardises inside (cl.models.ScaledModel, a normalisation layer) is not flagged.
    first_in, last_out = _layer_ends(work, x_tr[:batch_size], device)
    x_std, x_max = float(first_in.std()), float(first_in.abs().max())
    numbers.update(input_std=x_std, input_max=x_max)
    if x_max > 20 or x_std > 10:
        add(Finding("input_scale", "warning", "Inputs far from unit scale",
                    f"the first layer receives values with std {_fmt(x_std)}, largest |value| {_fmt(x_max)} "
                    "(raw 0-255 pixels?)", "Divide pixels by 255 or standardise the inputs with training statistics."))
    y_mean, y_std = y_tr.mean(0), y_tr.std(0)
    far = float((y_mean.abs() / y_std.clamp_min(1e-12)).max())
    numbers.update(target_std=float(y_std.max()))
    p_first = p_tr[: last_out.shape[0]]
    rescaled = (last_out.shape == p_first.shape and float(last_out.std()) > 0
                and abs(math.log(float(p_first.std().clamp_min(1e-12)) / float(last_out.std()))) > math.log(3))
    if not rescaled and (float(y_std.max()) > 10 or float(y_std.min()) < 0.01 or far > 10):
        add(Finding("target_scale", "warning", "Targets far from unit scale",
                    f"target std {_fmt(float(y_std.min()))}..{_fmt(float(y_std.max()))}, |mean| / std up to "
                    f"{_fmt(far)}, compared by the loss with the last layer's raw output",
                    "Standardise the targets (cl.Standardizer) or start the output bias at their mean."))

    # No better than the mean; collapsed predictions.
    score = r2(p_va, y_va)
    spread = float((p_va.std(0) / y_va.std(0).clamp_min(1e-12)).mean())
    numbers.update(r2=score, spread_ratio=spread)
    which = "validation" if has_val else "training"
    if spread < 0.05:
        add(Finding("collapse", "problem", "Predictions have collapsed to (nearly) a constant",
                    f"prediction std / target std {_fmt(spread)} on {which} data",
                    "Lower the learning rate, scale inputs and targets, and check for dead ReLUs and the output layer."))
    if score <= 0.05:
        add(Finding("mean_predictor", "problem", "No better than predicting the mean",
                    f"{which} R² {_fmt(score)} (MSE against Var(y))",
                    "Overfit one batch first; then check scaling, learning rate and the output layer."))

    # An output activation that cannot reach the targets.
    last = _last_leaf(work)
    bounds = {nn.ReLU: (0.0, math.inf), nn.Softplus: (0.0, math.inf), nn.Sigmoid: (0.0, 1.0), nn.Tanh: (-1.0, 1.0)}
    for kind, (lo, hi) in bounds.items():
        if isinstance(last, kind):
            outside = float(((y_tr < lo) | (y_tr > hi)).float().mean())
            if outside > 0:
                add(Finding("output_activation", "problem", f"The output layer ends in {kind.__name__}",
                            f"{outside:.0%} of the training targets lie outside its range [{lo}, {hi}]",
                            "Remove the activation after the last layer (a linear output), or rescale the targets."))

    # Dead ReLUs per layer: a healthy network has some; a layer that is (nearly) all dead has stopped learning.
    if any(isinstance(m, nn.ReLU) for m in work.modules()):
        dead = dead_relu_fractions(work, x_tr[:1024])  # the ReLU modules the forward pass calls
        worst = max(dead, key=dead.get) if dead else None
        if worst is not None:
            numbers["dead_relu_max"] = dead[worst]
        if worst is not None and dead[worst] >= 0.9:
            add(Finding("dead_relus", "problem", "A layer of dead ReLU units",
                        f"{dead[worst]:.0%} of the units of '{worst}' never fire on {min(1024, x_tr.shape[0])} "
                        "training images", "Lower the learning rate; scale the inputs; check the initialisation."))

    # Gradients per layer, relative to the weights.
    work.zero_grad(set_to_none=True)
    xb, yb = x_tr[:batch_size].to(device), y_tr[:batch_size].to(device)
    out = work(xb).float()
    var_y = float(((y_tr - y_tr.mean(0)) ** 2).mean()) or 1.0  # a loss in units of Var(y): scale-free gradients
    loss_value = loss_fn(out.reshape(yb.shape) if out.numel() == yb.numel() else out, yb) / var_y
    if loss_value.requires_grad:
        loss_value.backward()
        rel = {n: float(p.grad.norm() / p.detach().norm().clamp_min(1e-12)) for n, p in work.named_parameters()
               if p.grad is not None and n.endswith("weight")}
        work.zero_grad(set_to_none=True)
        if rel:
            top, low = max(rel, key=rel.get), min(rel, key=rel.get)
            numbers.update(grad_rel_min=rel[low], grad_rel_max=rel[top])
            if rel[top] > 100:
                add(Finding("gradients", "warning", "Exploding gradients",
                            f"|grad| / |w| = {_fmt(rel[top])} for '{top}'",
                            "Lower the learning rate, scale the inputs and targets, fix the initialisation, "
                            "or clip gradients."))
            elif rel[top] < 1e-7:
                add(Finding("gradients", "warning", "Vanishing gradients in every layer",
                            f"|grad| / |w| at most {_fmt(rel[top])} (in '{top}')",
                            "Check for dead units, saturated activations or a loss that no longer depends on the outputs."))
            elif rel[low] < 1e-4 * rel[top]:
                add(Finding("gradients", "warning", "Vanishing gradients in some layers",
                            f"|grad| / |w| = {_fmt(rel[low])} for '{low}' against {_fmt(rel[top])} for '{top}'",
                            "Those layers barely learn: look for saturated activations (sigmoid, tanh) or dead units "
                            "between them and the output; use ReLU, normalisation or residual connections."))

    if has_val:
        mse_tr, mse_va = float(((p_tr - y_tr) ** 2).mean()), float(((p_va - y_va) ** 2).mean())
        r2_tr = r2(p_tr, y_tr)
        numbers.update(train_mse=mse_tr, val_mse=mse_va, train_r2=r2_tr)
        if mse_va > 2 * mse_tr and r2_tr - score > 0.1:
            add(Finding("overfitting", "warning", "Overfitting: validation error far above training error",
                        f"train MSE {_fmt(mse_tr)}, validation MSE {_fmt(mse_va)}; R² {_fmt(r2_tr)} against {_fmt(score)}",
                        "Augment (use the task's symmetries), regularise, or get more data; choose on validation data. "
                        "If the validation inputs lie where no training input was (held-out positions, an unseen "
                        "range), it is extrapolation: build the invariance into the model (chapter 7)."))
        elif 0.05 < score < 0.9 and mse_va < 1.5 * mse_tr:
            add(Finding("plateau", "note", "A plateau without a train/validation gap: not overfitting",
                        f"train MSE {_fmt(mse_tr)}, validation MSE {_fmt(mse_va)}; validation R² {_fmt(score)}",
                        "Tell underfitting from a noise floor: train longer or larger; estimate label noise from "
                        "repeated labels; read learning curves of both."))

    # Slope and calibration (column 0).
    if spread >= 0.05 and score > 0.05:
        slope = linear_fit(y_va[:, 0], p_va[:, 0])["slope"]
        calib = linear_fit(p_va[:, 0], y_va[:, 0])["slope"]
        numbers.update(slope=slope, calibration_slope=calib)
        if not 0.8 <= calib <= 1.25:
            add(Finding("calibration", "warning", "Miscalibrated: target on prediction has slope far from 1",
                        f"calibration slope {_fmt(calib)} (slope of prediction on target {_fmt(slope)})",
                        "Recalibrate on held-out data (fit target on prediction), then re-check."))
        elif slope < 0.9:
            add(Finding("slope", "note", "Slope of prediction on target below 1: expected shrinkage",
                        f"slope {_fmt(slope)}, R² {_fmt(score)}, calibration slope {_fmt(calib)}",
                        "Do not stretch the predictions: it raises the error. Improve the model instead."))

    # Error by target range: the rare end (chapter 5). Both ends of a healthy model err more than
    # the middle (shrinkage towards the mean), and one end can be harder than the other; a warning
    # needs an end that is both far worse and rare in the training targets.
    if y_va.shape[0] >= 50 and score > 0.05:
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
        numbers.update(end_to_end_mae_ratio=ratio, worse_end_mae_over_std=worse_mae, worse_end_rarity=rarity)
        if ratio > 2 and worse_mae > 0.25:
            rare = rarity >= 2
            add(Finding("rare_ends", "warning" if rare else "note",
                        f"Errors concentrate at the {worse} end of the target range"
                        + (", where training targets are rare" if rare else ""),
                        f"MAE in the {worse}est tenth of the targets is {_fmt(ratio)}× the other end's "
                        f"({_fmt(worse_mae)} target std); the training targets are spread {_fmt(rarity)}× thinner "
                        "at that end",
                        "Collect or up-weight examples at that end; check a bounded head is not saturating."
                        if rare else "That end may simply be harder: look at its images before changing the data."))

    # Validation inputs shifted from training.
    if has_val and x_tr.ndim == 4 and x_tr.shape[0] >= 20 and x_va.shape[0] >= 20:
        range_ratio = float(x_va.abs().amax() / x_tr.abs().amax().clamp_min(1e-12))
        numbers["value_range_ratio"] = range_ratio
        if not 0.67 <= range_ratio <= 1.5:
            add(Finding("value_range", "problem", "Validation inputs have a different value range",
                        f"largest |value| of validation / training inputs = {_fmt(range_ratio)} (÷127 against ÷255?)",
                        "Use one preprocessing object, fitted on training data and saved with the model."))
        elif shift_check(x_tr, x_va)["shifted"]:
            add(Finding("input_shift", "warning", "Validation inputs are shifted from training",
                        "a two-sample test on image statistics rejects 'same distribution' (Bonferroni, α 0.01)",
                        "Look for lighting, camera or preprocessing differences; train on data like the test data."))

    # Optional: overfit one batch, bounded in time, on a copy.
    if overfit_seconds is not None:
        ratio, steps = _overfit_one_batch(copy.deepcopy(model), x_tr[:32], y_tr[:32], loss_fn, device,
                                          overfit_seconds)
        numbers["overfit_one_batch"] = ratio
        if ratio > 0.1:
            add(Finding("overfit_one_batch", "problem", "Cannot memorise 32 training samples",
                        f"loss / Var(y) = {_fmt(ratio)} after {steps} steps ({overfit_seconds:g} s allowed)",
                        "A pipeline problem (learning rate, scaling, output layer) comes before any data problem."))

    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: order[f.severity])
    return Report(findings, numbers)


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


__all__ = ["BOOK_URL", "Finding", "Report", "examine"]
