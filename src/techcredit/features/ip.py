"""Intellectual-property features and the point-in-time state of each patent.

:func:`patent_state` is the public per-patent view (in force, pledged, challenged,
citations, remaining life ...) as of a date; :func:`ip_features` aggregates it to one
row per firm. Both run the same kernel.

Rules (statutory terms from ``legal_terms.yaml``):

* a right exists as of ``as_of`` if it was filed on or before ``as_of``;
* it is *in force* if granted (registered) by ``as_of``, has no ``lapse`` event by
  ``as_of`` and ``as_of`` is before filing date + legal term (invention 20 y, utility
  10 y, design 15 y, software copyright 50 y);
* *pledged* if its latest pledge by ``as_of`` is later than its latest pledge release;
* *challenged* if an invalidation request or litigation event happened by ``as_of``;
* *citations* count ``citation`` events by ``as_of``.

Examples
--------
>>> from techcredit.schemas import records_to_frame
>>> patents = records_to_frame("patents", [
...     {"patent_id": 1, "firm_id": 7, "kind": "invention", "filed_on": "2015-01-10",
...      "granted_on": "2018-06-01", "claims": 10, "ipc_class": "G06F",
...      "family_countries": 2, "main_business": True, "acquisition": "own"}])
>>> events = records_to_frame("patent_events", [
...     {"patent_id": 1, "firm_id": 7, "event_on": "2020-01-01", "event": "pledge"},
...     {"patent_id": 1, "firm_id": 7, "event_on": "2021-01-01", "event": "citation"},
...     {"patent_id": 1, "firm_id": 7, "event_on": "2030-01-01", "event": "lapse"}])
>>> state = patent_state(patents, events, "2024-01-10")
>>> bool(state.in_force[0]), bool(state.pledged[0]), int(state.citations[0])
(True, True, 1)
>>> round(float(state.remaining_life_years[0]), 1)
11.0
>>> bool(patent_state(patents, events, "2017-01-01").in_force[0])
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from techcredit.features._context import Context, make_context
from techcredit.features._groups import (
    DAYS_PER_YEAR,
    INT_MAX,
    as_of_days,
    bounds,
    expand,
    filled,
    ratio,
)
from techcredit.features._query import prepare, to_frame
from techcredit.features.arrays import (
    EVENT_CODES,
    KIND_CODES,
    STATIC_COLUMNS,
    EventArrays,
    FirmArrays,
    PatentArrays,
    _events,
    _frame_columns,
    _patents,
)
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["NAMES", "PatentState", "ip_block", "ip_features", "ip_rows", "patent_state"]

_KIND_NAMES = np.array(list(KIND_CODES), dtype=object)
_CITATION = EVENT_CODES["citation"]
_PLEDGE = EVENT_CODES["pledge"]
_RELEASE = EVENT_CODES["pledge_release"]
_TRANSFER = EVENT_CODES["transfer"]
_LICENCE = EVENT_CODES["licence"]
_INVALIDATION = EVENT_CODES["invalidation_request"]
_LITIGATION = EVENT_CODES["litigation"]
_LAPSE = EVENT_CODES["lapse"]
_NO_DAY = np.int64(-(2**40))
_INVENTION_COL = STATIC_COLUMNS.index("invention")
_N_EVENTS = len(EVENT_CODES)
NAMES = feature_names("ip")
_SUM_ROWS = (*STATIC_COLUMNS, "filed", "citations", "pledged", "transferred", "licensed",
             "challenged", "ended", "pending")


@dataclass(frozen=True, slots=True)
class PatentState:
    """Point-in-time state of patents, one entry per (patent, as_of) pair.

    Attributes
    ----------
    patent_id, firm_id : int64 arrays
    kind : object array of kind names (``invention`` ...)
    filed : bool
        Filed on or before ``as_of`` (rights filed later are not known yet).
    granted, lapsed, expired, in_force : bool
    pledged, challenged, transferred, licensed : bool
    citations : int64
        Forward citations up to ``as_of``.
    remaining_life_years : float64
        Years from ``as_of`` to the end of the legal term if in force, else 0.
    age_years : float64
        Years since filing (NaN if not filed by ``as_of``).
    years_since_grant : float64
        Years since grant (NaN if not granted by ``as_of``).
    """

    patent_id: np.ndarray
    firm_id: np.ndarray
    kind: np.ndarray
    filed: np.ndarray
    granted: np.ndarray
    lapsed: np.ndarray
    expired: np.ndarray
    in_force: np.ndarray
    pledged: np.ndarray
    challenged: np.ndarray
    transferred: np.ndarray
    licensed: np.ndarray
    citations: np.ndarray
    remaining_life_years: np.ndarray
    age_years: np.ndarray
    years_since_grant: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Return the state as a frame with one column per attribute."""
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})


