"""The raw-record schemas: both validation paths name table, row and field."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.exceptions import InvalidInputError
from techcredit.schemas import INT_MAX, TABLES, columns, records_to_frame, validate_frame

INVOICE = {
    "invoice_id": 1, "firm_id": 7, "issued_at": "2024-05-01T10:00:00", "buyer_id": 3,
    "amount_cny": 1000.0, "tax_cny": 130.0, "status": "normal",
}
FILING = {
    "firm_id": 7, "period": "2024-04-01", "filed_on": "2024-05-10",
    "declared_sales_cny": 1e5, "vat_paid_cny": 1e3, "cit_paid_cny": 0.0, "zero_filing": False,
}


def test_every_table_has_a_typed_column_list() -> None:
    for name in TABLES:
        cols = columns(name)
        assert cols, name
        assert all(c.kind in {"int", "float", "bool", "date", "datetime", "str", "choice"}
                   for c in cols)


def test_records_to_frame_types_columns() -> None:
    frame = records_to_frame("invoices", [INVOICE])
    assert frame.dtypes["issued_at"] == "datetime64[ns]"
    assert isinstance(frame.dtypes["status"], pd.CategoricalDtype)
    assert frame["original_invoice_id"].isna().all()
    validate_frame("invoices", frame)  # the row path's output passes the frame path


def test_record_errors_name_every_field_and_row() -> None:
    bad = [INVOICE, {**INVOICE, "invoice_id": 2, "amount_cny": float("nan"),
                     "status": "lost", "buyer_id": -1}]
    with pytest.raises(InvalidInputError) as info:
        records_to_frame("invoices", bad)
    assert set(info.value.fields) == {
        "invoices[1].amount_cny", "invoices[1].status", "invoices[1].buyer_id"}


def test_record_missing_and_unexpected_fields() -> None:
    record = {k: v for k, v in FILING.items() if k != "vat_paid_cny"} | {"vat": 1.0}
    with pytest.raises(InvalidInputError) as info:
        records_to_frame("tax_filings", [record])
    assert set(info.value.fields) == {"tax_filings[0].vat_paid_cny", "tax_filings[0].vat"}


def test_cross_field_rule_in_both_paths() -> None:
    record = {**FILING, "filed_on": "2024-03-31"}
    with pytest.raises(InvalidInputError, match="must not precede period"):
        records_to_frame("tax_filings", [record])
    frame = records_to_frame("tax_filings", [FILING])
    frame.loc[0, "filed_on"] = pd.Timestamp("2024-03-31")
    with pytest.raises(InvalidInputError) as info:
        validate_frame("tax_filings", frame)
    assert info.value.fields == ["tax_filings[0].filed_on"]


def test_red_letter_sign_rule() -> None:
    red = {**INVOICE, "amount_cny": -100.0, "tax_cny": -13.0, "status": "red_letter",
           "original_invoice_id": 1}
    assert len(records_to_frame("invoices", [red])) == 1
    with pytest.raises(InvalidInputError, match="only red-letter"):
        records_to_frame("invoices", [{**INVOICE, "amount_cny": -1.0}])


def test_frame_missing_and_unexpected_columns() -> None:
    frame = records_to_frame("invoices", [INVOICE]).drop(columns=["tax_cny"])
    frame["colour"] = "red"
    with pytest.raises(InvalidInputError) as info:
        validate_frame("invoices", frame)
    assert set(info.value.fields) == {"invoices.tax_cny", "invoices.colour"}


def test_frame_wrong_dtype_names_column() -> None:
    frame = records_to_frame("invoices", [INVOICE])
    frame["amount_cny"] = frame["amount_cny"].astype(str)
    with pytest.raises(InvalidInputError, match=r"invoices\.amount_cny: must be numeric"):
        validate_frame("invoices", frame)


def test_frame_values_checked_per_row() -> None:
    frame = records_to_frame("invoices", [INVOICE, {**INVOICE, "invoice_id": 2}])
    frame.loc[1, "amount_cny"] = np.inf
    frame.loc[0, "invoice_id"] = 2
    with pytest.raises(InvalidInputError) as info:
        validate_frame("invoices", frame)
    assert "invoices[1].amount_cny" in info.value.fields
    assert "must be finite" in str(info.value)
    # the duplicate id is a cross-field rule, reported once the columns are clean
    frame.loc[1, "amount_cny"] = 5.0
    with pytest.raises(InvalidInputError, match="duplicate invoice_id"):
        validate_frame("invoices", frame)


def test_ids_beyond_float64_precision_are_rejected_in_both_paths() -> None:
    big = INT_MAX + 1  # the first integer a float64 column cannot hold exactly
    with pytest.raises(InvalidInputError, match=r"invoices\[0\]\.original_invoice_id"):
        records_to_frame("invoices", [{**INVOICE, "original_invoice_id": big}])
    frame = records_to_frame("invoices", [INVOICE])
    frame["invoice_id"] = np.array([big], dtype=np.int64)
    with pytest.raises(InvalidInputError) as info:
        validate_frame("invoices", frame)
    assert info.value.fields == ["invoices[0].invoice_id"]
    frame["invoice_id"] = np.array([INT_MAX], dtype=np.int64)
    validate_frame("invoices", frame)  # the bound itself is valid


def test_frame_nulls_patterns_and_choices() -> None:
    firm = {"firm_id": 1, "registered_on": "2020-01-01", "industry_code": "I6513",
            "region_code": "310000", "employees": 10, "st_staff": 3}
    frame = records_to_frame("firms", [firm, {**firm, "firm_id": 2}])
    frame.loc[0, "industry_code"] = "software"
    frame.loc[1, "registered_on"] = pd.NaT
    with pytest.raises(InvalidInputError) as info:
        validate_frame("firms", frame)
    assert set(info.value.fields) == {"firms[0].industry_code", "firms[1].registered_on"}


def test_unknown_table_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="unknown table"):
        validate_frame("loans", pd.DataFrame())


money = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(amount=st.one_of(money, st.floats(max_value=-0.01), st.just(float("nan")),
                        st.just(float("inf"))),
       day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)))
def test_both_paths_agree_on_validity(amount: float, day: dt.date) -> None:
    record = {**INVOICE, "amount_cny": amount, "issued_at": dt.datetime.combine(
        day, dt.time(9))}
    valid = amount >= 0 and np.isfinite(amount)
    raw = pd.DataFrame([record]).astype({"issued_at": "datetime64[ns]"})
    raw["original_invoice_id"] = pd.array([None], dtype="Int64")
    raw["status"] = raw["status"].astype("category")
    if valid:
        frame = records_to_frame("invoices", [record])
        validate_frame("invoices", frame)
        validate_frame("invoices", raw)
        assert frame.loc[0, "amount_cny"] == amount
        return
    with pytest.raises(InvalidInputError) as by_row:
        records_to_frame("invoices", [record])
    with pytest.raises(InvalidInputError) as by_frame:
        validate_frame("invoices", raw)
    assert by_row.value.fields == by_frame.value.fields == ["invoices[0].amount_cny"]


cell = st.sampled_from([1.0, 0.0, -1.0, 2.5, 1e13, float("inf"), float("nan")])


@settings(max_examples=150, deadline=None)
@given(amounts=st.lists(cell, min_size=3, max_size=3),
       buyers=st.lists(st.sampled_from([3.0, 0.0, -2.0, 4.5, float("nan")]), min_size=3,
                       max_size=3),
       ids=st.sampled_from([[1, 2, 3], [3, 1, 2], [1, 1, 2], [2, 3, 2]]),
       status=st.lists(st.sampled_from(["normal", "voided", "bogus"]), min_size=3,
                       max_size=3))
def test_frame_fast_paths_report_what_the_row_path_does(amounts, buyers, ids, status) -> None:
    # validate_frame decides clean numeric and categorical columns from min/max and the
    # categories; every dirty one must still be reported row by row, like the row path
    records = [{**INVOICE, "invoice_id": i, "amount_cny": a, "buyer_id": b, "status": s}
               for i, a, b, s in zip(ids, amounts, buyers, status, strict=True)]
    raw = pd.DataFrame(records).astype({"issued_at": "datetime64[ns]"})
    # a frame holds integers with gaps as whole floats; a record holds integers
    records = [{**r, "buyer_id": int(r["buyer_id"])} if float(r["buyer_id"]).is_integer()
               else r for r in records]
    raw["original_invoice_id"] = pd.array([None] * 3, dtype="Int64")
    raw["status"] = raw["status"].astype("category")
    try:
        records_to_frame("invoices", records)
        row_fields: set[str] = set()
    except InvalidInputError as exc:
        row_fields = set(exc.fields)
    try:
        validate_frame("invoices", raw)
        frame_fields: set[str] = set()
    except InvalidInputError as exc:
        frame_fields = set(exc.fields)
    column_problems = {f for f in row_fields if not f.endswith(".invoice_id")}
    if column_problems:  # the frame path reports cross-field rules once columns are clean
        assert frame_fields == column_problems | (frame_fields & row_fields)
        assert column_problems <= frame_fields
    else:
        assert frame_fields == row_fields
