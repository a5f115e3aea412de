"""Serving path of the rating: rate_prepared equals the pandas API; one row equals a batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from techcredit.config.rating import Curve
from techcredit.data.sample import load_sample
from techcredit.exceptions import InvalidInputError
from techcredit.features import FirmArrays
from techcredit.features._query import flag_thresholds
from techcredit.features.build import build_blocks
from techcredit.rating import CitationCohorts, portfolio_value, rate_firms, value_patents
from techcredit.rating._kernels import CurveSet
from techcredit.rating.serving import RatingResult, rate_prepared

ROW_FIELDS = ("tier", "composite", "stage", "score_technology", "score_qualifications",
              "score_rnd", "score_growth", "score_industry", "official_high_tech_points",
              "official_high_tech_pass", "official_tech_sme_points", "official_tech_sme_pass",
              "patent_value_cny", "pledge_value_cny", "pledgeable_count")


class Sample:
    """The sample, its arrays, each firm's application day and prebuilt features."""

    def __init__(self) -> None:
        self.tables = load_sample()
        self.arrays = FirmArrays.from_tables(self.tables)
        apps = self.tables.applications.drop_duplicates("firm_id")
        self.ids = apps["firm_id"].to_numpy(dtype=np.int64)
        self.days = apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
        self.features = build_blocks(self.arrays, self.ids, self.days, flag_thresholds(None))
        valued = value_patents(self.tables, firm_ids=self.ids)
        self.cohorts = CitationCohorts.fit(
            valued["ipc_class"].to_numpy(), valued["filing_year"].to_numpy(),
            valued["citations"].to_numpy(), min_size=20)


@pytest.fixture(scope="module")
def sample() -> Sample:
    return Sample()


def _row(result: RatingResult, i: int) -> dict[str, object]:
    return {name: getattr(result, name)[i] for name in ROW_FIELDS}


def test_rate_prepared_equals_the_pandas_path_on_the_sample(sample: Sample) -> None:
    s = sample
    served = rate_prepared(s.features, s.arrays, s.ids, s.days)
    rated = rate_firms(s.tables, firm_ids=s.ids)  # as_of: each firm's application date
    valued = value_patents(s.tables, firm_ids=s.ids)
    port = portfolio_value(valued, firm_ids=s.ids)
    # the sample covers firms without patents and without any R&D report
    assert (port["rights_count"] == 0).sum() > 100
    assert np.isnan(s.features["rnd_revenue_sum_1y"]).sum() > 100
    for name in ROW_FIELDS[:12]:
        np.testing.assert_array_equal(getattr(served, name), rated[name].to_numpy(),
                                      err_msg=name)
    # exact: both paths sum a firm's rights in the same order with the same kernel
    for name, col in (("patent_value_cny", "value_cny"),
                      ("pledge_value_cny", "pledge_value_cny"),
                      ("pledgeable_count", "pledgeable_count")):
        np.testing.assert_array_equal(getattr(served, name), port[col].to_numpy(),
                                      err_msg=name)
    assert served.pledge_value_cny.sum() > 0
    assert len(set(served.tier)) == 9


def test_per_right_table_of_a_row_equals_value_patents(sample: Sample) -> None:
    s = sample
    served = rate_prepared(s.features, s.arrays, s.ids, s.days)
    valued = value_patents(s.tables, firm_ids=s.ids)
    i = int(np.argmax(served.pledgeable_count))
    mine = served.rights(i)
    ref = valued[valued["firm_id"] == s.ids[i]].reset_index(drop=True)
    assert len(mine) == len(ref) >= 2
    pd.testing.assert_frame_equal(mine[ref.columns], ref, check_exact=True)
    assert served.rights(int(np.argmin(served.patent_value_cny))).shape[1] == ref.shape[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_row_alone_equals_the_same_row_in_a_batch(sample: Sample,
                                                      data: st.DataObject) -> None:
    s = sample
    n = s.ids.size
    picks = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=30)))
    back = np.array(data.draw(st.lists(st.integers(0, 1500), min_size=picks.size,
                                       max_size=picks.size)))
    ids, days = s.ids[picks], s.days[picks] - back
    at = data.draw(st.integers(0, picks.size - 1))
    feats = build_blocks(s.arrays, ids, days, flag_thresholds(None))
    batch = rate_prepared(feats, s.arrays, ids, days, cohorts=s.cohorts)
    one_ids, one_days = ids[at:at + 1], days[at:at + 1]
    own = FirmArrays.from_tables(s.tables.for_firms(one_ids))  # serving: the firm only
    for arrays in (s.arrays, own):
        one = rate_prepared(build_blocks(arrays, one_ids, one_days, flag_thresholds(None)),
                            arrays, one_ids, one_days, cohorts=s.cohorts)
        assert _row(one, 0) == _row(batch, at)
        pd.testing.assert_frame_equal(one.rights(0), batch.rights(at), check_exact=True)