def patent_state(patents: pd.DataFrame | PatentArrays,
                 events: pd.DataFrame | EventArrays,
                 as_of: object) -> PatentState:
    """Return the state of every patent as of a date.

    Parameters
    ----------
    patents : DataFrame (``patents`` schema) or PatentArrays
        Frames are converted (and sorted by firm, patent id) first; the result
        follows that sorted order, see ``PatentState.patent_id``.
    events : DataFrame (``patent_events`` schema) or EventArrays
        Must match ``patents`` (EventArrays built from the same PatentArrays).
    as_of : date-like or array of one date per patent (in sorted order)
        Nothing dated after it is used.

    Returns
    -------
    PatentState
    """
    p = (patents if isinstance(patents, PatentArrays)
         else _patents(_frame_columns("patents", patents)))
    e = (events if isinstance(events, EventArrays)
         else _events(_frame_columns("patent_events", events), p))
    n = p.patent_id.size
    asof = as_of_days(as_of, n)
    rows = np.arange(n)
    erows = np.arange(e.row.size)
    return _state(p, rows, asof, e, erows, e.row)


def _events_by_pair(asof: np.ndarray, e: EventArrays, erec: np.ndarray, epair: np.ndarray,
                    n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Count and last day of each event kind per pair, events known by ``as_of`` only."""
    day = e.day[erec]
    known = day <= asof[epair]
    key = epair[known] * _N_EVENTS + e.code[erec][known]
    counts = np.bincount(key, minlength=n_pairs * _N_EVENTS).reshape(n_pairs, _N_EVENTS)
    last = filled(n_pairs * _N_EVENTS, _NO_DAY, np.int64)
    np.maximum.at(last, key, day[known])
    return counts, last.reshape(n_pairs, _N_EVENTS)


def _state(p: PatentArrays, prow: np.ndarray, asof: np.ndarray, e: EventArrays,
           erec: np.ndarray, epair: np.ndarray) -> PatentState:
    """Kernel: state of pairs ``(prow[i], asof[i])``; event ``erec[j]`` hits pair ``epair[j]``."""
    counts, last = _events_by_pair(asof, e, erec, epair, prow.size)
    filed_on, granted_on, term_end = p.filed[prow], p.granted[prow], p.term_end[prow]
    filed = filed_on <= asof
    granted = granted_on <= asof
    lapsed = counts[:, _LAPSE] > 0
    expired = asof >= term_end
    in_force = granted & ~lapsed & ~expired
    return PatentState(
        patent_id=p.patent_id[prow], firm_id=p.firm[prow], kind=_KIND_NAMES[p.kind[prow]],
        filed=filed, granted=granted, lapsed=lapsed, expired=expired, in_force=in_force,
        pledged=last[:, _PLEDGE] > last[:, _RELEASE],
        challenged=(counts[:, _INVALIDATION] + counts[:, _LITIGATION]) > 0,
        transferred=counts[:, _TRANSFER] > 0, licensed=counts[:, _LICENCE] > 0,
        citations=counts[:, _CITATION],
        remaining_life_years=np.where(in_force, (term_end - asof) / DAYS_PER_YEAR, 0.0),
        age_years=np.where(filed, (asof - filed_on) / DAYS_PER_YEAR, np.nan),
        years_since_grant=np.where(granted, (asof - granted_on) / DAYS_PER_YEAR, np.nan))


def ip_block(a: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray) -> dict[str, np.ndarray]:
    """IP features of groups ``(firm_ids[i], asof[i])`` by name (float64 arrays).

    Parameters
    ----------
    a : FirmArrays
    firm_ids : int64 array
    asof : int64 array of days since 1970-01-01, one per firm id

    Examples
    --------
    >>> from techcredit.schemas import RawTables, records_to_frame
    >>> arrays = FirmArrays.from_tables(RawTables(**{n: records_to_frame(n, []) for n in (
    ...     "firms", "tax_grades", "tax_filings", "invoices", "patents", "patent_events",
    ...     "rnd")}))
    >>> ip_block(arrays, np.array([1]), np.array([19000]))["ip_inforce_count_now"].tolist()
    [0.0]
    """
    rows = ip_rows(a, make_context(a, firm_ids, asof))
    return dict(zip(NAMES, rows, strict=True))


def ip_rows(a: FirmArrays, ctx: Context) -> np.ndarray:
    """IP features of the context's groups as a ``(len(NAMES), n)`` float64 array."""
    feats = _ip(a, ctx)
    return np.array([feats[name] for name in NAMES], dtype=np.float64)


def _ip(a: FirmArrays, ctx: Context) -> dict[str, np.ndarray]:
    n, asof = ctx.n, ctx.asof
    p, e = a.patents, a.events
    ps, pe = bounds(p.firm, ctx.firm_ids)
    pg, prow = expand(ps, pe)
    eg, erec = expand(*bounds(e.firm, ctx.firm_ids))
    lens = pe - ps
    first = np.cumsum(lens) - lens
    epair = first[eg] + (e.row[erec] - ps[eg])
    pasof = asof[pg]
    counts, last = _events_by_pair(pasof, e, erec, epair, prow.size)
    term_end = p.term_end[prow]
    filed = p.filed[prow] <= pasof
    granted = p.granted[prow] <= pasof
    lapsed = counts[:, _LAPSE] > 0
    ended = lapsed | (pasof >= term_end)
    live = granted & ~ended
    static = p.static[prow]  # (pairs, len(STATIC_COLUMNS))
    cites = counts[:, _CITATION] * filed
    dynamic = np.array([
        filed, cites, last[:, _PLEDGE] > last[:, _RELEASE], counts[:, _TRANSFER] > 0,
        counts[:, _LICENCE] > 0, (counts[:, _INVALIDATION] + counts[:, _LITIGATION]) > 0,
        ended, static[:, _INVENTION_COL] * ~granted * ~lapsed,
    ]) * filed  # (8, pairs): filed rights only
    rows = np.concatenate([static.T * live, dynamic])  # integer-valued, (rows, pairs)
    csum = np.zeros((rows.shape[0], prow.size + 1))
    np.cumsum(rows, axis=1, out=csum[:, 1:])
    sums = csum[:, first + lens] - csum[:, first]  # exact: integer sums, (rows, n)

    maxima = np.zeros(2 * n)
    np.maximum.at(maxima, np.concatenate([pg, pg + n]),
                  np.concatenate([live * p.family[prow], cites]))
    first_filed = filled(n, INT_MAX, np.int64)
    np.minimum.at(first_filed, pg[filed], p.filed[prow][filed])
    life = np.bincount(pg[live], (term_end - pasof)[live] / DAYS_PER_YEAR, minlength=n)
    s = dict(zip(_SUM_ROWS, sums, strict=True))
    means = ratio(np.array([s["claims"], life]), s["inforce"])
    return {
        "ip_filed_count_all": s["filed"],
        "ip_inforce_count_now": s["inforce"],
        "ip_invention_count_now": s["invention"],
        "ip_invention_pending_now": s["pending"],
        "ip_utility_count_now": s["utility"],
        "ip_design_count_now": s["design"],
        "ip_software_count_now": s["software_copyright"],
        "ip_class1_count_now": s["class1"],
        "ip_class2_count_now": s["class2"],
        "ip_main_class1_count_now": s["main_class1"],
        "ip_main_class2_count_now": s["main_class2"],
        "ip_own_count_now": s["own"],
        "ip_acquired_count_now": s["acquired"],
        "ip_citations_sum_all": s["citations"],
        "ip_citations_max_all": maxima[n:],
        "ip_family_max_now": maxima[:n],
        "ip_family_intl_count_now": s["family_intl"],
        "ip_claims_mean_now": means[0],
        "ip_remaining_life_mean_now": means[1],
        "ip_pledged_count_now": s["pledged"],
        "ip_transferred_count_all": s["transferred"],
        "ip_licensed_count_all": s["licensed"],
        "ip_challenged_count_all": s["challenged"],
        "ip_lapsed_count_all": s["ended"],
        "ip_history_years_all": np.where(first_filed < INT_MAX,
                                         (asof - first_filed) / DAYS_PER_YEAR, np.nan),
    }


def ip_features(data: RawTables | FirmArrays, as_of: object,
                firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """IP features, one row per requested firm (see :func:`tax_features`).

    Examples
    --------
    >>> from techcredit.schemas import RawTables, records_to_frame
    >>> tables = RawTables(**{n: records_to_frame(n, []) for n in ("firms", "tax_grades",
    ...     "tax_filings", "invoices", "patents", "patent_events", "rnd")})
    >>> ip_features(tables, "2024-01-01", firm_ids=[5])["ip_inforce_count_now"].tolist()
    [0.0]
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    return to_frame(ip_rows(arrays, make_context(arrays, ids, asof)).T, NAMES, ids)
