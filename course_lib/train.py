"""One training loop, ``fit``, used by every chapter, and ``predict``.

The loop keeps the data on the device, shuffles with a seeded generator, and never calls
``.item()`` per batch: losses are summed on the device and read once per epoch.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_finite, check_images, check_number, check_pair, check_positive_int
from .augment import TargetAware
from .config import get_device
from .data import Standardizer

LOSSES = ("mse", "mae", "huber", "msle", "cross_entropy", "gaussian_nll")
WEIGHTED_LOSSES = {"mse": lambda out, y: (out - y) ** 2, "mae": lambda out, y: (out - y).abs(),
                   "huber": lambda out, y: nn.functional.huber_loss(out, y, reduction="none"),
                   "cross_entropy": lambda out, y: -(y * out.log_softmax(1)).sum(1, keepdim=True)}
OPTIMIZERS = ("adam", "sgd", "adamw")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def msle_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared logarithmic error, ``mean((log1p(pred) - log1p(target))**2)``.

    Predictions are clamped at 0 first (as Keras does), so negative outputs get no gradient.
    """
    return torch.mean((torch.log1p(pred.clamp_min(0.0)) - torch.log1p(target.clamp_min(0.0))) ** 2)


def cross_entropy_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of class ``logits`` (N, K) against one-hot (or soft) class probabilities (N, K).

    Targets are probabilities rather than class numbers so that :func:`fit` can keep its float
    (N, k) targets; ``torch.nn.functional.one_hot(labels, K).float()`` makes them.
    """
    return nn.functional.cross_entropy(logits, target)


def gaussian_nll_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gaussian negative log-likelihood (without the constant) of targets (N, k) under a model
    whose outputs (N, 2k) are the means, then the log-variances (clamped to ±12 for stability)."""
    k = target.shape[1]
    mean, log_var = out[:, :k], out[:, k:].clamp(-12.0, 12.0)
    return 0.5 * (log_var + (target - mean) ** 2 * torch.exp(-log_var)).mean()


gaussian_nll_loss.output_shape = lambda shape: (shape[0], 2 * shape[1])  # type: ignore[attr-defined]


def split_gaussian(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split the outputs (N, 2k) of a model trained with ``gaussian_nll`` into means and standard deviations."""
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] % 2:
        raise ValueError(f"out must be a tensor (N, 2k) of means then log-variances, got "
                         f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    k = out.shape[1] // 2
    return out[:, :k], torch.exp(0.5 * out[:, k:].clamp(-12.0, 12.0))


def get_loss(loss: str | LossFn) -> LossFn:
    """Return a loss function by name (``'mse'``, ``'mae'``, ``'huber'``, ``'msle'``,
    ``'cross_entropy'``, ``'gaussian_nll'``) or pass a callable through."""
    if callable(loss):
        return loss
    table: dict[str, LossFn] = {"mse": nn.functional.mse_loss, "mae": nn.functional.l1_loss,
                                "huber": nn.functional.huber_loss, "msle": msle_loss,
                                "cross_entropy": cross_entropy_loss, "gaussian_nll": gaussian_nll_loss}
    if not isinstance(loss, str) or loss not in table:
        raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")
    return table[loss]


@dataclass
class History:
    """What ``fit`` records per epoch: mean training loss, validation loss, and extra metrics.

    ``extra`` holds whatever an ``on_epoch_end`` callback returns (a dict of numbers per epoch).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.train_loss)


