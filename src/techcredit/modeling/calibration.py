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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from techcredit.exceptions import ModelError
from techcredit.features._jit import kernel, kernel_array, pairwise_sum
from techcredit.modeling.logit import fit_logit

__all__ = ["Calibrator", "MonotoneCalibrator", "PlattCalibrator", "calibrator_from_dict"]


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


@dataclass(frozen=True)
class MonotoneCalibrator:
    """A strictly increasing piecewise-linear map of log-odds, fitted by binned PAV.

    Knots are the mean raw log-odds of equal-count bins of the calibration rows and the
    log-odds of their observed default rates, made monotone by pool-adjacent-violators
    (pooled bins merge into one knot). Between knots the map is linear; beyond the end
    knots it continues with slope ``tail_slope`` (a Platt slope fitted on the same rows).

    Contributions stay exact: a row with bias ``b`` and log-odds ``L`` has every
    feature contribution scaled by ``(g(L) - g(b)) / (L - b)`` and its bias set to ``g(b)``,
    so they sum to ``g(L)`` and keep their order within the row.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> raw = rng.normal(-2.5, 1.2, 40_000)
    >>> true = np.where(raw < -3, -4.0 + 0.2 * (raw + 3), -4.0 + 1.3 * (raw + 3))
    >>> y = (rng.random(40_000) < 1 / (1 + np.exp(-true))).astype(int)
    >>> cal = MonotoneCalibrator.fit(raw, y, bins=20)
    >>> bool(np.all(np.diff(cal.knots_y) > 0))
    True
    >>> contrib = np.array([[0.4, -0.1, -2.5]])
    >>> out = cal.transform_contributions(contrib)
    >>> bool(np.isclose(out.sum(), cal.transform(contrib.sum(axis=1))[0]))
    True
    >>> MonotoneCalibrator.from_dict(cal.to_dict()) == cal
    True
    """

    knots_x: tuple[float, ...]
    knots_y: tuple[float, ...]
    tail_slope: float
    _x: np.ndarray = field(init=False, repr=False, compare=False)
    _y: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the knots as arrays once: a single-row transform otherwise converts them each call
        object.__setattr__(self, "_x", np.asarray(self.knots_x, dtype=np.float64))
        object.__setattr__(self, "_y", np.asarray(self.knots_y, dtype=np.float64))

    @classmethod
    def fit(cls, logit: np.ndarray, y: np.ndarray, *, bins: int = 20,
            min_events_per_bin: int = 25, prior_strength: float = 2.0) -> MonotoneCalibrator:
        """Fit on held-out rows: equal-count bins, smoothed rates, PAV, merged knots.

        Fewer bins are used when the rows hold fewer than ``bins * min_events_per_bin``
        defaults, so each knot rests on enough defaults (at least two bins).
        """
        raw = np.asarray(logit, dtype="float64")
        target = np.asarray(y, dtype="float64")
        order = np.argsort(raw, kind="stable")
        raw, target = raw[order], target[order]
        n_bins = max(2, min(bins, int(target.sum()) // min_events_per_bin))
        groups = np.array_split(np.arange(len(raw)), n_bins)
        x = np.array([raw[g].mean() for g in groups])
        n = np.array([len(g) for g in groups], dtype="float64")
        base = target.mean()
        rate = np.array([(target[g].sum() + prior_strength * base) / (len(g) + prior_strength)
                         for g in groups])
        x, rate, n = _merge_equal_x(x, rate, n)  # tied scores (a scorecard's points)
        x, rate, n = _pool_adjacent_violators(x, rate, n)
        if len(x) < 2:
            raise ModelError("monotone calibration found no increasing relation between the "
                             "model's scores and the outcomes")
        tail = PlattCalibrator.fit(np.asarray(logit), np.asarray(y)).slope
        knots_y = np.log(rate / (1 - rate))
        return cls(tuple(float(v) for v in x), tuple(float(v) for v in knots_y), float(tail))

    def transform(self, logit: np.ndarray) -> np.ndarray:
        """Calibrated log-odds."""
        values = np.asarray(logit, dtype="float64")
        out = np.empty(values.size)
        _calibrate_values(kernel_array(values.ravel()), self._x, self._y, self.tail_slope, out)
        return out.reshape(values.shape)

    def transform_contributions(self, contrib: np.ndarray) -> np.ndarray:
        """Scale each row's contributions (bias last) so they sum to calibrated log-odds."""
        values = np.array(contrib, dtype="float64", ndmin=2)  # this call's own copy
        _calibrate_rows(values, self._x, self._y, self.tail_slope)
        return values.reshape(np.shape(contrib))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"method": "monotone", "knots_x": list(self.knots_x),
                "knots_y": list(self.knots_y), "tail_slope": self.tail_slope}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> MonotoneCalibrator:
        """Inverse of :meth:`to_dict`."""
        if state.get("method") != "monotone":
            raise ModelError(f"not a monotone calibration: {state.get('method')!r}")
        x, y = np.asarray(state["knots_x"], float), np.asarray(state["knots_y"], float)
        if len(x) < 2 or len(x) != len(y) or np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):
            raise ModelError("monotone calibration knots must be strictly increasing pairs")
        return cls(tuple(x.tolist()), tuple(y.tolist()), float(state["tail_slope"]))


