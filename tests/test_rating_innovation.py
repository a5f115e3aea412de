"""Innovation rating: monotonicity properties, tiers on the sample, config validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.config._base import default_models_dir
from techcredit.config.rating import TIER_NAMES, load_innovation_spec, load_valuation_spec
from techcredit.exceptions import ConfigError
from techcredit.rating import rate_firms, rate_innovation, rating_input_columns, report_tiers
from techcredit.rating.official import HIGH_TECH_INPUTS, TECH_SME_INPUTS
from techcredit.rating.official import default_innovation_spec as spec

COLUMNS = sorted(set(HIGH_TECH_INPUTS) | set(TECH_SME_INPUTS) | set(rating_input_columns()))
BOOLEAN = {"rnd_ledger_1y", "rnd_institution_1y", "rnd_incentive_1y", "rnd_talent_1y",
           "rnd_hightech_valid_now", "rnd_techsme_valid_now", "rnd_specialized_valid_now",
           "industry_sei_now"}
SHARE = {"rnd_st_staff_share_1y", "rnd_hightech_share_1y", "rnd_domestic_share_3y",
         "rnd_intensity_sales_3y", "rnd_intensity_sales_1y", "rnd_intensity_cost_1y"}


def _value(name: str) -> st.SearchStrategy[float]:
    if name in BOOLEAN:
        return st.sampled_from([0.0, 1.0])
    if name in SHARE:
        return st.floats(0, 0.6) | st.just(float("nan"))
    if name.endswith("growth_3y"):
        return st.floats(-0.5, 1.5) | st.just(float("nan"))
    if name in ("rnd_revenue_sum_1y", "rnd_total_assets_1y"):
        return st.floats(0, 4e8)
    if name == "industry_growth_annual":
        return st.floats(-0.05, 0.3)
    if name == "firm_age_years_now":
        return st.floats(0, 25)
    if name == "rnd_staff_count_1y":
        return st.floats(1, 800)
    return st.integers(0, 30).map(float)


FIRM = st.fixed_dictionaries({c: _value(c) for c in COLUMNS}).map(
    lambda d: {**d, "rnd_management_items_1y": sum(
        d[k] for k in ("rnd_ledger_1y", "rnd_institution_1y", "rnd_incentive_1y",
                       "rnd_talent_1y"))})


def _composite(rows: list[dict[str, float]]) -> np.ndarray:
    return rate_innovation(pd.DataFrame(rows), spec())["composite"].to_numpy()


@settings(max_examples=50, deadline=None)
@given(FIRM, st.integers(1, 10))
def test_more_invention_patents_in_force_never_lower_the_composite(firm: dict[str, float],
                                                                   extra: int) -> None:
    more = dict(firm)
    for col in ("ip_invention_count_now", "ip_class1_count_now", "ip_inforce_count_now",
                "ip_own_count_now", "ip_main_class1_count_now"):
        more[col] = firm.get(col, 0.0) + extra
    before, after = _composite([firm, more])
    assert after >= before - 1e-9


@settings(max_examples=50, deadline=None)
@given(FIRM, st.floats(0.001, 0.3))
def test_higher_rnd_ratio_never_lowers_the_composite(firm: dict[str, float],
                                                     bump: float) -> None:
    more = dict(firm)
    for col in ("rnd_intensity_sales_3y", "rnd_intensity_sales_1y", "rnd_intensity_cost_1y"):
        more[col] = np.nan_to_num(firm[col]) + bump
    before, after = _composite([firm, more])
    assert after >= before - 1e-9


@settings(max_examples=50, deadline=None)
@given(FIRM, st.floats(0.001, 1.0))
def test_higher_growth_never_lowers_the_composite(firm: dict[str, float], bump: float) -> None:
    more = dict(firm)
    for col in ("rnd_sales_growth_3y", "rnd_assets_growth_3y"):
        # a missing rate scores as zero growth; "higher" means above that
        more[col] = (0.0 if np.isnan(firm[col]) else firm[col]) + bump
    before, after = _composite([firm, more])
    assert after >= before - 1e-9


def test_output_explains_the_composite() -> None:
    rated = rate_innovation(pd.DataFrame([dict.fromkeys(COLUMNS, 1.0)]), spec()).iloc[0]
    s = spec()
    weights = s.stage_weights[rated["stage"]]
    dims = sum(weights[d] * rated[f"score_{d}"] for d in weights)
    assert rated["composite"] == pytest.approx(dims)
    for dim in s.dimensions.values():
        for name, ind in dim.indicators.items():
            assert f"value_{name}" in rated.index
            assert f"score_{name}" in rated.index
            assert 0 <= rated[f"score_{name}"] <= 100
            del ind


@pytest.fixture(scope="module")
def sample_rated() -> tuple[object, pd.DataFrame]:
    from techcredit.data.sample import load_sample

    tables = load_sample()
    return tables, rate_firms(tables)


def test_every_tier_occurs_on_the_sample(sample_rated: tuple[object, pd.DataFrame]) -> None:
    _, rated = sample_rated
    assert set(rated["tier"]) == set(TIER_NAMES)


def test_default_rate_falls_as_tiers_rise_in_three_groups(
        sample_rated: tuple[object, pd.DataFrame]) -> None:
    tables, rated = sample_rated
    table = report_tiers(tables, rated)  # type: ignore[arg-type]
    groups = [TIER_NAMES[:3], TIER_NAMES[3:6], TIER_NAMES[6:]]
    rates = [table.loc[list(g), "defaults"].sum() / table.loc[list(g), "firms"].sum()
             for g in groups]
    assert rates[0] < rates[1] < rates[2]


def test_one_firm_equals_many(sample_rated: tuple[object, pd.DataFrame]) -> None:
    tables, rated = sample_rated
    fid = int(rated.index[rated["tier"] == "AA"][0])
    one = rate_firms(tables.for_firms([fid]))  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(rated.loc[[fid]], one)


# ------------------------------------------------------------------ config validation
def _write(tmp_path: Path, name: str, edit: object) -> Path:
    data = yaml.safe_load((default_models_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["stage_weights"]["growth"].update(rnd=0.5), "stage_weights"),
    (lambda d: d["tiers"].update(BBB=70), "tiers"),
    (lambda d: d["dimensions"]["rnd"]["indicators"]["conversions"].update(weight=0.9),
     "dimensions.rnd"),
    (lambda d: d["official"]["tech_sme"]["st_staff"]["bands"].reverse(),
     "official.tech_sme.st_staff"),
    (lambda d: d["dimensions"]["growth"]["indicators"]["sales_growth"]["curve"].update(
        knots=[[0, 50], [1, 10]]), "dimensions.growth.indicators.sales_growth.curve"),
    (lambda d: d["official"]["high_tech"].update(pass_score=171),
     "official.high_tech.pass_score"),
])
def test_innovation_config_errors_name_the_field(tmp_path: Path, edit: object,
                                                 field: str) -> None:
    folder = _write(tmp_path, "innovation_rating", edit)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_innovation_spec(folder)


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["pvd_weights"].update(legal=0.5), "pvd_weights"),
    (lambda d: d["pledge"]["tiers"][1].update(ltv=0.9), "pledge"),
    (lambda d: d["money"]["royalty_rate_annual"].pop("design"), "money"),
    (lambda d: d["legal"]["weights"].update(kind=0.9), "legal"),
])
def test_valuation_config_errors_name_the_field(tmp_path: Path, edit: object,
                                                field: str) -> None:
    folder = _write(tmp_path, "patent_valuation", edit)
    with pytest.raises(ConfigError, match=field):
        load_valuation_spec(folder)
