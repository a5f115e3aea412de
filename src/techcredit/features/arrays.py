"""Raw tables converted once to sorted numpy arrays: the builders' only input.

:class:`FirmArrays` holds every source a builder reads, each sorted by firm (and a
canonical order inside a firm, so input row order never matters). Build it once,
from frames (:meth:`FirmArrays.from_tables`), from validated numpy columns without
pandas (:meth:`FirmArrays.from_columns`, the serving path) or from raw records
(:meth:`FirmArrays.from_records`); all three run the same converters. Then build
features for any ``as_of`` without touching pandas again.

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

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, get_args

import numpy as np
import pandas as pd

from techcredit.exceptions import InvalidInputError
from techcredit.features._groups import NEVER
from techcredit.features._jit import kernel, kernel_array, month_of_day, month_start_day
from techcredit.features._rules import legal_terms
from techcredit.schemas import (
    InvoiceStatus,
    PatentEvent,
    PatentKind,
    RawTables,
    TaxGrade,
    columns,
    records_to_frame,
)

__all__ = [
    "DAY_BITS",
    "DAY_OFFSET",
    "EVENT_CODES",
    "GRADE_ORDINAL",
    "KIND_CODES",
    "READ",
    "RND_COLUMNS",
    "STATIC_COLUMNS",
    "STATUS_CODES",
    "TABLE_NAMES",
    "Coded",
    "EventArrays",
    "FilingArrays",
    "FirmArrays",
    "GradeArrays",
    "InvoiceArrays",
    "PatentArrays",
    "ProfileArrays",
    "RndArrays",
    "add_years",
    "column_dtype",
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


TABLE_NAMES: tuple[str, ...] = ("firms", "tax_grades", "tax_filings", "invoices", "patents",
                                "patent_events", "rnd")
"""The raw tables :class:`FirmArrays` holds (schema names, :mod:`techcredit.schemas`)."""

READ: dict[str, tuple[str, ...]] = {
    "firms": ("firm_id", "registered_on", "industry_code", "high_tech_cert_on", "tech_sme_on",
              "specialized_on", "legal_rep_changed_on", "abnormal_taxpayer_on",
              "tax_arrears_on"),
    "tax_grades": ("firm_id", "year", "grade", "published_on"),
    "tax_filings": ("firm_id", "period", "filed_on", "declared_sales_cny", "vat_paid_cny",
                    "cit_paid_cny", "zero_filing"),
    "invoices": ("invoice_id", "firm_id", "issued_at", "buyer_id", "amount_cny", "status"),
    "patents": ("patent_id", "firm_id", "kind", "filed_on", "granted_on", "claims",
                "ipc_class", "family_countries", "main_business", "acquisition"),
    "patent_events": ("patent_id", "firm_id", "event_on", "event", "amount_cny"),
    "rnd": ("firm_id", "year", "reported_on", "revenue_cny", "high_tech_revenue_cny",
            "rnd_expense_cny", "domestic_rnd_expense_cny", "total_cost_cny", "net_assets_cny",
            "total_assets_cny", "staff", "st_staff", "conversions", "has_rnd_ledger",
            "has_rnd_institution", "has_conversion_incentive", "has_talent_programme"),
}
"""Columns each table must provide to :meth:`FirmArrays.from_columns` (others are ignored)."""

Columns = Mapping[str, Any]
"""One table as ``{column name: numpy array}`` (see :meth:`FirmArrays.from_columns`)."""


class Coded(NamedTuple):
    """A choice column as integer codes into ``labels`` (code -1 = missing).

    Accepted by :meth:`FirmArrays.from_columns` in place of an object array of str; it
    is what a pandas categorical already holds, so millions of rows convert without
    creating a Python object per row.

    Examples
    --------
    >>> col = Coded(np.array([1, 0, 1], dtype=np.int8), ("voided", "normal"))
    >>> _codes(col, STATUS_CODES, "invoices", "status").tolist()
    [0, 1, 0]
    """

    codes: np.ndarray
    labels: tuple[str, ...]


def column_dtype(table: str, name: str) -> np.dtype:
    """Return the numpy dtype :meth:`FirmArrays.from_columns` expects for a column.

    Examples
    --------
    >>> str(column_dtype("invoices", "issued_at")), str(column_dtype("patents", "kind"))
    ('datetime64[s]', 'object')
    >>> str(column_dtype("invoices", "original_invoice_id"))  # nullable int
    'float64'
    """
    col = next((c for c in columns(table) if c.name == name), None)
    if col is None:
        raise InvalidInputError([(table, None, name, "not a column of this table")])
    if col.kind == "int":
        return np.dtype(np.float64 if col.nullable else np.int64)
    return np.dtype(_KIND_DTYPES[col.kind])


_KIND_DTYPES = {"float": "float64", "bool": "bool", "date": "datetime64[D]",
                "datetime": "datetime64[s]", "choice": "object", "str": "object"}


def _frame_columns(table: str, frame: pd.DataFrame) -> dict[str, Any]:
    """The columns :data:`READ` of a schema-typed frame in the ``from_columns`` formats.

    Choice columns held as pandas categoricals become :class:`Coded` (no Python object
    per row); everything else follows :func:`column_dtype`.
    """
    out: dict[str, Any] = {}
    for name in READ[table]:
        s = frame[name]
        dtype = column_dtype(table, name)
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[name] = Coded(s.cat.codes.to_numpy(), tuple(s.cat.categories))
        elif dtype.kind == "M":
            values = s.to_numpy() if s.dtype.kind == "M" else pd.to_datetime(s).to_numpy()
            out[name] = values.astype(dtype)
        elif dtype.kind == "f":
            out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = s.to_numpy(dtype=dtype)
    return out


def _checked_columns(tables: Mapping[str, Columns | None]) -> dict[str, Columns]:
    """Each table's columns, empty ones for a missing table; structural problems raise."""
    problems: list[tuple[object, ...]] = [
        (t, None, None, f"unknown table; expected some of {list(TABLE_NAMES)}")
        for t in tables if t not in TABLE_NAMES]
    out: dict[str, Columns] = {}
    for table in TABLE_NAMES:
        given = tables.get(table)
        if given is None:
            out[table] = {n: np.empty(0, dtype=column_dtype(table, n)) for n in READ[table]}
            continue
        try:  # the usual case, complete and of one length: one pass
            if len({len(given[n]) for n in READ[table]}) == 1:
                out[table] = given
                continue
        except KeyError:
            pass  # a column is missing: name every one below
        missing = [n for n in READ[table] if n not in given]
        problems += [(table, None, n, "missing column") for n in missing]
        sizes = {n: len(given[n]) for n in READ[table] if n not in missing}
        if len(set(sizes.values())) > 1:
            first = next(iter(sizes.values()))
            problems += [(table, None, n, f"has {k} rows, {READ[table][0]} has {first}")
                         for n, k in sizes.items() if k != first]
        out[table] = given
    if problems:
        raise InvalidInputError(problems)
    return out


