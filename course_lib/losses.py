"""Losses by name, for :func:`course_lib.train.fit` and for your own loops.

``get_loss('mse')`` and friends; the Gaussian head's negative log-likelihood and
:func:`split_gaussian`, which turns such a head's outputs into means and standard deviations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._checks import check_number

LOSSES = ("mse", "mae", "huber", "msle", "cross_entropy", "gaussian_nll")
WEIGHTED_LOSSES = {"mse": lambda out, y: (out - y) ** 2, "mae": lambda out, y: (out - y).abs(),
                   "huber": lambda out, y: nn.functional.huber_loss(out, y, reduction="none"),
                   "cross_entropy": lambda out, y: -(y * out.log_softmax(1)).sum(1, keepdim=True)}
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def msle_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared logarithmic error, ``mean((log1p(pred) - log1p(target))**2)``.

    Predictions are clamped at 0 first (as Keras does), so negative outputs get no gradient.
    """
    return torch.mean((torch.log1p(pred.clamp_min(0.0)) - torch.log1p(target.clamp_min(0.0))) ** 2)


def mse_log_loss(alpha: float = 5.0, eps: float = 1e-9) -> LossFn:
    """The loss an answer to the box question proposes, for targets scaled to [0, 1]:
    ``mean((pred - y)**2) + alpha * mean((log(y + eps) - log(pred + eps))**2)``.

    Written as proposed, with no clamp: the log term is undefined (NaN) for any prediction at or
    below ``-eps``, and its gradient, ``-2 alpha (log(y + eps) - log(pred + eps)) / (pred + eps)``,
    grows without bound as a prediction approaches ``-eps`` from above. Chapter 6 measures both.
    """
    alpha = check_number(alpha, "alpha", low=0.0)
    eps = check_number(eps, "eps", low=0.0)

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.mean((pred - target) ** 2) + alpha * torch.mean((torch.log(target + eps) - torch.log(pred + eps)) ** 2)

    return loss


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
