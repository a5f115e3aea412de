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
