"""Shared plumbing of the public builders: inputs to arrays, outputs to frames."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd

from techcredit.config.policy import FlagThresholds, PolicySpec, load_policy
from techcredit.features._groups import as_of_days
from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import get
from techcredit.schemas import RawTables

__all__ = ["flag_thresholds", "prepare", "to_frame"]

@lru_cache(maxsize=1)
def _default_flags() -> FlagThresholds:
    return load_policy().flags


def flag_thresholds(policy: PolicySpec | FlagThresholds | None) -> FlagThresholds:
    """Return the flag thresholds: given, or from ``models/policy.yaml`` (cached)."""
    if policy is None:
        return _default_flags()
    return policy.flags if isinstance(policy, PolicySpec) else policy


def prepare(data: RawTables | FirmArrays, as_of: object,
            firm_ids: Iterable[int] | np.ndarray | pd.Series | None,
            ) -> tuple[FirmArrays, np.ndarray, np.ndarray]:
    """Return ``(arrays, firm_ids, as_of days)``; default firms: the firms table's order."""
    arrays = data if isinstance(data, FirmArrays) else FirmArrays.from_tables(data)
    if firm_ids is None:
        ids = (data.firms["firm_id"].to_numpy(dtype=np.int64) if isinstance(data, RawTables)
               else arrays.firms.firm)
    elif isinstance(firm_ids, np.ndarray | pd.Series | pd.Index):
        ids = np.asarray(firm_ids, dtype=np.int64)
    else:
        ids = np.fromiter(firm_ids, dtype=np.int64)
    return arrays, ids, as_of_days(as_of, ids.size)


@lru_cache(maxsize=64)
def _boolean(names: tuple[str, ...]) -> np.ndarray:
    return np.array([get(n).kind == "boolean" for n in names], dtype=bool)


def to_frame(values: np.ndarray, names: tuple[str, ...], firm_ids: np.ndarray) -> pd.DataFrame:
    """Frame of an ``(n, k)`` feature array indexed by ``firm_id``.

    Boolean features become ``bool`` columns, the rest ``float64``.
    """
    is_bool = _boolean(names)
    data = {name: (col != 0) if flag else col
            for name, col, flag in zip(names, np.asarray(values).T, is_bool, strict=True)}
    return pd.DataFrame(data, index=pd.Index(firm_ids, name="firm_id"), copy=False)