def test_mismatched_or_missing_inputs_raise_naming_the_field(sample: Sample) -> None:
    s = sample
    with pytest.raises(InvalidInputError, match="asof_days"):
        rate_prepared(s.features, s.arrays, s.ids, s.days[:-1])
    short = {k: v[:3] for k, v in s.features.items()}
    with pytest.raises(InvalidInputError, match="rnd_revenue_sum_1y"):
        rate_prepared(short, s.arrays, s.ids, s.days)
    gone = {k: v for k, v in s.features.items() if k != "ip_class1_count_now"}
    with pytest.raises(InvalidInputError, match="ip_class1_count_now"):
        rate_prepared(gone, s.arrays, s.ids, s.days)


def test_the_features_read_are_enough_and_each_is_needed(sample: Sample) -> None:
    """The Decider passes only ``features_read()``: the same rating, and none to spare."""
    from techcredit.rating.serving import features_read

    s = sample
    full = rate_prepared(s.features, s.arrays, s.ids, s.days, cohorts=s.cohorts)
    read = features_read()
    only = rate_prepared({k: s.features[k] for k in read}, s.arrays, s.ids, s.days,
                         cohorts=s.cohorts)
    for got, expected in ((only.detail, full.detail), (only.right_table, full.right_table)):
        assert list(got) == list(expected)
        for name, values in expected.items():
            np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(values),
                                          err_msg=name)
    for name in read:
        with pytest.raises(InvalidInputError, match=name):
            rate_prepared({k: s.features[k] for k in read if k != name}, s.arrays, s.ids,
                          s.days, cohorts=s.cohorts)


@settings(max_examples=60, deadline=None)
@example(xs=[0.0, 2.225073858507e-311, -1.0], ys=[0.0, 0.0, 1.0, 0.0, 0.0, 0.0], x=[0.0])
@given(xs=st.lists(st.floats(-100, 100), min_size=2, max_size=6, unique=True),
       ys=st.lists(st.floats(0, 100), min_size=6, max_size=6),
       x=st.lists(st.floats(-200, 200) | st.just(float("nan")), min_size=1, max_size=20))
def test_stacked_curves_equal_numpy_interp_bit_for_bit(xs: list[float], ys: list[float],
                                                       x: list[float]) -> None:
    knots = sorted(xs)
    scores = sorted(ys[:len(knots)])
    pairs = list(zip(knots, scores, strict=True))
    with np.errstate(over="ignore", divide="ignore"):
        steep = not np.all(np.isfinite(np.diff(scores) / np.diff(knots)))
    if steep:  # knots closer than their score step resolves: refused, never evaluated
        with pytest.raises(ValidationError, match="infinite slope"):
            Curve(knots=pairs)
        return
    curve = Curve(knots=pairs)
    values = np.array(x)
    got = CurveSet.build([curve, curve], [42.0, 7.0])(np.array([values, values]))
    expected = np.where(np.isnan(values), 42.0, np.interp(values, knots, scores))
    np.testing.assert_array_equal(got[0], expected)
    assert np.all(got[1][np.isnan(values)] == 7.0)


