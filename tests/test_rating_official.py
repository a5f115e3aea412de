"""Official scores reproduced band by band on hand-worked firms (raw records -> points)."""

from __future__ import annotations

import pandas as pd
import pytest

from techcredit.exceptions import InvalidInputError
from techcredit.rating import high_tech_score, rating_inputs, tech_sme_score
from techcredit.rating.official import HIGH_TECH_INPUTS, TECH_SME_INPUTS, band_points
from techcredit.rating.official import default_innovation_spec as spec
from techcredit.schemas import RawTables, records_to_frame

AS_OF = "2024-07-01"


def _report(year: int, revenue: float, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "firm_id": 1, "year": year, "reported_on": f"{year + 1}-05-31",
        "revenue_cny": revenue, "high_tech_revenue_cny": revenue * 0.7,
        "rnd_expense_cny": revenue * 0.06, "domestic_rnd_expense_cny": revenue * 0.06,
        "total_cost_cny": revenue * 0.8, "net_assets_cny": 1e7, "total_assets_cny": 2e7,
        "staff": 60, "st_staff": 15, "conversions": 4, "has_rnd_ledger": True,
        "has_rnd_institution": True, "has_conversion_incentive": False,
        "has_talent_programme": True}
    row.update(kw)
    return row


def _patent(pid: int, kind: str, *, main: bool = True, own: bool = True,
            filed: str = "2016-03-01", granted: str | None = "2019-03-01") -> dict[str, object]:
    return {"patent_id": pid, "firm_id": 1, "kind": kind, "filed_on": filed,
            "granted_on": granted, "claims": 8, "ipc_class": "G06F", "family_countries": 1,
            "main_business": main, "acquisition": "own" if own else "transferred"}


def _tables(reports: list[dict[str, object]], patents: list[dict[str, object]],
            citations: int = 0, registered: str = "2014-01-01",
            high_tech_on: str | None = None) -> RawTables:
    firms = records_to_frame("firms", [{
        "firm_id": 1, "registered_on": registered, "industry_code": "I6513",
        "region_code": "310000", "employees": 60, "st_staff": 15,
        "high_tech_cert_on": high_tech_on}])
    events = [{"patent_id": patents[0]["patent_id"], "firm_id": 1,
               "event_on": "2022-01-01", "event": "citation"}] * citations if patents else []
    empty = {n: records_to_frame(n, []) for n in ("tax_grades", "tax_filings", "invoices")}
    return RawTables(firms=firms, patents=records_to_frame("patents", patents),
                     patent_events=records_to_frame("patent_events", events),
                     rnd=records_to_frame("rnd", reports), **empty)


def _inputs(tables: RawTables) -> pd.DataFrame:
    return rating_inputs(tables, AS_OF, spec=spec())


def test_hand_worked_high_tech_firm_band_by_band() -> None:
    # Sales 1.0e7 -> 1.2e7 -> 1.5e7: growth = 0.5*(1.2 + 1.25) - 1 = 0.225 -> band
    # [0.15, 0.25) 5-6 interpolated: 5 + 0.075/0.10 = 5.75 -> 6 points.
    # Net assets flat 1e7: growth 0 -> not > 0 -> 0 points.
    reports = [_report(2021, 1.0e7), _report(2022, 1.2e7), _report(2023, 1.5e7)]
    patents = [_patent(1, "invention"), _patent(2, "invention", main=False),
               _patent(3, "utility"), _patent(4, "software_copyright", own=False)]
    row = high_tech_score(_inputs(_tables(reports, patents, citations=6))).loc[1]
    assert row["high_tech_ip_advancement_points"] == 5  # 6 citations: 5 + 1/5 -> 5
    # core units: 2 x 1 main invention + 2 main Class II (utility, software) = 4 -> 5
    assert row["high_tech_ip_core_support_points"] == 5
    assert row["high_tech_ip_count_points"] == 8  # 2 Class I: 7 + 1 -> 8
    assert row["high_tech_ip_acquisition_points"] == 3  # 3 own rights: 1 + 5*2/5 = 3
    assert row["high_tech_ip_points"] == 21
    assert row["high_tech_conversions_points"] == 19  # 4 a year: band [4, 5) starts at 19
    assert row["high_tech_management_points"] == 16  # 6 + 6 + 0 + 4
    assert row["high_tech_growth_sales_points"] == 6
    assert row["high_tech_growth_net_assets_points"] == 0
    assert row["high_tech_points"] == 21 + 19 + 16 + 6
    # All hard conditions met (25 % S&T staff, 70 % high-tech revenue, 6 % R&D ...)
    assert row["high_tech_conditions_failed"] == ""
    assert not row["high_tech_pass"]  # 62 < 71


