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


def test_true_text_and_floats_are_not_integers() -> None:
    import copy
    import json

    import pytest

    from techcredit.exceptions import InvalidInputError

    tables = generate(20, seed=4)
    doc = application_records(tables, tables.applications.iloc[0])
    doc["application_id"] = 9
    for value in (True, "12", 12.0):
        for table, row, field in [("firm", None, "employees"), ("firm", None, "firm_id"),
                                  ("invoices", 0, "buyer_id"), (None, None, "application_id"),
                                  ("tax_grades", 0, "year")]:
            bad = copy.deepcopy(doc)
            target = bad if table is None else bad[table] if row is None else bad[table][row]
            target[field] = value
            name = field if table is None else \
                f"{table}.{field}" if row is None else f"{table}[{row}].{field}"
            for parse in (Application.model_validate,
                          lambda d: Application.model_validate_json(json.dumps(d, default=str))):
                with pytest.raises(InvalidInputError) as info:
                    parse(bad)
                assert name in info.value.fields
                assert "valid integer" in str(info.value)
