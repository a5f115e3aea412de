"""PSI / CSI against a training reference; the stability.json format both sides share."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.config import default_models_dir
from techcredit.config.monitoring import load_monitoring_spec
from techcredit.exceptions import ConfigError, InvalidInputError
from techcredit.modeling.metrics import csi, psi
from techcredit.monitoring.stability import FORMAT, StabilityReference, band


@pytest.fixture(scope="module")
def train():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=3000)
    x[rng.random(3000) < 0.1] = np.nan
    return pd.DataFrame({"x": x, "y": rng.normal(size=3000)}), rng.uniform(0, 0.3, 3000), \
        np.where(rng.random(3000) < 0.7, "micro", "tech_startup")


def test_psi_equals_metrics_psi_on_raw_values(train):
    feats, _, _ = train
    ref = StabilityReference.fit(feats, bins=10)
    rng = np.random.default_rng(2)
    batch = pd.DataFrame({"x": rng.lognormal(mean=0.3, size=800),
                          "y": rng.normal(0.2, 1.1, size=800)})
    report = ref.compare(batch).set_index("name")
    expected = csi(feats, batch, bins=10)
    assert report["psi"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-9)
    assert report.loc["x", "psi"] > 0


def test_to_dict_has_the_bundle_format(train):
    feats, pds, seg = train
    d = StabilityReference.fit(feats, prob_default=pds, segment=seg, bins=10).to_dict()
    assert d["format"] == FORMAT == "techcredit.stability/1"
    assert d["bins"] == 10
    assert set(d["prob_default"]) == {"micro", "tech_startup"}
    entry = d["prob_default"]["micro"]
    assert set(entry) == {"edges", "shares", "n"}
    assert len(entry["shares"]) == len(entry["edges"]) + 1 == 10
    assert entry["edges"] == sorted(entry["edges"])
    x = d["features"]["x"]
    assert set(x) == {"edges", "shares", "missing_share", "n"}
    assert sum(x["shares"]) + x["missing_share"] == pytest.approx(1.0)
    assert x["missing_share"] == pytest.approx(np.isnan(feats["x"]).mean())
    assert sum(d["segments"].values()) == pytest.approx(1.0)
    assert json.loads(json.dumps(d)) == d


def test_read_from_a_bundle_folder(tmp_path, train):
    feats, pds, seg = train
    ref = StabilityReference.fit(feats, prob_default=pds, segment=seg)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "stability.json").write_text(json.dumps(ref.to_dict()))
    assert StabilityReference.read(tmp_path) == ref


def test_shares_of_non_missing_rows_are_rescaled():
    d = {"format": FORMAT, "bins": 2, "prob_default": {}, "segments": {},
         "features": {"x": {"edges": [1.0], "shares": [0.5, 0.5], "missing_share": 0.2,
                            "n": 10}}}
    ref = StabilityReference.from_dict(d)
    assert ref.features["x"].shares == (0.4, 0.4)


@pytest.mark.parametrize(("entry", "field"), [
    ({"edges": [1.0, 0.5], "shares": [0.2, 0.3, 0.5], "n": 5}, "edges"),
    ({"edges": [1.0], "shares": [0.2, 0.3, 0.5], "n": 5}, "shares"),
    ({"edges": [1.0], "shares": [0.2, 0.3], "n": 5}, "shares"),
])
def test_bad_entries_name_the_field(entry, field):
    d = {"format": FORMAT, "bins": 3, "prob_default": {"micro": entry}}
    with pytest.raises(InvalidInputError) as err:
        StabilityReference.from_dict(d)
    assert f"stability[prob_default.micro].{field}" in str(err.value)


def test_wrong_format_and_missing_columns_raise(train):
    with pytest.raises(InvalidInputError, match="format"):
        StabilityReference.from_dict({"format": "other/1"})
    ref = StabilityReference.fit(train[0])
    with pytest.raises(InvalidInputError, match=r"features\.y: missing column"):
        ref.compare(train[0][["x"]])


def test_bands_follow_the_yaml():
    spec = load_monitoring_spec().stability
    assert [band(v, spec) for v in (0.05, 0.1, 0.25, 0.26)] == [
        "stable", "watch", "watch", "shift"]


def test_pd_per_segment_and_segment_mix(train):
    _, pds, seg = train
    ref = StabilityReference.fit(prob_default=pds, segment=seg)
    report = ref.compare(prob_default=pds * 2, segment=np.full(len(seg), "micro"))
    rows = report.set_index(["kind", "segment"])
    assert rows.loc[("prob_default", "micro"), "band"] == "shift"
    assert rows.loc[("prob_default", "tech_startup"), "n_actual"] == 0
    assert rows.loc[("segments", ""), "psi"] == pytest.approx(
        psi(list(seg), ["micro"] * len(seg)), rel=1e-9)


def test_spec_rejects_inverted_bands(tmp_path):
    text = (default_models_dir() / "monitoring.yaml").read_text(encoding="utf-8")
    (tmp_path / "monitoring.yaml").write_text(text.replace("shift_min: 0.25", "shift_min: 0.05"),
                                              encoding="utf-8")
    with pytest.raises(ConfigError, match="shift_min must exceed watch_min"):
        load_monitoring_spec(tmp_path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=200),
       st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200))
def test_psi_is_non_negative_and_zero_on_the_reference(expected, actual):
    ref = StabilityReference.fit(pd.DataFrame({"v": expected}), bins=5)
    assert ref.compare(pd.DataFrame({"v": expected}))["psi"].iloc[0] == pytest.approx(0.0)
    assert ref.compare(pd.DataFrame({"v": actual}))["psi"].iloc[0] >= 0


def test_training_job_writes_what_the_reference_reads(train):
    """pipeline.train.stability_reference and StabilityReference.fit agree value for value."""
    from techcredit.pipeline.train import stability_reference

    feats, pds, seg = train
    written = stability_reference(feats, seg, pds, list(feats.columns), bins=10)
    fitted = StabilityReference.fit(feats, prob_default=pds, segment=seg, bins=10)
    assert StabilityReference.from_dict(written) == fitted
    assert json.loads(json.dumps(fitted.to_dict())) == json.loads(json.dumps(written))
