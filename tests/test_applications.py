"""Raw tables -> application payloads: records as the bank knew them on the date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payloads import edited, location
from techcredit.application import HASH_LAYOUT, RECORD_TABLES, Application
from techcredit.data import generate
from techcredit.data.applications import application_records
from techcredit.exceptions import InvalidInputError
from techcredit.schemas import columns


def test_dates_known_only_later_are_left_empty() -> None:
    tables = generate(60, seed=4)
    row = tables.applications.iloc[0]
    later = row["applied_on"] + pd.Timedelta(days=30)
    firms = tables.firms.copy()
    firms.loc[firms["firm_id"] == row["firm_id"], "abnormal_taxpayer_on"] = later
    patents = tables.patents.copy()
    mine = patents["firm_id"] == row["firm_id"]
    patents.loc[mine, "granted_on"] = later
    doc = application_records(dataclasses.replace(tables, firms=firms, patents=patents), row)
    assert doc["firm"]["abnormal_taxpayer_on"] is None
    assert all(p["granted_on"] is None for p in doc["patents"])
    assert Application.model_validate(doc).firm.abnormal_taxpayer_on is None


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The payload of a generated application (valid as it stands)."""
    tables = generate(20, seed=4)
    out = application_records(tables, tables.applications.iloc[0])
    Application.model_validate(out)
    return out


def _parse_json(doc: dict[str, Any]) -> Application:
    return Application.model_validate_json(json.dumps(doc, default=str))


@pytest.mark.parametrize("path", [("request", "amount_cny"), ("request", "term_months"),
                                  ("invoices", 0, "amount_cny"),
                                  ("tax_filings", 0, "vat_paid_cny")])
def test_true_is_not_a_number_of_yuan_or_months(doc: dict[str, Any],
                                                path: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidInputError) as info:
        Application.model_validate(edited(doc, path, True))
    assert location(path) in info.value.fields


def test_a_whole_number_is_still_a_valid_amount(doc: dict[str, Any]) -> None:
    whole = edited(doc, ("request", "amount_cny"), 500_000)
    assert Application.model_validate(whole).request.amount_cny == 500_000.0


@pytest.mark.parametrize("value", [True, "12", 12.0])
@pytest.mark.parametrize("path", [("firm", "employees"), ("firm", "firm_id"),
                                  ("invoices", 0, "buyer_id"), ("application_id",),
                                  ("tax_grades", 0, "year")])
@pytest.mark.parametrize("parse", [Application.model_validate, _parse_json],
                         ids=["python", "json"])
def test_true_text_and_floats_are_not_integers(doc: dict[str, Any], path: tuple[Any, ...],
                                               value: Any, parse: Any) -> None:
    bad = edited(edited(doc, ("application_id",), 9), path, value)
    with pytest.raises(InvalidInputError) as info:
        parse(bad)
    assert location(path) in info.value.fields
    assert "valid integer" in str(info.value)


_RECORD_DATES = {t: [c.name for c in columns(t) if c.kind in ("date", "datetime")]
                 for t in RECORD_TABLES}


def _record_problems_by_row(doc: dict[str, Any]) -> list[tuple[object, ...]]:
    """The record checks written out row by row, on the JSON payload itself."""
    applied = dt.date.fromisoformat(doc["request"]["applied_on"])
    out: list[tuple[object, ...]] = []
    for table in RECORD_TABLES:
        for i, row in enumerate(doc[table]):
            if row["firm_id"] != doc["firm"]["firm_id"]:
                out.append((table, i, "firm_id", "must equal firm.firm_id"))
            for name in _RECORD_DATES[table]:
                if row[name] is None:
                    continue
                when = dt.datetime.fromisoformat(row[name])
                if when.tzinfo is not None:
                    out.append((table, i, name, "must be local China time without a time zone"))
                elif when.date() > applied:
                    out.append((table, i, name, "must not be after request.applied_on"))
    return out


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(RECORD_TABLES), st.integers(0, 10**6),
                                st.sampled_from(("firm", "late", "aware")),
                                st.integers(1, 900)), min_size=1, max_size=12))
