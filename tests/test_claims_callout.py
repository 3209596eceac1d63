"""cl.claim and cl.all_hold: a claim with its control, and the callout a reader sees under it."""

import json
import math

import pytest
import torch

import course_lib as cl
from course_lib.claims import ClaimFailed


def test_a_claim_that_holds_with_a_failing_control_shows_its_statement_once():
    box = cl.claim("the calibrated intervals cover 90% within 0.05", 0.011, "<", 0.05, control=0.143)
    assert repr(box) == "claim holds: the calibrated intervals cover 90% within 0.05"
    page = box._repr_html_()
    assert page.count("cover 90% within 0.05") == 1
    assert "measured 0.011, claimed &lt; 0.05" in page and "control measured 0.143, which fails" in page


def test_a_failed_claim_raises_its_own_assertion_with_its_statement():
    with pytest.raises(AssertionError, match="claim failed: the error halves .*measured 0.7"):
        cl.claim("the error halves", 0.7, "<", 0.5, control=1.0)
    with pytest.raises(ClaimFailed, match="claim failed"):
        cl.claim("never holds on NaN", math.nan, "<", 1.0, control=2.0)


def test_a_claim_whose_control_also_holds_fails():
    """The issue's example: the uncalibrated intervals are also within 0.05 of 90%."""
    with pytest.raises(ClaimFailed, match="control holds too.*control measured 0.043"):
        cl.claim("coverage within 0.05 of 0.9", 0.011, "<", 0.05, control=0.043)
    with pytest.raises(ClaimFailed, match="control holds too"):
        cl.claim("the doctor finds the collapse", True, control=True)


def test_yes_no_claims_and_tensor_values():
    assert "finds it" in repr(cl.claim("the doctor finds it", True, control=False))
    with pytest.raises(ClaimFailed):
        cl.claim("the doctor finds it", False, control=False)
    box = cl.claim("tensor value", torch.tensor(0.2), "<", 0.5, control=torch.tensor([0.9]))
    assert "0.2" in box._repr_html_()


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="statement"):
        cl.claim("", 0.1, "<", 1.0, control=2.0)
    with pytest.raises(ValueError, match="op must be"):
        cl.claim("x", 0.1, "!=", 1.0, control=2.0)
    with pytest.raises(TypeError, match="control must be a number"):
        cl.claim("x", 0.1, "<", 1.0, control="big")
    with pytest.raises(TypeError, match="both op and bound"):
        cl.claim("x", 0.1, "<", control=2.0)
    with pytest.raises(TypeError, match="bool value and control"):
        cl.claim("x", True, control=0.3)
    with pytest.raises(TypeError, match="control"):
        cl.claim("x", 0.1, "<", 1.0)  # the control is required


def test_all_hold_shows_several_claims_in_one_box_and_keeps_no_state():
    box = cl.all_hold(cl.claim("a is small", 0.3, "<", 0.5, control=0.9),
                      cl.claim("b is large", 0.97, ">", 0.95, control=0.5))
    assert repr(box) == "claim holds: a is small\nclaim holds: b is large"
    page = box._repr_html_()
    assert "Claims hold" in page and page.count("<li>") == 2
    with pytest.raises(ValueError, match="at least one"):
        cl.all_hold()
    with pytest.raises(TypeError, match="what cl.claim returns"):
        cl.all_hold(True)
    assert not [n for n in vars(cl.claims) if n.isupper() and n.startswith("_")]  # no module-level record


def test_the_log_records_value_and_control(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(cl.claims.LOG_VARIABLE, str(log))
    cl.claim("a is small", 0.3, "<", 0.5, control=0.9)
    with pytest.raises(ClaimFailed):
        cl.claim("c is small", 0.3, "<", 0.5, control=0.4)
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["held"] and not first["control_held"] and first["control"] == 0.9
    assert second["held"] and second["control_held"] and second["control_margin"] == pytest.approx(0.1)


def test_an_infinite_value_is_shown_as_such_not_as_inf():
    page = cl.claim("worth more than any size tried", float("inf"), ">", 1.5, control=1.0)._repr_html_()
    assert "∞" in page and "inf" not in page.replace("infinit", "")


def test_the_callout_inherits_the_page_colour():
    """Readable in both themes: no fixed text colour or light background that a dark theme cannot
    read (#34's contrast findings were the old light-green box)."""
    page = cl.claim("a", 0.3, "<", 0.5, control=0.9)._repr_html_()
    assert "color:inherit" in page and "#eafaf1" not in page
