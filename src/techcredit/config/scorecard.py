"""Pydantic model of ``models/scorecard.yaml``: the numbers of the WOE scorecard.

Every number a credit committee may change (points scaling, bin sizes, selection
limits, unseen-category policy, fixed cut points, special codes) lives in the YAML
file; :class:`techcredit.modeling.Scorecard` reads them from here and from nowhere else.

Examples
--------
>>> spec = load_scorecard_spec()
>>> spec.scaling.pdo > 0
True
>>> spec.policies.unseen_category in ("raise", "other")
True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from techcredit.config._base import StrictModel, load_spec

__all__ = [
    "BinningSpec",
    "PoliciesSpec",
    "RegressionSpec",
    "ScalingSpec",
    "ScorecardSpec",
    "SelectionSpec",
    "load_scorecard_spec",
]

MonotonicTrend = Literal[
    "auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex", "concave",
    "peak", "valley",
]


class ScalingSpec(StrictModel):
    """Points scaling: ``points = offset - factor * logit(PD)``.

    ``factor = pdo / ln 2`` and ``offset = base_points - factor * ln(base_odds)``, where
    ``base_odds`` are good:bad odds, so a score of ``base_points`` means odds of
    ``base_odds`` to 1 against default, and every ``pdo`` points double those odds.
    """

    pdo: float = Field(gt=0, description="points to double the good:bad odds")
    base_points: float = Field(description="score at the base odds")
    base_odds: float = Field(gt=0, description="good:bad odds at base_points")
    points_decimals: int | None = Field(
        default=None, ge=0, le=6, description="round each bin's points; null keeps floats"
    )

    @property
    def factor(self) -> float:
        """Points per unit of log-odds: ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at log-odds 0: ``base_points - factor * ln(base_odds)``."""
        return self.base_points - self.factor * math.log(self.base_odds)


class BinningSpec(StrictModel):
    """Optimal-binning settings (passed to optbinning at fit time) and fixed bins."""

    solver: Literal["cp", "mip"] = "cp"
    prebinning_method: Literal["cart", "quantile", "uniform"] = "cart"
    max_n_prebins: int = Field(default=20, ge=2)
    min_prebin_size: float = Field(default=0.05, gt=0, lt=0.5)
    max_n_bins: int | None = Field(default=None, ge=2)
    min_bin_size: float | None = Field(default=None, gt=0, lt=0.5)
    min_bin_n_event: int | None = Field(default=None, ge=1)
    min_bin_n_nonevent: int | None = Field(default=None, ge=1)
    default_monotonic_trend: MonotonicTrend = "auto_asc_desc"
    time_limit_s: float = Field(default=100, gt=0)
    woe_smoothing: float = Field(
        default=0.5, gt=0, description="pseudo-count added to events and non-events per bin"
    )
    special_values_all: list[float] = Field(
        default_factory=list, description="codes put in a 'special' bin for every numeric feature"
    )
    special_values: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict,
        description="feature -> {bin label -> codes}; each label becomes its own bin",
    )
    user_splits: dict[str, list[float]] = Field(
        default_factory=dict, description="feature -> fixed cut points (no optimisation)"
    )
    user_groups: dict[str, list[list[str]]] = Field(
        default_factory=dict, description="categorical feature -> fixed category groups"
    )

    @model_validator(mode="after")
    def _check_fixed_bins(self) -> BinningSpec:
        for feature, cuts in self.user_splits.items():
            if sorted(set(cuts)) != list(cuts) or not cuts:
                raise ValueError(f"user_splits.{feature}: cut points must be strictly increasing")
        for feature, groups in self.user_groups.items():
            seen = [c for g in groups for c in g]
            if len(seen) != len(set(seen)) or not all(groups):
                raise ValueError(f"user_groups.{feature}: groups must be non-empty and disjoint")
        return self


class SelectionSpec(StrictModel):
    """Variable selection: information value, correlation, VIF, sign and significance."""

    min_iv: float = Field(default=0.02, ge=0)
    max_iv: float | None = Field(default=None, gt=0, description="drop suspected leaks above")
    max_abs_corr: float = Field(default=0.7, gt=0, le=1)
    max_vif: float = Field(default=5.0, ge=1)
    max_p_value: float | None = Field(default=None, gt=0, lt=1)
    max_features: int | None = Field(default=None, ge=1)


class RegressionSpec(StrictModel):
    """Logistic regression on WOE (Newton / IRLS, optional ridge penalty)."""

    l2_penalty: float = Field(default=0.0, ge=0)
    max_iter: int = Field(default=100, ge=1)
    tol: float = Field(default=1e-10, gt=0)


class PoliciesSpec(StrictModel):
    """What the scorecard does with values it did not see at fit time."""

    unseen_category: Literal["raise", "other"] = "raise"
    other_bin_woe: Literal["worst", "neutral"] = Field(
        default="worst", description="WOE of the 'other' bin for unseen categories"
    )
    empty_missing_bin_woe: Literal["worst", "neutral"] = Field(
        default="neutral", description="WOE of a missing/special bin with no training rows"
    )


class ScorecardSpec(StrictModel):
    """The whole ``models/scorecard.yaml``."""

    version: int = Field(ge=1)
    scaling: ScalingSpec
    binning: BinningSpec = BinningSpec()
    selection: SelectionSpec = SelectionSpec()
    regression: RegressionSpec = RegressionSpec()
    policies: PoliciesSpec = PoliciesSpec()


def load_scorecard_spec(models_dir: Path | str | None = None) -> ScorecardSpec:
    """Load and validate ``scorecard.yaml`` from ``models_dir`` (default: ``models/``).

    Raises
    ------
    ConfigError
        If the file is missing or invalid; the message names each bad field.
    """
    return load_spec("scorecard", ScorecardSpec, models_dir)
