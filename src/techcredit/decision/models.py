"""Load a verified bundle's per-segment models and score feature rows.

:class:`BundleModels` is the model half of serving: it routes each row to its
segment and returns the champion's calibrated PD (and the challenger's, in shadow).
It imports no mlflow, optbinning, shap or matplotlib.

Examples
--------
See :func:`techcredit.pipeline.train.train` for a bundle made end to end; then
``BundleModels.load(bundle_dir).predict_features(features)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from techcredit.config.segments import SEGMENTS, SegmentSpec
from techcredit.decision.bundle import read_json, verify_bundle
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.modeling.boosting import BoostedModel
from techcredit.modeling.calibration import Calibrator, calibrator_from_dict
from techcredit.modeling.scorecard import Scorecard
from techcredit.modeling.segments import route

__all__ = ["BundleModels", "CalibratedModel", "SegmentModels"]

ModelKind = Literal["scorecard", "xgboost"]


@dataclass(frozen=True)
class CalibratedModel:
    """A fitted model and the calibration map of its log-odds."""

    kind: ModelKind
    model: Scorecard | BoostedModel
    calibrator: Calibrator

    @property
    def feature_names(self) -> list[str]:
        """Features the model reads (the scorecard's kept ones, or all for XGBoost)."""
        if isinstance(self.model, Scorecard):
            return list(self.model.features_)
        return list(self.model.feature_names_)

    def logit(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Calibrated log-odds of default."""
        return self.calibrator.transform(self.model.decision_function(X))

    def prob_default(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Calibrated probability of default."""
        return 1.0 / (1.0 + np.exp(-self.logit(X)))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """Calibrated log-odds contributions per feature plus ``bias``; rows sum to logit."""
        raw = self.model.contributions(X)
        values = self.calibrator.transform_contributions(raw.to_numpy())
        return pd.DataFrame(values, index=raw.index, columns=raw.columns)


@dataclass(frozen=True)
class SegmentModels:
    """Champion and challenger of one segment."""

    segment: str
    trained_on: tuple[str, ...]
    champion: CalibratedModel
    challenger: CalibratedModel | None


class BundleModels:
    """Per-segment models of a verified bundle, plus the router that picks among them."""

    def __init__(self, *, model_name: str, manifest: dict[str, Any],
                 router: SegmentSpec, segments: dict[str, SegmentModels],
                 feature_names: list[str]) -> None:
        self.model_name = model_name
        self.manifest = manifest
        self.router = router
        self.segments = segments
        self.feature_names = feature_names

    @classmethod
    def load(cls, folder: Path | str) -> BundleModels:
        """Verify the bundle's manifest, then load every segment's models.

        Raises
        ------
        ModelError
            If any file differs from the manifest or cannot be read.
        """
        root = Path(folder)
        manifest = verify_bundle(root)
        doc = read_json(root, "bundle.json")
        router = SegmentSpec.model_validate(doc["router"])
        segments = {}
        for seg in SEGMENTS:
            entry = doc["segments"].get(seg)
            if entry is None:
                raise ModelError(f"bundle has no models for segment {seg}")
            models = {kind: _load_model(root, seg, kind, entry["models"][kind])
                      for kind in entry["models"]}
            champion = models[entry["champion"]]
            challenger = models.get(entry["challenger"]) if entry.get("challenger") else None
            segments[seg] = SegmentModels(seg, tuple(entry["trained_on"]), champion, challenger)
        return cls(model_name=doc["model_name"], manifest=manifest, router=router,
                   segments=segments, feature_names=list(doc["feature_names"]))

    @property
    def version_id(self) -> str:
        """sha256 of ``bundle.json``: identifies the models whatever registry holds them."""
        return str(self.manifest["files"]["bundle.json"])

    def predict_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """Score feature rows (one per application; catalogue columns).

        Returns
        -------
        pandas.DataFrame
            Same index; ``segment``, ``prob_default``, ``model`` (champion kind) and
            ``challenger_prob_default`` (NaN when the segment has no challenger).
        """
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            raise InvalidInputError([("features", None, f, "missing feature column")
                                     for f in missing])
        X = features[self.feature_names].astype("float64")  # noqa: N806
        segment = route(X, self.router)
        prob = np.full(len(X), np.nan)
        shadow = np.full(len(X), np.nan)
        kind = np.empty(len(X), dtype=object)
        for seg, models in self.segments.items():
            rows = np.flatnonzero(segment == seg)
            if rows.size == 0:
                continue
            part = X.iloc[rows]
            prob[rows] = models.champion.prob_default(part)
            kind[rows] = models.champion.kind
            if models.challenger is not None:
                shadow[rows] = models.challenger.prob_default(part)
        return pd.DataFrame({"segment": segment, "prob_default": prob, "model": kind,
                             "challenger_prob_default": shadow}, index=features.index)


def _load_model(root: Path, segment: str, kind: str, entry: dict[str, Any]) -> CalibratedModel:
    calibrator = calibrator_from_dict(entry["calibration"])
    folder = root / "segments" / segment
    if kind == "scorecard":
        return CalibratedModel("scorecard",
                               Scorecard.from_dict(read_json(root, f"segments/{segment}/"
                                                                   "scorecard.json")),
                               calibrator)
    if kind == "xgboost":
        return CalibratedModel("xgboost", BoostedModel.load(folder, "xgboost"), calibrator)
    raise ModelError(f"unknown model kind {kind!r} in bundle segment {segment}")
