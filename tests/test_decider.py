"""The decision engine: contract, identity of single and batch paths, threads, processes."""

from __future__ import annotations

import concurrent.futures
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import techcredit
from techcredit.application import Application
from techcredit.data.applications import application_records, applications_from_tables
from techcredit.decision.decider import Decider
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.schemas import RawTables

N_APPS = 120


@pytest.fixture(scope="module")
def decider(decision_bundle: Path) -> Decider:
    return Decider.load(decision_bundle, shadow=True, model_version="7")


@pytest.fixture(scope="module")
def apps(decision_tables: RawTables) -> list[Application]:
    return list(applications_from_tables(decision_tables, limit=N_APPS))


@pytest.fixture(scope="module")
def decisions(decider: Decider, apps: list[Application]) -> list[techcredit.Decision]:
    return [decider.score(a) for a in apps]


def test_decisions_are_inside_their_bounds(decider: Decider, decisions) -> None:
    policy = decider.policy
    outcomes = {d.outcome for d in decisions}
    assert outcomes == {"approve", "decline", "refer"}, outcomes
    for d in decisions:
        product = policy.products[d.product]
        assert 0.0 <= d.prob_default <= 1.0
        assert 0.0 <= d.limit_cny <= min(product.cap_cny, d.requested_amount_cny)
        assert len(d.reasons) <= 4
        assert d.model_name == "techcredit"
        assert d.model_version == "7"
        assert d.challenger is not None
        assert 0.0 <= d.challenger.prob_default <= 1.0
        if d.declined:
            assert d.rate_annual is None
            assert d.limit_cny == 0.0
            assert d.reasons, "a decline always names a reason"
        else:
            assert product.rate_floor_annual <= d.rate_annual <= product.rate_ceiling_annual
            risk_min = (policy.rate.cost_of_funds_annual + d.prob_default * policy.rate.lgd
                        + policy.rate.operating_cost_annual + policy.rate.capital_charge_annual)
            assert d.rate_annual >= risk_min - 1e-12
            assert d.limit_cny % policy.limit.rounding_cny == 0
        knockouts = [r for r in d.rules_fired if r.startswith("KO_")]
        if knockouts:
            assert d.declined
            assert d.reasons[0].code == knockouts[0]


def test_contributions_explain_the_pd_exactly(decisions) -> None:
    for d in decisions[:30]:
        table = d.explain()
        assert table["feature"].iloc[-1] == "bias"
        logit = math.log(d.prob_default / (1.0 - d.prob_default))
        assert table["contribution"].sum() == pytest.approx(logit, abs=1e-9)
        model_reasons = [r for r in d.reasons if r.feature is not None]
        body = table.iloc[:-1]
        for r in model_reasons:  # a model reason is a feature that raised the PD
            assert r.contribution > 0
            assert body.loc[body["feature"] == r.feature, "contribution"].item() == r.contribution
        contribs = [r.contribution for r in model_reasons]
        assert contribs == sorted(contribs, reverse=True)


def test_score_batch_equals_score_row_for_row(decider: Decider, apps, decisions) -> None:
    batch = decider.score_batch(apps, as_frame=False)
    assert [b.to_json(contributions=True) for b in batch] == \
        [d.to_json(contributions=True) for d in decisions]
    frame = decider.score_batch(apps)
    assert frame["prob_default"].tolist() == [d.prob_default for d in decisions]
    assert frame["limit_cny"].tolist() == [d.limit_cny for d in decisions]
    assert list(frame["reason_codes"]) == [tuple(r.code for r in d.reasons) for d in decisions]
    for column, field in [("reason_texts_zh", "text_zh"), ("reason_texts_en", "text_en"),
                          ("reason_contributions", "contribution"),
                          ("reason_features", "feature")]:
        assert list(frame[column]) == [tuple(getattr(r, field) for r in d.reasons)
                                       for d in decisions]
    assert any(frame["reason_codes"])
    assert all(type(x) is tuple for col in ("reason_codes", "reason_contributions")
               for x in frame[col])


def test_chunks_and_threads_change_no_decision(decider: Decider, apps, decisions) -> None:
    prepared = Decider.prepare(apps)
    whole = decider.score_batch(prepared, chunk_rows=len(apps))
    assert whole.attrs == {"model_name": decider.model_name, "model_version": "7",
                           "bundle_id": decider.models.version_id}
    for chunk_rows, threads in [(7, 2), (50, 1), (1, 3)]:
        chunked = decider.score_batch(prepared, chunk_rows=chunk_rows, threads=threads)
        pd.testing.assert_frame_equal(chunked, whole)
        assert chunked.attrs == whole.attrs
    listed = decider.score_batch(prepared, as_frame=False, chunk_rows=7, threads=2)
    assert [d.to_json(contributions=True) for d in listed] == \
        [d.to_json(contributions=True) for d in decisions]
    for bad in ({"chunk_rows": 0}, {"threads": 0}, {"threads": True}, {"chunk_rows": 2.0}):
        with pytest.raises(InvalidInputError, match=next(iter(bad))):
            decider.score_batch(prepared, **bad)