def _codes(values: Coded | np.ndarray, mapping: dict[str, int], table: str,
           field: str) -> np.ndarray:
    """Small integer codes (int8) of a choice column; anything not in ``mapping`` raises."""
    if isinstance(values, Coded):
        lookup = np.array([mapping.get(c, -1) for c in values.labels] + [-1], dtype=np.int8)
        out = lookup[values.codes]  # code -1 (missing) picks the trailing -1
    else:
        items = values.tolist() if isinstance(values, np.ndarray) else list(values)
        try:  # every value a choice (so every code valid): one C-level pass
            return np.fromiter(map(mapping.__getitem__, items), dtype=np.int8,
                               count=len(items))
        except (KeyError, TypeError):  # some are not: find them all
            out = np.array([mapping.get(v, -1) for v in items], dtype=np.int8)
    if out.size and out.min() < 0:
        bad = np.flatnonzero(out < 0)[:20]
        raise InvalidInputError([(table, int(i), field, f"must be one of {list(mapping)}")
                                 for i in bad])
    return out


_DAY = np.dtype("datetime64[D]")
_NAT = np.iinfo(np.int64).min
"""NaT's int64 view."""


def _raw_days(values: np.ndarray) -> np.ndarray:
    """The int64 pattern of a date column (NaT as its own pattern), for a kernel that
    reads each value through :func:`_day`: no copy of a writable ``datetime64[D]``.

    Examples
    --------
    >>> raw = _raw_days(np.array(["1970-01-02", "NaT"], dtype="datetime64[D]"))
    >>> [_day(v) for v in raw] == [1, NEVER]
    True
    """
    arr = values if isinstance(values, np.ndarray) and values.dtype == _DAY \
        else np.asarray(values).astype(_DAY)
    return kernel_array(arr.view(np.int64), np.int64)


@kernel
def _day(raw: int) -> int:
    """A day number read from :func:`_raw_days`: NaT -> :data:`NEVER`."""
    return NEVER if raw == _NAT else raw


@lru_cache(maxsize=1)
def _term_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From ``legal_terms.yaml`` (cached): the IP class and statutory term (years) of each
    of :data:`KIND_CODES`, and the years each qualification of ``_QUALIFICATIONS`` is
    valid."""
    terms = legal_terms()
    return (np.array([terms.ip_class[k] for k in KIND_CODES], dtype=np.int64),
            np.array([terms.patent_term_years[k] for k in KIND_CODES], dtype=np.int64),
            np.array([terms.qualification_valid_years[q] for q in _QUALIFICATIONS],
                     dtype=np.int64))


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
    """Buyer number within its firm: 0, 1, ... in order of first appearance (int32)."""
    amount: np.ndarray
    code: np.ndarray
    """``status * 24 + hour of issue`` (int8, status as in :data:`STATUS_CODES`): a
    block maps it to every per-invoice indicator with one table lookup."""


@dataclass(frozen=True, slots=True)
class PatentArrays:
    """Patents sorted by (firm, patent id); ``term_end`` from the statutory terms."""

    firm: np.ndarray
    patent_id: np.ndarray
    kind: np.ndarray
    filed: np.ndarray
    filed_year: np.ndarray
    """Calendar year of filing (int64, as ``datetime64[Y]`` floors the day)."""
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
    return add_years(filed, _term_arrays()[1][kind.astype(np.intp)])


def add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Add calendar years to int64 day numbers (29 Feb rolls to 1 Mar); NEVER stays NEVER.

    Examples
    --------
    >>> d = np.datetime64("2020-02-29", "D").astype(np.int64)
    >>> str(add_years(np.array([d]), 1).astype("datetime64[D]")[0])
    '2021-03-01'
    """
    days = kernel_array(days, np.int64)
    years = kernel_array(years, np.int64)
    if years.shape != days.shape[max(days.ndim - years.ndim, 0):] or years.ndim > days.ndim:
        days, years = (kernel_array(a) for a in np.broadcast_arrays(days, years))
    out = np.empty(days.shape, dtype=np.int64)
    _add_years(days.reshape(-1), years.reshape(-1), out.reshape(-1))
    return out


