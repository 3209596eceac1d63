"""cl.metrics.slope_summary: slope_report's numbers and the MSE under short names (chapter 3's tables)."""

from __future__ import annotations

import pytest
import torch

import course_lib as cl


def test_slope_summary_is_slope_report_and_mse_under_short_names():
    best, target = cl.data.simulate_best_predictor(20_000, noise_std=1.0, seed=0)
    row = cl.metrics.slope_summary(best, target)
    rep = cl.slope_report(best, target)
    assert row == {"r2": rep["r2"], "slope": rep["pred_on_target_slope"],
                   "cal_slope": rep["target_on_pred_slope"], "mse": cl.mse(best, target)}
    # the best predictor: slope ≈ R² ≈ 0.5, calibration slope ≈ 1, MSE ≈ the noise variance
    assert row["slope"] == pytest.approx(0.5, abs=0.02) and row["r2"] == pytest.approx(0.5, abs=0.02)
    assert row["cal_slope"] == pytest.approx(1.0, abs=0.03) and row["mse"] == pytest.approx(1.0, abs=0.03)


def test_slope_summary_control_stretched_predictions_are_not_calibrated():
    best, target = cl.data.simulate_best_predictor(20_000, noise_std=1.0, seed=0)
    row = cl.metrics.slope_summary(2 * best, target)
    assert row["slope"] == pytest.approx(1.0, abs=0.05) and row["cal_slope"] == pytest.approx(0.5, abs=0.02)


def test_slope_summary_refuses_bad_input():
    with pytest.raises((TypeError, ValueError), match="pred|target"):
        cl.metrics.slope_summary(torch.ones(5), torch.ones(4))
    with pytest.raises(ValueError, match="one output"):
        cl.metrics.slope_summary(torch.randn(10, 2), torch.randn(10, 2))
