"""Serving path: rate prepared rows without pandas (one firm or 100,000, the same code).

:func:`rate_prepared` takes the feature mapping the decision engine already built
(:func:`techcredit.features.build.build_blocks` for the same rows) and the
:class:`~techcredit.features.FirmArrays` it came from, computes only the rating's own
extras (total assets, R&D management items, industry fit and growth, rights in
strategic-emerging classes, per-right state) and runs the same kernels as the pandas
API (:func:`~techcredit.rating.official.official_columns`,
:func:`~techcredit.rating.innovation.rate_columns`,
:func:`~techcredit.rating.patents.value_pairs`, :func:`~techcredit.rating.patents.rollup`).

Rows are independent except through ``cohorts``: pass the reference
:class:`~techcredit.rating.patents.CitationCohorts` (from the model bundle) and a row
rated alone equals the same row rated in a batch; without it the cohorts are fitted
on the batch's rights, as :func:`~techcredit.rating.patents.value_patents` does.

Examples
--------
>>> from techcredit.data import generate
>>> from techcredit.features import FirmArrays
>>> from techcredit.features._query import flag_thresholds
>>> from techcredit.features.build import build_blocks
>>> tables = generate(50, seed=3)
>>> arrays = FirmArrays.from_tables(tables)
>>> apps = tables.applications.drop_duplicates("firm_id")
>>> ids = apps["firm_id"].to_numpy()
>>> days = apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
>>> feats = build_blocks(arrays, ids, days, flag_thresholds(None))
>>> rated = rate_prepared(feats, arrays, ids, days)
>>> rated.tier.shape == (50,), bool((rated.pledge_value_cny <= rated.patent_value_cny).all())
(True, True)
>>> int(rated.rights(0)["firm_id"].nunique()) <= 1
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techcredit.config._base import PerSpec
from techcredit.config.rating import DIMENSIONS, InnovationSpec, ValuationSpec
from techcredit.exceptions import InvalidInputError
from techcredit.features import FirmArrays
from techcredit.features._query import flag_thresholds
from techcredit.features.build import build_blocks
from techcredit.features.catalogue import feature_names
from techcredit.rating._compiled import compile_innovation
from techcredit.rating._inputs import MANAGEMENT_FEATURES, rating_extras, right_pairs
from techcredit.rating.innovation import rate_columns, rating_input_columns
from techcredit.rating.official import default_innovation_spec, official_columns, official_inputs
from techcredit.rating.patents import CitationCohorts, ValuedRights, value_pairs

__all__ = ["RatingResult", "features_read", "rate_prepared", "warm_up"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class RatingResult:
    """Rating and patent values of requested rows: numpy arrays, one entry per row.

    ``stage`` and ``tier`` hold str objects; ``score_<dimension>`` the five dimension
    scores (0-100); the official points are 0-100 with their pass flags (bool).
    """

    firm_id: np.ndarray
    as_of: np.ndarray
    """int64 days since 1970-01-01."""
    tier: np.ndarray
    composite: np.ndarray
    stage: np.ndarray
    score_technology: np.ndarray
    score_qualifications: np.ndarray
    score_rnd: np.ndarray
    score_growth: np.ndarray
    score_industry: np.ndarray
    official_high_tech_points: np.ndarray
    official_high_tech_pass: np.ndarray
    official_tech_sme_points: np.ndarray
    official_tech_sme_pass: np.ndarray
    patent_value_cny: np.ndarray
    """Sum of the money value (relief from royalty) of the row's rights."""
    pledge_value_cny: np.ndarray
    """Sum of the rights' ``pledge_value_cny``."""
    pledgeable_count: np.ndarray
    detail: Mapping[str, np.ndarray]
    """Every column of :func:`~techcredit.rating.innovation.rate_columns` (sub-indicator
    values and scores) and of :func:`~techcredit.rating.official.official_columns`."""
    valued: ValuedRights
    """The rows' rights and their valuation (kernel rows; tables on demand)."""

    @property
    def right_group(self) -> np.ndarray:
        """Requested row of each right in ``right_table`` (rights ordered by row)."""
        return self.valued.group

    @property
    def right_table(self) -> dict[str, np.ndarray]:
        """Per-right state and valuation, the columns of
        :func:`~techcredit.rating.patents.value_patents` (and ``kind_code``); built on
        each call (explanations read it, the decision engine does not)."""
        return self.valued.table()

    def __len__(self) -> int:
        return int(self.firm_id.shape[0])

    def rights(self, row: int) -> pd.DataFrame:
        """Per-right table of one requested row (explanations): state, PVD, values."""
        lo, hi = self.right_group.searchsorted([row, row + 1])
        return pd.DataFrame({k: v[lo:hi] for k, v in self.right_table.items()
                             if k != "kind_code"})

    def to_frame(self) -> pd.DataFrame:
        """The per-row arrays as a frame indexed by ``firm_id``."""
        names = ("tier", "composite", "stage", *(f"score_{d}" for d in DIMENSIONS),
                 "official_high_tech_points", "official_high_tech_pass",
                 "official_tech_sme_points", "official_tech_sme_pass", "patent_value_cny",
                 "pledge_value_cny", "pledgeable_count")
        return pd.DataFrame({n: getattr(self, n) for n in names},
                            index=pd.Index(self.firm_id, name="firm_id"))