@kernel
def _add_years(days: np.ndarray, years: np.ndarray, out: np.ndarray) -> None:
    """``out[i]``: ``days[i]`` plus ``years[i % years.size]`` calendar years."""
    for i in range(days.size):  # ``years`` repeats along the trailing axes (broadcasting)
        out[i] = add_calendar_years(days[i], years[i % years.size])


@kernel
def add_calendar_years(day: int, years: int) -> int:
    """``day`` plus ``years`` calendar years (29 February rolls to 1 March); NEVER stays.

    The day's offset from the first of its month is added to the first of the month
    ``12 * years`` later, as numpy's month arithmetic does.
    """
    if day >= NEVER:
        return NEVER
    month = month_of_day(day)
    return month_start_day(month + 12 * years) + day - month_start_day(month)


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
        unknown = sorted(set(records) - set(TABLE_NAMES))
        problems: list[tuple[object, ...]] = [(t, None, None, "unknown table") for t in unknown]
        frames = {}
        for name in TABLE_NAMES:
            try:
                frames[name] = records_to_frame(name, records.get(name, ()))
            except InvalidInputError as exc:
                problems.extend(exc.problems)
        if problems:
            raise InvalidInputError(problems)
        return cls.from_tables(RawTables(**frames))

    @classmethod
    def from_tables(cls, tables: RawTables) -> FirmArrays:
        """Convert raw frames (schema dtypes, see :mod:`techcredit.schemas`) once.

        Extracts the columns of :data:`READ` from each frame and converts them with
        :meth:`from_columns`, so both give identical arrays.
        """
        return cls._convert({name: _frame_columns(name, getattr(tables, name))
                             for name in TABLE_NAMES})

    @classmethod
    def from_columns(cls, tables: Mapping[str, Columns | None]) -> FirmArrays:
        """Convert already validated raw tables held as numpy columns, without pandas.

        Parameters
        ----------
        tables : mapping ``{table: {column: numpy array}}``
            Tables of :data:`TABLE_NAMES`; a missing (or ``None``) table is empty. Each
            table needs the columns of :data:`READ` (schema names, equal lengths);
            other schema columns are ignored. Formats (:func:`column_dtype`):

            ==========================  ==============================================
            schema kind                 array
            ==========================  ==============================================
            int                         ``int64``
            nullable int                ``float64``, NaN when missing
            float (nullable or not)     ``float64``, NaN when missing
            bool                        ``bool``
            date                        ``datetime64[D]``, NaT when missing
            datetime (``issued_at``)    ``datetime64[s]``
            choice, str                 object array of ``str`` (a choice column may
                                        also be a :class:`Coded`)
            ==========================  ==============================================

            Values are not validated again (validate with :mod:`techcredit.schemas`
            first); row order does not matter.

        Raises
        ------
        InvalidInputError
            For an unknown table, a missing column, columns of unequal length or a
            choice value outside the schema's choices.

        Examples
        --------
        >>> firms = {"firm_id": np.array([7]),
        ...     "registered_on": np.array(["2019-03-01"], dtype="datetime64[D]"),
        ...     "industry_code": np.array(["I6513"], dtype=object)}
        >>> firms |= {c: np.array(["NaT"], dtype="datetime64[D]") for c in READ["firms"]
        ...           if c not in firms}
        >>> grades = {"firm_id": np.array([7, 7]), "year": np.array([2022, 2023]),
        ...     "grade": np.array(["B", "A"], dtype=object),
        ...     "published_on": np.array(["2023-04-01", "2024-04-01"], dtype="datetime64[D]")}
        >>> arrays = FirmArrays.from_columns({"firms": firms, "tax_grades": grades})
        >>> arrays.grades.grade.tolist(), arrays.invoices.key.size
        ([2, 1], 0)
        >>> FirmArrays.from_columns({"tax_grades": {"firm_id": np.array([7])}})
        Traceback (most recent call last):
        ...
        techcredit.exceptions.InvalidInputError: 3 invalid field(s):
          tax_grades.year: missing column
          tax_grades.grade: missing column
          tax_grades.published_on: missing column
        """
        return cls._convert(_checked_columns(tables))

    @classmethod
    def _convert(cls, c: Mapping[str, Columns]) -> FirmArrays:
        """The one set of converters, on columns in the :meth:`from_columns` formats."""
        patents = _patents(c["patents"])
        return cls(
            firms=_profile(c["firms"]),
            grades=_grades(c["tax_grades"]),
            filings=_filings(c["tax_filings"]),
            invoices=_invoices(c["invoices"]),
            patents=patents,
            events=_events(c["patent_events"], patents),
            rnd=_rnd(c["rnd"]),
        )


