"""Argument checks shared by the public functions: clear errors that name the argument."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def as_tensor(values: Any, name: str) -> torch.Tensor:
    """Turn a tensor, array or list into a float64 CPU tensor, or raise naming ``name``."""
    if isinstance(values, torch.Tensor):
        t = values.detach().to("cpu", torch.float64)
    elif isinstance(values, (np.ndarray, list, tuple)):
        try:
            t = torch.as_tensor(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers") from None
    else:
        raise TypeError(f"{name} must be a tensor, array or list, got {type(values).__name__}")
    return t


def check_finite(t: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``t`` holds NaN or infinite values."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} holds NaN or infinite values")
    return t


def check_pair(pred: Any, target: Any, pred_name: str = "pred", target_name: str = "target"
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a prediction/target pair: same shape ((N,) or (N, k)), N >= 2, all finite.

    Returns both as float64 CPU tensors of shape (N, k).
    """
    p = check_finite(as_tensor(pred, pred_name), pred_name)
    y = check_finite(as_tensor(target, target_name), target_name)
    if p.ndim not in (1, 2) or y.ndim not in (1, 2):
        raise ValueError(f"{pred_name} and {target_name} must be 1-D or 2-D, got shapes "
                         f"{tuple(p.shape)} and {tuple(y.shape)}")
    if p.shape != y.shape:
        raise ValueError(f"{pred_name} and {target_name} must have the same shape, got "
                         f"{tuple(p.shape)} and {tuple(y.shape)} (a (N,) target against (N, 1) "
                         "predictions is a classic silent-broadcast bug)")
    if p.shape[0] < 2:
        raise ValueError(f"{pred_name} needs at least 2 samples, got {p.shape[0]}")
    if p.ndim == 1:
        p, y = p[:, None], y[:, None]
    return p, y


def check_images(x: Any, name: str = "x") -> torch.Tensor:
    """Raise unless ``x`` is a finite float tensor of shape (N, C, H, W)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def as_array_1d(values: Any, name: str) -> np.ndarray:
    """``values`` as a finite 1-D float64 NumPy array, or a clear error naming ``name``."""
    t = check_finite(as_tensor(values, name), name)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    return t.numpy()


def as_edges(edges: Any, name: str = "edges") -> torch.Tensor:
    """Bin edges as a float64 tensor: one or more increasing finite numbers."""
    try:
        e = torch.as_tensor(edges, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        e = None
    if e is None or e.numel() == 0 or not bool(torch.isfinite(e).all()) or bool((e[1:] <= e[:-1]).any()):
        raise ValueError(f"{name} must be one or more increasing finite numbers, got {edges!r}")
    return e


Rule = Callable[[Any, str], Any]


def positive_int(minimum: int = 1) -> Rule:
    """A rule: an int >= ``minimum`` (see :func:`check_args`)."""
    return lambda value, name: check_positive_int(value, name, minimum)


def number(low: float | None = None, high: float | None = None) -> Rule:
    """A rule: a finite number in [low, high], returned as a float."""
    return lambda value, name: check_number(value, name, low, high)


def one_of(*choices: str) -> Rule:
    """A rule: one of the strings ``choices``."""
    def rule(value: Any, name: str) -> str:
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        return value
    return rule


def instance_of(kind: type, default: Callable[[], Any] | None = None) -> Rule:
    """A rule: an instance of ``kind``; ``None`` becomes ``default()`` when one is given."""
    def rule(value: Any, name: str) -> Any:
        if value is None and default is not None:
            return default()
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__module__}.{kind.__qualname__}, got {type(value).__name__}")
        return value
    return rule


def optional_callable(what: str) -> Rule:
    """A rule: ``None`` or a callable (``what`` describes the expected signature)."""
    def rule(value: Any, name: str) -> Any:
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
        return value
    return rule


def check_args(rules: dict[str, Rule], **values: Any) -> tuple[Any, ...]:
    """Check each named value against its declared rule; return them, converted, in order.

    ``epochs, lr = check_args(FIT_RULES, epochs=epochs, lr=lr)``: the error names the argument.
    """
    return tuple(rules[name](value, name) for name, value in values.items())
