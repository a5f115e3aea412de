"""Small kernels of ``features._jit`` and ``features.arrays`` against plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from techcredit.features._jit import (
    month_of_day,
    month_start_day,
    output_rows,
    pairwise_sum,
    safe_ratio,
)

_SETTINGS = settings(max_examples=60, deadline=None)


@_SETTINGS
@given(values=hnp.arrays(np.float64, st.integers(0, 40),
                         elements=st.floats(-1e12, 1e12, allow_nan=False)))
def test_pairwise_sum_adds_in_numpys_order(values: np.ndarray) -> None:
    # the kernels replace np.add.reduce over a row; a different order changes low bits
    assert pairwise_sum(values) == np.add.reduce(values)
    spread = values * np.array([1.0, 1e-9])[np.arange(values.size) % 2]
    assert pairwise_sum(spread) == np.add.reduce(spread)


def test_pairwise_sum_differs_from_left_to_right_where_numpy_does() -> None:
    # a row where the order matters: the test above would pass for a plain loop otherwise
    x = np.array([1e16, 1.0, -1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    left_to_right = 0.0
    for v in x:
        left_to_right += v
    assert pairwise_sum(x) == np.add.reduce(x) != left_to_right


@_SETTINGS
@given(months=st.lists(st.integers(-30_000, 30_000), min_size=1, max_size=50),
       days=st.lists(st.integers(-800_000, 800_000), min_size=1, max_size=50))
def test_calendar_kernels_agree_with_numpy_datetime64(months: list[int], days: list[int]):
    m, d = np.array(months), np.array(days)
    first = m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    assert [month_start_day(int(x)) for x in m] == first.tolist()
    month = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assert [month_of_day(int(x)) for x in d] == month.tolist()


def test_safe_ratio_is_nan_unless_the_denominator_is_positive() -> None:
    assert safe_ratio(3.0, 4.0) == 0.75
    assert np.isnan(safe_ratio(1.0, 0.0))
    assert np.isnan(safe_ratio(1.0, -2.0))
    assert np.isnan(safe_ratio(1.0, np.nan))


def test_a_kernel_that_misses_a_catalogue_feature_is_refused() -> None:
    with pytest.raises(RuntimeError, match="'c'"):
        output_rows(("a", "b"), ("a", "b", "c"))
    with pytest.raises(RuntimeError, match="'b'"):
        output_rows(("a", "b", "a"), ("a", "a", "a"))


@settings(max_examples=100, deadline=None)
@given(firms=st.lists(st.integers(0, 5), min_size=1, max_size=60),
       buyers=st.lists(st.integers(0, 2**40), min_size=60, max_size=60),
       wide=st.booleans())
def test_buyers_are_numbered_within_each_firm_by_first_appearance(
        firms: list[int], buyers: list[int], wide: bool) -> None:
    from techcredit.features.arrays import DAY_BITS, _invoice_rows

    firm = np.sort(np.array(firms, dtype=np.int64))
    buyer = np.array(buyers[:firm.size], dtype=np.int64) % 7 * (2**33 if wide else 1)
    expected: list[int] = []
    for f in np.unique(firm):
        seen: dict[int, int] = {}
        expected += [seen.setdefault(int(b), len(seen)) for b in buyer[firm == f]]
    m = firm.size
    key, code, amount = firm << DAY_BITS, np.empty(m, dtype=np.int8), np.empty(m)
    hour, status = np.zeros(m, dtype=np.int8), np.zeros(m, dtype=np.int8)
    out_key, codes = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int32)
    _invoice_rows(np.arange(m), key, hour, status, np.ones(m), buyer, out_key, codes, amount,
                  code)
    assert codes.tolist() == expected



def test_warm_up_compiles_the_one_signature_every_build_uses() -> None:
    """Frames (read-only id views), prepared applications and warm_up share one compile."""
    from techcredit.application import Application
    from techcredit.data import generate
    from techcredit.data.applications import application_records
    from techcredit.features import FirmArrays, build_features, build_matrix, invoice, ip, rnd, tax
    from techcredit.features._query import flag_thresholds
    from techcredit.features.build import warm_up

    warm_up()
    tables = generate(40, seed=3)
    build_features(tables, as_of="2024-06-30")
    ids = tables.firms["firm_id"].to_numpy()  # a read-only view
    days = np.full(ids.size, 19_900)
    build_matrix(FirmArrays.from_tables(tables), ids, days, flag_thresholds(None))
    app = Application.model_validate(application_records(tables, tables.applications.iloc[0]))
    FirmArrays.from_columns(app.columns())
    build_matrix(FirmArrays.from_columns(app.columns()), ids[:1].copy(), days[:1],
                 flag_thresholds(None))
    from techcredit.features import _context, arrays, flags

    kernels = (tax._tax_kernel, invoice._invoice_kernel, ip._ip_kernel, rnd._rnd_kernel,
               arrays._repeats, arrays._filing_keys,
               arrays._day_and_pair_keys, arrays._known_events, arrays._invoice_rows,
               arrays._monotone, arrays._in_order, arrays._events_in_order,
               arrays._event_rows, arrays._patent_rows, arrays._invoice_keys,
               flags._flags,
               _context._reference_months, arrays._rnd_rows,
               arrays._profile_rows, arrays._filing_rows)
    assert [len(k.signatures) for k in kernels] == [1] * len(kernels)


def test_a_kernel_without_a_writable_cache_compiles_anyway(monkeypatch, caplog) -> None:
    import numba

    from techcredit.features import _jit

    real = numba.njit

    def no_locator(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file")
        return real(*args, **kwargs)

    monkeypatch.setattr(_jit.numba, "njit", no_locator)

    def twice(x: float) -> float:
        return 2.0 * x

    with caplog.at_level("WARNING", logger="techcredit.features._jit"):
        compiled = _jit.kernel(twice)
    assert compiled(1.5) == 3.0
    assert "NUMBA_CACHE_DIR" in caplog.text


@_SETTINGS
@given(days=hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(-200_000, 200_000)),
       years=st.integers(0, 60), missing=st.booleans())
def test_add_years_is_numpys_calendar_month_arithmetic(days: np.ndarray, years: int,
                                                       missing: bool) -> None:
    from techcredit.features._groups import NEVER
    from techcredit.features.arrays import add_years

    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    expected = ((month + 12 * years).astype("datetime64[D]") + (dates - month)).astype(np.int64)
    if missing and days.size:
        days[0], expected[0] = NEVER, NEVER
    assert add_years(days, years).tolist() == expected.tolist()
    assert add_years(days, np.full(days.shape, years)).tolist() == expected.tolist()
    grid = np.repeat(days[:, None], 3, axis=1)  # (n, 3) days with one term per column
    got = add_years(grid, np.array([years, 0, 1]))
    assert got[:, 0].tolist() == expected.tolist()
    assert got[:, 1].tolist() == days.tolist()


@settings(max_examples=100, deadline=None)
@given(firms=st.lists(st.integers(-2, 3), min_size=0, max_size=40),
       seconds=st.lists(st.integers(-(2**24), 2**24), min_size=40, max_size=40),
       ties=st.lists(st.integers(0, 2), min_size=40, max_size=40), huge=st.booleans(),
       arrangement=st.sampled_from(["given", "sorted", "reversed"]))
def test_pair_order_is_numpys_lexsort(firms: list[int], seconds: list[int],
                                      ties: list[int], huge: bool, arrangement: str) -> None:
    """The shortcuts (rows in or against pair order, one key, and their range and repeat
    checks) never change the order."""
    from techcredit.features.arrays import _day_and_pair_keys, _pair_order

    firm = np.array(firms, dtype=np.int64) * (2**37 if huge else 1)
    second = np.array(seconds[:firm.size], dtype=np.int64) // (1 if huge else 2**20)
    if arrangement != "given":
        by_pair = np.lexsort((second, firm))
        by_pair = by_pair if arrangement == "sorted" else by_pair[::-1]
        firm, second = firm[by_pair], second[by_pair]
    tie = np.array(ties[:firm.size], dtype=np.float64)
    day, combined = np.empty_like(firm), np.empty_like(firm)
    paired = _day_and_pair_keys(firm, second, second.copy(), day, combined)
    assert day.tolist() == second.tolist()
    assert _pair_order(combined, paired, (tie, second, firm)).tolist() == \
        np.lexsort((tie, second, firm)).tolist()


@settings(max_examples=60, deadline=None)
@given(days=hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(-5000, 5000)),
       nat=st.lists(st.booleans(), min_size=30, max_size=30), unit=st.sampled_from("Ds"))
def test_raw_days_read_by_day_give_never_for_nat(days: np.ndarray, nat: list[bool],
                                                 unit: str) -> None:
    """Date columns reach the converters' kernels as raw int64 days (a day column's own
    memory, a seconds column converted), each read as NEVER where it is NaT."""
    from techcredit.features._groups import NEVER
    from techcredit.features.arrays import _day, _raw_days

    dates = days.astype("datetime64[D]")
    dates[np.array(nat[:days.size], dtype=bool)] = np.datetime64("NaT")
    expected = np.where(np.isnat(dates), NEVER, dates.view(np.int64))
    given_dates = dates.astype(f"datetime64[{unit}]")
    raw = _raw_days(given_dates)
    assert [_day(v) for v in raw] == expected.tolist()
    assert raw.dtype == np.int64
    assert raw.flags.c_contiguous
    assert raw.flags.writeable
    if dates.size:
        assert np.shares_memory(raw, given_dates) == (unit == "D")


@settings(max_examples=100, deadline=None)
@given(patents=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 6)), max_size=8,
                        unique=True),
       events=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 7)), max_size=20))
def test_event_rows_find_the_right_like_a_stable_search(patents, events) -> None:
    """Each event's right: the first right with its patent id in stable id order, known
    only when the firm matches too (two firms may share an id)."""
    from techcredit.features.arrays import _event_rows

    p_firm = np.array([f for f, _ in sorted(patents)], dtype=np.int64)
    p_id = np.array([i for _, i in sorted(patents)], dtype=np.int64)
    firm = np.array([f for f, _ in events], dtype=np.int64)
    pid = np.array([i for _, i in events], dtype=np.int64)
    row, known = np.empty(pid.size, dtype=np.int64), np.empty(pid.size, dtype=bool)
    day, amount_key = np.empty(pid.size, dtype=np.int64), np.empty(pid.size)
    amount = np.where(pid % 2 == 0, np.nan, pid * 10.0)
    by_id = np.argsort(p_id, kind="stable")
    unknown = _event_rows(firm, pid, pid * 3, amount, p_firm, p_id, by_id, row, known, day,
                          amount_key)
    assert day.tolist() == (pid * 3).tolist()
    assert amount_key.tolist() == np.where(np.isnan(amount), -1.0, amount).tolist()
    if p_id.size:
        expected_row = by_id[np.minimum(np.searchsorted(p_id, pid, sorter=by_id),
                                        by_id.size - 1)]
        expected_known = (p_id[expected_row] == pid) & (p_firm[expected_row] == firm)
        assert row.tolist() == expected_row.tolist()
    else:
        expected_known = np.zeros(pid.size, dtype=bool)
    assert known.tolist() == expected_known.tolist()
    assert unknown == int((~expected_known).sum())


@pytest.mark.parametrize("bad", [-1, 2**41])
def test_an_invoice_firm_id_outside_the_key_range_is_named(bad: int) -> None:
    from techcredit.exceptions import InvalidInputError
    from techcredit.features.arrays import _invoices

    columns = {"firm_id": np.array([3, bad, 3]), "invoice_id": np.arange(3),
               "issued_at": np.array(["2024-01-02T10:00:00"] * 3, dtype="datetime64[s]"),
               "buyer_id": np.zeros(3, dtype=np.int64), "amount_cny": np.ones(3),
               "status": np.array(["normal"] * 3, dtype=object)}
    with pytest.raises(InvalidInputError, match="firm_id"):
        _invoices(columns)


def test_invoice_keys_and_hours_equal_numpys_floor_arithmetic() -> None:
    """Before 1970 too: floor division and a non-negative remainder, as numpy's."""
    from techcredit.features.arrays import DAY_BITS, DAY_OFFSET, _invoice_keys

    seconds = np.array([-1, -86_400, -86_401, 0, 3_599, 3_600, 86_399, 1_700_000_000])
    firm = np.arange(seconds.size, dtype=np.int64)
    key, hour = np.empty(firm.size, dtype=np.int64), np.empty(firm.size, dtype=np.int8)
    assert _invoice_keys(firm, seconds, key, hour) == -1
    assert key.tolist() == ((firm << DAY_BITS)
                            + (np.floor_divide(seconds, 86_400) + DAY_OFFSET)).tolist()
    assert hour.tolist() == (np.remainder(seconds, 86_400) // 3_600).tolist()


@settings(max_examples=100, deadline=None)
@given(days=hnp.arrays(np.int64, st.integers(1, 30), elements=st.integers(-200_000, 200_000)))
def test_reference_month_is_the_calendar_rule(days: np.ndarray) -> None:
    """The last month whose VAT deadline has passed, by numpy's own calendar."""
    from techcredit.features._context import reference_month
    from techcredit.features._rules import legal_terms

    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    late = (day - month).astype(np.int64) + 1 > legal_terms().vat_filing_deadline_day
    expected = month.astype(np.int64) - 2 + late
    assert reference_month(days).tolist() == expected.tolist()
    assert reference_month(day).tolist() == expected.tolist()  # datetime64 input too


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_flag_block_equals_each_rule_read_by_name(data) -> None:
    """The compiled flags equal :func:`rule_flags` (one comparison per named rule),
    NaN inputs and values on the thresholds included."""
    from techcredit.features._query import flag_thresholds
    from techcredit.features.flags import NAMES, RULES, _threshold, flag_block, rule_flags

    thresholds = flag_thresholds(None)
    inputs = tuple(sorted({RULES[f][0] for f in NAMES} | {"rnd_staff_count_1y"}))
    cuts = sorted({float(_threshold(thresholds, RULES[f][2])) for f in NAMES}
                  | {float(thresholds.staff.st_share_staff_min)})
    n = data.draw(st.integers(1, 8))
    values = np.array([[data.draw(st.one_of(st.just(np.nan), st.sampled_from(cuts),
                                            st.floats(-10, 1e6, allow_nan=False)))
                        for _ in range(n)] for _ in inputs])
    block = flag_block(values, inputs, thresholds)
    named = rule_flags(dict(zip(inputs, values, strict=True)), thresholds)
    for k, name in enumerate(NAMES):
        assert block[k].tolist() == named[name].tolist(), name


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.just(np.nan), st.floats(-5, 5, allow_nan=False), st.just(1.0)),
       threshold=st.sampled_from([1.0, 0.0, -2.5]),
       op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
