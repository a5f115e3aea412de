"""Turn raw tables into :class:`~techcredit.application.Application` payloads.

A loan system sends one application at a time; tests, benchmarks and notebooks have
raw tables. :func:`application_records` cuts one applicant's records out of the tables
as the bank knew them on the application date, as the plain mapping a loan system
would send; :func:`applications_from_tables` validates them.

Examples
--------
>>> from techcredit.data import load_sample
>>> tables = load_sample()
>>> app = next(applications_from_tables(tables, limit=1))
>>> all(i.issued_at.date() <= app.request.applied_on for i in app.invoices)
True
>>> sorted(application_records(tables, tables.applications.iloc[0]))[:3]
['application_id', 'firm', 'invoices']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from techcredit.application import KNOWN_ON, RECORD_TABLES, Application
from techcredit.exceptions import InvalidInputError
from techcredit.schemas import RawTables, columns

__all__ = ["application_records", "applications_from_tables"]


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value (dates as ISO text, NaN/NaT/NA as None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        if value.hour or value.minute or value.second:
            return value.isoformat()
        return value.date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _records(table: str, frame: pd.DataFrame, applied: pd.Timestamp) -> list[dict[str, Any]]:
    """Plain rows; an optional date after the application (a later grant, a later
    listing as abnormal taxpayer) was not yet known then, so it is left empty."""
    later = [c.name for c in columns(table) if c.nullable and c.kind in ("date", "datetime")]
    if later:
        frame = frame.assign(**{c: frame[c].where(frame[c] <= applied) for c in later})
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def application_records(tables: RawTables, application: pd.Series | dict[str, Any]
                        ) -> dict[str, Any]:
    """One application as the mapping a loan system sends (records known by its date).

    Parameters
    ----------
    tables : RawTables
        Raw tables holding the applicant's records.
    application : row of ``tables.applications`` (or a mapping with the same fields)

    Returns
    -------
    dict
        ``{"application_id", "request", "firm", "tax_grades", ...}`` with plain values.
    """
    firm_id = int(application["firm_id"])
    applied = pd.Timestamp(application["applied_on"])
    firm = tables.firms[tables.firms["firm_id"] == firm_id]
    if len(firm) != 1:
        raise InvalidInputError([("firms", firm_id, "firm_id",
                                  f"expected one profile row, found {len(firm)}")])
    doc: dict[str, Any] = {
        "application_id": int(application["application_id"]),
        "request": {"product": str(application["product"]),
                    "amount_cny": float(application["requested_amount_cny"]),
                    "term_months": int(application["term_months"]),
                    "applied_on": applied.date().isoformat()},
        "firm": _records("firms", firm, applied)[0],
    }
    end_of_day = applied + pd.Timedelta(days=1)
    for table in RECORD_TABLES:
        frame = getattr(tables, table)
        mine = frame[frame["firm_id"].to_numpy() == firm_id]
        known = mine[KNOWN_ON[table]]
        mine = mine[(known < end_of_day).to_numpy()]
        if table == "patent_events":
            kept = doc["patents"]
            ids = {p["patent_id"] for p in kept}
            mine = mine[mine["patent_id"].isin(ids).to_numpy()]
        doc[table] = _records(table, mine, applied)
    return doc


def applications_from_tables(tables: RawTables, applications: pd.DataFrame | None = None, *,
                             limit: int | None = None) -> Iterator[Application]:
    """Yield a validated :class:`Application` per application row, in order.

    Parameters
    ----------
    tables : RawTables
    applications : pandas.DataFrame, optional
        Default ``tables.applications``.
    limit : int, optional
        Stop after this many.
    """
    apps = tables.applications if applications is None else applications
    if apps is None:
        raise InvalidInputError([("applications", None, None, "no applications given")])
    rows = apps if limit is None else apps.iloc[:limit]
    for _, row in rows.iterrows():
        yield Application.model_validate(application_records(tables, row))