def test_record_problems_come_in_row_order(doc: dict[str, Any],
                                           edits: list[tuple[str, int, str, int]]) -> None:
    bad = json.loads(json.dumps(doc, default=str))
    applied = dt.date.fromisoformat(bad["request"]["applied_on"])
    for table, n, kind, days in edits:
        if not bad[table]:
            continue
        row = bad[table][n % len(bad[table])]
        name = _RECORD_DATES[table][n % len(_RECORD_DATES[table])]
        if kind == "firm":
            row["firm_id"] = bad["firm"]["firm_id"] + days
        elif kind == "late" and table == "invoices":
            row[name] = f"{applied + dt.timedelta(days=days)}T23:59:59"
        elif kind == "late":
            row[name] = str(applied + dt.timedelta(days=days))
        elif table == "invoices":  # aware: an offset, even one that keeps the day
            row[name] = f"{applied - dt.timedelta(days=days % 3)}T09:30:00+08:00"
    expected = _record_problems_by_row(bad)
    if not expected:
        return
    for parse in (Application.model_validate, _parse_json):
        with pytest.raises(InvalidInputError) as info:
            parse(bad)
        assert info.value.problems == expected


def test_a_long_list_of_problems_stops_after_two_hundred(doc: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(doc, default=str))
    for table in RECORD_TABLES:
        for row in bad[table]:
            row["firm_id"] += 1
    for row in bad["invoices"]:
        row["issued_at"] = f"{bad['request']['applied_on']}T00:00:00+08:00"
    expected = _record_problems_by_row(bad)
    assert len(expected) > 202
    with pytest.raises(InvalidInputError) as info:
        Application.model_validate(bad)
    # whole rows, up to the row holding the 200th problem (an invoice row has two here)
    assert len(info.value.problems) in (200, 201)
    assert info.value.problems == expected[:len(info.value.problems)]


@pytest.mark.parametrize("empty", [(), ("invoices", "patents", "patent_events", "rnd")])
def test_columns_hold_every_table_and_read_column_at_one_length(
        doc: dict[str, Any], empty: tuple[str, ...]) -> None:
    """An application's columns are complete, so ``FirmArrays.from_columns`` takes its
    check's one-pass path for them and converts them as its converters alone do."""
    from techcredit.features.arrays import READ, TABLE_NAMES, FirmArrays

    app = Application.model_validate({**doc, **{t: [] for t in empty}})
    cols = app.columns()
    assert set(cols) == set(TABLE_NAMES)
    for table in TABLE_NAMES:
        assert set(READ[table]) <= set(cols[table])
        assert len({len(cols[table][c]) for c in READ[table]}) == 1
    for table in empty:
        assert len(cols[table][READ[table][0]]) == 0
    direct, checked = FirmArrays._convert(cols), FirmArrays.from_columns(cols)
    assert direct.invoices.key.tolist() == checked.invoices.key.tolist()


def _reference_columns(app: Application) -> dict[str, dict[str, np.ndarray]]:
    """The columns read field by field with getattr, converted by numpy itself."""
    out = {}
    for table in ("firms", *RECORD_TABLES):
        rows = (app.firm,) if table == "firms" else getattr(app, table)
        cols = {}
        for col in columns(table):
            values = [getattr(r, col.name) for r in rows]
            if col.kind == "int" and not col.nullable:
                cols[col.name] = np.array(values, dtype=np.int64).reshape(len(values))
            elif col.kind in ("int", "float"):
                cols[col.name] = np.array([np.nan if v is None else float(v) for v in values],
                                          dtype=np.float64).reshape(len(values))
            elif col.kind == "bool":
                cols[col.name] = np.array(values, dtype=bool).reshape(len(values))
            elif col.kind == "date":
                cols[col.name] = np.array(["NaT" if v is None else v.isoformat()
                                           for v in values], dtype="datetime64[D]")
            elif col.kind == "datetime":
                cols[col.name] = np.array([v.replace(microsecond=0).isoformat()
                                           for v in values], dtype="datetime64[s]")
            else:
                cols[col.name] = np.array(values, dtype=object).reshape(len(values))
        out[table] = cols
    return out