def test_growth_of_a_firm_under_three_years_uses_two_years() -> None:
    # Registered 2022: reports 2022 and 2023 only -> rate = Y3/Y2 - 1 = 0.40 -> 9-10 band
    # at 0.35: 9 + 0.05/0.25 = 9.2 -> 9 points.
    reports = [_report(2022, 1.0e7, net_assets_cny=1e7), _report(2023, 1.4e7,
                                                                  net_assets_cny=1.1e7)]
    inputs = _inputs(_tables(reports, [_patent(1, "invention")], registered="2022-03-01"))
    assert inputs.loc[1, "rnd_sales_growth_3y"] == pytest.approx(0.40)
    row = high_tech_score(inputs).loc[1]
    assert row["high_tech_growth_sales_points"] == 9
    assert row["high_tech_growth_net_assets_points"] == 4  # 10 %: 3 + 0.5 rounds half-up
    assert bool(row["high_tech_cond_registered_age"])  # 2.3 years >= 1


def test_firm_with_one_report_has_no_growth_points_and_young_firm_fails_age() -> None:
    reports = [_report(2023, 1.4e7)]
    inputs = _inputs(_tables(reports, [_patent(1, "invention", filed="2023-09-01",
                                               granted="2024-05-01")],
                             registered="2023-08-01"))
    row = high_tech_score(inputs).loc[1]
    assert row["high_tech_growth_points"] == 0
    assert not row["high_tech_cond_registered_age"]
    assert "HT_REGISTERED_AGE" in row["high_tech_conditions_failed"]
    assert not row["high_tech_pass"]


def test_zero_year_one_sales_falls_back_to_years_two_and_three() -> None:
    reports = [_report(2021, 0.0, high_tech_revenue_cny=0.0, rnd_expense_cny=0.0,
                       domestic_rnd_expense_cny=0.0),
               _report(2022, 1.0e7), _report(2023, 1.3e7)]
    inputs = _inputs(_tables(reports, [_patent(1, "invention")]))
    assert inputs.loc[1, "rnd_sales_growth_3y"] == pytest.approx(0.30)
    assert high_tech_score(inputs).loc[1, "high_tech_growth_sales_points"] == 8  # 7 + 0.5


def _ht_row(**kw: float) -> pd.DataFrame:
    base = dict.fromkeys(HIGH_TECH_INPUTS, 0.0)
    base.update(firm_age_years_now=5.0, rnd_st_staff_share_1y=0.3, rnd_hightech_share_1y=0.7,
                rnd_intensity_sales_3y=0.06, rnd_revenue_sum_1y=3e7,
                rnd_domestic_share_3y=0.9, ip_main_class1_count_now=1.0)
    base.update(kw)
    return pd.DataFrame([base])


@pytest.mark.parametrize(("sales", "intensity", "ok"), [
    (5e7, 0.05, True), (5e7, 0.049, False), (5.1e7, 0.04, True), (2e8, 0.039, False),
    (2.5e8, 0.03, True), (2.5e8, 0.029, False)])
