"""Per-patent point-in-time state (techcredit.features.ip.patent_state)."""

from __future__ import annotations

import numpy as np
import pytest

from techcredit.features import patent_state
from techcredit.schemas import records_to_frame


def _patent(pid: int, kind: str, filed: str, granted: str | None, **kw: object) -> dict:
    row = {"patent_id": pid, "firm_id": 1, "kind": kind, "filed_on": filed,
           "granted_on": granted, "claims": 5, "ipc_class": "G06F", "family_countries": 1,
           "main_business": True, "acquisition": "own"}
    row.update(kw)
    return row


def _event(pid: int, on: str, event: str) -> dict:
    return {"patent_id": pid, "firm_id": 1, "event_on": on, "event": event}


@pytest.fixture
def tables():
    patents = records_to_frame("patents", [
        _patent(1, "invention", "2010-01-01", "2013-01-01"),
        _patent(2, "utility", "2010-06-01", "2011-01-01"),
        _patent(3, "design", "2022-01-01", None),
        _patent(4, "software_copyright", "2021-01-01", "2021-03-01"),
    ])
    events = records_to_frame("patent_events", [
        _event(1, "2015-01-01", "pledge"),
        _event(1, "2016-01-01", "pledge_release"),
        _event(1, "2017-01-01", "pledge"),
        _event(1, "2018-01-01", "citation"),
        _event(1, "2019-01-01", "citation"),
        _event(2, "2014-01-01", "invalidation_request"),
        _event(4, "2022-06-01", "lapse"),
        _event(4, "2021-06-01", "transfer"),
    ])
    return patents, events


def test_state_as_of_2020(tables):
    st = patent_state(*tables, "2020-06-01")
    assert st.patent_id.tolist() == [1, 2, 3, 4]
    assert st.in_force.tolist() == [True, False, False, False]  # 2: utility term ended 2020
    assert st.expired.tolist() == [False, True, False, False]
    assert st.filed.tolist() == [True, True, False, False]
    assert st.pledged.tolist() == [True, False, False, False]
    assert st.challenged.tolist() == [False, True, False, False]
    assert st.citations.tolist() == [2, 0, 0, 0]
    assert st.remaining_life_years[0] == pytest.approx((np.datetime64("2030-01-01")
                                                        - np.datetime64("2020-06-01"))
                                                       .astype(int) / 365.25)
    assert st.remaining_life_years[1:].tolist() == [0.0, 0.0, 0.0]


def test_state_ignores_future_events(tables):
    early = patent_state(*tables, "2015-06-01")
    assert early.pledged[0]
    assert early.citations[0] == 0
    mid = patent_state(*tables, "2016-06-01")
    assert not mid.pledged[0]
    late = patent_state(*tables, "2023-01-01")
    assert late.lapsed.tolist() == [False, False, False, True]
    assert late.transferred.tolist() == [False, False, False, True]
    assert not late.granted[2]
    assert late.filed[2]


def test_state_per_patent_as_of(tables):
    st = patent_state(*tables, np.array(["2012-01-01", "2012-01-01", "2023-01-01",
                                         "2021-12-31"], dtype="datetime64[D]"))
    assert st.in_force.tolist() == [False, True, False, True]
    frame = st.to_frame()
    assert list(frame["patent_id"]) == [1, 2, 3, 4]


def test_state_empty():
    st = patent_state(records_to_frame("patents", []), records_to_frame("patent_events", []),
                      "2020-01-01")
    assert st.in_force.size == 0


def test_events_that_do_not_match_the_patents_are_refused(tables):
    """Arrays built apart (an event pointing past the patents) raise, never read memory."""
    from dataclasses import replace

    from techcredit.features.arrays import _events, _frame_columns, _patents

    patents, events = tables
    p = _patents(_frame_columns("patents", patents))
    e = _events(_frame_columns("patent_events", events), p)
    bad = replace(e, row=e.row + p.patent_id.size)
    with pytest.raises(ValueError, match="patent events do not match the patents"):
        patent_state(p, bad, "2020-01-01")
    assert patent_state(p, e, "2020-01-01").citations.tolist() == [2, 0, 0, 0]
