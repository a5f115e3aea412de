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
)
from techcredit.features._jit import kernel, kernel_array, output_rows, safe_ratio
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

__all__ = ["NAMES", "STATE_FLAGS", "STATE_YEARS", "PatentState", "ip_block", "ip_features",
           "ip_rows", "patent_state", "state_of", "state_rows"]

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
    return state_of(p, rows, *state_rows(p, rows, asof, e, erows, e.row))


STATE_FLAGS = ("filed", "granted", "lapsed", "expired", "in_force", "pledged",
               "challenged", "transferred", "licensed")
"""Rows of the ``flags`` matrix of :func:`state_rows` (the boolean :class:`PatentState`
fields)."""
STATE_YEARS = ("remaining_life_years", "age_years", "years_since_grant")
"""Rows of the ``years`` matrix of :func:`state_rows`."""


def state_rows(p: PatentArrays, prow: np.ndarray, asof: np.ndarray, e: EventArrays,
               erec: np.ndarray, epair: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel: state of pairs ``(prow[i], asof[i])``; event ``erec[j]`` hits pair ``epair[j]``.

    Returns ``(flags, citations, years)``: a bool ``(len(STATE_FLAGS), pairs)`` matrix, the
    int64 forward citations and a float64 ``(len(STATE_YEARS), pairs)`` matrix, the
    :class:`PatentState` of the pairs without its per-pair copies of the patents' columns
    (:func:`state_of` adds them).
    """
    prow = kernel_array(prow, np.int64)
    n = prow.size
    flags, citations = np.empty((len(STATE_FLAGS), n), dtype=bool), np.empty(n, dtype=np.int64)
    years = np.empty((len(STATE_YEARS), n))
    _pair_states(prow, kernel_array(asof, np.int64), p.filed, p.granted, p.term_end, e.day,
                 e.code, kernel_array(erec, np.int64), kernel_array(epair, np.int64),
                 _N_EVENTS, DAYS_PER_YEAR, flags, citations, years)
    return flags, citations, years


def state_of(p: PatentArrays, prow: np.ndarray, flags: np.ndarray, citations: np.ndarray,
             years: np.ndarray) -> PatentState:
    """The :class:`PatentState` of pairs on rights ``prow`` from :func:`state_rows`."""
    filed, granted, lapsed, expired, in_force, pledged, challenged, transferred, licensed = \
        flags  # rows in STATE_FLAGS order
    remaining, age, since_grant = years  # rows in STATE_YEARS order
    return PatentState(patent_id=p.patent_id[prow], firm_id=p.firm[prow],
                       kind=_KIND_NAMES[p.kind[prow]], filed=filed, granted=granted,
                       lapsed=lapsed, expired=expired, in_force=in_force, pledged=pledged,
                       challenged=challenged, transferred=transferred, licensed=licensed,
                       citations=citations, remaining_life_years=remaining, age_years=age,
                       years_since_grant=since_grant)


@kernel
def _pair_states(prow: np.ndarray, asof: np.ndarray, filed_on: np.ndarray,
                 granted_on: np.ndarray, term_end: np.ndarray, day: np.ndarray,
                 code: np.ndarray, erec: np.ndarray, epair: np.ndarray, n_events: int,
                 days_per_year: float, flags: np.ndarray, citations: np.ndarray,
                 years: np.ndarray) -> None:
    """Each pair's :class:`PatentState` (``flags`` rows ``STATE_FLAGS``, ``years`` rows
    ``STATE_YEARS``) from the events known by its ``as_of``: counts by kind, and the last
    pledge and release (pledged: the last pledge after the last release)."""
    n = prow.size
    counts = np.zeros((n, n_events), dtype=np.int64)
    last = np.full((n, n_events), _NO_DAY, dtype=np.int64)
    for j in range(erec.size):
        r, pair = erec[j], epair[j]
        if pair < 0 or pair >= n or code[r] < 0 or code[r] >= n_events:
            raise ValueError("patent events do not match the patents (pair or event code "
                             "out of range)")
        if day[r] <= asof[pair]:
            counts[pair, code[r]] += 1
            last[pair, code[r]] = max(last[pair, code[r]], day[r])
    for i in range(n):
        r, at = prow[i], asof[i]
        filed, granted = filed_on[r] <= at, granted_on[r] <= at
        lapsed, expired = counts[i, _LAPSE] > 0, at >= term_end[r]
        in_force = granted and not lapsed and not expired
        flags[0, i], flags[1, i], flags[2, i], flags[3, i] = filed, granted, lapsed, expired
        flags[4, i] = in_force
        flags[5, i] = last[i, _PLEDGE] > last[i, _RELEASE]
        flags[6, i] = counts[i, _INVALIDATION] + counts[i, _LITIGATION] > 0
        flags[7, i] = counts[i, _TRANSFER] > 0
        flags[8, i] = counts[i, _LICENCE] > 0
        citations[i] = counts[i, _CITATION]
        years[0, i] = (term_end[r] - at) / days_per_year if in_force else 0.0
        years[1, i] = (at - filed_on[r]) / days_per_year if filed else np.nan
        years[2, i] = (at - granted_on[r]) / days_per_year if granted else np.nan


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


# the features of the static columns (each summed over rights in force)
_STATIC_FEATURES = {
    "inforce": "ip_inforce_count_now", "invention": "ip_invention_count_now",
    "utility": "ip_utility_count_now", "design": "ip_design_count_now",
    "software_copyright": "ip_software_count_now", "class1": "ip_class1_count_now",
    "class2": "ip_class2_count_now", "main_class1": "ip_main_class1_count_now",
    "main_class2": "ip_main_class2_count_now", "own": "ip_own_count_now",
    "acquired": "ip_acquired_count_now", "family_intl": "ip_family_intl_count_now",
}
# kernel outputs, in the order :func:`_ip_kernel` writes them
_OUT = (*_STATIC_FEATURES.values(), "ip_filed_count_all", "ip_citations_sum_all",
        "ip_pledged_count_now", "ip_transferred_count_all", "ip_licensed_count_all",
        "ip_challenged_count_all", "ip_lapsed_count_all", "ip_invention_pending_now",
        "ip_citations_max_all", "ip_family_max_now", "ip_claims_mean_now",
        "ip_remaining_life_mean_now", "ip_history_years_all")
_ROWS = output_rows(_OUT, NAMES)
# static columns: the summed ones in _STATIC_FEATURES order, then claims
_STATIC = np.array([STATIC_COLUMNS.index(c) for c in (*_STATIC_FEATURES, "claims")],
                   dtype=np.intp)
_EVENTS = np.array([_CITATION, _PLEDGE, _RELEASE, _TRANSFER, _LICENCE, _INVALIDATION,
                    _LITIGATION, _LAPSE], dtype=np.intp)


def ip_rows(a: FirmArrays, ctx: Context) -> np.ndarray:
    """IP features of the context's groups as a ``(len(NAMES), n)`` float64 array."""
    out = np.empty((len(NAMES), ctx.n))
    p, e = a.patents, a.events
    _ip_kernel(ctx.firm_ids, ctx.asof, p.firm, p.filed, p.granted, p.term_end, p.family,
               p.static, e.firm, e.row, e.day, e.code, _STATIC, _INVENTION_COL, _EVENTS,
               _N_EVENTS, DAYS_PER_YEAR, _ROWS, out)
    return out


