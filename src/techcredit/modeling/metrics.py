"""Model metrics: discrimination, stability, calibration, with bootstrap intervals.

Pure numpy/pandas and vectorised. ``y`` is the default flag (1 = default) and a
higher ``score`` or ``prob`` means riskier unless stated otherwise; points scores, where
higher is safer, give ``auc(y, -points)``.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1])
>>> prob = np.array([0.1, 0.4, 0.35, 0.8])
>>> auc(y, prob), gini(y, prob), ks(y, prob)
(0.75, 0.5, 0.5)
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from techcredit.exceptions import InvalidInputError

__all__ = [
    "ConfidenceInterval",
    "auc",
    "auc_ci",
    "bootstrap_ci",
    "brier",
    "calibration_against_truth",
    "calibration_by_decile",
    "calibration_summary",
    "csi",
    "gini",
    "iv",
    "ks",
    "ks_ci",
    "psi",
    "psi_summary",
    "psi_table",
    "psi_terms",
]


class ConfidenceInterval(NamedTuple):
    """Point estimate and percentile bootstrap interval."""

    estimate: float
    lower: float
    upper: float
    level: float


# ---------------------------------------------------------------- validation
def _binary(y: Any, name: str = "y") -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64) if not isinstance(y, np.ndarray) or y.dtype != bool \
        else y.astype(np.float64)
    if arr.ndim != 1:
        raise InvalidInputError([(name, None, None, "must be one-dimensional")])
    if not np.isfinite(arr).all():
        raise InvalidInputError([(name, None, None, "NaN or infinite values")])
    if ((arr != 0) & (arr != 1)).any():
        raise InvalidInputError([(name, None, None, "must hold only 0 and 1")])
    return arr


def _scores(score: Any, n: int, name: str = "score") -> np.ndarray:
    arr = np.asarray(score, dtype=np.float64)
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidInputError([(name, None, None, f"must be one-dimensional of length {n}")])
    if not np.isfinite(arr).all():
        raise InvalidInputError([(name, None, None, "NaN or infinite values")])
    return arr


def _both_classes(y: np.ndarray) -> tuple[float, float]:
    n_event = float(y.sum())
    n_nonevent = float(len(y) - n_event)
    if n_event == 0 or n_nonevent == 0:
        raise InvalidInputError([("y", None, None, "needs both classes 0 and 1")])
    return n_event, n_nonevent


# ------------------------------------------------------------ discrimination
def auc(y: Any, score: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties).

    Parameters
    ----------
    y : array-like of {0, 1}
        Default flag.
    score : array-like of float
        Higher means riskier.

    Examples
    --------
    >>> auc([0, 1, 0, 1], [0.2, 0.9, 0.5, 0.5])
    0.875
    """
    y_arr = _binary(y)
    s = _scores(score, len(y_arr))
    n_event, n_nonevent = _both_classes(y_arr)
    return _auc_unchecked(y_arr, s, n_event, n_nonevent)


def _auc_unchecked(y: np.ndarray, s: np.ndarray, n_event: float, n_nonevent: float) -> float:
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mean_rank = upper - (counts - 1) / 2.0  # average 1-based rank of each distinct value
    rank_sum = float(np.sum(mean_rank[inverse] * y))
    return (rank_sum - n_event * (n_event + 1) / 2.0) / (n_event * n_nonevent)


def gini(y: Any, score: Any) -> float:
    """Gini coefficient (accuracy ratio) ``2 * AUC - 1``.

    Examples
    --------
    >>> gini([0, 0, 1, 1], [1, 2, 3, 4])
    1.0
    """
    return 2.0 * auc(y, score) - 1.0


