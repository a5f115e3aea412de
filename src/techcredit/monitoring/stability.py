"""Population and characteristic stability (PSI / CSI) of a new batch against training.

A :class:`StabilityReference` holds binned distributions of the training snapshot:
the predicted PD per segment, each feature, and the segment mix. It is fitted from
training frames (:meth:`StabilityReference.fit`) or read from a model bundle's
``reference/stability.json`` (:meth:`StabilityReference.from_dict` / :meth:`read`);
:meth:`StabilityReference.to_dict` writes that same format::

    {"format": "techcredit.stability/1", "bins": 10,
     "prob_default": {"<segment>": {"edges": [...], "shares": [...], "n": rows}},
     "features": {"<feature>": {"edges": [...], "shares": [...],
                                "missing_share": float, "n": rows}},
     "segments": {"<segment>": share}}

``edges`` are the interior cut points, ascending; the bins are (-inf, e1], (e1, e2],
..., (ek, inf): the quantile edges of :func:`techcredit.modeling.metrics.psi_table`,
so a PSI computed here equals ``metrics.psi`` on the raw training values. ``shares``
are fractions of all ``n`` rows, so ``sum(shares) + missing_share == 1`` (a file whose
shares sum to 1 on their own, with a positive ``missing_share``, is read as shares of
the non-missing rows and rescaled).

PSI = sum over bins of (a - e) ln(a / e), shares floored at ``eps``; bands from
``models/monitoring.yaml``: below ``watch_min`` stable, above ``shift_min`` shift,
watch in between.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> train = pd.DataFrame({"x": rng.normal(size=2000)})
>>> ref = StabilityReference.fit(train, prob_default=rng.uniform(size=2000),
...                              segment=np.repeat(["micro", "tech"], 1000))
>>> ref.to_dict()["format"], ref.bins
('techcredit.stability/1', 10)
>>> batch = pd.DataFrame({"x": rng.normal(loc=1.0, size=500)})
>>> report = ref.compare(batch)
>>> report[["kind", "name", "band"]].to_dict("records")
[{'kind': 'feature', 'name': 'x', 'band': 'shift'}]
>>> StabilityReference.from_dict(ref.to_dict()) == ref
True
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.boosting import load_validation_spec
from techcredit.config.monitoring import StabilitySpec, load_monitoring_spec
from techcredit.exceptions import InvalidInputError
from techcredit.modeling.metrics import psi_terms

__all__ = ["FORMAT", "Binned", "StabilityReference", "band", "psi_from_shares"]

FORMAT = "techcredit.stability/1"
_REPORT_COLUMNS = ["kind", "segment", "name", "psi", "band", "n_reference", "n_actual"]


def psi_from_shares(expected: np.ndarray, actual: np.ndarray, *, eps: float) -> float:
    """PSI of two share vectors over the same bins (bins empty in both are skipped).

    Examples
    --------
    >>> round(psi_from_shares(np.array([0.5, 0.5]), np.array([0.8, 0.2]), eps=1e-4), 4)
    0.4159
    """
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    used = (e > 0) | (a > 0)
    return float(psi_terms(e[used], a[used], eps=eps).sum())


def band(psi: float, spec: StabilitySpec) -> str:
    """``stable``, ``watch`` or ``shift`` for a PSI value (``missing`` for NaN)."""
    if math.isnan(psi):
        return "missing"
    if psi < spec.watch_min:
        return "stable"
    return "shift" if psi > spec.shift_min else "watch"


@dataclass(frozen=True)
class Binned:
    """One reference distribution: interior ``edges``, bin ``shares``, missing share, rows."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]
    missing_share: float
    n: int

    @classmethod
    def fit(cls, values: Any, bins: int) -> Binned:
        """Equal-count bins at the quantiles of the non-missing values."""
        v = np.asarray(values, dtype=np.float64)
        finite = v[~np.isnan(v)]
        qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]) if finite.size else []
        edges = tuple(float(e) for e in np.unique(np.asarray(qs, dtype=np.float64)))
        shares = cls._shares(edges, v)
        return cls(edges, tuple(float(s) for s in shares[:-1]), float(shares[-1]), int(v.size))

    @staticmethod
    def _shares(edges: tuple[float, ...], values: np.ndarray) -> np.ndarray:
        """Shares of every bin, then of the missing values, over all rows."""
        missing = np.isnan(values)
        idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values[~missing],
                              side="left")
        counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)
        return np.append(counts, missing.sum()) / max(values.size, 1)

    def psi(self, values: Any, eps: float) -> float:
        """PSI of ``values`` against this distribution (missing values are their own bin)."""
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0:
            return float("nan")
        return psi_from_shares(np.append(self.shares, self.missing_share),
                               self._shares(self.edges, v), eps=eps)

    def to_dict(self, *, with_missing: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"edges": list(self.edges), "shares": list(self.shares)}
        if with_missing:
            out["missing_share"] = self.missing_share
        out["n"] = self.n
        return out

    @classmethod
    def from_dict(cls, where: str, data: Mapping[str, Any]) -> Binned:
        """Read and check one entry; ``where`` names it in errors."""
        try:
            edges = tuple(float(e) for e in data["edges"])
            shares = [float(s) for s in data["shares"]]
            missing = float(data.get("missing_share", 0.0))
            n = int(data["n"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError([("stability", where, None, f"malformed entry: {exc}")]
                                    ) from None
        problems = []
        if len(shares) != len(edges) + 1:
            problems.append(("stability", where, "shares", "needs one share per bin "
                             "(len(edges) + 1)"))
        if any(b <= a for a, b in itertools.pairwise(edges)):
            problems.append(("stability", where, "edges", "must increase strictly"))
        if any(s < 0 for s in [*shares, missing]) or not 0 <= missing <= 1:
            problems.append(("stability", where, "shares", "must be non-negative"))
        total = sum(shares)
        if missing > 0 and abs(total - 1) < 1e-6:
            shares = [s * (1 - missing) for s in shares]
        elif abs(total + missing - 1) > 1e-6:
            problems.append(("stability", where, "shares",
                             f"shares and missing_share sum to {total + missing:.6f}, not 1"))
        if problems:
            raise InvalidInputError(problems)
        return cls(edges, tuple(shares), missing, n)


def _segment_shares(segment: Any) -> dict[str, float]:
    s = pd.Series(np.asarray(segment, dtype=object)).astype(str)
    return {str(k): float(v) for k, v in s.value_counts(normalize=True).sort_index().items()}


@dataclass(frozen=True)
class StabilityReference:
    """Binned training distributions to compare new batches with."""

    bins: int
    prob_default: dict[str, Binned] = field(default_factory=dict)
    features: dict[str, Binned] = field(default_factory=dict)
    segments: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, features: pd.DataFrame | None = None, *, prob_default: Any = None,
            segment: Any = None, bins: int | None = None) -> StabilityReference:
        """Fit on a training snapshot.

        Parameters
        ----------
        features : DataFrame, optional
            Numeric (or boolean) features, one row per training application.
        prob_default : array-like, optional
            Predicted PD per row; binned per segment (``"all"`` without ``segment``).
        segment : array-like, optional
            Segment of each row (same length as the other inputs).
        bins : int, optional
            Default ``stability.bins`` of ``models/validation.yaml``, the bins the
            training job writes bundles' references with.
        """
        bins = bins or load_validation_spec().stability.bins
        feats: dict[str, Binned] = {}
        if features is not None:
            for name in features.columns:
                feats[str(name)] = Binned.fit(features[name].to_numpy(dtype=np.float64), bins)
        pds: dict[str, Binned] = {}
        if prob_default is not None:
            pd_values = np.asarray(prob_default, dtype=np.float64)
            if np.isnan(pd_values).any():
                raise InvalidInputError([("prob_default", None, None, "must not be missing")])
            seg = (np.full(pd_values.size, "all", dtype=object) if segment is None
                   else np.asarray(segment, dtype=object).astype(str))
            if seg.size != pd_values.size:
                raise InvalidInputError([("segment", None, None,
                                          "needs one segment per prob_default value")])
            for name in sorted(set(seg)):
                pds[name] = Binned.fit(pd_values[seg == name], bins)
        segs = _segment_shares(segment) if segment is not None else {}
        return cls(bins=bins, prob_default=pds, features=feats, segments=segs)

    def to_dict(self) -> dict[str, Any]:
        """The ``techcredit.stability/1`` mapping (see the module notes)."""
        return {"format": FORMAT, "bins": self.bins,
                "prob_default": {k: v.to_dict(with_missing=False)
                                 for k, v in self.prob_default.items()},
                "features": {k: v.to_dict() for k, v in self.features.items()},
                "segments": dict(self.segments)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityReference:
        """Read the ``techcredit.stability/1`` mapping; raise naming any bad entry."""
        if data.get("format") != FORMAT:
            raise InvalidInputError([("stability", None, "format",
                                      f"expected {FORMAT!r}, got {data.get('format')!r}")])
        return cls(
            bins=int(data.get("bins", 10)),
            prob_default={k: Binned.from_dict(f"prob_default.{k}", v)
                          for k, v in data.get("prob_default", {}).items()},
            features={k: Binned.from_dict(f"features.{k}", v)
                      for k, v in data.get("features", {}).items()},
            segments={str(k): float(v) for k, v in data.get("segments", {}).items()})

    @classmethod
    def read(cls, path: Path | str) -> StabilityReference:
        """Read ``stability.json``, or ``<bundle>/reference/stability.json`` of a bundle."""
        p = Path(path)
        if p.is_dir():
            p = p / "reference" / "stability.json"
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError([("stability", None, None, f"cannot read {p}: {exc}")]
                                    ) from None
        return cls.from_dict(data)

    def compare(self, features: pd.DataFrame | None = None, *, prob_default: Any = None,
                segment: Any = None, spec: StabilitySpec | None = None) -> pd.DataFrame:
        """PSI and band of a new batch: PD per segment, each feature (CSI), segment mix.

        Only what the batch provides is compared; a feature missing from the batch is
        an error naming it.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``prob_default`` / ``feature`` / ``segments``), ``segment``,
            ``name``, ``psi``, ``band``, ``n_reference``, ``n_actual``.
        """
        spec = spec or load_monitoring_spec().stability
        rows: list[dict[str, Any]] = []
        if features is not None:
            missing = [n for n in self.features if n not in features.columns]
            if missing:
                raise InvalidInputError([("features", None, n, "missing column")
                                         for n in missing])
            for name, ref in self.features.items():
                values = features[name].to_numpy(dtype=np.float64)
                rows.append(self._row("feature", "", name, ref.psi(values, spec.eps),
                                      ref.n, values.size, spec))
        if prob_default is not None:
            values = np.asarray(prob_default, dtype=np.float64)
            seg = (np.full(values.size, "all", dtype=object) if segment is None
                   else np.asarray(segment, dtype=object).astype(str))
            for name, ref in self.prob_default.items():
                part = values[seg == name]
                rows.append(self._row("prob_default", name, "prob_default",
                                      ref.psi(part, spec.eps), ref.n, part.size, spec))
        if segment is not None and self.segments:
            now = _segment_shares(segment)
            names = sorted(set(now) | set(self.segments))
            value = psi_from_shares(np.array([self.segments.get(n, 0.0) for n in names]),
                                    np.array([now.get(n, 0.0) for n in names]), eps=spec.eps)
            rows.append(self._row("segments", "", "segment", value, 0, len(segment), spec))
        return pd.DataFrame(rows, columns=_REPORT_COLUMNS)

    @staticmethod
    def _row(kind: str, segment: str, name: str, value: float, n_ref: int, n_act: int,
             spec: StabilitySpec) -> dict[str, Any]:
        return {"kind": kind, "segment": segment, "name": name, "psi": value,
                "band": band(value, spec), "n_reference": n_ref, "n_actual": n_act}