@kernel
def _ip_kernel(firm_ids: np.ndarray, asof: np.ndarray, firm: np.ndarray,
               filed_on: np.ndarray, granted_on: np.ndarray, term_end: np.ndarray,
               family: np.ndarray, static: np.ndarray, e_firm: np.ndarray,
               e_row: np.ndarray, e_day: np.ndarray, e_code: np.ndarray,
               static_cols: np.ndarray, invention_col: int, events: np.ndarray,
               n_events: int, days_per_year: float, rows: np.ndarray, out: np.ndarray) -> None:
    """Every IP feature of each group into ``out[rows[k], i]``.

    Events count only when dated by ``as_of``; a right counts only when filed by then.
    Counts are sums of integers (exact in any order); the remaining life is summed in
    patent-id order.
    """
    cite, pledge, release, transfer, licence, invalidation, litigation, lapse = (
        events[0], events[1], events[2], events[3], events[4], events[5], events[6],
        events[7])
    n_static = static_cols.size - 1  # the last one is claims
    counts = np.zeros((16, n_events), dtype=np.int64)
    last = np.zeros((16, n_events), dtype=np.int64)
    sums = np.empty(static_cols.size)
    res = np.empty(rows.size)
    for i in range(firm_ids.size):
        day = asof[i]
        ps = np.searchsorted(firm, firm_ids[i], "left")
        pe = np.searchsorted(firm, firm_ids[i], "right")
        if pe - ps > counts.shape[0]:
            counts = np.zeros((2 * (pe - ps), n_events), dtype=np.int64)
            last = np.zeros((2 * (pe - ps), n_events), dtype=np.int64)
        counts[:pe - ps] = 0
        last[:pe - ps] = _NO_DAY
        for r in range(np.searchsorted(e_firm, firm_ids[i], "left"),
                       np.searchsorted(e_firm, firm_ids[i], "right")):
            pair = e_row[r] - ps
            if pair < 0 or pair >= pe - ps:
                raise ValueError("a patent event points outside its firm's patents")
            if e_day[r] <= day:
                counts[pair, e_code[r]] += 1
                last[pair, e_code[r]] = max(last[pair, e_code[r]], e_day[r])
        sums[:] = 0.0
        n_filed = cites_sum = pledged = transferred = licensed = challenged = ended_sum = 0
        pending = 0.0
        cites_max = family_max = life = 0.0
        first_filed = INT_MAX
        for k in range(pe - ps):
            row = ps + k
            filed = filed_on[row] <= day
            granted = granted_on[row] <= day
            lapsed = counts[k, lapse] > 0
            ended = lapsed or day >= term_end[row]
            live = granted and not ended
            cites = counts[k, cite] if filed else 0
            if live:
                for c in range(static_cols.size):
                    sums[c] += static[row, static_cols[c]]
                family_max = max(family_max, float(family[row]))
                life += (term_end[row] - day) / days_per_year
            cites_max = max(cites_max, float(cites))
            if filed:
                first_filed = min(first_filed, filed_on[row])
                n_filed += 1
                cites_sum += cites
                pledged += last[k, pledge] > last[k, release]
                transferred += counts[k, transfer] > 0
                licensed += counts[k, licence] > 0
                challenged += counts[k, invalidation] + counts[k, litigation] > 0
                ended_sum += ended
                if not granted and not lapsed:
                    pending += static[row, invention_col]
        for c in range(n_static):
            res[c] = sums[c]
        j = n_static
        res[j], res[j + 1], res[j + 2] = n_filed, cites_sum, pledged
        res[j + 3], res[j + 4], res[j + 5] = transferred, licensed, challenged
        res[j + 6], res[j + 7], res[j + 8] = ended_sum, pending, cites_max
        res[j + 9] = family_max
        res[j + 10] = safe_ratio(sums[n_static], sums[0])  # claims per right in force
        res[j + 11] = safe_ratio(life, sums[0])
        res[j + 12] = ((day - first_filed) / days_per_year if first_filed < INT_MAX
                       else np.nan)
        for k in range(rows.size):
            out[rows[k], i] = res[k]


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
