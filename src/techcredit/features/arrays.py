"""Raw tables converted once to sorted numpy arrays: the builders' only input.

:class:`FirmArrays` holds every source a builder reads, each sorted by firm (and a
canonical order inside a firm, so input row order never matters). Build it once,
from frames (:meth:`FirmArrays.from_tables`) or, for one applicant at serving time,
from the validated records; then build features for any ``as_of`` without touching
pandas again.

Examples
--------
>>> from techcredit.schemas import RawTables, records_to_frame
>>> firms = records_to_frame("firms", [{"firm_id": 7, "registered_on": "2019-03-01",
...     "industry_code": "I6513", "region_code": "310000", "employees": 20,
...     "st_staff": 5}])
>>> empty = {n: records_to_frame(n, []) for n in
...     ("tax_grades", "tax_filings", "invoices", "patents", "patent_events", "rnd")}
>>> arrays = FirmArrays.from_tables(RawTables(firms=firms, **empty))
>>> arrays.firms.firm.tolist(), arrays.invoices.key.size
([7], 0)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import get_args

import numpy as np
import pandas as pd

from techcredit.exceptions import InvalidInputError
from techcredit.features._groups import NEVER, month_of, to_days
from techcredit.features._rules import legal_terms
from techcredit.schemas import (
    InvoiceStatus,
    PatentEvent,
    PatentKind,
    RawTables,
    TaxGrade,
    records_to_frame,
)

__all__ = [
    "DAY_BITS",
    "DAY_OFFSET",
    "EVENT_CODES",
    "GRADE_ORDINAL",
    "KIND_CODES",
    "RND_COLUMNS",
    "STATIC_COLUMNS",
    "STATUS_CODES",
    "EventArrays",
    "FilingArrays",
    "FirmArrays",
    "GradeArrays",
    "InvoiceArrays",
    "PatentArrays",
    "ProfileArrays",
    "RndArrays",
    "add_years",
    "term_end_days",
]

logger = logging.getLogger(__name__)

GRADE_ORDINAL: dict[str, int] = {g: i + 1 for i, g in enumerate(get_args(TaxGrade))}
"""Tax-credit grade as a risk ordinal: A=1, B=2, M=3, C=4, D=5 (schema order)."""
STATIC_COLUMNS: tuple[str, ...] = (
    "inforce", *get_args(PatentKind), "class1", "class2", "main_class1", "main_class2",
    "own", "acquired", "family_intl", "claims",
)
"""Columns of :attr:`PatentArrays.static` (each counted over rights in force)."""
RND_COLUMNS: tuple[str, ...] = (
    "revenue", "high_tech_revenue", "rnd", "domestic_rnd", "total_cost", "net_assets",
    "staff", "st_staff", "conversions", "ledger", "institution", "incentive", "talent",
)
"""Columns of :attr:`RndArrays.matrix`."""
DAY_BITS = 22
"""Bits of an invoice key holding the day; firm ids must stay below 2**41."""
DAY_OFFSET = 2**21
"""Added to day numbers (days since 1970) so keys stay positive before 1970."""
KIND_CODES: dict[str, int] = {k: i for i, k in enumerate(get_args(PatentKind))}
EVENT_CODES: dict[str, int] = {e: i for i, e in enumerate(get_args(PatentEvent))}
STATUS_CODES: dict[str, int] = {s: i for i, s in enumerate(get_args(InvoiceStatus))}


def _codes(col: pd.Series, mapping: dict[str, int]) -> np.ndarray:
    """Small integer codes of a categorical (or string) column, without Python objects."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(pd.CategoricalDtype(list(mapping)))
    lookup = np.array([mapping.get(c, -1) for c in col.cat.categories] + [-1], dtype=np.int8)
    out = lookup[col.cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1
    if np.any(out < 0):
        bad = np.flatnonzero(out < 0)[:20]
        raise InvalidInputError([(None, int(i), col.name, f"must be one of {list(mapping)}")
                                 for i in bad])
    return out


def _f(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype=np.float64)


def _i(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype=np.int64)


def _b(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype=bool)


def _take(order: np.ndarray, **cols: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[order] for k, v in cols.items()}


@dataclass(frozen=True, slots=True)
class ProfileArrays:
    """Registry profile (``firms``), one row per firm sorted by firm id."""

    firm: np.ndarray
    registered: np.ndarray
    reg_month: np.ndarray
    high_tech_on: np.ndarray
    tech_sme_on: np.ndarray
    specialized_on: np.ndarray
    legal_rep_on: np.ndarray
    abnormal_on: np.ndarray
    arrears_on: np.ndarray
    qual_on: np.ndarray
    """``(firms, 3)`` grant days of the high-tech, tech-SME and 专精特新 qualifications."""
    qual_end: np.ndarray
    """``(firms, 3)`` first day each qualification is no longer valid."""
    industry: np.ndarray
    """GB/T 4754 industry code per firm (object array of str)."""


@dataclass(frozen=True, slots=True)
class GradeArrays:
    """Tax-credit grades sorted by (firm, year, published, grade)."""

    firm: np.ndarray
    year: np.ndarray
    grade: np.ndarray
    published: np.ndarray


@dataclass(frozen=True, slots=True)
class FilingArrays:
    """Monthly tax declarations sorted by (firm, period, filed, values)."""

    firm: np.ndarray
    month: np.ndarray
    filed: np.ndarray
    sales: np.ndarray
    paid: np.ndarray
    zero: np.ndarray
    vals: np.ndarray
    """``(rows, 4)`` float64: tax paid, declared sales, zero filing (0/1), 1 (present)."""


@dataclass(frozen=True, slots=True)
class InvoiceArrays:
    """Invoices sorted by (firm, issue day, invoice id)."""

    key: np.ndarray
    """``firm_id << DAY_BITS | (day + DAY_OFFSET)``: sorted, so a firm's invoices in a date
    range are one slice found by binary search."""
    buyer: np.ndarray
    """Buyer number within its firm: 0, 1, ... in buyer-id order (int32)."""
    month: np.ndarray
    hour: np.ndarray
    amount: np.ndarray
    status: np.ndarray


@dataclass(frozen=True, slots=True)
class PatentArrays:
    """Patents sorted by (firm, patent id); ``term_end`` from the statutory terms."""

    firm: np.ndarray
    patent_id: np.ndarray
    kind: np.ndarray
    filed: np.ndarray
    granted: np.ndarray
    term_end: np.ndarray
    claims: np.ndarray
    family: np.ndarray
    main: np.ndarray
    own: np.ndarray
    ipc: np.ndarray
    """IPC subclass per right (object array of str, e.g. ``G06F``)."""
    static: np.ndarray
    """``(rows, len(STATIC_COLUMNS))`` float64 indicators (and claims) that do not change
    with ``as_of``; a block multiplies them by "in force" and sums per firm."""


@dataclass(frozen=True, slots=True)
class EventArrays:
    """Patent events sorted by (firm, patent, day, event); ``row`` indexes PatentArrays."""

    firm: np.ndarray
    row: np.ndarray
    day: np.ndarray
    code: np.ndarray


@dataclass(frozen=True, slots=True)
class RndArrays:
    """Yearly financial and R&D reports sorted by (firm, year, reported)."""

    firm: np.ndarray
    year: np.ndarray
    reported: np.ndarray
    revenue: np.ndarray
    high_tech_revenue: np.ndarray
    rnd: np.ndarray
    domestic_rnd: np.ndarray
    total_cost: np.ndarray
    net_assets: np.ndarray
    staff: np.ndarray
    st_staff: np.ndarray
    conversions: np.ndarray
    ledger: np.ndarray
    institution: np.ndarray
    incentive: np.ndarray
    talent: np.ndarray
    total_assets: np.ndarray
    """Total assets (CNY) of the report; read by the rating, not by any feature."""
    matrix: np.ndarray
    """The value columns above as one float64 ``(rows, 13)`` matrix, in :data:`RND_COLUMNS`
    order (booleans as 0/1), so a block gathers every column in one step."""


def term_end_days(filed: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Return the day each right's statutory term ends (filing date + term in years).

    Examples
    --------
    >>> d = np.array([np.datetime64("2010-03-05", "D").astype(np.int64)])
    >>> end = term_end_days(d, np.array([KIND_CODES["utility"]], dtype=np.int8))
    >>> str(end.astype("datetime64[D]")[0])
    '2020-03-05'
    """
    terms = legal_terms().patent_term_years
    years = np.array([terms[k] for k in KIND_CODES], dtype=np.int64)[kind.astype(np.intp)]
    return add_years(filed, years)


def add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Add calendar years to int64 day numbers (29 Feb rolls to 1 Mar); NEVER stays NEVER.

    Examples
    --------
    >>> d = np.datetime64("2020-02-29", "D").astype(np.int64)
    >>> str(add_years(np.array([d]), 1).astype("datetime64[D]")[0])
    '2021-03-01'
    """
    never = days >= NEVER
    dates = np.where(never, 0, days).astype("datetime64[D]")
    start_month = dates.astype("datetime64[M]")
    offset = dates - start_month.astype("datetime64[D]")
    end = ((start_month + np.asarray(years) * 12).astype("datetime64[D]") + offset)
    return np.where(never, NEVER, end.astype(np.int64))


@dataclass(frozen=True, slots=True)
class FirmArrays:
    """Every raw source of a set of firms as sorted numpy arrays.

    Build with :meth:`from_tables`; pass to :func:`techcredit.features.build_matrix`
    or any builder. Holding one firm or 100,000 firms is the same structure.
    """

    firms: ProfileArrays
    grades: GradeArrays
    filings: FilingArrays
    invoices: InvoiceArrays
    patents: PatentArrays
    events: EventArrays
    rnd: RndArrays

    @classmethod
    def from_records(cls, records: Mapping[str, Iterable[Mapping[str, object]]]) -> FirmArrays:
        """Validate raw records (``{"firms": [...], "invoices": [...], ...}``) and convert.

        The serving path: each table's rows go through its pydantic schema
        (:func:`techcredit.schemas.records_to_frame`); a missing table is empty.

        Raises
        ------
        InvalidInputError
            Naming every bad field of every table.

        Examples
        --------
        >>> arrays = FirmArrays.from_records({"firms": [{"firm_id": 1,
        ...     "registered_on": "2020-01-01", "industry_code": "I6513",
        ...     "region_code": "310000", "employees": 3, "st_staff": 1}]})
        >>> arrays.firms.firm.tolist()
        [1]
        """
        names = ("firms", "tax_grades", "tax_filings", "invoices", "patents",
                 "patent_events", "rnd")
        unknown = sorted(set(records) - set(names))
        problems: list[tuple[object, ...]] = [(t, None, None, "unknown table") for t in unknown]
        frames = {}
        for name in names:
            try:
                frames[name] = records_to_frame(name, records.get(name, ()))
            except InvalidInputError as exc:
                problems.extend(exc.problems)
        if problems:
            raise InvalidInputError(problems)
        return cls.from_tables(RawTables(**frames))

    @classmethod
    def from_tables(cls, tables: RawTables) -> FirmArrays:
        """Convert raw frames (schema dtypes, see :mod:`techcredit.schemas`) once."""
        return cls(
            firms=_profile(tables.firms),
            grades=_grades(tables.tax_grades),
            filings=_filings(tables.tax_filings),
            invoices=_invoices(tables.invoices),
            patents=(patents := _patents(tables.patents)),
            events=_events(tables.patent_events, patents),
            rnd=_rnd(tables.rnd),
        )


def _profile(f: pd.DataFrame) -> ProfileArrays:
    firm = _i(f["firm_id"])
    cols = {
        "registered": (registered := to_days(f["registered_on"])),
        "reg_month": month_of(registered),
        "high_tech_on": to_days(f["high_tech_cert_on"]),
        "tech_sme_on": to_days(f["tech_sme_on"]),
        "specialized_on": to_days(f["specialized_on"]),
        "legal_rep_on": to_days(f["legal_rep_changed_on"]),
        "abnormal_on": to_days(f["abnormal_taxpayer_on"]),
        "arrears_on": to_days(f["tax_arrears_on"]),
        "industry": f["industry_code"].to_numpy(dtype=object),
    }
    valid = legal_terms().qualification_valid_years
    quals = ("high_tech", "tech_sme", "specialized")
    cols["qual_on"] = np.column_stack([cols[f"{q}_on"] for q in quals]).reshape(-1, 3)
    cols["qual_end"] = np.column_stack([add_years(cols[f"{q}_on"], valid[q])
                                        for q in quals]).reshape(-1, 3)
    order = np.argsort(firm, kind="stable")
    if np.any(np.diff(firm[order]) == 0):
        logger.warning("firms table has duplicate firm_id; the first row of each is used")
        keep = np.concatenate(([True], np.diff(firm[order]) != 0))
        order = order[keep]
    return ProfileArrays(firm=firm[order], **_take(order, **cols))


def _grades(g: pd.DataFrame) -> GradeArrays:
    firm, year = _i(g["firm_id"]), _i(g["year"])
    grade = _codes(g["grade"], GRADE_ORDINAL)
    published = to_days(g["published_on"])
    order = np.lexsort((grade, published, year, firm))
    return GradeArrays(**_take(order, firm=firm, year=year, grade=grade, published=published))


def _filings(t: pd.DataFrame) -> FilingArrays:
    firm = _i(t["firm_id"])
    month = month_of(to_days(t["period"]))
    filed = to_days(t["filed_on"])
    sales = _f(t["declared_sales_cny"])
    paid = _f(t["vat_paid_cny"]) + _f(t["cit_paid_cny"])
    zero = _b(t["zero_filing"])
    order = np.lexsort((zero, paid, sales, filed, month, firm))
    cols = _take(order, firm=firm, month=month, filed=filed, sales=sales, paid=paid, zero=zero)
    vals = np.column_stack([cols["paid"], cols["sales"], cols["zero"].astype(np.float64),
                            np.ones(order.size)]).reshape(-1, 4)
    return FilingArrays(vals=vals, **cols)


def _invoices(v: pd.DataFrame) -> InvoiceArrays:
    # built step by step, freeing temporaries early: this table can hold tens of millions
    seconds = v["issued_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    firm = _i(v["firm_id"])
    if firm.size and (firm.min() < 0 or firm.max() >= 2 ** (63 - DAY_BITS)):
        raise InvalidInputError([("invoices", None, "firm_id",
                                  f"must be in [0, 2**{63 - DAY_BITS})")])
    key = (firm << DAY_BITS) + (np.floor_divide(seconds, 86400) + DAY_OFFSET)
    del firm
    order = np.lexsort((_i(v["invoice_id"]), key))
    key = key[order]
    seconds = seconds[order]
    hour = (np.remainder(seconds, 86400) // 3600).astype(np.int8)
    month = month_of(np.floor_divide(seconds, 86400)).astype(np.int32)
    del seconds
    return InvoiceArrays(
        key=key, buyer=_local_codes(key, _i(v["buyer_id"])[order]), month=month, hour=hour,
        amount=_f(v["amount_cny"])[order], status=_codes(v["status"], STATUS_CODES)[order])


def _local_codes(key: np.ndarray, buyer: np.ndarray, rows: int = 1 << 21) -> np.ndarray:
    """Number the buyers of each firm 0, 1, ... in buyer-id order (int32).

    ``key`` is the sorted invoice key (firm in its high bits); firms are processed in
    slices of about ``rows`` invoices to bound memory.
    """
    firm_start = np.flatnonzero(np.diff(key >> DAY_BITS, prepend=-1)) if key.size else key
    cuts = firm_start[np.searchsorted(firm_start, np.arange(0, key.size, rows))]
    bounds = np.unique(np.append(cuts, key.size))
    local = np.empty(key.size, dtype=np.int32)
    for lo, hi in itertools.pairwise(bounds):
        f, b = key[lo:hi] >> DAY_BITS, buyer[lo:hi]
        by_buyer = np.lexsort((b, f))
        f, b = f[by_buyer], b[by_buyer]
        new_firm = np.ones(f.size, dtype=bool)
        new_firm[1:] = f[1:] != f[:-1]
        new_buyer = new_firm.copy()
        new_buyer[1:] |= b[1:] != b[:-1]
        run = np.cumsum(new_buyer) - 1
        local[lo + by_buyer] = run - run[new_firm][np.cumsum(new_firm) - 1]
    return local


def _patents(p: pd.DataFrame) -> PatentArrays:
    firm, pid = _i(p["firm_id"]), _i(p["patent_id"])
    order = np.lexsort((pid, firm))
    kind = _codes(p["kind"], KIND_CODES)[order]
    filed = to_days(p["filed_on"])[order]
    main = _b(p["main_business"])[order]
    own = (_codes(p["acquisition"], {"transferred": 0, "own": 1}) == 1)[order]
    family = _f(p["family_countries"])[order]
    claims = _f(p["claims"])[order]
    ipc = p["ipc_class"].to_numpy(dtype=object)[order]
    ip_class = legal_terms().ip_class
    cls = np.array([ip_class[k] for k in KIND_CODES], dtype=np.int8)[kind]
    kinds = kind[:, None] == np.arange(len(KIND_CODES))
    classes = cls[:, None] == np.array([1, 2])
    static = np.concatenate([
        np.ones((kind.size, 1)), kinds, classes, classes & main[:, None],
        np.array([own, ~own, family > 1]).T.reshape(-1, 3), claims[:, None],
    ], axis=1).astype(np.float64)
    return PatentArrays(
        firm=firm[order], patent_id=pid[order], kind=kind, filed=filed,
        granted=to_days(p["granted_on"])[order], term_end=term_end_days(filed, kind),
        claims=claims, family=family, main=main, own=own, ipc=ipc, static=static)


def _events(e: pd.DataFrame, patents: PatentArrays) -> EventArrays:
    firm, pid = _i(e["firm_id"]), _i(e["patent_id"])
    day = to_days(e["event_on"])
    code = _codes(e["event"], EVENT_CODES)
    amount = e["amount_cny"].to_numpy(dtype=np.float64, na_value=np.nan)
    row = np.full(pid.size, -1, dtype=np.int64)
    known = np.zeros(pid.size, dtype=bool)
    if patents.patent_id.size:
        by_id = np.argsort(patents.patent_id, kind="stable")
        pos = np.searchsorted(patents.patent_id, pid, sorter=by_id)
        row = by_id[np.minimum(pos, by_id.size - 1)]
        known = (patents.patent_id[row] == pid) & (patents.firm[row] == firm)
    if not np.all(known):
        logger.warning("%d patent events name no patent of their firm; ignored",
                       int(np.sum(~known)))
    order = np.lexsort((np.nan_to_num(amount, nan=-1.0), code, day, pid, firm))
    order = order[known[order]]
    return EventArrays(firm=firm[order], row=row[order], day=day[order], code=code[order])


def _rnd(r: pd.DataFrame) -> RndArrays:
    firm, year, reported = _i(r["firm_id"]), _i(r["year"]), to_days(r["reported_on"])
    cols = {
        "revenue": _f(r["revenue_cny"]), "high_tech_revenue": _f(r["high_tech_revenue_cny"]),
        "rnd": _f(r["rnd_expense_cny"]), "domestic_rnd": _f(r["domestic_rnd_expense_cny"]),
        "total_cost": _f(r["total_cost_cny"]), "net_assets": _f(r["net_assets_cny"]),
        "staff": _f(r["staff"]), "st_staff": _f(r["st_staff"]),
        "conversions": _f(r["conversions"]), "ledger": _b(r["has_rnd_ledger"]),
        "institution": _b(r["has_rnd_institution"]),
        "incentive": _b(r["has_conversion_incentive"]),
        "talent": _b(r["has_talent_programme"]),
    }
    keys = [v for k, v in cols.items()][::-1]  # every column, so row order never matters
    order = np.lexsort((*keys, reported, year, firm))
    taken = _take(order, **cols)
    matrix = np.column_stack([taken[c].astype(np.float64) for c in RND_COLUMNS]) if order.size \
        else np.zeros((0, len(RND_COLUMNS)))
    return RndArrays(firm=firm[order], year=year[order], reported=reported[order],
                     total_assets=_f(r["total_assets_cny"])[order], matrix=matrix, **taken)

