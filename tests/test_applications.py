"""Raw tables -> application payloads: records as the bank knew them on the date."""

from __future__ import annotations

import dataclasses

import pandas as pd

from techcredit.application import Application
from techcredit.data import generate
from techcredit.data.applications import application_records


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


def test_true_is_not_a_number_of_yuan_or_months() -> None:
    import copy

    import pytest

    from techcredit.exceptions import InvalidInputError

    tables = generate(20, seed=4)
    doc = application_records(tables, tables.applications.iloc[0])
    Application.model_validate(doc)
    for table, row, field in [("request", None, "amount_cny"), ("request", None, "term_months"),
                              ("invoices", 0, "amount_cny"), ("tax_filings", 0, "vat_paid_cny")]:
        bad = copy.deepcopy(doc)
        (bad[table] if row is None else bad[table][row])[field] = True
        name = f"{table}.{field}" if row is None else f"{table}[{row}].{field}"
        with pytest.raises(InvalidInputError) as info:
            Application.model_validate(bad)
        assert name in info.value.fields
    whole = copy.deepcopy(doc)
    whole["request"]["amount_cny"] = 500_000  # an integer is still a valid amount
    assert Application.model_validate(whole).request.amount_cny == 500_000.0
