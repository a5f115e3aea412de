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

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from techcredit.config.segments import SEGMENTS, Condition, SegmentSpec, load_segment_spec
from techcredit.exceptions import InvalidInputError

__all__ = ["SEGMENTS", "route", "route_columns"]



def _any(conditions: Sequence[Condition], columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    hit = np.zeros(n, dtype=bool)
    for c in conditions:
        hit |= c.holds(columns)
    return hit


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
    missing = [f for f in spec.features() if f not in columns]
    if missing:
        raise InvalidInputError([("features", None, f, "needed by the segment router")
                                 for f in missing])
    n = len(columns[spec.features()[0]])
    tech = _any(spec.tech_if_any, columns, n)
    startup = _any(spec.startup_if_any, columns, n)
    names = np.array(SEGMENTS, dtype=object)
    return names[np.where(~tech, 0, np.where(startup, 1, 2))]
