"""``Application``: one firm's raw records and its loan request, validated at the edge.

The serving contract's input (DESIGN.md). A loan system sends an :class:`Application`
(or a plain dict or JSON of the same shape) to :meth:`techcredit.Decider.score`. Every
record goes through the row models of :mod:`techcredit.schemas` and the same
cross-field rules as training data; then the application checks what only it can:

* every record belongs to the applying firm (``firm_id``);
* nothing is dated after the application date (a record the bank could not have had);
* the application date is not in the future;
* ids are unique and sizes are plausible.

Any problem raises :class:`~techcredit.exceptions.InvalidInputError` naming every bad
field, e.g. ``invoices[3].amount_cny``. Valid but thin data (three months of tax history,
no patents) is not an error: the policy refers it.

Examples
--------
>>> app = Application.model_validate({
...     "request": {"product": "tax_loan", "amount_cny": 500000, "term_months": 12,
...                 "applied_on": "2025-06-30"},
...     "firm": {"firm_id": 42, "registered_on": "2019-04-01", "industry_code": "C39",
...              "region_code": "310000", "employees": 30, "st_staff": 6},
...     "tax_grades": [{"firm_id": 42, "year": 2024, "grade": "A",
...                     "published_on": "2025-04-15"}]})
>>> app.firm.firm_id, app.request.product, len(app.invoices)
(42, 'tax_loan', 0)
>>> cols = app.columns()
>>> cols["tax_grades"]["grade"].tolist(), str(cols["tax_grades"]["published_on"].dtype)
(['A'], 'datetime64[D]')
>>> Application.model_validate({"request": {"product": "car_loan", "amount_cny": -1,
...     "term_months": 12, "applied_on": "2025-06-30"}, "firm": app.firm.model_dump()})
Traceback (most recent call last):
...
techcredit.exceptions.InvalidInputError: 2 invalid field(s):
  request.product: Input should be 'tax_loan', 'invoice_loan' or 'tech_loan'
  request.amount_cny: Input should be greater than 0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from techcredit.exceptions import InvalidInputError
from techcredit.schemas import (
    FirmRecord,
    Id,
    InvoiceRecord,
    PatentEventRecord,
    PatentRecord,
    Product,
    RequestedAmount,
    RndRecord,
    TaxFilingRecord,
    TaxGradeRecord,
    TermMonths,
    columns,
    cross_field_problems,
)

__all__ = ["HASH_LAYOUT", "KNOWN_ON", "RECORD_TABLES", "Application", "LoanRequest",
           "as_application", "day_number"]

RECORD_TABLES: tuple[str, ...] = ("tax_grades", "tax_filings", "invoices", "patents",
                                  "patent_events", "rnd")
"""The record lists of an application, besides its ``firm`` profile."""

# Engineering bounds on list sizes: far above any real firm, low enough that a
# malformed or hostile payload cannot exhaust memory. Not credit policy.
_MAX_ROWS = {"tax_grades": 100, "tax_filings": 1_200, "invoices": 500_000,
             "patents": 20_000, "patent_events": 200_000, "rnd": 100}
KNOWN_ON: dict[str, str] = {
    "tax_grades": "published_on", "tax_filings": "filed_on", "invoices": "issued_at",
    "patents": "filed_on", "patent_events": "event_on", "rnd": "reported_on"}
"""The field dating when each record became known to the bank (none after applied_on)."""
# Every date of a record: the bank cannot know a date after the application's.
_DATE_FIELDS = {t: tuple((c.name, c.kind == "datetime") for c in columns(t)
                         if c.kind in ("date", "datetime"))
                for t in RECORD_TABLES}
"""Per record table, each date or datetime field and whether it is a datetime."""
if any(c.kind == "datetime" and c.nullable for t in ("firms", *RECORD_TABLES)
       for c in columns(t)):  # pragma: no cover - a schema edit
    raise RuntimeError("a datetime column is nullable: the time-zone check and the "
                       "columns' conversion read every value of one")
_PROBLEMS_AT_MOST = 200
"""Record checks stop after the row that brings the problems to this many."""
_AWARE = "must be local China time without a time zone"
_LATE = "must not be after request.applied_on"
_FOREIGN = "must equal firm.firm_id"
_FIRM_DATES = tuple(c.name for c in columns("firms") if c.kind == "date")


class LoanRequest(BaseModel):
    """What the firm asks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: Product
    # strict: a JSON ``true`` is not 1.0 CNY nor a 1-month term (a strict float takes ints)
    amount_cny: RequestedAmount
    term_months: TermMonths
    applied_on: dt.date


