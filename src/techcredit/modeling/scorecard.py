"""WOE scorecard: optimal binning, variable selection, logistic regression, points.

:class:`Scorecard` fits with optbinning (imported at fit time only) and a logistic
regression on WOE; once fitted, or loaded from its JSON state with
:meth:`Scorecard.from_dict`, it scores with numpy lookups alone. Importing this module
does not import optbinning, ortools, matplotlib, shap or mlflow.

Conventions
-----------
* WOE of a bin is ``ln(share of defaults / share of non-defaults)``: positive is
  riskier than average, so every kept coefficient must be positive (risk order).
* ``logit(PD) = intercept + sum_j coef_j * WOE_j``; :meth:`Scorecard.contributions`
  returns the terms ``coef_j * WOE_j`` and the ``bias`` (the intercept).
* ``points = offset - factor * logit(PD)`` with ``factor = PDO / ln 2`` and
  ``offset = base_points - factor * ln(base_odds)``; the constant is spread evenly over
  the kept features so the points of a row's bins add up to its score.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(7)
>>> n = 3_000
>>> X = pd.DataFrame({"tax_paid_sum_12m": rng.gamma(2.0, 50_000, n),
...                   "firm_age_years": rng.uniform(0, 20, n),
...                   "industry": rng.choice(["software", "retail", "biotech"], n)})
>>> logit = -1.5 - X.tax_paid_sum_12m / 100_000 + (X.industry == "retail") * 1.0
>>> y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
>>> card = Scorecard(monotonic_trend={"tax_paid_sum_12m": -1}).fit(X, y)
>>> list(card.features_)
['tax_paid_sum_12m', 'industry', 'firm_age_years']
>>> card.table("feature").columns.tolist()[-5:]
['std_err', 'p_value', 'vif', 'points_min', 'points_max']
>>> row = X.iloc[0].to_dict()
>>> bool(card.score_row(row).points == card.points(X.iloc[:1]).iloc[0])
True
>>> clone = Scorecard.from_dict(card.to_dict())
>>> bool(np.array_equal(clone.predict_proba(X), card.predict_proba(X)))
True
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from techcredit.config.scorecard import ScorecardSpec, load_scorecard_spec
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.modeling._bins import FeatureBins, FeatureKind
from techcredit.modeling.sql import quote_identifier, scorecard_sql

__all__ = ["STATE_FORMAT", "RowScore", "Scorecard"]

logger = logging.getLogger(__name__)

STATE_FORMAT = "techcredit.scorecard/1"
_MAX_ROWS_NAMED = 5


class RowScore(NamedTuple):
    """Score of one applicant from :meth:`Scorecard.score_row`."""

    points: float
    prob_default: float
    logit: float
    unseen: tuple[str, ...]
    """Features whose category was unseen at fit time and scored in the ``other`` bin."""


@dataclass(frozen=True)
class _Lookup:
    bins: FeatureBins
    contrib: np.ndarray  # coef * WOE per bin (log-odds)
    points: np.ndarray  # points per bin
    contrib_list: list[float]
    points_list: list[float]


@dataclass(frozen=True)
class _NumericTable:
    """Every kept numerical feature's bins as padded arrays, for one lookup of all of them.

    Row ``j`` holds feature ``j``'s splits (padded with ``+inf``, never reached) and
    special codes (padded with NaN, never equal); a value's bin is the number of splits
    at or below it (``searchsorted(..., side="right")``), a special code's bin if it is
    one (the last listed wins, as in :meth:`FeatureBins.index`), the missing bin if NaN.
    """

    splits: np.ndarray
    """``(k, max splits)`` float64."""
    special: np.ndarray
    """``(k, max special codes)`` float64."""
    special_bin: np.ndarray
    """``(k, max special codes)`` bin index of each special code (0 for padding)."""
    missing_bin: np.ndarray
    """``(k,)``."""
    offset: np.ndarray
    """``(k,)`` position of each feature's first bin in ``contrib``."""
    contrib: np.ndarray
    """Every feature's per-bin contributions, concatenated."""

    @classmethod
    def build(cls, lookups: list[_Lookup]) -> _NumericTable | None:
        if not lookups or any(lk.bins.kind != "numerical" for lk in lookups):
            return None
        k = len(lookups)
        width = max(1, *(len(lk.bins.splits) for lk in lookups))
        codes = [[(float(c), lk.bins.n_regular + j) for j, (_, cs) in enumerate(lk.bins.special)
                  for c in cs] for lk in lookups]
        depth = max(1, *(len(c) for c in codes))
        splits = np.full((k, width), np.inf)
        special = np.full((k, depth), np.nan)
        special_bin = np.zeros((k, depth), dtype=np.intp)
        for j, lk in enumerate(lookups):
            splits[j, :len(lk.bins.splits)] = lk.bins.splits
            for d, (code, bin_) in enumerate(codes[j]):
                special[j, d], special_bin[j, d] = code, bin_
        sizes = [lk.contrib.size for lk in lookups]
        return cls(splits, special, special_bin,
                   np.array([lk.bins.missing_index for lk in lookups], dtype=np.intp),
                   np.cumsum([0, *sizes[:-1]]).astype(np.intp),
                   np.concatenate([lk.contrib for lk in lookups]))

    def fill(self, X: np.ndarray, intercept: float, out: np.ndarray) -> int:  # noqa: N803
        """Write the contributions of ``X`` (columns in feature order) and the intercept
        last into ``out`` ``(n, k + 1)``; return -1, or the first column holding an
        infinite value (``out`` then unfinished)."""
        # numba (and with it scipy) loads only when a table is looked up: a scorecard
        # alone keeps to numpy and pandas (tests/test_scorecard.py)
        from techcredit.features._jit import kernel_array
        from techcredit.modeling._lookup import lookup

        return lookup(kernel_array(X), self.splits, self.special, self.special_bin,
                      self.missing_bin, self.offset, self.contrib, intercept, out)