def _check_data(data: object, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (x, y) of tensors")
    x, y = data
    check_images(x, f"{name}[0] (images)")
    if not isinstance(y, torch.Tensor) or not y.is_floating_point():
        raise TypeError(f"{name}[1] (targets) must be a floating-point torch.Tensor")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    check_finite(y, f"{name}[1] (targets)")
    return x, y


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    return os.environ.get("COURSE_PROGRESS", "1") != "0"


def _make_optimizer(name: str, params: object, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate_loss(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], loss: str | LossFn = "mse",
                  batch_size: int = 1024, device: str | torch.device | None = None) -> float:
    """Mean loss of ``model`` on ``data`` in evaluation mode (no gradient, batch norm frozen)."""
    pred = predict(model, data[0], batch_size=batch_size, device=device)
    return float(get_loss(loss)(pred, data[1].to(pred.device)))


def fit(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor] | None = None, *, epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 128, loss: str | LossFn = "mse", optimizer: str = "adam",
        weight_decay: float = 0.0, device: str | torch.device | None = None, amp: bool = False,
        augment: Augment | None = None, seed: int = 0, check_shapes: bool = True,
        sample_weight: torch.Tensor | None = None, progress: bool | None = None,
        on_epoch_end: Callable[[int, nn.Module], dict[str, float]] | None = None,
        channels_last: bool = False, compile: bool = False, lr_schedule: str = "constant") -> History:
    """Train ``model`` on ``train = (x, y)`` and return its :class:`History`.

    * ``val``: an optional ``(x, y)`` pair evaluated after every epoch (model in eval mode).
    * ``loss``: ``'mse'``, ``'mae'``, ``'huber'``, ``'msle'`` or a callable ``loss(pred, y)``.
    * ``augment``: an optional ``augment(x_batch, generator) -> x_batch`` applied to each
      training batch, or a :class:`course_lib.augment.TargetAware` one that changes the targets
      too (see :mod:`course_lib.augment`).
    * ``amp``: bfloat16 autocast on CUDA (ignored elsewhere).
    * ``channels_last``: keep the images and the model's weights in channels-last (NHWC) memory
      order, converted once before training. The numbers are the same up to float rounding.
      Whether it pays depends on the model and machine: on a 2-core CPU six runs of
      ``make benchmark`` gave its SmallCNN between 3% slower and 30% faster, and chapter 4 took
      75 s with it against 62 s without, so it is off unless asked for.
    * ``compile``: train through ``torch.compile(model)`` (the model itself is updated and
      returned as it is; evaluation runs uncompiled). The first batches wait for the compiler
      (10–14 s for a small CNN on a 2-core CPU, which also needs a C++ compiler); later models
      of the same architecture and image size reuse the compiled code. It pays for long runs;
      the Running fast page gives the measured numbers.
    * ``lr_schedule``: ``'constant'`` (``lr`` throughout) or ``'cosine'`` (from ``lr`` down to
      zero over the run, step by step, so the last epoch's weights no longer jump around with
      the noise of single batches).
    * ``sample_weight``: optional weights (N,), one per training sample, for ``'mse'``, ``'mae'``,
      ``'huber'`` or ``'cross_entropy'``: each batch's loss is the weighted mean (e.g. to up-weight
      rare targets or rare classes).
    * ``check_shapes``: refuse predictions whose shape differs from the targets' (the silent
      broadcast of a (N,) target against (N, 1) outputs). Chapter 2 turns it off to show the bug.
    * ``on_epoch_end(epoch, model)``: may return a dict of numbers, recorded in ``history.extra``
      (``None``, an undefined number such as the calibration slope of constant predictions, as NaN).
    * ``progress``: a progress bar (default: on, unless ``COURSE_PROGRESS=0``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = _check_data(train, "train")
    if val is not None:
        _check_data(val, "val")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(channels_last, bool):
        raise TypeError(f"channels_last must be True or False, got {channels_last!r}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if not isinstance(compile, bool):
        raise TypeError(f"compile must be True or False, got {compile!r}")
    lr = check_number(lr, "lr", low=0.0)
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    loss_fn = get_loss(loss)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function (x, generator) -> x, got {type(augment).__name__}")
    dev = get_device(device)
    weights = None
    if sample_weight is not None:
        if not isinstance(loss, str) or loss not in WEIGHTED_LOSSES:
            raise ValueError(f"sample_weight works with loss in {tuple(WEIGHTED_LOSSES)}, got {loss!r}")
        if not isinstance(sample_weight, torch.Tensor) or sample_weight.shape != (x.shape[0],):
            raise ValueError(f"sample_weight must be a tensor of shape ({x.shape[0]},), one weight per sample")
        check_finite(sample_weight.float(), "sample_weight")
        if bool((sample_weight < 0).any()) or float(sample_weight.sum()) <= 0:
            raise ValueError("sample_weight must be >= 0 with a positive sum")
        weights = sample_weight.to(dev, torch.float32)
        elementwise = WEIGHTED_LOSSES[loss]
    expected_shape = getattr(loss_fn, "output_shape", lambda shape: shape)

    model.to(dev)
    x, y = x.to(dev), y.to(dev)
    if channels_last:  # once, before training: batches cut from x keep the memory order
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    step_model = torch.compile(model) if compile else model  # shares the weights with model
    n = x.shape[0]
    total_steps, step = epochs * math.ceil(n / batch_size), 0
    gen = torch.Generator().manual_seed(int(seed))
    aug_gen = torch.Generator(device=dev).manual_seed(int(seed) + 1) if augment else None
    history = History()
    bar = tqdm(range(epochs), desc="epochs", disable=not _progress_enabled(progress), leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=gen).to(dev)
        total = torch.zeros((), device=dev)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            if isinstance(augment, TargetAware):
                xb, yb = augment(xb, yb, aug_gen)
            elif augment is not None:
                xb = augment(xb, aug_gen)
            with _autocast(dev, amp):
                out = step_model(xb)
            out = out.float()
            if check_shapes and out.shape != expected_shape(yb.shape):
                raise ValueError(f"model output shape {tuple(out.shape)} differs from the expected "
                                 f"{tuple(expected_shape(yb.shape))} for targets {tuple(yb.shape)}: the loss "
                                 "would broadcast them (reshape the targets)")
            if weights is None:
                batch_loss = loss_fn(out, yb)
            else:
                wb = weights[idx]
                batch_loss = (elementwise(out, yb).mean(1) * wb).sum() / wb.sum().clamp_min(1e-12)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            if lr_schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            opt.step()
            step += 1
            total += batch_loss.detach() * idx.numel()
        history.train_loss.append(float(total) / n)
        if val is not None:
            history.val_loss.append(evaluate_loss(model, val, loss_fn, device=dev))
        if on_epoch_end is not None:
            for key, value in (on_epoch_end(epoch, model) or {}).items():
                history.extra.setdefault(key, []).append(math.nan if value is None else float(value))
        if not bar.disable:
            bar.set_postfix(train=f"{history.train_loss[-1]:.4g}",
                            val=f"{history.val_loss[-1]:.4g}" if history.val_loss else "-")
    return history


def fit_restarts(make_model: Callable[[], nn.Module], train: tuple[torch.Tensor, torch.Tensor],
                 val: tuple[torch.Tensor, torch.Tensor] | None = None, *, restarts: int = 5, seed: int = 0,
                 **fit_kwargs: object) -> list[tuple[nn.Module, History]]:
    """Train ``restarts`` models from different random initialisations on the same data.

    Restart ``r`` seeds PyTorch with ``1000 * seed + r`` before calling ``make_model()`` and
    shuffles with the same number, so every run is reproducible. Returns ``(model, history)``
    pairs. Use it to see whether an outcome is the setup's or one initialisation's luck.
    """
    if not callable(make_model) or isinstance(make_model, nn.Module):
        raise TypeError("make_model must be a function that returns a new nn.Module (not a model)")
    restarts = check_positive_int(restarts, "restarts")
    seed = check_positive_int(seed, "seed", minimum=0)
    results = []
    for r in range(restarts):
        torch.manual_seed(1000 * seed + r)
        model = make_model()
        results.append((model, fit(model, train, val, seed=1000 * seed + r, **fit_kwargs)))
    return results


class ScaledModel(nn.Module):
    """``net`` with its preprocessing inside it: images standardised with the training set's
    statistics on the way in, outputs mapped back to target units on the way out.

    ``core`` (input standardisation + ``net``) is what trains, on standardised targets; calling
    the model gives predictions in target units. The statistics are buffers, saved in the
    ``state_dict`` with the weights, so training and test data cannot be preprocessed differently.

    ``x_range`` (the smallest and largest training input value, also a saved buffer) arms an input
    check when ``check_inputs`` is true: in evaluation mode a batch that leaves the training range
    by more than a tenth of its width, or whose largest value stays below the middle of the range
    (as when a serving script divides by 127 or 255 pixels the model expects raw), is refused with
    a ``ValueError`` instead of being predicted silently wrong.
    """

    def __init__(self, net: nn.Module, x_scaler: Standardizer, y_scaler: Standardizer,
                 x_range: tuple[float, float] | None = None, check_inputs: bool = False) -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        if not isinstance(x_scaler, Standardizer) or not isinstance(y_scaler, Standardizer):
            raise TypeError("x_scaler and y_scaler must be course_lib Standardizer objects")
        if not y_scaler.fitted:
            raise ValueError("y_scaler is not fitted yet: call .fit(training_targets) first")
        low, high = (-math.inf, math.inf) if x_range is None else x_range
        if not float(low) < float(high):
            raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
        self.core = nn.Sequential(x_scaler.as_module(), net)
        self.register_buffer("y_mean", y_scaler.mean.detach().clone())
        self.register_buffer("y_std", y_scaler.std.detach().clone())
        self.register_buffer("x_range", torch.tensor([float(low), float(high)]))
        self.check_inputs = bool(check_inputs)

    def _check_range(self, x: torch.Tensor) -> None:
        low, high = (float(v) for v in self.x_range)
        if not (math.isfinite(low) and math.isfinite(high)) or x.numel() == 0:
            return
        span = high - low
        xmin, xmax = float(x.min()), float(x.max())
        if xmin < low - 0.1 * span or xmax > high + 0.1 * span or xmax < low + 0.5 * span:
            raise ValueError(
                f"x: inputs span [{xmin:.3g}, {xmax:.3g}] but the model was trained on inputs in "
                f"[{low:.3g}, {high:.3g}]: were they rescaled (divided by 127 or 255, say) before reaching "
                f"a model that carries its own preprocessing? Feed them as in training, or set "
                f"model.check_inputs = False to predict anyway")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions in target units. A Gaussian head (twice as many outputs as targets, trained
        with ``loss='gaussian_nll'``) gives means in target units, then log-variances in squared
        target units, so :func:`split_gaussian` works on its output unchanged."""
        if self.check_inputs and not self.training:
            self._check_range(x)
        out = self.core(x)
        k = self.y_mean.shape[-1]
        if out.ndim == 2 and out.shape[1] == 2 * k:
            return torch.cat([out[:, :k] * self.y_std + self.y_mean,
                              out[:, k:] + 2 * torch.log(self.y_std)], dim=1)
        return out * self.y_std + self.y_mean


