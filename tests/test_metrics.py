import json

import numpy as np
import pytest
import torch

import course_lib as cl


def test_basic_metrics_known_values():
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    p = torch.tensor([1.0, 2.0, 3.0, 6.0])
    assert cl.mse(p, y) == pytest.approx(1.0)
    assert cl.metrics.mae(p, y) == pytest.approx(0.5)
    assert cl.baseline_mse(y) == pytest.approx(1.25)
    assert cl.r2(p, y) == pytest.approx(1 - 1.0 / 1.25)
    assert cl.r2(y, y) == pytest.approx(1.0)


def test_accepts_arrays_and_lists_and_columns():
    y = np.array([1.0, 2.0, 3.0])
    assert cl.mse([1.0, 2.0, 4.0], y) == pytest.approx(1 / 3)
    yy = torch.stack([torch.arange(5.0), 2 * torch.arange(5.0)], dim=1)
    assert cl.r2(yy, yy) == pytest.approx(1.0)


def test_mean_predictor_r2_zero_and_mse_var():
    y = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 3 + 1
    m = y.mean(0).expand_as(y)
    assert cl.r2(m, y) == pytest.approx(0.0, abs=1e-12)
    assert cl.mse(m, y) == pytest.approx(cl.baseline_mse(y))


def test_linear_fit_recovers_line_and_interval():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2000, generator=g)
    y = 3 * x + 1 + 0.1 * torch.randn(2000, generator=g)
    fit = cl.metrics.linear_fit(x, y)
    assert fit["slope"] == pytest.approx(3, abs=0.05)
    assert fit["intercept"] == pytest.approx(1, abs=0.03)
    assert 0 < fit["slope_ci"] < 0.05
    assert abs(fit["slope"] - 3) < 3 * fit["slope_ci"]


def test_slope_report_shrunk_predictor():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(5000, generator=g)
    rep = cl.slope_report(0.5 * y, y)
    assert rep["pred_on_target_slope"] == pytest.approx(0.5)
    assert rep["target_on_pred_slope"] == pytest.approx(2.0)
    assert rep["r2"] == pytest.approx(0.75, abs=0.01)
    with pytest.raises(ValueError, match="one output"):
        cl.slope_report(torch.zeros(5, 2), torch.zeros(5, 2))


def test_regression_report_keys_and_values():
    y = torch.arange(10.0)[:, None]
    rep = cl.metrics.regression_report(y * 0.9 + 0.5, y)
    for key in ["mse", "mae", "r2", "baseline_mse", "spread_ratio", "pred_on_target_slope",
                "pred_on_target_intercept", "target_on_pred_slope", "target_on_pred_intercept"]:
        assert key in rep
    assert rep["pred_on_target_slope"] == pytest.approx(0.9)
    assert rep["spread_ratio"] == pytest.approx(0.9)
    const = cl.metrics.regression_report(torch.full((10, 1), 3.0), y)
    assert const["pred_on_target_slope"] == 0 and const["pred_on_target_intercept"] == pytest.approx(3.0)
    assert const["target_on_pred_slope"] is None and const["target_on_pred_intercept"] is None
    assert const["spread_ratio"] == 0
    assert "undefined" in cl.metrics.format_report(const) and "nan" not in cl.metrics.format_report(const)
    text = cl.metrics.format_report(rep)
    assert "r2" in text and len(text.splitlines()) == len(rep)
    with pytest.raises(TypeError, match="report"):
        cl.metrics.format_report([1])


@pytest.mark.parametrize("fn", [cl.mse, cl.metrics.mae, cl.r2, cl.metrics.regression_report, cl.slope_report, cl.metrics.linear_fit])
def test_bad_inputs(fn):
    y = torch.arange(6.0)
    with pytest.raises(ValueError, match="same shape"):
        fn(y[:, None], y)
    with pytest.raises(ValueError, match="NaN"):
        fn(y, torch.tensor([1.0, float("nan"), 2, 3, 4, 5]))
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.tensor([1.0, float("inf"), 2, 3, 4, 5]), y)
    with pytest.raises(TypeError):
        fn("abc", y)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        fn(torch.zeros(2, 2, 2), torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="at least 2"):
        fn(torch.zeros(1), torch.zeros(1))


def test_undefined_cases():
    with pytest.raises(ValueError, match="constant"):
        cl.r2(torch.arange(3.0), torch.ones(3))
    with pytest.raises(ValueError, match="constant"):
        cl.metrics.linear_fit(torch.ones(5), torch.arange(5.0))
    with pytest.raises(ValueError, match="at least 3"):
        cl.metrics.linear_fit(torch.arange(2.0), torch.arange(2.0))
    with pytest.raises(TypeError, match="target"):
        cl.baseline_mse(None)


def test_binned_means():
    y = torch.arange(100.0)
    mp, my, counts = cl.metrics.binned_means(y, y, bins=5)
    assert torch.allclose(mp, my) and counts.sum() == 100 and len(mp) == 5
    mp, my, _ = cl.metrics.binned_means(2 * y, y, bins=4)
    assert torch.allclose(mp, 2 * my)
    with pytest.raises(ValueError, match="bins"):
        cl.metrics.binned_means(y, y, bins=0)
    with pytest.raises(ValueError, match="bins"):
        cl.metrics.binned_means(y, y, bins=101)
    with pytest.raises(ValueError, match="one output"):
        cl.metrics.binned_means(torch.zeros(5, 2), torch.zeros(5, 2))


def test_claim_margins_and_log(tmp_path, monkeypatch):
    from course_lib.claims import ClaimFailed

    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("COURSE_CLAIMS_LOG", str(log))
    cl.claim("small", 0.02, "<", 0.05, control=0.5)
    with pytest.raises(ClaimFailed):
        cl.claim("big", torch.tensor(0.9), ">", 0.95, control=0.1)
    cl.claim("edge", 1.0, "<=", 1.0, control=2.0)
    with pytest.raises(ClaimFailed):
        cl.claim("edge strict", 1.0, "<", 1.0, control=2.0)
    cl.claim("unbounded", float("inf"), ">=", 1.5, control=1.0)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["name"] for r in records] == ["small", "big", "edge", "edge strict", "unbounded"]
    assert records[0]["margin"] == pytest.approx(0.03) and records[0]["relative_margin"] == pytest.approx(0.6)
    assert records[1]["margin"] == pytest.approx(-0.05) and not records[1]["held"]
    with pytest.raises(TypeError, match="number"):
        cl.claim("x", "0.5", "<", 1.0, control=2.0)


def test_claim_without_log_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_CLAIMS_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    cl.claim("quiet", 1.0, ">", 0.0, control=-1.0)
    assert list(tmp_path.iterdir()) == []
