"""The segment router equals its YAML conditions, read one by one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.config._base import Condition
from techcredit.config.segments import SEGMENTS, load_segment_spec
from techcredit.modeling.segments import route_columns

_SPEC = load_segment_spec()
_VALUE = st.one_of(st.just(np.nan), st.sampled_from([0.0, 0.03, 1.0, 2.9999, 3.0, 3.0001]),
                   st.floats(-10, 10, allow_nan=False))


def _expected(columns: dict[str, np.ndarray], ops: dict[str, str]) -> list[str]:
    def any_of(conditions: tuple[Condition, ...]) -> np.ndarray:
        hit = np.zeros(len(next(iter(columns.values()))), dtype=bool)
        for c in conditions:
            hit |= Condition(feature=c.feature, op=ops.get(c.feature, c.op),
                             value=c.value).holds(columns)
        return hit

    tech, startup = any_of(_SPEC.tech_if_any), any_of(_SPEC.startup_if_any)
    return [SEGMENTS[0] if not t else SEGMENTS[1] if s else SEGMENTS[2]
            for t, s in zip(tech, startup, strict=True)]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(*[_VALUE] * len(_SPEC.features())), min_size=1, max_size=6),
       ops=st.lists(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
                    min_size=len(_SPEC.features()), max_size=len(_SPEC.features())))
def test_route_columns_follows_each_condition_on_any_values(rows, ops) -> None:
    """Every operator on every value, NaN included (a condition never holds on NaN)."""
    features = _SPEC.features()
    columns = {f: np.array([r[j] for r in rows]) for j, f in enumerate(features)}
    swapped = dict(zip(features, ops, strict=True))
    spec = _SPEC.model_copy(update={
        "tech_if_any": tuple(c.model_copy(update={"op": swapped[c.feature]})
                             for c in _SPEC.tech_if_any),
        "startup_if_any": tuple(c.model_copy(update={"op": swapped[c.feature]})
                                for c in _SPEC.startup_if_any)})
    assert route_columns(columns, spec).tolist() == _expected(columns, swapped)
    assert route_columns(columns, _SPEC).tolist() == _expected(columns, {})
