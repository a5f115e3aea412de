"""Small kernels of ``features._groups`` against their plain numpy definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from techcredit.features._groups import selection, top_ascending

_SETTINGS = settings(max_examples=60, deadline=None)


@_SETTINGS
@given(rows=st.integers(1, 6), width=st.integers(5, 80), data=st.data())
def test_top_ascending_is_the_sorted_tail(rows: int, width: int, data: st.DataObject):
    # few distinct values: ties and rows of zeros are the hard cases
    values = data.draw(hnp.arrays(np.float64, (rows, width),
                                  elements=st.sampled_from([0.0, 0.0, 1.5, 2.0, 1e9, -3.0]))) \
        * data.draw(st.sampled_from([1.0, 1.0 + 1e-12]))
    expected = np.sort(values, axis=1)[:, -5:]
    before = values.copy()
    for sort_cells in (0, 10**6):  # the row-maximum path and the sorting path
        got = top_ascending(values, 5, sort_cells=sort_cells)
        assert got.tobytes() == expected.tobytes()
    np.testing.assert_array_equal(values, before)  # input untouched


@_SETTINGS
@given(lens=st.lists(st.integers(0, 6), min_size=1, max_size=8), data=st.data())
def test_selection_lists_each_groups_records_in_order(lens: list[int], data: st.DataObject):
    starts = np.array([data.draw(st.integers(0, 30)) for _ in lens])
    ends = starts + np.array(lens)
    x = np.arange(40) * 3
    expected = np.concatenate([x[s:e] for s, e in zip(starts, ends, strict=True)])
    np.testing.assert_array_equal(x[selection(starts, ends)], expected)


@settings(max_examples=100, deadline=None)
@given(firms=st.lists(st.integers(0, 5), min_size=1, max_size=60),
       buyers=st.lists(st.integers(0, 2**40), min_size=60, max_size=60),
       rows=st.sampled_from([1, 2, 3, 7, 1 << 18]))
def test_local_buyer_codes_number_each_firms_buyers_by_first_appearance(
        firms: list[int], buyers: list[int], rows: int) -> None:
    from techcredit.features.arrays import DAY_BITS, _local_codes

    firm = np.sort(np.array(firms, dtype=np.int64))
    buyer = np.array(buyers[:firm.size], dtype=np.int64) % 7 * (2**33 if rows == 7 else 1)
    expected: list[int] = []
    for f in np.unique(firm):
        seen: dict[int, int] = {}
        expected += [seen.setdefault(int(b), len(seen)) for b in buyer[firm == f]]
    assert _local_codes(firm << DAY_BITS, buyer, rows=rows).tolist() == expected

