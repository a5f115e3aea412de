"""Render a fitted scorecard as one SQL expression (CASE per feature).

The expression is plain ANSI SQL that SQLite and DuckDB both run: ``IS NULL`` for
the missing bin, ``IN (...)`` for special codes and category groups, ``<`` tests for
intervals (closed on the left, as in Python), and ``ELSE`` for the ``other`` bin of a
categorical feature. Under the ``raise`` policy an unseen category makes the
feature's term, and so the score, ``NULL``: never a silent number.

Numbers are written with ``repr`` (shortest exact round trip) plus an exponent, so
both engines read them as IEEE doubles (DuckDB would read ``1.25`` as a DECIMAL).

Examples
--------
>>> sql_number(600.0), sql_number(-0.5), sql_number(1e-05)
('600.0e0', '-0.5e0', '1e-05')
>>> print(quote_identifier('a"b'), quote_string("O'Brien"))
"a""b" 'O''Brien'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from techcredit.modeling._bins import FeatureBins

__all__ = ["feature_case", "quote_identifier", "quote_string", "scorecard_sql", "sql_number"]


def sql_number(value: float) -> str:
    """A float literal both SQLite and DuckDB parse as the same double."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} as a SQL number")
    text = repr(value)
    return text if "e" in text else text + "e0"


def quote_identifier(name: str) -> str:
    """Double-quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """Single-quote an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def feature_case(bins: FeatureBins, points: np.ndarray, *, unseen_policy: str) -> str:
    """The ``CASE`` expression giving the points of one feature."""
    col = quote_identifier(bins.name)
    lines = [f"CASE WHEN {col} IS NULL THEN {sql_number(points[bins.missing_index])}"]
    for j, (_, codes) in enumerate(bins.special):
        values = ", ".join(sql_number(c) for c in codes)
        lines.append(f" WHEN {col} IN ({values}) THEN {sql_number(points[bins.n_regular + j])}")
    if bins.kind == "numerical":
        for j, split in enumerate(bins.splits):
            lines.append(f" WHEN {col} < {sql_number(split)} THEN {sql_number(points[j])}")
        lines.append(f" ELSE {sql_number(points[bins.n_regular - 1])} END")
    else:
        for j, group in enumerate(bins.groups):
            values = ", ".join(quote_string(c) for c in group)
            lines.append(f" WHEN {col} IN ({values}) THEN {sql_number(points[j])}")
        other = sql_number(points[bins.other_index]) if unseen_policy == "other" else "NULL"
        lines.append(f" ELSE {other} END")
    return "".join(lines)


def scorecard_sql(
    features: Sequence[tuple[FeatureBins, np.ndarray]],
    *,
    unseen_policy: str,
    table: str | None = None,
    alias: str = "score_points",
) -> str:
    """The total score as one SQL expression, or a ``SELECT`` from ``table``.

    The terms are added left to right in the scorecard's feature order, the order the
    Python scorer adds them in.
    """
    terms = [f"({feature_case(b, p, unseen_policy=unseen_policy)})" for b, p in features]
    expression = "\n + ".join(terms)
    if table is None:
        return expression
    return f"SELECT ({expression}) AS {quote_identifier(alias)}\nFROM {table}"
