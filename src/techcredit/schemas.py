"""Schemas of the raw records a bank receives, checked at the library's edge.

Each raw table has one pydantic model of its row; that model is the single
definition of the table's columns, types and value bounds. Rules across fields
(a filing after its period, red-letter signs, unique ids) are written once, as
vectorised checks in :func:`cross_field_problems`. Two entry points use both:

* :func:`records_to_frame` validates a list of dicts row by row through pydantic
  (the one-firm serving path);
* :func:`validate_frame` checks a whole pandas frame with vectorised rules derived
  from the same models (the many-firm training path).

Both raise :class:`~techcredit.exceptions.InvalidInputError` naming table, row and
field of every problem. Nothing is dropped or coerced silently.

All money is in CNY (``*_cny``); dates are calendar dates (``*_on``) except invoice
issue times (``issued_at``). Identifiers are non-negative integers.

Examples
--------
>>> import pandas as pd
>>> frame = records_to_frame("tax_grades", [
...     {"firm_id": 1, "year": 2023, "grade": "A", "published_on": "2024-04-01"}])
>>> frame.dtypes["published_on"]
dtype('<M8[ns]')
>>> records_to_frame("tax_grades", [
...     {"firm_id": 1, "year": 2023, "grade": "E", "published_on": "2024-04-01"}])
Traceback (most recent call last):
...
techcredit.exceptions.InvalidInputError: 1 invalid field(s):
  tax_grades[0].grade: Input should be 'A', 'B', 'M', 'C' or 'D'
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from techcredit.exceptions import InvalidInputError

__all__ = [
    "INT_MAX",
    "TABLES",
    "ApplicationRecord",
    "FirmRecord",
    "InvoiceRecord",
    "PatentEventRecord",
    "PatentRecord",
    "RawTables",
    "RequestedAmount",
    "RndRecord",
    "TaxFilingRecord",
    "TaxGradeRecord",
    "TermMonths",
    "TruthRecord",
    "columns",
    "conform_frame",
    "cross_field_problems",
    "records_to_frame",
    "validate_frame",
]

# Integers are strict: a record's integer field takes an integer, never ``true``,
# ``"12"`` or ``12.0``, which lax mode read as 1, 12 and 12 (a changed input the sender
# would not see). A frame column may still hold whole floats (pandas' integers with
# gaps): :func:`validate_frame` checks values, not Python types.
INT_MAX = 2**53 - 1
"""Largest id or count a record may carry: every integer up to it is exact as a float64
(a nullable integer column is float64 with NaN) and as a JSON number in any reader; a
larger one would be silently rounded, or overflow the int64 columns."""
Id = Annotated[int, Strict(), Field(ge=0, le=INT_MAX)]
MONEY_MAX_CNY = 1e12
"""Sanity bound on any single amount (one trillion CNY): larger is a data error."""
# Amounts are strict floats: a number (an integer too), never ``true`` or ``"5"``, which
# lax mode read as 1.0 and 5.0.
Money = Annotated[float, Strict(), Field(ge=0, le=MONEY_MAX_CNY, allow_inf_nan=False)]
SignedMoney = Annotated[float, Strict(),
                        Field(ge=-MONEY_MAX_CNY, le=MONEY_MAX_CNY, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=INT_MAX)]
Year = Annotated[int, Strict(), Field(ge=1990, le=2100)]
TermMonths = Annotated[int, Strict(), Field(ge=1, le=60)]
RequestedAmount = Annotated[float, Strict(),
                            Field(gt=0, le=MONEY_MAX_CNY, allow_inf_nan=False)]
"""A loan amount asked for: positive, at most :data:`MONEY_MAX_CNY`."""

TaxGrade = Literal["A", "B", "M", "C", "D"]
InvoiceStatus = Literal["normal", "voided", "red_letter"]
PatentKind = Literal["invention", "utility", "design", "software_copyright"]
PatentEvent = Literal[
    "annual_fee",
    "citation",
    "pledge",
    "pledge_release",
    "transfer",
    "licence",
    "invalidation_request",
    "litigation",
    "lapse",
]
Acquisition = Literal["own", "transferred"]
Product = Literal["tax_loan", "invoice_loan", "tech_loan"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class FirmRecord(_Row):
    """Business-registry and tax-office profile of one firm (table ``firms``)."""

    firm_id: Id
    registered_on: dt.date
    industry_code: Annotated[str, Field(pattern=r"^[A-T]\d{2,4}$")]
    """GB/T 4754-2017 industry code: section letter then 2 to 4 digits, e.g. ``I6513``."""
    region_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    """Six-digit administrative division code of registration, e.g. ``310000``."""
    employees: Count
    st_staff: Count
    """Science-and-technology staff (科技人员)."""
    high_tech_cert_on: dt.date | None = None
    """Date the high-tech enterprise certificate (高新技术企业) was granted."""
    tech_sme_on: dt.date | None = None
    """Date of tech-SME registration (科技型中小企业)."""
    specialized_on: dt.date | None = None
    """Date of 专精特新 (specialised, refined, distinctive, innovative) recognition."""
    legal_rep_changed_on: dt.date | None = None
    abnormal_taxpayer_on: dt.date | None = None
    """Date the tax office listed the firm as abnormal taxpayer (非正常户)."""
    tax_arrears_on: dt.date | None = None
    """Date unpaid tax (欠税) was first recorded."""



class TaxGradeRecord(_Row):
    """Tax-credit grade (纳税信用等级) of one firm for one year (table ``tax_grades``)."""

    firm_id: Id
    year: Year
    grade: TaxGrade
    published_on: dt.date
    """Grades for year Y are published in April of Y+1; not known before this date."""


class TaxFilingRecord(_Row):
    """One monthly VAT and income-tax declaration (table ``tax_filings``).

    A month with no row is a missing filing; ``zero_filing`` marks a 零申报.
    """

    firm_id: Id
    period: dt.date
    """First day of the tax month declared."""
    filed_on: dt.date
    declared_sales_cny: Money
    vat_paid_cny: Money
    cit_paid_cny: Money
    """Corporate income tax prepaid with this declaration."""
    zero_filing: bool



class InvoiceRecord(_Row):
    """One VAT invoice issued by the firm (table ``invoices``).

    Red-letter invoices (红字发票) carry negative ``amount_cny`` and ``tax_cny`` and name
    the invoice they reverse; voided invoices (作废) keep their original amounts.
    """

    invoice_id: Id
    firm_id: Id
    issued_at: dt.datetime
    buyer_id: Id
    amount_cny: SignedMoney
    """Amount before VAT; negative only for red-letter invoices."""
    tax_cny: SignedMoney
    status: InvoiceStatus
    original_invoice_id: Id | None = None



class PatentRecord(_Row):
    """One patent or software copyright held by the firm (table ``patents``)."""

    patent_id: Id
    firm_id: Id
    kind: PatentKind
    filed_on: dt.date
    granted_on: dt.date | None = None
    claims: Count
    ipc_class: Annotated[str, Field(pattern=r"^[A-H]\d{2}[A-Z]$")]
    """IPC subclass, e.g. ``G06F`` (software copyrights use their nearest subclass)."""
    family_countries: Annotated[int, Strict(), Field(ge=1, le=INT_MAX)]
    """Countries or offices in the patent family, China included."""
    main_business: bool
    """The right supports the firm's main product or service."""
    acquisition: Acquisition



