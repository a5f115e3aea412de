"""The training job: features -> segments -> two models each -> validation -> bundle.

One path for all segments: build point-in-time features at each application date,
route applications to segments, split out of time (the newest applications
validate; the rest is the training window), fit a WOE scorecard and an XGBoost model
per segment, calibrate both (cross-fitted by default: out-of-fold log-odds over the
whole training window), validate both, pick the champion by the rules in
``models/validation.yaml`` and write one bundle (:mod:`techcredit.decision.bundle`)
with the serving extras (:func:`write_serving_extras`: citation cohorts and the
stability reference for monitoring).

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
from tqdm import tqdm  # plain text bars: tqdm.auto wants ipywidgets in notebooks

from techcredit.config import default_models_dir, read_yaml
from techcredit.config.boosting import (
    BoostingSpec,
    ValidationSpec,
    load_boosting_spec,
    load_validation_spec,
)
from techcredit.config.rating import load_innovation_spec, load_valuation_spec
from techcredit.config.scorecard import ScorecardSpec, load_scorecard_spec
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
from techcredit.monitoring.stability import StabilityReference
from techcredit.rating.patents import CitationCohorts, value_patents
from techcredit.schemas import RawTables

__all__ = [
    "TrainResult",
    "baseline_rows",
    "calibrate",
    "citation_cohorts_for",
    "split_out_of_time",
    "stability_reference",
    "stratified_folds",
    "train",
    "training_frame",
    "write_serving_extras",
]

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


def baseline_rows(segment: np.ndarray, part: np.ndarray, seg: str, scheme: str
                  ) -> np.ndarray:
    """Rows of segment ``seg`` that are its PSI baseline: those its models were fitted on.

    Cross-fitted (``scheme="cross_fit"``), the final models are fitted on the whole
    training window, so the baseline is every row of the segment that does not validate;
    with a holdout (``scheme="holdout"``) it is the segment's ``fit`` rows only. Rows of
    other segments a model was pooled with are never part of it. The training job and the
    committee report both take the baseline from here.

    Parameters
    ----------
    segment : array of str
        Segment of each row (:func:`techcredit.modeling.segments.route`).
    part : array of str
        ``fit`` / ``calibrate`` / ``validate`` of each row (:func:`split_out_of_time`).
    seg : str
        The segment.
    scheme : {"cross_fit", "holdout"}
        ``calibration.scheme`` of ``validation.yaml``.

    Returns
    -------
    numpy.ndarray of bool
        One flag per row.

    Raises
    ------
    InvalidInputError
        If ``scheme`` is neither ``cross_fit`` nor ``holdout``.

    Examples
    --------
    >>> segment = np.array(["micro", "micro", "micro", "tech_growth"])
    >>> part = np.array(["fit", "calibrate", "validate", "fit"])
    >>> baseline_rows(segment, part, "micro", "cross_fit").tolist()
    [True, True, False, False]
    >>> baseline_rows(segment, part, "micro", "holdout").tolist()
    [True, False, False, False]
    """
    own = np.asarray(segment) == seg
    if scheme == "cross_fit":
        return own & (np.asarray(part) != "validate")
    if scheme == "holdout":
        return own & (np.asarray(part) == "fit")
    raise InvalidInputError([("validation", None, "calibration_scheme",
                              f"unknown calibration scheme {scheme!r}: "
                              "expected cross_fit or holdout")])


def _validate_model(y: np.ndarray, prob: np.ndarray, train_prob: np.ndarray,
                    deciles: int, n_boot: int, seed: int, psi_bins: int) -> dict[str, float]:
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
        **metrics.psi_summary(train_prob, prob, bins=psi_bins),
        **metrics.calibration_summary(y, prob, n_groups=deciles),
        "mean_pd": float(prob.mean()),
        "default_rate": float(y.mean()),
    }


def calibrate(logit: np.ndarray, y: np.ndarray, spec: ValidationSpec) -> Calibrator:
    """The calibrator of validation.yaml; intercept-only Platt when defaults are few.

    What the training job fits on each segment's calibration rows (notebooks call it to
    calibrate exactly as the job does).
    """
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


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number (``0 .. folds-1``) of each row, drawn at random within each class.

    Every fold gets the same share of defaults (to one row), so each out-of-fold model
    sees the segment's default rate.

    Examples
    --------
    >>> fold = stratified_folds(np.array([0] * 8 + [1] * 4), 4, seed=0)
    >>> np.bincount(fold).tolist(), np.bincount(fold[8:]).tolist()
    ([3, 3, 3, 3], [1, 1, 1, 1])
    """
    target = np.asarray(y)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(target), dtype=np.int64)
    start = 0
    for cls in np.unique(target):
        rows = rng.permutation(np.flatnonzero(target == cls))
        fold[rows] = (np.arange(len(rows)) + start) % folds
        start += len(rows)
    return fold


