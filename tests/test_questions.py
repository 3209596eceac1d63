"""The questions page is generated from the claim record (tools/make_questions.py) and is current."""

from __future__ import annotations

import json

import pytest

from tools import make_questions as mq  # noqa: E402


def test_the_committed_page_is_what_the_record_gives():
    page = mq.render(mq.TEMPLATE.read_text(), json.loads(mq.RECORD.read_text()))
    assert mq.PAGE.read_text() == page, "book/questions.md is stale: run python tools/make_questions.py"


def test_every_verdict_comes_from_a_placeholder():
    template = mq.TEMPLATE.read_text()
    assert "{{asserted" in template and "{{measured}}" in template
    with pytest.raises(ValueError, match="by hand"):
        mq.render(template + "\n**Asserted**: something\n", {})


def _one_claim_record(chapter: str, statement: str, **changes) -> dict:
    c = {"op": "<", "bound": 0.5, "seeds": 3, "failed_seeds": [], "worst_value": 0.3,
         "control_values": {"1": 0.9}, "control_held_seeds": [], "control_best_value": 0.9}
    c.update(changes)
    return {chapter: {"claims": {statement: c}}}


def test_a_changed_claim_changes_the_page_or_stops_it():
    chapter = "01_datasets_and_metrics"
    statement = sorted(mq.stated_claims(chapter))[0]
    line = f"| point | {{{{asserted {chapter} | {statement}}}}} |"
    good = mq.render(line, _one_claim_record(chapter, statement))
    assert f"**Asserted**: {statement} (3 seeds; worst 0.3 against < 0.5; control nearest the bound 0.9)" in good
    assert mq.render(line, _one_claim_record(chapter, statement, worst_value=0.4)) != good
    with pytest.raises(ValueError, match="failed on seeds"):
        mq.render(line, _one_claim_record(chapter, statement, failed_seeds=[7]))
    with pytest.raises(ValueError, match="control held"):
        mq.render(line, _one_claim_record(chapter, statement, control_held_seeds=[7]))
    with pytest.raises(ValueError, match="no record"):
        mq.render(line, {})
    with pytest.raises(ValueError, match="states no claim"):
        mq.render(f"{{{{asserted {chapter} | a claim nobody states}}}}", _one_claim_record(chapter, statement))


def test_the_page_shows_each_claims_margin_in_seed_to_seed_deviations_and_flags_a_thin_one():
    chapter = "01_datasets_and_metrics"
    statement = sorted(mq.stated_claims(chapter))[0]
    line = f"| point | {{{{asserted {chapter} | {statement}}}}} |"
    sound = mq.render(line, _one_claim_record(chapter, statement, worst_margin=0.2, std=0.05))
    assert "worst 0.3 against < 0.5, margin 4.0 sd; control" in sound
    thin = mq.render(line, _one_claim_record(chapter, statement, worst_margin=0.2, std=0.1))
    assert "margin 2.0 sd (thin)" in thin
    record = _one_claim_record(chapter, statement, worst_margin=0.2, std=0.1)
    record[chapter]["calibrated_tests"] = {statement: 0.001}
    assert "a test at level 0.001" in mq.render(line, record) and "(thin)" not in mq.render(line, record)


def test_a_count_claim_shows_its_failure_rate_and_is_thin_when_it_may_fail():
    """A count that must reach 1: binomial arithmetic, and a control (counts that sit near 0) that is
    thin where counts far from 0 are not."""
    rate, model = mq.count_failure_rate([6.0, 6.0, 6.0, 6.0], ">=", 1, 12)
    assert model == "binomial" and abs(rate - 0.5**12) < 1e-12  # p = 1/2: none of 12 is 1/4096
    assert mq.count_failure_rate([2.0, 2.0, 2.0, 2.0], ">", 1, 12)[0] > mq.count_failure_rate([2.0] * 4, ">=", 1, 12)[0]
    spread, model = mq.count_failure_rate([0.0, 12.0, 6.0, 6.0, 1.0, 11.0], ">=", 1, 12)
    assert model == "beta-binomial" and spread > 0.5**12  # runs of a seed that go together fail more often
    assert mq.count_failure_rate([3.0, 9.0, 30.0, 12.0], ">=", 1, None)[1] == "negative binomial"
    chapter = "01_datasets_and_metrics"
    statement = sorted(mq.stated_claims(chapter))[0]
    line = f"| point | {{{{asserted {chapter} | {statement}}}}} |"
    for values, thin in (([1.0, 2.0, 1.0, 3.0, 2.0], True), ([9.0, 10.0, 11.0, 10.0, 12.0], False)):
        record = _one_claim_record(chapter, statement, worst_margin=0.0, std=1.0)
        record[chapter]["claims"][statement].update(op=">=", bound=1.0, values=dict(enumerate(values)))
        record[chapter]["count_claims"] = {statement: 12}
        page = mq.render(line, record)
        assert "a count of 12 runs: fails on" in page and "sd" not in page.split("fails on")[1]
        assert ("(thin)" in page) is thin, page
    with pytest.raises(ValueError, match="count claim"):
        mq.count_failure_rate([1.0, 2.0], "<", 1, 12)