@pytest.mark.parametrize("empty", [(), ("invoices", "patents", "patent_events", "rnd")])
def test_columns_equal_the_records_read_field_by_field(full_doc: dict[str, Any],
                                                       empty: tuple[str, ...]) -> None:
    app = Application.model_validate({**full_doc, **{t: [] for t in empty}})
    given, expected = app.columns(), _reference_columns(app)
    for table, cols in expected.items():
        assert list(given[table]) == list(cols)
        for name, want in cols.items():
            got = given[table][name]
            assert got.dtype == want.dtype, (table, name)
            np.testing.assert_array_equal(got, want, err_msg=f"{table}.{name}")


@given(st.lists(st.datetimes(), max_size=5))
def test_issue_times_become_their_floored_whole_seconds_for_any_datetime(
        times: list[dt.datetime]) -> None:
    """Far from 1970 too (the float shortcut's limit) and with 999999 microseconds."""
    from techcredit.application import _seconds

    expected = np.array([t.replace(microsecond=0).isoformat() for t in times],
                        dtype="datetime64[s]").reshape(len(times))
    np.testing.assert_array_equal(_seconds(tuple(times)), expected)


@given(st.lists(st.one_of(st.none(), st.dates()), max_size=5))
def test_dates_become_day_numbers_with_nat_for_none(days: list[dt.date | None]) -> None:
    from techcredit.application import _days

    expected = np.array(["NaT" if d is None else d.isoformat() for d in days],
                        dtype="datetime64[D]").reshape(len(days))
    np.testing.assert_array_equal(_days(tuple(days)), expected)


# ------------------------------------------------------------------------ input hash
INVOICE_ROW = {"invoice_id": 1, "firm_id": 7, "buyer_id": 3, "amount_cny": 1000.0,
               "tax_cny": 130.0, "status": "normal"}


@pytest.fixture(scope="module")
def full_doc() -> dict[str, Any]:
    """A generated application with records in every table and few invoices."""
    tables = generate(200, seed=4)
    for _, row in tables.applications.iterrows():
        out = application_records(tables, row)
        if all(out[t] for t in RECORD_TABLES) and len(out["invoices"]) <= 80:
            return out
    raise AssertionError("no generated application has records in every table")



