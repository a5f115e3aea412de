"""Point-in-time inputs of the rating: the features' IP and R&D blocks plus a few extras.

Reuses :func:`techcredit.features.ip.ip_block`, :func:`techcredit.features.rnd.rnd_features`
and :func:`techcredit.features.patent_state` (feature logic exists once). Four inputs
are not features, so they are computed here with the same point-in-time rule (nothing
dated after ``as_of``):

* ``rnd_total_assets_1y``: total assets of the last reported year (tech-SME size limit);
* ``rnd_management_items_1y``: how many of the four R&D management items are kept;
* ``industry_sei_now`` / ``industry_growth_annual``: strategic-emerging-industry fit and
  expected growth of the firm's industry code (from ``innovation_rating.yaml``);
* ``ip_sei_count_now``: rights in force in strategic-emerging IPC classes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from techcredit.config.rating import InnovationSpec
from techcredit.exceptions import InvalidInputError
from techcredit.features import FirmArrays, patent_state
from techcredit.features.ip import ip_block
from techcredit.features.rnd import rnd_features
from techcredit.schemas import RawTables

__all__ = ["as_of_per_firm", "patent_frame", "rating_inputs", "slim_arrays"]

logger = logging.getLogger(__name__)

_MANAGEMENT = ("rnd_ledger_1y", "rnd_institution_1y", "rnd_incentive_1y", "rnd_talent_1y")


def as_of_per_firm(tables: RawTables, as_of: object,
                   firm_ids: Iterable[int] | np.ndarray | pd.Series | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(firm_ids, as_of days)``: int64 arrays, one entry per requested firm.

    ``as_of=None`` takes each firm's application date (``applications.applied_on``,
    the first listed application of a firm); otherwise one date or one per firm.
    """
    ids = (tables.firms["firm_id"].to_numpy(dtype=np.int64) if firm_ids is None
           else np.asarray(list(firm_ids) if not isinstance(firm_ids, np.ndarray | pd.Series)
                           else firm_ids, dtype=np.int64))
    if as_of is None:
        apps = tables.applications
        if apps is None:
            raise InvalidInputError([("as_of", None, None,
                                      "needed when the tables hold no applications")])
        first = apps.drop_duplicates("firm_id").set_index("firm_id")["applied_on"]
        dates = first.reindex(ids)
        missing = ids[dates.isna().to_numpy()]
        if missing.size:
            raise InvalidInputError([("applications", int(f), "applied_on",
                                      "no application to take as_of from") for f in missing[:20]])
        values = dates.to_numpy()
    elif np.ndim(as_of) == 0:
        values = np.full(ids.size, pd.Timestamp(str(as_of)
                                                if isinstance(as_of, str) else as_of))
    else:
        values = pd.to_datetime(np.asarray(as_of)).to_numpy()
        if values.shape != ids.shape:
            raise InvalidInputError([("as_of", None, None,
                                      f"needs one date or {ids.size} dates, got {values.size}")])
    days = np.asarray(values, dtype="datetime64[ns]")
    if np.isnat(days).any():
        raise InvalidInputError([("as_of", None, None, "must not be missing")])
    return ids, days.astype("datetime64[D]").astype(np.int64)


def slim_arrays(tables: RawTables) -> FirmArrays:
    """:class:`FirmArrays` of the sources the rating reads (no invoices or filings)."""
    slim = RawTables(firms=tables.firms, tax_grades=tables.tax_grades.iloc[:0],
                     tax_filings=tables.tax_filings.iloc[:0], invoices=tables.invoices.iloc[:0],
                     patents=tables.patents, patent_events=tables.patent_events,
                     rnd=tables.rnd)
    return FirmArrays.from_tables(slim)