def features_read(spec: InnovationSpec | None = None) -> tuple[str, ...]:
    """The catalogue features :func:`rate_prepared` reads: a caller may pass only these.

    Examples
    --------
    >>> names = features_read()
    >>> "rnd_revenue_sum_1y" in names, "inv_count_12m" in names
    (True, False)
    """
    spec = spec or default_innovation_spec()
    read = {*official_inputs(spec), *rating_input_columns(spec), *MANAGEMENT_FEATURES,
            "rnd_revenue_sum_1y"}
    return tuple(name for name in feature_names() if name in read)


def _read_both(spec: InnovationSpec) -> tuple[tuple[str, ...], frozenset[str]]:
    names = features_read(spec)
    return names, frozenset(names)


_READ: PerSpec[InnovationSpec, tuple[tuple[str, ...], frozenset[str]]] = PerSpec(_read_both)
""":func:`features_read` per spec object, in order and as a set."""


def _check(features: Mapping[str, np.ndarray], ids: np.ndarray, asof: np.ndarray) -> None:
    if ids.ndim != 1 or asof.shape != ids.shape:
        raise InvalidInputError([("asof_days", None, None,
                                  f"needs one day per firm id ({ids.size}), got {asof.size}")])
    probe = features.get("rnd_revenue_sum_1y")
    if probe is None or np.shape(probe) != ids.shape:
        raise InvalidInputError([("features", None, "rnd_revenue_sum_1y",
                                  f"needs an array of {ids.size} values")])


def rate_prepared(features: Mapping[str, np.ndarray], arrays: FirmArrays,
                  firm_ids: np.ndarray, asof_days: np.ndarray, *,
                  spec: InnovationSpec | None = None,
                  valuation_spec: ValuationSpec | None = None,
                  cohorts: CitationCohorts | None = None,
                  loan_term_years: float | np.ndarray | None = None) -> RatingResult:
    """Rate rows ``(firm_ids[i], asof_days[i])`` from their prebuilt features.

    Parameters
    ----------
    features : mapping of str to float64 arrays
        :func:`techcredit.features.build.build_blocks` of ``arrays`` for the same rows
        (at least the ``ip_*``, ``rnd_*`` and ``firm_*`` features).
    arrays : FirmArrays
        The records the features were built from.
    firm_ids, asof_days : int64 arrays
        One firm id and one ``as_of`` day (days since 1970-01-01) per row.
    spec, valuation_spec : optional
        ``models/innovation_rating.yaml`` and ``models/patent_valuation.yaml`` by default.
    cohorts : CitationCohorts, optional
        Reference citation cohorts (serving: from the model bundle); fitted on the
        batch's rights when omitted.
    loan_term_years : float or array with one entry per row, optional
        Term of the loan a pledge would secure (YAML default); serving passes each
        application's own term.

    Returns
    -------
    RatingResult

    Raises
    ------
    InvalidInputError
        If the ids, days and features do not have one entry per row, or a needed
        feature is missing (named).
    """
    spec = spec or default_innovation_spec()
    ids = np.asarray(firm_ids, dtype=np.int64)
    asof = np.asarray(asof_days, dtype=np.int64)
    _check(features, ids, asof)
    read, read_set = _READ.of(spec)
    if not features.keys() >= read_set:  # one C-level check; names only on failure
        missing = [name for name in read if name not in features]
        raise InvalidInputError([("features", None, name, "missing feature")
                                 for name in missing])
    rights = right_pairs(arrays, ids, asof)
    valued = value_pairs(rights, features["rnd_revenue_sum_1y"], ids.size,
                         spec=valuation_spec, sei_ipc_classes=compile_innovation(spec).sei_ipc,
                         cohorts=cohorts, loan_term_years=loan_term_years)
    cols = {**features,
            **rating_extras(features, arrays, ids, asof, valued.sei_count(ids.size), spec)}
    off = official_columns(cols, spec)
    cols.update(official_high_tech_points=off["high_tech_points"],
                official_tech_sme_points=off["tech_sme_points"])
    rated = rate_columns(cols, spec)
    roll = valued.sums(ids.size)
    return RatingResult(
        firm_id=ids, as_of=asof, tier=rated["tier"], composite=rated["composite"],
        stage=rated["stage"], score_technology=rated["score_technology"],
        score_qualifications=rated["score_qualifications"], score_rnd=rated["score_rnd"],
        score_growth=rated["score_growth"], score_industry=rated["score_industry"],
        official_high_tech_points=off["high_tech_points"],
        official_high_tech_pass=off["high_tech_pass"],
        official_tech_sme_points=off["tech_sme_points"],
        official_tech_sme_pass=off["tech_sme_pass"],
        patent_value_cny=roll["value_cny"], pledge_value_cny=roll["pledge_value_cny"],
        pledgeable_count=roll["pledgeable_count"], detail={**off, **rated}, valued=valued)


def warm_up() -> None:
    """Compile the rating's kernels now (or load them from numba's cache) by rating no rows.

    :class:`techcredit.Decider` calls it when built, with
    :func:`techcredit.features.build.warm_up`, so its first decision does not pay it.

    Examples
    --------
    >>> warm_up()
    """
    arrays = FirmArrays.from_columns({})
    none = np.empty(0, dtype=np.int64)
    rate_prepared(build_blocks(arrays, none, none, flag_thresholds(None)), arrays, none,
                  none)