def test_events_naming_no_patent_of_the_firm_are_each_named_in_row_order(
        full_doc: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(full_doc, default=str))
    events = bad["patent_events"]
    stranger = max(p["patent_id"] for p in bad["patents"]) + 1
    rows = sorted({0, len(events) - 1, len(events) // 2})
    for i in rows:
        events[i]["patent_id"] = stranger
    with pytest.raises(InvalidInputError) as info:
        Application.model_validate(bad)
    assert info.value.problems == [("patent_events", i, "patent_id",
                                    "names no patent of this firm") for i in rows]


def _leaf_paths(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every field of ``doc``: the id, request and firm fields, each record's fields."""
    paths: list[tuple[Any, ...]] = [("application_id",)]
    paths += [("request", k) for k in doc["request"]] + [("firm", k) for k in doc["firm"]]
    for table in RECORD_TABLES:
        paths += [(table, i, k) for i, rec in enumerate(doc[table]) for k in rec]
    return paths


def _other_value(value: Any, path: tuple[Any, ...]) -> list[Any]:
    """Candidate replacements of a field's value (some may be invalid in context)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value + 0.01, value * 0.5, -value]
    if path[-1] == "issued_at":  # text in a generated payload; the hash keeps microseconds
        return [str(pd.Timestamp(value) + pd.Timedelta(microseconds=1)),
                str(pd.Timestamp(value) + pd.Timedelta(seconds=1))]
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":  # a date
        return [str(dt.date.fromisoformat(value) - dt.timedelta(days=1)), None]
    if value is None:
        return ["2000-01-03", 0]
    choices = {"grade": ["A", "B"], "status": ["normal", "voided"],
               "kind": ["invention", "utility"], "acquisition": ["own", "transferred"],
               "event": ["citation", "annual_fee"], "product": ["tax_loan", "tech_loan"]}
    last = "B" if value[-1] == "A" else "A"  # IPC subclasses end in a letter
    return [*choices.get(path[-1], []), value[:-1] + "9", value[:-1] + last]


def test_input_hash_is_the_same_for_the_same_content_however_sent(doc: dict[str, Any]) -> None:
    app = Application.model_validate(doc)
    again = [Application.model_validate(json.loads(json.dumps(doc, default=str))),
             _parse_json(doc), Application.model_validate_json(app.model_dump_json())]
    assert {a.input_hash() for a in again} == {app.input_hash()}


def test_input_hash_layout_is_pinned() -> None:
    # a change to the hashed layout must bump HASH_LAYOUT's version and this value
    request = {"product": "tech_loan", "amount_cny": 1e6, "term_months": 24,
               "applied_on": "2025-01-10"}
    firm = {"firm_id": 7, "registered_on": "2015-05-05", "industry_code": "I6513",
            "region_code": "440300", "employees": 80, "st_staff": 30}
    invoice = {**INVOICE_ROW, "issued_at": "2024-05-01T10:00:00.250000"}
    app = Application.model_validate({"request": request, "firm": firm,
                                      "invoices": [invoice]})
    assert HASH_LAYOUT == b"techcredit.application.input_hash/1\n"
    assert app.input_hash() == \
        "68181d50036883b93c7d625601908861f3a151853b6993ab947346ed072b3a67"


def test_every_field_and_the_record_order_change_the_input_hash(
        full_doc: dict[str, Any]) -> None:
    base = Application.model_validate(full_doc).input_hash()
    edited_fields = set()
    for path in _leaf_paths(full_doc):
        value: Any = full_doc
        for key in path:
            value = value[key]
        candidates = _other_value(value, path)
        if path[0] == "patent_events" and path[-1] == "patent_id":  # must name a patent
            candidates = [p["patent_id"] for p in full_doc["patents"]]
        for other in candidates:
            if other == value:
                continue
            try:
                app = Application.model_validate(edited(full_doc, path, other))
            except InvalidInputError:
                continue  # not a valid value there (a cross-field rule, a bound)
            assert app.input_hash() != base, path
            edited_fields.add((path[0], path[-1]))
            break
    # every field of every table was edited somewhere, but the ids that tie records
    # together (edited together below) and maybe the domestic R&D expense (at most the
    # R&D expense)
    every = {(p[0], p[-1]) for p in _leaf_paths(full_doc)}
    assert every - edited_fields <= {("firm", "firm_id"), ("rnd", "domestic_rnd_expense_cny"),
                                     ("patents", "patent_id"), ("patent_events", "patent_id"),
                                     *((t, "firm_id") for t in RECORD_TABLES)}
    patent = full_doc["patents"][0]["patent_id"]
    renamed = {t: [dict(r, patent_id=r["patent_id"] + 10**6 if r["patent_id"] == patent
                        else r["patent_id"]) for r in full_doc[t]]
               for t in ("patents", "patent_events")}
    assert Application.model_validate(dict(full_doc, **renamed)).input_hash() != base
    firm_id = full_doc["firm"]["firm_id"] + 1
    moved = {t: [dict(r, firm_id=firm_id) for r in full_doc[t]] for t in RECORD_TABLES}
    other = dict(full_doc, firm=dict(full_doc["firm"], firm_id=firm_id), **moved)
    assert Application.model_validate(other).input_hash() != base
    report = full_doc["rnd"][0]
    one_rnd = [dict(full_doc, rnd=[dict(report, rnd_expense_cny=1.0,
                                        domestic_rnd_expense_cny=d)]) for d in (0.0, 1.0)]
    assert len({Application.model_validate(d).input_hash() for d in one_rnd}) == 2
    table = next(t for t in RECORD_TABLES if len(full_doc[t]) >= 2)
    records = full_doc[table]
    swapped = dict(full_doc, **{table: [records[1], records[0], *records[2:]]})
    assert Application.model_validate(swapped).input_hash() != base