_TABLE_ROWS = 64
"""Up to this many rows, all features are looked up at once (:class:`_NumericTable`)."""


class Scorecard:
    """WOE logistic scorecard with committee-set scaling, sklearn style.

    Parameters
    ----------
    spec : ScorecardSpec, optional
        Settings of ``models/scorecard.yaml``; loaded from the default models folder at
        fit time when omitted.
    monotonic_trend : mapping, optional
        Feature -> ``+1`` (risk rises with the value), ``-1`` (risk falls), or an
        optbinning trend name (``"ascending"``, ``"descending"``, ``"auto"``, ...).
        Features not listed use ``binning.default_monotonic_trend``.
    categorical_features : sequence of str, optional
        Features to bin as categories even if numeric. Non-numeric columns are always
        categorical.
    features : sequence of str, optional
        Columns to use; all columns of ``X`` when omitted.

    Attributes
    ----------
    spec_ : ScorecardSpec
        The settings used.
    features_ : list of str
        Kept features, in scoring order.
    binning_ : dict of str -> FeatureBins
        Bins of every candidate feature (kept or not).
    selection_ : DataFrame
        One row per candidate: ``feature, kind, n_bins, iv, kept, step, reason``.
    intercept_ : float
    coef_ : ndarray
        Coefficients of the kept features' WOE (all positive).
    std_err_, p_value_, vif_ : ndarray
        Wald standard errors, two-sided p-values and VIF of the kept features.
    """

    def __init__(
        self,
        spec: ScorecardSpec | None = None,
        *,
        monotonic_trend: Mapping[str, int | str] | None = None,
        categorical_features: Sequence[str] | None = None,
        features: Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.monotonic_trend = monotonic_trend
        self.categorical_features = categorical_features
        self.features = features

    # ================================================================== fitting
    def fit(self, X: pd.DataFrame, y: Any) -> Scorecard:  # noqa: N803
        """Bin, select, regress and scale.

        Raises
        ------
        InvalidInputError
            If ``X`` or ``y`` is malformed (names every bad column).
        ModelError
            If no feature survives selection.
        """
        from threadpoolctl import threadpool_limits

        from techcredit.modeling.binning import fit_feature_bins, trend_name
        from techcredit.modeling.selection import select_features

        spec = self.spec if self.spec is not None else load_scorecard_spec()
        columns, kinds, target = _validate_fit_input(
            X, y, self.features, self.categorical_features
        )
        trends = dict(self.monotonic_trend or {})
        unknown = sorted(set(trends) - set(columns))
        if unknown:
            logger.info("monotonic_trend names features not in X: %s", unknown)
        binning: dict[str, FeatureBins] = {}
        woe: dict[str, np.ndarray] = {}
        trend_used: dict[str, str] = {}
        for name, values in columns.items():
            try:
                trend = trend_name(trends.get(name), spec.binning.default_monotonic_trend)
            except ValueError as exc:
                raise InvalidInputError([("monotonic_trend", None, name, str(exc))]) from exc
            trend_used[name] = trend
            fb = fit_feature_bins(name, values, target, kind=kinds[name], trend=trend,
                                  binning=spec.binning, policies=spec.policies)
            binning[name] = fb
            idx, _ = fb.index(values)
            woe[name] = np.asarray(fb.woe)[idx]
        # Hundreds of small Newton fits: OpenBLAS threads only spin-wait on them, and on a
        # busy 2-core machine they made selection 18x slower (3.5 s -> 0.19 s measured).
        with threadpool_limits(limits=1, user_api="blas"):
            result = select_features(binning, woe, target, spec.selection, spec.regression)
        self.spec_ = spec
        self.binning_ = binning
        self.trend_ = trend_used
        self.selection_ = result.table
        self.features_ = list(result.kept)
        self.intercept_ = result.fit.intercept
        self.coef_ = result.fit.coef
        self.std_err_ = result.fit.std_err
        self.p_value_ = result.fit.p_value
        self.vif_ = result.vif
        self._build_lookups()
        logger.info("scorecard fitted: %d of %d features kept", len(self.features_),
                    len(binning))
        return self

    def _build_lookups(self) -> None:
        scaling = self.spec_.scaling
        factor, offset = scaling.factor, scaling.offset
        share = (offset - factor * self.intercept_) / len(self.features_)
        lookups = []
        for name, coef in zip(self.features_, self.coef_, strict=True):
            fb = self.binning_[name]
            contrib = float(coef) * np.asarray(fb.woe, dtype=np.float64)
            points = share - factor * contrib
            if scaling.points_decimals is not None:
                points = np.round(points, scaling.points_decimals)
            lookups.append(_Lookup(fb, contrib, points, contrib.tolist(), points.tolist()))
        self._lookups = lookups
        self._table = _NumericTable.build(lookups)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_lookups"):
            raise ModelError("this Scorecard is not fitted; call fit() or from_dict() first")

    # ================================================================= scoring
    def _indices(self, X: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:  # noqa: N803
        """Bin index per kept feature and an (n, k) mask of unseen categories."""
        self._check_fitted()
        values = _validate_score_input(X, [lk.bins for lk in self._lookups])
        indices = []
        unseen = np.zeros((len(X), len(self._lookups)), dtype=bool)
        problems: list[tuple[object, ...]] = []
        for j, (lk, vals) in enumerate(zip(self._lookups, values, strict=True)):
            idx, mask = lk.bins.index(vals)
            indices.append(idx)
            unseen[:, j] = mask
            if mask.any() and self.spec_.policies.unseen_category == "raise":
                for pos in np.flatnonzero(mask)[:_MAX_ROWS_NAMED]:
                    problems.append(("X", X.index[pos], lk.bins.name,
                                     f"unseen category {vals[pos]!r}"))
        if problems:
            raise InvalidInputError(problems)
        if unseen.any():
            cols = [lk.bins.name for lk, hit in zip(self._lookups, unseen.any(axis=0),
                                                    strict=True) if hit]
            logger.warning("%d row(s) with unseen categories scored in the 'other' bin of %s",
                           int(unseen.any(axis=1).sum()), cols)
        return indices, unseen

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """``logit(PD)`` per row: the intercept plus each feature's contribution."""
        indices, _ = self._indices(X)
        return self._logit(indices, len(X))

    def _logit(self, indices: list[np.ndarray], n: int) -> np.ndarray:
        logit = np.full(n, self.intercept_)
        for lk, idx in zip(self._lookups, indices, strict=True):
            logit += lk.contrib[idx]
        return logit

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """Probabilities of ``[no default, default]`` per row, shape ``(n, 2)``."""
        prob = _sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - prob, prob])

    def points(self, X: pd.DataFrame, *, by_feature: bool = False  # noqa: N803
               ) -> pd.Series | pd.DataFrame:
        """Total score per row, or the points of each feature plus ``total``."""
        indices, _ = self._indices(X)
        total = np.zeros(len(X))
        parts = {}
        for lk, idx in zip(self._lookups, indices, strict=True):
            pts = lk.points[idx]
            total += pts
            parts[lk.bins.name] = pts
        if not by_feature:
            return pd.Series(total, index=X.index, name="score_points")
        parts["total"] = total
        return pd.DataFrame(parts, index=X.index)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """Log-odds contribution of each kept feature plus a ``bias`` column.

        Row sums equal :meth:`decision_function` (up to float summation order; the
        sum ``bias + f1 + f2 + ...`` taken left to right is exact). Positive values
        raise the probability of default.
        """
        indices, _ = self._indices(X)
        data = {"bias": np.full(len(X), self.intercept_)}
        for lk, idx in zip(self._lookups, indices, strict=True):
            data[lk.bins.name] = lk.contrib[idx]
        frame = pd.DataFrame(data, index=X.index)
        return frame[[*self.features_, "bias"]]

    def contributions_array(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Contributions from float64 feature columns by name: ``(n, k + 1)``, bias last.

        The serving path (no pandas): same values as :meth:`contributions`, columns in
        :attr:`features_` order then the intercept. Numerical features only.

        Raises
        ------
        InvalidInputError
            If a kept feature is missing or infinite.
        ModelError
            If a kept feature is categorical.
        """
        self._check_fitted()
        problems: list[tuple[object, ...]] = []
        parts = []
        for lk in self._lookups:
            name = lk.bins.name
            if lk.bins.kind != "numerical":
                raise ModelError(f"contributions_array scores numerical features only; "
                                 f"{name} is categorical")
            if name not in columns:
                problems.append(("features", None, name, "missing fitted feature"))
                continue
            values = np.asarray(columns[name], dtype=np.float64)
            if np.isinf(values).any():
                problems.append(("features", None, name, "infinite value"))
                continue
            parts.append(lk.contrib[lk.bins.index(values)[0]])
        if problems:
            raise InvalidInputError(problems)
        n = parts[0].size if parts else len(next(iter(columns.values()), ()))
        return np.column_stack([*parts, np.full(n, self.intercept_)])

    def contributions_ordered(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """:meth:`contributions_array` of a float array whose columns are :attr:`features_`.

        The serving path: a few rows look every feature up at once. Equal, value for
        value, to :meth:`contributions_array`.

        Raises
        ------
        InvalidInputError
            If the array has the wrong shape or an infinite value (naming the feature).
        ModelError
            If a kept feature is categorical.
        """
        self._check_fitted()
        if X.ndim != 2 or X.shape[1] != len(self.features_):
            raise InvalidInputError([("features", None, None,
                                      f"expected a 2-D array with {len(self.features_)} "
                                      "columns in features_ order")])
        if self._table is None or X.shape[0] > _TABLE_ROWS:
            return self.contributions_array(dict(zip(self.features_, X.T, strict=True)))
        out = np.empty((X.shape[0], len(self.features_) + 1))
        if self._table.fill(X, float(self.intercept_), out) >= 0:
            raise InvalidInputError([("features", None, name, "infinite value") for name, bad
                                     in zip(self.features_, np.isinf(X).any(axis=0),
                                            strict=True) if bad])
        return out

    def unseen_categories(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """Boolean frame: which categorical values were unseen at fit time."""
        _, unseen = self._indices(X)
        return pd.DataFrame(unseen, index=X.index, columns=self.features_)

    def score_row(self, row: Mapping[str, Any]) -> RowScore:
        """Score one applicant given as a mapping; pure Python lookups, no pandas.

        Gives bit-identical points and probability to the batch methods.
        """
        self._check_fitted()
        total = 0.0
        logit = self.intercept_
        unseen: list[str] = []
        problems: list[tuple[object, ...]] = []
        for lk in self._lookups:
            fb = lk.bins
            try:
                value = row[fb.name]
            except KeyError:
                problems.append(("row", None, fb.name, "missing field"))
                continue
            if value is pd.NA or value is pd.NaT:
                value = None
            if fb.kind == "numerical":
                if value is not None:
                    if type(value) is not float:
                        if isinstance(value, bool | np.bool_ | Real):
                            value = float(value)
                        else:
                            problems.append(("row", None, fb.name,
                                             f"expected a number, got {value!r}"))
                            continue
                    if value in (math.inf, -math.inf):
                        problems.append(("row", None, fb.name, "infinite value"))
                        continue
            elif value is not None and type(value) is not str:
                value = None if _is_nan(value) else str(value)
            j, is_unseen = fb.index_one(value)
            if is_unseen:
                if self.spec_.policies.unseen_category == "raise":
                    problems.append(("row", None, fb.name, f"unseen category {value!r}"))
                    continue
                unseen.append(fb.name)
            total += lk.points_list[j]
            logit += lk.contrib_list[j]
        if problems:
            raise InvalidInputError(problems)
        if unseen:
            logger.warning("unseen categories scored in the 'other' bin of %s", unseen)
        prob = float(_sigmoid(np.array([logit]))[0])
        return RowScore(total, prob, logit, tuple(unseen))

    # ================================================================ reporting
    def table(self, level: Literal["bin", "feature"] = "bin") -> pd.DataFrame:
        """The scorecard a committee reads.

        ``level="bin"``: one row per bin of each kept feature with ``feature, bin_index,
        bin, bin_kind, count, count_share, event, nonevent, event_rate, woe, iv, coef,
        contribution, points``. ``level="feature"``: one row per kept feature with
        ``feature, kind, n_bins, iv, coef, std_err, p_value, vif, points_min,
        points_max``.
        """
        self._check_fitted()
        if level == "feature":
            return pd.DataFrame({
                "feature": self.features_,
                "kind": [lk.bins.kind for lk in self._lookups],
                "n_bins": [len(lk.bins.labels) for lk in self._lookups],
                "iv": [lk.bins.iv for lk in self._lookups],
                "coef": self.coef_,
                "std_err": self.std_err_,
                "p_value": self.p_value_,
                "vif": self.vif_,
                "points_min": [float(lk.points.min()) for lk in self._lookups],
                "points_max": [float(lk.points.max()) for lk in self._lookups],
            })
        if level != "bin":
            raise ValueError(f"level must be 'bin' or 'feature', got {level!r}")
        frames = []
        for lk, coef in zip(self._lookups, self.coef_, strict=True):
            fb = lk.bins
            count = np.asarray(fb.count, dtype=np.int64)
            event = np.asarray(fb.event, dtype=np.int64)
            nonevent = count - event
            woe = np.asarray(fb.woe)
            dist_e = event / max(int(event.sum()), 1)
            dist_n = nonevent / max(int(nonevent.sum()), 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(count > 0, event / np.maximum(count, 1), np.nan)
            frames.append(pd.DataFrame({
                "feature": fb.name,
                "bin_index": np.arange(len(fb.labels)),
                "bin": fb.labels,
                "bin_kind": fb.bin_kinds,
                "count": count,
                "count_share": count / max(int(count.sum()), 1),
                "event": event,
                "nonevent": nonevent,
                "event_rate": rate,
                "woe": woe,
                "iv": (dist_e - dist_n) * woe,
                "coef": float(coef),
                "contribution": lk.contrib,
                "points": lk.points,
            }))
        return pd.concat(frames, ignore_index=True)

    def to_sql(self, table: str | None = None, *, alias: str = "score_points",
               keep_columns: Sequence[str] = ()) -> str:
        """The total score as one SQL expression (or a ``SELECT`` from ``table``).

        ``table`` is inserted as written (it may be ``schema.table``); ``keep_columns``
        are selected before the score. Missing values must be SQL ``NULL``.
        """
        self._check_fitted()
        sql = scorecard_sql([(lk.bins, lk.points) for lk in self._lookups],
                            unseen_policy=self.spec_.policies.unseen_category,
                            table=table, alias=alias)
        if table is not None and keep_columns:
            kept = ", ".join(quote_identifier(c) for c in keep_columns)
            sql = sql.replace("SELECT (", f"SELECT {kept}, (", 1)
        return sql

    # =================================================================== state
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fitted state: bins, coefficients, settings and versions."""
        self._check_fitted()
        from techcredit._version import __version__

        selection = self.selection_.astype(object).where(self.selection_.notna(), None)
        return {
            "format": STATE_FORMAT,
            "techcredit_version": __version__,
            "spec": self.spec_.model_dump(mode="json"),
            "features": list(self.features_),
            "intercept": float(self.intercept_),
            "coef": [float(c) for c in self.coef_],
            "std_err": [float(c) for c in self.std_err_],
            "p_value": [float(c) for c in self.p_value_],
            "vif": [float(c) for c in self.vif_],
            "trend": {k: self.trend_[k] for k in self.features_},
            "bins": [self.binning_[name].to_dict() for name in self.features_],
            "selection": selection.to_dict(orient="records"),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_dict` output (numpy only).

        Raises
        ------
        ModelError
            If the state is malformed or of another format.
        """
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise ModelError(f"not a scorecard state of format {STATE_FORMAT!r}")
        try:
            spec = ScorecardSpec.model_validate(state["spec"])
            bins = [FeatureBins.from_dict(b) for b in state["bins"]]
            features = [str(f) for f in state["features"]]
            arrays = {k: np.asarray(state[k], dtype=np.float64)
                      for k in ("coef", "std_err", "p_value", "vif")}
            intercept = float(state["intercept"])
            selection = pd.DataFrame(list(state["selection"]))
            trend = {str(k): str(v) for k, v in state["trend"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed scorecard state: {exc!r}") from exc
        if [b.name for b in bins] != features or not features or any(
            len(a) != len(features) for a in arrays.values()
        ):
            raise ModelError("malformed scorecard state: features, bins and coef disagree")
        card = cls(spec)
        card.spec_ = spec
        card.binning_ = {b.name: b for b in bins}
        card.features_ = features
        card.trend_ = trend
        card.intercept_ = intercept
        card.coef_ = arrays["coef"]
        card.std_err_ = arrays["std_err"]
        card.p_value_ = arrays["p_value"]
        card.vif_ = arrays["vif"]
        card.selection_ = selection
        card._build_lookups()
        return card

    def __repr__(self) -> str:
        fitted = f", {len(self.features_)} features" if hasattr(self, "features_") else ""
        return f"Scorecard(spec_version={self._spec_version()}{fitted})"

    def _spec_version(self) -> object:
        spec = getattr(self, "spec_", None) or self.spec
        return None if spec is None else spec.version


# ====================================================================== helpers
def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def _is_nan(value: Any) -> bool:
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _validate_fit_input(
    X: Any, y: Any, features: Sequence[str] | None, categorical: Sequence[str] | None  # noqa: N803
) -> tuple[dict[str, np.ndarray], dict[str, FeatureKind], np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError([("X", None, None, f"expected a pandas DataFrame, got "
                                                   f"{type(X).__name__}")])
    problems: list[tuple[object, ...]] = []
    target = _validate_target(y, len(X), problems)
    names = list(X.columns) if features is None else list(features)
    cats = set(categorical or ())
    if not names:
        problems.append(("X", None, None, "no feature columns"))
    if len(X) == 0:
        problems.append(("X", None, None, "no rows"))
    columns: dict[str, np.ndarray] = {}
    kinds: dict[str, FeatureKind] = {}
    for name in names:
        if not isinstance(name, str):
            problems.append(("X", None, name, "column names must be strings"))
            continue
        if name not in X.columns:
            problems.append(("X", None, name, "missing column"))
            continue
        col = X[name]
        if isinstance(col, pd.DataFrame):
            problems.append(("X", None, name, "duplicate column name"))
            continue
        kind: FeatureKind = "categorical" if name in cats or _is_categorical(col) else \
            "numerical"
        values = _column_values(col, kind, problems)
        if values is None:
            continue
        missing = pd.isna(values) if kind == "categorical" else np.isnan(values)
        if len(values) and missing.all():
            problems.append(("X", None, name, "all values are missing"))
            continue
        columns[name] = values
        kinds[name] = kind
    if problems:
        raise InvalidInputError(problems)
    return columns, kinds, target


def _validate_target(y: Any, n_rows: int, problems: list[tuple[object, ...]]) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        problems.append(("y", None, None, f"must be one-dimensional, got shape {arr.shape}"))
        return arr
    if len(arr) != n_rows:
        problems.append(("y", None, None, f"length {len(arr)} differs from X's {n_rows} rows"))
        return arr
    if arr.dtype == bool:
        return arr.astype(np.float64)
    try:
        num = np.asarray(pd.to_numeric(pd.Series(arr), errors="raise"), dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(("y", None, None, "must be numeric 0/1"))
        return arr
    bad = ~np.isfinite(num)
    if bad.any():
        problems.append(("y", int(np.flatnonzero(bad)[0]), None,
                         f"{int(bad.sum())} NaN or infinite value(s)"))
        return num
    not_binary = (num != 0) & (num != 1)
    if not_binary.any():
        pos = int(np.flatnonzero(not_binary)[0])
        problems.append(("y", pos, None, f"must be 0 or 1, got {num[pos]!r}"))
        return num
    if len(num) and np.unique(num).size < 2:
        problems.append(("y", None, None, f"single class {int(num[0])}: need both 0 and 1"))
    return num


def _is_categorical(col: pd.Series) -> bool:
    dtype = col.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    ) and not (pd.api.types.is_object_dtype(dtype) and _object_all_numbers(col))


def _object_all_numbers(col: pd.Series) -> bool:
    vals = col.dropna()
    return len(vals) > 0 and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in vals.to_numpy()
    )


def _column_values(col: pd.Series, kind: FeatureKind,
                   problems: list[tuple[object, ...]]) -> np.ndarray | None:
    """float64 (numerical) or object str/None (categorical) values of one column."""
    name = col.name
    dtype = col.dtype
    if kind == "categorical":
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(
                dtype):
            problems.append(("X", None, name, f"unsupported dtype {dtype}"))
            return None
        arr = col.to_numpy(dtype=object)
        missing = pd.isna(arr)
        if not all(type(v) is str for v in arr[~missing]):
            return np.array([None if m else str(v) for v, m in zip(arr, missing, strict=True)],
                            dtype=object)
        if missing.any():
            arr = arr.copy()  # pandas may hand out a read-only view
            arr[missing] = None
        return arr
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_object_dtype(dtype):
        raw = col.to_numpy(dtype=object)
        missing = pd.isna(raw)
        bad = np.array([not (m or isinstance(v, Real)) for v, m in zip(raw, missing, strict=True)],
                       dtype=bool)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            problems.append(("X", col.index[pos], name,
                             f"wrong dtype: expected numbers, got {raw[pos]!r}"))
            return None
        values = np.where(missing, np.nan, raw).astype(np.float64)
    else:
        problems.append(("X", None, name, f"wrong dtype {dtype}: expected numbers"))
        return None
    inf = np.isinf(values)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        problems.append(("X", col.index[pos], name, "infinite value"))
        return None
    return values


def _validate_score_input(X: Any, bins: Sequence[FeatureBins]) -> list[np.ndarray]:  # noqa: N803
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError([("X", None, None, f"expected a pandas DataFrame, got "
                                                   f"{type(X).__name__}")])
    problems: list[tuple[object, ...]] = []
    out: list[np.ndarray] = []
    for fb in bins:
        if fb.name not in X.columns:
            problems.append(("X", None, fb.name, "missing fitted feature"))
            continue
        col = X[fb.name]
        if fb.kind == "numerical" and _is_categorical(col) and not \
                pd.api.types.is_object_dtype(col.dtype):
            problems.append(("X", None, fb.name,
                             f"wrong dtype {col.dtype}: expected numbers"))
            continue
        values = _column_values(col, fb.kind, problems)
        if values is not None:
            out.append(values)
    if problems:
        raise InvalidInputError(problems)
    return out