_PROFILE_DATES = tuple(c.name for c in columns("firms") if c.kind == "date")
_QUALIFICATIONS = {"high_tech": "high_tech_cert_on", "tech_sme": "tech_sme_on",
                   "specialized": "specialized_on"}
_QUALIFICATION_ROWS = np.array([_PROFILE_DATES.index(c) for c in _QUALIFICATIONS.values()],
                               dtype=np.int64)
_REGISTERED_ROW = _PROFILE_DATES.index("registered_on")


def _profile(f: Columns) -> ProfileArrays:
    firm = kernel_array(f["firm_id"], np.int64)
    rising = _monotone(firm) > 0  # strictly rising ids (one firm, say): unique, in order
    order = np.arange(firm.size) if rising else np.argsort(firm, kind="stable")
    if not rising and _repeats(firm, order):
        sorted_firm = firm[order]
        logger.warning("firms table has duplicate firm_id; the first row of each is used")
        order = order[np.concatenate(([True], sorted_firm[1:] != sorted_firm[:-1]))]
    # every date column in one (column, firm) array: one conversion and one kernel for seven
    raw = np.array([f[c] for c in _PROFILE_DATES], dtype=_DAY).reshape(
        len(_PROFILE_DATES), firm.size).view(np.int64)
    m = order.size
    days = np.empty((len(_PROFILE_DATES), m), dtype=np.int64)  # C order: rows contiguous
    qual_on, qual_end = np.empty((m, 3), dtype=np.int64), np.empty((m, 3), dtype=np.int64)
    reg_month = np.empty(m, dtype=np.int64)
    _profile_rows(order, kernel_array(raw, np.int64), _QUALIFICATION_ROWS, _REGISTERED_ROW,
                  _term_arrays()[2], days, qual_on, qual_end, reg_month)
    day = dict(zip(_PROFILE_DATES, days, strict=True))
    return ProfileArrays(
        firm=firm[order], registered=day["registered_on"], reg_month=reg_month,
        high_tech_on=day["high_tech_cert_on"], tech_sme_on=day["tech_sme_on"],
        specialized_on=day["specialized_on"], legal_rep_on=day["legal_rep_changed_on"],
        abnormal_on=day["abnormal_taxpayer_on"], arrears_on=day["tax_arrears_on"],
        industry=np.asarray(f["industry_code"], dtype=object)[order], qual_on=qual_on,
        qual_end=qual_end)


@kernel
def _profile_rows(order: np.ndarray, raw: np.ndarray, qual_rows: np.ndarray,
                  registered_row: int, valid_years: np.ndarray, days: np.ndarray,
                  qual_on: np.ndarray, qual_end: np.ndarray, reg_month: np.ndarray) -> None:
    """Firms in ``order``: each date (row of ``raw``, NaT -> NEVER), the qualifications'
    grant days (``qual_rows``) and their ends ``valid_years`` later, the registration
    month (``registered_row``)."""
    for i in range(order.size):
        r = order[i]
        for c in range(raw.shape[0]):
            days[c, i] = _day(raw[c, r])
        for q in range(qual_rows.size):
            qual_on[i, q] = days[qual_rows[q], i]
            qual_end[i, q] = add_calendar_years(qual_on[i, q], valid_years[q])
        reg_month[i] = month_of_day(days[registered_row, i])


def _grades(g: Columns) -> GradeArrays:
    firm, year = kernel_array(g["firm_id"], np.int64), kernel_array(g["year"], np.int64)
    grade = _codes(g["grade"], GRADE_ORDINAL, "tax_grades", "grade")
    published, combined = np.empty(firm.size, dtype=np.int64), np.empty(firm.size, dtype=np.int64)
    paired = _day_and_pair_keys(firm, year, _raw_days(g["published_on"]), published, combined)
    order = _pair_order(combined, paired, (grade, published, year, firm))
    return GradeArrays(**_take(order, firm=firm, year=year, grade=grade, published=published))


