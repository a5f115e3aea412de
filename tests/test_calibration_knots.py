"""Monotone calibration knots rise strictly even when bin rates tie to the last bit."""

from __future__ import annotations

import numpy as np

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