def test_holds_is_compare_for_every_yaml_operator(value: float, threshold: float,
                                                  op: str) -> None:
    """The compiled condition (router, policy rules) and the numpy one agree, NaN too."""
    from typing import get_args

    from techcredit.config._base import Comparison, compare
    from techcredit.features._jit import holds

    expected = bool(compare(np.array([value]), op, threshold)[0])  # type: ignore[arg-type]
    assert holds(value, get_args(Comparison).index(op), threshold) == expected


def test_month_of_is_numpys_calendar_month_even_for_never() -> None:
    from techcredit.features._groups import NEVER, month_of

    days = np.r_[np.arange(-800_000, 800_000, 7), NEVER, NEVER - 1].astype(np.int64)
    expected = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assert month_of(days).tolist() == expected.tolist()
    assert month_of(days.reshape(2, -1)).tolist() == expected.reshape(2, -1).tolist()
    assert month_of(days[:5].astype("datetime64[D]")).tolist() == expected[:5].tolist()


@_SETTINGS
@given(rows=st.lists(st.tuples(st.integers(0, 6),
                               st.lists(st.one_of(st.none(), st.integers(-30_000, 30_000)),
                                        min_size=7, max_size=7)),
                     min_size=0, max_size=8))
def test_profile_conversion_equals_the_numpy_definition(rows) -> None:
    # the fused profile kernel: sorted by firm (first row of a repeated id), NaT -> NEVER,
    # qualification ends by calendar years, the registration month
    from techcredit.features._groups import NEVER, month_of
    from techcredit.features._rules import legal_terms
    from techcredit.features.arrays import _PROFILE_DATES, _QUALIFICATIONS, _profile, add_years

    firm = np.array([r[0] for r in rows], dtype=np.int64)
    days = np.array([[np.iinfo(np.int64).min if d is None else d for d in r[1]] for r in rows],
                    dtype=np.int64).reshape(len(rows), 7).T
    cols = {"firm_id": firm, "industry_code": np.array([f"I{f}" for f in firm], dtype=object),
            **{c: days[k].view("datetime64[D]") for k, c in enumerate(_PROFILE_DATES)}}
    got = _profile(cols)
    _, first = np.unique(firm, return_index=True)
    want = np.where(days[:, first] == np.iinfo(np.int64).min, NEVER, days[:, first])
    assert got.firm.tolist() == firm[first].tolist()
    assert got.industry.tolist() == [f"I{f}" for f in firm[first]]
    by_name = dict(zip(_PROFILE_DATES, want, strict=True))
    assert got.registered.tolist() == by_name["registered_on"].tolist()
    assert got.arrears_on.tolist() == by_name["tax_arrears_on"].tolist()
    assert got.reg_month.tolist() == month_of(by_name["registered_on"]).tolist()
    qual = np.array([by_name[c] for c in _QUALIFICATIONS.values()], dtype=np.int64).reshape(
        3, first.size).T
    valid = legal_terms().qualification_valid_years
    assert got.qual_on.tolist() == qual.tolist()
    assert got.qual_end.tolist() == add_years(
        qual, np.array([valid[q] for q in _QUALIFICATIONS])).tolist()


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(-1, 1),
                               st.integers(0, 2), st.sampled_from([-1.0, -0.0, 0.0, 2.5])),
                     max_size=12),
       presort=st.booleans())
