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


class Scored(NamedTuple):
    """A trained model, its :class:`History`, and its MSE on its training and validation data,
    each divided by the variance of the training targets (1.0 = the mean predictor)."""

    model: nn.Module
    history: History
    train: float
    val: float

    @property
    def gap(self) -> float:
        """(validation - training) / validation: how much better the model fits its training
        labels than new ones, as a fraction of the validation error (overfitting when large)."""
        return (self.val - self.train) / self.val


def train_and_score(recipe: Recipe, data: tuple[torch.Tensor, torch.Tensor],
                    val: tuple[torch.Tensor, torch.Tensor], *, model: Mapping[str, Any] | None = None,
                    monitor: bool = True, **changes: Any) -> Scored:
    """``recipe.train(data, val, model=model, **changes)``, scored in units of Var(y): the MSE of
    the trained model (eval mode) on ``data`` and on ``val`` over the variance of ``data``'s
    targets (averaged over the columns of (N, k) targets), so that a plateau's height reads
    directly against a label-noise floor in the same unit (chapter 9).

    ``changes`` are fit's options for this run, or ``make_model``, ``scaled`` and ``seed`` (as in
    :meth:`Recipe.but`); ``model`` holds the arguments of ``make_model``. With ``monitor=False``
    the run is not evaluated on ``val`` after every epoch (its history has no validation curve),
    only scored on it at the end: the same model, faster on a large ``val``.
    """
    from .models import predict
    from .train import _check_data

    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a course_lib Recipe, got {type(recipe).__name__}")
    if val is None:
        raise ValueError("val must be a pair (x, y): the run is scored on it")
    x_val, y_val = _check_data(val, "val")
    own = {k: changes.pop(k) for k in ("make_model", "scaled", "seed") if k in changes}
    if not isinstance(monitor, bool):
        raise TypeError(f"monitor must be True or False, got {monitor!r}")
    trained = recipe.but(**own).train(data, (x_val, y_val) if monitor else None, model=model, **changes)
    var = data[1].double().var(dim=0).mean()
    device = next(trained.model.parameters()).device
    scores = [float(((predict(trained.model, x, device=device).to(y.device).double() - y.double()) ** 2).mean()
                    / var) for x, y in (data, (x_val, y_val))]
    return Scored(trained.model, trained.history, *scores)


class BestOf(NamedTuple):
    """Runs of one recipe from several seeds, every run's measurements, and the run a score picks."""

    runs: list[Trained]
    measures: list[Mapping[str, Any]]
    best: int

    @property
    def best_run(self) -> Trained:
        """The picked run (model, history, seed)."""
        return self.runs[self.best]

    @property
    def best_measures(self) -> Mapping[str, Any]:
        """The picked run's measurements."""
        return self.measures[self.best]

    def mean(self, key: str) -> float:
        """Measurement ``key`` averaged over every run, not only the picked one."""
        if not self.measures or key not in self.measures[0]:
            raise ValueError(f"key must name a measurement, one of {list(self.measures[0]) if self.measures else []}")
        return mean([m[key] for m in self.measures])


def best_of(recipe: Recipe, data: tuple[torch.Tensor, torch.Tensor], seeds: Sequence[int],
            measure: Callable[[Trained], Mapping[str, Any]], by: str, **options: Any) -> BestOf:
    """Train ``recipe`` on ``data`` from each of ``seeds``, measure every run, and pick the run
    whose ``measure(run)[by]`` is lowest (the first of equals), as one does in practice with a
    network whose outcome depends on its initialisation.

    ``by`` should name a *training* score (the error on ``data``): choosing by a test error would
    let the test set pick the model. ``options`` go to :meth:`Recipe.runs` (fit's options,
    ``model=``). Every run and its measurements are kept, so the spread over runs stays visible.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a course_lib Recipe, got {type(recipe).__name__}")
    if not callable(measure):
        raise TypeError("measure must be a function of a Trained run returning a dict of measurements")
    if not isinstance(by, str):
        raise TypeError(f"by must be the name of a measurement (a str), got {type(by).__name__}")
    runs = recipe.runs(data, seeds, **options)
    measures = [measure(run) for run in runs]
    for m in measures:
        if not isinstance(m, Mapping) or by not in m:
            raise ValueError(f"measure must return a dict with the score by={by!r}, got {m!r}")
    scores = [float(m[by]) for m in measures]
    if any(s != s for s in scores):
        raise ValueError(f"the score {by!r} is NaN in some run: no run can be picked by it")
    return BestOf(runs, measures, min(range(len(runs)), key=scores.__getitem__))


def print_scores(runs: Mapping[str, Scored | Sequence[Scored]], floor: float | None = None, fmt: str = "{:.3f}",
                 held_out: str = "validation") -> None:
    """Print scored runs (:func:`train_and_score`) as a table: MSE / Var(y) on the training and the
    held-out data (its column named ``held_out``), the gap between them (:attr:`Scored.gap`) and
    each model's parameter count. A row may hold several runs (one per initialisation): it shows
    their means, the gap being the mean of the runs' gaps. ``floor`` (a noise floor in the same
    unit) adds a row to read the errors against."""
    from .models import count_parameters
    from .report import print_table

    rows = {}
    for name, run in (runs.items() if isinstance(runs, Mapping) else ()):
        group = [run] if isinstance(run, Scored) else list(run) if isinstance(run, Sequence) else []
        if not group or not all(isinstance(r, Scored) for r in group):
            raise TypeError(f"runs[{name!r}] must be a Scored or a non-empty list of them (what train_and_score "
                            "returns)")
        rows[name] = [mean([r.train for r in group]), mean([r.val for r in group]),
                      f"{mean([r.gap for r in group]):.0%}", f"{count_parameters(group[0].model):,}"]
    if not rows:
        raise TypeError("runs must be a non-empty dict of name -> Scored (what train_and_score returns)")
    if floor is not None:
        rows["noise floor"] = [float(floor), float(floor), "", ""]
    print_table(rows, ["train", held_out, "gap / " + held_out, "parameters"], fmt)


def average_runs(runs: Sequence[Mapping[str, Sequence[float]]]) -> dict[str, list[float]]:
    """The mean of several runs' measurements, key by key and position by position.

    Each run is a dict of lists of numbers (what :func:`course_lib.metrics.error_by_range` returns,
    say); the result has the same keys, each list holding the mean over the runs at each position.
    """
    if isinstance(runs, Mapping) or not isinstance(runs, Sequence) or not runs:
        raise TypeError("runs must be a non-empty list of dicts of lists (one dict per run)")
    for run in runs:
        if not isinstance(run, Mapping):
            raise TypeError(f"each run must be a dict of lists, got {type(run).__name__}")
        if set(run) != set(runs[0]) or any(len(run[k]) != len(runs[0][k]) for k in run):
            raise ValueError("runs must have the same keys, each with a list of the same length")
    return {k: [sum(float(r[k][i]) for r in runs) / len(runs) for i in range(len(runs[0][k]))]
            for k in runs[0]}
