"""One training loop, ``fit``, used by every chapter, and ``predict``.

The loop keeps the data on the device, shuffles with a seeded generator, and never calls
``.item()`` per batch: losses are summed on the device and read once per epoch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_finite, check_images, check_number, check_positive_int
from .config import get_device

LOSSES = ("mse", "mae", "huber", "msle")
OPTIMIZERS = ("adam", "sgd", "adamw")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def msle_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared logarithmic error, ``mean((log1p(pred) - log1p(target))**2)``.

    Predictions are clamped at 0 first (as Keras does), so negative outputs get no gradient.
    """
    return torch.mean((torch.log1p(pred.clamp_min(0.0)) - torch.log1p(target.clamp_min(0.0))) ** 2)


def get_loss(loss: str | LossFn) -> LossFn:
    """Return a loss function by name (``'mse'``, ``'mae'``, ``'huber'``, ``'msle'``) or pass a callable through."""
    if callable(loss):
        return loss
    table: dict[str, LossFn] = {"mse": nn.functional.mse_loss, "mae": nn.functional.l1_loss,
                                "huber": nn.functional.huber_loss, "msle": msle_loss}
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
        progress: bool | None = None,
        on_epoch_end: Callable[[int, nn.Module], dict[str, float]] | None = None) -> History:
    """Train ``model`` on ``train = (x, y)`` and return its :class:`History`.

    * ``val``: an optional ``(x, y)`` pair evaluated after every epoch (model in eval mode).
    * ``loss``: ``'mse'``, ``'mae'``, ``'huber'``, ``'msle'`` or a callable ``loss(pred, y)``.
    * ``augment``: an optional ``augment(x_batch, generator) -> x_batch`` applied to each
      training batch (see :mod:`course_lib.augment`).
    * ``amp``: bfloat16 autocast on CUDA (ignored elsewhere).
    * ``check_shapes``: refuse predictions whose shape differs from the targets' (the silent
      broadcast of a (N,) target against (N, 1) outputs). Chapter 2 turns it off to show the bug.
    * ``on_epoch_end(epoch, model)``: may return a dict of numbers, recorded in ``history.extra``.
    * ``progress``: a progress bar (default: on, unless ``COURSE_PROGRESS=0``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = _check_data(train, "train")
    if val is not None:
        _check_data(val, "val")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_number(lr, "lr", low=0.0)
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    loss_fn = get_loss(loss)
    dev = get_device(device)

    model.to(dev)
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    x, y = x.to(dev), y.to(dev)
    n = x.shape[0]
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
            if augment is not None:
                xb = augment(xb, aug_gen)
            with _autocast(dev, amp):
                out = model(xb)
            out = out.float()
            if check_shapes and out.shape != yb.shape:
                raise ValueError(f"model output shape {tuple(out.shape)} differs from target shape "
                                 f"{tuple(yb.shape)}: the loss would broadcast them (reshape the targets)")
            batch_loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            total += batch_loss.detach() * idx.numel()
        history.train_loss.append(float(total) / n)
        if val is not None:
            history.val_loss.append(evaluate_loss(model, val, loss_fn, device=dev))
        if on_epoch_end is not None:
            for key, value in (on_epoch_end(epoch, model) or {}).items():
                history.extra.setdefault(key, []).append(float(value))
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
