"""Planted deterioration raises exactly the expected alerts; a stable portfolio stays quiet."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from techcredit.config import default_models_dir
from techcredit.config.monitoring import load_monitoring_spec
from techcredit.config.policy import load_policy
from techcredit.config.scorecard import load_scorecard_spec
from techcredit.data import generate
from techcredit.decision.policy import CompiledPolicy, PolicyInputs, apply_policy
from techcredit.features import build_features
from techcredit.monitoring import (
    PLANTS,
    at_least,
    book_portfolio,
    build_scenario,
    monitor,
    summarize_alerts,
)
from techcredit.monitoring.scenarios import clean_at_booking
from techcredit.schemas import conform_frame

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


# ------------------------------------------------------- who is clean at booking (policy)

BOOK_AS_OF = pd.Timestamp("2026-03-31")


@pytest.fixture(scope="module")
def small_tables():
    return generate(400, seed=3, first_application=dt.date(2025, 1, 1),
                    last_application=dt.date(2025, 3, 31))


@pytest.fixture(scope="module")
def booked(small_tables):
    return book_portfolio(small_tables, as_of=BOOK_AS_OF)


def _window_apps(tables) -> pd.DataFrame:
    """The applications book_portfolio considers (window ending 12 months before as-of)."""
    last = BOOK_AS_OF - pd.DateOffset(months=12)
    apps = tables.applications
    apps = apps[(apps["applied_on"] > last - pd.DateOffset(months=3))
                & (apps["applied_on"] <= last)]
    return apps.drop_duplicates("firm_id").reset_index(drop=True)


def _firms(portfolio) -> set[int]:
    return set(portfolio.loans["firm_id"].astype(int))


def _with(tables, name: str, frame: pd.DataFrame):
    return replace(tables, **{name: conform_frame(name, frame)})


def _knock_out(tables, kind: str, firm: int, applied_on: pd.Timestamp):
    """The tables with ``firm`` made to trip one knock-out before ``applied_on``."""
    before = applied_on - pd.Timedelta(days=30)
    if kind in ("abnormal_taxpayer_on", "tax_arrears_on", "legal_rep_changed_on"):
        firms = tables.firms.copy()
        firms.loc[firms["firm_id"] == firm, kind] = before
        return _with(tables, "firms", firms)
    if kind == "grade_d":
        g = tables.tax_grades
        year = int(g["year"].max()) + 1
        row = pd.DataFrame({"firm_id": [firm], "year": [year], "grade": ["D"],
                            "published_on": [before]})
        return _with(tables, "tax_grades", pd.concat([g, row], ignore_index=True))
    # filing gaps: 5 monthly filings missing, 12 to 8 months before the application
    f = tables.tax_filings
    start = applied_on.to_period("M").start_time - pd.DateOffset(months=12)
    gap = (f["firm_id"] == firm) & (f["period"] >= start) & (
        f["period"] < start + pd.DateOffset(months=5))
    assert gap.sum() == 5
    return _with(tables, "tax_filings", f[~gap].reset_index(drop=True))


@pytest.mark.parametrize("kind", ["grade_d", "abnormal_taxpayer_on", "tax_arrears_on",
                                  "filing_gaps"])
def test_a_firm_the_policy_knocks_out_is_never_booked(small_tables, booked, kind):
    loan = booked.loans.iloc[0]
    firm = int(loan["firm_id"])
    tables = _knock_out(small_tables, kind, firm, pd.Timestamp(loan["booked_on"]))
    after = book_portfolio(tables, as_of=BOOK_AS_OF)
    assert _firms(after) == _firms(booked) - {firm}


def test_clean_firms_are_booked_and_only_policy_rules_exclude_them(small_tables, booked):
    """A recent legal-representative change refers (policy only: no monitoring condition
    reads it at booking): with the packaged policy the firm is not booked, with the refer
    rule removed from a copy of the policy it is."""
    assert len(booked.loans) > 20
    loan = booked.loans.iloc[1]
    firm = int(loan["firm_id"])
    tables = _knock_out(small_tables, "legal_rep_changed_on", firm,
                        pd.Timestamp(loan["booked_on"]))
    assert firm not in _firms(book_portfolio(tables, as_of=BOOK_AS_OF))
    policy = load_policy()
    lenient = policy.model_copy(update={"refer": [
        r for r in policy.refer if r.id != "REFER_LEGAL_REP_CHANGE"]})
    assert firm in _firms(book_portfolio(tables, as_of=BOOK_AS_OF, policy=lenient))


def _policy_dir(tmp_path, old: str, new: str):
    models = tmp_path / "models"
    shutil.copytree(default_models_dir(), models)
    text = (models / "policy.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    (models / "policy.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return load_policy(models)


def test_a_stricter_policy_file_books_fewer_and_exactly_whom_it_should(small_tables, booked,
                                                                       tmp_path):
    """Thin-history refer at 36 months instead of 12: those below 36 months leave."""
    policy = _policy_dir(tmp_path, 'tax_history_months_all, op: "<", value: 12}',
                         'tax_history_months_all, op: "<", value: 36}')
    strict = book_portfolio(small_tables, as_of=BOOK_AS_OF, policy=policy)
    loans = booked.loans
    history = build_features(small_tables, as_of=loans["booked_on"].to_numpy(),
                             firm_ids=loans["firm_id"].to_numpy())["tax_history_months_all"]
    keep = set(loans["firm_id"][(history >= 36).to_numpy()].astype(int))
    assert 0 < len(keep) < len(loans)
    assert _firms(strict) == keep


def test_a_looser_policy_file_books_more(small_tables, booked, tmp_path):
    """One fraud flag no longer refers (two still knock out): more firms are clean."""
    policy = _policy_dir(tmp_path, 'fraud_flag_count, op: ">=", value: 1}',
                         'fraud_flag_count, op: ">=", value: 2}')
    looser = book_portfolio(small_tables, as_of=BOOK_AS_OF, policy=policy)
    assert _firms(looser) > _firms(booked)


def test_clean_means_the_decision_fires_no_knockout_or_refer(small_tables):
    """Oracle: the decision layer's own apply_policy (a best-grade logit, so only the
    model's rule is silent) fires none of the policy's rules on exactly the clean
    applications among those monitoring can follow."""
    apps = _window_apps(small_tables)
    policy = load_policy()
    compiled = CompiledPolicy.of(policy)
    n = len(apps)
    f = build_features(small_tables, as_of=apps["applied_on"].to_numpy(),
                       firm_ids=apps["firm_id"].to_numpy()).astype("float64")
    one = lambda v: np.full(n, v, dtype=object)  # noqa: E731
    out = apply_policy(compiled, PolicyInputs(
        features={c: f[c].to_numpy() for c in f.columns}, segment=one("micro"),
        logit=np.full(n, -8.0), product=apps["product"].to_numpy(dtype=object),
        amount_cny=apps["requested_amount_cny"].to_numpy(dtype=np.float64),
        innovation_tier=one("C"), pledge_value_cny=np.zeros(n)),
        load_scorecard_spec().scaling)
    rule_free = np.array([not set(r) & set(compiled.rule_ids) for r in out.rules])
    followable = clean_at_booking(small_tables, apps, policy=policy.model_copy(
        update={"knockouts": [], "refer": []}))
    clean = clean_at_booking(small_tables, apps, policy=policy)
    assert 0 < clean.sum() < followable.sum()
    np.testing.assert_array_equal(clean, rule_free & followable)