class PatentEventRecord(_Row):
    """A dated legal or market event on a patent (table ``patent_events``).

    ``annual_fee`` events pay the next patent year; ``citation`` events are forward
    citations by later filings; ``amount_cny`` holds the pledge or licence amount.
    """

    patent_id: Id
    firm_id: Id
    event_on: dt.date
    event: PatentEvent
    amount_cny: Money | None = None


class RndRecord(_Row):
    """Audited yearly financials and R&D facts of one firm (table ``rnd``)."""

    firm_id: Id
    year: Year
    reported_on: dt.date
    """Date the annual report was filed; not known before this date."""
    revenue_cny: Money
    high_tech_revenue_cny: Money
    rnd_expense_cny: Money
    domestic_rnd_expense_cny: Money
    total_cost_cny: Money
    net_assets_cny: SignedMoney
    """May be negative for a firm with accumulated losses."""
    total_assets_cny: Money
    staff: Count
    st_staff: Count
    conversions: Count
    """Technology conversions (科技成果转化) completed in the year."""
    has_rnd_ledger: bool
    """R&D expense sub-ledger (研发费用辅助账) kept."""
    has_rnd_institution: bool
    has_conversion_incentive: bool
    has_talent_programme: bool



class ApplicationRecord(_Row):
    """One loan application (table ``applications``); the outcome is known in training."""

    application_id: Id
    firm_id: Id
    applied_on: dt.date
    product: Product
    requested_amount_cny: RequestedAmount
    term_months: TermMonths
    default_12m: Annotated[int, Strict(), Field(ge=0, le=1)] | None = None
    """1 if the loan defaulted (90+ days past due) within 12 months; None if unknown."""


