"""A booked portfolio: loans and the patents pledged for them, validated at the edge.

Two tables, each with a pydantic row model:

* ``loans``: ``loan_id``, ``firm_id``, ``booked_on``, ``term_months``, ``limit_cny``,
  ``rate_annual``;
* ``pledges``: ``loan_id``, ``patent_id``, ``appraised_value_cny`` (value at booking),
  ``ltv`` (loan-to-value applied to it).

Bad input raises :class:`~techcredit.exceptions.InvalidInputError` naming
``table[row].field`` of every problem.

Examples
--------
>>> p = Portfolio.from_records(
...     loans=[{"loan_id": 1, "firm_id": 7, "booked_on": "2025-03-01", "term_months": 24,
...             "limit_cny": 1e6, "rate_annual": 0.045}],
...     pledges=[{"loan_id": 1, "patent_id": 11, "appraised_value_cny": 8e5, "ltv": 0.4}])
>>> p.loans["maturity_on"].iloc[0].date()
datetime.date(2027, 3, 1)
>>> float(p.pledges["secured_cny"].iloc[0])
320000.0
>>> Portfolio.from_records(loans=[{"loan_id": 1, "firm_id": 7, "booked_on": "2025-03-01",
...     "term_months": 0, "limit_cny": 1e6, "rate_annual": 0.045}])
Traceback (most recent call last):
...
techcredit.exceptions.InvalidInputError: 1 invalid field(s):
  loans[0].term_months: Input should be greater than or equal to 1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from techcredit.exceptions import InvalidInputError
from techcredit.schemas import RawTables

__all__ = ["LoanRecord", "PledgeRecord", "Portfolio"]

Id = Annotated[int, Field(ge=0)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoanRecord(_Row):
    """One booked loan (table ``loans``)."""

    loan_id: Id
    firm_id: Id
    booked_on: dt.date
    term_months: Annotated[int, Field(ge=1, le=120)]
    limit_cny: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    rate_annual: Annotated[float, Field(ge=0, le=1)]


class PledgeRecord(_Row):
    """One patent pledged for a loan (table ``pledges``)."""

    loan_id: Id
    patent_id: Id
    appraised_value_cny: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    """Money value of the right at booking (the appraisal the pledge rests on)."""
    ltv: Annotated[float, Field(gt=0, le=1)]
    """Loan-to-value applied to the appraised value: secured amount = ltv x value."""


_MODELS: dict[str, type[_Row]] = {"loans": LoanRecord, "pledges": PledgeRecord}


def _validated(table: str, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    model = _MODELS[table]
    rows: list[dict[str, Any]] = []
    problems: list[tuple[object, ...]] = []
    for i, record in enumerate(records):
        try:
            rows.append(model.model_validate(dict(record)).model_dump())
        except ValidationError as exc:
            problems += [(table, i, ".".join(str(p) for p in e["loc"]) or None,
                          str(e["msg"]).removeprefix("Value error, ")) for e in exc.errors()]
        except (TypeError, ValueError):
            problems.append((table, i, None, "must be a mapping"))
    if problems:
        raise InvalidInputError(problems)
    return pd.DataFrame.from_records(rows, columns=list(model.model_fields))


def _clean(value: Any) -> Any:
    return None if value is pd.NaT or (isinstance(value, float) and value != value) else value


@dataclass(frozen=True)
class Portfolio:
    """Validated loans (with ``maturity_on``) and pledges (with ``secured_cny``).

    Build with :meth:`from_records`, :meth:`from_frames` or :meth:`read`.
    """

    loans: pd.DataFrame
    pledges: pd.DataFrame

    @classmethod
    def from_records(cls, loans: Iterable[Mapping[str, Any]],
                     pledges: Iterable[Mapping[str, Any]] = ()) -> Portfolio:
        """Validate loan and pledge records; raise naming every bad field."""
        loan_frame = _validated("loans", loans)
        pledge_frame = _validated("pledges", pledges)
        problems: list[tuple[object, ...]] = []
        dup = loan_frame["loan_id"].duplicated().to_numpy()
        problems += [("loans", i, "loan_id", "duplicate loan_id") for i in dup.nonzero()[0]]
        unknown = ~pledge_frame["loan_id"].isin(loan_frame["loan_id"]).to_numpy()
        problems += [("pledges", i, "loan_id", "no such loan") for i in unknown.nonzero()[0]]
        twice = pledge_frame.duplicated(["loan_id", "patent_id"]).to_numpy()
        problems += [("pledges", i, "patent_id", "pledged twice for the same loan")
                     for i in twice.nonzero()[0]]
        if problems:
            raise InvalidInputError(problems)
        loan_frame["booked_on"] = pd.to_datetime(loan_frame["booked_on"]).astype(
            "datetime64[ns]")
        loan_frame["maturity_on"] = [
            b + pd.DateOffset(months=int(m))
            for b, m in zip(loan_frame["booked_on"], loan_frame["term_months"], strict=True)]
        loan_frame["maturity_on"] = pd.to_datetime(loan_frame["maturity_on"]).astype(
            "datetime64[ns]")
        pledge_frame["secured_cny"] = pledge_frame["ltv"] * pledge_frame["appraised_value_cny"]
        return cls(loans=loan_frame, pledges=pledge_frame)

    @classmethod
    def from_frames(cls, loans: pd.DataFrame, pledges: pd.DataFrame | None = None
                    ) -> Portfolio:
        """Validate frames row by row (derived columns are recomputed, not trusted)."""
        def records(frame: pd.DataFrame | None, table: str) -> list[dict[str, Any]]:
            if frame is None:
                return []
            keep = [c for c in frame.columns if c not in ("maturity_on", "secured_cny")]
            fields = _MODELS[table].model_fields
            extra = [c for c in keep if c not in fields]
            if extra:
                raise InvalidInputError([(table, None, c, "unexpected column") for c in extra])
            return [{k: _clean(v) for k, v in row.items()}
                    for row in frame[keep].to_dict("records")]

        return cls.from_records(records(loans, "loans"), records(pledges, "pledges"))

    @classmethod
    def read(cls, folder: Path | str) -> Portfolio:
        """Read ``loans.csv`` and, if present, ``pledges.csv`` from a folder."""
        src = Path(folder)
        if not (src / "loans.csv").exists():
            raise InvalidInputError([("loans", None, None, f"no file {src / 'loans.csv'}")])
        pledges = (pd.read_csv(src / "pledges.csv") if (src / "pledges.csv").exists()
                   else None)
        return cls.from_frames(pd.read_csv(src / "loans.csv"), pledges)

    def write(self, folder: Path | str) -> list[Path]:
        """Write ``loans.csv`` and ``pledges.csv`` (input columns only)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "loans.csv", out / "pledges.csv"]
        loans = self.loans[list(LoanRecord.model_fields)].copy()
        loans["booked_on"] = loans["booked_on"].dt.strftime("%Y-%m-%d")
        loans.to_csv(paths[0], index=False)
        self.pledges[list(PledgeRecord.model_fields)].to_csv(paths[1], index=False)
        return paths

    def active(self, as_of: object) -> Portfolio:
        """Loans booked on or before ``as_of`` and not yet matured, with their pledges."""
        day = pd.Timestamp(as_of)
        live = (self.loans["booked_on"] <= day) & (self.loans["maturity_on"] > day)
        loans = self.loans[live].reset_index(drop=True)
        pledges = self.pledges[self.pledges["loan_id"].isin(loans["loan_id"])]
        return Portfolio(loans=loans, pledges=pledges.reset_index(drop=True))

    def check_against(self, tables: RawTables) -> None:
        """Raise naming every loan whose firm, or pledge whose patent, is not in ``tables``.

        A pledged patent must be a right of the loan's firm.
        """
        problems: list[tuple[object, ...]] = []
        known = self.loans["firm_id"].isin(tables.firms["firm_id"]).to_numpy()
        problems += [("loans", int(i), "firm_id", "no such firm in the firms table")
                     for i in (~known).nonzero()[0]]
        owner = tables.patents.set_index("patent_id")["firm_id"]
        borrower = self.pledges["loan_id"].map(self.loans.set_index("loan_id")["firm_id"])
        holder = self.pledges["patent_id"].map(owner)
        for i in (holder != borrower).to_numpy().nonzero()[0]:
            msg = ("no such patent" if pd.isna(holder.iloc[i])
                   else "not a right of the loan's firm")
            problems.append(("pledges", int(i), "patent_id", msg))
        if problems:
            raise InvalidInputError(problems)
