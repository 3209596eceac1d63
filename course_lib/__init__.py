"""course_lib: the helper library of *CNN Regression Pitfalls*.

Every chapter starts with ``import course_lib as cl`` and ``cfg = cl.setup()``.

The top level holds what most chapters use; everything else is reached through its module,
named for its concern: ``cl.data``, ``cl.models``, ``cl.train``, ``cl.losses``,
``cl.calibration``, ``cl.metrics``, ``cl.diagnose``, ``cl.doctor``, ``cl.plots``, ``cl.augment``, ``cl.heads``,
``cl.widgets``, ``cl.exercises``, ``cl.experiments``, ``cl.report``, ``cl.claims`` and ``cl.config``.
"""

from . import (
    augment,
    calibration,
    claims,
    config,
    data,
    diagnose,
    doctor,
    exercises,
    experiments,
    heads,
    losses,
    metrics,
    models,
    plots,
    report,
    train,
    widgets,
)
from .claims import all_hold, claim
from .config import setup
from .data import Standardizer, make_box_dataset, make_dish_dataset, train_val_split
from .exercises import check
from .experiments import Recipe, restart_seeds, run_variants
from .metrics import baseline_mse, mse, r2, slope_report
from .models import SmallCNN, count_parameters, init_output_bias, predict
from .plots import plot_learning_curves, plot_pred_vs_target, show_images
from .train import fit

__version__ = "0.7.1"  # bump it with the API; Colab installs the commit pinned in pyproject.toml

__all__ = [
    "Recipe",
    "SmallCNN",
    "Standardizer",
    "all_hold",
    "augment",
    "baseline_mse",
    "calibration",
    "check",
    "claim",
    "claims",
    "config",
    "count_parameters",
    "data",
    "diagnose",
    "doctor",
    "exercises",
    "experiments",
    "fit",
    "heads",
    "init_output_bias",
    "losses",
    "make_box_dataset",
    "make_dish_dataset",
    "metrics",
    "models",
    "mse",
    "plot_learning_curves",
    "plot_pred_vs_target",
    "plots",
    "predict",
    "r2",
    "report",
    "restart_seeds",
    "run_variants",
    "setup",
    "show_images",
    "slope_report",
    "train",
    "train_val_split",
    "widgets",
]