def test_score_batch_on_raw_tables_matches_score(decider: Decider, decision_tables: RawTables,
                                                 decisions) -> None:
    firms = decision_tables.applications["firm_id"].iloc[:N_APPS]
    sub = decision_tables.for_firms(firms)
    batch = decider.score_batch(sub, as_frame=False, snapshot_id="test")
    by_app = {b.application_id: b for b in batch}
    for d in decisions:
        b = by_app[d.application_id]
        mine, theirs = d.to_dict(contributions=True), b.to_dict(contributions=True)
        assert mine.pop("input_hash") != theirs.pop("input_hash")  # what was sent differs
        assert mine == theirs


def test_a_prepared_batch_scores_like_its_input_for_every_decider(
        decider: Decider, decision_bundle: Path, decision_tables: RawTables, apps) -> None:
    sub = decision_tables.for_firms(decision_tables.applications["firm_id"].iloc[:N_APPS])
    prepared = Decider.prepare(sub, snapshot_id="test")
    assert len(prepared) == len(sub.applications)
    direct = decider.score_batch(sub, snapshot_id="test")
    pd.testing.assert_frame_equal(decider.score_batch(prepared), direct)
    # another decider (no shadow challenger, no model version) reuses the same arrays
    other = Decider.load(decision_bundle)
    again = other.score_batch(prepared, as_frame=False)
    assert [d.to_json(contributions=True) for d in again] == \
        [d.to_json(contributions=True)
         for d in other.score_batch(sub, as_frame=False, snapshot_id="test")]
    listed = Decider.prepare(apps)
    assert [d.to_json(contributions=True) for d in decider.score_batch(listed, as_frame=False)] \
        == [d.to_json(contributions=True) for d in decider.score_batch(apps, as_frame=False)]
    with pytest.raises(InvalidInputError, match="snapshot_id"):  # already fixed at prepare
        decider.score_batch(prepared, snapshot_id="other")


def test_dicts_and_json_give_the_same_decision(decider: Decider, decision_tables, decisions
                                               ) -> None:
    doc = application_records(decision_tables, decision_tables.applications.iloc[0])
    assert decider.score(doc) == decisions[0]
    assert decider.score(json.dumps(doc)).to_json() == decisions[0].to_json()


def test_eight_threads_give_the_serial_decisions(decider: Decider, apps, decisions) -> None:
    expected = [d.to_json() for d in decisions]
    calls = 8 * 60

    def one(i: int) -> tuple[int, str]:
        k = i % len(apps)
        return k, decider.score(apps[k]).to_json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for k, got in pool.map(one, range(calls)):
            assert got == expected[k]


@pytest.mark.slow
def test_eight_threads_by_two_thousand_calls(decider: Decider, apps, decisions) -> None:
    expected = [d.to_json() for d in decisions]

    def worker(t: int) -> int:
        bad = 0
        for i in range(2000):
            k = (t * 2000 + i) % len(apps)
            bad += decider.score(apps[k]).to_json() != expected[k]
        return bad

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 0


