"""Planted deterioration raises exactly the expected alerts; a stable portfolio stays quiet."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from techcredit.config.monitoring import load_monitoring_spec
from techcredit.data import generate
from techcredit.monitoring import (
    PLANTS,
    at_least,
    build_scenario,
    monitor,
    summarize_alerts,
)

AS_OF = "2026-03-31"


@pytest.fixture(scope="module")
def scenario():
    tables = generate(1500, seed=3, first_application=dt.date(2025, 1, 1),
                      last_application=dt.date(2025, 3, 31))
    return build_scenario(tables, as_of=AS_OF, seed=1)


@pytest.fixture(scope="module")
def planted_alerts(scenario):
    return monitor(scenario.tables, scenario.portfolio, scenario.as_of)


def _keys(frame: pd.DataFrame) -> set[tuple[int, object, str, str]]:
    return {(int(r.loan_id), None if pd.isna(r.patent_id) else int(r.patent_id), r.rule_id,
             str(r.level)) for r in frame.itertuples()}


def test_both_worlds_are_valid_raw_tables(scenario):
    scenario.stable_tables.validate()
    scenario.tables.validate()
    assert len(scenario.tables.tax_filings) > len(generate(
        1500, seed=3, first_application=dt.date(2025, 1, 1),
        last_application=dt.date(2025, 3, 31)).tax_filings)


def test_planted_portfolio_raises_exactly_the_expected_alerts(scenario, planted_alerts):
    assert set(scenario.planted) == set(PLANTS)
    assert _keys(planted_alerts) == _keys(scenario.expected)


def test_expected_levels_follow_the_domain(scenario, planted_alerts):
    level = dict(zip(planted_alerts["rule_id"], planted_alerts["level"].astype(str),
                     strict=True))
    assert level["ABNORMAL_TAXPAYER"] == "severe"
    assert level["PLEDGE_LAPSED"] == "severe"
    assert level["TAX_PAID_COLLAPSE"] == "warning"
    assert level["LEGAL_REP_CHANGE"] == "notice"
    assert set(planted_alerts["level_zh"]) == {"严重警告", "警告", "关注", "提示"}


def test_stable_portfolio_raises_nothing_at_warning_or_above(scenario):
    alerts = monitor(scenario.stable_tables, scenario.stable_portfolio, scenario.as_of)
    assert at_least(alerts, "warning").empty
    assert len(scenario.stable_portfolio.loans) > 500
    assert len(scenario.stable_portfolio.pledges) > 50


def test_observed_values_say_how_bad(planted_alerts):
    by_rule = planted_alerts.set_index("rule_id")
    assert by_rule.loc["TAX_PAID_COLLAPSE", "observed"] == pytest.approx(0.2, abs=0.01)
    assert by_rule.loc["PLEDGE_FEE_OVERDUE", "observed"] > 0
    assert by_rule.loc["PLEDGE_VALUE_BELOW_LINE", "observed"] > 0.7
    assert by_rule.loc["PLEDGE_EXPIRES_IN_TERM", "observed"] < by_rule.loc[
        "PLEDGE_EXPIRES_IN_TERM", "threshold"]


def test_at_booking_only_early_pledge_events_are_visible(scenario):
    """Point in time: at the last booking date the later plants are not seen yet."""
    first = scenario.portfolio.loans["booked_on"].max()
    alerts = monitor(scenario.tables, scenario.portfolio, first)
    assert _keys(alerts) <= _keys(scenario.expected)
    assert set(alerts["rule_id"]) <= {"PLEDGE_INVALIDATION_REQUEST", "PLEDGE_LITIGATION",
                                      "PLEDGE_TRANSFERRED", "PLEDGE_EXPIRES_IN_TERM"}


def test_summary_counts_per_level_and_rule(planted_alerts):
    summary = summarize_alerts(planted_alerts)
    assert summary["alerts"].sum() == len(planted_alerts)
    assert str(summary["level"].iloc[0]) == "severe"
    assert summary.set_index("rule_id").loc["TAX_GRADE_C", "level_zh"] == "警告"


def test_a_stricter_yaml_line_raises_more(scenario, planted_alerts):
    spec = load_monitoring_spec()
    line = spec.pledges.value_below_line.model_copy(update={"ltv_max": 0.01})
    pledges = spec.pledges.model_copy(update={"value_below_line": line})
    strict = spec.model_copy(update={"pledges": pledges})
    alerts = monitor(scenario.tables, scenario.portfolio, scenario.as_of, spec=strict)
    n = (alerts["rule_id"] == "PLEDGE_VALUE_BELOW_LINE").sum()
    assert n > (planted_alerts["rule_id"] == "PLEDGE_VALUE_BELOW_LINE").sum()
