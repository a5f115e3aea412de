"""The training job: features -> segments -> two models each -> validation -> bundle.

One path for all segments: build point-in-time features at each application date,
route applications to segments, split out of time (the newest applications
validate, the newest of the rest calibrate), fit a WOE scorecard and an XGBoost model
per segment, calibrate both (Platt), validate both, pick the champion by the rules in
``models/validation.yaml`` and write one bundle (:mod:`techcredit.decision.bundle`).

Examples
--------
>>> import tempfile, pathlib
>>> from techcredit.data import generate
>>> out = pathlib.Path(tempfile.mkdtemp()) / "bundle"
>>> result = train(generate(3000, seed=2), out, progress=False)  # doctest: +SKIP
>>> sorted(result.validation["segments"])  # doctest: +SKIP
['micro', 'tech_growth', 'tech_startup']
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from techcredit.config import default_models_dir, read_yaml
from techcredit.config.boosting import load_boosting_spec, load_validation_spec
from techcredit.config.rating import load_innovation_spec, load_valuation_spec
from techcredit.config.segments import SEGMENTS, load_segment_spec
from techcredit.data.sample import tables_digest
from techcredit.decision.bundle import BundleWriter
from techcredit.decision.models import CalibratedModel
from techcredit.exceptions import InvalidInputError
from techcredit.features import build_features, feature_names, monotone_constraints
from techcredit.features.catalogue import monotonic_trends
from techcredit.modeling import metrics
from techcredit.modeling.boosting import BoostedModel
from techcredit.modeling.calibration import Calibrator, MonotoneCalibrator, PlattCalibrator
from techcredit.modeling.scorecard import Scorecard
from techcredit.modeling.segments import route
from techcredit.rating.patents import CitationCohorts, value_patents
from techcredit.schemas import RawTables

__all__ = ["TrainResult", "split_out_of_time", "train", "training_frame"]

logger = logging.getLogger(__name__)

_SPEC_FILES = ("segments", "scorecard", "boosting", "validation", "policy",
               "innovation_rating", "patent_valuation")


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    bundle_dir: Path
    validation: dict[str, Any]
    params: dict[str, Any]
    snapshot_sha256: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Scorecard tables (per segment) and validation frames, for logging as artifacts."""

    def metrics(self) -> dict[str, float]:
        """Flat ``<segment>.<model>.<metric>`` numbers for a tracking server."""
        flat: dict[str, float] = {}
        for seg, entry in self.validation["segments"].items():
            for kind, values in entry["models"].items():
                for name, value in values.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        flat[f"{seg}.{kind}.{name}"] = float(value)
        return flat


