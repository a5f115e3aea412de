"""Monotone calibration: knots rise strictly; the compiled contribution map is numpy's."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.modeling.calibration import MonotoneCalibrator, _pool_adjacent_violators


def test_rates_equal_to_a_few_ulps_are_pooled() -> None:
    rate = np.array([0.02, 0.026315789473684210, 0.026315789473684216, 0.05])
    x, r, n = _pool_adjacent_violators(np.array([-4.0, -3.5, -3.0, -2.0]), rate,
                                       np.full(4, 100.0))
    assert len(x) == 3
    y = np.log(r / (1 - r))
    assert np.all(np.diff(y) > 0)
    cal = MonotoneCalibrator(tuple(x), tuple(y), 1.0)
    assert MonotoneCalibrator.from_dict(cal.to_dict()) == cal
    assert n.sum() == 400.0


def _numpy_map(cal: MonotoneCalibrator, v: np.ndarray) -> np.ndarray:
    """The map written with numpy.interp (the implementation before the compiled one)."""
    x, y = np.asarray(cal.knots_x), np.asarray(cal.knots_y)
    out = np.interp(v, x, y)
    out = np.where(v < x[0], y[0] + cal.tail_slope * (v - x[0]), out)
    return np.where(v > x[-1], y[-1] + cal.tail_slope * (v - x[-1]), out)


def _numpy_contributions(cal: MonotoneCalibrator, contrib: np.ndarray) -> np.ndarray:
    """The contribution scaling written with numpy (before the compiled one)."""
    x, y = np.asarray(cal.knots_x), np.asarray(cal.knots_y)

    def g(v: np.ndarray) -> np.ndarray:
        return _numpy_map(cal, v)

    values = np.array(contrib, dtype=np.float64)
    total, bias = values.sum(axis=1), values[:, -1]
    seg = np.clip(np.searchsorted(x, total) - 1, 0, len(x) - 2)
    slope = np.where((total < x[0]) | (total > x[-1]), cal.tail_slope,
                     (y[seg + 1] - y[seg]) / (x[seg + 1] - x[seg]))
    span = total - bias
    close = np.abs(span) < 1e-9
    calibrated_bias = g(bias)
    scale = np.where(close, slope, (g(total) - calibrated_bias) / np.where(close, 1.0, span))
    values *= scale[:, None]
    values[:, -1] = calibrated_bias
    return values


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.01, 2.0), st.floats(0.01, 2.0)), min_size=1,
                      max_size=12),
       start=st.tuples(st.floats(-8.0, 0.0), st.floats(-8.0, 0.0)),
       tail=st.floats(0.1, 2.0),
       rows=st.lists(st.lists(st.floats(-4.0, 4.0), min_size=3, max_size=40), min_size=1,
                     max_size=6),
       on_knot=st.booleans())
def test_compiled_contributions_equal_the_numpy_map_bit_for_bit(steps, start, tail, rows,
                                                                on_knot) -> None:
    x = np.cumsum([start[0], *(s[0] for s in steps)])
    y = np.cumsum([start[1], *(s[1] for s in steps)])
    cal = MonotoneCalibrator(tuple(x.tolist()), tuple(y.tolist()), tail)
    width = min(len(r) for r in rows)
    contrib = np.array([r[:width] for r in rows])
    if on_knot:  # totals exactly on a knot; a row no feature moves, one barely moved
        contrib[0, :-1] = 0.0
        contrib[0, -1] = x[len(x) // 2]
        contrib[-1, 0] += 1e-10 - contrib[-1, :-1].sum()
    np.testing.assert_array_equal(cal.transform_contributions(contrib),
                                  _numpy_contributions(cal, contrib))
    totals = np.concatenate([contrib.sum(axis=1), x, [x[0] - 1.0, x[-1] + 1.0, np.nan]])
    np.testing.assert_array_equal(cal.transform(totals), _numpy_map(cal, totals))
