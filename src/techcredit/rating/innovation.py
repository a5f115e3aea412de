"""Nine-tier innovation rating (科创评级): five dimensions, stage-aware weights, tiers.

Each dimension (technology innovation, S&T qualifications, R&D strength, growth,
industry potential) is a weighted sum of named sub-indicator scores; each score is a
piecewise-linear curve (0-100) of one input column, all from
``models/innovation_rating.yaml``. The composite weights the five dimensions by the
firm's stage (start-up / growth / mature, by age and size) and maps to a tier
AAA ... C by descending cut-offs. Curves never fall, weights are non-negative, so
more of any input never lowers the composite.

Examples
--------
>>> import pandas as pd
>>> from techcredit.rating.official import HIGH_TECH_INPUTS, TECH_SME_INPUTS
>>> spec = default_innovation_spec()
>>> cols = set(HIGH_TECH_INPUTS) | set(TECH_SME_INPUTS) | set(rating_input_columns(spec))
>>> firm = pd.DataFrame([dict.fromkeys(sorted(cols), 0.0)], index=[7])
>>> firm["firm_age_years_now"] = 5.0
>>> rated = rate_innovation(firm, spec)
>>> rated.loc[7, "stage"], rated.loc[7, "tier"]
('startup', 'C')
>>> firm["ip_invention_count_now"] = 3.0
>>> float(rate_innovation(firm, spec).loc[7, "score_technology"])
26.0
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from itertools import chain

import numpy as np
import pandas as pd

from techcredit.config.rating import DIMENSIONS, STAGES, TIER_NAMES, InnovationSpec
from techcredit.exceptions import InvalidInputError
from techcredit.features._jit import kernel, kernel_array
from techcredit.rating._compiled import compile_innovation
from techcredit.rating._inputs import rating_inputs
from techcredit.rating._kernels import curve_value, stack
from techcredit.rating.official import (
    HIGH_TECH_INPUTS,
    TECH_SME_INPUTS,
    default_innovation_spec,
    frame_columns,
    official_columns,
)
from techcredit.schemas import RawTables

__all__ = [
    "assign_tier",
    "firm_stage",
    "rate_columns",
    "rate_firms",
    "rate_innovation",
    "rating_input_columns",
    "report_tiers",
    "stage_index",
]

logger = logging.getLogger(__name__)

OFFICIAL_INPUTS: tuple[str, ...] = tuple(dict.fromkeys(HIGH_TECH_INPUTS + TECH_SME_INPUTS))
_STAGE_NAMES = np.array(STAGES, dtype=object)
_TIER_NAMES = np.array(TIER_NAMES, dtype=object)
_OFFICIAL = {"official_high_tech_points": "high_tech_points",
             "official_tech_sme_points": "tech_sme_points"}


def rating_input_columns(spec: InnovationSpec | None = None) -> list[str]:
    """Input columns the sub-indicators read (official points are computed if absent)."""
    spec = spec or default_innovation_spec()
    cols = [ind.input for dim in spec.dimensions.values() for ind in dim.indicators.values()]
    extra = ["firm_age_years_now", "rnd_revenue_sum_1y"]
    return list(dict.fromkeys(c for c in [*cols, *extra] if c not in _OFFICIAL))


def stage_index(age_years: np.ndarray, revenue_cny: np.ndarray,
                spec: InnovationSpec | None = None) -> np.ndarray:
    """Stage as an index into ``STAGES`` (0 start-up, 1 growth, 2 mature); see :func:`firm_stage`.

    Examples
    --------
    >>> stage_index(np.array([1.0, 9.0]), np.array([5e6, 6e6])).tolist()
    [0, 2]
    """
    age, revenue = np.broadcast_arrays(np.asarray(age_years, dtype=np.float64),
                                       np.asarray(revenue_cny, dtype=np.float64))
    out = np.empty(age.shape, dtype=np.intp)
    _stages(kernel_array(age.ravel()), kernel_array(revenue.ravel()),
            compile_innovation(spec or default_innovation_spec()).stage_rule, out.reshape(-1))
    return out


@kernel
def _stage(age: float, revenue: float, rule: np.ndarray) -> int:
    """0 start-up (young, or known revenue small), 2 mature (old, and revenue large or not
    yet known), else 1 growth."""
    known = not np.isnan(revenue)
    if age < rule[0] or (known and revenue < rule[1]):
        return 0
    if age >= rule[2] and (not known or revenue >= rule[3]):
        return 2
    return 1


@kernel
def _stages(age: np.ndarray, revenue: np.ndarray, rule: np.ndarray, out: np.ndarray) -> None:
    for i in range(age.size):
        out[i] = _stage(age[i], revenue[i], rule)


@kernel
def _tier(composite: float, cuts: np.ndarray) -> int:
    """Index of the tier of a composite: how many descending cut-offs it misses (NaN is 0)."""
    x = 0.0 if np.isnan(composite) else composite
    reached = 0
    for cut in cuts:
        if x >= cut:
            reached += 1
    return min(max(cuts.size - reached, 0), cuts.size - 1)


@kernel
def _tiers(composite: np.ndarray, cuts: np.ndarray, out: np.ndarray) -> None:
    for i in range(composite.size):
        out[i] = _tier(composite[i], cuts)


def firm_stage(age_years: np.ndarray, revenue_cny: np.ndarray,
               spec: InnovationSpec | None = None) -> np.ndarray:
    """Stage by the YAML rule: start-up if young or small, mature if old and large.

    Missing revenue (no annual report yet) judges by age alone.

    Examples
    --------
    >>> firm_stage(np.array([1.0, 5.0, 9.0, 9.0, 5.0]),
    ...            np.array([5e6, 5e6, 6e6, 5e5, np.nan])).tolist()
    ['startup', 'growth', 'mature', 'startup', 'growth']
    """
    idx = stage_index(np.asarray(age_years, dtype=np.float64),
                      np.asarray(revenue_cny, dtype=np.float64), spec)
    return _STAGE_NAMES[idx]


def assign_tier(composite: np.ndarray, spec: InnovationSpec | None = None) -> np.ndarray:
    """Map composites (0-100) to tiers by the descending cut-offs of the YAML.

    Examples
    --------
    >>> assign_tier(np.array([100.0, 0.0, np.nan])).tolist()
    ['AAA', 'C', 'C']
    """
    cuts = compile_innovation(spec or default_innovation_spec()).cuts
    x = kernel_array(np.ravel(composite))
    out = np.empty(x.size, dtype=np.intp)
    _tiers(x, cuts, out)
    return _TIER_NAMES[out]


def rate_columns(cols: Mapping[str, np.ndarray], spec: InnovationSpec | None = None
                 ) -> dict[str, np.ndarray]:
    """Kernel of the rating on columns (the one implementation; see :func:`rate_innovation`).

    Parameters
    ----------
    cols : mapping of str to float64 arrays
        :func:`rating_input_columns` and ``official_high_tech_points`` /
        ``official_tech_sme_points``, equal length.
    spec : InnovationSpec, optional

    Returns
    -------
    dict of str to numpy.ndarray
        ``tier``, ``composite``, ``stage``, ``score_<dimension>`` and, per sub-indicator,
        ``value_<name>`` and ``score_<name>``.
    """
    spec = spec or default_innovation_spec()
    k = compile_innovation(spec)
    n = np.shape(cols["firm_age_years_now"])[0]
    values = stack([cols[name] for name in k.inputs], n)
    scores, dims = np.empty(values.shape), np.empty((len(DIMENSIONS), n))
    composite = np.empty(n)
    stage, tier = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.intp)
    _rate(values, k.curves.packed, k.weights, k.dim_slices, k.stage_weights, k.cuts,
          k.stage_rule,
          kernel_array(cols["firm_age_years_now"]), kernel_array(cols["rnd_revenue_sum_1y"]),
          scores, dims, composite, stage, tier)
    out = {"tier": _TIER_NAMES[tier], "composite": composite, "stage": _STAGE_NAMES[stage]}
    out.update(zip(_DIMENSION_SCORES, dims, strict=True))
    # value_<name>, score_<name> of each sub-indicator in turn
    out.update(zip(k.detail_names, chain.from_iterable(zip(values, scores, strict=True)),
                   strict=True))
    return out


_DIMENSION_SCORES = tuple(f"score_{d}" for d in DIMENSIONS)


@kernel
def _rate(values: np.ndarray, curves: tuple[np.ndarray, ...], weights: np.ndarray,
          dim_slices: np.ndarray, stage_weights: np.ndarray, cuts: np.ndarray,
          stage_rule: np.ndarray, age: np.ndarray, revenue: np.ndarray, scores: np.ndarray,
          dims: np.ndarray, composite: np.ndarray, stage: np.ndarray,
          tier: np.ndarray) -> None:
    """Sub-indicator scores, dimension scores (weighted sums), stage, stage-weighted
    composite and tier of each column of ``values`` (one row per sub-indicator)."""
    for j in range(values.shape[1]):
        for i in range(values.shape[0]):
            scores[i, j] = curve_value(curves, i, values[i, j])
        stage[j] = _stage(age[j], revenue[j], stage_rule)
        total = 0.0
        for d in range(dim_slices.shape[0]):
            dim = 0.0
            for i in range(dim_slices[d, 0], dim_slices[d, 1]):
                dim += scores[i, j] * weights[i, 0]
            dims[d, j] = dim
            total += stage_weights[stage[j], d] * dim
        composite[j] = total
        tier[j] = _tier(total, cuts)


def rate_innovation(inputs: pd.DataFrame, spec: InnovationSpec | None = None) -> pd.DataFrame:
    """Rate firms from their rating inputs.

    Parameters
    ----------
    inputs : pandas.DataFrame
        One row per firm with :func:`rating_input_columns` (and the official scores'
        inputs unless ``official_high_tech_points`` / ``official_tech_sme_points`` are
        given), e.g. from :func:`techcredit.rating.rating_inputs`.
    spec : InnovationSpec, optional

    Returns
    -------
    pandas.DataFrame
        Same index: ``tier``, ``composite`` (0-100), ``stage``, ``score_<dimension>``
        for the five dimensions, and for each sub-indicator ``value_<name>`` (its
        input) and ``score_<name>`` (0-100); the official points and pass flags.

    Raises
    ------
    InvalidInputError
        Naming every missing input column.
    """
    spec = spec or default_innovation_spec()
    if not isinstance(inputs, pd.DataFrame):
        raise InvalidInputError([("inputs", None, None, "must be a pandas DataFrame")])
    work = inputs
    official: dict[str, np.ndarray] = {}
    if not all(c in inputs.columns for c in _OFFICIAL):
        pts = official_columns(frame_columns(inputs, OFFICIAL_INPUTS, "inputs"), spec)
        official = {
            "official_high_tech_points": pts["high_tech_points"],
            "official_high_tech_pass": pts["high_tech_pass"],
            "official_tech_sme_points": pts["tech_sme_points"],
            "official_tech_sme_pass": pts["tech_sme_pass"],
        }
        work = inputs.assign(**{k: official[k] for k in _OFFICIAL})
    needed = rating_input_columns(spec) + list(_OFFICIAL)
    missing = [c for c in needed if c not in work.columns]
    if missing:
        raise InvalidInputError([("inputs", None, c, "missing column") for c in missing])
    cols = {c: work[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in needed}
    return pd.DataFrame({**rate_columns(cols, spec), **official}, index=work.index)


def rate_firms(tables: RawTables, as_of: object = None,
               firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
               spec: InnovationSpec | None = None) -> pd.DataFrame:
    """Build the rating inputs from raw records and rate each firm (the one path).

    Parameters
    ----------
    tables : RawTables
    as_of : date-like, one date per firm, or None
        ``None`` takes each firm's application date; nothing dated after it is used.
    firm_ids : sequence of int, optional
        Default: every firm of ``tables.firms``.
    spec : InnovationSpec, optional

    Returns
    -------
    pandas.DataFrame
        :func:`rate_innovation` output, index ``firm_id``.

    Examples
    --------
    >>> from techcredit.data import generate
    >>> rated = rate_firms(generate(300, seed=5))
    >>> set(rated["tier"]) <= {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
    True
    """
    spec = spec or default_innovation_spec()
    inputs = rating_inputs(tables, as_of, firm_ids, spec=spec)
    return rate_innovation(inputs, spec)


def report_tiers(tables: RawTables, rated: pd.DataFrame | None = None, *,
                 products: Iterable[str] | None = None,
                 spec: InnovationSpec | None = None) -> pd.DataFrame:
    """Tier distribution and 12-month default rate per tier, best tier first.

    Parameters
    ----------
    tables : RawTables
        Must hold ``applications`` with ``default_12m``.
    rated : pandas.DataFrame, optional
        Output of :func:`rate_firms`; computed (as of each application date) if omitted.
    products : iterable of str, optional
        Keep only applications for these products (e.g. ``["tech_loan"]``).
    spec : InnovationSpec, optional

    Returns
    -------
    pandas.DataFrame
        Index ``tier`` (all nine, in order): ``firms``, ``share``, ``defaults``,
        ``default_rate`` (NaN for an empty tier), ``composite_min``.

    Examples
    --------
    >>> from techcredit.data import generate
    >>> table = report_tiers(generate(300, seed=5))
    >>> list(table.index)[:2], int(table["firms"].sum())
    (['AAA', 'AA'], 300)
    """
    if tables.applications is None:
        raise InvalidInputError([("applications", None, None, "needed for default rates")])
    if rated is None:
        rated = rate_firms(tables, spec=spec)
    apps = tables.applications.drop_duplicates("firm_id").set_index("firm_id")
    if products is not None:
        apps = apps[apps["product"].astype(object).isin(list(products))]
    joined = rated[["tier", "composite"]].join(apps[["default_12m"]], how="inner")
    g = joined.groupby("tier")
    out = pd.DataFrame({
        "firms": g.size(),
        "defaults": g["default_12m"].sum(),
        "composite_min": g["composite"].min(),
    }).reindex(list(TIER_NAMES))
    out[["firms", "defaults"]] = out[["firms", "defaults"]].fillna(0).astype(np.int64)
    out["share"] = out["firms"] / max(int(out["firms"].sum()), 1)
    out["default_rate"] = out["defaults"] / out["firms"].where(out["firms"] > 0)
    out.index.name = "tier"
    return out[["firms", "share", "defaults", "default_rate", "composite_min"]]
