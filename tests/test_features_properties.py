"""Point-in-time and order invariance (hypothesis), and one path for one or many firms."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techcredit.data import generate
from techcredit.features import FirmArrays, build_features
from techcredit.schemas import RawTables, records_to_frame

N_FIRMS = 25
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=1)
def _base() -> tuple[RawTables, np.ndarray]:
    tables = generate(N_FIRMS, seed=11)
    apps = tables.applications.drop_duplicates("firm_id")
    return tables, apps["firm_id"].to_numpy()


def _as_of(shift_days: int) -> pd.Series:
    tables, ids = _base()
    applied = tables.applications.drop_duplicates("firm_id").set_index("firm_id")["applied_on"]
    return applied.loc[ids] - pd.Timedelta(days=shift_days)


def _build(tables: RawTables, as_of: pd.Series) -> pd.DataFrame:
    return build_features(tables, as_of=as_of.to_numpy(), firm_ids=as_of.index.to_numpy())


def _later(draw: st.DrawFn, after: pd.Timestamp) -> dt.date:
    return (after + pd.Timedelta(days=draw(st.integers(1, 800)))).date()


@st.composite
def future_records(draw: st.DrawFn, as_of: pd.Series) -> dict[str, list[dict]]:
    """Records of every table dated strictly after each firm's as_of."""
    tables, ids = _base()
    out: dict[str, list[dict]] = {n: [] for n in ("tax_grades", "tax_filings", "invoices",
                                                    "patents", "patent_events", "rnd")}
    patents = tables.patents
    for _ in range(draw(st.integers(1, 12))):
        fid = int(draw(st.sampled_from(ids)))
        cut = as_of.loc[fid]
        kind = draw(st.sampled_from(sorted(out)))
        money = draw(st.floats(0, 1e7, allow_nan=False))
        if kind == "tax_grades":
            out[kind].append({"firm_id": fid, "year": draw(st.integers(2010, 2030)),
                              "grade": draw(st.sampled_from("ABMCD")),
                              "published_on": _later(draw, cut)})
        elif kind == "tax_filings":  # an old or new period, filed after as_of
            filed = _later(draw, cut)
            period = (cut - pd.DateOffset(months=draw(st.integers(0, 30)))).replace(day=1)
            out[kind].append({"firm_id": fid, "period": min(period.date(), filed),
                              "filed_on": filed, "declared_sales_cny": money,
                              "vat_paid_cny": money / 10, "cit_paid_cny": 0.0,
                              "zero_filing": draw(st.booleans())})
        elif kind == "invoices":
            status = draw(st.sampled_from(["normal", "voided", "red_letter"]))
            amount = -money if status == "red_letter" else money
            when = pd.Timestamp(_later(draw, cut)) + pd.Timedelta(hours=draw(st.integers(0, 23)))
            out[kind].append({"invoice_id": 10**9 + len(out[kind]), "firm_id": fid,
                              "issued_at": when, "buyer_id": draw(st.integers(0, 5)),
                              "amount_cny": amount, "tax_cny": amount * 0.13,
                              "status": status})
        elif kind == "patents":
            filed = _later(draw, cut)
            out[kind].append({"patent_id": 10**9 + len(out[kind]), "firm_id": fid,
                              "kind": draw(st.sampled_from(["invention", "utility", "design",
                                                            "software_copyright"])),
                              "filed_on": filed, "granted_on": filed, "claims": 3,
                              "ipc_class": "G06F", "family_countries": 2,
                              "main_business": True, "acquisition": "own"})
        elif kind == "patent_events":
            own = patents[patents["firm_id"] == fid]
            if own.empty:
                continue
            pid = int(draw(st.sampled_from(own["patent_id"].tolist())))
            out[kind].append({"patent_id": pid, "firm_id": fid, "event_on": _later(draw, cut),
                              "event": draw(st.sampled_from(["citation", "pledge", "lapse",
                                                             "pledge_release", "transfer",
                                                             "litigation", "licence"]))})
        else:
            out[kind].append({"firm_id": fid, "year": draw(st.integers(2010, 2030)),
                              "reported_on": _later(draw, cut), "revenue_cny": money,
                              "high_tech_revenue_cny": money / 2, "rnd_expense_cny": money / 3,
                              "domestic_rnd_expense_cny": money / 4, "total_cost_cny": money,
                              "net_assets_cny": -money, "total_assets_cny": money,
                              "staff": 100, "st_staff": 95, "conversions": 9,
                              "has_rnd_ledger": True, "has_rnd_institution": True,
                              "has_conversion_incentive": True, "has_talent_programme": True})
    return out


def _append(tables: RawTables, extra: dict[str, list[dict]]) -> RawTables:
    frames = {}
    for name, frame in tables.items():
        rows = extra.get(name, [])
        frames[name] = (pd.concat([frame, records_to_frame(name, rows)], ignore_index=True)
                        if rows else frame)
    return RawTables(**frames)


