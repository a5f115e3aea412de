"""The training job, the bundle it writes and the models it loads back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from techcredit.config import default_models_dir
from techcredit.config.boosting import load_validation_spec
from techcredit.config.rating import load_valuation_spec
from techcredit.data import generate
from techcredit.decision.bundle import verify_bundle
from techcredit.decision.models import BundleModels
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.modeling import metrics
from techcredit.modeling.boosting import BoostedModel
from techcredit.modeling.calibration import MonotoneCalibrator, PlattCalibrator
from techcredit.modeling.segments import route
from techcredit.pipeline.train import (
    TrainResult,
    baseline_rows,
    split_out_of_time,
    train,
    training_frame,
)
from techcredit.rating.patents import CitationCohorts


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, pd.DataFrame]:
    tables = generate(3000, seed=21)
    # The cross-fitted scheme (the CLI demo test covers the YAML default).
    models = tmp_path_factory.mktemp("models")
    shutil.copytree(default_models_dir(), models, dirs_exist_ok=True)
    spec = models / "validation.yaml"
    spec.write_text(re.sub(r"scheme: \w+", "scheme: cross_fit", spec.read_text()))
    result = train(tables, tmp_path_factory.mktemp("b") / "bundle", progress=False,
                   models_dir=models)
    features, _, _ = training_frame(tables)
    return result, features


def test_bundle_has_every_segment_and_both_models(trained) -> None:
    result, _ = trained
    assert sorted(result.validation["segments"]) == ["micro", "tech_growth", "tech_startup"]
    for entry in result.validation["segments"].values():
        assert {entry["champion"], entry["challenger"]} == {"scorecard", "xgboost"}
        for values in entry["models"].values():
            assert 0.5 < values["auc"] <= 1
            assert values["auc_low"] <= values["auc"] <= values["auc_high"]
            assert 0 <= values["calibration_error"] <= 1
            assert values["psi"] >= 0
    manifest = verify_bundle(result.bundle_dir)
    assert "segments/micro/xgboost.ubj" in manifest["files"]
    assert manifest["data_snapshot_sha256"] == result.snapshot_sha256
    assert not list(result.bundle_dir.rglob("*.pkl"))
    assert result.metrics()["micro.xgboost.auc"] == result.validation["segments"]["micro"][
        "models"]["xgboost"]["auc"]


def test_loaded_bundle_predicts_like_the_models_it_holds(trained) -> None:
    result, features = trained
    models = BundleModels.load(result.bundle_dir)
    scored = models.predict_features(features)
    assert scored["prob_default"].between(0, 1).all()
    assert set(scored["segment"]) == {"micro", "tech_startup", "tech_growth"}
    np.testing.assert_array_equal(scored["segment"].to_numpy(), route(features))
    # Contributions of the champion sum to its calibrated log-odds, row by row.
    for seg, seg_models in models.segments.items():
        rows = features[scored["segment"] == seg].iloc[:50]
        contrib = seg_models.champion.contributions(rows)
        logit = np.log(scored.loc[rows.index, "prob_default"] /
                       (1 - scored.loc[rows.index, "prob_default"]))
        np.testing.assert_allclose(contrib.sum(axis=1), logit, atol=1e-5)  # float32 trees
    # A second load scores identically (deterministic).
    again = BundleModels.load(result.bundle_dir).predict_features(features)
    pd.testing.assert_frame_equal(scored, again)
    # One row at a time equals the batch.
    one = pd.concat([models.predict_features(features.iloc[[i]]) for i in range(20)])
    pd.testing.assert_frame_equal(one, scored.iloc[:20])


@pytest.mark.parametrize("victim", ["bundle.json", "segments/micro/xgboost.ubj",
                                    "segments/tech_growth/scorecard.json",
                                    "validation.json"])
def test_a_changed_byte_is_refused(trained, tmp_path: Path, victim: str) -> None:
    result, _ = trained
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(result.bundle_dir, copy)
    path = copy / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the manifest"):
        BundleModels.load(copy)


def test_extra_or_missing_files_are_refused(trained, tmp_path: Path) -> None:
    result, _ = trained
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(result.bundle_dir, copy)
    (copy / "segments" / "micro" / "evil.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(ModelError, match="does not list"):
        verify_bundle(copy)
    (copy / "segments" / "micro" / "evil.pkl").unlink()
    (copy / "validation.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        verify_bundle(copy)


def test_out_of_time_split_never_trains_on_newer_rows() -> None:
    rng = np.random.default_rng(0)
    days = np.datetime64("2023-01-01") + rng.integers(0, 900, 5000).astype("timedelta64[D]")
    part = split_out_of_time(days, 0.25, 0.2)
    assert days[part == "fit"].max() < days[part == "calibrate"].min()
    assert days[part == "calibrate"].max() < days[part == "validate"].min()
    assert 0.2 < (part == "validate").mean() < 0.3


_SEGS = ("micro", "tech_growth", "tech_startup")
_PARTS = ("fit", "calibrate", "validate")


@given(st.lists(st.tuples(st.sampled_from(_SEGS), st.sampled_from(_PARTS)), max_size=40),
       st.sampled_from(_SEGS))
def test_psi_baseline_rows_are_the_rows_the_final_models_were_fitted_on(
        rows: list[tuple[str, str]], seg: str) -> None:
    segment = np.array([r[0] for r in rows], dtype=object)
    part = np.array([r[1] for r in rows], dtype=object)
    cross = baseline_rows(segment, part, seg, "cross_fit")
    holdout = baseline_rows(segment, part, seg, "holdout")
    # row by row: cross-fitted models are fitted on the whole training window (fit and
    # calibrate rows), holdout models on the fit rows only; never another segment's rows
    assert cross.tolist() == [s == seg and p in ("fit", "calibrate") for s, p in rows]
    assert holdout.tolist() == [s == seg and p == "fit" for s, p in rows]


def test_psi_baseline_of_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="calibration_scheme"):
        baseline_rows(np.array(["micro"]), np.array(["fit"]), "micro", "crossfit")


def test_training_needs_outcomes() -> None:
    tables = generate(200, seed=1)
    apps = tables.applications.copy()
    apps["default_12m"] = pd.array([None] * len(apps), dtype="Int64")
    from dataclasses import replace

    with pytest.raises(InvalidInputError, match="default_12m"):
        training_frame(replace(tables, applications=apps))


def test_platt_keeps_contributions_additive() -> None:
    cal = PlattCalibrator(0.3, 0.8)
    contrib = np.array([[0.5, -0.2, -2.0], [1.0, 0.1, -1.5]])
    out = cal.transform_contributions(contrib.copy())
    np.testing.assert_allclose(out.sum(axis=1), cal.transform(contrib.sum(axis=1)))
    with pytest.raises(ModelError):
        PlattCalibrator.fit(np.array([3.0, 2.0, 1.0, 0.0] * 50), np.array([0, 0, 1, 1] * 50))


def test_boosted_model_respects_monotone_constraints_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})  # noqa: N806
    y = (rng.random(3000) < 1 / (1 + np.exp(-(X.a - X.b + 0.5 * np.sin(3 * X.a))))).astype(int)
    model = BoostedModel(monotone={"a": 1, "b": -1}, num_boost_round=80).fit(X, y)
    grid = pd.DataFrame({"a": np.linspace(-3, 3, 200), "b": 0.0})
    assert np.all(np.diff(model.decision_function(grid)) >= -1e-9)
    grid = pd.DataFrame({"a": 0.0, "b": np.linspace(-3, 3, 200)})
    assert np.all(np.diff(model.decision_function(grid)) <= 1e-9)
    model.save(tmp_path)
    loaded = BoostedModel.load(tmp_path)
    np.testing.assert_array_equal(loaded.contributions_array(X), model.contributions_array(X))
    with pytest.raises(InvalidInputError, match="b"):
        loaded.decision_function(X[["a"]])
    bad = X.copy()
    bad.loc[0, "a"] = np.inf
    with pytest.raises(InvalidInputError, match="infinite"):
        loaded.decision_function(bad)
    # the serving calls give the same numbers on any number of threads, small or large
    ordered = np.ascontiguousarray(X[loaded.feature_names_].to_numpy())
    contrib = loaded.contributions_array(X)
    for threads in (None, 1, 2, 3):
        np.testing.assert_array_equal(loaded.contributions_ordered(ordered, threads=threads),
                                      contrib)
        np.testing.assert_array_equal(loaded.contributions_ordered(ordered[:5],
                                                                   threads=threads),
                                      contrib[:5])
        np.testing.assert_array_equal(loaded.margin_ordered(ordered, threads=threads),
                                      loaded.decision_function(X))
    # an infinite value (or one float32 cannot hold) is refused, naming its feature
    for bad_value in (np.inf, -1e39):
        wide = ordered[:2].copy()
        wide[1, loaded.feature_names_.index("b")] = bad_value
        with pytest.raises(InvalidInputError, match="b: infinite or beyond float32"):
            loaded.contributions_ordered(wide)
        with pytest.raises(InvalidInputError, match="b: infinite"):
            loaded.margin_ordered(wide)
    # ... and never change the single-call booster another thread may be using
    config = json.loads(loaded.booster_.save_config())
    assert config["learner"]["generic_param"]["nthread"] == str(loaded.score_threads_)
    with pytest.raises(InvalidInputError, match="threads"):
        loaded.margin_ordered(ordered, threads=0)


def test_bundle_json_records_router_and_calibration(trained) -> None:
    result, _ = trained
    doc = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert doc["router"]["tech_if_any"]
    for entry in doc["segments"].values():
        for model in entry["models"].values():
            state = model["calibration"]
            assert state["method"] in {"platt", "monotone"}
            if state["method"] == "monotone":
                assert np.all(np.diff(state["knots_y"]) > 0)
            else:
                assert state["slope"] > 0


def test_monotone_calibration_fixes_tails_and_keeps_contributions_exact() -> None:
    rng = np.random.default_rng(11)
    raw = np.round(rng.normal(-2.5, 1.2, 60_000), 1)  # tied scores, like a scorecard's
    true = np.where(raw < -3, -4.2 + 0.2 * (raw + 3), -4.2 + 1.4 * (raw + 3))
    y = (rng.random(60_000) < 1 / (1 + np.exp(-true))).astype(int)
    mono = MonotoneCalibrator.fit(raw, y, bins=20)
    platt = PlattCalibrator.fit(raw, y)
    assert np.all(np.diff(mono.knots_x) > 0)
    assert np.all(np.diff(mono.knots_y) > 0)
    grid = np.linspace(-7, 2, 400)
    assert np.all(np.diff(mono.transform(grid)) > 0)
    inside = (grid > -5) & (grid < 0)
    err_mono = np.abs(mono.transform(grid) - np.interp(grid, raw[np.argsort(raw)],
                                                        true[np.argsort(raw)]))[inside]
    err_platt = np.abs(platt.transform(grid) - np.interp(grid, raw[np.argsort(raw)],
                                                          true[np.argsort(raw)]))[inside]
    assert err_mono.mean() < 0.5 * err_platt.mean()
    contrib = np.column_stack([rng.normal(0, 0.7, (50, 3)), np.full(50, -2.4)])
    out = mono.transform_contributions(contrib)
    np.testing.assert_allclose(out.sum(axis=1), mono.transform(contrib.sum(axis=1)),
                               atol=1e-12)
    np.testing.assert_array_equal(np.argsort(out[:, :3], axis=1),
                                  np.argsort(contrib[:, :3], axis=1))
    assert MonotoneCalibrator.from_dict(mono.to_dict()) == mono
    bad = mono.to_dict() | {"knots_y": list(reversed(mono.knots_y))}
    with pytest.raises(ModelError, match="strictly increasing"):
        MonotoneCalibrator.from_dict(bad)


def test_serving_extras_are_in_the_manifest_and_parse(trained) -> None:
    result, features = trained
    manifest = verify_bundle(result.bundle_dir)
    assert {"rating/citation_cohorts.json", "reference/stability.json"} <= set(
        manifest["files"])
    cohorts = CitationCohorts.from_dict(
        json.loads((result.bundle_dir / "rating" / "citation_cohorts.json").read_text()))
    assert cohorts.min_size == load_valuation_spec().technical.cohort_min_size
    assert cohorts.cohort
    assert cohorts.overall > 0
    ref = json.loads((result.bundle_dir / "reference" / "stability.json").read_text())
    assert ref["format"] == "techcredit.stability/1"
    assert ref["bins"] == load_validation_spec().stability.bins
    part = split_out_of_time(result_applied(result, features), 0.25, 0.2)
    n_window = int((part != "validate").sum())
    assert sum(ref["segments"].values()) == pytest.approx(1.0)
    models = BundleModels.load(result.bundle_dir)
    readers = set()
    for seg_models in models.segments.values():
        for model in (seg_models.champion, seg_models.challenger):
            readers.update(model.feature_names)
    assert set(ref["features"]) == readers
    for entry in ref["features"].values():
        assert entry["n"] == n_window
        assert len(entry["shares"]) == len(entry["edges"]) + 1
        assert np.all(np.diff(entry["edges"]) > 0)
        assert sum(entry["shares"]) + entry["missing_share"] == pytest.approx(1.0)
    for seg, entry in ref["prob_default"].items():
        assert entry["n"] == pytest.approx(ref["segments"][seg] * n_window)
        assert sum(entry["shares"]) == pytest.approx(1.0)
        assert all(0 < e < 1 for e in entry["edges"])


def result_applied(result: TrainResult, features: pd.DataFrame) -> np.ndarray:
    """Application dates of the fixture's rows (the fixture's generator call)."""
    apps = generate(3000, seed=21).applications.set_index("application_id")
    return apps.loc[features.index, "applied_on"].to_numpy()


def test_cross_fitted_calibration_uses_the_whole_training_window(trained) -> None:
    result, features = trained
    assert result.validation["calibration_scheme"] == "cross_fit"
    assert result.params["calibration_folds"] == load_validation_spec().calibration.folds
    for entry in result.validation["segments"].values():
        # Out-of-fold log-odds of every own training row calibrate (not only the newest).
        assert entry["n_calibrate"] <= entry["n_fit"]
        assert entry["n_calibrate"] > 2 * entry["n_validation"]
        assert entry["models"]["xgboost"]["trees"] >= 1
        for values in entry["models"].values():
            assert values["calibration_error_mean"] <= values["calibration_error"]
            assert values["calibration_noise"] > 0
    # the stored decile figures are the champion's on the out-of-time rows, recomputed
    tables = generate(3000, seed=21)
    _, y, _ = training_frame(tables)
    validate = split_out_of_time(result_applied(result, features), 0.25, 0.2) == "validate"
    scored = BundleModels.load(result.bundle_dir).predict_features(features[validate])
    deciles = load_validation_spec().calibration.deciles
    for seg, entry in result.validation["segments"].items():
        rows = (scored["segment"] == seg).to_numpy()
        stored = entry["models"][entry["champion"]]
        again = metrics.calibration_summary(y[validate][rows],
                                            scored["prob_default"].to_numpy()[rows],
                                            n_groups=deciles)
        for key, value in again.items():
            assert stored[key] == pytest.approx(value, abs=1e-6), (seg, key)


def test_routing_without_the_router_features_names_them() -> None:
    from techcredit.config.segments import load_segment_spec

    with pytest.raises(InvalidInputError, match="needed by the segment router") as info:
        route(pd.DataFrame({"unrelated": [1.0]}))
    assert set(info.value.fields) == {f"features.{f}" for f in load_segment_spec().features()}
