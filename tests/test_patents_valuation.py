"""Patent valuation: pledge exclusions, cohort normalisation, money value, roll-up."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.rating import CitationCohorts, portfolio_value, value_patents
from techcredit.rating.patents import annuity_factor, default_valuation_spec
from techcredit.schemas import RawTables, records_to_frame

AS_OF = dt.date(2024, 7, 1)


def _tables(patents: list[dict[str, object]], events: list[dict[str, object]],
            revenue: float = 5e7) -> RawTables:
    firms = records_to_frame("firms", [{
        "firm_id": 1, "registered_on": "2010-01-01", "industry_code": "I6513",
        "region_code": "310000", "employees": 80, "st_staff": 20}])
    rnd = records_to_frame("rnd", [{
        "firm_id": 1, "year": 2023, "reported_on": "2024-05-31", "revenue_cny": revenue,
        "high_tech_revenue_cny": 0.0, "rnd_expense_cny": 0.0, "domestic_rnd_expense_cny": 0.0,
        "total_cost_cny": 0.0, "net_assets_cny": 0.0, "total_assets_cny": 0.0, "staff": 80,
        "st_staff": 20, "conversions": 0, "has_rnd_ledger": False,
        "has_rnd_institution": False, "has_conversion_incentive": False,
        "has_talent_programme": False}])
    empty = {n: records_to_frame(n, []) for n in ("tax_grades", "tax_filings", "invoices")}
    return RawTables(firms=firms, rnd=rnd, patents=records_to_frame("patents", patents),
                     patent_events=records_to_frame("patent_events", events), **empty)


def _patent(pid: int = 1, kind: str = "invention", filed: str = "2018-01-01",
            granted: str | None = "2020-06-01", family: int = 3, claims: int = 12
            ) -> dict[str, object]:
    return {"patent_id": pid, "firm_id": 1, "kind": kind, "filed_on": filed,
            "granted_on": granted, "claims": claims, "ipc_class": "G06N",
            "family_countries": family, "main_business": True, "acquisition": "own"}


def _event(event: str, on: str, pid: int = 1) -> dict[str, object]:
    return {"patent_id": pid, "firm_id": 1, "event_on": on, "event": event}


def _value(events: list[dict[str, object]], **kw: object) -> dict[str, object]:
    out = value_patents(_tables([_patent(**kw)], events), AS_OF)  # type: ignore[arg-type]
    return out.iloc[0].to_dict()


def test_strong_invention_is_pledgeable() -> None:
    row = _value([_event("licence", "2022-01-01"), _event("citation", "2021-01-01")])
    assert row["pledge_exclusion"] == ""
    assert row["pvd_tier"] in ("high", "medium")
    assert row["pledge_value_cny"] == pytest.approx(row["ltv"] * row["value_cny"])
    assert row["value_cny"] > 0


@pytest.mark.parametrize(("events", "kw", "reason"), [
    ([_event("lapse", "2023-01-01")], {}, "LAPSED"),
    ([_event("invalidation_request", "2023-01-01")], {}, "CHALLENGED"),
    ([_event("litigation", "2024-06-30")], {}, "CHALLENGED"),
    ([], {"kind": "utility", "filed": "2016-01-01", "granted": "2016-09-01"},
     "EXPIRES_IN_TERM"),
    ([], {"granted": None}, "NOT_GRANTED"),
    ([_event("pledge", "2023-01-01")], {}, "ALREADY_PLEDGED"),
])
def test_exclusions_zero_the_pledge_value(events: list[dict[str, object]],
                                          kw: dict[str, object], reason: str) -> None:
    row = _value(events, **kw)
    assert row["pledge_exclusion"] == reason
    assert row["pledge_value_cny"] == 0


def test_events_after_as_of_are_not_used() -> None:
    row = _value([_event("lapse", "2024-07-02"), _event("litigation", "2025-01-01")])
    assert row["pledge_exclusion"] == ""
    assert row["in_force"]


def test_released_pledge_frees_the_right() -> None:
    row = _value([_event("pledge", "2021-01-01"), _event("pledge_release", "2022-01-01")])
    assert row["pledge_exclusion"] == ""


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["invention", "utility", "design", "software_copyright"]),
       filed_days=st.integers(0, 4000), grant_lag=st.integers(30, 1200),
       lapse_after=st.integers(1, 2000), family=st.integers(1, 6), claims=st.integers(0, 30),
       licences=st.integers(0, 2))
def test_a_lapsed_patent_is_worth_zero_for_pledge(kind: str, filed_days: int, grant_lag: int,
                                                  lapse_after: int, family: int, claims: int,
                                                  licences: int) -> None:
    filed = dt.date(2012, 1, 1) + dt.timedelta(days=filed_days)
    granted = filed + dt.timedelta(days=grant_lag)
    lapse = min(granted + dt.timedelta(days=lapse_after), AS_OF)
    events = [_event("lapse", lapse.isoformat())]
    events += [_event("licence", (granted + dt.timedelta(days=10)).isoformat())] * licences
    row = _value(events, kind=kind, filed=filed.isoformat(), granted=granted.isoformat(),
                 family=family, claims=claims)
    assert row["pledge_value_cny"] == 0
    assert row["value_cny"] == 0
    assert row["lvd"] == 0


def test_citations_are_normalised_within_cohort() -> None:
    ipc = np.array(["G06F"] * 30 + ["H01L"] * 30)
    year = np.array([2015] * 60)
    cites = np.r_[np.full(30, 10.0), np.full(30, 1.0)]
    c = CitationCohorts.fit(ipc, year, cites, min_size=20)
    assert c.cohort_mean(np.array(["G06F", "H01L"]), np.array([2015, 2015])).tolist() == [
        10.0, 1.0]
    # a cohort below min_size falls back to the IPC subclass
    assert c.cohort_mean(np.array(["G06F"]), np.array([2019])).tolist() == [10.0]
    assert c.cohort_mean(np.array(["A01B"]), np.array([2001])).tolist() == [5.5]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.sampled_from([1, 12, 256, 257, 600]))  # both sides of _FEW_RIGHTS
def test_cohort_lookup_of_many_rights_equals_one_by_one(data, n: int) -> None:
    rights = data.draw(st.lists(st.tuples(st.sampled_from(["G06F", "H01L", "A01B", "C07D"]),
                                          st.integers(1990, 2030)), min_size=n, max_size=n))
    ipc = np.array([r[0] for r in rights], dtype=object)
    year = np.array([r[1] for r in rights])
    cohorts = CitationCohorts.fit(np.array(["G06F"] * 30 + ["H01L"] * 5), np.full(35, 2015),
                                  np.arange(35.0), min_size=10)
    one_by_one = [CitationCohorts.from_dict(cohorts.to_dict()).cohort_mean(ipc[i:i + 1],
                                                                          year[i:i + 1])[0]
                  for i in range(ipc.size)]
    assert cohorts.cohort_mean(ipc, year).tolist() == one_by_one


def test_relief_from_royalty_by_hand() -> None:
    spec = default_valuation_spec()
    row = _value([])
    m = spec.money
    expected_rate = m.royalty_rate_annual["invention"] * row["pvd"] / m.pvd_reference
    assert row["royalty_rate_annual"] == pytest.approx(expected_rate)
    # the only right in force carries the whole attributable revenue
    assert row["attributable_revenue_cny"] == pytest.approx(5e7 * m.revenue_attribution_share)
    life = min(row["remaining_life_years"], m.economic_life_max_years)
    annuity = (1 - (1 + m.discount_rate_annual) ** -life) / m.discount_rate_annual
    assert row["value_cny"] == pytest.approx(expected_rate * row["attributable_revenue_cny"]
                                             * annuity)
    assert annuity_factor(np.array([life]), m.discount_rate_annual)[0] == pytest.approx(annuity)


def test_portfolio_rolls_up_per_firm() -> None:
    pats = [_patent(1), _patent(2, kind="utility", filed="2022-01-01", granted="2022-09-01"),
            _patent(3, granted=None)]
    valued = value_patents(_tables(pats, [_event("lapse", "2023-05-01", pid=1)]), AS_OF)
    roll = portfolio_value(valued, firm_ids=[1, 2]).loc[1]
    assert roll["rights_count"] == 3
    assert roll["inforce_count"] == 1
    assert roll["value_cny"] == pytest.approx(valued["value_cny"].sum())
    assert roll["pledge_value_cny"] == pytest.approx(valued["pledge_value_cny"].sum())
    empty = portfolio_value(valued, firm_ids=[1, 2]).loc[2]
    assert empty["value_cny"] == 0


def test_cohorts_round_trip_and_serve_one_firm() -> None:
    from techcredit.data import generate

    tables = generate(400, seed=3)
    batch = value_patents(tables)
    cohorts = CitationCohorts.fit(batch["ipc_class"].to_numpy(), batch["filing_year"].to_numpy(),
                                  batch["citations"].to_numpy(), min_size=20)
    restored = CitationCohorts.from_dict(cohorts.to_dict())
    fid = int(batch["firm_id"].iloc[0])
    one = value_patents(tables.for_firms([fid]), cohorts=restored)
    ref = batch[batch["firm_id"] == fid].reset_index(drop=True)
    np.testing.assert_allclose(one["tvd"].to_numpy(), ref["tvd"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 4), st.floats(-1e9, 1e9),
                               st.one_of(st.just(0.0), st.just(float("nan")),
                                         st.floats(-1e6, 1e6))), max_size=40))
def test_value_sums_add_in_row_order_as_bincount(rows) -> None:
    """Per-row sums equal ``np.bincount`` with weights to the bit (NaN pledges count as
    not pledgeable but poison their row's pledge sum, as the weights would)."""
    from techcredit.rating.patents import value_sums

    group = np.array([g for g, _, _ in rows], dtype=np.intp)
    value = np.array([v for _, v, _ in rows], dtype=np.float64)
    pledge = np.array([p for _, _, p in rows], dtype=np.float64)
    sums = value_sums({"value_cny": value, "pledge_value_cny": pledge}, group, 6)
    expected = {"value_cny": np.bincount(group, weights=value, minlength=6),
                "pledge_value_cny": np.bincount(group, weights=pledge, minlength=6),
                "pledgeable_count": np.bincount(group, weights=pledge > 0, minlength=6)}
    for name, want in expected.items():
        assert sums[name].tobytes() == want.tobytes(), name