@SETTINGS
@given(shift=st.integers(0, 400), data=st.data())
def test_records_after_as_of_change_nothing(shift: int, data: st.DataObject):
    tables, _ = _base()
    as_of = _as_of(shift)
    before = _build(tables, as_of)
    extra = data.draw(future_records(as_of))
    after = _build(_append(tables, extra), as_of)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


@SETTINGS
@given(shift=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
def test_future_profile_dates_change_nothing(shift: int, seed: int):
    tables, _ = _base()
    as_of = _as_of(shift)
    before = _build(tables, as_of)
    rng = np.random.default_rng(seed)
    firms = tables.firms.copy()
    cut = firms["firm_id"].map(as_of)
    for col in ("legal_rep_changed_on", "abnormal_taxpayer_on", "tax_arrears_on",
                "high_tech_cert_on", "tech_sme_on", "specialized_on"):
        unknown = firms[col].isna() | (firms[col] > cut)
        later = cut + pd.to_timedelta(rng.integers(1, 900, len(firms)), unit="D")
        firms.loc[unknown, col] = later[unknown]
    after = _build(RawTables(**{**dict(tables.items()), "firms": firms}), as_of)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


@SETTINGS
@given(shift=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_nothing(shift: int, seed: int):
    tables, _ = _base()
    as_of = _as_of(shift)
    before = _build(tables, as_of)
    rng = np.random.default_rng(seed)
    shuffled = RawTables(**{name: frame.iloc[rng.permutation(len(frame))]
                            .reset_index(drop=True) for name, frame in tables.items()})
    after = _build(shuffled, as_of)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_reversed_row_order_changes_nothing():
    """Rows in reverse (the converters' descending shortcut) give the same features."""
    tables, _ = _base()
    as_of = _as_of(100)
    reversed_tables = RawTables(**{name: frame.iloc[::-1].reset_index(drop=True)
                                   for name, frame in tables.items()})
    pd.testing.assert_frame_equal(_build(tables, as_of), _build(reversed_tables, as_of),
                                  check_exact=True)


def test_one_firm_path_equals_many_firm_path():
    tables = generate(120, seed=5)
    apps = tables.applications
    many = build_features(tables, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    chunked = build_features(FirmArrays.from_tables(tables), as_of=apps["applied_on"],
                             firm_ids=apps["firm_id"])
    pd.testing.assert_frame_equal(many, chunked, check_exact=True)
    for i in range(len(apps)):
        fid, applied = int(apps["firm_id"].iloc[i]), apps["applied_on"].iloc[i]
        one = build_features(FirmArrays.from_tables(tables.for_firms([fid])), as_of=applied,
                             firm_ids=[fid])
        pd.testing.assert_frame_equal(one, many.iloc[[i]], check_exact=True)


@pytest.mark.parametrize(("chunk_size", "threads"), [(7, 1), (7, 2), (13, 3), (59, 2)])
def test_chunk_size_and_threads_change_nothing(chunk_size: int, threads: int):
    from techcredit.features._query import flag_thresholds, prepare
    from techcredit.features.build import build_matrix

    tables = generate(60, seed=3)
    apps = tables.applications
    arrays, ids, asof = prepare(tables, apps["applied_on"], apps["firm_id"])
    whole = build_matrix(arrays, ids, asof, flag_thresholds(None), threads=1)
    assert ids.size == 60
    split = build_matrix(arrays, ids, asof, flag_thresholds(None), chunk_size=chunk_size,
                         threads=threads)
    assert whole.values.tobytes() == split.values.tobytes()


@pytest.mark.slow
def test_generated_sample_flags_track_fraud():
    tables = generate(3000, seed=8)
    apps = tables.applications
    feats = build_features(tables, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    fraud = tables.truth.set_index("application_id").loc[apps["application_id"], "fraud"]
    flagged = feats.filter(like="flag_").any(axis=1).to_numpy()
    assert flagged[fraud.to_numpy()].mean() > flagged[~fraud.to_numpy()].mean()


def _records(frame: pd.DataFrame) -> list[dict]:
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def test_serving_records_path_equals_training_path():
    tables = generate(40, seed=9)
    apps = tables.applications
    many = build_features(tables, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    for i in range(0, len(apps), 8):
        fid, applied = int(apps["firm_id"].iloc[i]), apps["applied_on"].iloc[i]
        one = tables.for_firms([fid])
        arrays = FirmArrays.from_records({name: _records(frame) for name, frame in one.items()
                                          if name not in ("applications", "truth")})
        got = build_features(arrays, as_of=applied, firm_ids=[fid])
        pd.testing.assert_frame_equal(got, many.iloc[[i]], check_exact=True)
