"""Pydantic models of ``models/boosting.yaml`` and ``models/validation.yaml``.

Examples
--------
>>> load_boosting_spec().params.max_depth
4
>>> load_validation_spec().champion.prefer
'scorecard'
>>> load_validation_spec().calibration.scheme in ("cross_fit", "holdout")
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from techcredit.config._base import StrictModel, load_spec

__all__ = [
    "BoostingParams",
    "BoostingSpec",
    "ValidationSpec",
    "load_boosting_spec",
    "load_validation_spec",
]


class BoostingParams(StrictModel):
    """XGBoost booster parameters (names as in XGBoost's scikit-learn API)."""

    max_depth: int = Field(ge=1, le=12)
    learning_rate: float = Field(gt=0, le=1)
    min_child_weight: float = Field(ge=0)
    subsample: float = Field(gt=0, le=1)
    colsample_bytree: float = Field(gt=0, le=1)
    reg_lambda: float = Field(ge=0)
    max_bin: int = Field(ge=2, le=1024)


class BoostingSpec(StrictModel):
    """``models/boosting.yaml``."""

    version: int
    params: BoostingParams
    num_boost_round: int = Field(ge=1, le=10_000)
    early_stopping_rounds: int = Field(ge=1)
    seed: int = Field(ge=0)
    fit_threads: int = Field(ge=1)
    score_threads: int = Field(ge=1)


class SplitSpec(StrictModel):
    validation_share: float = Field(gt=0, lt=1)
    calibration_share: float = Field(gt=0, lt=1)


class CalibrationSpec(StrictModel):
    scheme: Literal["cross_fit", "holdout"]
    folds: int = Field(ge=2, le=20)
    fold_seed: int = Field(ge=0)
    method: Literal["platt", "monotone"]
    bins: int = Field(ge=2, le=200)
    min_events_per_bin: int = Field(ge=1)
    deciles: int = Field(ge=2, le=100)
    min_defaults_for_slope: int = Field(ge=1)


class ChampionSpec(StrictModel):
    metric: Literal["auc", "ks", "brier"]
    prefer: Literal["scorecard", "xgboost"]
    margin: float = Field(ge=0, le=1)


class BootstrapSpec(StrictModel):
    n_resamples: int = Field(ge=10, le=10_000)
    seed: int = Field(ge=0)


class StabilitySpec(StrictModel):
    bins: int = Field(ge=2, le=100)


class ValidationSpec(StrictModel):
    """``models/validation.yaml``."""

    version: int
    split: SplitSpec
    calibration: CalibrationSpec
    champion: ChampionSpec
    bootstrap: BootstrapSpec
    stability: StabilitySpec


def load_boosting_spec(models_dir: Path | str | None = None) -> BoostingSpec:
    """Load and validate ``boosting.yaml``."""
    return load_spec("boosting", BoostingSpec, models_dir)


def load_validation_spec(models_dir: Path | str | None = None) -> ValidationSpec:
    """Load and validate ``validation.yaml``."""
    return load_spec("validation", ValidationSpec, models_dir)
