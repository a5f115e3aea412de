"""Platt calibration of a model's log-odds, keeping contributions additive.

``logit' = a + b * logit``. Because the map is affine in log-odds, a model's
per-feature contributions stay exact after calibration: each is multiplied by ``b``
and the bias becomes ``a + b * bias``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(3)
>>> raw = rng.normal(-2, 1, 20_000)
>>> y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 + 0.8 * raw)))).astype(int)
>>> cal = PlattCalibrator.fit(raw, y)
>>> round(cal.intercept, 1), round(cal.slope, 1)
(0.5, 0.8)
>>> PlattCalibrator.from_dict(cal.to_dict()) == cal
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from techcredit.exceptions import ModelError
from techcredit.modeling.logit import fit_logit

__all__ = ["PlattCalibrator"]


@dataclass(frozen=True)
class PlattCalibrator:
    """An affine map of log-odds fitted by logistic regression of outcomes on them."""

    intercept: float = 0.0
    slope: float = 1.0

    @classmethod
    def fit(cls, logit: np.ndarray, y: np.ndarray, *, slope: bool = True) -> PlattCalibrator:
        """Fit ``a`` and ``b`` by maximum likelihood on held-out rows.

        With ``slope=False`` only the intercept moves (``b = 1``): recalibration in the
        large, the stable choice when the rows hold few defaults.
        """
        if not slope:
            return cls(_intercept_shift(np.asarray(logit, dtype="float64"),
                                        np.asarray(y, dtype="float64")), 1.0)
        result = fit_logit(np.asarray(logit, dtype="float64")[:, None],
                           np.asarray(y, dtype="float64"))
        slope = float(result.coef[0])
        if not np.isfinite(slope) or slope <= 0:
            raise ModelError(f"calibration slope {slope} is not positive: the model's scores "
                             "do not rank the calibration rows")
        return cls(float(result.intercept), slope)

    def transform(self, logit: np.ndarray) -> np.ndarray:
        """Calibrated log-odds."""
        return self.intercept + self.slope * np.asarray(logit, dtype="float64")

    def transform_contributions(self, contrib: np.ndarray) -> np.ndarray:
        """Scale contributions (bias in the last column) so they sum to calibrated log-odds."""
        out = np.asarray(contrib, dtype="float64") * self.slope
        out[..., -1] += self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"method": "platt", "intercept": self.intercept, "slope": self.slope}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PlattCalibrator:
        """Inverse of :meth:`to_dict`."""
        if state.get("method") != "platt":
            raise ModelError(f"unknown calibration method {state.get('method')!r}")
        return cls(float(state["intercept"]), float(state["slope"]))


def _intercept_shift(logit: np.ndarray, y: np.ndarray) -> float:
    """Solve ``sum(sigmoid(a + logit)) = sum(y)`` for ``a`` by Newton's method."""
    events = float(y.sum())
    if events <= 0 or events >= len(y):
        raise ModelError("intercept calibration needs both defaults and non-defaults")
    shift = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(shift + logit)))
        step = (events - p.sum()) / max(float((p * (1 - p)).sum()), 1e-12)
        shift += step
        if abs(step) < 1e-12:
            break
    return float(shift)
