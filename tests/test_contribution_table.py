"""ContributionTable: a decision's contributions, built lazily, behaving as a tuple."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from techcredit.decision.result import Contribution, ContributionTable

floats = st.floats(allow_nan=True, allow_infinity=False, width=64)


@given(st.lists(st.tuples(floats, floats.filter(lambda x: x == x)), max_size=12),
       floats.filter(lambda x: x == x))
def test_table_equals_the_tuple_it_stands_for(rows, bias):
    names = tuple(f"f{i}" for i in range(len(rows)))
    values = np.array([v for v, _ in rows], dtype=np.float64)
    contrib = np.array([c for _, c in rows] + [bias], dtype=np.float64)
    table = ContributionTable(names, values, contrib)
    expected = (*(Contribution(f, None if np.isnan(v) else v, c)
                  for f, (v, c) in zip(names, rows, strict=True)),
                Contribution(None, None, bias))
    assert table == expected
    assert tuple(table) == expected
    assert len(table) == len(expected)
    assert table[-1] == expected[-1]
    assert table[1:] == expected[1:]
    assert table == ContributionTable(names, values.copy(), contrib.copy())
    assert hash(table) == hash(expected)


def test_table_is_a_copy_and_checks_its_shapes():
    values, contrib = np.array([1.0, 2.0]), np.array([0.1, 0.2, -1.0])
    table = ContributionTable(("a", "b"), values, contrib)
    values[0] = 99.0
    contrib[0] = 99.0
    assert table[0] == Contribution("a", 1.0, 0.1)
    with pytest.raises(IndexError, match="index 3 out of range for 3"):
        table[3]
    with pytest.raises(ValueError, match="2 features need as many values and one more"):
        ContributionTable(("a", "b"), np.array([1.0, 2.0]), np.array([0.1, 0.2]))
    assert table != ContributionTable(("a", "c"), np.array([1.0, 2.0]), np.array([0.1, 0.2, -1.0]))
