"""Fitted bins of one feature and the numpy lookups that score with them.

This module is on the scoring path: it imports numpy and pandas only.

Bin layout of a feature, in index order: the regular bins (intervals or category
groups), then one bin per special-code label, then ``missing``, then (categorical
features only) ``other``, where unseen categories go when the policy allows it.

Numerical intervals are closed on the left: ``(-inf, s0), [s0, s1), ..., [sk, inf)``,
the convention of optbinning, so ``bin = searchsorted(splits, x, side="right")``.

Examples
--------
>>> import numpy as np
>>> fb = FeatureBins.from_dict({
...     "name": "age_years", "kind": "numerical", "splits": [30.0, 50.0], "groups": [],
...     "special": [["unknown", [-1.0]]],
...     "labels": ["(-inf, 30)", "[30, 50)", "[50, inf)", "unknown", "missing"],
...     "bin_kinds": ["regular", "regular", "regular", "special", "missing"],
...     "count": [10, 10, 10, 2, 0], "event": [5, 3, 1, 1, 0],
...     "woe": [1.0, 0.2, -1.0, 0.5, 0.0]})
>>> idx, unseen = fb.index(np.array([18.0, 30.0, 77.0, -1.0, np.nan]))
>>> idx.tolist()
[0, 1, 2, 3, 4]
>>> fb.index_one(49.9)
(1, False)
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from techcredit.exceptions import ModelError

__all__ = ["BIN_KINDS", "FeatureBins", "interval_labels"]

BIN_KINDS = ("regular", "special", "missing", "other")
_SMALL_BATCH = 64
FeatureKind = Literal["numerical", "categorical"]


def interval_labels(splits: Sequence[float]) -> list[str]:
    """Human-readable labels of the regular bins of a numerical feature.

    Examples
    --------
    >>> interval_labels([1.5, 3.0])
    ['(-inf, 1.5)', '[1.5, 3)', '[3, inf)']
    """
    edges = ["-inf", *(f"{s:.6g}" for s in splits), "inf"]
    first = [f"(-inf, {edges[1]})"]
    rest = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(edges[1:])]
    return first + rest


@dataclass
class FeatureBins:
    """Fitted bins of one feature: edges or groups, counts, events and WOE per bin.

    WOE is ``ln(share of events / share of non-events)`` (events are defaults), so a
    positive WOE marks a riskier-than-average bin.
    """

    name: str
    kind: FeatureKind
    splits: list[float]
    groups: list[list[str]]
    special: list[tuple[str, list[float]]]
    labels: list[str]
    bin_kinds: list[str]
    count: list[int]
    event: list[int]
    woe: list[float]
    _splits_arr: np.ndarray = field(init=False, repr=False)
    _special_of: dict[float, int] = field(init=False, repr=False)
    _cat_index: pd.Index = field(init=False, repr=False)
    _cat_bins: np.ndarray = field(init=False, repr=False)
    _cat_of: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n_bins = len(self.labels)
        lengths = {len(self.bin_kinds), len(self.count), len(self.event), len(self.woe)}
        if lengths != {n_bins}:
            raise ModelError(f"bins of {self.name!r}: per-bin lists differ in length")
        if self.kind not in ("numerical", "categorical"):
            raise ModelError(f"bins of {self.name!r}: unknown kind {self.kind!r}")
        expected = ["regular"] * self.n_regular + ["special"] * len(self.special) + ["missing"]
        if self.kind == "categorical":
            expected.append("other")
        if list(self.bin_kinds) != expected:
            raise ModelError(f"bins of {self.name!r}: bin layout {self.bin_kinds} is not valid")
        if not all(math.isfinite(w) for w in self.woe):
            raise ModelError(f"bins of {self.name!r}: WOE must be finite")
        self._splits_arr = np.asarray(self.splits, dtype=np.float64)
        self._special_of = {
            float(code): self.n_regular + j for j, (_, codes) in enumerate(self.special)
            for code in codes
        }
        cats = [c for g in self.groups for c in g]
        self._cat_of = {c: j for j, g in enumerate(self.groups) for c in g}
        self._cat_index = pd.Index(cats, dtype=object)
        self._cat_bins = np.array(
            [self._cat_of[c] for c in cats] + [self.other_index], dtype=np.intp
        )

    # ------------------------------------------------------------------ layout
    @property
    def n_regular(self) -> int:
        """Number of regular bins (intervals or category groups)."""
        return len(self.splits) + 1 if self.kind == "numerical" else len(self.groups)

    @property
    def missing_index(self) -> int:
        """Index of the missing-value bin."""
        return self.n_regular + len(self.special)

    @property
    def other_index(self) -> int:
        """Index of the ``other`` bin of a categorical feature (-1 for numerical)."""
        return self.missing_index + 1 if self.kind == "categorical" else -1

    @property
    def iv(self) -> float:
        """Information value of the feature from the stored counts (smoothed WOE)."""
        count = np.asarray(self.count, dtype=np.float64)
        event = np.asarray(self.event, dtype=np.float64)
        nonevent = count - event
        woe = np.asarray(self.woe)
        dist_event = event / max(event.sum(), 1.0)
        dist_nonevent = nonevent / max(nonevent.sum(), 1.0)
        return float(np.sum((dist_event - dist_nonevent) * woe))

    # ----------------------------------------------------------------- lookup
    def index(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bin index of each value and a mask of unseen categories.

        ``values`` is a float64 array (numerical) or an object array of ``str`` with
        ``None``/NaN for missing (categorical). Unseen categories get the ``other``
        bin; the caller applies the unseen-category policy using the mask.
        """
        if self.kind == "numerical":
            idx = np.searchsorted(self._splits_arr, values, side="right")
            for j, (_, codes) in enumerate(self.special):
                idx[np.isin(values, codes)] = self.n_regular + j
            idx[np.isnan(values)] = self.missing_index
            return idx, np.zeros(len(values), dtype=bool)
        missing = pd.isna(values)
        if len(values) <= _SMALL_BATCH:  # a dict beats building a pandas index
            other = self.other_index
            idx = np.array([self._cat_of.get(v, other) for v in values], dtype=np.intp)
            unseen = (idx == other) & ~missing
        else:
            pos = self._cat_index.get_indexer(values)
            idx = self._cat_bins[pos]  # pos == -1 -> the last entry, the "other" bin
            unseen = (pos == -1) & ~missing
        idx[missing] = self.missing_index
        return idx, unseen

    def index_one(self, value: Any) -> tuple[int, bool]:
        """Bin index of one value and whether it is an unseen category (pure Python)."""
        if value is None or (isinstance(value, float) and value != value):
            return self.missing_index, False
        if self.kind == "numerical":
            j = self._special_of.get(value)
            if j is not None:
                return j, False
            return bisect.bisect_right(self.splits, value), False
        j = self._cat_of.get(value)
        if j is None:
            return self.other_index, True
        return j, False

    # ------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (plain lists, floats, ints and strings)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "splits": [float(s) for s in self.splits],
            "groups": [list(g) for g in self.groups],
            "special": [[label, [float(c) for c in codes]] for label, codes in self.special],
            "labels": list(self.labels),
            "bin_kinds": list(self.bin_kinds),
            "count": [int(c) for c in self.count],
            "event": [int(e) for e in self.event],
            "woe": [float(w) for w in self.woe],
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FeatureBins:
        """Rebuild from :meth:`to_dict` output, raising :class:`ModelError` if malformed."""
        try:
            return cls(
                name=str(state["name"]),
                kind=state["kind"],
                splits=[_real(s) for s in state["splits"]],
                groups=[[str(c) for c in g] for g in state["groups"]],
                special=[(str(label), [_real(c) for c in codes]) for label, codes in
                         state["special"]],
                labels=[str(s) for s in state["labels"]],
                bin_kinds=[str(s) for s in state["bin_kinds"]],
                count=[int(c) for c in state["count"]],
                event=[int(e) for e in state["event"]],
                woe=[_real(w) for w in state["woe"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed bins state: {exc!r}") from exc


def _real(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