class TruthRecord(_Row):
    """The synthetic generator's known truth behind one application (table ``truth``)."""

    application_id: Id
    firm_id: Id
    prob_default: Annotated[float, Strict(), Field(ge=0, le=1)]
    firm_kind: Literal["micro", "tech"]
    stage: Literal["startup", "growth", "mature"]
    health: Annotated[float, Strict(), Field(allow_inf_nan=False)]
    innovation: Annotated[float, Strict(), Field(allow_inf_nan=False)]
    fraud: bool


TABLES: dict[str, type[_Row]] = {
    "firms": FirmRecord,
    "tax_grades": TaxGradeRecord,
    "tax_filings": TaxFilingRecord,
    "invoices": InvoiceRecord,
    "patents": PatentRecord,
    "patent_events": PatentEventRecord,
    "rnd": RndRecord,
    "applications": ApplicationRecord,
    "truth": TruthRecord,
}
"""Every raw table by name, with the pydantic model of its row."""


# --------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    """A column of a raw table, derived from its pydantic row model."""

    name: str
    kind: str
    """One of ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``str``, ``choice``."""
    nullable: bool
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    pattern: str | None = None


def _column(name: str, annotation: Any, metadata: list[Any]) -> Column:
    nullable = False
    meta = list(metadata)
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            args = get_args(annotation)
            annotation = args[0]
            for extra in args[1:]:
                meta.extend(getattr(extra, "metadata", [extra]))
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            nullable = True
            annotation = args[0]
        else:
            break
    choices: tuple[str, ...] = ()
    if get_origin(annotation) is Literal:
        kind, choices = "choice", tuple(get_args(annotation))
    elif annotation is dt.datetime:
        kind = "datetime"
    elif annotation is dt.date:
        kind = "date"
    else:
        kind = {int: "int", float: "float", bool: "bool", str: "str"}[annotation]
    bounds: dict[str, Any] = {}
    for m in meta:
        for attr, cls in (("ge", annotated_types.Ge), ("gt", annotated_types.Gt),
                          ("le", annotated_types.Le)):
            if isinstance(m, cls):
                bounds[attr] = getattr(m, attr)
        if hasattr(m, "pattern") and getattr(m, "pattern", None):
            bounds["pattern"] = m.pattern
    return Column(name, kind, nullable, choices, **bounds)


@functools.cache
def columns(table: str) -> tuple[Column, ...]:
    """Return the columns of a raw table in order (computed once per table).

    Examples
    --------
    >>> [c.name for c in columns("tax_grades")]
    ['firm_id', 'year', 'grade', 'published_on']
    """
    model = _model(table)
    return tuple(
        _column(name, field.annotation, field.metadata)
        for name, field in model.model_fields.items()
    )


def _model(table: str) -> type[_Row]:
    try:
        return TABLES[table]
    except KeyError:
        raise InvalidInputError(
            [(table, None, None, f"unknown table; expected one of {sorted(TABLES)}")]
        ) from None


