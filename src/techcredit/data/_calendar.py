"""Month arithmetic on numpy ``datetime64`` values, vectorised.

Months are counted as ``year * 12 + month - 1`` ("month index") so that adding and
subtracting months is integer arithmetic.

Examples
--------
>>> import numpy as np
>>> m = month_index(np.array(["2024-02-29"], dtype="datetime64[D]"))
>>> month_start(m + 1)
array(['2024-03-01'], dtype='datetime64[D]')
>>> days_in_month(m)
array([29])
"""

from __future__ import annotations

import numpy as np

__all__ = ["days_in_month", "month_index", "month_of_year", "month_start"]


def month_index(days: np.ndarray) -> np.ndarray:
    """Return ``year * 12 + month - 1`` of each ``datetime64[D]`` value."""
    months = days.astype("datetime64[M]").astype("int64")
    return months + 1970 * 12


def month_start(index: np.ndarray) -> np.ndarray:
    """Return the first day (``datetime64[D]``) of each month index."""
    return (np.asarray(index, dtype="int64") - 1970 * 12).astype("datetime64[M]").astype(
        "datetime64[D]"
    )


def month_of_year(index: np.ndarray) -> np.ndarray:
    """Return the calendar month 1..12 of each month index."""
    return np.asarray(index, dtype="int64") % 12 + 1


def days_in_month(index: np.ndarray) -> np.ndarray:
    """Return the number of days in each month index."""
    start = month_start(index)
    end = month_start(np.asarray(index, dtype="int64") + 1)
    return (end - start).astype("int64")