def ks(y: Any, score: Any) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the score distributions
    of defaults and non-defaults, over thresholds between distinct scores.

    Examples
    --------
    >>> ks([0, 0, 0, 1, 1], [1, 2, 3, 2, 5])
    0.5
    """
    y_arr = _binary(y)
    s = _scores(score, len(y_arr))
    n_event, n_nonevent = _both_classes(y_arr)
    return _ks_unchecked(y_arr, s, n_event, n_nonevent)


def _ks_unchecked(y: np.ndarray, s: np.ndarray, n_event: float, n_nonevent: float) -> float:
    _, inverse = np.unique(s, return_inverse=True)
    events = np.bincount(inverse, weights=y)
    totals = np.bincount(inverse)
    cum_event = np.cumsum(events) / n_event
    cum_nonevent = np.cumsum(totals - events) / n_nonevent
    return float(np.max(np.abs(cum_event - cum_nonevent)))


def brier(y: Any, prob: Any) -> float:
    """Brier score: mean squared error of the predicted probability of default.

    Examples
    --------
    >>> round(brier([0, 1], [0.2, 0.6]), 12)
    0.1
    """
    y_arr = _binary(y)
    p = _scores(prob, len(y_arr), "prob")
    if ((p < 0) | (p > 1)).any():
        raise InvalidInputError([("prob", None, None, "probabilities must lie in [0, 1]")])
    return float(np.mean((p - y_arr) ** 2))


# -------------------------------------------------------------- information
def iv(bins: Any, y: Any, *, smoothing: float = 0.5) -> float:
    """Information value of a binned (or categorical) characteristic.

    ``IV = sum_i (e_i/E - n_i/N) * ln((e_i + a)/(E + a m) / ((n_i + a)/(N + a m)))`` over
    the ``m`` distinct values (missing values form their own bin), ``a`` = smoothing.

    Examples
    --------
    >>> round(iv(["a", "a", "b", "b"], [1, 0, 0, 0]), 4)
    1.073
    """
    y_arr = _binary(y)
    labels = pd.Series(np.asarray(bins, dtype=object)).fillna("__missing__")
    if len(labels) != len(y_arr):
        raise InvalidInputError([("bins", None, None, "length differs from y")])
    codes, _ = pd.factorize(labels)
    event = np.bincount(codes, weights=y_arr)
    total = np.bincount(codes)
    nonevent = total - event
    n_event, n_nonevent = _both_classes(y_arr)
    m = len(total)
    woe = np.log(((event + smoothing) / (n_event + smoothing * m))
                 / ((nonevent + smoothing) / (n_nonevent + smoothing * m)))
    return float(np.sum((event / n_event - nonevent / n_nonevent) * woe))


# --------------------------------------------------------------- stability
def psi_table(expected: Any, actual: Any, *, bins: int = 10, eps: float = 1e-4
              ) -> pd.DataFrame:
    """Per-bin shares and PSI terms of ``actual`` against ``expected``.

    Numeric inputs are cut at the quantiles of ``expected`` (``bins`` equal-count bins,
    fewer when values repeat); other inputs are compared by category. Missing values
    are their own bin. Empty shares are floored at ``eps``.

    Examples
    --------
    >>> psi_table([1, 2, 3, 4], [1, 1, 3, 4], bins=2)
    ... # doctest: +NORMALIZE_WHITESPACE
                 expected_share  actual_share  psi
    bin
    (-inf, 2.5]             0.5           0.5  0.0
    (2.5, inf]              0.5           0.5  0.0
    """
    e = pd.Series(np.asarray(expected, dtype=object) if not _is_numeric(expected)
                  else np.asarray(expected, dtype=np.float64))
    a = pd.Series(np.asarray(actual, dtype=object) if not _is_numeric(actual)
                  else np.asarray(actual, dtype=np.float64))
    if len(e) == 0 or len(a) == 0:
        raise InvalidInputError([("expected" if len(e) == 0 else "actual", None, None,
                                  "no values")])
    if _is_numeric(expected) and _is_numeric(actual):
        finite = e.dropna().to_numpy()
        qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]) if len(finite) else []
        edges = np.unique(np.asarray(qs, dtype=np.float64))
        cut = np.concatenate([[-np.inf], edges, [np.inf]])
        labels = [f"({lo:.6g}, {hi:.6g}]" for lo, hi in itertools.pairwise(cut)]
        e_lab = pd.Series(pd.cut(e, cut, labels=labels).astype(object)).fillna("missing")
        a_lab = pd.Series(pd.cut(a, cut, labels=labels).astype(object)).fillna("missing")
        order = [*labels, "missing"]
    else:
        e_lab = e.astype(object).where(e.notna(), "missing").astype(str)
        a_lab = a.astype(object).where(a.notna(), "missing").astype(str)
        order = sorted(set(e_lab) | set(a_lab))
    e_share = e_lab.value_counts(normalize=True).reindex(order, fill_value=0.0)
    a_share = a_lab.value_counts(normalize=True).reindex(order, fill_value=0.0)
    table = pd.DataFrame({"expected_share": e_share.to_numpy(),
                          "actual_share": a_share.to_numpy()}, index=pd.Index(order, name="bin"))
    table = table[(table.expected_share > 0) | (table.actual_share > 0)]
    table["psi"] = psi_terms(table.expected_share.to_numpy(), table.actual_share.to_numpy(),
                             eps=eps)
    return table


def psi_terms(expected: np.ndarray, actual: np.ndarray, *, eps: float) -> np.ndarray:
    """Each bin's PSI term ``(a - e) ln(a / e)``, every share floored at ``eps``.

    The one formula of the PSI (:func:`psi_table`, :func:`psi_summary`, monitoring's
    stability report); shares on the last axis, so many draws go at once.

    Examples
    --------
    >>> psi_terms(np.array([0.5, 0.5, 0.0]), np.array([0.8, 0.2, 0.0]), eps=1e-4).round(4)
    array([0.141 , 0.2749, 0.    ])
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    a = np.maximum(np.asarray(actual, dtype=np.float64), eps)
    return (a - e) * np.log(a / e)


