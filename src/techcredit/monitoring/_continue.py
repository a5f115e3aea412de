"""Stable post-booking records: each booked firm carries on as in its last year.

Used by :mod:`techcredit.monitoring.scenarios`. From each firm's reference month at
booking (the last month whose filing deadline had passed) to the monitoring date,
monthly filings and invoices repeat the 12 months ending at that reference month
(same amounts, same filing lag; invoices get new ids), tax grades and
annual reports repeat the latest ones a year later each year, and every granted
right in force pays its annual fees on time. Firms' registry entries do not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techcredit.features._context import reference_month
from techcredit.features._groups import DAYS_PER_YEAR
from techcredit.schemas import RawTables, conform_frame

__all__ = ["continue_records", "fee_schedule"]

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


def _month(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[M]").astype(np.int64)


def _periodic(frame: pd.DataFrame, booked: pd.Series, as_of: pd.Timestamp, month_col: str,
              date_cols: tuple[str, ...], known_col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a monthly table into (rows kept, copies) with a 12-month period.

    The source is each booked firm's 12 months ending at its reference month at booking
    (the window its 12-month features see); its rows dated in later months are
    replaced by the copies (no feature at booking sees them), so every 12-month window
    after booking holds the same records as the window at booking.
    """
    rows = _booked(frame, booked)
    ref = reference_month(rows["_booked"].to_numpy().astype("datetime64[D]"))
    month = _month(rows[month_col])
    src = rows[(month > ref - 12) & (month <= ref)].drop(columns="_booked")
    later = frame.index.isin(rows.index[month > ref])
    parts = []
    for k in range(1, int((as_of - booked.min()).days // 365) + 3):
        copy = src.assign(_shift=k, **{c: _shift_months(src[c], 12 * k) for c in date_cols})
        parts.append(copy[copy[known_col].dt.normalize() <= as_of])
    return frame[~later], pd.concat(parts, ignore_index=True)


def _filings(tables: RawTables, booked: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    kept, copies = _periodic(tables.tax_filings, booked, as_of, "period",
                             ("period", "filed_on"), "filed_on")
    return pd.concat([kept, copies.drop(columns="_shift")], ignore_index=True)


def _invoices(tables: RawTables, booked: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    kept, copies = _periodic(tables.invoices, booked, as_of, "issued_at", ("issued_at",),
                             "issued_at")
    start = int(tables.invoices["invoice_id"].max()) + 1
    new_ids = np.arange(start, start + len(copies), dtype=np.int64)
    # A red-letter copy reverses the copy of its original made by the same shift.
    remap = pd.Series(new_ids, index=pd.MultiIndex.from_arrays(
        [copies["_shift"].to_numpy(), copies["invoice_id"].to_numpy()]))
    has = copies["original_invoice_id"].notna().to_numpy()
    original = copies["original_invoice_id"].astype("Int64").copy()
    keys = pd.MultiIndex.from_arrays([copies["_shift"].to_numpy()[has],
                                      original[has].to_numpy(dtype=np.int64)])
    mapped = remap.reindex(keys).to_numpy()
    original[has] = np.where(np.isnan(mapped), original[has].to_numpy(dtype=np.float64),
                             mapped).astype(np.int64)
    copies = copies.assign(invoice_id=new_ids, original_invoice_id=original)
    return pd.concat([kept, copies.drop(columns="_shift")], ignore_index=True)


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
    horizon = int((as_of - p["granted_on"].min()).days / DAYS_PER_YEAR) + 2 if len(p) else 0
    for extra in range(horizon):
        k = m + extra
        due = p["granted_on"] + pd.to_timedelta(np.round(k * DAYS_PER_YEAR), unit="D")
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
    """Continue the firms in ``booked`` (firm_id -> booking date) stably to ``as_of``.

    Filings and invoices of months after each firm's reference month at booking are
    replaced by the 12-month copies; other tables only gain rows.
    """
    day = pd.Timestamp(as_of)
    frames = dict(tables.items())
    frames["tax_filings"] = _filings(tables, booked, day)
    frames["invoices"] = _invoices(tables, booked, day)
    added = {
        "tax_grades": _repeat_yearly(tables.tax_grades, booked, day, "published_on"),
        "rnd": _repeat_yearly(tables.rnd, booked, day, "reported_on"),
        "patent_events": fee_schedule(tables, booked, day),
    }
    for name, extra in added.items():
        frames[name] = pd.concat([frames[name], conform_frame(name, extra)], ignore_index=True)
    return RawTables(**{name: conform_frame(name, frame) for name, frame in frames.items()})