TaxGrades = Annotated[tuple[TaxGradeRecord, ...], Field(max_length=_MAX_ROWS["tax_grades"])]
TaxFilings = Annotated[tuple[TaxFilingRecord, ...], Field(max_length=_MAX_ROWS["tax_filings"])]
Invoices = Annotated[tuple[InvoiceRecord, ...], Field(max_length=_MAX_ROWS["invoices"])]
Patents = Annotated[tuple[PatentRecord, ...], Field(max_length=_MAX_ROWS["patents"])]
PatentEvents = Annotated[tuple[PatentEventRecord, ...],
                         Field(max_length=_MAX_ROWS["patent_events"])]
RndReports = Annotated[tuple[RndRecord, ...], Field(max_length=_MAX_ROWS["rnd"])]


class Application(BaseModel):
    """One loan application: the request and the firm's raw records up to its date.

    Build with ``Application.model_validate(mapping)`` or
    ``Application.model_validate_json(text)``; both raise
    :class:`~techcredit.exceptions.InvalidInputError` (not pydantic's error) naming
    every bad field. Records may come in any order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: Id | None = None
    request: LoanRequest
    firm: FirmRecord
    tax_grades: TaxGrades = ()
    tax_filings: TaxFilings = ()
    invoices: Invoices = ()
    patents: Patents = ()
    patent_events: PatentEvents = ()
    rnd: RndReports = ()

    _columns: dict[str, dict[str, np.ndarray]] | None = PrivateAttr(default=None)
    _microseconds: dict[tuple[str, str], np.ndarray] | None = PrivateAttr(default=None)
    """The microsecond of each datetime column's values (the columns hold whole seconds)."""
    _input_hash: str | None = PrivateAttr(default=None)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Application:  # type: ignore[override]
        """Validate a mapping (or an :class:`Application`); raise ``InvalidInputError``."""
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, Mapping):
            raise InvalidInputError([("application", None, None,
                                      f"must be a mapping, got {type(obj).__name__}")])
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes, **kwargs: Any  # type: ignore[override]
                            ) -> Application:
        """Validate JSON text; raise ``InvalidInputError`` naming every bad field."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @model_validator(mode="after")
    def _consistent(self) -> Application:
        problems: list[tuple[object, ...]] = []
        applied = self.request.applied_on
        if applied > dt.date.today():
            problems.append(("request", None, "applied_on", "must not be in the future"))
        for name in _FIRM_DATES:
            value = getattr(self.firm, name)
            if value is not None and value > applied:
                problems.append(("firm", None, name, _LATE))
        _add_record_problems(self, problems)
        if problems:
            raise InvalidInputError(problems)
        cols = self.columns()
        for table in ("firms", *RECORD_TABLES):
            if table == "firms" or len(getattr(self, table)):
                problems.extend(cross_field_problems(table, cols[table]))
        unknown = ~np.isin(cols["patent_events"]["patent_id"], cols["patents"]["patent_id"])
        problems.extend(("patent_events", i, "patent_id", "names no patent of this firm")
                        for i in np.flatnonzero(unknown).tolist())
        if problems:
            raise InvalidInputError(problems)
        return self

    def columns(self) -> dict[str, dict[str, np.ndarray]]:
        """The records as numpy columns per table, the input of ``FirmArrays.from_columns``.

        Formats: int -> int64; float -> float64 (missing as NaN); nullable int ->
        float64 with NaN; bool -> bool; date -> ``datetime64[D]`` (NaT when missing);
        datetime -> ``datetime64[s]``; text and choices -> object arrays of str.
        The result is computed once per application and must not be modified.
        """
        # read through the private-value dict: attribute access to a private value
        # raises (and catches) an AttributeError first, 5 us on every call
        cached = self.__pydantic_private__["_columns"]
        if cached is None:
            micro: dict[tuple[str, str], np.ndarray] = {}
            cached = {"firms": _table_columns("firms", (self.firm,), micro)}
            for table in RECORD_TABLES:
                cached[table] = _table_columns(table, getattr(self, table), micro)
            self._columns, self._microseconds = cached, micro
        return cached

    def input_hash(self) -> str:
        """sha256 of the application's validated content, in a fixed binary layout.

        Two applications with the same content (the same records in the same order,
        however they were sent: object, mapping or JSON) give the same hash in any
        process; changing any field changes it. The layout (:data:`HASH_LAYOUT`):
        the request as pydantic's JSON, then each table's columns in schema order as
        little-endian arrays (the :meth:`columns` formats; a choice as its position in
        the schema's choices, other text as UTF-8 with its byte lengths; issue times
        with their microseconds). It costs about a quarter of hashing the application's
        JSON (pydantic's serializer), which every new application pays once.

        Examples
        --------
        >>> request = dict(product="tech_loan", amount_cny=1e6, term_months=24,
        ...                applied_on="2025-01-10")
        >>> firm = dict(firm_id=7, registered_on="2015-05-05", industry_code="I6513",
        ...             region_code="440300", employees=80, st_staff=30)
        >>> one = Application.model_validate({"request": request, "firm": firm})
        >>> two = Application.model_validate_json(one.model_dump_json())
        >>> one.input_hash() == two.input_hash(), len(one.input_hash())
        (True, 64)
        """
        cached = self.__pydantic_private__["_input_hash"]  # as in columns()
        if cached is None:
            cached = _content_hash(self)
            self._input_hash = cached
        return cached



def as_application(obj: Application | Mapping[str, Any] | str | bytes) -> Application:
    """Return ``obj`` as a validated :class:`Application` (mapping or JSON text accepted).

    Raises
    ------
    InvalidInputError
        Naming every bad field; also for an object of another type.
    """
    if isinstance(obj, Application):
        return obj
    if isinstance(obj, str | bytes):
        return Application.model_validate_json(obj)
    return Application.model_validate(obj)


def _invalid(exc: ValidationError) -> InvalidInputError:
    problems: list[tuple[object, ...]] = []
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, InvalidInputError):  # raised by our own validator
            problems.extend(inner.problems)
            continue
        loc = list(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not loc:
            problems.append(("application", None, None, msg))
            continue
        table = str(loc[0])
        row = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        rest = loc[2:] if row is not None else loc[1:]
        field = ".".join(str(p) for p in rest) or None
        problems.append((table, row, field, msg))
    return InvalidInputError(problems)


_TZINFO = operator.attrgetter("tzinfo")
_FIRM_ID = operator.attrgetter("firm_id")


def _add_record_problems(app: Application, problems: list[tuple[object, ...]]) -> None:
    """Add every record naming another firm, dated after the application or stamped with
    a time zone to ``problems``: row by row in table order, each row's firm first, then
    its dates in schema order (a time zone instead of the date check). Raises once a row
    brings ``problems`` to :data:`_PROBLEMS_AT_MOST`.

    The rules are evaluated on whole columns: the application's :meth:`columns`, or,
    when a record holds a zone-aware time (so there are none), the checked fields read
    from the records (:func:`_check_columns`).
    """
    firm_id, applied = app.firm.firm_id, app.request.applied_on
    applied_day = day_number(applied)
    aware = {}
    for table in RECORD_TABLES:
        rows = getattr(app, table)
        for name, is_time in _DATE_FIELDS[table]:  # a datetime is never missing
            if is_time and set(map(_TZINFO, map(operator.attrgetter(name), rows))) - {None}:
                aware[table, name] = np.array([getattr(r, name).tzinfo is not None
                                               for r in rows], dtype=bool)
    cols = None if aware else app.columns()
    for table in RECORD_TABLES:
        rows = getattr(app, table)
        fields = _DATE_FIELDS[table]
        if not rows or (cols is not None
                        and _clean(cols[table], firm_id, applied_day, fields)):
            continue
        table_cols = cols[table] if cols is not None else _check_columns(rows, fields,
                                                                         aware, table)
        foreign = table_cols["firm_id"] != firm_id
        # NaT is the smallest int64: never late; a time's day is its floored whole second's
        dated = [(name, _day_numbers(table_cols[name], is_time) > applied_day,
                  aware.get((table, name))) for name, is_time in fields]
        bad = foreign.copy()
        for _, late, zoned in dated:
            bad |= late if zoned is None else late | zoned
        for i in np.flatnonzero(bad).tolist():
            if foreign[i]:
                problems.append((table, i, "firm_id", _FOREIGN))
            for name, late, zoned in dated:
                if zoned is not None and zoned[i]:
                    problems.append((table, i, name, _AWARE))
                elif late[i]:
                    problems.append((table, i, name, _LATE))
            if len(problems) >= _PROBLEMS_AT_MOST:
                raise InvalidInputError(problems)


def _day_numbers(values: np.ndarray, is_time: bool) -> np.ndarray:
    """Day numbers (int64; NaT as the smallest int64) of a date or datetime column."""
    raw = values.view(np.int64)
    return raw // 86400 if is_time else raw


def _clean(cols: Mapping[str, np.ndarray], firm_id: int, applied_day: int,
           fields: tuple[tuple[str, bool], ...]) -> bool:
    """Whether no row of a table's columns fails a record check: a few reductions, so
    the masks are built only for a table that has a failing row."""
    firm = cols["firm_id"]
    if firm.min() != firm_id or firm.max() != firm_id:
        return False
    return all(int(_day_numbers(cols[name], is_time).max()) <= applied_day
               for name, is_time in fields)


def _check_columns(rows: tuple[BaseModel, ...], fields: tuple[tuple[str, bool], ...],
                   aware: Mapping[tuple[str, str], np.ndarray],
                   table: str) -> dict[str, np.ndarray]:
    """The columns the record checks read, for an application whose records hold a
    zone-aware time (so it has no :meth:`Application.columns`): a zone-aware value reads
    as 1970-01-01 here, its zone problem replacing its date check."""
    cols = {"firm_id": np.fromiter(map(_FIRM_ID, rows), dtype=np.int64, count=len(rows))}
    for name, is_time in fields:
        values = tuple(map(operator.attrgetter(name), rows))
        zoned = aware.get((table, name))
        if zoned is not None:
            values = tuple(_EPOCH if z else v for v, z in zip(values, zoned, strict=True))
        cols[name] = _seconds(values) if is_time else _days(values)
    return cols


_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_NAT = np.iinfo(np.int64).min  # the int64 pattern of NaT


def day_number(value: dt.date) -> int:
    """Days since 1970-01-01 of a date (an ordinal difference: 20x numpy's conversion).

    Examples
    --------
    >>> day_number(dt.date(1970, 1, 2))
    1
    """
    return value.toordinal() - _EPOCH_ORDINAL


def _days(values: tuple[Any, ...]) -> np.ndarray:
    # via ordinals: numpy's own conversion of date objects is ~20x slower
    if None in values:
        days = np.array([_NAT if v is None else day_number(v) for v in values],
                        dtype=np.int64)
    else:  # day_number of every value in one C-level pass
        days = np.fromiter(map(_ORDINAL, values), dtype=np.int64, count=len(values))
        days -= _EPOCH_ORDINAL
    return days.view("datetime64[D]")


_ORDINAL = operator.methodcaller("toordinal")
_EXACT_SECONDS = 2**33
"""Below this many seconds from 1970 (years 1698-2242), the floor of a float of
``total_seconds()`` is the exact whole second: ``total_seconds`` divides the exact
microseconds by 10**6, correctly rounded, and a float near 2**33 still tells
``k - 1e-6`` from ``k``."""


def _seconds(values: tuple[dt.datetime, ...]) -> np.ndarray:
    """Whole seconds since 1970 of naive datetimes (microseconds dropped, floored)."""
    since = np.fromiter(map(dt.timedelta.total_seconds, map(_EPOCH.__rsub__, values)),
                        dtype=np.float64, count=len(values))
    if since.size and not np.abs(since).max() < _EXACT_SECONDS:
        return np.array([day_number(v) * 86400 + v.hour * 3600 + v.minute * 60 + v.second
                         for v in values], dtype=np.int64).view("datetime64[s]")
    return np.floor(since).astype(np.int64).view("datetime64[s]")


HASH_LAYOUT = b"techcredit.application.input_hash/1\n"
"""First bytes hashed by :meth:`Application.input_hash`: names the layout, so a change to
it is a new version, never a silent collision with the old one."""
_REQUEST_FIELDS = frozenset({"application_id", "request"})


def _content_hash(app: Application) -> str:
    """:meth:`Application.input_hash`. Each table is framed by its name and row count
    (every column of a table has that many values), its columns follow in schema order,
    and text is framed by its byte lengths: no two different applications give the
    same bytes."""
    if sys.byteorder != "little":  # pragma: no cover - no big-endian machine to test on
        raise NotImplementedError("input_hash reads arrays as little-endian bytes")
    parts = [HASH_LAYOUT, app.model_dump_json(include=_REQUEST_FIELDS).encode()]
    tables = app.columns()
    micro = app.__pydantic_private__["_microseconds"]  # set with the columns
    for table, names, choices, text, stamped in _HASH_PLAN:
        cols = tables[table]
        parts.append(f"\n{table}:{cols[names[0]].size}:".encode())
        for name in names:
            values = cols[name]
            if name in choices:  # each value's position in the schema's choices
                number = choices[name]
                parts.append(np.fromiter(map(number.__getitem__, values.tolist()),
                                         dtype=np.uint8, count=values.size).tobytes())
            elif name in text:  # str: UTF-8 bytes and their lengths
                encoded = list(map(str.encode, values.tolist()))
                parts.append(np.fromiter(map(len, encoded), dtype="<i8",
                                         count=len(encoded)).tobytes())
                parts.append(b"".join(encoded))
            else:  # int64, float64, bool, datetime64: their bytes
                parts.append(values.tobytes())
        for name in stamped:  # the columns hold whole seconds: add the microseconds
            parts.append(micro[table, name].tobytes())
    return hashlib.sha256(b"".join(parts)).hexdigest()


_Plan = tuple[str, tuple[str, ...], dict[str, dict[str, int]], frozenset[str], tuple[str, ...]]


def _hash_plan() -> tuple[_Plan, ...]:
    plan = []
    for table in ("firms", *RECORD_TABLES):
        cols = columns(table)
        if any(len(c.choices) > 256 for c in cols):  # numbered as uint8 below
            raise RuntimeError(f"{table}: a choice column has more than 256 choices")
        plan.append((table, tuple(c.name for c in cols),
                     {c.name: {v: i for i, v in enumerate(c.choices)}
                      for c in cols if c.kind == "choice"},
                     frozenset(c.name for c in cols if c.kind == "str"),
                     tuple(c.name for c in cols if c.kind == "datetime")))
    return tuple(plan)


_HASH_PLAN = _hash_plan()
"""Per table: its name, its columns in schema order, the number of each choice of its
choice columns, its text columns and its datetime columns."""
_MICROSECOND = operator.attrgetter("microsecond")
_DICT = operator.attrgetter("__dict__")


def _table_columns(table: str, rows: tuple[BaseModel, ...],
                   micro: dict[tuple[str, str], np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of one table's records; the microsecond of each value of a datetime
    column goes to ``micro[table, name]`` (int64)."""
    cols = columns(table)
    names = tuple(c.name for c in cols)
    if not rows:
        transposed: list[tuple[Any, ...]] = [() for _ in names]
    elif tuple(rows[0].__dict__) == names:
        # a validated record keeps its fields in its __dict__ in schema order: read the
        # values in one C-level pass per row, then transpose (strict: equal lengths)
        transposed = list(zip(*map(dict.values, map(_DICT, rows)), strict=True))
    else:  # a record built some other way: one attrgetter call per row
        transposed = list(zip(*map(operator.attrgetter(*names), rows), strict=True))
    out: dict[str, np.ndarray] = {}
    for col, values in zip(cols, transposed, strict=True):
        if col.kind == "int" and not col.nullable:
            out[col.name] = np.array(values, dtype=np.int64)
        elif col.kind in ("int", "float"):
            out[col.name] = np.array([np.nan if v is None else v for v in values]
                                     if None in values else values, dtype=np.float64)
        elif col.kind == "bool":
            out[col.name] = np.array(values, dtype=bool)
        elif col.kind == "date":
            out[col.name] = _days(values)
        elif col.kind == "datetime":
            out[col.name] = _seconds(values)
            micro[table, col.name] = np.fromiter(map(_MICROSECOND, values), dtype=np.int64,
                                                 count=len(values))
        else:
            out[col.name] = np.array(values, dtype=object)
    return out
