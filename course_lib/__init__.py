"""course_lib: the helper library of *CNN Regression Pitfalls*.

Every chapter starts with ``import course_lib as cl`` and ``cfg = cl.setup()``.
"""

from . import augment, diagnose, exercises, widgets
from .claims import claim
from .config import Settings, get_device, get_seed, get_size, pick, set_seed, setup
from .data import (
    Standardizer,
    label_weights,
    make_box_dataset,
    make_dataset,
    make_dish_dataset,
    simulate_best_predictor,
    target_classes,
    train_val_split,
)
from .diagnose import image_statistics, shift_check
from .exercises import check
from .metrics import (
    accuracy,
    baseline_mse,
    binned_means,
    brier_score,
    classification_report,
    equivalent_size,
    error_by_range,
    expected_calibration_error,
    format_report,
    gaussian_quantile,
    interval_coverage,
    linear_fit,
    log_loss,
    mae,
    mean_bias,
    mse,
    r2,
    regression_report,
    slope_report,
)
from .models import KerasBoxCNN, SmallCNN, VGGLike, count_parameters, init_output_bias, output_layer
from .plots import (
    plot_binned_means,
    plot_coverage,
    plot_error_by_range,
    plot_learning_curves,
    plot_method_comparison,
    plot_noise_panel,
    plot_noise_sweep,
    plot_pred_vs_target,
    plot_reliability,
    plot_residuals,
    plot_size_curves,
    show_images,
)
from .train import (
    History,
    ScaledModel,
    evaluate_loss,
    fit,
    fit_interval_scale,
    fit_restarts,
    fit_scaled,
    fit_temperature,
    get_loss,
    msle_loss,
    predict,
    split_gaussian,
)

__version__ = "0.1.0"

__all__ = [
    "accuracy", "brier_score", "expected_calibration_error", "interval_coverage", "log_loss", "label_weights",
    "plot_coverage", "plot_reliability", "plot_error_by_range", "error_by_range", "mean_bias", "classification_report", "gaussian_quantile",
    "target_classes", "shift_check", "image_statistics", "split_gaussian", "fit_interval_scale", "fit_temperature",
    "History", "claim", "KerasBoxCNN", "VGGLike", "augment", "check", "diagnose", "exercises", "widgets", "Settings", "SmallCNN", "Standardizer", "baseline_mse", "binned_means", "count_parameters",
    "equivalent_size", "evaluate_loss", "fit", "fit_restarts", "fit_scaled", "ScaledModel",
    "plot_method_comparison", "plot_size_curves", "format_report", "get_device", "get_loss", "get_seed", "get_size",
    "init_output_bias", "linear_fit", "mae", "make_box_dataset", "make_dataset", "make_dish_dataset",
    "msle_loss", "mse", "output_layer", "pick", "plot_binned_means", "plot_learning_curves", "plot_noise_panel", "plot_noise_sweep", "plot_pred_vs_target",
    "plot_residuals", "predict", "r2", "regression_report", "set_seed", "setup", "show_images",
    "simulate_best_predictor", "slope_report", "train_val_split",
]
