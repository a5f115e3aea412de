"""Fit-time binning of one feature with optbinning, and the WOE of each bin.

optbinning (and with it ortools) is imported inside :func:`fit_feature_bins` only, so
importing this module stays light. optbinning proposes the cut points (or category
groups); the counts, events and WOE of every bin are then computed here with the
same numpy lookup the scorecard scores with, so fit and scoring cannot disagree.

Examples
--------
>>> import numpy as np
>>> from techcredit.config.scorecard import BinningSpec, PoliciesSpec
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=2_000)
>>> y = (rng.random(2_000) < 1 / (1 + np.exp(-2 * x))).astype(np.int8)
>>> fb = fit_feature_bins("x", x, y, kind="numerical", trend="ascending",
...                       binning=BinningSpec(max_n_bins=4), policies=PoliciesSpec())
>>> fb.n_regular <= 4, fb.woe[0] < fb.woe[fb.n_regular - 1]
(True, True)
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from techcredit.config.scorecard import BinningSpec, PoliciesSpec
from techcredit.modeling._bins import FeatureBins, FeatureKind, interval_labels

__all__ = ["bin_statistics", "fit_feature_bins", "trend_name"]

logger = logging.getLogger(__name__)

_TRENDS = {
    "auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex",
    "concave", "peak", "valley",
}


def trend_name(direction: Any, default: str) -> str:
    """Map a catalogue direction to an optbinning monotonic trend.

    ``+1`` (risk rises with the value) is ``"ascending"`` (event rate ascending),
    ``-1`` is ``"descending"``, ``None``/``0`` the default; strings pass through.

    Examples
    --------
    >>> trend_name(1, "auto"), trend_name(-1, "auto"), trend_name(None, "auto")
    ('ascending', 'descending', 'auto')
    """
    if direction is None or (not isinstance(direction, str) and direction == 0):
        return default
    if isinstance(direction, str):
        if direction not in _TRENDS:
            raise ValueError(f"unknown monotonic trend {direction!r}; use one of {sorted(_TRENDS)}")
        return direction
    if direction == 1:
        return "ascending"
    if direction == -1:
        return "descending"
    raise ValueError(f"direction must be +1, -1, 0 or a trend name, got {direction!r}")


def fit_feature_bins(
    name: str,
    values: np.ndarray,
    y: np.ndarray,
    *,
    kind: FeatureKind,
    trend: str,
    binning: BinningSpec,
    policies: PoliciesSpec,
) -> FeatureBins:
    """Bin one feature and compute the WOE of every bin.

    Parameters
    ----------
    name : str
        Feature name (keys of the fixed cut points and special codes in ``binning``).
    values : ndarray
        float64 with NaN for missing (numerical), or object of ``str``/None.
    y : ndarray of {0, 1}
        Default flag.
    kind : {"numerical", "categorical"}
    trend : str
        optbinning monotonic trend of the event rate.
    binning, policies : specs from ``models/scorecard.yaml``.

    Returns
    -------
    FeatureBins
    """
    special = _special_groups(name, kind, binning)
    if kind == "numerical":
        splits: list[float] = []
        groups: list[list[str]] = []
        if name in binning.user_splits:
            splits = [float(s) for s in binning.user_splits[name]]
        else:
            codes = [c for _, cs in special for c in cs]
            splits = [float(s) for s in _optimal_splits(name, values, y, kind, trend, binning,
                                                        codes)]
        labels = interval_labels(splits)
    else:
        splits = []
        if name in binning.user_groups:
            groups = [list(g) for g in binning.user_groups[name]]
        else:
            groups = [[str(c) for c in g] for g in _optimal_splits(
                name, values, y, kind, trend, binning, [])]
        labels = [_group_label(g) for g in groups]
    labels = labels + [label for label, _ in special] + ["missing"]
    kinds = ["regular"] * (len(labels) - len(special) - 1) + ["special"] * len(special)
    kinds.append("missing")
    if kind == "categorical":
        labels.append("other")
        kinds.append("other")
    n_bins = len(labels)
    skeleton = FeatureBins(name, kind, splits, groups, special, labels, kinds,
                           [0] * n_bins, [0] * n_bins, [0.0] * n_bins)
    idx, _ = skeleton.index(values)
    count, event, woe = bin_statistics(idx, y, n_bins, kinds, binning.woe_smoothing, policies)
    return FeatureBins(name, kind, splits, groups, special, labels, kinds, count, event, woe)


def bin_statistics(
    idx: np.ndarray,
    y: np.ndarray,
    n_bins: int,
    kinds: list[str],
    smoothing: float,
    policies: PoliciesSpec,
) -> tuple[list[int], list[int], list[float]]:
    """Counts, events and smoothed WOE per bin; empty bins follow the YAML policies.

    ``WOE_i = ln(((e_i + a) / (E + a m)) / ((n_i + a) / (N + a m)))`` over the ``m``
    non-empty bins, with ``a`` the smoothing pseudo-count, ``e`` events and ``n``
    non-events. An empty regular bin gets WOE 0; an empty missing/special bin the
    ``empty_missing_bin_woe`` policy; an empty ``other`` bin the ``other_bin_woe`` one.

    Examples
    --------
    >>> import numpy as np
    >>> from techcredit.config.scorecard import PoliciesSpec
    >>> count, event, woe = bin_statistics(np.array([0, 0, 1, 1]), np.array([1, 0, 0, 0]),
    ...     3, ["regular", "regular", "missing"], 0.5, PoliciesSpec())
    >>> count, event, [round(w, 4) for w in woe]
    ([2, 2, 0], [1, 0, 0], [0.6931, -0.9163, 0.0])
    """
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    event = np.bincount(idx, weights=y, minlength=n_bins).round().astype(np.int64)
    nonevent = count - event
    filled = count > 0
    m = int(filled.sum())
    total_event = event.sum() + smoothing * m
    total_nonevent = nonevent.sum() + smoothing * m
    woe = np.zeros(n_bins)
    woe[filled] = np.log(
        ((event[filled] + smoothing) / total_event)
        / ((nonevent[filled] + smoothing) / total_nonevent)
    )
    worst = float(woe[filled].max()) if m else 0.0
    for j, kind in enumerate(kinds):
        if filled[j]:
            continue
        if kind in ("missing", "special"):
            woe[j] = worst if policies.empty_missing_bin_woe == "worst" else 0.0
        elif kind == "other":
            woe[j] = worst if policies.other_bin_woe == "worst" else 0.0
    return count.tolist(), event.tolist(), [float(w) for w in woe]


def _special_groups(name: str, kind: FeatureKind, binning: BinningSpec
                    ) -> list[tuple[str, list[float]]]:
    if kind != "numerical":
        return []
    groups = [(label, [float(c) for c in codes])
              for label, codes in binning.special_values.get(name, {}).items()]
    taken = {c for _, codes in groups for c in codes}
    rest = [float(c) for c in binning.special_values_all if float(c) not in taken]
    if rest:
        groups.append(("special", rest))
    return groups


def _optimal_splits(
    name: str,
    values: np.ndarray,
    y: np.ndarray,
    kind: FeatureKind,
    trend: str,
    binning: BinningSpec,
    special_codes: list[float],
) -> list[Any]:
    from optbinning import OptimalBinning  # fit time only: heavy (ortools)

    optb = OptimalBinning(
        name=name,
        dtype=kind,
        prebinning_method=binning.prebinning_method,
        solver=binning.solver,
        max_n_prebins=binning.max_n_prebins,
        min_prebin_size=binning.min_prebin_size,
        max_n_bins=binning.max_n_bins,
        min_bin_size=binning.min_bin_size,
        min_bin_n_event=binning.min_bin_n_event,
        min_bin_n_nonevent=binning.min_bin_n_nonevent,
        monotonic_trend=trend,
        special_codes=special_codes or None,
        time_limit=binning.time_limit_s,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optb.fit(values, y)
    if optb.status not in ("OPTIMAL", "FEASIBLE"):
        logger.warning("binning of %s ended with status %s", name, optb.status)
    splits = optb.splits
    if kind == "categorical":
        return [list(g) for g in splits]
    return list(np.asarray(splits, dtype=np.float64))


def _group_label(group: list[str]) -> str:
    shown = ", ".join(group[:5])
    more = f", ... (+{len(group) - 5})" if len(group) > 5 else ""
    return f"[{shown}{more}]"