def fit_scaled(net: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
               val: tuple[torch.Tensor, torch.Tensor] | None = None, **fit_kwargs: object
               ) -> tuple[ScaledModel, History]:
    """Standardise images and targets with statistics of ``train`` only, train ``net`` with
    :func:`fit` on the standardised data, and return ``(model, history)``.

    ``model`` is a :class:`ScaledModel`: it takes raw images and predicts in target units, so
    ``predict(model, x_test)`` needs no preprocessing by hand. Losses in ``history`` are in
    standardised units (1.0 = the mean predictor). Targets must be (N, k). ``check_inputs=True``
    arms the model's input-range check (see :class:`ScaledModel`). A target-aware
    augmentation (:class:`course_lib.augment.TargetAware`) sees the targets in their own units.
    """
    x, y = _check_data(train, "train")
    if y.ndim != 2:
        raise ValueError(f"train[1] (targets) must have shape (N, k), got {tuple(y.shape)}")
    check_inputs = fit_kwargs.pop("check_inputs", False)
    model = ScaledModel(net, Standardizer().fit(x), Standardizer().fit(y),
                        x_range=(float(x.min()), float(x.max())), check_inputs=bool(check_inputs))
    scale = model.y_mean.cpu(), model.y_std.cpu()

    def standardise(pair: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return pair[0], (pair[1] - scale[0].to(pair[1].device)) / scale[1].to(pair[1].device)

    if val is not None:
        _check_data(val, "val")
    augment = fit_kwargs.get("augment")
    if isinstance(augment, TargetAware):  # it must see targets in the caller's units
        def in_target_units(xb: torch.Tensor, yb: torch.Tensor, gen: torch.Generator | None
                            ) -> tuple[torch.Tensor, torch.Tensor]:
            mean, std = model.y_mean.to(yb.device), model.y_std.to(yb.device)
            xb, yb = augment(xb, yb * std + mean, gen)
            return xb, (yb - mean) / std

        fit_kwargs["augment"] = TargetAware(in_target_units)
    history = fit(model.core, standardise((x, y)), None if val is None else standardise(val), **fit_kwargs)
    return model, history


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, steps: int = 200) -> float:
    """Temperature scaling (Guo et al., 2017): the ``T > 0`` that minimises the log-loss of
    ``softmax(logits / T)`` on held-out ``labels``. Dividing by ``T`` never changes the predicted
    class, so accuracy is untouched; ``T > 1`` softens an over-confident classifier."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError("logits must be a tensor (N, K) with K >= 2 classes")
    check_finite(logits.float(), "logits")
    if not isinstance(labels, torch.Tensor) or labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must be a tensor of shape ({logits.shape[0]},) to match logits")
    if labels.is_floating_point() or bool((labels < 0).any()) or bool((labels >= logits.shape[1]).any()):
        raise ValueError(f"labels must be integer classes in 0..{logits.shape[1] - 1}")
    steps = check_positive_int(steps, "steps")
    z, lab = logits.detach().double().cpu(), labels.long().cpu()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        nll = nn.functional.cross_entropy(z / log_t.exp(), lab)
        nll.backward()
        return nll

    opt.step(closure)
    return float(log_t.detach().exp())


def fit_interval_scale(mean: torch.Tensor, std: torch.Tensor, target: torch.Tensor) -> float:
    """The factor ``s`` that makes predicted standard deviations honest on held-out data:
    ``s² = mean(((target - mean) / std)²)``. Multiply ``std`` by ``s`` before building intervals."""
    m, y = check_pair(mean, target, "mean", "target")
    sd, _ = check_pair(std, target, "std", "target")
    if bool((sd <= 0).any()):
        raise ValueError("std must be positive")
    return float((((y - m) / sd) ** 2).mean().sqrt())


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024,
            device: str | torch.device | None = None) -> torch.Tensor:
    """Predictions of ``model`` for images ``x``, in evaluation mode, returned as a float CPU tensor.

    The model is left in evaluation mode (so batch norm uses its running statistics).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x, "x")
    batch_size = check_positive_int(batch_size, "batch_size")
    first = next(model.parameters(), None)
    dev = get_device(device) if device is not None or first is None else first.device
    model.to(dev).eval()
    outs = [model(x[i:i + batch_size].to(dev)).float() for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outs).cpu()