@dataclass
class _Fitter:
    """Fits one kind of model the same way for every fold and for the final model."""

    card_spec: ScorecardSpec
    boost_spec: BoostingSpec
    trends: dict[str, Any]
    monotone: dict[str, int]

    def fit(self, kind: str, X: pd.DataFrame, y: np.ndarray, *,  # noqa: N803
            eval_set: tuple[pd.DataFrame, np.ndarray] | None = None,
            rounds: int | None = None) -> Scorecard | BoostedModel:
        if kind == "scorecard":
            # A characteristic with no value in these rows cannot be binned (e.g.
            # 专精特新 age among plain micro firms); the scorecard leaves it out.
            observed = [c for c in X.columns if X[c].notna().any()]
            return Scorecard(self.card_spec, monotonic_trend=self.trends,
                             features=observed).fit(X, y)
        return BoostedModel(monotone=self.monotone, spec=self.boost_spec,
                            num_boost_round=rounds).fit(X, y, eval_set=eval_set)


@dataclass
class _Fitted:
    model: Scorecard | BoostedModel
    calibration_logit: np.ndarray
    """Held-out log-odds of the calibration rows (out-of-fold when cross-fitted)."""
    calibration_rows: np.ndarray
    """Positions (in the full frame) of the rows behind ``calibration_logit``."""
    fit_rows: np.ndarray
    """Positions of the rows the final model was fitted on."""
    trees: int | None = None


def _fit_cross(fitter: _Fitter, kind: str, X: pd.DataFrame, y: np.ndarray,  # noqa: N803
               window: np.ndarray, spec: ValidationSpec) -> _Fitted:
    """Out-of-fold log-odds over the training window, then one model on all of it."""
    cfg = spec.calibration
    rows = np.flatnonzero(window)
    fold = stratified_folds(y[rows], cfg.folds, cfg.fold_seed)
    oof = np.empty(len(rows))
    trees: list[int] = []
    for k in range(cfg.folds):
        train_at, held_at = rows[fold != k], rows[fold == k]
        held = (X.iloc[held_at], y[held_at])
        model = fitter.fit(kind, X.iloc[train_at], y[train_at],
                           eval_set=held if kind == "xgboost" else None)
        oof[fold == k] = model.decision_function(held[0])
        if isinstance(model, BoostedModel):
            trees.append(model.best_iteration_)
    rounds = round(float(np.mean(trees))) if trees else None
    final = fitter.fit(kind, X.iloc[rows], y[rows], rounds=rounds)
    return _Fitted(final, oof, rows, rows, rounds)


