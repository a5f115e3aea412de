"""Principal reasons: rules first, then the costliest features, at most ``max_reasons``."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from techcredit.explain.reasons import (
    Reason,
    ReasonCatalogue,
    rank_reason_fields,
    rank_reasons,
)

RULES = {f"RULE_{i}": (f"规则{i}", f"rule {i}") for i in range(4)}


def _catalogue(k: int) -> ReasonCatalogue:
    # features share codes (k features, k // 2 + 1 codes) and one code is also a rule id
    codes = tuple("RULE_0" if j == 1 else f"CODE_{j // 2}" for j in range(k))
    return ReasonCatalogue(tuple(f"f{j}" for j in range(k)), codes,
                           tuple(f"中{j}" for j in range(k)), tuple(f"en{j}" for j in range(k)))


def _by_row(contrib: np.ndarray, cat: ReasonCatalogue, rules: list[tuple[str, ...]],
            wanted: list[bool], max_reasons: int) -> list[tuple[Any, ...]]:
    """The ranking written out one row at a time."""
    out = []
    for row, row_rules, want in zip(contrib, rules, wanted, strict=True):
        picked: list[tuple[Any, ...]] = []
        for rule in dict.fromkeys(row_rules):
            if len(picked) < max_reasons:
                picked.append((rule, *RULES[rule], None, None))
        if want:
            # the max_reasons largest, ties in column order; positive ones only
            candidates = sorted(range(len(row)), key=lambda j: (-row[j], j))[:max_reasons]
            for j in candidates:
                if len(picked) == max_reasons or not row[j] > 0:
                    break
                if cat.codes[j] not in {p[0] for p in picked}:
                    picked.append((cat.codes[j], cat.texts_zh[j], cat.texts_en[j],
                                   float(row[j]), cat.features[j]))
        out.append(tuple(picked))
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(0, 12), k=st.integers(0, 7),
       max_reasons=st.integers(1, 5))
def test_ranking_equals_the_row_by_row_rule(data: st.DataObject, n: int, k: int,
                                            max_reasons: int) -> None:
    # few distinct values, so ties and zeros are common
    values = st.sampled_from([-0.5, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0])
    contrib = np.array(data.draw(st.lists(st.lists(values, min_size=k, max_size=k),
                                          min_size=n, max_size=n)),
                       dtype=np.float64).reshape(n, k)
    rules = [tuple(r) for r in data.draw(st.lists(
        st.lists(st.sampled_from(sorted(RULES)), max_size=3), min_size=n, max_size=n))]
    wanted = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    cat = _catalogue(k)
    got = rank_reason_fields(contrib, cat, rules=rules, rule_texts=RULES,
                             wanted=np.array(wanted, dtype=bool), max_reasons=max_reasons)
    assert got == _by_row(contrib, cat, rules, wanted, max_reasons)
    assert all(type(r) is tuple for row in got for r in row)  # plain tuples (GC-free)
    as_reasons = rank_reasons(contrib, cat, rules=rules, rule_texts=RULES,
                              wanted=np.array(wanted, dtype=bool), max_reasons=max_reasons)
    assert as_reasons == got
    assert all(isinstance(r, Reason) for row in as_reasons for r in row)


@settings(max_examples=100, deadline=None)
@given(values=hnp.arrays(np.float64, st.tuples(st.integers(0, 4), st.integers(0, 12)),
                         elements=st.sampled_from([-1.0, -0.0, 0.0, 0.5, 2.0, np.nan,
                                                   np.inf, -np.inf])),
       width=st.integers(0, 6))
def test_largest_is_the_head_of_a_stable_descending_sort(values: np.ndarray,
                                                         width: int) -> None:
    """Reason ranking's selection equals ``argsort(-values, stable)[:, :width]``: largest
    first, ties (and -0.0 against 0.0) in column order, NaN last."""
    from techcredit.explain.reasons import _largest

    n, k = values.shape
    w = min(width, k)
    order, top = np.empty((n, w), dtype=np.int64), np.empty((n, w))
    _largest(np.ascontiguousarray(values), order, top)
    expected = np.argsort(-values, axis=1, kind="stable")[:, :w]
    assert order.tolist() == expected.tolist()
    assert top.tobytes() == np.take_along_axis(values, expected, axis=1).tobytes()
