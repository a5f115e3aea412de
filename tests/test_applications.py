"""Raw tables -> application payloads: records as the bank knew them on the date."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd
import pytest

from payloads import edited, location
from techcredit.application import Application
from techcredit.data import generate
from techcredit.data.applications import application_records
from techcredit.exceptions import InvalidInputError


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