def training_frame(tables: RawTables) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features at each application date, the outcome and the application date.

    Returns
    -------
    (features, y, applied_on)
        ``features`` has one row per application (index ``application_id``) and the
        catalogue columns as float64; ``applied_on`` is ``datetime64[ns]``.
    """
    apps = tables.applications
    if apps is None:
        raise InvalidInputError([("applications", None, None, "training needs applications")])
    if apps["default_12m"].isna().any():
        raise InvalidInputError([("applications", None, "default_12m",
                                  "training needs a known outcome for every application")])
    feats = build_features(tables, as_of=apps["applied_on"].to_numpy(),
                           firm_ids=apps["firm_id"].to_numpy())
    feats = feats.astype("float64")
    feats.index = pd.Index(apps["application_id"].to_numpy(), name="application_id")
    return feats, apps["default_12m"].to_numpy(dtype="int64"), apps["applied_on"].to_numpy()


def split_out_of_time(applied_on: np.ndarray, validation_share: float,
                      calibration_share: float) -> np.ndarray:
    """Label rows ``fit`` / ``calibrate`` / ``validate`` by application date.

    The newest ``validation_share`` of rows validate; of the rest, the newest
    ``calibration_share`` calibrate. Rows on a cut date go to the older side, so a
    day is never split.

    Examples
    --------
    >>> days = np.array(["2024-01-0%d" % d for d in range(1, 9)], dtype="datetime64[ns]")
    >>> split_out_of_time(days, 0.25, 0.5).tolist()
    ['fit', 'fit', 'fit', 'calibrate', 'calibrate', 'calibrate', 'validate', 'validate']
    """
    days = np.asarray(applied_on).astype("datetime64[D]")
    order = np.sort(days)
    n = len(days)
    val_cut = order[int(np.floor(n * (1 - validation_share))) - 1]
    older = days <= val_cut
    cal_cut = np.sort(days[older])[int(np.floor(older.sum() * (1 - calibration_share))) - 1]
    return np.where(~older, "validate", np.where(days <= cal_cut, "fit", "calibrate"))


def _validate_model(y: np.ndarray, prob: np.ndarray, train_prob: np.ndarray,
                    deciles: int, n_boot: int, seed: int) -> dict[str, float]:
    table = metrics.calibration_by_decile(y, prob, n_groups=deciles)
    gap = (table["expected_pd"] - table["observed_rate"]).abs()
    # Sampling noise of each decile's observed rate under the predicted PD: a gap
    # inside 1.96 standard errors is not evidence of miscalibration.
    noise = 1.96 * np.sqrt(table["expected_pd"] * (1 - table["expected_pd"]) / table["n"])
    auc_ci = metrics.auc_ci(y, prob, n_boot=n_boot, seed=seed)
    ks_ci = metrics.ks_ci(y, prob, n_boot=n_boot, seed=seed)
    return {
        "auc": metrics.auc(y, prob),
        "auc_low": float(auc_ci.lower),
        "auc_high": float(auc_ci.upper),
        "ks": metrics.ks(y, prob),
        "ks_low": float(ks_ci.lower),
        "ks_high": float(ks_ci.upper),
        "gini": metrics.gini(y, prob),
        "brier": metrics.brier(y, prob),
        "psi": metrics.psi(train_prob, prob),
        "calibration_error": float(gap.max()),
        "calibration_excess": float((gap - noise).clip(lower=0).max()),
        "mean_pd": float(prob.mean()),
        "default_rate": float(y.mean()),
    }


def _calibrate(logit: np.ndarray, y: np.ndarray, spec: Any) -> Calibrator:
    """The calibrator of validation.yaml; intercept-only Platt when defaults are few."""
    if int(y.sum()) < spec.calibration.min_defaults_for_slope:
        return PlattCalibrator.fit(logit, y, slope=False)
    if spec.calibration.method == "monotone":
        return MonotoneCalibrator.fit(logit, y, bins=spec.calibration.bins,
                                      min_events_per_bin=spec.calibration.min_events_per_bin)
    return PlattCalibrator.fit(logit, y)


def _choose(models: dict[str, dict[str, float]], metric: str, prefer: str,
            margin: float) -> str:
    other = "xgboost" if prefer == "scorecard" else "scorecard"
    a, b = models[prefer][metric], models[other][metric]
    better = (a - b) if metric == "brier" else (b - a)
    return other if better > margin else prefer


def train(tables: RawTables, bundle_dir: Path | str, *, model_name: str = "techcredit",
          models_dir: Path | str | None = None, progress: bool = True) -> TrainResult:
    """Fit every segment's models on ``tables`` and write a bundle to ``bundle_dir``.

    Parameters
    ----------
    tables : RawTables
        With ``applications`` carrying ``default_12m``.
    bundle_dir : path
        A new (or empty) folder.
    model_name : str
        Recorded in the bundle.
    models_dir : path, optional
        The reviewed YAML specifications; ``models/`` by default.
    progress : bool
        Show progress bars (tqdm) for the long steps.
    """
    folder = Path(models_dir) if models_dir is not None else default_models_dir()
    seg_spec = load_segment_spec(folder)
    boost_spec = load_boosting_spec(folder)
    val_spec = load_validation_spec(folder)
    from techcredit.config.scorecard import load_scorecard_spec

    card_spec = load_scorecard_spec(folder)

    X, y, applied = training_frame(tables)  # noqa: N806
    logger.info("built %d features for %d applications", X.shape[1], len(X))
    names = list(feature_names())
    segment = route(X, seg_spec)
    part = split_out_of_time(applied, val_spec.split.validation_share,
                             val_spec.split.calibration_share)
    trends = monotonic_trends(names)
    monotone = dict(zip(names, monotone_constraints(names), strict=True))

    writer = BundleWriter(bundle_dir)
    seg_docs: dict[str, Any] = {}
    validation: dict[str, Any] = {"segments": {}}
    tables_out: dict[str, pd.DataFrame] = {}
    bar = tqdm(SEGMENTS, desc="segments", disable=not progress)
    for seg in bar:
        bar.set_postfix_str(seg)
        trained_on = _training_segments(seg, segment, y, part, seg_spec)
        pool = np.isin(segment, trained_on)
        fit_rows = pool & (part == "fit")
        cal_rows = pool & (part == "calibrate")
        val_rows = (segment == seg) & (part == "validate")
        Xf, yf = X[fit_rows], y[fit_rows]  # noqa: N806
        Xc, yc = X[cal_rows], y[cal_rows]  # noqa: N806 (early stopping uses the pool)
        Xv, yv = X[val_rows], y[val_rows]  # noqa: N806
        # A characteristic with no value in this segment's training rows cannot be binned
        # (e.g. 专精特新 age among plain micro firms); the scorecard leaves it out.
        observed = [c for c in names if Xf[c].notna().any()]
        fitted: dict[str, Any] = {
            "scorecard": Scorecard(card_spec, monotonic_trend=trends,
                                   features=observed).fit(Xf, yf),
            "xgboost": BoostedModel(monotone=monotone, spec=boost_spec).fit(
                Xf, yf, eval_set=(Xc, yc)),
        }
        model_docs: dict[str, Any] = {}
        model_metrics: dict[str, dict[str, float]] = {}
        # Calibrate on the segment's own rows (even when the model was trained pooled),
        # unless they hold no default at all.
        own_cal = cal_rows & (segment == seg)
        calibrate_on = own_cal if y[own_cal].sum() >= 1 else cal_rows
        own_fit = X[fit_rows & (segment == seg)]
        for kind, model in fitted.items():
            cal = _calibrate(model.decision_function(X[calibrate_on]), y[calibrate_on],
                             val_spec)
            # Validate through the serving class, so the numbers are what serving computes.
            served = CalibratedModel(kind, model, cal)
            prob_v = served.prob_default(Xv)
            prob_f = served.prob_default(own_fit)
            model_metrics[kind] = _validate_model(
                yv, prob_v, prob_f, val_spec.calibration.deciles,
                val_spec.bootstrap.n_resamples, val_spec.bootstrap.seed)
            model_docs[kind] = {"calibration": cal.to_dict()}
        champion = _choose(model_metrics, val_spec.champion.metric, val_spec.champion.prefer,
                           val_spec.champion.margin)
        challenger = "xgboost" if champion == "scorecard" else "scorecard"
        writer.write_json(f"segments/{seg}/scorecard.json", fitted["scorecard"].to_dict())
        xgb_files = fitted["xgboost"].save(writer.folder / "segments" / seg, "xgboost")
        for path in xgb_files:
            writer.path(path.relative_to(writer.folder).as_posix())
        seg_docs[seg] = {"champion": champion, "challenger": challenger,
                         "trained_on": list(trained_on), "models": model_docs}
        validation["segments"][seg] = {
            "champion": champion, "challenger": challenger, "trained_on": list(trained_on),
            "n_fit": int(fit_rows.sum()), "n_calibrate": int(cal_rows.sum()),
            "n_validation": int(val_rows.sum()), "models": model_metrics,
        }
        tables_out[f"scorecard_{seg}.csv"] = fitted["scorecard"].table()
        tables_out[f"selection_{seg}.csv"] = fitted["scorecard"].selection_
    snapshot = tables_digest(tables)
    params = {
        "model_name": model_name, "n_applications": len(X), "n_features": len(names),
        "validation_share": val_spec.split.validation_share,
        "calibration_share": val_spec.split.calibration_share,
        "champion_metric": val_spec.champion.metric,
        "xgb_max_depth": boost_spec.params.max_depth,
        "xgb_learning_rate": boost_spec.params.learning_rate,
        "scorecard_pdo": card_spec.scaling.pdo,
        "data_snapshot_sha256": snapshot,
    }
    _write_serving_extras(writer, tables, folder)
    for name in _SPEC_FILES:
        path = folder / f"{name}.yaml"
        if path.exists():
            writer.write_text(f"specs/{name}.yaml", path.read_text(encoding="utf-8"))
    writer.write_json("bundle.json", {
        "model_name": model_name,
        "feature_names": names,
        "router": read_yaml(folder / "segments.yaml"),
        "segments": seg_docs,
    })
    writer.write_json("validation.json", validation)
    writer.finish(model_name=model_name, data_snapshot_sha256=snapshot,
                  specs_sha256=_specs_digest(folder))
    return TrainResult(Path(bundle_dir), validation, params, snapshot, tables_out)


def _write_serving_extras(writer: BundleWriter, tables: RawTables, folder: Path) -> None:
    """Reference data the decision engine needs besides the models.

    ``rating/citation_cohorts.json``: the citation cohorts (IPC class x filing year) of
    every right of the applicants as of their application dates, so that at serving time
    a patent's technical value does not depend on which other applications share a batch.
    """
    valuation = load_valuation_spec(folder)
    rights = value_patents(tables, spec=valuation, innovation_spec=load_innovation_spec(folder))
    cohorts = CitationCohorts.fit(rights["ipc_class"].to_numpy(dtype=object),
                                  rights["filing_year"].to_numpy(dtype=np.int64),
                                  rights["citations"].to_numpy(dtype=np.float64),
                                  min_size=valuation.technical.cohort_min_size)
    writer.write_json("rating/citation_cohorts.json", cohorts.to_dict())


def _specs_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in _SPEC_FILES:
        path = folder / f"{name}.yaml"
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _training_segments(seg: str, segment: np.ndarray, y: np.ndarray, part: np.ndarray,
                       spec: Any) -> tuple[str, ...]:
    """The segment itself, or with its fallback when it has too little training data."""
    fit = part == "fit"
    own = fit & (segment == seg)
    if own.sum() >= spec.min_train_rows and y[own].sum() >= spec.min_train_defaults:
        return (seg,)
    other = spec.fallback.get(seg)
    if other is None:
        raise InvalidInputError([("applications", None, None,
                                  f"segment {seg} has {int(own.sum())} training rows and "
                                  f"{int(y[own].sum())} defaults, below the minimum, and "
                                  "no fallback in segments.yaml")])
    logger.warning("segment %s: %d training rows / %d defaults; pooled with %s",
                   seg, int(own.sum()), int(y[own].sum()), other)
    return (seg, other)
