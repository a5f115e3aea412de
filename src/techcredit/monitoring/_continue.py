"""Stable post-booking records: each booked firm carries on as in its last year.

Used by :mod:`techcredit.monitoring.scenarios`. From each firm's booking date to the
monitoring date: monthly filings repeat the last 12 filed months (same amounts, same
filing lag), invoices repeat the 365 days before booking (new ids), tax grades and
annual reports repeat the latest ones a year later each year, and every granted
right in force pays its annual fees on time. Firms' registry entries do not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techcredit.schemas import RawTables, conform_frame

__all__ = ["continue_records", "fee_schedule"]

_DAYS_PER_YEAR = 365.25
_FEE_LEAD_DAYS = 10


def _booked(frame: pd.DataFrame, booked: pd.Series) -> pd.DataFrame:
    out = frame[frame["firm_id"].isin(booked.index)].copy()
    out["_booked"] = out["firm_id"].map(booked).to_numpy()
    return out


def _shift_months(values: pd.Series, months: int) -> pd.Series:
    return (values + pd.DateOffset(months=months)).astype("datetime64[ns]")


def _repeat_yearly(frame: pd.DataFrame, booked: pd.Series, as_of: pd.Timestamp,
                   date_col: str) -> pd.DataFrame:
    """Latest row per firm (by ``year``) again for each later year dated by ``as_of``."""
    last = _booked(frame, booked).sort_values("year").groupby("firm_id").tail(1)
    parts = []
    for k in range(1, int((as_of - last[date_col].min()).days // 365) + 2):
        row = last.assign(year=last["year"] + k, **{date_col: _shift_months(last[date_col],
                                                                            12 * k)})
        parts.append(row[(row[date_col] > row["_booked"]) & (row[date_col] <= as_of)])
    return pd.concat(parts, ignore_index=True).drop(columns="_booked")


def _filings(tables: RawTables, booked: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    f = _booked(tables.tax_filings, booked)
    last = f.groupby("firm_id")["period"].transform("max")
    src = f[f["period"] > _shift_months(last, -12)]
    parts = []
    for k in range(1, int((as_of - src["period"].min()).days // 365) + 2):
        row = src.assign(period=_shift_months(src["period"], 12 * k),
                         filed_on=_shift_months(src["filed_on"], 12 * k))
        parts.append(row[row["filed_on"] <= as_of])
    return pd.concat(parts, ignore_index=True).drop(columns="_booked")


def _invoices(tables: RawTables, booked: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    inv = _booked(tables.invoices, booked)
    year = pd.Timedelta(days=365)
    src = inv[inv["issued_at"] >= inv["_booked"] - year].reset_index(drop=True)
    next_id = int(tables.invoices["invoice_id"].max()) + 1
    parts = []
    for k in range(1, int((as_of - src["_booked"].min()) / year) + 2):
        new_ids = np.arange(next_id, next_id + len(src), dtype=np.int64)
        next_id += len(src)
        remap = pd.Series(new_ids, index=src["invoice_id"].to_numpy())
        original = src["original_invoice_id"].map(remap).astype("Int64")
        row = src.assign(invoice_id=new_ids, issued_at=src["issued_at"] + k * year,
                         original_invoice_id=original.fillna(src["original_invoice_id"]))
        parts.append(row[row["issued_at"].dt.normalize() <= as_of])
    return pd.concat(parts, ignore_index=True).drop(columns="_booked")


def fee_schedule(tables: RawTables, booked: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """Annual fees paid on time after booking by every granted, unlapsed right.

    Fee ``k`` (counting those already paid) is paid ``_FEE_LEAD_DAYS`` before the start
    of patent year ``k`` (365.25 days each from grant), never before the day after
    booking; software copyrights pay none.
    """
    p = _booked(tables.patents, booked)
    ev = tables.patent_events
    lapsed = ev.loc[ev["event"] == "lapse", "patent_id"]
    p = p[p["granted_on"].notna() & (p["kind"] != "software_copyright")
          & ~p["patent_id"].isin(lapsed)]
    paid = ev[ev["event"] == "annual_fee"].groupby("patent_id").size()
    m = p["patent_id"].map(paid).fillna(0).to_numpy(dtype=np.int64)
    rows = []
    horizon = int((as_of - p["granted_on"].min()).days / _DAYS_PER_YEAR) + 2 if len(p) else 0
    for extra in range(horizon):
        k = m + extra
        due = p["granted_on"] + pd.to_timedelta(np.round(k * _DAYS_PER_YEAR), unit="D")
        on = np.maximum(due - pd.Timedelta(days=_FEE_LEAD_DAYS),
                        p["_booked"] + pd.Timedelta(days=1))
        keep = (on <= as_of).to_numpy()
        rows.append(pd.DataFrame({"patent_id": p["patent_id"].to_numpy()[keep],
                                  "firm_id": p["firm_id"].to_numpy()[keep],
                                  "event_on": on.to_numpy()[keep], "event": "annual_fee",
                                  "amount_cny": np.nan}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["patent_id", "firm_id", "event_on", "event", "amount_cny"])


def continue_records(tables: RawTables, booked: pd.Series, as_of: object) -> RawTables:
    """Append stable records of the firms in ``booked`` (firm_id -> booking date).

    Records already dated after a firm's booking are kept as they are.
    """
    day = pd.Timestamp(as_of)
    added = {
        "tax_filings": _filings(tables, booked, day),
        "invoices": _invoices(tables, booked, day),
        "tax_grades": _repeat_yearly(tables.tax_grades, booked, day, "published_on"),
        "rnd": _repeat_yearly(tables.rnd, booked, day, "reported_on"),
        "patent_events": fee_schedule(tables, booked, day),
    }
    frames = {name: frame for name, frame in tables.items()}
    for name, extra in added.items():
        frames[name] = conform_frame(name, pd.concat([frames[name], conform_frame(name, extra)],
                                                     ignore_index=True))
    return RawTables(**frames)