def _merge_equal_x(x: np.ndarray, rate: np.ndarray, n: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge adjacent bins whose mean scores are equal (weights ``n``)."""
    keys = np.concatenate(([0], np.cumsum(np.diff(x) > 1e-12)))
    weight = np.bincount(keys, weights=n)
    return (np.bincount(keys, weights=x * n) / weight,
            np.bincount(keys, weights=rate * n) / weight, weight)


def _pool_adjacent_violators(x: np.ndarray, rate: np.ndarray, n: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge adjacent bins until rates strictly increase (weights ``n``)."""
    xs, rs, ns = [float(x[0])], [float(rate[0])], [float(n[0])]
    for xi, ri, ni in zip(x[1:], rate[1:], n[1:], strict=True):
        xs.append(float(xi))
        rs.append(float(ri))
        ns.append(float(ni))
        # pool ties too (to 1e-9 relative): knots must rise strictly after the log-odds map
        while len(rs) > 1 and (rs[-1] <= rs[-2] * (1 + 1e-9) or xs[-1] <= xs[-2]):
            w = ns[-1] + ns[-2]
            merged_x = (xs[-1] * ns[-1] + xs[-2] * ns[-2]) / w
            merged_r = (rs[-1] * ns[-1] + rs[-2] * ns[-2]) / w
            xs[-2:], rs[-2:], ns[-2:] = [merged_x], [merged_r], [w]
    return np.array(xs), np.array(rs), np.array(ns)


Calibrator = PlattCalibrator | MonotoneCalibrator


def calibrator_from_dict(state: dict[str, Any]) -> Calibrator:
    """Rebuild a calibrator from its JSON state, whatever its method."""
    method = state.get("method")
    if method == "platt":
        return PlattCalibrator.from_dict(state)
    if method == "monotone":
        return MonotoneCalibrator.from_dict(state)
    raise ModelError(f"unknown calibration method {method!r}")


@kernel
def _interp(v: float, x: np.ndarray, y: np.ndarray) -> float:
    """``np.interp(v, x, y)`` for strictly increasing knots, in numpy's arithmetic."""
    if np.isnan(v):
        return v
    if v < x[0]:
        return y[0]
    last = x.size - 1
    if v >= x[last]:
        return y[last]
    j = np.searchsorted(x, v, side="right") - 1  # x[j] <= v < x[j + 1]
    if x[j] == v:
        return y[j]
    return (y[j + 1] - y[j]) / (x[j + 1] - x[j]) * (v - x[j]) + y[j]


@kernel
def _calibrated(v: float, x: np.ndarray, y: np.ndarray, tail: float) -> float:
    """The calibration map: linear between knots, slope ``tail`` beyond the end knots."""
    last = x.size - 1
    if v < x[0]:
        return y[0] + tail * (v - x[0])
    if v > x[last]:
        return y[last] + tail * (v - x[last])
    return _interp(v, x, y)


@kernel
def _slope(v: float, x: np.ndarray, y: np.ndarray, tail: float) -> float:
    """Slope of the calibration map at ``v`` (the segment starting below it)."""
    if v < x[0] or v > x[x.size - 1]:
        return tail
    seg = min(max(np.searchsorted(x, v, side="left") - 1, 0), x.size - 2)
    return (y[seg + 1] - y[seg]) / (x[seg + 1] - x[seg])


@kernel
def _calibrate_values(values: np.ndarray, x: np.ndarray, y: np.ndarray, tail: float,
                      out: np.ndarray) -> None:
    for i in range(values.size):
        out[i] = _calibrated(values[i], x, y, tail)


@kernel
def _calibrate_rows(values: np.ndarray, x: np.ndarray, y: np.ndarray, tail: float) -> None:
    """Scale each row of ``values`` (contributions, bias last) in place so it sums to the
    calibrated log-odds of its total; the bias becomes the calibrated bias."""
    last = values.shape[1] - 1
    for i in range(values.shape[0]):
        total = pairwise_sum(values[i])
        bias = values[i, last]
        calibrated_bias = _calibrated(bias, x, y, tail)
        span = total - bias
        if np.abs(span) < 1e-9:  # no feature moves the row: the local slope
            scale = _slope(total, x, y, tail)
        else:
            scale = (_calibrated(total, x, y, tail) - calibrated_bias) / span
        for j in range(last):
            values[i, j] *= scale
        values[i, last] = calibrated_bias
