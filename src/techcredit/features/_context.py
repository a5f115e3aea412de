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

from techcredit.features._rules import legal_terms
from techcredit.features.arrays import FirmArrays

__all__ = ["Context", "make_context", "reference_month"]


def reference_month(asof: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of the last month whose filing deadline passed.

    A month's VAT declaration is due by the deadline day of the next month
    (``legal_terms.yaml``); as of the 16th of May the reference month is April, as of
    the 15th it is March.
    """
    day = asof.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    day_of_month = (day - month).astype(np.int64) + 1
    late = day_of_month > legal_terms().vat_filing_deadline_day
    return month.astype(np.int64) - 2 + late


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
    firm_ids = np.require(firm_ids, np.int64, ("C", "W"))
    asof = np.require(asof, np.int64, ("C", "W"))
    firms = a.firms.firm
    if firms.size:
        pos = np.minimum(firms.searchsorted(firm_ids), firms.size - 1)
        found = firms[pos] == firm_ids
    else:
        pos = np.zeros(firm_ids.size, dtype=np.intp)
        found = np.zeros(firm_ids.size, dtype=bool)
    return Context(firm_ids, asof, firm_ids.size, reference_month(asof), pos, found)
