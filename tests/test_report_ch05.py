"""cl.report.error_message: what a refusal says, or "" when the call goes through (chapter 5)."""

from __future__ import annotations

import pytest
import torch

import course_lib as cl


def _refuse_negative(x: float) -> float:
    if x < 0:
        raise ValueError(f"x must not be negative, got {x}")
    return x


def test_error_message_returns_the_message_or_nothing():
    assert cl.report.error_message(_refuse_negative, -1) == "x must not be negative, got -1"
    assert cl.report.error_message(_refuse_negative, 2) == ""  # control: no error, no message
    assert cl.report.error_message(_refuse_negative, x=-2).startswith("x must not")


def test_error_message_catches_only_what_it_is_told():
    with pytest.raises(KeyError):
        cl.report.error_message({}.__getitem__, "missing")
    assert "missing" in cl.report.error_message({}.__getitem__, "missing", catch=(KeyError,))
    assert "missing" in cl.report.error_message({}.__getitem__, "missing", catch=KeyError)


def test_error_message_shows_a_scaled_models_refusal():
    """The chapter's use: a model that checks its inputs refuses a rescaled batch."""
    x = torch.rand(8, 3, 8, 8) * 255
    y = torch.rand(8, 1)
    model = cl.models.ScaledModel(cl.SmallCNN(8, 1, width=4), cl.Standardizer().fit(x), cl.Standardizer().fit(y),
                                  x_range=(0.0, 255.0), check_inputs=True)
    assert "rescaled" in cl.report.error_message(cl.predict, model, x / 127)
    assert cl.report.error_message(cl.predict, model, x) == ""


@pytest.mark.parametrize("fn, catch", [(42, (ValueError,)), (_refuse_negative, ()), (_refuse_negative, ("x",)),
                                       (_refuse_negative, (int,))])
def test_error_message_refuses_bad_arguments(fn, catch):
    with pytest.raises(TypeError, match="fn|catch"):
        cl.report.error_message(fn, 1, catch=catch)