def _pair_order(combined: np.ndarray, paired: bool,
                keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """``np.lexsort(keys)``, without a sort or with one when each (firm, period) pair is unique.

    ``keys`` ends with the period (a month or a year) and the firm id; ``combined`` holds
    each row's :func:`_pair_key` of the two, ``paired`` whether every row has one. The
    usual table has one row per firm and period, often in (or against) time order: the
    order is then the rows' own (or reversed) when ``combined`` strictly rises (or falls),
    else a stable sort of ``combined``; the other keys are only sorted when two rows
    share a pair.

    Examples
    --------
    >>> firm, month = np.array([2, 1, 1, 2]), np.array([5, 7, 5, 5])
    >>> combined = np.array([_pair_key(f, s) for f, s in zip(firm, month)])
    >>> keys = (np.array([0.0, 1.0, 2.0, 3.0]), month, firm)
    >>> _pair_order(combined, True, keys).tolist(), np.lexsort(keys).tolist()
    ([2, 1, 0, 3], [2, 1, 0, 3])
    """
    if paired:
        direction = _monotone(combined)
        if direction:  # strictly monotone: the pairs are unique, the order is the run's
            m = combined.size
            return np.arange(m) if direction > 0 else np.arange(m - 1, -1, -1)
        order = np.argsort(combined, kind="stable")
        if not _repeats(combined, order):
            return order
    return np.lexsort(keys)


@kernel
def _monotone(values: np.ndarray) -> int:
    """1 when ``values`` strictly rise (as fewer than two values do), -1 when they strictly
    fall, else 0: records usually arrive in time order, or in reverse."""
    rising, falling = True, values.size > 1
    for i in range(1, values.size):
        rising = rising and values[i] > values[i - 1]
        falling = falling and values[i] < values[i - 1]
    return 1 if rising else (-1 if falling else 0)


@kernel
def _in_order(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the rows are already in ``np.lexsort((second, first))`` order (pairs
    non-decreasing: a stable sort would leave them where they are)."""
    for i in range(1, first.size):
        if first[i] < first[i - 1] or (first[i] == first[i - 1] and second[i] < second[i - 1]):
            return False
    return True


@kernel
def _pair_key(firm: int, second: int) -> int:
    """``firm << 24 | (second + 2**23)`` (non-negative, ordered as the pair) when the firm is
    in ``[0, 2**38)`` and ``second`` in ``[-2**23, 2**23)``; else -1."""
    if firm < 0 or firm >= 2**38 or second < -(2**23) or second >= 2**23:
        return -1
    return (firm << 24) | (second + 2**23)


@kernel
def _repeats(values: np.ndarray, order: np.ndarray) -> bool:
    """Whether two neighbours of ``values[order]`` (sorted) are equal."""
    found = False
    i = 1
    while i < order.size and not found:
        found = values[order[i]] == values[order[i - 1]]
        i += 1
    return found


@kernel
def _day_and_pair_keys(firm: np.ndarray, second: np.ndarray, raw: np.ndarray, day: np.ndarray,
                       combined: np.ndarray) -> bool:
    """Each row's day (``raw`` as :func:`_raw_days` gives it) and (firm, ``second``)
    :func:`_pair_key`; whether every row has one."""
    paired = True
    for i in range(firm.size):
        day[i] = _day(raw[i])
        combined[i] = _pair_key(firm[i], second[i])
        paired = paired and combined[i] >= 0
    return paired


def _filings(t: Columns) -> FilingArrays:
    firm = kernel_array(t["firm_id"], np.int64)
    sales, zero = kernel_array(t["declared_sales_cny"]), kernel_array(t["zero_filing"], bool)
    m = firm.size
    month, filed, paid = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m)
    combined = np.empty(m, dtype=np.int64)
    paired = _filing_keys(firm, _raw_days(t["period"]), _raw_days(t["filed_on"]),
                          kernel_array(t["vat_paid_cny"]), kernel_array(t["cit_paid_cny"]),
                          month, filed, paid, combined)
    order = _pair_order(combined, paired, (zero, paid, sales, filed, month, firm))
    out = FilingArrays(firm=np.empty(m, dtype=np.int64), month=np.empty(m, dtype=np.int64),
                       filed=np.empty(m, dtype=np.int64), sales=np.empty(m),
                       paid=np.empty(m), zero=np.empty(m, dtype=bool), vals=np.empty((m, 4)))
    _filing_rows(order, firm, month, filed, sales, paid, zero, out.firm, out.month, out.filed,
                 out.sales, out.paid, out.zero, out.vals)
    return out


@kernel
def _filing_keys(firm: np.ndarray, period: np.ndarray, filed_raw: np.ndarray,
                 vat: np.ndarray, cit: np.ndarray, month: np.ndarray, filed: np.ndarray,
                 paid: np.ndarray, combined: np.ndarray) -> bool:
    """Each filing's month, filing day and tax paid (VAT + CIT), and its (firm, month)
    :func:`_pair_key`; whether every row has one. Dates as :func:`_raw_days` gives them."""
    paired = True
    for i in range(firm.size):
        month[i] = month_of_day(_day(period[i]))
        filed[i] = _day(filed_raw[i])
        paid[i] = vat[i] + cit[i]
        combined[i] = _pair_key(firm[i], month[i])
        paired = paired and combined[i] >= 0
    return paired


@kernel
def _filing_rows(order: np.ndarray, firm: np.ndarray, month: np.ndarray, filed: np.ndarray,
                 sales: np.ndarray, paid: np.ndarray, zero: np.ndarray, out_firm: np.ndarray,
                 out_month: np.ndarray, out_filed: np.ndarray, out_sales: np.ndarray,
                 out_paid: np.ndarray, out_zero: np.ndarray, vals: np.ndarray) -> None:
    """Filings in ``order``, and :attr:`FilingArrays.vals` (paid, sales, zero, 1)."""
    for i in range(order.size):
        r = order[i]
        out_firm[i], out_month[i], out_filed[i] = firm[r], month[r], filed[r]
        out_sales[i], out_paid[i], out_zero[i] = sales[r], paid[r], zero[r]
        vals[i, 0], vals[i, 1], vals[i, 2], vals[i, 3] = paid[r], sales[r], zero[r], 1.0


def _invoices(v: Columns) -> InvoiceArrays:
    # built step by step, freeing temporaries early: this table can hold tens of millions
    seconds = np.asarray(v["issued_at"]).astype("datetime64[s]", copy=False).view(np.int64)
    firm = kernel_array(v["firm_id"], np.int64)
    key, hour = np.empty(firm.size, dtype=np.int64), np.empty(firm.size, dtype=np.int8)
    if _invoice_keys(firm, kernel_array(seconds, np.int64), key, hour) >= 0:
        raise InvalidInputError([("invoices", None, "firm_id",
                                  f"must be in [0, 2**{63 - DAY_BITS})")])
    del firm, seconds
    invoice_id = kernel_array(v["invoice_id"], np.int64)
    order = np.arange(key.size) if _in_order(key, invoice_id) else np.lexsort((invoice_id, key))
    status = _codes(v["status"], STATUS_CODES, "invoices", "status")
    m = key.size
    out = InvoiceArrays(key=np.empty(m, dtype=np.int64), buyer=np.empty(m, dtype=np.int32),
                        amount=np.empty(m), code=np.empty(m, dtype=np.int8))
    _invoice_rows(order, key, hour, status, kernel_array(v["amount_cny"]),
                  kernel_array(v["buyer_id"], np.int64), out.key, out.buyer, out.amount,
                  out.code)
    return out


@kernel
def _invoice_rows(order: np.ndarray, key: np.ndarray, hour: np.ndarray, status: np.ndarray,
                  amount: np.ndarray, buyer: np.ndarray, out_key: np.ndarray,
                  out_buyer: np.ndarray, out_amount: np.ndarray, out_code: np.ndarray) -> None:
    """Invoices in ``order``: key, amount, :attr:`InvoiceArrays.code` and the buyers of
    each firm numbered 0, 1, ... in order of first appearance.

    The numbering is a compiled hash pass over each firm's rows (38M invoices of 100,000
    firms: about 1 s; one firm's 300: 3 us); buyer features only group by these codes.
    """
    sorted_buyer = np.empty(order.size, dtype=np.int64)
    for i in range(order.size):
        r = order[i]
        out_key[i], out_amount[i], sorted_buyer[i] = key[r], amount[r], buyer[r]
        out_code[i] = hour[r] + status[r] * 24
    _first_appearance(_firm_edges(out_key), sorted_buyer, out_buyer)


@kernel
def _invoice_keys(firm: np.ndarray, seconds: np.ndarray, key: np.ndarray,
                  hour: np.ndarray) -> int:
    """Each invoice's :attr:`InvoiceArrays.key` and hour of issue; the first row whose
    firm id is outside ``[0, 2**(63 - DAY_BITS))`` (nothing written after it), else -1."""
    limit = 1 << (63 - DAY_BITS)
    for i in range(firm.size):
        f, t = firm[i], seconds[i]
        if f < 0 or f >= limit:
            return i
        key[i] = (f << DAY_BITS) + (t // 86400 + DAY_OFFSET)  # floor division, as numpy's
        hour[i] = t % 86400 // 3600
    return -1


@kernel
def _firm_edges(key: np.ndarray) -> np.ndarray:
    """``[0, starts of each later firm's run..., key.size]`` of sorted invoice keys."""
    edges = np.empty(key.size + 1, dtype=np.int64)
    edges[0], k = 0, 1
    for i in range(1, key.size):
        if key[i] >> DAY_BITS != key[i - 1] >> DAY_BITS:
            edges[k] = i
            k += 1
    if key.size:
        edges[k] = key.size
        k += 1
    return edges[:k]


@kernel
def _first_appearance(edges: np.ndarray, buyer: np.ndarray, out: np.ndarray) -> None:
    """Number the values of each slice ``buyer[edges[k]:edges[k + 1]]`` by first appearance.

    One open-addressing hash table (Fibonacci hashing, linear probing) is reused for
    every slice; only the slots a slice filled are cleared after it.
    """
    longest = 1
    for k in range(edges.size - 1):
        longest = max(longest, edges[k + 1] - edges[k])
    bits = 1
    while (1 << bits) < 2 * longest:
        bits += 1
    keys = np.empty(1 << bits, dtype=np.int64)
    codes = np.full(1 << bits, -1, dtype=np.int32)
    used = np.empty(longest, dtype=np.int64)
    golden = np.uint64(0x9E3779B97F4A7C15)
    for k in range(edges.size - 1):
        lo, hi = edges[k], edges[k + 1]
        size = 2
        while size < 2 * (hi - lo):
            size *= 2
        shift = np.uint64(64 - int(np.log2(size)))
        mask = size - 1
        given = 0
        for r in range(lo, hi):
            b = buyer[r]
            slot = np.int64((np.uint64(b) * golden) >> shift)
            while codes[slot] != -1 and keys[slot] != b:
                slot = (slot + 1) & mask
            if codes[slot] == -1:
                keys[slot] = b
                codes[slot] = given
                used[given] = slot
                given += 1
            out[r] = codes[slot]
        for j in range(given):
            codes[used[j]] = -1


def _patents(p: Columns) -> PatentArrays:
    firm, pid = kernel_array(p["firm_id"], np.int64), kernel_array(p["patent_id"], np.int64)
    order = np.arange(firm.size) if _in_order(firm, pid) else np.lexsort((pid, firm))
    kind = _codes(p["kind"], KIND_CODES, "patents", "kind")
    own = _codes(p["acquisition"], {"transferred": 0, "own": 1}, "patents", "acquisition")
    kind_class, kind_term_years, _ = _term_arrays()
    m = order.size
    firm_out, pid_out, filed, filed_year, granted, term_end = np.empty((6, m), dtype=np.int64)
    (claims, family), (main, is_own) = np.empty((2, m)), np.empty((2, m), dtype=bool)
    out = PatentArrays(
        firm=firm_out, patent_id=pid_out, kind=np.empty(m, dtype=np.int8), filed=filed,
        filed_year=filed_year, granted=granted, term_end=term_end, claims=claims,
        family=family, main=main, own=is_own,
        ipc=np.asarray(p["ipc_class"], dtype=object)[order],
        static=np.empty((m, len(STATIC_COLUMNS))))
    _patent_rows(order, firm, pid, kind, own, _raw_days(p["filed_on"]),
                 _raw_days(p["granted_on"]), kernel_array(p["main_business"], bool),
                 kernel_array(p["family_countries"]), kernel_array(p["claims"]),
                 kind_class, kind_term_years, out.firm, out.patent_id, out.kind, out.filed,
                 out.filed_year, out.granted, out.term_end, out.claims, out.family, out.main,
                 out.own, out.static)
    return out


@kernel
def _patent_rows(order: np.ndarray, firm: np.ndarray, pid: np.ndarray, kind: np.ndarray,
                 own: np.ndarray, filed: np.ndarray, granted: np.ndarray, main: np.ndarray,
                 family: np.ndarray, claims: np.ndarray, kind_class: np.ndarray,
                 kind_term_years: np.ndarray, out_firm: np.ndarray, out_pid: np.ndarray,
                 out_kind: np.ndarray, out_filed: np.ndarray, out_filed_year: np.ndarray,
                 out_granted: np.ndarray,
                 out_term_end: np.ndarray, out_claims: np.ndarray, out_family: np.ndarray,
                 out_main: np.ndarray, out_own: np.ndarray, static: np.ndarray) -> None:
    """Rights in ``order`` with their statutory term end and :data:`STATIC_COLUMNS`;
    ``filed`` and ``granted`` as :func:`_raw_days` gives them."""
    n_kinds = kind_class.size
    for i in range(order.size):
        r = order[i]
        k, ip_class, is_own = kind[r], kind_class[kind[r]], own[r] == 1
        out_firm[i], out_pid[i], out_kind[i] = firm[r], pid[r], k
        out_filed[i], out_granted[i] = _day(filed[r]), _day(granted[r])
        out_filed_year[i] = month_of_day(out_filed[i]) // 12 + 1970
        out_term_end[i] = add_calendar_years(out_filed[i], kind_term_years[k])
        out_claims[i], out_family[i], out_main[i], out_own[i] = (claims[r], family[r],
                                                                 main[r], is_own)
        static[i, 0] = 1.0  # inforce
        for j in range(n_kinds):
            static[i, 1 + j] = k == j
        c = 1 + n_kinds
        static[i, c] = ip_class == 1
        static[i, c + 1] = ip_class == 2
        static[i, c + 2] = ip_class == 1 and main[r]
        static[i, c + 3] = ip_class == 2 and main[r]
        static[i, c + 4] = is_own
        static[i, c + 5] = not is_own
        static[i, c + 6] = family[r] > 1
        static[i, c + 7] = claims[r]


def _events(e: Columns, patents: PatentArrays) -> EventArrays:
    firm, pid = kernel_array(e["firm_id"], np.int64), kernel_array(e["patent_id"], np.int64)
    code = _codes(e["event"], EVENT_CODES, "patent_events", "event")
    m = firm.size
    row, known = np.empty(m, dtype=np.int64), np.empty(m, dtype=bool)
    day, amount_key = np.empty(m, dtype=np.int64), np.empty(m)
    unknown = _event_rows(firm, pid, _raw_days(e["event_on"]), kernel_array(e["amount_cny"]),
                          patents.firm, patents.patent_id,
                          np.argsort(patents.patent_id, kind="stable"), row, known, day,
                          amount_key)
    if unknown:
        logger.warning("%d patent events name no patent of their firm; ignored", unknown)
    order = (np.arange(m) if _events_in_order(firm, pid, day, code, amount_key)
             else np.lexsort((amount_key, code, day, pid, firm)))
    out = EventArrays(firm=np.empty(m - unknown, dtype=np.int64),
                      row=np.empty(m - unknown, dtype=np.int64),
                      day=np.empty(m - unknown, dtype=np.int64),
                      code=np.empty(m - unknown, dtype=np.int8))
    _known_events(order, known, firm, row, day, code, out.firm, out.row, out.day, out.code)
    return out


@kernel
def _event_rows(firm: np.ndarray, pid: np.ndarray, raw_day: np.ndarray, amount: np.ndarray,
                patent_firm: np.ndarray, patent_id: np.ndarray, by_id: np.ndarray,
                row: np.ndarray, known: np.ndarray, day: np.ndarray,
                amount_key: np.ndarray) -> int:
    """Each event's right, day and amount as a sort key (NaN as -1).

    The right is the first (in ``by_id``, the stable patent-id order) with a patent id at
    least the event's, known when its id and firm match (else -1). Returns how many
    events are not known.
    """
    m, unknown = by_id.size, 0
    ordered = patent_id[by_id]
    for i in range(pid.size):
        r = by_id[min(np.searchsorted(ordered, pid[i]), m - 1)] if m else -1
        known[i] = m > 0 and patent_id[r] == pid[i] and patent_firm[r] == firm[i]
        row[i] = r
        unknown += not known[i]
        day[i] = _day(raw_day[i])
        amount_key[i] = -1.0 if np.isnan(amount[i]) else amount[i]
    return unknown


@kernel
def _events_in_order(firm: np.ndarray, pid: np.ndarray, day: np.ndarray, code: np.ndarray,
                     amount_key: np.ndarray) -> bool:
    """Whether the events are already in their sort order (keys non-decreasing)."""
    for i in range(1, firm.size):
        if ((firm[i], pid[i], day[i], code[i], amount_key[i])
                < (firm[i - 1], pid[i - 1], day[i - 1], code[i - 1], amount_key[i - 1])):
            return False
    return True


@kernel
def _known_events(order: np.ndarray, known: np.ndarray, firm: np.ndarray, row: np.ndarray,
                  day: np.ndarray, code: np.ndarray, out_firm: np.ndarray,
                  out_row: np.ndarray, out_day: np.ndarray, out_code: np.ndarray) -> None:
    """The known events in ``order``."""
    k = 0
    for i in range(order.size):
        r = order[i]
        if known[r]:
            out_firm[k], out_row[k], out_day[k], out_code[k] = firm[r], row[r], day[r], code[r]
            k += 1


_RND_SOURCES = ("revenue_cny", "high_tech_revenue_cny", "rnd_expense_cny",
                "domestic_rnd_expense_cny", "total_cost_cny", "net_assets_cny", "staff",
                "st_staff", "conversions", "has_rnd_ledger", "has_rnd_institution",
                "has_conversion_incentive", "has_talent_programme")
"""The ``rnd`` schema column of each of :data:`RND_COLUMNS`."""
_RND_FLAGS = RND_COLUMNS.index("ledger")
"""The columns from here on are booleans."""


def _rnd(r: Columns) -> RndArrays:
    firm, year = kernel_array(r["firm_id"], np.int64), kernel_array(r["year"], np.int64)
    m = firm.size
    raw = np.array([r[c] for c in _RND_SOURCES], dtype=np.float64).reshape(len(_RND_SOURCES), m)
    reported, combined = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    paired = _day_and_pair_keys(firm, year, _raw_days(r["reported_on"]), reported, combined)
    # every column a key (the booleans as 0/1 sort alike), so row order never matters
    order = _pair_order(combined, paired, (*raw[::-1], reported, year, firm))
    matrix, flags = np.empty((m, len(RND_COLUMNS))), np.empty((len(RND_COLUMNS) - _RND_FLAGS, m),
                                                              dtype=bool)
    ints, total_assets = np.empty((3, m), dtype=np.int64), np.empty(m)
    _rnd_rows(order, raw, firm, year, reported, kernel_array(r["total_assets_cny"]),
              _RND_FLAGS, matrix, flags, ints, total_assets)
    values = {name: matrix[:, j] for j, name in enumerate(RND_COLUMNS[:_RND_FLAGS])}
    return RndArrays(firm=ints[0], year=ints[1], reported=ints[2], total_assets=total_assets,
                     matrix=matrix, **values,
                     **dict(zip(RND_COLUMNS[_RND_FLAGS:], flags, strict=True)))


@kernel
def _rnd_rows(order: np.ndarray, raw: np.ndarray, firm: np.ndarray, year: np.ndarray,
              reported: np.ndarray, total_assets: np.ndarray, first_flag: int,
              matrix: np.ndarray, flags: np.ndarray, ints: np.ndarray,
              total_out: np.ndarray) -> None:
    """Reports in ``order``: the value matrix, the boolean columns (from ``first_flag``),
    firm, year and report day (rows of ``ints``) and total assets."""
    for i in range(order.size):
        r = order[i]
        for j in range(raw.shape[0]):
            matrix[i, j] = raw[j, r]
        for j in range(first_flag, raw.shape[0]):
            flags[j - first_flag, i] = raw[j, r] != 0.0
        ints[0, i], ints[1, i], ints[2, i] = firm[r], year[r], reported[r]
        total_out[i] = total_assets[r]