def test_each_row_is_valued_for_its_own_loan_term(sample: Sample) -> None:
    """A right expiring inside a row's own term is not pledgeable for that row."""
    from techcredit.rating.patents import default_valuation_spec

    base = default_valuation_spec()
    spec = base.model_copy(update={"pledge": base.pledge.model_copy(
        update={"remaining_life_min_years": 0.0})})
    n = sample.ids.size
    short = rate_prepared(sample.features, sample.arrays, sample.ids, sample.days,
                          valuation_spec=spec, cohorts=sample.cohorts, loan_term_years=1.0)
    terms = np.where(np.arange(n) % 2 == 0, 1.0, 15.0)
    mixed = rate_prepared(sample.features, sample.arrays, sample.ids, sample.days,
                          valuation_spec=spec, cohorts=sample.cohorts, loan_term_years=terms)
    even = np.arange(n) % 2 == 0
    assert np.array_equal(mixed.pledge_value_cny[even], short.pledge_value_cny[even])
    assert np.all(mixed.pledge_value_cny[~even] <= short.pledge_value_cny[~even])
    assert np.any(mixed.pledge_value_cny[~even] < short.pledge_value_cny[~even])


def test_warm_up_compiles_the_one_signature_every_rating_uses(sample: Sample) -> None:
    """Zero rows (the warm-up), the sample's batch and one firm share one compile each."""
    from techcredit.rating import _kernels, innovation, official, patents
    from techcredit.rating.serving import warm_up

    warm_up()
    s = sample
    rate_prepared(s.features, s.arrays, s.ids, s.days, cohorts=s.cohorts)
    one = {name: values[:1] for name, values in s.features.items()}
    rate_prepared(one, s.arrays, s.ids[:1], s.days[:1], cohorts=s.cohorts)
    kernels = (official._official, innovation._rate, patents._value, _kernels._curves,
               patents._group_sums)
    assert [len(k.signatures) for k in kernels] == [1] * len(kernels)


def test_filing_years_are_numpys_calendar_years() -> None:
    """``PatentArrays.filed_year`` (what ``Rights.filing_year`` reads) is numpy's calendar
    year of the filing day, over about 4,400 years either side of 1970."""
    from techcredit.features import FirmArrays

    days = np.arange(-800_000, 800_000, 13, dtype=np.int64)
    m = days.size
    patents = {"patent_id": np.arange(m), "firm_id": np.zeros(m, dtype=np.int64),
               "kind": np.full(m, "invention", dtype=object),
               "filed_on": days.astype("datetime64[D]"),
               "granted_on": np.full(m, "NaT", dtype="datetime64[D]"),
               "claims": np.ones(m), "ipc_class": np.full(m, "G06F", dtype=object),
               "family_countries": np.ones(m), "main_business": np.ones(m, dtype=bool),
               "acquisition": np.full(m, "own", dtype=object)}
    year = FirmArrays.from_columns({"patents": patents}).patents.filed_year
    assert year.tolist() == (days.astype("datetime64[D]").astype("datetime64[Y]").astype(
        np.int64) + 1970).tolist()


def test_value_pairs_equals_value_rights_on_its_own_table(sample: Sample) -> None:
    """The serving valuation (straight from the state rows) and the mapping form of the
    same kernel agree to the bit on every right of the sample, pledged ones included."""
    from techcredit.rating._compiled import compile_innovation
    from techcredit.rating._inputs import right_pairs
    from techcredit.rating.official import default_innovation_spec
    from techcredit.rating.patents import value_pairs, value_rights

    s = sample
    rights = right_pairs(s.arrays, s.ids, s.days)
    classes = compile_innovation(default_innovation_spec()).sei_ipc
    sei = rights.in_classes(classes)
    terms = np.where(np.arange(s.ids.size) % 3 == 0, 1.0, 8.0)
    served = value_pairs(rights, s.features["rnd_revenue_sum_1y"], s.ids.size,
                         sei_ipc_classes=classes, cohorts=s.cohorts, loan_term_years=terms)
    table = served.table()
    again = value_rights(table, served.group, s.ids.size, sei_ipc_classes=classes,
                         cohorts=s.cohorts, loan_term_years=terms)
    assert len(rights) > 1000
    assert table["pledged"].any()
    assert (table["pledge_value_cny"] > 0).any()
    for name, column in again.items():
        np.testing.assert_array_equal(table[name], column, err_msg=name)
    assert served.sei_count(s.ids.size).sum() == (table["in_force"] & sei).sum()