def test_two_fresh_processes_give_byte_identical_json(decision_bundle: Path,
                                                      decision_tables: RawTables,
                                                      tmp_path: Path) -> None:
    docs = [application_records(decision_tables, row)
            for _, row in decision_tables.applications.iloc[:5].iterrows()]
    (tmp_path / "apps.json").write_text(json.dumps(docs))
    code = (
        "import json, sys\n"
        "from techcredit.decision.decider import Decider\n"
        f"d = Decider.load({str(decision_bundle)!r})\n"
        f"docs = json.load(open({str(tmp_path / 'apps.json')!r}))\n"
        "print('\\n'.join(d.score(x).to_json(contributions=True) for x in docs))\n"
        "heavy = ('mlflow', 'optbinning', 'ortools', 'shap', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
            for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout
    assert len(runs[0].stdout.splitlines()) == 5
    assert runs[0].stderr.decode().strip().splitlines()[-1] == "[]"  # no heavy imports


def test_a_changed_byte_is_refused(decision_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(decision_bundle, copy)
    target = next((copy / "segments").rglob("*.json"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the manifest"):
        Decider.load(copy)


def test_a_bundle_without_citation_cohorts_is_refused(decision_bundle: Path,
                                                      tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(decision_bundle, copy)
    (copy / "rating" / "citation_cohorts.json").unlink()
    with pytest.raises(ModelError):
        Decider.load(copy)
    # a bundle written without cohorts (its manifest never listed them), as older
    # versions wrote, passes verification and is refused for what it lacks
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["rating/citation_cohorts.json"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="patent values would depend on the batch"):
        Decider.load(copy)


def test_uris_need_the_facade(decision_bundle: Path) -> None:
    with pytest.raises(ModelError, match="URI"):
        Decider.load("models:/techcredit@champion")
    assert isinstance(techcredit.Decider.load(decision_bundle), Decider)


def test_bad_batch_input_names_the_application(decider: Decider, decision_tables) -> None:
    good = application_records(decision_tables, decision_tables.applications.iloc[0])
    bad = json.loads(json.dumps(good))
    bad["request"]["amount_cny"] = -5
    with pytest.raises(InvalidInputError) as err:
        decider.score_batch([good, bad])
    assert err.value.fields == ["applications[1].request.amount_cny"]


def test_a_knock_out_declines_with_its_rule_first(decider: Decider, decision_tables) -> None:
    doc = application_records(decision_tables, decision_tables.applications.iloc[3])
    doc["firm"]["abnormal_taxpayer_on"] = doc["request"]["applied_on"]
    d = decider.score(doc)
    assert d.outcome == "decline"
    assert d.reasons[0].code == "KO_ABNORMAL_TAXPAYER"
    assert d.reasons[0].text_zh
    assert d.reasons[0].text_en


def test_more_tax_paid_never_lowers_the_limit(decider: Decider, decision_tables) -> None:
    rows = decision_tables.applications.iloc[:40]
    for _, row in rows.iterrows():
        doc = application_records(decision_tables, row)
        base = decider.score(doc)
        for filing in doc["tax_filings"]:
            filing["vat_paid_cny"] *= 1.5
            filing["cit_paid_cny"] *= 1.5
        more = decider.score(doc)
        assert more.prob_default <= base.prob_default + 1e-12
        if not base.declined:
            assert more.declined is False
            assert more.limit_cny >= base.limit_cny


def test_thin_history_is_referred_not_an_error(decider: Decider, decision_tables) -> None:
    doc = application_records(decision_tables, decision_tables.applications.iloc[5])
    applied = np.datetime64(doc["request"]["applied_on"], "D")
    recent = [f for f in doc["tax_filings"]
              if np.datetime64(f["period"], "D") >= applied - np.timedelta64(100, "D")]
    doc["tax_filings"] = recent
    d = decider.score(doc)
    assert "REFER_THIN_TAX_HISTORY" in d.rules_fired
    assert d.outcome in ("refer", "decline")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n_masks=st.sampled_from([0, 1, 5, 62, 63, 70]),
       n=st.integers(0, 30))
def test_rule_ids_per_row_follow_the_masks_in_each_order(data, n_masks: int, n: int) -> None:
    from techcredit.decision.policy import _rule_tuples

    masks = np.array([data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
                      for _ in range(n_masks)], dtype=bool).reshape(n_masks, n)
    ids = tuple(f"R{k}" for k in range(n_masks))
    orders = (list(range(n_masks)),
              data.draw(st.permutations(range(n_masks)))[:data.draw(st.integers(0, n_masks))])
    memo: dict = {}
    got = _rule_tuples(masks, ids, orders, memo)
    for order, per_row in zip(orders, got, strict=True):
        assert per_row == [tuple(ids[k] for k in order if masks[k, i]) for i in range(n)]
    # a second call reads the patterns the first one remembered: the same answer
    assert _rule_tuples(masks, ids, orders, memo) == got


def test_loading_warms_up_the_reason_ranking(decision_bundle: Path, monkeypatch) -> None:
    """Loading ranks zero rows of every segment's reasons (compiling the ranking kernel
    then, not in the first decision)."""
    from techcredit.decision import decider as decider_module

    calls: list[tuple[int, int]] = []
    real = decider_module.rank_reason_fields

    def recording(contributions, catalogue, **kwargs):
        calls.append(contributions.shape)
        return real(contributions, catalogue, **kwargs)

    monkeypatch.setattr(decider_module, "rank_reason_fields", recording)
    loaded = Decider.load(decision_bundle)
    assert sorted(calls) == sorted((0, len(c.features)) for c in loaded._reasons.values())