def patent_frame(tables: RawTables, arrays: FirmArrays, ids: np.ndarray,
                 asof: np.ndarray) -> pd.DataFrame:
    """Point-in-time state of the patents of the requested firms, with their raw facts.

    One row per patent of a requested firm (a firm requested twice is taken once, at
    its first ``as_of``); columns of :class:`techcredit.features.PatentState` plus
    ``ipc_class``, ``claims``, ``family_countries``, ``main_business``, ``filing_year``
    and ``as_of_day``.
    """
    first = pd.Series(asof, index=ids)
    first = first[~first.index.duplicated()]
    p = arrays.patents
    pat_asof = first.reindex(p.firm).fillna(0).to_numpy(dtype=np.int64)
    state = patent_state(p, arrays.events, pat_asof).to_frame()
    raw = tables.patents.sort_values(["firm_id", "patent_id"], kind="stable")
    keep = np.isin(p.firm, first.index.to_numpy())
    state = state[keep].reset_index(drop=True)
    sub = raw[keep].reset_index(drop=True)
    pat_asof = pat_asof[keep]
    state["ipc_class"] = sub["ipc_class"].astype(object).to_numpy()
    state["claims"] = sub["claims"].to_numpy(dtype=np.float64)
    state["family_countries"] = sub["family_countries"].to_numpy(dtype=np.float64)
    state["main_business"] = sub["main_business"].to_numpy(dtype=bool)
    state["filing_year"] = sub["filed_on"].dt.year.to_numpy(dtype=np.int64)
    state["as_of_day"] = pat_asof
    return state


def _total_assets_1y(rnd: pd.DataFrame, ids: np.ndarray, asof: np.ndarray) -> np.ndarray:
    """Total assets of the latest year reported by ``as_of`` (later report of a year wins)."""
    req = pd.DataFrame({"firm_id": ids, "_row": np.arange(ids.size), "_asof": asof})
    cols = rnd[["firm_id", "year", "reported_on", "total_assets_cny"]].copy()
    cols["_rep"] = cols["reported_on"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    merged = req.merge(cols, on="firm_id", how="inner")
    merged = merged[merged["_rep"] <= merged["_asof"]]
    merged = merged.sort_values(["_row", "year", "_rep"], kind="stable")
    last = merged.drop_duplicates("_row", keep="last")
    out = np.full(ids.size, np.nan)
    out[last["_row"].to_numpy()] = last["total_assets_cny"].to_numpy(dtype=np.float64)
    return out


def _industry(tables: RawTables, ids: np.ndarray,
              spec: InnovationSpec) -> tuple[np.ndarray, np.ndarray]:
    codes = tables.firms.drop_duplicates("firm_id").set_index("firm_id")["industry_code"]
    code = codes.reindex(ids).astype(object).fillna("").to_numpy()
    code_s = pd.Series(code, dtype=object)
    sei = code_s.isin(spec.industry.sei_industry_codes).to_numpy(dtype=np.float64)
    rates = spec.industry.growth_rate_annual
    by_code = code_s.map(rates)
    by_section = code_s.str[:1].map(rates)
    growth = by_code.fillna(by_section).fillna(spec.industry.growth_rate_default)
    return sei, growth.to_numpy(dtype=np.float64)


def rating_inputs(tables: RawTables, as_of: object = None,
                  firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                  spec: InnovationSpec) -> pd.DataFrame:
    """Every input the official scores and the innovation rating read, one row per firm.

    Parameters
    ----------
    tables : RawTables
    as_of : date-like, one date per firm, or None (each firm's application date)
    firm_ids : sequence of int, optional
        Default: every firm of ``tables.firms``.
    spec : InnovationSpec

    Returns
    -------
    pandas.DataFrame
        Index ``firm_id``; the ``ip_*``, ``rnd_*`` and ``firm_*`` features plus the
        extras listed in the module docstring.
    """
    ids, asof = as_of_per_firm(tables, as_of, firm_ids)
    arrays = slim_arrays(tables)
    ip = ip_block(arrays, ids, asof)
    frame = rnd_features(arrays, asof, ids).astype(np.float64)
    for name, values in ip.items():
        frame[name] = values
    frame["rnd_total_assets_1y"] = _total_assets_1y(tables.rnd, ids, asof)
    frame["rnd_management_items_1y"] = frame[list(_MANAGEMENT)].sum(axis=1)
    sei, growth = _industry(tables, ids, spec)
    frame["industry_sei_now"] = sei
    frame["industry_growth_annual"] = growth
    pats = patent_frame(tables, arrays, ids, asof)
    sei_pat = pats["in_force"].to_numpy() & pats["ipc_class"].isin(
        spec.industry.sei_ipc_classes).to_numpy()
    counts = pd.Series(sei_pat.astype(np.float64)).groupby(pats["firm_id"].to_numpy()).sum()
    frame["ip_sei_count_now"] = counts.reindex(ids).fillna(0.0).to_numpy()
    frame["as_of"] = asof.astype("datetime64[D]").astype("datetime64[ns]")
    return frame
