"""Feature builders on small hand-made tables: values, defaults, catalogue coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techcredit.config.policy import load_policy
from techcredit.features import build_features, feature_names
from techcredit.features._query import prepare
from techcredit.features.build import build_blocks
from techcredit.features.catalogue import get
from techcredit.features.invoice import invoice_features
from techcredit.features.ip import ip_features
from techcredit.features.rnd import rnd_features
from techcredit.features.tax import tax_features
from techcredit.schemas import RawTables, records_to_frame

AS_OF = "2024-03-20"  # reference month: 2024-02


def _firm(fid: int, **kw: object) -> dict:
    row = {"firm_id": fid, "registered_on": "2018-01-01", "industry_code": "I6513",
           "region_code": "310000", "employees": 30, "st_staff": 10}
    row.update(kw)
    return row


def _filing(fid: int, month: str, paid: float, *, zero: bool = False,
            filed: str | None = None, sales: float = 1e5) -> dict:
    period = pd.Timestamp(month + "-01")
    return {"firm_id": fid, "period": period.date(),
            "filed_on": filed or (period + pd.offsets.MonthBegin(1) + pd.Timedelta(days=9)).date(),
            "declared_sales_cny": 0.0 if zero else sales, "vat_paid_cny": 0.0 if zero else paid,
            "cit_paid_cny": 0.0, "zero_filing": zero}


def _tables(**tables: list[dict]) -> RawTables:
    names = ("firms", "tax_grades", "tax_filings", "invoices", "patents", "patent_events", "rnd")
    return RawTables(**{n: records_to_frame(n, tables.get(n, [])) for n in names})


def _months(start: str, count: int) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(start, periods=count, freq="M")]


@pytest.fixture(scope="module")
def tables() -> RawTables:
    filings = [_filing(1, m, 1000.0) for m in _months("2022-03", 24)]
    filings[-1] = _filing(1, "2024-02", 3000.0)           # last month paid more
    filings[-2] = _filing(1, "2024-01", 0.0, zero=True)   # one zero filing
    del filings[5]                                         # one missing month (2022-08)
    filings.append(_filing(1, "2024-03", 9e9, filed="2024-03-25"))  # filed after as_of
    invoices = []
    for i, month in enumerate(_months("2023-03", 12)):
        invoices.append({"invoice_id": 100 + i, "firm_id": 1, "buyer_id": 7,
                         "issued_at": f"{month}-10T10:00", "amount_cny": 600.0,
                         "tax_cny": 78.0, "status": "normal"})
        invoices.append({"invoice_id": 200 + i, "firm_id": 1, "buyer_id": 8,
                         "issued_at": f"{month}-11T23:30", "amount_cny": 400.0,
                         "tax_cny": 52.0, "status": "normal"})
    invoices += [
        {"invoice_id": 300, "firm_id": 1, "buyer_id": 9, "issued_at": "2024-02-01T09:00",
         "amount_cny": 5000.0, "tax_cny": 650.0, "status": "voided"},
        {"invoice_id": 301, "firm_id": 1, "buyer_id": 7, "issued_at": "2024-02-02T09:00",
         "amount_cny": -600.0, "tax_cny": -78.0, "status": "red_letter",
         "original_invoice_id": 111},
        {"invoice_id": 302, "firm_id": 1, "buyer_id": 7, "issued_at": "2024-03-19T09:00",
         "amount_cny": 1e6, "tax_cny": 0.0, "status": "normal"},   # partial month: ignored
        {"invoice_id": 303, "firm_id": 1, "buyer_id": 7, "issued_at": "2024-03-21T09:00",
         "amount_cny": 1e6, "tax_cny": 0.0, "status": "normal"},   # after as_of
    ]
    grades = [
        {"firm_id": 1, "year": 2021, "grade": "C", "published_on": "2022-04-01"},
        {"firm_id": 1, "year": 2022, "grade": "B", "published_on": "2023-04-01"},
        {"firm_id": 1, "year": 2023, "grade": "D", "published_on": "2024-04-01"},  # unknown
    ]
    patent = {"firm_id": 1, "claims": 8, "ipc_class": "G06F", "family_countries": 3,
              "main_business": True, "acquisition": "own"}
    patents = [
        {**patent, "patent_id": 1, "kind": "invention", "filed_on": "2016-01-01",
         "granted_on": "2019-01-01"},
        {**patent, "patent_id": 2, "kind": "utility", "filed_on": "2020-01-01",
         "granted_on": "2020-09-01", "acquisition": "transferred", "family_countries": 1},
        {**patent, "patent_id": 3, "kind": "invention", "filed_on": "2023-01-01"},
        {**patent, "patent_id": 4, "kind": "design", "filed_on": "2024-05-01"},  # future
        {**patent, "patent_id": 5, "kind": "utility", "filed_on": "2023-06-01"},  # pending
    ]
    events = [
        {"patent_id": 1, "firm_id": 1, "event_on": "2021-01-01", "event": "citation"},
        {"patent_id": 1, "firm_id": 1, "event_on": "2022-01-01", "event": "pledge"},
        {"patent_id": 2, "firm_id": 1, "event_on": "2023-01-01", "event": "litigation"},
        {"patent_id": 1, "firm_id": 1, "event_on": "2024-06-01", "event": "lapse"},  # future
    ]

    def report(year: int, revenue: float, **kw: object) -> dict:
        row = {"firm_id": 1, "year": year, "reported_on": f"{year + 1}-05-31",
               "revenue_cny": revenue, "high_tech_revenue_cny": revenue * 0.6,
               "rnd_expense_cny": revenue * 0.05, "domestic_rnd_expense_cny": revenue * 0.04,
               "total_cost_cny": revenue * 0.5, "net_assets_cny": revenue,
               "total_assets_cny": revenue * 2, "staff": 30, "st_staff": 10, "conversions": 3,
               "has_rnd_ledger": True, "has_rnd_institution": True,
               "has_conversion_incentive": False, "has_talent_programme": False}
        row.update(kw)
        return row

    rnd = [report(2020, 100.0), report(2021, 200.0), report(2022, 300.0, staff=4, st_staff=1),
           report(2023, 1e9)]  # 2023 reported after as_of
    firms = [_firm(1, legal_rep_changed_on="2024-01-01", high_tech_cert_on="2021-12-01",
                   tax_arrears_on="2024-06-01"),
             _firm(2, registered_on="2023-11-01")]
    return _tables(firms=firms, tax_filings=filings, invoices=invoices, tax_grades=grades,
                   patents=patents, patent_events=events, rnd=rnd)


@pytest.fixture(scope="module")
def feats(tables: RawTables) -> pd.DataFrame:
    return build_features(tables, as_of=AS_OF, firm_ids=[1, 2, 99])


def test_every_built_feature_is_catalogued_and_vice_versa(tables: RawTables):
    arrays, ids, asof = prepare(tables, AS_OF, [1, 2])
    built = build_blocks(arrays, ids, asof, load_policy().flags)
    assert set(built) == set(feature_names())
    assert len(feature_names()) >= 40
    for name, values in built.items():
        assert values.shape == (2,), name
        assert values.dtype == np.float64, name


def test_frame_shape_order_and_dtypes(feats: pd.DataFrame):
    assert list(feats.index) == [1, 2, 99]
    assert feats.index.name == "firm_id"
    assert tuple(feats.columns) == feature_names()
    for name in feats.columns:
        expected = bool if get(name).kind == "boolean" else np.float64
        assert feats[name].dtype == expected, name


def test_no_requested_firm_gives_an_empty_frame(tables: RawTables):
    empty = build_features(tables, as_of=AS_OF, firm_ids=[])
    assert empty.shape == (0, len(feature_names()))
    assert tuple(empty.columns) == feature_names()


def test_tax_features(feats: pd.DataFrame):
    row = feats.loc[1]
    # months 2023-03 .. 2024-02: ten at 1000, one zero (2024-01), 3000 in 2024-02
    assert row["tax_paid_sum_12m"] == 13000.0
    assert row["tax_paid_sum_24m"] == 13000.0 + 11 * 1000.0  # 2022-08 missing
    assert row["tax_zero_filings_12m"] == 1
    assert row["tax_missing_months_24m"] == 1
    assert row["tax_missing_run_max_24m"] == 1
    assert row["tax_paid_months_3m"] == 2
    assert row["tax_months_since_payment_all"] == 0
    assert row["tax_history_months_all"] == 24
    assert row["tax_paid_yoy_12m"] == pytest.approx(13000 / 11000 - 1)
    assert row["tax_grade_now"] == 2  # B for 2022; 2023's D not yet published
    assert row["tax_grade_worst_3y"] == 4  # C for 2021
    assert not row["tax_arrears_now"]  # recorded after as_of
    assert not row["tax_abnormal_now"]


def test_invoice_features(feats: pd.DataFrame):
    row = feats.loc[1]
    assert row["inv_sales_net_12m"] == 12 * 1000.0 - 600.0  # voided excluded, red netted
    assert row["inv_sales_net_3m"] == 3 * 1000.0 - 600.0
    assert row["inv_count_12m"] == 24
    assert row["inv_buyers_count_12m"] == 2
    assert row["inv_top1_share_12m"] == pytest.approx(6600 / 11400)
    assert row["inv_top5_share_12m"] == pytest.approx(1.0)
    assert row["inv_buyer_hhi_12m"] == pytest.approx((6600**2 + 4800**2) / 11400**2)
    assert row["inv_voided_ratio_12m"] == pytest.approx(5000 / 17000)
    assert row["inv_red_ratio_12m"] == pytest.approx(600 / 12000)
    assert row["inv_night_share_12m"] == pytest.approx(0.5)
    assert row["inv_history_months_all"] == 12
    assert np.isnan(row["inv_sales_growth_12m"])  # no prior year
    assert row["inv_tax_gap_12m"] == pytest.approx(abs(11400 - 11e5) / 11e5)
    assert row["flag_night_invoicing"]
    assert row["flag_invoice_tax_gap"]
    assert row["flag_buyer_top1"]


def test_ip_features(feats: pd.DataFrame):
    row = feats.loc[1]
    assert row["ip_filed_count_all"] == 4  # the design is filed after as_of
    assert row["ip_inforce_count_now"] == 2
    assert row["ip_invention_count_now"] == 1
    assert row["ip_invention_pending_now"] == 1
    assert row["ip_class1_count_now"] == 1
    assert row["ip_class2_count_now"] == 1
    assert row["ip_own_count_now"] == 1
    assert row["ip_acquired_count_now"] == 1
    assert row["ip_pledged_count_now"] == 1
    assert row["ip_challenged_count_all"] == 1
    assert row["ip_citations_sum_all"] == 1
    assert row["ip_family_max_now"] == 3
    assert row["ip_family_intl_count_now"] == 1
    assert row["ip_lapsed_count_all"] == 0  # the lapse is after as_of


def test_rnd_and_firm_features(feats: pd.DataFrame):
    row = feats.loc[1]
    assert row["rnd_revenue_sum_1y"] == 300.0  # 2023 report not known yet
    assert row["rnd_sales_growth_3y"] == pytest.approx(0.5 * (2 + 1.5) - 1)
    assert row["rnd_intensity_sales_3y"] == pytest.approx(0.05)
    assert row["rnd_domestic_share_3y"] == pytest.approx(0.8)
    assert row["rnd_conversions_avg_3y"] == 3
    assert row["rnd_years_reported_3y"] == 3
    assert row["rnd_ledger_1y"]
    assert not row["rnd_talent_1y"]
    assert row["rnd_hightech_valid_now"]
    assert row["flag_staff_few"]
    assert row["flag_legal_rep_change"]
    assert row["firm_rep_change_months_now"] == pytest.approx(79 / (365.25 / 12))


def test_firm_without_records_gets_defined_values(feats: pd.DataFrame):
    for fid in (2, 99):  # 2: no records but a profile; 99: not even a profile
        row = feats.loc[fid]
        assert row["tax_paid_sum_12m"] == 0
        assert row["tax_history_months_all"] == 0
        assert row["inv_count_12m"] == 0
        assert row["ip_inforce_count_now"] == 0
        assert row["rnd_years_reported_3y"] == 0
        assert np.isnan(row["inv_top1_share_12m"])
        assert np.isnan(row["rnd_intensity_sales_3y"])
        assert not row["flag_invoice_spike"]
    assert feats.loc[2, "tax_missing_months_24m"] == 4  # registered 2023-11: 4 months due
    assert np.isnan(feats.loc[99, "firm_age_years_now"])


def test_per_row_as_of_and_repeats(tables: RawTables):
    as_of = pd.to_datetime(["2024-03-20", "2022-05-20", "2024-03-20"])
    frame = build_features(tables, as_of=as_of, firm_ids=[1, 1, 2])
    assert list(frame.index) == [1, 1, 2]
    assert frame.iloc[0]["rnd_revenue_sum_1y"] == 300.0
    assert frame.iloc[1]["rnd_revenue_sum_1y"] == 100.0  # only 2020 reported by mid-2022
    one = build_features(tables, as_of="2022-05-20", firm_ids=[1])
    pd.testing.assert_series_equal(frame.iloc[1], one.iloc[0], check_exact=True)


def test_source_builders_match_build_features(tables: RawTables, feats: pd.DataFrame):
    for builder in (tax_features, invoice_features, ip_features, rnd_features):
        part = builder(tables, AS_OF, [1, 2, 99])
        pd.testing.assert_frame_equal(part, feats[part.columns], check_exact=True)


def test_bad_as_of_is_rejected(tables: RawTables):
    from techcredit.exceptions import InvalidInputError

    with pytest.raises(InvalidInputError, match="as_of"):
        build_features(tables, as_of=pd.to_datetime(["2024-01-01"] * 3), firm_ids=[1, 2])
