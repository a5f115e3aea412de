"""Helpers on records sorted by firm, addressed through group offsets.

Every builder works on *groups*: one group per requested row (a firm and its own
``as_of`` day). A group's records are the slice ``[start, end)`` of a source's arrays,
which are sorted by firm once when they are converted from frames. :func:`expand`
lists the ``(group, record)`` pairs of many groups as two flat arrays, so one group
(serving) and 100,000 groups (training) run the same code.

Dates are ``int64`` days since 1970-01-01; a missing date is :data:`NEVER`, which is
after any ``as_of`` and therefore never "known".

Examples
--------
>>> import numpy as np
>>> firm = np.array([1, 1, 2, 5, 5, 5])
>>> starts, ends = bounds(firm, np.array([5, 3, 1]))
>>> starts.tolist(), ends.tolist()
([3, 3, 0], [6, 3, 2])
>>> grp, rec = expand(starts, ends)
>>> grp.tolist(), rec.tolist()
([0, 0, 0, 2, 2], [3, 4, 5, 0, 1])
>>> np.bincount(grp, minlength=3).tolist()  # records per group
[3, 0, 2]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techcredit.exceptions import InvalidInputError
from techcredit.features._jit import kernel, kernel_array, month_of_day

__all__ = [
    "DAYS_PER_YEAR",
    "INT_MAX",
    "INT_MIN",
    "NEVER",
    "as_of_days",
    "bounds",
    "expand",
    "filled",
    "month_of",
    "ratio",
    "to_days",
]

NEVER = np.int64(2**40)
"""Day number standing for a missing date: later than any ``as_of``."""

DAYS_PER_YEAR = 365.25
INT_MIN = int(np.iinfo(np.int64).min)
INT_MAX = int(np.iinfo(np.int64).max)


def filled(n: int, value: float, dtype: type = np.float64) -> np.ndarray:
    """``np.full`` without its Python-level overhead (hot path for one firm)."""
    out = np.empty(n, dtype=dtype)
    out.fill(value)
    return out



def to_days(values: object) -> np.ndarray:
    """Convert dates (frame column, array, scalar, str) to int64 days; NaT -> NEVER.

    Examples
    --------
    >>> to_days(np.array(["1970-01-02", "NaT"], dtype="datetime64[ns]")).tolist()
    [1, 1099511627776]
    """
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = np.asarray(pd.to_datetime(arr).to_numpy())
    nat = np.isnat(arr)
    days = arr.astype("datetime64[D]").astype(np.int64)
    if nat.any():
        days = np.where(nat, NEVER, days)
    return days


def month_of(days: np.ndarray) -> np.ndarray:
    """Return months since 1970-01 of int64 day numbers.

    Examples
    --------
    >>> month_of(np.array([0, 31, 59])).tolist()
    [0, 1, 2]
    """
    d = np.asarray(days)
    if d.dtype.kind == "M":
        d = d.astype("datetime64[D]").view(np.int64)
    out = np.empty(d.shape, dtype=np.int64)
    _months(kernel_array(d, np.int64).reshape(-1), out.reshape(-1))
    return out


@kernel
def _months(days: np.ndarray, out: np.ndarray) -> None:
    """:func:`month_of` of a flat array (numpy's calendar, ``_jit.month_of_day``)."""
    for i in range(days.size):
        out[i] = month_of_day(days[i])


def bounds(sorted_firm: np.ndarray, firm_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``[start, end)`` slice of each requested firm in a sorted firm column."""
    return (sorted_firm.searchsorted(firm_ids, side="left"),
            sorted_firm.searchsorted(firm_ids, side="right"))


def expand(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """List the ``(group, record)`` pairs of groups given by record slices.

    Returns
    -------
    grp, rec : numpy.ndarray
        Group number and record index of each pair, groups in order, records in
        their sorted order within a group.
    """
    lens = ends - starts
    if len(starts) == 1:
        return np.zeros(int(lens[0]), dtype=np.intp), np.arange(starts[0], ends[0])
    grp = np.repeat(np.arange(len(starts)), lens)
    first = np.cumsum(lens) - lens
    rec = np.arange(grp.size) - np.repeat(first - starts, lens)
    return grp, rec




def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Return ``num / den`` with NaN where ``den`` is not positive (no warnings).

    Works elementwise on arrays of any shape, so many ratios can be taken in one call
    on ``(n, k)`` matrices.

    Examples
    --------
    >>> ratio(np.array([1.0, 1.0]), np.array([4.0, 0.0])).tolist()
    [0.25, nan]
    """
    return num / np.where(den > 0, den, np.nan)  # x / NaN is NaN, without a warning


def as_of_days(as_of: object, n: int) -> np.ndarray:
    """Return ``as_of`` (one date or one per group) as an int64 day array of length ``n``.

    Examples
    --------
    >>> as_of_days("1970-01-11", 2).tolist()
    [10, 10]
    """
    if isinstance(as_of, np.ndarray) and as_of.dtype == np.int64 and as_of.shape == (n,):
        return as_of
    if isinstance(as_of, str | np.datetime64 | pd.Timestamp) or np.ndim(as_of) == 0:
        day = int(to_days(np.array([as_of], dtype="datetime64[D]"))[0])
        return filled(n, day, np.int64)
    days = to_days(as_of)
    if days.shape != (n,):
        raise InvalidInputError([("as_of", None, None,
                                  f"needs one date or {n} dates, got {days.shape[0]}")])
    if np.any(days == NEVER):
        raise InvalidInputError([("as_of", None, None, "must not be missing")])
    return days
