"""The segment router: ``micro``, ``tech_startup`` or ``tech_growth`` per application.

Rules live in ``models/segments.yaml``; they read catalogue features, so training and
serving route the same way.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"rnd_hightech_valid_now": [1.0, 0.0, 0.0],
...     "rnd_techsme_valid_now": [0.0, 0.0, 0.0], "rnd_specialized_valid_now": [0.0] * 3,
...     "ip_class1_count_now": [0, 2, 0], "rnd_intensity_sales_3y": [0.01, None, None],
...     "firm_age_years_now": [1.5, 6.0, 9.0]})
>>> route(X).tolist()
['tech_startup', 'tech_growth', 'micro']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techcredit.config._base import COMPARISONS, PerSpec
from techcredit.config.segments import SEGMENTS, SegmentSpec, load_segment_spec
from techcredit.exceptions import InvalidInputError
from techcredit.features._jit import holds, kernel

__all__ = ["SEGMENTS", "route", "route_columns"]

_NAMES = np.array(SEGMENTS, dtype=object)


@dataclass(frozen=True, eq=False)
class _Router:
    """A :class:`SegmentSpec`'s conditions as arrays (tech ones first), built once."""

    features: tuple[str, ...]
    """Features the router reads, sorted (what a missing-feature error lists)."""
    columns: tuple[str, ...]
    """The feature of each condition."""
    ops: np.ndarray
    """Each condition's comparison, as its index in :data:`~techcredit.config._base.COMPARISONS`."""
    values: np.ndarray
    tech: np.ndarray
    """Whether each condition is a tech condition (else a start-up one)."""

    @classmethod
    def build(cls, spec: SegmentSpec) -> _Router:
        conditions = (*spec.tech_if_any, *spec.startup_if_any)
        return cls(features=tuple(spec.features()),
                   columns=tuple(c.feature for c in conditions),
                   ops=np.array([COMPARISONS.index(c.op) for c in conditions], dtype=np.int64),
                   values=np.array([c.value for c in conditions], dtype=np.float64),
                   tech=np.arange(len(conditions)) < len(spec.tech_if_any))


_ROUTERS: PerSpec[SegmentSpec, _Router] = PerSpec(_Router.build)


@kernel
def _route(x: np.ndarray, ops: np.ndarray, values: np.ndarray, tech: np.ndarray,
           out: np.ndarray) -> None:
    """Segment index per column of ``x`` (one row per condition): 0 unless a tech
    condition holds, then 1 when a start-up condition holds too, else 2. A condition
    never holds on NaN (as :func:`techcredit.config._base.compare`)."""
    for i in range(x.shape[1]):
        is_tech, is_startup = False, False
        for j in range(ops.size):
            if holds(x[j, i], ops[j], values[j]):
                if tech[j]:
                    is_tech = True
                else:
                    is_startup = True
        out[i] = 0 if not is_tech else (1 if is_startup else 2)


def route(features: pd.DataFrame, spec: SegmentSpec | None = None) -> np.ndarray:
    """Return the segment name of every row (an object array).

    Raises
    ------
    InvalidInputError
        If a feature the rules read is missing from ``features``.
    """
    spec = spec or load_segment_spec()
    columns = {f: features[f].to_numpy(dtype="float64", na_value=np.nan)
               for f in spec.features() if f in features.columns}
    return route_columns(columns, spec)  # names what is missing


def route_columns(columns: Mapping[str, np.ndarray], spec: SegmentSpec) -> np.ndarray:
    """:func:`route` on float64 feature columns by name (the serving path, no pandas)."""
    router = _ROUTERS.of(spec)
    missing = [f for f in router.features if f not in columns]
    if missing:
        raise InvalidInputError([("features", None, f, "needed by the segment router")
                                 for f in missing])
    n = len(columns[router.columns[0]])
    x = np.array([columns[f] for f in router.columns], dtype=np.float64).reshape(
        len(router.columns), n)
    out = np.empty(n, dtype=np.intp)
    _route(x, router.ops, router.values, router.tech, out)
    return _NAMES[out]