def psi(expected: Any, actual: Any, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (always >= 0).

    Examples
    --------
    >>> psi([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25)
    0.0
    >>> round(psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20), 4)
    0.4159
    """
    return float(psi_table(expected, actual, bins=bins, eps=eps)["psi"].sum())


def psi_summary(expected: Any, actual: Any, *, bins: int = 10, eps: float = 1e-4,
                level: float = 0.95, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """PSI with the part of it that sampling alone would give, and what is left.

    ``psi_noise`` is the ``level`` quantile of the PSI between two samples of the sizes
    given, both drawn from the binned ``expected`` distribution (``draws`` multinomial
    draws, seeded: the result is deterministic). It is the PSI that equal distributions
    exceed one time in twenty at the default level -- about ``(1 / n_expected +
    1 / n_actual)`` times the chi-square quantile with ``k - 1`` degrees of freedom, but
    exact for the binned statistic on small samples, where that approximation is too
    small. ``psi_excess = max(0, psi - psi_noise)`` is the shift that sampling does not
    explain: on large samples it approaches ``psi``; on a segment with about 100
    validation rows it removes about 0.17.

    Returns
    -------
    dict
        ``psi``, ``psi_noise``, ``psi_excess`` and ``psi_bins`` (bins actually used).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> out = psi_summary(rng.normal(size=5000), rng.normal(size=100))
    >>> out["psi_bins"], round(out["psi_noise"], 2)
    (10.0, 0.19)
    >>> out["psi"] > 0 and out["psi_excess"] == max(0.0, out["psi"] - out["psi_noise"])
    True
    >>> psi_summary(np.arange(5000.0), np.arange(5000.0) + 2500)["psi_excess"] > 1
    True
    """
    table = psi_table(expected, actual, bins=bins, eps=eps)
    value = float(table["psi"].sum())
    n_expected, n_actual = len(np.asarray(expected)), len(np.asarray(actual))
    shares = table["expected_share"].to_numpy()
    rng = np.random.default_rng(seed)
    e = rng.multinomial(n_expected, shares / shares.sum(), size=draws) / n_expected
    a = rng.multinomial(n_actual, shares / shares.sum(), size=draws) / n_actual
    noise = float(np.quantile(psi_terms(e, a, eps=eps).sum(axis=1), level))
    return {"psi": value, "psi_noise": noise, "psi_excess": max(0.0, value - noise),
            "psi_bins": float(len(table))}


def csi(expected: pd.DataFrame, actual: pd.DataFrame, *, bins: int = 10,
        eps: float = 1e-4) -> pd.Series:
    """Characteristic stability index: the PSI of each column of ``expected``.

    Examples
    --------
    >>> import pandas as pd
    >>> base = pd.DataFrame({"x": range(100), "c": ["a", "b"] * 50})
    >>> csi(base, base).tolist()
    [0.0, 0.0]
    """
    missing = [c for c in expected.columns if c not in actual.columns]
    if missing:
        raise InvalidInputError([("actual", None, c, "missing column") for c in missing])
    return pd.Series({c: psi(expected[c], actual[c], bins=bins, eps=eps)
                      for c in expected.columns}, name="csi", dtype=np.float64)


def _is_numeric(values: Any) -> bool:
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        dtype = np.asarray(values).dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


# -------------------------------------------------------------- calibration
def calibration_by_decile(y: Any, prob: Any, *, n_groups: int = 10) -> pd.DataFrame:
    """Expected vs observed default rate in equal-count groups of predicted PD.

    Rows are sorted by ``prob`` (ties in input order) and cut into ``n_groups``
    groups of (nearly) equal size; group 1 has the lowest predicted PD.

    Examples
    --------
    >>> table = calibration_by_decile([0, 0, 1, 0, 1, 1], [.1, .2, .3, .4, .8, .9],
    ...                               n_groups=3)
    >>> table[["n", "events", "expected_pd", "observed_rate"]].round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
           n  events  expected_pd  observed_rate
    group
    1      2       0         0.15            0.0
    2      2       1         0.35            0.5
    3      2       2         0.85            1.0
    """
    y_arr = _binary(y)
    p = _scores(prob, len(y_arr), "prob")
    if len(p) < n_groups:
        raise InvalidInputError([("prob", None, None, f"fewer rows than {n_groups} groups")])
    group = _groups_by_prob(p, n_groups)
    n = np.bincount(group, minlength=n_groups)
    events = np.bincount(group, weights=y_arr, minlength=n_groups)
    expected_events = np.bincount(group, weights=p, minlength=n_groups)
    table = pd.DataFrame({
        "n": n,
        "events": events.astype(np.int64),
        "expected_events": expected_events,
        "expected_pd": expected_events / n,
        "observed_rate": events / n,
        "pd_min": pd.Series(p).groupby(group).min().to_numpy(),
        "pd_max": pd.Series(p).groupby(group).max().to_numpy(),
    }, index=pd.Index(np.arange(1, n_groups + 1), name="group"))
    table["difference"] = table.observed_rate - table.expected_pd
    return table


def _groups_by_prob(p: np.ndarray, n_groups: int) -> np.ndarray:
    """Equal-count group of each row by predicted PD (ties in input order), 0-based."""
    order = np.argsort(p, kind="stable")
    group = np.empty(len(p), dtype=np.int64)
    group[order] = np.arange(len(p)) * n_groups // len(p)
    return group


def calibration_summary(y: Any, prob: Any, *, n_groups: int = 10) -> dict[str, float]:
    """Decile gaps between predicted PD and observed default rate, and their noise.

    ``gap`` is ``|expected_pd - observed_rate|`` per group of
    :func:`calibration_by_decile`; ``noise`` is 1.96 binomial standard errors of the
    observed rate under the predicted PD, ``1.96 * sqrt(p (1 - p) / n)``: a gap inside it
    is no evidence of miscalibration.

    Returns
    -------
    dict
        ``calibration_error`` (largest gap), ``calibration_error_mean`` (mean gap),
        ``calibration_noise`` (largest noise: the gap a perfectly calibrated model
        reaches in its worst group about one time in twenty) and ``calibration_excess``
        (largest gap beyond its group's noise, 0 when every gap is inside its noise).

    Examples
    --------
    >>> out = calibration_summary([0, 1] * 50, [0.5] * 100, n_groups=2)
    >>> out["calibration_error"], round(out["calibration_noise"], 4)
    (0.0, 0.1386)
    """
    table = calibration_by_decile(y, prob, n_groups=n_groups)
    gap = (table["expected_pd"] - table["observed_rate"]).abs()
    noise = 1.96 * np.sqrt(table["expected_pd"] * (1 - table["expected_pd"]) / table["n"])
    return {
        "calibration_error": float(gap.max()),
        "calibration_error_mean": float(gap.mean()),
        "calibration_noise": float(noise.max()),
        "calibration_excess": float((gap - noise).clip(lower=0).max()),
    }


def calibration_against_truth(prob: Any, true_pd: Any, *, n_groups: int = 10
                              ) -> pd.DataFrame:
    """Mean predicted PD vs mean true PD in equal-count groups of predicted PD.

    For data with a known true PD (a generator's truth), the true PD is the expectation
    of the outcome, so this measures calibration without the binomial noise of observed
    default rates. What noise is left comes from which rows fall in a group:
    ``noise`` is 1.96 standard errors of the group's mean of ``prob - true_pd``.

    Examples
    --------
    >>> table = calibration_against_truth([.1, .2, .3, .4], [.1, .3, .3, .3], n_groups=2)
    >>> table["true_pd"].round(3).tolist(), table["gap"].round(3).tolist()
    ([0.2, 0.3], [0.05, 0.05])
    """
    p = _scores(prob, len(np.asarray(prob)), "prob")
    t = _scores(true_pd, len(p), "true_pd")
    if len(p) < n_groups:
        raise InvalidInputError([("prob", None, None, f"fewer rows than {n_groups} groups")])
    group = _groups_by_prob(p, n_groups)
    n = np.bincount(group, minlength=n_groups).astype(np.float64)
    diff = p - t
    mean_diff = np.bincount(group, weights=diff, minlength=n_groups) / n
    var = np.bincount(group, weights=diff**2, minlength=n_groups) / n - mean_diff**2
    return pd.DataFrame({
        "n": n.astype(np.int64),
        "expected_pd": np.bincount(group, weights=p, minlength=n_groups) / n,
        "true_pd": np.bincount(group, weights=t, minlength=n_groups) / n,
        "gap": np.abs(mean_diff),
        "noise": 1.96 * np.sqrt(np.maximum(var, 0.0) / np.maximum(n - 1, 1)),
    }, index=pd.Index(np.arange(1, n_groups + 1), name="group"))


# ---------------------------------------------------------------- bootstrap
def bootstrap_ci(y: Any, score: Any, metric: str = "auc", *, n_boot: int = 500,
                 level: float = 0.95, seed: int = 0) -> ConfidenceInterval:
    """Percentile bootstrap interval of AUC or KS, seeded and reproducible.

    Resamples drawing a single class are skipped.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500)
    >>> ci = bootstrap_ci(y, y + rng.normal(0, 1, 500), "auc", n_boot=200, seed=1)
    >>> ci.lower < ci.estimate < ci.upper
    True
    """
    funcs = {"auc": _auc_unchecked, "ks": _ks_unchecked}
    if metric not in funcs:
        raise ValueError(f"metric must be 'auc' or 'ks', got {metric!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    func = funcs[metric]
    y_arr = _binary(y)
    s = _scores(score, len(y_arr))
    n_event, n_nonevent = _both_classes(y_arr)
    estimate = func(y_arr, s, n_event, n_nonevent)
    rng = np.random.default_rng(seed)
    n = len(y_arr)
    values = np.full(n_boot, np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        yb = y_arr[idx]
        ne = float(yb.sum())
        if 0 < ne < n:
            values[b] = func(yb, s[idx], ne, n - ne)
    alpha = (1 - level) / 2
    lower, upper = np.nanquantile(values, [alpha, 1 - alpha])
    return ConfidenceInterval(float(estimate), float(lower), float(upper), level)


def auc_ci(y: Any, score: Any, *, n_boot: int = 500, level: float = 0.95,
           seed: int = 0) -> ConfidenceInterval:
    """Bootstrap confidence interval of :func:`auc` (see :func:`bootstrap_ci`).

    Examples
    --------
    >>> auc_ci([0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 6], n_boot=50).estimate
    0.6666666666666666
    """
    return bootstrap_ci(y, score, "auc", n_boot=n_boot, level=level, seed=seed)


def ks_ci(y: Any, score: Any, *, n_boot: int = 500, level: float = 0.95,
          seed: int = 0) -> ConfidenceInterval:
    """Bootstrap confidence interval of :func:`ks` (see :func:`bootstrap_ci`).

    Examples
    --------
    >>> round(ks_ci([0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 6], n_boot=50).estimate, 6)
    0.333333
    """
    return bootstrap_ci(y, score, "ks", n_boot=n_boot, level=level, seed=seed)