def _fit_holdout(fitter: _Fitter, kind: str, X: pd.DataFrame, y: np.ndarray,  # noqa: N803
                 fit_rows: np.ndarray, cal_rows: np.ndarray) -> _Fitted:
    """Fit on the older rows; the newest rows stop XGBoost early and calibrate."""
    fit_at, cal_at = np.flatnonzero(fit_rows), np.flatnonzero(cal_rows)
    model = fitter.fit(kind, X.iloc[fit_at], y[fit_at],
                       eval_set=(X.iloc[cal_at], y[cal_at]) if kind == "xgboost" else None)
    trees = model.best_iteration_ if isinstance(model, BoostedModel) else None
    return _Fitted(model, model.decision_function(X.iloc[cal_at]), cal_at, fit_at, trees)


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
    card_spec = load_scorecard_spec(folder)

    X, y, applied = training_frame(tables)  # noqa: N806
    logger.info("built %d features for %d applications", X.shape[1], len(X))
    names = list(feature_names())
    segment = route(X, seg_spec)
    part = split_out_of_time(applied, val_spec.split.validation_share,
                             val_spec.split.calibration_share)
    fitter = _Fitter(card_spec, boost_spec, monotonic_trends(names),
                     dict(zip(names, monotone_constraints(names), strict=True)))
    cross = val_spec.calibration.scheme == "cross_fit"

    writer = BundleWriter(bundle_dir)
    seg_docs: dict[str, Any] = {}
    validation: dict[str, Any] = {"calibration_scheme": val_spec.calibration.scheme,
                                  "segments": {}}
    tables_out: dict[str, pd.DataFrame] = {}
    champions: dict[str, CalibratedModel] = {}
    readers: set[str] = set()
    bar = tqdm(SEGMENTS, desc="segments", disable=not progress)
    for seg in bar:
        bar.set_postfix_str(seg)
        trained_on = _training_segments(seg, segment, y, part, seg_spec)
        pool = np.isin(segment, trained_on)
        val_rows = (segment == seg) & (part == "validate")
        Xv, yv = X[val_rows], y[val_rows]  # noqa: N806
        own_train = baseline_rows(segment, part, seg, val_spec.calibration.scheme)
        model_docs: dict[str, Any] = {}
        model_metrics: dict[str, dict[str, float]] = {}
        served: dict[str, CalibratedModel] = {}
        fitted: dict[str, _Fitted] = {}
        for kind in ("scorecard", "xgboost"):
            fitted[kind] = (
                _fit_cross(fitter, kind, X, y, pool & (part != "validate"), val_spec)
                if cross else
                _fit_holdout(fitter, kind, X, y, pool & (part == "fit"),
                             pool & (part == "calibrate")))
            done = fitted[kind]
            # Calibrate on the segment's own rows (also when its model was trained pooled),
            # unless they hold no default at all.
            own = segment[done.calibration_rows] == seg
            if y[done.calibration_rows[own]].sum() < 1:
                own = np.ones(len(own), dtype=bool)
            cal = calibrate(done.calibration_logit[own], y[done.calibration_rows[own]],
                             val_spec)
            # Validate through the serving class, so the numbers are what serving computes.
            served[kind] = CalibratedModel(kind, done.model, cal)  # type: ignore[arg-type]
            readers.update(served[kind].feature_names)
            model_metrics[kind] = _validate_model(
                yv, served[kind].prob_default(Xv),
                served[kind].prob_default(X[own_train]),
                val_spec.calibration.deciles,
                val_spec.bootstrap.n_resamples, val_spec.bootstrap.seed,
                val_spec.stability.bins)
            model_docs[kind] = {"calibration": cal.to_dict()}
            if done.trees is not None:
                model_metrics[kind]["trees"] = done.trees
        champion = _choose(model_metrics, val_spec.champion.metric, val_spec.champion.prefer,
                           val_spec.champion.margin)
        challenger = "xgboost" if champion == "scorecard" else "scorecard"
        champions[seg] = served[champion]
        card = fitted["scorecard"].model
        writer.write_json(f"segments/{seg}/scorecard.json", card.to_dict())
        xgb_files = fitted["xgboost"].model.save(writer.folder / "segments" / seg, "xgboost")
        for path in xgb_files:
            writer.path(path.relative_to(writer.folder).as_posix())
        seg_docs[seg] = {"champion": champion, "challenger": challenger,
                         "trained_on": list(trained_on), "models": model_docs}
        validation["segments"][seg] = {
            "champion": champion, "challenger": challenger, "trained_on": list(trained_on),
            "n_fit": len(fitted["scorecard"].fit_rows),
            "n_calibrate": int((segment[fitted["scorecard"].calibration_rows] == seg).sum()),
            "n_validation": int(val_rows.sum()), "models": model_metrics,
        }
        tables_out[f"scorecard_{seg}.csv"] = card.table()
        tables_out[f"selection_{seg}.csv"] = card.selection_
    snapshot = tables_digest(tables)
    params = {
        "model_name": model_name, "n_applications": len(X), "n_features": len(names),
        "validation_share": val_spec.split.validation_share,
        "calibration_share": val_spec.split.calibration_share,
        "calibration_scheme": val_spec.calibration.scheme,
        "calibration_folds": val_spec.calibration.folds,
        "champion_metric": val_spec.champion.metric,
        "xgb_max_depth": boost_spec.params.max_depth,
        "xgb_learning_rate": boost_spec.params.learning_rate,
        "scorecard_pdo": card_spec.scaling.pdo,
        "data_snapshot_sha256": snapshot,
    }
    window = part != "validate"
    firm_ids = tables.applications["firm_id"].to_numpy()  # type: ignore[index]
    write_serving_extras(writer, tables, folder, features=X[window],
                         firm_ids=firm_ids[window], segment=segment[window], champions=champions,
                         readers=[n for n in names if n in readers],
                         bins=val_spec.stability.bins)
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


