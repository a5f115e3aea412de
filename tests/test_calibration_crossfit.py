"""Cross-fitted calibration: folds, calibration metrics against a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from techcredit.config.boosting import ValidationSpec, load_validation_spec
from techcredit.exceptions import InvalidInputError
from techcredit.modeling import metrics
from techcredit.modeling.calibration import MonotoneCalibrator
from techcredit.pipeline.train import stability_reference, stratified_folds


@settings(max_examples=60, deadline=None)
@given(n_good=st.integers(0, 300), n_bad=st.integers(0, 80), folds=st.integers(2, 7),
       seed=st.integers(0, 2**32 - 1))
def test_folds_balance_defaults_and_rows(n_good: int, n_bad: int, folds: int,
                                         seed: int) -> None:
    y = np.r_[np.zeros(n_good, int), np.ones(n_bad, int)]
    y = np.random.default_rng(seed).permutation(y)
    fold = stratified_folds(y, folds, seed)
    assert fold.shape == y.shape
    assert set(np.unique(fold)) <= set(range(folds))
    for cls in (0, 1):
        counts = np.bincount(fold[y == cls], minlength=folds)
        assert counts.max() - counts.min() <= 1
    rows = np.bincount(fold, minlength=folds)
    assert rows.max() - rows.min() <= 1
    np.testing.assert_array_equal(fold, stratified_folds(y, folds, seed))


def test_calibration_against_truth_measures_bias_not_outcome_noise() -> None:
    rng = np.random.default_rng(4)
    truth = 1 / (1 + np.exp(-rng.normal(-2.2, 1.0, 20_000)))
    exact = metrics.calibration_against_truth(truth, truth)
    assert exact["gap"].max() == 0.0
    assert exact["noise"].max() == 0.0
    assert exact["n"].sum() == 20_000
    shifted = metrics.calibration_against_truth(truth + 0.02, truth)
    np.testing.assert_allclose(shifted["gap"], 0.02, atol=1e-12)
    # A noisy but unbiased prediction: gaps stay near its own noise band.
    noisy = np.clip(truth + rng.normal(0, 0.05, truth.size), 1e-4, 1 - 1e-4)
    table = metrics.calibration_against_truth(noisy, truth)
    assert table["expected_pd"].is_monotonic_increasing
    assert (table["noise"] > 0).all()
    with pytest.raises(InvalidInputError, match="true_pd"):
        metrics.calibration_against_truth([0.1, 0.2], [0.1])


def test_calibration_summary_agrees_with_the_decile_table() -> None:
    rng = np.random.default_rng(8)
    prob = 1 / (1 + np.exp(-rng.normal(-2, 1, 5000)))
    y = (rng.random(5000) < prob * 1.3).astype(int)  # observed rates 30 % above
    table = metrics.calibration_by_decile(y, prob)
    out = metrics.calibration_summary(y, prob)
    gap = (table["expected_pd"] - table["observed_rate"]).abs()
    assert out["calibration_error"] == pytest.approx(gap.max())
    assert out["calibration_error_mean"] == pytest.approx(gap.mean())
    assert 0 < out["calibration_excess"] < out["calibration_error"]
    calibrated = (rng.random(5000) < prob).astype(int)
    assert metrics.calibration_summary(calibrated, prob)["calibration_excess"] < 0.01


def test_out_of_fold_logits_calibrate_a_model_scaled_wrong() -> None:
    """The map learned from held-out log-odds undoes a model's over-confidence."""
    rng = np.random.default_rng(2)
    true_logit = rng.normal(-2.3, 0.9, 30_000)
    y = (rng.random(true_logit.size) < 1 / (1 + np.exp(-true_logit))).astype(int)
    model_logit = 1.6 * true_logit + 1.0  # over-confident and shifted
    cal = MonotoneCalibrator.fit(model_logit, y, bins=20, min_events_per_bin=25)
    prob = 1 / (1 + np.exp(-cal.transform(model_logit)))
    raw = 1 / (1 + np.exp(-model_logit))
    truth = 1 / (1 + np.exp(-true_logit))
    assert metrics.calibration_against_truth(raw, truth)["gap"].max() > 0.05
    assert metrics.calibration_against_truth(prob, truth)["gap"].max() < 0.01


def test_validation_spec_names_the_scheme() -> None:
    spec = load_validation_spec()
    assert spec.calibration.scheme in {"cross_fit", "holdout"}
    assert spec.calibration.folds >= 2
    assert spec.stability.bins >= 2
    # the pydantic model guarantees the above; what could change is the reviewed default
    assert (spec.calibration.scheme, spec.calibration.folds) == ("cross_fit", 5)
    with pytest.raises(ValidationError, match="scheme"):
        ValidationSpec.model_validate({**spec.model_dump(), "calibration": {
            **spec.calibration.model_dump(), "scheme": "bootstrap"}})


def test_stability_reference_follows_the_psi_convention() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=1000),
                          "k": rng.integers(0, 3, 1000).astype(float)})
    frame.loc[:99, "x"] = np.nan
    seg = np.where(np.arange(1000) < 700, "micro", "tech_growth")
    ref = stability_reference(frame, seg, rng.random(1000), ["x", "k"], bins=10)
    x = ref["features"]["x"]
    assert x["n"] == 1000
    assert x["missing_share"] == pytest.approx(0.1)
    assert sum(x["shares"]) + x["missing_share"] == pytest.approx(1.0)
    assert len(x["shares"]) == len(x["edges"]) + 1 == 10
    expected = metrics.psi_table(frame["x"], frame["x"], bins=10)["expected_share"]
    np.testing.assert_allclose(x["shares"] + [x["missing_share"]], expected.to_numpy())
    k = ref["features"]["k"]
    assert k["edges"] == [0.0, 1.0, 2.0]  # repeated quantiles collapse to unique edges
    assert k["shares"][-1] == 0.0  # (2, inf] holds nothing, as in psi_table
    assert sum(k["shares"]) == pytest.approx(1.0)
    assert k["missing_share"] == 0.0
    assert ref["segments"] == {"micro": 0.7, "tech_growth": 0.3}
    assert sum(ref["prob_default"]["micro"]["shares"]) == pytest.approx(1.0)
    assert ref["prob_default"]["micro"]["n"] == 700  # each segment's PD on its own rows