def test_in_order_checks_say_exactly_when_a_stable_sort_keeps_the_rows(rows, presort) -> None:
    """The converters skip a sort only when it would be the identity."""
    from techcredit.features.arrays import _events_in_order, _in_order

    if presort:
        rows = sorted(rows)
    firm, pid, day, code = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(4))
    amount = np.array([r[4] for r in rows], dtype=np.float64)
    identity = np.arange(len(rows)).tolist()
    assert _in_order(firm, pid) == (np.lexsort((pid, firm)).tolist() == identity)
    keys = (amount, code.astype(np.int8), day, pid, firm)
    assert _events_in_order(firm, pid, day, code.astype(np.int8), amount) == (
        np.lexsort(keys).tolist() == identity)


@pytest.mark.parametrize("ids", [[7, 3, 7], [3, 7, 7], [7, 7, 3]])
def test_a_duplicate_firm_keeps_its_first_row_with_a_warning(ids: list[int], caplog) -> None:
    from techcredit.features import FirmArrays
    from techcredit.features.arrays import READ

    registered = np.array(["2019-01-01", "2020-01-01", "2021-01-01"], dtype="datetime64[D]")
    firms = {c: np.full(3, "NaT", dtype="datetime64[D]") for c in READ["firms"]}
    firms |= {"firm_id": np.array(ids), "registered_on": registered,
              "industry_code": np.array(["I6513", "C3911", "M7320"], dtype=object)}
    with caplog.at_level("WARNING", logger="techcredit.features.arrays"):
        profile = FirmArrays.from_columns({"firms": firms}).firms
    assert "duplicate firm_id" in caplog.text
    assert profile.firm.tolist() == [3, 7]
    first = {f: i for i, f in reversed(list(enumerate(ids)))}  # each id's first row
    assert profile.industry.tolist() == [firms["industry_code"][first[f]] for f in (3, 7)]
    assert profile.registered.tolist() == [int(registered[first[f]].astype(np.int64))
                                           for f in (3, 7)]