def stability_reference(features: pd.DataFrame, segment: np.ndarray,
                        prob_default: np.ndarray, readers: list[str], *,
                        bins: int) -> dict[str, Any]:
    """The training snapshot that PSI/CSI monitoring compares new applications with.

    Written by :class:`techcredit.monitoring.stability.StabilityReference` (the one
    reader and writer of the format), with each segment's PD binned on that segment's
    own rows. Convention, for the PD of each segment and for each feature: ``edges`` are the
    unique interior ``bins``-quantile cut points of the non-missing training values,
    ascending; bin ``i`` is ``(edges[i-1], edges[i]]`` with ``-inf`` before the first
    edge and ``+inf`` after the last (right-closed, as :func:`techcredit.modeling.
    metrics.psi_table`). ``shares[i]`` is the share of **all** ``n`` training rows in bin
    ``i``; ``missing_share`` the share of rows without a value (NaN), so
    ``sum(shares) + missing_share == 1``. A PD is never missing, so its ``shares`` sum to 1
    and it has no ``missing_share``. ``segments`` holds each segment's share of the rows.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan]})
    >>> ref = stability_reference(frame, np.array(["micro"] * 4),
    ...                           np.array([.1, .2, .3, .4]), ["x"], bins=2)
    >>> ref["features"]["x"]
    {'edges': [2.0], 'shares': [0.5, 0.25], 'missing_share': 0.25, 'n': 4}
    >>> ref["prob_default"]["micro"]["shares"], ref["segments"]
    ([0.5, 0.5], {'micro': 1.0})
    """
    return StabilityReference.fit(features[list(readers)], prob_default=prob_default,
                                  segment=segment, bins=bins).to_dict()


def citation_cohorts_for(tables: RawTables, firm_ids: np.ndarray, folder: Path
                         ) -> CitationCohorts:
    """Citation cohorts (IPC subclass x filing year) of the firms' rights.

    Each firm's rights as of its application date (rights filed later are unknown then),
    with ``technical.cohort_min_size`` of ``patent_valuation.yaml``.
    """
    valuation = load_valuation_spec(folder)
    rights = value_patents(tables, firm_ids=np.unique(firm_ids), spec=valuation,
                           innovation_spec=load_innovation_spec(folder))
    return CitationCohorts.fit(rights["ipc_class"].to_numpy(dtype=object),
                               rights["filing_year"].to_numpy(dtype=np.int64),
                               rights["citations"].to_numpy(dtype=np.float64),
                               min_size=valuation.technical.cohort_min_size)


def write_serving_extras(writer: BundleWriter, tables: RawTables, folder: Path, *,
                         features: pd.DataFrame, firm_ids: np.ndarray, segment: np.ndarray,
                         champions: dict[str, CalibratedModel], readers: list[str],
                         bins: int) -> None:
    """Reference data the decision engine and monitoring need besides the models.

    ``rating/citation_cohorts.json``: :class:`~techcredit.rating.patents.CitationCohorts`
    of the rights of the training window's applicants as of their application dates, so
    that at serving time a patent's technical value does not depend on which other
    applications share a batch. ``reference/stability.json``: :func:`stability_reference`
    over the training window's rows (``features``, one per application, with their
    ``firm_ids`` and ``segment``), with each segment's champion's calibrated PD on its own rows.
    """
    cohorts = citation_cohorts_for(tables, firm_ids, folder)
    writer.write_json("rating/citation_cohorts.json", cohorts.to_dict())
    prob = np.full(len(features), np.nan)  # a segment without its champion: refused as missing
    for seg, model in champions.items():
        rows = segment == seg
        if rows.any():
            prob[rows] = model.prob_default(features[rows])
    writer.write_json("reference/stability.json",
                      stability_reference(features, segment, prob, readers, bins=bins))


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
