"""Point-in-time inputs of the rating: the features' IP and R&D blocks plus a few extras.

Reuses :func:`techcredit.features.ip.ip_block`, :func:`techcredit.features.rnd.rnd_features`
and :func:`techcredit.features.patent_state` (feature logic exists once). Four inputs
are not features, so they are computed here, with numpy on :class:`FirmArrays` (the
pandas path and :func:`techcredit.rating.serving.rate_prepared` share
:func:`rating_extras`), with the same point-in-time rule (nothing dated after ``as_of``):

* ``rnd_total_assets_1y``: total assets of the last reported year (tech-SME size limit);
* ``rnd_management_items_1y``: how many of the four R&D management items are kept;
* ``industry_sei_now`` / ``industry_growth_annual``: strategic-emerging-industry fit and
  expected growth of the firm's industry code (from ``innovation_rating.yaml``);
* ``ip_sei_count_now``: rights in force in strategic-emerging IPC classes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from techcredit.config.rating import InnovationSpec
from techcredit.exceptions import InvalidInputError
from techcredit.features import FirmArrays, PatentState
from techcredit.features._groups import bounds, expand
from techcredit.features._jit import kernel, kernel_array
from techcredit.features.arrays import EventArrays, PatentArrays
from techcredit.features.ip import STATE_FLAGS, ip_block, state_of, state_rows
from techcredit.features.rnd import rnd_features
from techcredit.rating._compiled import compile_innovation
from techcredit.schemas import RawTables

__all__ = [
    "MANAGEMENT_FEATURES",
    "Rights",
    "as_of_per_firm",
    "in_sei_ipc",
    "industry_inputs",
    "rating_extras",
    "rating_inputs",
    "right_pairs",
    "sei_count_now",
    "slim_arrays",
    "total_assets_1y",
]

logger = logging.getLogger(__name__)

MANAGEMENT_FEATURES = ("rnd_ledger_1y", "rnd_institution_1y", "rnd_incentive_1y",
                       "rnd_talent_1y")
"""The four R&D management items, summed into ``rnd_management_items_1y``."""


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


@dataclass(frozen=True, slots=True, eq=False)
class Rights:
    """The rights each requested row knows: one pair per (row, right filed by its as_of).

    Pairs are ordered by row, then by the rights' order in :class:`PatentArrays`. The
    state is kept as the rows of :func:`techcredit.features.ip.state_rows`;
    :meth:`state` spells it out as a :class:`PatentState`.
    """

    patents: PatentArrays
    """The rights ``prow`` indexes."""
    group: np.ndarray
    """Requested row of each pair (int)."""
    prow: np.ndarray
    """Index of each pair's right in ``patents``."""
    as_of: np.ndarray
    """int64 day of each pair."""
    flags: np.ndarray
    """bool ``(len(STATE_FLAGS), pairs)``: filed, granted, lapsed ... of each pair."""
    citations: np.ndarray
    """int64 forward citations of each pair up to its ``as_of``."""
    years: np.ndarray
    """float64 ``(len(STATE_YEARS), pairs)``: remaining life, age, years since grant."""

    def __len__(self) -> int:
        return int(self.prow.shape[0])

    def flag(self, name: str) -> np.ndarray:
        """One boolean state of every pair (a name of ``STATE_FLAGS``), a view."""
        return self.flags[_FLAG_ROW[name]]

    def state(self) -> PatentState:
        """The pairs' :func:`techcredit.features.patent_state`."""
        return state_of(self.patents, self.prow, self.flags, self.citations, self.years)

    def in_classes(self, classes: frozenset[str]) -> np.ndarray:
        """Whether each pair's IPC subclass is one of ``classes`` (:func:`in_sei_ipc`)."""
        return in_sei_ipc(self.patents.ipc[self.prow], classes)

    def filing_year(self) -> np.ndarray:
        """Calendar year each pair's right was filed (int64, floor as datetime64[Y])."""
        return self.patents.filed_year[self.prow]


_FLAG_ROW = {name: i for i, name in enumerate(STATE_FLAGS)}
_PATENT_FIELDS = tuple(f.name for f in fields(PatentArrays))


def right_pairs(arrays: FirmArrays, ids: np.ndarray, asof: np.ndarray) -> Rights:
    """Point-in-time state of the rights of rows ``(ids[i], asof[i])`` (see :class:`Rights`).

    Rights filed after a row's ``as_of`` are not known and left out.
    """
    p, e = arrays.patents, arrays.events
    ps, pe = bounds(p.firm, ids)
    group, prow = expand(ps, pe)
    pasof = asof[group]
    if ps.size == 1 and ps[0] == 0 and pe[0] == p.firm.size:  # one firm, its own arrays
        rows = state_rows(p, prow, pasof, e, np.arange(e.row.size), e.row)
    else:
        eg, erec = expand(*bounds(e.firm, ids))
        lens = pe - ps
        first = np.cumsum(lens) - lens
        sub_p = PatentArrays(**{name: getattr(p, name)[prow] for name in _PATENT_FIELDS})
        sub_e = EventArrays(firm=e.firm[erec], row=first[eg] + (e.row[erec] - ps[eg]),
                            day=e.day[erec], code=e.code[erec])
        rows = state_rows(sub_p, np.arange(prow.size), pasof, sub_e,
                          np.arange(sub_e.row.size), sub_e.row)
    flags, citations, years = rows
    filed = flags[_FLAG_ROW["filed"]]
    if np.count_nonzero(filed) < filed.size:
        keep = np.flatnonzero(filed)
        group, prow, pasof = group[keep], prow[keep], pasof[keep]
        # take along axis 1 keeps the rows C-contiguous (flags[:, keep] is Fortran-ordered)
        flags, citations = np.take(flags, keep, axis=1), citations[keep]
        years = np.take(years, keep, axis=1)
    return Rights(patents=p, group=group, prow=prow, as_of=pasof, flags=flags,
                  citations=citations, years=years)


