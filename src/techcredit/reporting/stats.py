"""Interval statistics the report needs beyond :mod:`techcredit.modeling.metrics`.

``metrics`` gives AUC and KS with bootstrap intervals (``validation.json`` stores
them); the report adds DeLong's analytic AUC interval, the Gini interval implied by an
AUC interval, and Wilson intervals for observed default rates (calibration error bars).

Examples
--------
>>> ci = delong_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> round(ci.estimate, 4)
0.75
>>> low, high = wilson_bounds(np.array([5]), np.array([100]))
>>> round(float(low[0]), 4), round(float(high[0]), 4)
(0.0215, 0.1118)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from techcredit.modeling import metrics
from techcredit.modeling.metrics import ConfidenceInterval

__all__ = ["delong_ci", "gini_interval", "wilson_bounds"]


def delong_ci(y: Any, score: Any, *, level: float = 0.95) -> ConfidenceInterval:
    """AUC with DeLong's (1988) normal interval, clipped to [0, 1].

    Uses the mid-rank formulation of Sun and Xu (2014): O(n log n).

    Raises
    ------
    InvalidInputError
        As :func:`techcredit.modeling.metrics.auc`: ``y`` not 0/1, lengths that differ,
        a missing score, or one class absent.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> ci = delong_ci(y, y + rng.normal(0, 1, 400))
    >>> ci.lower < ci.estimate < ci.upper, ci.level
    (True, 0.95)
    """
    auc = metrics.auc(y, score)  # validates y and score (0/1, lengths, NaN, both classes)
    y_arr, s = np.asarray(y), np.asarray(score, dtype=np.float64)
    pos, neg = s[y_arr == 1], s[y_arr == 0]
    m, n = len(pos), len(neg)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n  # per event: share of non-events below
    v01 = 1.0 - (all_ranks[m:] - rankdata(neg)) / m  # per non-event: share of events above
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n
                                                          if n > 1 else 0.0)
    half = float(ndtri(0.5 + level / 2)) * float(np.sqrt(var))
    return ConfidenceInterval(auc, max(0.0, auc - half), min(1.0, auc + half), level)


def gini_interval(auc_low: float, auc_high: float) -> tuple[float, float]:
    """Gini interval from an AUC interval (Gini = 2 AUC - 1 is increasing in AUC).

    Examples
    --------
    >>> gini_interval(0.7, 0.8)
    (0.4, 0.6)
    """
    return round(2 * auc_low - 1, 12), round(2 * auc_high - 1, 12)


def wilson_bounds(events: np.ndarray, n: np.ndarray, *, level: float = 0.95
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``events / n`` for arrays of counts (n > 0).

    Examples
    --------
    >>> low, high = wilson_bounds(np.array([0, 10]), np.array([20, 20]))
    >>> low.round(3).tolist(), high.round(3).tolist()
    ([0.0, 0.299], [0.161, 0.701])
    """
    k = np.asarray(events, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    z = float(ndtri(0.5 + level / 2))
    p = k / total
    denom = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / denom
    half = z * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
