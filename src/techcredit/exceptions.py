"""Exceptions raised by techcredit.

Every error the library raises on purpose derives from :class:`TechCreditError`, so a
caller can catch the library's errors without catching programming errors.

Examples
--------
>>> from techcredit.exceptions import InvalidInputError
>>> err = InvalidInputError([("invoices", 3, "amount_cny", "must be finite")])
>>> err.fields
['invoices[3].amount_cny']
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "InvalidInputError",
    "ModelError",
    "RegistryError",
    "TechCreditError",
]


class TechCreditError(Exception):
    """Base class of every error techcredit raises on purpose."""


class InvalidInputError(TechCreditError, ValueError):
    """Input data is malformed; the message names every bad field.

    Parameters
    ----------
    problems : iterable of (table, row, field, message) tuples, or a plain message
        ``table`` is the record type (``"invoices"``), ``row`` the position or id of the
        bad record (``None`` for a whole-table problem) and ``field`` the column.

    Attributes
    ----------
    problems : list of tuple
        The problems as given, in order.
    fields : list of str
        ``table[row].field`` for each problem, the form used in the message.
    """

    def __init__(self, problems: Iterable[Sequence[object]] | str) -> None:
        if isinstance(problems, str):
            self.problems: list[tuple[object, ...]] = []
            self.fields: list[str] = []
            super().__init__(problems)
            return
        self.problems = [tuple(p) for p in problems]
        self.fields = [_locate(p[0], p[1], p[2]) for p in self.problems]
        lines = [f"{loc}: {p[3]}" for loc, p in zip(self.fields, self.problems, strict=True)]
        head = f"{len(lines)} invalid field(s)"
        shown = lines[:50]
        more = f"\n  ... and {len(lines) - 50} more" if len(lines) > 50 else ""
        super().__init__(head + ":\n  " + "\n  ".join(shown) + more)


def _locate(table: object, row: object, field: object) -> str:
    where = str(table)
    if row is not None:
        where += f"[{row}]"
    if field is not None:
        where += f".{field}"
    return where


class ConfigError(TechCreditError, ValueError):
    """A YAML specification under ``models/`` or ``mlflow.yaml`` is invalid."""


class ModelError(TechCreditError):
    """A model or bundle cannot be used: not fitted, corrupt, or tampered with."""


class RegistryError(TechCreditError):
    """The model registry cannot resolve, load or record a model."""