def test_rnd_intensity_condition_by_sales_size(sales: float, intensity: float,
                                                ok: bool) -> None:
    row = high_tech_score(_ht_row(rnd_revenue_sum_1y=sales,
                                  rnd_intensity_sales_3y=intensity)).iloc[0]
    assert bool(row["high_tech_cond_rnd_intensity"]) is ok


def test_pass_at_exactly_71_and_conditions_named() -> None:
    # IP: count 8 (2 Class I) + acquisition 6 (6 own) + advancement 8 (20 citations)
    # + core 8 (units 12) = 30; conversions 25 (5 a year); management 16; growth 0.
    row = _ht_row(ip_class1_count_now=2, ip_main_class1_count_now=6, ip_own_count_now=6,
                  ip_citations_sum_all=20, rnd_conversions_avg_3y=5, rnd_ledger_1y=1,
                  rnd_institution_1y=1, rnd_talent_1y=1)
    out = high_tech_score(row).iloc[0]
    assert out["high_tech_points"] == 71
    assert out["high_tech_pass"]
    out = high_tech_score(row.assign(rnd_domestic_share_3y=0.5,
                                     rnd_hightech_share_1y=float("nan"))).iloc[0]
    assert out["high_tech_conditions_failed"] == "HT_HIGHTECH_REVENUE_SHARE,HT_DOMESTIC_RND_SHARE"
    assert not out["high_tech_pass"]


def _sme_row(**kw: float) -> pd.DataFrame:
    base = dict.fromkeys(TECH_SME_INPUTS, 0.0)
    base.update(rnd_staff_count_1y=50, rnd_revenue_sum_1y=2e7, rnd_total_assets_1y=1e7)
    base.update(kw)
    return pd.DataFrame([base])


@pytest.mark.parametrize(("share", "points"), [
    (0.30, 20), (0.2999, 16), (0.25, 16), (0.20, 12), (0.15, 8), (0.10, 4), (0.0999, 0)])
def test_tech_sme_staff_bands(share: float, points: int) -> None:
    assert tech_sme_score(_sme_row(rnd_st_staff_share_1y=share)).iloc[0][
        "tech_sme_st_staff_points"] == points


def test_tech_sme_rnd_takes_the_higher_of_sales_and_cost_variants() -> None:
    row = tech_sme_score(_sme_row(rnd_intensity_sales_1y=0.021,
                                  rnd_intensity_cost_1y=0.26)).iloc[0]
    assert row["tech_sme_rnd_points"] == 40


@pytest.mark.parametrize(("class1", "class2", "points"), [
    (1, 0, 30), (0, 5, 24), (0, 4, 24), (0, 3, 18), (0, 2, 12), (0, 1, 6), (0, 0, 0)])
def test_tech_sme_ip_bands(class1: int, class2: int, points: int) -> None:
    row = tech_sme_score(_sme_row(ip_main_class1_count_now=class1,
                                  ip_main_class2_count_now=class2)).iloc[0]
    assert row["tech_sme_ip_points"] == points


def test_tech_sme_pass_needs_60_and_staff_points() -> None:
    ok = tech_sme_score(_sme_row(rnd_st_staff_share_1y=0.10, rnd_intensity_sales_1y=0.03,
                                 ip_main_class1_count_now=1)).iloc[0]
    assert ok["tech_sme_points"] == 4 + 20 + 30
    assert not ok["tech_sme_pass"]
    ok = tech_sme_score(_sme_row(rnd_st_staff_share_1y=0.10, rnd_intensity_sales_1y=0.04,
                                 ip_main_class1_count_now=1)).iloc[0]
    assert ok["tech_sme_points"] == 64
    assert ok["tech_sme_pass"]
    no_staff = tech_sme_score(_sme_row(rnd_st_staff_share_1y=0.05, rnd_intensity_sales_1y=0.1,
                                       ip_main_class1_count_now=1)).iloc[0]
    assert no_staff["tech_sme_points"] == 80
    assert not no_staff["tech_sme_pass"]


