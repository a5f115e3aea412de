"""Fuzzing the serving door: malformed applications raise InvalidInputError naming fields.

10,000 malformed applications in all with TECHCREDIT_FUZZ_EXAMPLES=2500 (four mutation
families; 400 by default to keep the suite fast), and
valid perturbed applications always get a decision inside its bounds.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payloads import edited, location
from techcredit.data.applications import application_records
from techcredit.decision.decider import Decider
from techcredit.exceptions import InvalidInputError
from techcredit.schemas import RawTables

FUZZ_EXAMPLES = int(os.environ.get("TECHCREDIT_FUZZ_EXAMPLES", "100"))
"""Examples per family; the slow run (`TECHCREDIT_FUZZ_EXAMPLES=2500`) makes 10,000 in all."""
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TABLES = ("tax_grades", "tax_filings", "invoices", "patents", "patent_events", "rnd")


@pytest.fixture(scope="module")
def decider(decision_bundle: Path) -> Decider:
    return Decider.load(decision_bundle)


@pytest.fixture(scope="module")
def base(decision_tables: RawTables) -> dict[str, Any]:
    """A small valid application with records in every table (cheap to copy)."""
    apps = decision_tables.applications
    patents = set(decision_tables.patent_events["firm_id"])
    inv = decision_tables.invoices.groupby("firm_id").size()
    for _, row in apps.iterrows():
        f = row["firm_id"]
        if f in patents and 5 <= inv.get(f, 0) <= 60:
            doc = application_records(decision_tables, row)
            if all(doc[t] for t in TABLES):
                return doc
    raise AssertionError("no small application with every table in the fixture data")


def _fields(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = [("request", k) for k in doc["request"]]
    paths += [("firm", k) for k in doc["firm"]]
    for t in TABLES:
        paths += [(t, i, k) for i, rec in enumerate(doc[t][:3]) for k in rec]
    return paths


def _raises_naming(decider: Decider, doc: Any, expect: str | None) -> None:
    with pytest.raises(InvalidInputError) as err:
        decider.score(doc)
    assert err.value.fields, "the error names at least one field"
    if expect is not None:
        assert any(f == expect or f.startswith(expect + ".") for f in err.value.fields), \
            (expect, err.value.fields)


BAD_VALUES = st.sampled_from([None, "abc", [], {}, float("nan"), float("inf"), -1e300, "",
                              -7, 1e30, "2999-01-01", True])


@FUZZ
@given(data=st.data())
def test_missing_and_mistyped_fields(decider: Decider, base: dict[str, Any],
                                     data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_fields(base)))
    old = base
    for key in path:
        old = old[key]
    if data.draw(st.booleans()):
        required = not (path[-1].endswith("_on") and path[0] == "firm"
                        and path[-1] != "registered_on") and path[-1] not in (
            "granted_on", "original_invoice_id", "amount_cny")
        if not required:
            return
        _raises_naming(decider, edited(base, path, None, delete=True), location(path))
        return
    value = data.draw(BAD_VALUES)
    doc = edited(base, path, value)
    fields: list[str] | None = None
    try:
        decider.score(doc)
    except InvalidInputError as exc:
        fields = exc.fields
    if fields is not None:
        assert fields
        return
    # a few replacements are valid values of that field (e.g. True for a bool, None for
    # an optional date): the decision must then be well formed
    assert value is None or isinstance(value, bool) or value == old or isinstance(value, int)


@FUZZ
@given(table=st.sampled_from(("tax_filings", "invoices", "rnd")),
       amount=st.one_of(st.floats(max_value=-0.01), st.just(math.nan), st.just(math.inf),
                        st.just(-math.inf), st.floats(min_value=1.01e12, max_value=1e300)),
       row=st.integers(0, 2))
def test_negative_and_non_finite_amounts(decider: Decider, base: dict[str, Any], table: str,
                                         amount: float, row: int) -> None:
    field = {"tax_filings": "vat_paid_cny", "invoices": "tax_cny",
             "rnd": "revenue_cny"}[table]
    row = min(row, len(base[table]) - 1)
    doc = edited(base, (table, row, field), amount)
    if table == "invoices" and base[table][row]["status"] == "red_letter" and amount < 0 \
            and math.isfinite(amount) and amount >= -1e12:
        return  # negative amounts are valid on red-letter invoices
    _raises_naming(decider, doc, f"{table}[{row}].{field}")


@FUZZ
@given(days=st.integers(1, 4000), table=st.sampled_from(TABLES),
       target=st.sampled_from(("record", "request", "firm")))
def test_dates_after_the_application(decider: Decider, base: dict[str, Any], days: int,
                                     table: str, target: str) -> None:
    applied = dt.date.fromisoformat(base["request"]["applied_on"])
    later = applied + dt.timedelta(days=days)
    if target == "request":
        future = dt.date.today() + dt.timedelta(days=days)
        _raises_naming(decider, edited(base, ("request", "applied_on"), future.isoformat()),
                       "request.applied_on")
        return
    if target == "firm":
        _raises_naming(decider, edited(base, ("firm", "legal_rep_changed_on"),
                                      later.isoformat()), "firm.legal_rep_changed_on")
        return
    field = {"tax_grades": "published_on", "tax_filings": "filed_on", "invoices": "issued_at",
             "patents": "filed_on", "patent_events": "event_on", "rnd": "reported_on"}[table]
    value = (dt.datetime.combine(later, dt.time(10)).isoformat() if field == "issued_at"
             else later.isoformat())
    _raises_naming(decider, edited(base, (table, 0, field), value), f"{table}[0].{field}")


@FUZZ
@given(kind=st.sampled_from(("product", "amount", "term", "duplicate_invoice", "foreign_firm",
                             "extra_field", "too_many", "not_a_mapping", "unknown_table")),
       n=st.integers(0, 10_000))
def test_structural_and_policy_input_errors(decider: Decider, base: dict[str, Any], kind: str,
                                            n: int) -> None:
    if kind == "product":
        _raises_naming(decider, edited(base, ("request", "product"), f"loan_{n}"),
                       "request.product")
    elif kind == "amount":
        value = [-float(n), 0.0, 1e13 + n][n % 3]
        _raises_naming(decider, edited(base, ("request", "amount_cny"), value),
                       "request.amount_cny")
    elif kind == "term":
        value = [0, 61 + n, -n][n % 3]
        _raises_naming(decider, edited(base, ("request", "term_months"), value),
                       "request.term_months")
    elif kind == "duplicate_invoice":
        invoices = list(base["invoices"])
        invoices.append(dict(invoices[n % len(invoices)]))
        _raises_naming(decider, edited(base, ("invoices",), invoices), None)
    elif kind == "foreign_firm":
        table = TABLES[n % len(TABLES)]
        rec = dict(base[table][0])
        rec["firm_id"] = base["firm"]["firm_id"] + 1 + n
        _raises_naming(decider, edited(base, (table, 0), rec), f"{table}[0].firm_id")
    elif kind == "extra_field":
        _raises_naming(decider, edited(base, ("firm", f"nickname_{n}"), "x"), "firm")
    elif kind == "too_many":
        grades = [dict(base["tax_grades"][0], year=1990 + (i % 100)) for i in range(101 + n % 5)]
        _raises_naming(decider, edited(base, ("tax_grades",), grades), "tax_grades")
    elif kind == "not_a_mapping":
        _raises_naming(decider, [[base], "{not json", n][n % 3], None)
    else:
        _raises_naming(decider, edited(base, (f"loans_{n}",), []), None)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scale=st.floats(0.0, 20.0), keep=st.floats(0.0, 1.0),
       amount=st.floats(1.0, 5e7), product=st.sampled_from(("tax_loan", "invoice_loan",
                                                             "tech_loan")))
def test_valid_applications_get_decisions_inside_bounds(decider: Decider, base: dict[str, Any],
                                                        scale: float, keep: float,
                                                        amount: float, product: str) -> None:
    filings = [dict(f, vat_paid_cny=f["vat_paid_cny"] * scale) for f in base["tax_filings"]]
    invoices = base["invoices"][: int(len(base["invoices"]) * keep)]
    doc = dict(base, tax_filings=filings, invoices=invoices,
               request=dict(base["request"], amount_cny=amount, product=product))
    d = decider.score(doc)
    prod = decider.policy.products[product]
    assert 0.0 <= d.prob_default <= 1.0
    assert 0.0 <= d.limit_cny <= min(prod.cap_cny, amount)
    assert len(d.reasons) <= 4
    if d.declined:
        assert d.reasons
        assert d.rate_annual is None
    else:
        assert prod.rate_floor_annual <= d.rate_annual <= prod.rate_ceiling_annual


def _integer_fields(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of the integer fields of ``doc`` (bools excluded; ``None`` ids included)."""
    out = []
    for path in _fields(doc):
        value: Any = doc
        for key in path:
            value = value[key]
        if (isinstance(value, int) and not isinstance(value, bool)) or path[-1].endswith("_id"):
            out.append(path)
    return out


@FUZZ
@given(data=st.data(), value=st.integers(min_value=2**53, max_value=2**90))
def test_integers_too_large_to_hold_exactly_name_their_field(
        decider: Decider, base: dict[str, Any], data: st.DataObject, value: int) -> None:
    # beyond 2**53 an id no longer survives float64 (nullable columns), beyond 2**63 it
    # overflowed int64: both used to escape validation (an OverflowError, or rounding)
    path = data.draw(st.sampled_from(_integer_fields(base)))
    _raises_naming(decider, edited(base, path, value), location(path))
