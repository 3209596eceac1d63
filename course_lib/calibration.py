"""Post-hoc calibration: fitted on held-out data after training, without retraining.

Temperature scaling for a classifier's logits; one scale factor for a Gaussian head's
standard deviations (the chapters' recalibration of a regression slope lives in
:func:`course_lib.metrics.linear_fit`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_finite, check_pair, check_positive_int


def fit_temperature(
    logits: torch.Tensor, labels: torch.Tensor, steps: int = 200
) -> float:
    """Temperature scaling (Guo et al., 2017): the ``T > 0`` that minimises
    the log-loss of ``softmax(logits / T)`` on held-out ``labels``. Dividing
    by ``T`` never changes the predicted class, so accuracy is untouched;
    ``T > 1`` softens an over-confident classifier."""
    if (
        not isinstance(logits, torch.Tensor)
        or logits.ndim != 2
        or logits.shape[1] < 2
    ):
        raise ValueError(
            "logits must be a tensor (N, K) with K >= 2 classes"
        )
    check_finite(logits.float(), "logits")
    if not isinstance(labels, torch.Tensor) or labels.shape != (
        logits.shape[0],
    ):
        raise ValueError(
            f"labels must be a tensor of shape ({logits.shape[0]},) to "
            "match logits"
        )
    if (
        labels.is_floating_point()
        or bool((labels < 0).any())
        or bool((labels >= logits.shape[1]).any())
    ):
        raise ValueError(
            f"labels must be integer classes in 0..{logits.shape[1] - 1}"
        )
    steps = check_positive_int(steps, "steps")
    z, lab = logits.detach().double().cpu(), labels.long().cpu()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe"
    )

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


def conformal_interval_offset(
    lower: torch.Tensor,
    upper: torch.Tensor,
    target: torch.Tensor,
    level: float = 0.9,
) -> float:
    """Split-conformal widening of predicted intervals (conformalized
    quantile regression, Romano et al., 2019): the amount ``q`` to subtract
    from ``lower`` and add to ``upper`` so that intervals cover at least
    ``level`` of new data, whatever the model.

    ``lower``, ``upper`` and ``target`` are held-out calibration data the
    model never trained on. Each target's score is how far it falls outside
    its interval (negative inside); ``q`` is the ``ceil((n + 1) * level) /
    n`` empirical quantile of the scores. A negative ``q`` narrows intervals
    that were too wide.
    """
    lo, y = check_pair(lower, target, "lower", "target")
    hi, _ = check_pair(upper, target, "upper", "target")
    if (
        isinstance(level, bool)
        or not isinstance(level, (int, float))
        or not 0 < level < 1
    ):
        raise ValueError(
            "level must be a number strictly between 0 and 1, got "
            f"{level!r}"
        )
    scores = torch.maximum(lo - y, y - hi).reshape(-1).double()
    n = scores.numel()
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise ValueError(
            f"{n} calibration samples are too few for level {level}: "
            f"need at least {math.ceil(level / (1 - level))}"
        )
    return float(scores.sort().values[rank - 1])
