"""What chapters repeat by hand: one training recipe, k initialisations, a grid of variants.

A chapter states how it trains once, as a :class:`Recipe` (a model factory and :func:`fit`'s
options), then trains it in one line: ``recipe.train(data)``. ``recipe.runs(...)`` trains the same
recipe from several initialisations and ``run_variants`` trains a grid of changes to it, each
measured by a function the chapter writes (its lesson), so the notebook shows what is compared and
how it is scored, not the loop around it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import torch
from torch import nn

from ._checks import check_positive_int
from .train import History, fit, fit_scaled


class Trained(NamedTuple):
    """A trained model, its :class:`History` and the seed it was initialised and shuffled with."""

    model: nn.Module
    history: History
    seed: int


def restart_seeds(seed: int, restarts: int) -> list[int]:
    """The seeds of ``restarts`` initialisations for chapter seed ``seed``: ``1000 * seed + r``.

    The same numbering as :func:`course_lib.train.fit_restarts`, so runs can be shared.
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    return [1000 * seed + r for r in range(check_positive_int(restarts, "restarts"))]


@dataclass(frozen=True)
class Recipe:
    """How a chapter trains: ``make_model(**model)`` and the options of :func:`fit`.

    ``scaled=True`` trains with :func:`fit_scaled` (standardised images and targets; the model
    predicts in target units). ``seed`` is the default initialisation and shuffling seed.
    """

    make_model: Callable[..., nn.Module]
    options: Mapping[str, Any] = field(default_factory=dict)
    scaled: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not callable(self.make_model) or isinstance(self.make_model, nn.Module):
            raise TypeError("make_model must be a function that returns a new nn.Module (not a model)")
        if not isinstance(self.options, Mapping) or "seed" in self.options:
            raise ValueError("options must be a dict of fit's options without 'seed' (the recipe's seed= sets it)")
        check_positive_int(self.seed, "seed", minimum=0)

    def but(self, **options: Any) -> Recipe:
        """The same recipe with some of fit's options changed (``scaled`` and ``seed`` too)."""
        own = {k: options.pop(k) for k in ("scaled", "seed", "make_model") if k in options}
        return replace(self, options={**self.options, **options}, **own)

    def train(self, data: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor] | None = None,
              *, seed: int | None = None, model: Mapping[str, Any] | None = None, **options: Any) -> Trained:
        """Seed PyTorch, build ``make_model(**model)`` and train it on ``data`` (``options`` override fit's)."""
        seed = self.seed if seed is None else check_positive_int(seed, "seed", minimum=0)
        torch.manual_seed(seed)
        net = self.make_model(**(model or {}))
        if not isinstance(net, nn.Module):
            raise TypeError(f"make_model must return an nn.Module, got {type(net).__name__}")
        kwargs = {**self.options, **options, "seed": seed}
        if self.scaled:
            net, history = fit_scaled(net, data, val, **kwargs)
        else:
            history = fit(net, data, val, **kwargs)
        return Trained(net, history, seed)

    def runs(self, data: tuple[torch.Tensor, torch.Tensor], seeds: Sequence[int],
             measure: Callable[[Trained], Any] | None = None, **options: Any) -> list[Any]:
        """Train from each seed of ``seeds``; return each run's ``measure(trained)`` (the run itself when None)."""
        if isinstance(seeds, (int, str)) or not seeds:
            raise TypeError("seeds must be a non-empty list of ints (e.g. restart_seeds(cfg.seed, 4))")
        out = []
        for s in seeds:
            trained = self.train(data, seed=s, **options)
            out.append(trained if measure is None else measure(trained))
        return out


def run_variants(recipe: Recipe, data: tuple[torch.Tensor, torch.Tensor], variants: Mapping[str, Mapping[str, Any]],
                 seeds: Sequence[int], measure: Callable[[Trained], Any]) -> dict[str, list[Any]]:
    """Train every variant of ``recipe`` from every seed; return ``{name: [measure(run) per seed]}``.

    A variant is a dict of changes: fit's options, ``model`` (arguments of ``make_model``),
    ``data`` (another training set) and ``scaled``. An empty dict is the recipe as it is.
    """
    if not isinstance(variants, Mapping) or not variants:
        raise TypeError("variants must be a non-empty dict of name -> dict of changes")
    results = {}
    for name, changes in variants.items():
        if not isinstance(changes, Mapping):
            raise TypeError(f"variant {name!r} must be a dict of changes, got {type(changes).__name__}")
        changes = dict(changes)
        own_data = changes.pop("data", data)
        model = changes.pop("model", None)
        variant = recipe.but(**{k: changes.pop(k) for k in ("scaled",) if k in changes})
        results[name] = variant.runs(own_data, seeds, measure, model=model, **changes)
    return results


def mean(values: Sequence[float]) -> float:
    """The mean of a list of run measurements (a plain float, for printing and claims)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values must not be empty")
    return sum(values) / len(values)
