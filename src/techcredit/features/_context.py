"""What every block needs about the requested groups, computed once per build.

Examples
--------
>>> d = np.array(["2024-05-15", "2024-05-16"], dtype="datetime64[D]").astype(np.int64)
>>> (reference_month(d) % 12 + 1).tolist()  # calendar month of the reference month
[3, 4]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from techcredit.features._jit import kernel, kernel_array, month_of_day, month_start_day
from techcredit.features._rules import legal_terms
from techcredit.features.arrays import FirmArrays

__all__ = ["Context", "make_context", "reference_month"]


def reference_month(asof: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of the last month whose filing deadline passed.

    A month's VAT declaration is due by the deadline day of the next month
    (``legal_terms.yaml``); as of the 16th of May the reference month is April, as of
    the 15th it is March.
    """
    a = np.asarray(asof)
    days = a.astype("datetime64[D]").view(np.int64) if a.dtype.kind == "M" else a
    out = np.empty(a.shape, dtype=np.int64)
    _reference_months(kernel_array(days, np.int64).reshape(-1),
                      legal_terms().vat_filing_deadline_day, out.reshape(-1))
    return out


@kernel
def _reference_months(days: np.ndarray, deadline_day: int, out: np.ndarray) -> None:
    """:func:`reference_month` of day numbers (days since 1970-01-01)."""
    for i in range(days.size):
        month = month_of_day(days[i])
        late = days[i] - month_start_day(month) + 1 > deadline_day
        out[i] = month - 2 + (1 if late else 0)


@dataclass(frozen=True, slots=True)
class Context:
    """The requested groups: one firm and one ``as_of`` day each."""

    firm_ids: np.ndarray
    asof: np.ndarray
    """int64 days since 1970-01-01."""
    n: int
    ref: np.ndarray
    """Reference month of each group (see :func:`reference_month`)."""
    pos: np.ndarray
    """Row of each firm in ``FirmArrays.firms`` (valid where ``found``)."""
    found: np.ndarray
    """The firm has a registry profile."""


def make_context(a: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray) -> Context:
    """Build the :class:`Context` of groups ``(firm_ids[i], asof[i])``.

    The ids and days are taken as writable contiguous int64 arrays (copied only when they
    are not, e.g. a read-only view of a frame column), so the compiled kernels see one
    array type and are compiled once.
    """
    firm_ids, asof = kernel_array(firm_ids, np.int64), kernel_array(asof, np.int64)
    firms = a.firms.firm
    if firms.size:
        pos = np.minimum(firms.searchsorted(firm_ids), firms.size - 1)
        found = firms[pos] == firm_ids
    else:
        pos = np.zeros(firm_ids.size, dtype=np.intp)
        found = np.zeros(firm_ids.size, dtype=bool)
    return Context(firm_ids, asof, firm_ids.size, reference_month(asof), pos, found)
