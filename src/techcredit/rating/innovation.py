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
from collections.abc import Iterable

import numpy as np
import pandas as pd

from techcredit.config.rating import DIMENSIONS, STAGES, TIER_NAMES, InnovationSpec
from techcredit.exceptions import InvalidInputError
from techcredit.rating._inputs import rating_inputs
from techcredit.rating.official import (
    default_innovation_spec,
    high_tech_score,
    tech_sme_score,
)
from techcredit.schemas import RawTables

__all__ = [
    "assign_tier",
    "firm_stage",
    "rate_firms",
    "rate_innovation",
    "rating_input_columns",
    "report_tiers",
]

logger = logging.getLogger(__name__)

_OFFICIAL = {"official_high_tech_points": "high_tech_points",
             "official_tech_sme_points": "tech_sme_points"}


def rating_input_columns(spec: InnovationSpec | None = None) -> list[str]:
    """Input columns the sub-indicators read (official points are computed if absent)."""
    spec = spec or default_innovation_spec()
    cols = [ind.input for dim in spec.dimensions.values() for ind in dim.indicators.values()]
    extra = ["firm_age_years_now", "rnd_revenue_sum_1y"]
    return list(dict.fromkeys(c for c in [*cols, *extra] if c not in _OFFICIAL))


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
    rule = (spec or default_innovation_spec()).stage_rule
    age = np.asarray(age_years, dtype=np.float64)
    rev = np.asarray(revenue_cny, dtype=np.float64)
    known = ~np.isnan(rev)
    with np.errstate(invalid="ignore"):
        startup = (age < rule.startup_age_years_below) | (
            known & (rev < rule.startup_revenue_cny_below))
        mature = (age >= rule.mature_age_years_min) & (
            ~known | (rev >= rule.mature_revenue_cny_min))
    return np.where(startup, STAGES[0], np.where(mature, STAGES[2], STAGES[1])).astype(object)


def assign_tier(composite: np.ndarray, spec: InnovationSpec | None = None) -> np.ndarray:
    """Map composites (0-100) to tiers by the descending cut-offs of the YAML.

    Examples
    --------
    >>> assign_tier(np.array([100.0, 0.0, np.nan])).tolist()
    ['AAA', 'C', 'C']
    """
    cuts = np.array(list((spec or default_innovation_spec()).tiers.values()))
    x = np.nan_to_num(np.asarray(composite, dtype=np.float64), nan=0.0)
    # number of cut-offs the composite reaches, best first -> index of the tier
    reached = (x[:, None] >= cuts[None, :]).sum(axis=1)
    idx = len(cuts) - reached
    idx = np.clip(idx, 0, len(cuts) - 1)
    return np.array(TIER_NAMES, dtype=object)[idx]


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
        ht = high_tech_score(inputs, spec)
        sme = tech_sme_score(inputs, spec)
        official = {
            "official_high_tech_points": ht["high_tech_points"].to_numpy(),
            "official_high_tech_pass": ht["high_tech_pass"].to_numpy(),
            "official_tech_sme_points": sme["tech_sme_points"].to_numpy(),
            "official_tech_sme_pass": sme["tech_sme_pass"].to_numpy(),
        }
        work = inputs.assign(**{k: official[k] for k in _OFFICIAL})
    needed = rating_input_columns(spec) + list(_OFFICIAL)
    missing = [c for c in needed if c not in work.columns]
    if missing:
        raise InvalidInputError([("inputs", None, c, "missing column") for c in missing])
    n = len(work)
    out: dict[str, np.ndarray] = {}
    dims: dict[str, np.ndarray] = {}
    for dim_name, dim in spec.dimensions.items():
        total = np.zeros(n)
        for name, ind in dim.indicators.items():
            x = work[ind.input].to_numpy(dtype=np.float64, na_value=np.nan)
            xs, ys = zip(*ind.curve.knots, strict=True)
            score = np.where(np.isnan(x), ind.missing_score, np.interp(x, xs, ys))
            out[f"value_{name}"] = x
            out[f"score_{name}"] = score
            total += ind.weight * score
        dims[dim_name] = total
    stage = firm_stage(work["firm_age_years_now"].to_numpy(dtype=np.float64, na_value=np.nan),
                       work["rnd_revenue_sum_1y"].to_numpy(dtype=np.float64, na_value=np.nan),
                       spec)
    composite = np.zeros(n)
    for st in STAGES:
        w = spec.stage_weights[st]
        part = sum(w[d] * dims[d] for d in DIMENSIONS)
        composite = np.where(stage == st, part, composite)
    head = {"tier": assign_tier(composite, spec), "composite": composite, "stage": stage,
            **{f"score_{d}": dims[d] for d in DIMENSIONS}}
    return pd.DataFrame({**head, **out, **official}, index=work.index)


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
