"""cl.claims.holds: the callout a reader sees under a claim cell."""

import pytest

import course_lib as cl


def test_holds_shows_statement_in_text_and_numbers_in_html():
    cl.claims._RECENT.clear()
    assert cl.claim("ratio", 0.3, "<", 0.5)
    assert cl.claim("r2", 0.97, ">", 0.95)
    box = cl.claims.holds("the ratio is small and the fit good")
    assert repr(box) == "claim holds: the ratio is small and the fit good"
    page = box._repr_html_()
    assert "0.3" in page and "&lt; 0.5" in page and "0.97" in page and "Claim holds" in page
    assert cl.claims._RECENT == []


def test_holds_refuses_without_a_claim_or_after_a_failed_one():
    cl.claims._RECENT.clear()
    with pytest.raises(ValueError, match="no claim"):
        cl.claims.holds("nothing was checked")
    cl.claim("too big", 2.0, "<", 1.0)
    with pytest.raises(ValueError, match="did not hold"):
        cl.claims.holds("it holds")
    with pytest.raises(TypeError, match="statement"):
        cl.claims.holds("")


def test_a_failed_claim_does_not_spill_into_the_next_cell():
    cl.claims._RECENT.clear()
    cl.claim("failed in an earlier cell", 2.0, "<", 1.0)
    assert cl.claim("this cell's", 0.5, "<", 1.0)
    assert repr(cl.claims.holds("this cell's claim")) == "claim holds: this cell's claim"


def test_an_infinite_value_is_shown_as_such_not_as_inf():
    cl.claims._RECENT.clear()
    assert cl.claim("worth", float("inf"), ">", 1.5)
    page = cl.claims.holds("worth more than any size tried")._repr_html_()
    assert "∞" in page and "inf" not in page.replace("infinit", "")
