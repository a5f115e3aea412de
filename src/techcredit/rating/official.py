"""Official scores: high-tech enterprise recognition and the tech-SME evaluation.

Both take the rating inputs (one row per firm, see :func:`techcredit.rating.rating_inputs`)
and return one row per firm with the points of every indicator, each condition met or
failed, the names of the failed conditions and pass / fail. The band tables are the
official ones, kept in ``models/innovation_rating.yaml`` (section ``official``); where
an official band is a range judged by experts the code interpolates inside the band
by a named quantity, as documented there and in ``docs/rating.md``.

One firm (serving) and many firms (training) run the same vectorised code.

Examples
--------
>>> import pandas as pd
>>> firm = pd.DataFrame([{
...     "firm_age_years_now": 6.0, "rnd_st_staff_share_1y": 0.32,
...     "rnd_hightech_share_1y": 0.7, "rnd_intensity_sales_3y": 0.06,
...     "rnd_revenue_sum_1y": 3e7, "rnd_domestic_share_3y": 0.95,
...     "ip_class1_count_now": 2, "ip_class2_count_now": 4, "ip_main_class1_count_now": 2,
...     "ip_main_class2_count_now": 2, "ip_own_count_now": 6, "ip_acquired_count_now": 0,
...     "ip_citations_sum_all": 10, "rnd_conversions_avg_3y": 4.0, "rnd_ledger_1y": 1,
...     "rnd_institution_1y": 1, "rnd_incentive_1y": 0, "rnd_talent_1y": 1,
...     "rnd_sales_growth_3y": 0.20, "rnd_assets_growth_3y": 0.10}], index=[1])
>>> ht = high_tech_score(firm).loc[1]
>>> int(ht["high_tech_ip_points"]), int(ht["high_tech_conversions_points"])
(27, 19)
>>> int(ht["high_tech_points"]), bool(ht["high_tech_pass"])
(72, True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from techcredit.config.rating import BandTable, InnovationSpec, load_innovation_spec
from techcredit.exceptions import InvalidInputError
from techcredit.features._jit import kernel, maximum
from techcredit.rating._compiled import compile_innovation
from techcredit.rating._kernels import BandSet, band_value, stack

__all__ = [
    "HIGH_TECH_INPUTS",
    "HT_CONDITIONS",
    "SME_CONDITIONS",
    "TECH_SME_INPUTS",
    "band_points",
    "default_innovation_spec",
    "high_tech_score",
    "official_columns",
    "official_inputs",
    "tech_sme_score",
]

logger = logging.getLogger(__name__)

HIGH_TECH_INPUTS: tuple[str, ...] = (
    "firm_age_years_now", "rnd_st_staff_share_1y", "rnd_hightech_share_1y",
    "rnd_intensity_sales_3y", "rnd_revenue_sum_1y", "rnd_domestic_share_3y",
    "ip_class1_count_now", "ip_class2_count_now", "ip_main_class1_count_now",
    "ip_main_class2_count_now", "ip_own_count_now", "ip_acquired_count_now",
    "ip_citations_sum_all", "rnd_conversions_avg_3y", "rnd_ledger_1y", "rnd_institution_1y",
    "rnd_incentive_1y", "rnd_talent_1y", "rnd_sales_growth_3y", "rnd_assets_growth_3y",
)
"""Input columns :func:`high_tech_score` reads."""

TECH_SME_INPUTS: tuple[str, ...] = (
    "rnd_staff_count_1y", "rnd_revenue_sum_1y", "rnd_total_assets_1y",
    "rnd_st_staff_share_1y", "rnd_intensity_sales_1y", "rnd_intensity_cost_1y",
    "ip_main_class1_count_now", "ip_main_class2_count_now", "rnd_hightech_valid_now",
)
"""Input columns :func:`tech_sme_score` reads."""

_SPEC: list[InnovationSpec] = []


def default_innovation_spec() -> InnovationSpec:
    """Return ``models/innovation_rating.yaml``, loaded once per process."""
    if not _SPEC:
        _SPEC.append(load_innovation_spec())
    return _SPEC[0]


def frame_columns(frame: pd.DataFrame, names: Sequence[str], table: str) -> dict[str, np.ndarray]:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError([(table, None, None, "must be a pandas DataFrame")])
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InvalidInputError([(table, None, n, "missing column") for n in missing])
    return {n: frame[n].to_numpy(dtype=np.float64, na_value=np.nan) for n in names}


def band_points(values: np.ndarray, table: BandTable, round_step: float = 1.0) -> np.ndarray:
    """Points of ``values`` on an official band table; NaN and below every band score 0.

    Inside a band with a points range ``[low, high]`` the points rise linearly from
    ``low`` at ``min`` to ``high`` at ``full_at`` and are rounded half-up to
    ``round_step`` (the kernel of :class:`techcredit.rating._kernels.BandSet`).

    Examples
    --------
    >>> from techcredit.config.rating import BandTable
    >>> t = BandTable(max_points=30, bands=[
    ...     {"min": 5, "points": [25, 30], "full_at": 10},
    ...     {"min": 1, "points": [1, 6], "full_at": 2}])
    >>> band_points(np.array([0, 1, 1.5, 4, 5, 7, 12, np.nan]), t).tolist()
    [0.0, 1.0, 4.0, 6.0, 25.0, 27.0, 30.0, 0.0]
    """
    x = np.asarray(values, dtype=np.float64)
    return BandSet.build([table], [round_step])(x.reshape(1, -1)).reshape(x.shape)


def _failed(conditions: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """``"A,B"`` listing the failed condition ids of each row ("" if none)."""
    out = np.full(n, "", dtype=object)
    for name, ok in conditions.items():
        out = out + np.where(ok, "", name + ",").astype(object)
    return np.array([s[:-1] for s in out], dtype=object)


HT_CONDITIONS: tuple[str, ...] = (
    "HT_REGISTERED_AGE", "HT_ST_STAFF_SHARE", "HT_HIGHTECH_REVENUE_SHARE", "HT_RND_INTENSITY",
    "HT_DOMESTIC_RND_SHARE", "HT_CORE_IP")
"""Hard conditions of the high-tech recognition, in the order of ``high_tech_cond``."""
SME_CONDITIONS: tuple[str, ...] = ("SME_STAFF_MAX", "SME_SALES_MAX", "SME_ASSETS_MAX")
"""Size limits of the tech-SME evaluation, in the order of ``tech_sme_cond``."""


def official_columns(c: Mapping[str, np.ndarray], spec: InnovationSpec | None = None
                     ) -> dict[str, np.ndarray]:
    """Kernel of both official scores on columns (the one implementation).

    Parameters
    ----------
    c : mapping of str to float64 arrays
        The columns of :data:`HIGH_TECH_INPUTS` and :data:`TECH_SME_INPUTS`, equal length.
    spec : InnovationSpec, optional

    Returns
    -------
    dict of str to numpy.ndarray
        The point columns of :func:`high_tech_score` and :func:`tech_sme_score`
        (without the ``_conditions_failed`` strings), ``high_tech_pass``,
        ``tech_sme_pass``, ``tech_sme_eligible``, ``tech_sme_direct`` (bool) and the
        condition flags as ``(k, n)`` boolean arrays ``high_tech_cond`` and
        ``tech_sme_cond`` (rows in :data:`HT_CONDITIONS` / :data:`SME_CONDITIONS` order).

    Examples
    --------
    >>> cols = dict.fromkeys(set(HIGH_TECH_INPUTS) | set(TECH_SME_INPUTS), np.zeros(1))
    >>> out = official_columns({**cols, "rnd_st_staff_share_1y": np.array([0.3])})
    >>> float(out["tech_sme_points"][0]), bool(out["tech_sme_pass"][0])
    (20.0, False)
    """
    spec = spec or default_innovation_spec()
    k = compile_innovation(spec)
    sme = spec.official.tech_sme
    names = official_inputs(spec)
    n = np.shape(c[names[0]])[0]
    x = stack([c[name] for name in names], n)
    points = np.empty((len(_POINTS), n))
    ht_cond, sme_cond = np.empty((len(HT_CONDITIONS), n), dtype=bool), np.empty(
        (len(SME_CONDITIONS), n), dtype=bool)
    passed = np.empty((4, n), dtype=bool)
    _official(x, k.bands.packed, k.management, k.ht_thresholds, k.sme_limits, k.sales_caps,
              k.intensity_min, k.official_constants,
              "high_tech_certificate" in sme.direct_qualification, points, ht_cond, sme_cond,
              passed)
    out: dict[str, np.ndarray] = dict(zip(_POINTS[:11], points[:11], strict=True))
    out.update(high_tech_cond=ht_cond, high_tech_pass=passed[0])
    out.update(zip(_POINTS[11:], points[11:], strict=True))
    out.update(tech_sme_cond=sme_cond, tech_sme_eligible=passed[1],
               tech_sme_direct=passed[2], tech_sme_pass=passed[3])
    return out


def official_inputs(spec: InnovationSpec | None = None) -> tuple[str, ...]:
    """The columns :func:`official_columns` reads, in its kernel's order.

    Examples
    --------
    >>> official_inputs()[0], official_inputs()[-1].startswith("rnd_")
    ('ip_citations_sum_all', True)
    """
    k = compile_innovation(spec or default_innovation_spec())
    return _KERNEL_INPUTS + k.management_inputs


# the kernel's inputs (then the R&D management items, in the YAML's order) and outputs
_KERNEL_INPUTS = (
    "ip_citations_sum_all", "ip_main_class1_count_now", "ip_main_class2_count_now",
    "ip_class1_count_now", "ip_class2_count_now", "ip_own_count_now", "ip_acquired_count_now",
    "rnd_conversions_avg_3y", "rnd_assets_growth_3y", "rnd_sales_growth_3y",
    "rnd_st_staff_share_1y", "rnd_intensity_sales_1y", "rnd_intensity_cost_1y",
    "rnd_revenue_sum_1y", "firm_age_years_now", "rnd_hightech_share_1y",
    "rnd_intensity_sales_3y", "rnd_domestic_share_3y", "rnd_staff_count_1y",
    "rnd_total_assets_1y", "rnd_hightech_valid_now")
_POINTS = (
    "high_tech_ip_advancement_points", "high_tech_ip_core_support_points",
    "high_tech_ip_count_points", "high_tech_ip_acquisition_points", "high_tech_ip_points",
    "high_tech_conversions_points", "high_tech_management_points",
    "high_tech_growth_net_assets_points", "high_tech_growth_sales_points",
    "high_tech_growth_points", "high_tech_points", "tech_sme_st_staff_points",
    "tech_sme_rnd_points", "tech_sme_ip_points", "tech_sme_points")


@kernel
def _official(x: np.ndarray, bands: tuple[np.ndarray, ...], management: np.ndarray,
              ht_min: np.ndarray, sme_max: np.ndarray, sales_caps: np.ndarray,
              intensity_min: np.ndarray, constants: np.ndarray, direct_rule: bool,
              points: np.ndarray, ht_cond: np.ndarray, sme_cond: np.ndarray,
              passed: np.ndarray) -> None:
    """Both official scores of each column of ``x`` (rows: ``_KERNEL_INPUTS``, then the
    management items); ``points`` rows are ``_POINTS``, ``passed`` rows high-tech pass,
    tech-SME eligible, direct and pass. Bands in :data:`~._compiled` table order."""
    class1_weight, ht_pass, sme_pass = constants[0], constants[1], constants[2]
    pts = np.empty(14)
    for j in range(x.shape[1]):
        main1, main2, class1, own, sales = x[1, j], x[2, j], x[3, j], x[5, j], x[13, j]
        graded = (x[0, j], class1_weight * main1 + main2, class1, x[4, j], own, x[6, j],
                  x[7, j], x[8, j], x[9, j], x[10, j], x[11, j], x[12, j], main1, main2)
        for t in range(14):
            pts[t] = band_value(bands, t, graded[t])
        count = pts[2] if class1 >= 1 else pts[3]
        # own R&D rights score on their band, never below the transferred-in rights' band:
        # adding an own patent must not cost points
        acq = maximum(pts[4], pts[5]) if own >= 1 else pts[5]
        ip = pts[0] + pts[1] + count + acq
        mgmt = 0.0
        for m in range(management.shape[0]):
            mgmt += management[m, 0] if x[21 + m, j] > 0 else 0.0
        total = ip + pts[6] + mgmt + pts[7] + pts[8]
        need = np.nan
        if not np.isnan(sales):  # the first cap at or above the sales
            cap = 0
            while sales_caps[cap] < sales:
                cap += 1
            need = intensity_min[cap]
        core_ip = (0.0 if np.isnan(main1) else main1) + (0.0 if np.isnan(main2) else main2)
        ht_cond[0, j] = x[14, j] >= ht_min[0, 0]
        ht_cond[1, j] = x[10, j] >= ht_min[1, 0]
        ht_cond[2, j] = x[15, j] >= ht_min[2, 0]
        ht_cond[3, j] = x[16, j] >= need
        ht_cond[4, j] = x[17, j] >= ht_min[4, 0]
        ht_cond[5, j] = core_ip >= ht_min[5, 0]
        sme_cond[0, j] = x[18, j] <= sme_max[0, 0]
        sme_cond[1, j] = sales <= sme_max[1, 0]
        sme_cond[2, j] = x[19, j] <= sme_max[2, 0]
        rnd = maximum(pts[10], pts[11])
        ip_sme = pts[12] if main1 >= 1 else pts[13]
        sme_total = pts[9] + rnd + ip_sme
        for r, v in enumerate((pts[0], pts[1], count, acq, ip, pts[6], mgmt, pts[7], pts[8],
                               pts[7] + pts[8], total, pts[9], rnd, ip_sme, sme_total)):
            points[r, j] = v
        eligible = sme_cond[0, j] and sme_cond[1, j] and sme_cond[2, j]
        direct = direct_rule and x[20, j] > 0
        passed[0, j] = (ht_cond[0, j] and ht_cond[1, j] and ht_cond[2, j] and ht_cond[3, j]
                        and ht_cond[4, j] and ht_cond[5, j] and total >= ht_pass)
        passed[1, j] = eligible
        passed[2, j] = direct
        passed[3, j] = eligible and (direct or (sme_total >= sme_pass and pts[9] > 0))


def high_tech_score(inputs: pd.DataFrame, spec: InnovationSpec | None = None) -> pd.DataFrame:
    """High-tech enterprise recognition (高新技术企业认定): conditions and the 100-point score.

    Parameters
    ----------
    inputs : pandas.DataFrame
        One row per firm with the columns of :data:`HIGH_TECH_INPUTS`.
    spec : InnovationSpec, optional
        Defaults to ``models/innovation_rating.yaml``.

    Returns
    -------
    pandas.DataFrame
        Same index; ``high_tech_<indicator>_points`` for the IP items (advancement,
        core support, count, acquisition), ``high_tech_ip_points``,
        ``high_tech_conversions_points``, ``high_tech_management_points``,
        ``high_tech_growth_{net_assets,sales}_points``, ``high_tech_growth_points``,
        ``high_tech_points`` (0-100), one boolean ``high_tech_cond_<id>`` per hard
        condition, ``high_tech_conditions_failed`` (comma-separated ids) and
        ``high_tech_pass`` (all conditions and points >= the pass score).

    Raises
    ------
    InvalidInputError
        Naming every missing input column.
    """
    c = frame_columns(inputs, HIGH_TECH_INPUTS, "inputs")
    pad = dict.fromkeys(set(TECH_SME_INPUTS) - set(c), np.zeros(len(inputs)))
    k = official_columns({**c, **pad}, spec)
    conditions = dict(zip(HT_CONDITIONS, k["high_tech_cond"], strict=True))
    out = {
        **{name: v for name, v in k.items() if name.startswith("high_tech_")
           and name not in ("high_tech_cond", "high_tech_pass")},
        **{f"high_tech_cond_{n.removeprefix('HT_').lower()}": v for n, v in conditions.items()},
        "high_tech_conditions_failed": _failed(conditions, len(inputs)),
        "high_tech_pass": k["high_tech_pass"],
    }
    return pd.DataFrame(out, index=inputs.index)


def tech_sme_score(inputs: pd.DataFrame, spec: InnovationSpec | None = None) -> pd.DataFrame:
    """Tech-SME evaluation (科技型中小企业评价): eligibility, 100-point score, qualification.

    R&D points are the higher of the R&D / sales and R&D / total-cost tables (official).
    IP points: 30 with at least one Class I right in force tied to the main product,
    otherwise by the count of such Class II rights. A firm qualifies if eligible and
    either directly qualified (a valid high-tech certificate) or scoring at least the
    pass score with non-zero S&T staff points.

    Parameters
    ----------
    inputs : pandas.DataFrame
        One row per firm with the columns of :data:`TECH_SME_INPUTS`.
    spec : InnovationSpec, optional

    Returns
    -------
    pandas.DataFrame
        ``tech_sme_{st_staff,rnd,ip}_points``, ``tech_sme_points``, booleans
        ``tech_sme_cond_{staff_max,sales_max,assets_max}``, ``tech_sme_eligible``,
        ``tech_sme_conditions_failed``, ``tech_sme_direct`` (the direct-qualification
        rule met, "" if none) and ``tech_sme_pass``.

    Examples
    --------
    >>> import pandas as pd
    >>> firm = pd.DataFrame([{"rnd_staff_count_1y": 40, "rnd_revenue_sum_1y": 2e7,
    ...     "rnd_total_assets_1y": 1.5e7, "rnd_st_staff_share_1y": 0.22,
    ...     "rnd_intensity_sales_1y": 0.045, "rnd_intensity_cost_1y": 0.21,
    ...     "ip_main_class1_count_now": 0, "ip_main_class2_count_now": 3,
    ...     "rnd_hightech_valid_now": 0}])
    >>> row = tech_sme_score(firm).iloc[0]
    >>> [int(row[f"tech_sme_{k}_points"]) for k in ("st_staff", "rnd", "ip")]
    [12, 30, 18]
    >>> int(row["tech_sme_points"]), bool(row["tech_sme_pass"])
    (60, True)
    """
    c = frame_columns(inputs, TECH_SME_INPUTS, "inputs")
    pad = dict.fromkeys(set(HIGH_TECH_INPUTS) - set(c), np.zeros(len(inputs)))
    k = official_columns({**c, **pad}, spec)
    conditions = dict(zip(SME_CONDITIONS, k["tech_sme_cond"], strict=True))
    out = {
        **{name: k[name] for name in ("tech_sme_st_staff_points", "tech_sme_rnd_points",
                                      "tech_sme_ip_points", "tech_sme_points")},
        **{f"tech_sme_cond_{n.removeprefix('SME_').lower()}": v
           for n, v in conditions.items()},
        "tech_sme_eligible": k["tech_sme_eligible"],
        "tech_sme_conditions_failed": _failed(conditions, len(inputs)),
        "tech_sme_direct": np.where(k["tech_sme_direct"], "high_tech_certificate",
                                    "").astype(object),
        "tech_sme_pass": k["tech_sme_pass"],
    }
    return pd.DataFrame(out, index=inputs.index)