def in_sei_ipc(ipc: np.ndarray, classes: frozenset[str]) -> np.ndarray:
    """Whether each IPC subclass is in the strategic-emerging list.

    Examples
    --------
    >>> in_sei_ipc(np.array(["G06F", "A01B"], dtype=object), frozenset({"G06F"})).tolist()
    [True, False]
    """
    codes = np.asarray(ipc, dtype=object).tolist()
    return np.array([code in classes for code in codes], dtype=bool).reshape(len(codes))


def total_assets_1y(arrays: FirmArrays, ids: np.ndarray, asof: np.ndarray) -> np.ndarray:
    """Total assets of the latest year reported by ``as_of`` (later report of a year wins).

    NaN for a row without a report known by its ``as_of``.
    """
    r = arrays.rnd
    out = np.empty(ids.size)
    _last_known(r.firm, r.reported, r.total_assets, kernel_array(ids, np.int64),
                kernel_array(asof, np.int64), out)
    return out


@kernel
def _last_known(firm: np.ndarray, reported: np.ndarray, values: np.ndarray, ids: np.ndarray,
                asof: np.ndarray, out: np.ndarray) -> None:
    """``values`` of each row's last report known by its ``as_of`` (NaN if none); reports
    are sorted by (firm, year, reported), so the last known one is the latest."""
    for i in range(ids.size):
        out[i] = np.nan
        for rec in range(np.searchsorted(firm, ids[i], side="left"),
                         np.searchsorted(firm, ids[i], side="right")):
            if reported[rec] <= asof[i]:
                out[i] = values[rec]


def industry_inputs(arrays: FirmArrays, ids: np.ndarray,
                    spec: InnovationSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(industry_sei_now, industry_growth_annual)`` of each row from its industry code.

    Growth: the rate of the full code, else of its section letter, else the default; a
    firm without a profile has code "" (not SEI, default growth).
    """
    k = compile_innovation(spec)
    firms = arrays.firms
    codes = [""] * ids.size
    if firms.firm.size:
        pos = np.minimum(firms.firm.searchsorted(ids), firms.firm.size - 1)
        found = (firms.firm[pos] == ids).tolist()
        codes = [c if ok and isinstance(c, str) else ""
                 for c, ok in zip(firms.industry[pos].tolist(), found, strict=True)]
    rates, default, memo = k.growth_rates, k.growth_default, k.industry_memo
    for code in codes:
        if code not in memo:
            memo[code] = (float(code in k.sei_codes),
                          rates.get(code, rates.get(code[:1], default)))
    pairs = np.array([memo[c] for c in codes], dtype=np.float64).reshape(len(codes), 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def rating_extras(features: Mapping[str, np.ndarray], arrays: FirmArrays, ids: np.ndarray,
                  asof: np.ndarray, sei_count: np.ndarray, spec: InnovationSpec
                  ) -> dict[str, np.ndarray]:
    """The four inputs of the rating that are not features (see the module docstring);
    ``sei_count`` is ``ip_sei_count_now`` (:func:`sei_count_now`)."""
    sei, growth = industry_inputs(arrays, ids, spec)
    ledger, institution, incentive, talent = MANAGEMENT_FEATURES
    return {
        "rnd_total_assets_1y": total_assets_1y(arrays, ids, asof),
        "rnd_management_items_1y": (features[ledger] + features[institution]
                                    + features[incentive] + features[talent]),
        "industry_sei_now": sei,
        "industry_growth_annual": growth,
        "ip_sei_count_now": sei_count,
    }


def sei_count_now(rights: Rights, sei: np.ndarray, n_rows: int) -> np.ndarray:
    """Rights in force in strategic-emerging IPC classes per requested row (float64);
    ``sei``: whether each pair's class is one (:meth:`Rights.in_classes`)."""
    return np.bincount(rights.group, weights=sei & rights.flag("in_force"), minlength=n_rows)


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
    feats = {c: frame[c].to_numpy() for c in MANAGEMENT_FEATURES}
    rights = right_pairs(arrays, ids, asof)
    sei = rights.in_classes(compile_innovation(spec).sei_ipc)
    extras = rating_extras(feats, arrays, ids, asof, sei_count_now(rights, sei, ids.size), spec)
    for name, values in extras.items():
        frame[name] = values
    frame["as_of"] = asof.astype("datetime64[D]").astype("datetime64[ns]")
    return frame