def test_directly_qualified_tech_sme_via_high_tech_certificate() -> None:
    # From raw records: a valid high-tech certificate (granted 2023-01-10, valid 3 years)
    # qualifies although the score is low (R&D 1 %, S&T staff 5 %).
    reports = [_report(2023, 1e7, rnd_expense_cny=1e5, domestic_rnd_expense_cny=1e5,
                       st_staff=3)]
    tables = _tables(reports, [], high_tech_on="2023-01-10")
    row = tech_sme_score(_inputs(tables)).loc[1]
    assert row["tech_sme_points"] == 0
    assert row["tech_sme_direct"] == "high_tech_certificate"
    assert row["tech_sme_pass"]
    expired = tech_sme_score(_inputs(_tables(reports, [], high_tech_on="2020-01-10"))).loc[1]
    assert expired["tech_sme_direct"] == ""
    assert not expired["tech_sme_pass"]


def test_tech_sme_size_limits_named_and_missing_report_fails() -> None:
    row = tech_sme_score(_sme_row(rnd_staff_count_1y=501, rnd_total_assets_1y=3e8,
                                  rnd_hightech_valid_now=1)).iloc[0]
    assert row["tech_sme_conditions_failed"] == "SME_STAFF_MAX,SME_ASSETS_MAX"
    assert not row["tech_sme_pass"]  # direct qualification still needs eligibility
    nan = tech_sme_score(_sme_row(rnd_revenue_sum_1y=float("nan"))).iloc[0]
    assert not nan["tech_sme_eligible"]


def test_missing_columns_are_named() -> None:
    with pytest.raises(InvalidInputError) as info:
        high_tech_score(pd.DataFrame({"firm_age_years_now": [1.0]}))
    assert "inputs.rnd_st_staff_share_1y" in info.value.fields


def test_band_points_rounds_half_up_inside_expert_range() -> None:
    table = spec().official.high_tech.conversions
    assert band_points(pd.Series([4.5, 4.49]).to_numpy(), table).tolist() == [22.0, 21.0]


def test_one_firm_and_many_firms_agree() -> None:
    from techcredit.data import generate

    tables = generate(120, seed=4)
    many = high_tech_score(rating_inputs(tables, spec=spec()))
    fid = int(many.index[7])
    one = high_tech_score(rating_inputs(tables.for_firms([fid]), spec=spec()))
    pd.testing.assert_frame_equal(many.loc[[fid]], one)


def test_first_own_right_never_costs_acquisition_points() -> None:
    """Found by the monotonicity property: 3 transferred-in rights scored 3 points, and
    adding one own right moved the firm to the own-R&D band at 1 point."""
    import pandas as pd

    from techcredit.rating import high_tech_score

    base = {
        "firm_age_years_now": 4.0, "rnd_st_staff_share_1y": 0.2, "rnd_hightech_share_1y": 0.7,
        "rnd_intensity_sales_3y": 0.06, "rnd_revenue_sum_1y": 1e7, "rnd_domestic_share_3y": 1.0,
        "ip_class1_count_now": 2, "ip_class2_count_now": 0, "ip_main_class1_count_now": 1,
        "ip_main_class2_count_now": 0, "ip_own_count_now": 0, "ip_acquired_count_now": 3,
        "ip_citations_sum_all": 0, "rnd_conversions_avg_3y": 0.0, "rnd_ledger_1y": 0,
        "rnd_institution_1y": 0, "rnd_incentive_1y": 0, "rnd_talent_1y": 0,
        "rnd_sales_growth_3y": 0.1, "rnd_assets_growth_3y": 0.1,
    }
    frame = pd.DataFrame([base, {**base, "ip_own_count_now": 1}], index=[1, 2])
    points = high_tech_score(frame)["high_tech_ip_points"]
    assert points[2] >= points[1]
