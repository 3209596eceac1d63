"""One training loop, ``fit``, used by every chapter; ``fit_scaled`` (standardise, then fit) and
``fit_restarts`` (several initialisations).

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

from ._checks import (
    check_args,
    check_finite,
    check_images,
    check_positive_int,
    instance_of,
    number,
    one_of,
    optional_callable,
    positive_int,
)
from .augment import Augment, TargetAware
from .config import get_device
from .data import Standardizer
from .losses import WEIGHTED_LOSSES, LossFn, get_loss
from .models import ScaledModel, predict

OPTIMIZERS = ("adam", "sgd", "adamw")


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


@dataclass(frozen=True)
class Speed:
    """How :func:`fit` runs, never what it learns (up to float rounding). All off by default.

    * ``amp``: bfloat16 autocast of the forward pass on CUDA (ignored on other devices).
    * ``channels_last``: keep the images and the model's weights in channels-last (NHWC) memory
      order, converted once before training. Whether it pays depends on the model and the
      machine: measure it (``make benchmark``; the Running fast page has this machine's numbers).
    * ``compile``: train through ``torch.compile(model)`` (the model itself is updated and
      returned as it is; evaluation runs uncompiled). The first batches wait for the compiler,
      which needs a C++ compiler on CPU; it pays for long runs only.
    """

    amp: bool = False
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        for name in ("amp", "channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Speed.{name} must be True or False, got {getattr(self, name)!r}")


def fit(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor] | None = None, *, epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 128, loss: str | LossFn = "mse", optimizer: str = "adam",
        weight_decay: float = 0.0, lr_schedule: str = "constant", sample_weight: torch.Tensor | None = None,
        augment: Augment | TargetAware | None = None, seed: int = 0, device: str | torch.device | None = None,
        speed: Speed | None = None, check_shapes: bool = True,
        on_epoch_end: Callable[[int, nn.Module], dict[str, float]] | None = None,
        progress: bool | None = None) -> History:
    """Train ``model`` on ``train = (x, y)`` and return its :class:`History`.

    * ``train``: images ``x`` (N, C, H, W) and float targets ``y``, shaped as the model's
      outputs (usually (N, k)); no NaN or infinity.
    * ``val``: an optional ``(x, y)`` pair evaluated after every epoch (model in eval mode).
    * ``epochs``, ``batch_size``: passes over ``train`` and images per optimiser step.
    * ``lr``: the learning rate. ``lr_schedule``: ``'constant'`` (``lr`` throughout) or
      ``'cosine'`` (from ``lr`` down to zero over the run, step by step).
    * ``loss``: ``'mse'``, ``'mae'``, ``'huber'``, ``'msle'``, ``'cross_entropy'``,
      ``'gaussian_nll'`` or a callable ``loss(pred, y)`` (see :mod:`course_lib.losses`).
    * ``optimizer``: ``'adam'``, ``'adamw'`` or ``'sgd'`` (SGD with momentum 0.9);
      ``weight_decay`` is passed to it.
    * ``sample_weight``: optional weights (N,), one per training sample, for ``'mse'``, ``'mae'``,
      ``'huber'`` or ``'cross_entropy'``: each batch's loss is the weighted mean.
    * ``augment``: an optional ``augment(x_batch, generator) -> x_batch`` applied to each
      training batch, or a :class:`course_lib.augment.TargetAware` one that changes the targets
      too (see :mod:`course_lib.augment`).
    * ``seed``: seeds the shuffling (and, plus one, the augmentation's generator). It does not
      initialise the model: call ``torch.manual_seed`` before building it.
    * ``device``: where to train (default: :func:`course_lib.config.get_device`, CUDA, then MPS,
      then CPU). The model is moved there and stays there.
    * ``speed``: a :class:`Speed` (mixed precision, channels-last, ``torch.compile``).
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
    epochs, batch_size, lr, weight_decay, lr_schedule, speed, augment, on_epoch_end = check_args(
        FIT_RULES, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        lr_schedule=lr_schedule, speed=speed, augment=augment, on_epoch_end=on_epoch_end)
    loss_fn = get_loss(loss)
    dev = get_device(device)
    weighting = _sample_weighting(sample_weight, loss, x.shape[0], dev)
    model.to(dev)
    x, y = x.to(dev), y.to(dev)
    if speed.channels_last:  # once, before training: batches cut from x keep the memory order
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    loop = _Loop(model=model, step_model=torch.compile(model) if speed.compile else model,
                 opt=_make_optimizer(optimizer, model.parameters(), lr, weight_decay),
                 x=x, y=y, loss_fn=loss_fn, weighting=weighting, augment=augment, amp=speed.amp,
                 check_shapes=check_shapes, batch_size=batch_size, lr=lr, lr_schedule=lr_schedule,
                 total_steps=epochs * math.ceil(x.shape[0] / batch_size), seed=int(seed), dev=dev)
    return _run_epochs(loop, epochs, val, on_epoch_end, progress)


def _run_epochs(loop: _Loop, epochs: int, val: tuple[torch.Tensor, torch.Tensor] | None,
                on_epoch_end: Callable[[int, nn.Module], dict[str, float]] | None,
                progress: bool | None) -> History:
    """Run ``epochs`` passes of ``loop``, recording losses (and ``on_epoch_end``'s numbers)."""
    history = History()
    bar = tqdm(range(epochs), desc="epochs", disable=not _progress_enabled(progress), leave=False)
    for epoch in bar:
        history.train_loss.append(loop.epoch())
        if val is not None:
            history.val_loss.append(evaluate_loss(loop.model, val, loop.loss_fn, device=loop.dev))
        if on_epoch_end is not None:
            for key, value in (on_epoch_end(epoch, loop.model) or {}).items():
                history.extra.setdefault(key, []).append(math.nan if value is None else float(value))
        if not bar.disable:
            bar.set_postfix(train=f"{history.train_loss[-1]:.4g}",
                            val=f"{history.val_loss[-1]:.4g}" if history.val_loss else "-")
    return history


FIT_RULES = {"epochs": positive_int(), "batch_size": positive_int(), "lr": number(low=0.0),
             "weight_decay": number(low=0.0), "lr_schedule": one_of("constant", "cosine"),
             "speed": instance_of(Speed, default=Speed),
             "augment": optional_callable("a function (x, generator) -> x"),
             "on_epoch_end": optional_callable("a function (epoch, model) -> dict")}


def _sample_weighting(sample_weight: torch.Tensor | None, loss: object, n: int, dev: torch.device
                      ) -> tuple[torch.Tensor, LossFn] | None:
    """Checked per-sample weights on ``dev`` and the loss's elementwise form, or None."""
    if sample_weight is None:
        return None
    if not isinstance(loss, str) or loss not in WEIGHTED_LOSSES:
        raise ValueError(f"sample_weight works with loss in {tuple(WEIGHTED_LOSSES)}, got {loss!r}")
    if not isinstance(sample_weight, torch.Tensor) or sample_weight.shape != (n,):
        raise ValueError(f"sample_weight must be a tensor of shape ({n},), one weight per sample")
    check_finite(sample_weight.float(), "sample_weight")
    if bool((sample_weight < 0).any()) or float(sample_weight.sum()) <= 0:
        raise ValueError("sample_weight must be >= 0 with a positive sum")
    return sample_weight.to(dev, torch.float32), WEIGHTED_LOSSES[loss]


@dataclass
class _Loop:
    """The state of one :func:`fit` run: data on the device, optimiser, generators, step count."""

    model: nn.Module
    step_model: nn.Module
    opt: torch.optim.Optimizer
    x: torch.Tensor
    y: torch.Tensor
    loss_fn: LossFn
    weighting: tuple[torch.Tensor, LossFn] | None
    augment: Augment | TargetAware | None
    amp: bool
    check_shapes: bool
    batch_size: int
    lr: float
    lr_schedule: str
    total_steps: int
    seed: int
    dev: torch.device
    step: int = 0

    def __post_init__(self) -> None:
        self.gen = torch.Generator().manual_seed(self.seed)
        self.aug_gen = torch.Generator(device=self.dev).manual_seed(self.seed + 1) if self.augment else None
        self.expected_shape = getattr(self.loss_fn, "output_shape", lambda shape: shape)

    def batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        """The loss of one (augmented) batch, checked for a silent broadcast."""
        xb, yb = self.x[idx], self.y[idx]
        if isinstance(self.augment, TargetAware):
            xb, yb = self.augment(xb, yb, self.aug_gen)
        elif self.augment is not None:
            xb = self.augment(xb, self.aug_gen)
        with _autocast(self.dev, self.amp):
            out = self.step_model(xb)
        out = out.float()
        if self.check_shapes and out.shape != self.expected_shape(yb.shape):
            raise ValueError(f"model output shape {tuple(out.shape)} differs from the expected "
                             f"{tuple(self.expected_shape(yb.shape))} for targets {tuple(yb.shape)}: the "
                             "loss would broadcast them (reshape the targets)")
        if self.weighting is None:
            return self.loss_fn(out, yb)
        weights, elementwise = self.weighting
        wb = weights[idx]
        return (elementwise(out, yb).mean(1) * wb).sum() / wb.sum().clamp_min(1e-12)

    def epoch(self) -> float:
        """One pass over the shuffled training data; returns its mean training loss."""
        self.model.train()
        n = self.x.shape[0]
        order = torch.randperm(n, generator=self.gen).to(self.dev)
        total = torch.zeros((), device=self.dev)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            batch_loss = self.batch_loss(idx)
            self.opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            if self.lr_schedule == "cosine":
                for group in self.opt.param_groups:
                    group["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * self.step / self.total_steps))
            self.opt.step()
            self.step += 1
            total += batch_loss.detach() * idx.numel()
        return float(total) / n


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