# --------------------------------------------------------------------- row-wise path
def records_to_frame(table: str, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Validate records one by one through pydantic and return them as a typed frame.

    Parameters
    ----------
    table : str
        A name from :data:`TABLES`.
    records : iterable of mappings
        One mapping per row.

    Returns
    -------
    pandas.DataFrame
        Columns in schema order with the dtypes :func:`validate_frame` expects.

    Raises
    ------
    InvalidInputError
        Naming ``table[row].field`` for every problem in every row.
    """
    model = _model(table)
    rows: list[dict[str, Any]] = []
    problems: list[tuple[object, ...]] = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            problems.append((table, i, None, f"must be a mapping, got {type(record).__name__}"))
            continue
        try:
            rows.append(model.model_validate(dict(record)).model_dump())
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or None
                problems.append((table, i, field, _message(err)))
    if problems:
        raise InvalidInputError(problems)
    frame = conform_frame(table,
                          pd.DataFrame.from_records(rows, columns=list(model.model_fields)))
    problems = cross_field_problems(table, frame)
    if problems:
        raise InvalidInputError(problems)
    return frame


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def conform_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame``'s schema columns, in schema order, with the schema's dtypes.

    The one place that maps column kinds to pandas dtypes: the row path and the
    generator both use it, so both give :func:`validate_frame` the same types. Values
    are converted, not checked; validate afterwards.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = conform_frame("tax_grades", pd.DataFrame({"grade": ["A"], "year": [2023],
    ...     "published_on": ["2024-04-15"], "firm_id": [7]}))
    >>> list(frame.columns), str(frame.dtypes["published_on"])
    (['firm_id', 'year', 'grade', 'published_on'], 'datetime64[ns]')
    """
    out: dict[str, object] = {}
    for col in columns(table):
        s = frame[col.name]
        if col.kind in ("date", "datetime"):
            out[col.name] = pd.to_datetime(s).astype("datetime64[ns]")
        elif col.kind == "int":
            out[col.name] = s.astype("Int64" if col.nullable else "int64")
        elif col.kind == "float":
            out[col.name] = s.astype("float64")
        elif col.kind == "bool":
            out[col.name] = s.astype(bool)
        elif col.kind == "choice":
            out[col.name] = s.astype(pd.CategoricalDtype(list(col.choices)))
        else:
            out[col.name] = s.astype("str")
    return pd.DataFrame(out).reset_index(drop=True)


# --------------------------------------------------------------------- vectorised path
def validate_frame(table: str, frame: pd.DataFrame, *, max_problems: int = 200) -> None:
    """Check a whole raw table against its schema without looking at rows one by one.

    Checks columns (missing or unexpected), types, nulls, bounds, allowed values and
    patterns, and the cross-field rules of the row model (e.g. filing after period).

    Parameters
    ----------
    table : str
        A name from :data:`TABLES`.
    frame : pandas.DataFrame
        The table; its index labels name rows in messages.
    max_problems : int
        Stop collecting after this many problems.

    Raises
    ------
    InvalidInputError
        Naming ``table[row].field`` for each problem found.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"firm_id": [1, 2], "year": [2023, 2023],
    ...     "grade": ["A", "Z"], "published_on": pd.to_datetime(["2024-04-01"] * 2)})
    >>> validate_frame("tax_grades", frame)
    Traceback (most recent call last):
    ...
    techcredit.exceptions.InvalidInputError: 1 invalid field(s):
      tax_grades[1].grade: must be one of ['A', 'B', 'M', 'C', 'D']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError([(table, None, None, "must be a pandas DataFrame")])
    cols = columns(table)
    problems: list[tuple[object, ...]] = []
    expected = {c.name for c in cols}
    for name in frame.columns:
        if name not in expected:
            problems.append((table, None, name, "unexpected column"))
    for col in cols:
        if col.name not in frame.columns:
            problems.append((table, None, col.name, "missing column"))
    if problems:
        raise InvalidInputError(problems)
    for col in cols:
        problems.extend(_check_column(table, frame, col))
        if len(problems) >= max_problems:
            raise InvalidInputError(problems[:max_problems])
    if not problems:
        problems.extend(cross_field_problems(table, frame))
    if problems:
        raise InvalidInputError(problems[:max_problems])


def _rows(table: str, frame: pd.DataFrame, mask: np.ndarray, field: str, msg: str,
          limit: int = 20) -> list[tuple[object, ...]]:
    labels = frame.index[np.flatnonzero(mask)[:limit]]
    return [(table, label, field, msg) for label in labels]


def _check_column(table: str, frame: pd.DataFrame, col: Column) -> list[tuple[object, ...]]:
    s = frame[col.name]
    null = s.isna().to_numpy()
    out: list[tuple[object, ...]] = []
    if not col.nullable and null.any():
        out += _rows(table, frame, null, col.name, "must not be missing")
    if col.kind in ("date", "datetime"):
        if not pd.api.types.is_datetime64_any_dtype(s):
            return [*out, (table, None, col.name, f"must be a datetime64 column, got {s.dtype}")]
        return out
    if col.kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            return [*out, (table, None, col.name, f"must be numeric, got {s.dtype}")]
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        if _numeric_ok(values, s.dtype, col):  # one pass over the column, no masks
            return out
        present = ~null
        if col.kind == "int":
            frac = present & (values != np.floor(values))
            if frac.any():
                out += _rows(table, frame, frac, col.name, "must be a whole number")
        bad = present & ~np.isfinite(values)
        if bad.any():
            out += _rows(table, frame, bad, col.name, "must be finite")
        with np.errstate(invalid="ignore"):
            for bound, test in (("ge", values < (col.ge if col.ge is not None else -np.inf)),
                                ("gt", values <= (col.gt if col.gt is not None else -np.inf)),
                                ("le", values > (col.le if col.le is not None else np.inf))):
                limit = getattr(col, bound)
                mask = present & np.isfinite(values) & test  # non-finite reported above
                if limit is not None and mask.any():
                    word = {"ge": ">=", "gt": ">", "le": "<="}[bound]
                    out += _rows(table, frame, mask, col.name, f"must be {word} {limit}")
        return out
    if col.kind == "bool":
        if not pd.api.types.is_bool_dtype(s):
            out.append((table, None, col.name, f"must be boolean, got {s.dtype}"))
        return out
    if col.kind == "choice" and isinstance(s.dtype, pd.CategoricalDtype):
        # codes of the categories outside the choices, without a Python object per row
        outside = [i for i, c in enumerate(s.cat.categories) if c not in col.choices]
        if outside:
            bad = np.isin(s.cat.codes.to_numpy(), outside)
            out += _rows(table, frame, bad, col.name, f"must be one of {list(col.choices)}")
        return out
    values = s.astype(object)
    if col.kind == "choice":
        bad = ~null & ~values.isin(col.choices).to_numpy()
        if bad.any():
            out += _rows(table, frame, bad, col.name, f"must be one of {list(col.choices)}")
        return out
    is_str = values.map(lambda v: isinstance(v, str)).to_numpy()
    bad = ~null & ~is_str
    if bad.any():
        out += _rows(table, frame, bad, col.name, "must be a string")
    if col.pattern is not None:
        ok = values.where(is_str, "").str.fullmatch(col.pattern).to_numpy(dtype=bool)
        bad = ~null & is_str & ~ok
        if bad.any():
            out += _rows(table, frame, bad, col.name, f"must match {col.pattern}")
    return out


def _numeric_ok(values: np.ndarray, dtype: Any, col: Column) -> bool:
    """True when a numeric column passes every check of its schema column.

    Min and max decide it: NaN (missing) is skipped, so a column with an infinity, a
    bound crossed or (for ``int``) a fraction returns False and is examined row by row.
    """
    if values.size == 0:
        return True
    low, high = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN only if all NaN
    if np.isnan(low):  # all missing: the null check has spoken
        return True
    if not (np.isfinite(low) and np.isfinite(high)):
        return False
    if (col.ge is not None and low < col.ge) or (col.gt is not None and low <= col.gt) or \
            (col.le is not None and high > col.le):
        return False
    if col.kind == "int" and not pd.api.types.is_integer_dtype(dtype):
        return bool(np.all(np.isnan(values) | (values == np.floor(values))))
    return True


def _duplicated(values: Any) -> np.ndarray:
    """True for every value seen earlier in the array (pandas ``duplicated`` semantics)."""
    v = np.asarray(values)
    dup = np.zeros(v.size, dtype=bool)
    if v.size > 1 and v.dtype.kind in "iuf" and bool(np.all(v[1:] > v[:-1])):
        return dup  # strictly increasing (ids as usually stored): no duplicate, no sort
    if v.size > 1:
        _, first = np.unique(v, return_index=True)
        dup[:] = True
        dup[first] = False
    return dup


def cross_field_problems(table: str, cols: Mapping[str, Any],
                         labels: Any = None) -> list[tuple[object, ...]]:
    """Rules across fields of one table, on a frame or a mapping of column arrays.

    The one definition of these rules: :func:`validate_frame`, :func:`records_to_frame`
    and :class:`techcredit.application.Application` all call it.

    Parameters
    ----------
    table : str
    cols : pandas.DataFrame or mapping of column name -> array
    labels : sequence, optional
        Row labels for messages; default the frame index, or positions.

    Examples
    --------
    >>> cross_field_problems("invoices", {"invoice_id": np.array([1, 1]),
    ...     "status": np.array(["normal", "red_letter"], dtype=object),
    ...     "amount_cny": np.array([5.0, 3.0]), "tax_cny": np.array([0.6, -0.3])})
    ... # doctest: +NORMALIZE_WHITESPACE
    [('invoices', 1, 'amount_cny', 'red-letter invoices carry non-positive amounts'),
     ('invoices', 1, 'invoice_id', 'duplicate invoice_id')]
    """
    if labels is None:
        labels = cols.index if isinstance(cols, pd.DataFrame) else None
    out: list[tuple[object, ...]] = []

    def col(name: str) -> np.ndarray:
        return np.asarray(cols[name])

    def equals(name: str, value: str) -> np.ndarray:
        given = cols[name]
        if isinstance(given, pd.Series) and isinstance(given.dtype, pd.CategoricalDtype):
            cats = list(given.cat.categories)  # compare codes, not a string per row
            code = cats.index(value) if value in cats else -2
            return given.cat.codes.to_numpy() == code
        return col(name) == value

    def rule(mask: Any, field: str, msg: str) -> None:
        m = np.asarray(mask, dtype=bool)
        if m.any():
            rows = np.flatnonzero(m)[:20]
            out.extend((table, labels[i] if labels is not None else int(i), field, msg)
                       for i in rows)

    if table in ("firms", "rnd"):
        staff = "employees" if table == "firms" else "staff"
        rule(col("st_staff") > col(staff), "st_staff", f"must not exceed {staff}")
    if table == "tax_filings":
        rule(col("filed_on") < col("period"), "filed_on", "must not precede period")
    if table == "invoices":
        red = equals("status", "red_letter")
        for field in ("amount_cny", "tax_cny"):
            v = col(field)
            rule(red & (v > 0), field, "red-letter invoices carry non-positive amounts")
            rule(~red & (v < 0), field, "only red-letter invoices may carry negative amounts")
        rule(_duplicated(col("invoice_id")), "invoice_id", "duplicate invoice_id")
    if table == "patents":
        rule(col("granted_on") < col("filed_on"), "granted_on", "must not precede filed_on")
        rule(_duplicated(col("patent_id")), "patent_id", "duplicate patent_id")
    if table == "rnd":
        rule(col("high_tech_revenue_cny") > col("revenue_cny"), "high_tech_revenue_cny",
             "must not exceed revenue_cny")
        rule(col("domestic_rnd_expense_cny") > col("rnd_expense_cny"),
             "domestic_rnd_expense_cny", "must not exceed rnd_expense_cny")
    if table == "firms":
        rule(_duplicated(col("firm_id")), "firm_id", "duplicate firm_id")
    if table == "applications":
        rule(_duplicated(col("application_id")), "application_id",
             "duplicate application_id")
    return out


# --------------------------------------------------------------------------- bundle
@dataclass(frozen=True)
class RawTables:
    """The raw tables of a set of firms, as pandas frames keyed by ``firm_id``.

    ``applications`` and ``truth`` are optional: serving has no outcome and no truth.
    """

    firms: pd.DataFrame
    tax_grades: pd.DataFrame
    tax_filings: pd.DataFrame
    invoices: pd.DataFrame
    patents: pd.DataFrame
    patent_events: pd.DataFrame
    rnd: pd.DataFrame
    applications: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """Return ``(name, frame)`` for every table present, in schema order."""
        return [(n, getattr(self, n)) for n in TABLES if getattr(self, n) is not None]

    def validate(self) -> None:
        """Validate every table present; raise one error listing all problems."""
        problems: list[tuple[object, ...]] = []
        for name, frame in self.items():
            try:
                validate_frame(name, frame)
            except InvalidInputError as exc:
                problems.extend(exc.problems)
        if problems:
            raise InvalidInputError(problems)

    def for_firms(self, firm_ids: Iterable[int]) -> RawTables:
        """Return the rows of the given firms only (a copy), in the same order."""
        ids = np.asarray(list(firm_ids), dtype="int64")
        picked = {
            name: frame[frame["firm_id"].isin(ids)].reset_index(drop=True)
            for name, frame in self.items()
        }
        return RawTables(**picked)
